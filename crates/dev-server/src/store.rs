//! The in-memory state of the dev server: one organization, its projects, environments, folder
//! trees, secrets and tags. Also the persisted form (`--state FILE`).
//!
//! Folders of an environment are kept in a map keyed by their full path (`/`, `/apps`,
//! `/apps/web`), so a recursive listing is one range scan.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Number;
use uuid::Uuid;

use super::failure::ApiFailure;

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// ISO-8601 with milliseconds, as Infisical prints timestamps.
pub(crate) fn iso(millis: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(millis)).to_string()
}

/// Normalises a folder or secret path: a leading `/`, no trailing `/`, no empty segments.
pub(crate) fn normalize_path(path: &str) -> String {
    let segments: Vec<&str> = path.trim().split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segments.join("/"))
}

/// `parent` + `/` + `name`, normalised.
pub(crate) fn join_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The parent path of a non-root path.
pub(crate) fn parent_path(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(index) => &path[..index],
    }
}

/// Whether `path` is `root` or below it.
pub(crate) fn is_within(path: &str, root: &str) -> bool {
    root == "/"
        || path == root
        || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}

/// The server's value trim (§5.5): whitespace trimmed at both ends; a value that ended in `\n`
/// keeps exactly one trailing `\n`. One rule for the model and this server:
/// [`infisical_gitops_core::model::value::normalize_value`].
pub(crate) fn trim_value(value: &str) -> String {
    infisical_gitops_core::model::value::normalize_value(value)
}

/// Everything the server holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Store {
    /// Format version of the state file.
    pub format: u32,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub projects: Vec<Project>,
    #[serde(default)]
    pub approval_policies: Vec<ApprovalPolicy>,
}

/// Writes under `path` (and below) of an environment answer `{"approval": …}` and write nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ApprovalPolicy {
    pub id: Uuid,
    pub project_id: Uuid,
    pub environment: String,
    pub path: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Project {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub auto_capitalization: bool,
    pub has_delete_protection: bool,
    pub created_at: u64,
    pub updated_at: u64,
    pub environments: Vec<Environment>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Environment {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub position: u32,
    pub created_at: u64,
    pub updated_at: u64,
    /// Keyed by full path; always holds the root `/`.
    pub folders: BTreeMap<String, Folder>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Folder {
    pub id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub description: Option<String>,
    pub version: u64,
    pub created_at: u64,
    pub updated_at: u64,
    pub last_secret_modified: Option<u64>,
    pub secrets: BTreeMap<String, Secret>,
    /// Secret imports into this folder, in position order (positions 1, 2, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<SecretImport>,
}

/// A secret import: the folder `import_path` of the environment `import_env` (same project)
/// shown in the folder that holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SecretImport {
    pub id: Uuid,
    /// The imported environment's id.
    pub import_env: Uuid,
    pub import_path: String,
    pub position: u32,
    pub created_at: u64,
    pub updated_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Secret {
    pub id: Uuid,
    pub key: String,
    pub value: String,
    pub comment: String,
    pub version: u64,
    pub metadata: Vec<Metadata>,
    pub tag_ids: Vec<Uuid>,
    pub skip_multiline_encoding: bool,
    pub reminder_note: Option<String>,
    pub reminder_repeat_days: Option<Number>,
    pub created_at: u64,
    pub updated_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Metadata {
    pub key: String,
    pub value: String,
    pub is_encrypted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Tag {
    pub id: Uuid,
    pub slug: String,
    pub color: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

impl Folder {
    pub(crate) fn new(name: &str, parent_id: Option<Uuid>, description: Option<String>) -> Self {
        let now = now_millis();
        Self {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            parent_id,
            description,
            version: 1,
            created_at: now,
            updated_at: now,
            last_secret_modified: None,
            secrets: BTreeMap::new(),
            imports: Vec::new(),
        }
    }
}

impl Environment {
    pub(crate) fn new(name: &str, slug: &str, position: u32) -> Self {
        let now = now_millis();
        let mut folders = BTreeMap::new();
        folders.insert("/".to_owned(), Folder::new("root", None, None));
        Self {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            slug: slug.to_owned(),
            position,
            created_at: now,
            updated_at: now,
            folders,
        }
    }

    /// The folder at a normalised path, or 404 naming path and environment.
    pub(crate) fn folder(&self, path: &str) -> Result<&Folder, ApiFailure> {
        self.folders
            .get(path)
            .ok_or_else(|| self.folder_not_found(path))
    }

    pub(crate) fn folder_mut(&mut self, path: &str) -> Result<&mut Folder, ApiFailure> {
        if !self.folders.contains_key(path) {
            return Err(self.folder_not_found(path));
        }
        self.folders.get_mut(path).ok_or_else(ApiFailure::internal)
    }

    pub(crate) fn folder_not_found(&self, path: &str) -> ApiFailure {
        ApiFailure::not_found(format!(
            "Folder with path '{path}' in environment with slug '{}' not found",
            self.slug
        ))
    }

    /// Paths at or below `root`, in order.
    pub(crate) fn paths_within<'a>(&'a self, root: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.folders
            .range::<str, _>((std::ops::Bound::Included(root), std::ops::Bound::Unbounded))
            .map(|(path, _)| path.as_str())
            .take_while(move |path| root == "/" || path.starts_with(root))
            .filter(move |path| is_within(path, root))
    }

    /// Creates every missing folder along `path`; returns the path's folder id.
    pub(crate) fn ensure_path(&mut self, path: &str) -> Uuid {
        let mut current = "/".to_owned();
        let mut parent_id = self.folders.get("/").map(|folder| folder.id);
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            current = join_path(&current, segment);
            let folder = self
                .folders
                .entry(current.clone())
                .or_insert_with(|| Folder::new(segment, parent_id, None));
            parent_id = Some(folder.id);
        }
        parent_id.unwrap_or_default()
    }

    pub(crate) fn secret_count(&self) -> usize {
        self.folders
            .values()
            .map(|folder| folder.secrets.len())
            .sum()
    }
}

impl Store {
    pub(crate) fn new(organization_name: &str) -> Self {
        Self {
            format: 1,
            organization_id: Uuid::new_v4(),
            organization_name: organization_name.to_owned(),
            projects: Vec::new(),
            approval_policies: Vec::new(),
        }
    }

    /// Index of a project by id, or 404.
    pub(crate) fn project_index(&self, id: &str) -> Result<usize, ApiFailure> {
        let parsed = Uuid::parse_str(id).ok();
        parsed
            .and_then(|uuid| self.projects.iter().position(|project| project.id == uuid))
            .ok_or_else(|| ApiFailure::not_found(format!("Project with ID '{id}' not found")))
    }

    /// A project by id, or 404.
    pub(crate) fn project(&self, id: &str) -> Result<&Project, ApiFailure> {
        Ok(&self.projects[self.project_index(id)?])
    }

    /// A project by id for a write, or 404.
    pub(crate) fn project_mut(&mut self, id: &str) -> Result<&mut Project, ApiFailure> {
        let index = self.project_index(id)?;
        Ok(&mut self.projects[index])
    }

    /// An environment (by slug) of a project (by id) for a write, or 404.
    pub(crate) fn environment_mut(
        &mut self,
        project_id: &str,
        slug: &str,
    ) -> Result<&mut Environment, ApiFailure> {
        let project = self.project_mut(project_id)?;
        let index = project.environment_index(slug)?;
        Ok(&mut project.environments[index])
    }

    /// Every folder of every environment of every project, with where it is.
    pub(crate) fn folders(&self) -> impl Iterator<Item = (&Project, &Environment, &str, &Folder)> {
        self.projects.iter().flat_map(|project| {
            project.environments.iter().flat_map(move |env| {
                env.folders
                    .iter()
                    .map(move |(path, folder)| (project, env, path.as_str(), folder))
            })
        })
    }

    /// Index of a project by slug, or 404.
    pub(crate) fn project_index_by_slug(&self, slug: &str) -> Result<usize, ApiFailure> {
        self.projects
            .iter()
            .position(|project| project.slug == slug)
            .ok_or_else(|| ApiFailure::not_found(format!("Project with slug '{slug}' not found")))
    }

    /// The approval policy covering a write, if any.
    pub(crate) fn approval_policy(
        &self,
        project_id: Uuid,
        environment: &str,
        path: &str,
    ) -> Option<&ApprovalPolicy> {
        self.approval_policies.iter().find(|policy| {
            policy.project_id == project_id
                && policy.environment == environment
                && is_within(path, &policy.path)
        })
    }

    pub(crate) fn secret_count(&self) -> usize {
        self.projects
            .iter()
            .flat_map(|project| project.environments.iter())
            .map(Environment::secret_count)
            .sum()
    }
}

impl Project {
    /// Index of an environment by slug, or 404.
    pub(crate) fn environment_index(&self, slug: &str) -> Result<usize, ApiFailure> {
        self.environments
            .iter()
            .position(|env| env.slug == slug)
            .ok_or_else(|| {
                ApiFailure::not_found(format!(
                    "Environment with slug '{slug}' in project with ID '{}' not found",
                    self.id
                ))
            })
    }

    pub(crate) fn environment(&self, slug: &str) -> Result<&Environment, ApiFailure> {
        Ok(&self.environments[self.environment_index(slug)?])
    }

    /// Resolves tag ids given on a write; an unknown id is 404 "Tag not found".
    pub(crate) fn resolve_tag_ids(&self, ids: &[String]) -> Result<Vec<Uuid>, ApiFailure> {
        ids.iter()
            .map(|id| {
                Uuid::parse_str(id)
                    .ok()
                    .filter(|uuid| self.tags.iter().any(|tag| tag.id == *uuid))
                    .ok_or_else(|| ApiFailure::not_found("Tag not found"))
            })
            .collect()
    }

    pub(crate) fn tag(&self, id: Uuid) -> Option<&Tag> {
        self.tags.iter().find(|tag| tag.id == id)
    }

    /// Environments in display order.
    pub(crate) fn sort_environments(&mut self) {
        self.environments.sort_by_key(|env| env.position);
    }
}

/// Expands `${KEY}` (same folder) and `${env.a.b.KEY}` references in a value, up to a nesting
/// depth of 5. A reference that names nothing is left as written.
pub(crate) fn expand_references(
    project: &Project,
    environment: &str,
    path: &str,
    value: &str,
    depth: u32,
) -> String {
    if depth > 5 || !value.contains("${") {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let reference = after[..end].trim();
        let parts: Vec<&str> = reference.split('.').collect();
        let (ref_env, ref_path, ref_key) = match parts.as_slice() {
            [key] => (environment.to_owned(), path.to_owned(), (*key).to_owned()),
            [env, middle @ .., key] => (
                (*env).to_owned(),
                normalize_path(&middle.join("/")),
                (*key).to_owned(),
            ),
            [] => (String::new(), String::new(), String::new()),
        };
        let resolved = project
            .environments
            .iter()
            .find(|env| env.slug == ref_env)
            .and_then(|env| env.folders.get(&ref_path))
            .and_then(|folder| folder.secrets.get(&ref_key));
        match resolved {
            Some(secret) => out.push_str(&expand_references(
                project,
                &ref_env,
                &ref_path,
                &secret.value,
                depth + 1,
            )),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_trimmed_like_the_server() {
        assert_eq!(trim_value("  x  "), "x");
        assert_eq!(trim_value("b\n\n"), "b\n");
        assert_eq!(trim_value("a\nb"), "a\nb");
        assert_eq!(trim_value(""), "");
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("apps/web/"), "/apps/web");
        assert_eq!(parent_path("/apps/web"), "/apps");
        assert_eq!(parent_path("/apps"), "/");
        assert!(is_within("/apps/web", "/apps"));
        assert!(!is_within("/apps2", "/apps"));
        assert!(is_within("/x", "/"));
    }

    #[test]
    fn references_expand_within_a_project() {
        let mut project = Project {
            id: Uuid::new_v4(),
            name: "p".into(),
            slug: "p".into(),
            description: None,
            kind: "secret-manager".into(),
            auto_capitalization: false,
            has_delete_protection: false,
            created_at: 0,
            updated_at: 0,
            environments: vec![Environment::new("Development", "dev", 1)],
            tags: Vec::new(),
        };
        let env = &mut project.environments[0];
        env.ensure_path("/apps/web");
        let secret = |key: &str, value: &str| Secret {
            id: Uuid::new_v4(),
            key: key.into(),
            value: value.into(),
            comment: String::new(),
            version: 1,
            metadata: Vec::new(),
            tag_ids: Vec::new(),
            skip_multiline_encoding: false,
            reminder_note: None,
            reminder_repeat_days: None,
            created_at: 0,
            updated_at: 0,
        };
        env.folders
            .get_mut("/")
            .unwrap()
            .secrets
            .insert("A".into(), secret("A", "a"));
        env.folders
            .get_mut("/apps/web")
            .unwrap()
            .secrets
            .insert("B".into(), secret("B", "b${dev.A}"));
        assert_eq!(expand_references(&project, "dev", "/", "x${A}y", 0), "xay");
        assert_eq!(
            expand_references(&project, "dev", "/", "${dev.apps.web.B}", 0),
            "ba"
        );
        assert_eq!(
            expand_references(&project, "dev", "/", "${MISSING}", 0),
            "${MISSING}"
        );
    }
}
