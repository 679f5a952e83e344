//! Secrets (§5): the v4 routes, and the v3 raw routes the official SDKs and the operator use.
//! `V3` selects the v3 parameter names (`workspaceId`/`workspaceSlug` in queries,
//! `workspaceId`/`projectSlug` in bodies) instead of v4's `projectId`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Number, Value, json};
use uuid::Uuid;

use super::super::Shared;
use super::super::failure::{ApiFailure, issue};
use super::super::input::{self, Fields, Issues};
use super::super::store::{
    Environment, Folder, Metadata, Project, Secret, SecretImport, Store, normalize_path,
    now_millis, trim_value,
};
use super::super::views::{self, SecretView, ValueMode};
use super::{Authenticated, json_body, ok};

mod batch;

pub(crate) use batch::{batch_create, batch_delete, batch_update};

/// How a request names its project.
#[derive(Debug, Clone)]
enum ProjectRef {
    Id(String),
    Slug(String),
}

fn locate(store: &Store, project: &ProjectRef) -> Result<usize, ApiFailure> {
    match project {
        ProjectRef::Id(id) => store.project_index(id),
        ProjectRef::Slug(slug) => store.project_index_by_slug(slug),
    }
}

/// Where a write lands in the store: the indices of its project and environment.
#[derive(Debug, Clone, Copy)]
struct Target {
    project: usize,
    environment: usize,
}

impl Target {
    /// The project and environment a write names, or 404.
    fn locate(store: &Store, project: &ProjectRef, environment: &str) -> Result<Self, ApiFailure> {
        let index = locate(store, project)?;
        Ok(Self {
            project: index,
            environment: store.projects[index].environment_index(environment)?,
        })
    }

    fn environment(self, store: &Store) -> &Environment {
        &store.projects[self.project].environments[self.environment]
    }

    /// The folder at `path`, for writing, or 404.
    fn folder_mut<'a>(
        self,
        store: &'a mut Store,
        path: &str,
    ) -> Result<&'a mut Folder, ApiFailure> {
        store.projects[self.project].environments[self.environment].folder_mut(path)
    }

    /// The answer of a single-secret write: `{ "secret": view }` (raw value).
    fn secret_answer(self, store: &Store, path: &str, secret: &Secret) -> Response {
        let project = &store.projects[self.project];
        let env = &project.environments[self.environment];
        let view = views::secret(project, &env.slug, path, secret, ValueMode::Raw);
        ok(json!({ "secret": view }))
    }

    /// The answer of a batch write: `{ "secrets": [view, …] }` of `(path, secret)` pairs (raw
    /// values).
    fn secrets_answer<'s>(
        self,
        store: &Store,
        secrets: impl IntoIterator<Item = (&'s str, &'s Secret)>,
    ) -> Response {
        let project = &store.projects[self.project];
        let env = &project.environments[self.environment];
        let views: Vec<SecretView> = secrets
            .into_iter()
            .map(|(path, secret)| views::secret(project, &env.slug, path, secret, ValueMode::Raw))
            .collect();
        ok(json!({ "secrets": views }))
    }
}

/// Project reference from a query string.
fn query_project<const V3: bool>(query: &input::Query<'_>) -> Option<ProjectRef> {
    if V3 {
        query
            .str("workspaceId")
            .map(ProjectRef::Id)
            .or_else(|| query.str("workspaceSlug").map(ProjectRef::Slug))
    } else {
        query.str("projectId").map(ProjectRef::Id)
    }
}

/// Project reference from a body; a missing one is an issue.
fn body_project<const V3: bool>(fields: &Fields<'_>, issues: &mut Issues) -> ProjectRef {
    if V3 {
        if let Some(id) = fields.optional_str("workspaceId", issues) {
            return ProjectRef::Id(id);
        }
        if let Some(slug) = fields.optional_str("projectSlug", issues) {
            return ProjectRef::Slug(slug);
        }
        ProjectRef::Id(fields.required_str("workspaceId", issues))
    } else {
        ProjectRef::Id(fields.required_str("projectId", issues))
    }
}

/// The secret-name rule: trimmed, non-empty, no `:` or `/`.
fn check_secret_name(name: &str, path: &[Value], issues: &mut Issues) {
    if name.is_empty() {
        issues.push(issue::too_small(path, 1));
    } else if name.contains(':') || name.contains('/') {
        issues.push(issue::custom(
            path,
            "Secret name cannot contain colon or forward slash.",
        ));
    }
}

fn number(value: f64) -> Option<Number> {
    #[expect(clippy::cast_possible_truncation)]
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Some(Number::from(value as i64))
    } else {
        Number::from_f64(value)
    }
}

/// The optional fields of one secret write.
#[derive(Debug, Default, Clone)]
struct SecretInput {
    value: Option<String>,
    comment: Option<String>,
    metadata: Option<Vec<(String, String, bool)>>,
    tag_ids: Option<Vec<String>>,
    skip_multiline_encoding: Option<bool>,
    reminder_note: Option<String>,
    reminder_repeat_days: Option<Number>,
    new_key: Option<String>,
}

fn read_secret_input(fields: &Fields<'_>, issues: &mut Issues) -> SecretInput {
    let reminder_note = fields.optional_str("secretReminderNote", issues);
    if let Some(note) = &reminder_note {
        fields.check_length("secretReminderNote", note, 0, 1024, issues);
    }
    SecretInput {
        value: fields.optional_raw_str("secretValue", issues),
        comment: fields.optional_str("secretComment", issues),
        metadata: fields.optional_metadata("secretMetadata", issues),
        tag_ids: fields.optional_str_array("tagIds", issues),
        skip_multiline_encoding: fields.optional_bool("skipMultilineEncoding", issues),
        reminder_note,
        reminder_repeat_days: fields
            .optional_number("secretReminderRepeatDays", issues)
            .and_then(number),
        new_key: fields.optional_str("newSecretName", issues),
    }
}

fn metadata(entries: Vec<(String, String, bool)>) -> Vec<Metadata> {
    entries
        .into_iter()
        .map(|(key, value, is_encrypted)| Metadata {
            key,
            value,
            is_encrypted,
        })
        .collect()
}

fn new_secret(key: &str, input: SecretInput, tag_ids: Vec<Uuid>) -> Secret {
    let now = now_millis();
    Secret {
        id: Uuid::new_v4(),
        key: key.to_owned(),
        value: trim_value(input.value.as_deref().unwrap_or_default()),
        comment: input.comment.unwrap_or_default(),
        version: 1,
        metadata: metadata(input.metadata.unwrap_or_default()),
        tag_ids,
        skip_multiline_encoding: input.skip_multiline_encoding.unwrap_or(false),
        reminder_note: input.reminder_note,
        reminder_repeat_days: input.reminder_repeat_days,
        created_at: now,
        updated_at: now,
    }
}

fn apply_update(secret: &mut Secret, input: SecretInput, tag_ids: Option<Vec<Uuid>>) {
    if let Some(value) = input.value {
        secret.value = trim_value(&value);
    }
    if let Some(comment) = input.comment {
        secret.comment = comment;
    }
    if let Some(entries) = input.metadata {
        secret.metadata = metadata(entries);
    }
    if let Some(ids) = tag_ids {
        secret.tag_ids = ids;
    }
    if let Some(flag) = input.skip_multiline_encoding {
        secret.skip_multiline_encoding = flag;
    }
    if input.reminder_note.is_some() {
        secret.reminder_note = input.reminder_note;
    }
    if input.reminder_repeat_days.is_some() {
        secret.reminder_repeat_days = input.reminder_repeat_days;
    }
    if let Some(new_key) = input.new_key {
        secret.key = new_key;
    }
    secret.version += 1;
    secret.updated_at = now_millis();
}

/// Inserts or overwrites a secret without the write checks (seed helper).
pub(crate) fn upsert_plain(folder: &mut Folder, key: &str, value: &str) {
    let now = now_millis();
    match folder.secrets.get_mut(key) {
        Some(secret) => {
            value.clone_into(&mut secret.value);
            secret.version += 1;
            secret.updated_at = now;
        }
        None => {
            let input = SecretInput::default();
            let mut secret = new_secret(key, input, Vec::new());
            value.clone_into(&mut secret.value);
            folder.secrets.insert(key.to_owned(), secret);
        }
    }
    folder.last_secret_modified = Some(now);
}

/// The approval answer when a policy covers the path, else `None`.
fn approval(store: &Store, project: &Project, environment: &str, path: &str) -> Option<Response> {
    let policy = store.approval_policy(project.id, environment, path)?;
    let folder_id = project
        .environment(environment)
        .ok()
        .and_then(|env| env.folders.get(path))
        .map(|folder| folder.id)
        .unwrap_or_default();
    Some(ok(views::approval(policy.id, folder_id)))
}

fn value_mode(view: bool, expand: bool) -> ValueMode {
    if !view {
        ValueMode::Hidden
    } else if expand {
        ValueMode::Expanded
    } else {
        ValueMode::Raw
    }
}

/// Reads a metadata filter `key=K1,value=V1|key=K2,value=V2`.
fn metadata_filter(text: &str) -> Vec<(Option<String>, Option<String>)> {
    text.split('|')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let mut key = None;
            let mut value = None;
            for part in pair.split(',') {
                match part.split_once('=') {
                    Some(("key", k)) => key = Some(k.trim().to_owned()),
                    Some(("value", v)) => value = Some(v.trim().to_owned()),
                    _ => {}
                }
            }
            (key, value)
        })
        .collect()
}

/// `GET /api/v4/secrets` and `GET /api/v3/secrets/raw`.
pub(crate) async fn list<const V3: bool>(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiFailure> {
    let query = input::Query(&query);
    let mut issues = Issues::default();
    let recursive = query.strict_bool("recursive", false, &mut issues);
    let include_imports = query.strict_bool("include_imports", false, &mut issues);
    let expand = query.strict_bool("expandSecretReferences", false, &mut issues);
    let view = query.strict_bool("viewSecretValue", true, &mut issues);
    issues.finish()?;
    let project_ref = query_project::<V3>(&query);
    let environment = query.str("environment");
    let (Some(project_ref), Some(environment)) = (project_ref, environment) else {
        return Err(ApiFailure::bad_request("Missing project id or environment"));
    };
    let path = normalize_path(&query.str("secretPath").unwrap_or_default());
    let tag_slugs: Vec<String> = query
        .str("tagSlugs")
        .map(|text| {
            text.split(',')
                .map(|slug| slug.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let filter = query
        .str("metadataFilter")
        .map(|text| metadata_filter(&text))
        .unwrap_or_default();
    let store = shared.read();
    let project = &store.projects[locate(&store, &project_ref)?];
    let env = project.environment(&environment)?;
    env.folder(&path)
        .map_err(|failure| failure.named("SecretPathNotFound"))?;
    let tag_ids: Vec<Uuid> = project
        .tags
        .iter()
        .filter(|tag| tag_slugs.contains(&tag.slug))
        .map(|tag| tag.id)
        .collect();
    let mode = value_mode(view, expand);
    let folders: Vec<&str> = if recursive {
        env.paths_within(&path).collect()
    } else {
        vec![path.as_str()]
    };
    let imports = include_imports.then(|| imported_secrets(project, env, &folders, mode));
    let mut secrets: Vec<SecretView> = Vec::new();
    for folder_path in folders {
        let folder = &env.folders[folder_path];
        for secret in folder.secrets.values() {
            if !tag_slugs.is_empty() && !secret.tag_ids.iter().any(|id| tag_ids.contains(id)) {
                continue;
            }
            let matches_metadata = filter.iter().all(|(key, value)| {
                secret.metadata.iter().any(|entry| {
                    key.as_ref().is_none_or(|key| &entry.key == key)
                        && value.as_ref().is_none_or(|value| &entry.value == value)
                })
            });
            if !matches_metadata {
                continue;
            }
            secrets.push(views::secret(project, &env.slug, folder_path, secret, mode));
        }
    }
    Ok(ok(views::SecretList { secrets, imports }))
}

/// How deep imports of imports are followed (Infisical's `LEVEL_BREAK`).
const IMPORT_LEVELS: usize = 10;

/// Infisical's `fnSecretsV2FromImports`: one entry per import of the listed folders, in their
/// position order; the imported folders' own imports are followed level by level, up to
/// [`IMPORT_LEVELS`] deep, and their secrets appended to the entry that reached them. Each
/// environment and path is read once per listing (Infisical's cycle detector). Only shared
/// secrets; replication entries are not served by this server.
fn imported_secrets<'a>(
    project: &'a Project,
    env: &'a Environment,
    folders: &[&str],
    mode: ValueMode,
) -> Vec<views::ImportedSecrets<'a>> {
    let mut seen: HashSet<(Uuid, &'a str)> = HashSet::new();
    let mut entries: Vec<views::ImportedSecrets<'a>> = Vec::new();
    // (imports to follow, depth, the entry their secrets go to: `None` at the first level).
    // Level by level: every import of the listed folders first, in the listing's order.
    let mut queue: VecDeque<(Vec<&'a SecretImport>, usize, Option<usize>, Uuid)> = VecDeque::new();
    for path in folders {
        if let Some(folder) = env.folders.get(*path) {
            queue.push_back((folder.imports.iter().collect(), 0, None, folder.id));
        }
    }
    while let Some((imports, depth, parent, declaring)) = queue.pop_front() {
        if depth > IMPORT_LEVELS {
            continue;
        }
        for import in imports {
            let Some(source) = project
                .environments
                .iter()
                .find(|e| e.id == import.import_env)
            else {
                continue;
            };
            if !seen.insert((source.id, import.import_path.as_str())) {
                continue;
            }
            let folder = source.folders.get(&import.import_path);
            let secrets: Vec<SecretView<'a>> = folder
                .map(|folder| {
                    folder
                        .secrets
                        .values()
                        .map(|secret| {
                            views::secret(project, &source.slug, &import.import_path, secret, mode)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let target = match parent {
                Some(index) => {
                    entries[index].secrets.extend(secrets);
                    index
                }
                None => {
                    entries.push(views::ImportedSecrets {
                        secret_path: &import.import_path,
                        environment: &source.slug,
                        folder_id: folder.map(|folder| folder.id),
                        id: import.id,
                        import_folder_id: declaring,
                        secrets,
                    });
                    entries.len() - 1
                }
            };
            if let Some(folder) = folder
                && !folder.imports.is_empty()
            {
                queue.push_back((
                    folder.imports.iter().collect(),
                    depth + 1,
                    Some(target),
                    folder.id,
                ));
            }
        }
    }
    entries
}

/// `GET /api/v4/secrets/{secretName}` and `GET /api/v3/secrets/raw/{secretName}`.
pub(crate) async fn get<const V3: bool>(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiFailure> {
    let query = input::Query(&query);
    let mut issues = Issues::default();
    let _ = query.strict_bool("include_imports", false, &mut issues);
    let expand = query.strict_bool("expandSecretReferences", false, &mut issues);
    let view = query.strict_bool("viewSecretValue", true, &mut issues);
    if let Some(kind) = query.str("type")
        && kind != "shared"
        && kind != "personal"
    {
        issues.push(issue::invalid_enum(
            &[json!("type")],
            &["shared", "personal"],
            &kind,
        ));
    }
    let version = query.str("version");
    if let Some(version) = &version
        && version.parse::<u64>().is_err()
    {
        issues.push(issue::invalid_type(
            &[json!("version")],
            "number",
            Some(&json!(version)),
        ));
    }
    issues.finish()?;
    let project_ref = query_project::<V3>(&query);
    let environment = query.str("environment");
    let (Some(project_ref), Some(environment)) = (project_ref, environment) else {
        return Err(ApiFailure::bad_request("Missing project id or environment"));
    };
    let path = normalize_path(&query.str("secretPath").unwrap_or_default());
    let name = name.trim();
    let store = shared.read();
    let project = &store.projects[locate(&store, &project_ref)?];
    let env = project.environment(&environment)?;
    let folder = env.folder(&path)?;
    let not_found = || ApiFailure::not_found(format!("Secret with name '{name}' not found"));
    let secret = folder.secrets.get(name).ok_or_else(not_found)?;
    if let Some(version) = version
        && version.parse::<u64>().ok() != Some(secret.version)
    {
        return Err(not_found());
    }
    let view = views::secret(project, &env.slug, &path, secret, value_mode(view, expand));
    Ok(ok(json!({ "secret": view })))
}

/// `GET /api/v4/secrets/id/{secretId}` (and the v3 twin).
pub(crate) async fn get_by_id(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(secret_id): Path<String>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let wanted = Uuid::parse_str(&secret_id).ok();
    let found = store.folders().find_map(|(project, env, path, folder)| {
        let secret = folder.secrets.values().find(|s| Some(s.id) == wanted)?;
        Some(views::secret(
            project,
            &env.slug,
            path,
            secret,
            ValueMode::Raw,
        ))
    });
    match found {
        Some(view) => Ok(ok(json!({ "secret": view }))),
        None => Err(ApiFailure::not_found(format!(
            "Secret with ID '{secret_id}' not found"
        ))),
    }
}

/// Body fields shared by the single-secret writes.
struct SingleWrite {
    project: ProjectRef,
    environment: String,
    path: String,
    name: String,
    input: SecretInput,
}

fn read_single_write<const V3: bool>(
    name: &str,
    body: &Bytes,
    value_required: bool,
) -> Result<SingleWrite, ApiFailure> {
    let body = json_body(body)?;
    let mut issues = Issues::default();
    let name = name.trim().to_owned();
    check_secret_name(&name, &[json!("secretName")], &mut issues);
    let fields = Fields::body(&body, &mut issues);
    let project = body_project::<V3>(&fields, &mut issues);
    let environment = fields.required_str("environment", &mut issues);
    let path = normalize_path(
        &fields
            .optional_str("secretPath", &mut issues)
            .unwrap_or_default(),
    );
    let kind = fields.optional_enum("type", &["shared", "personal"], &mut issues);
    if value_required {
        let _ = fields.required_raw_str("secretValue", &mut issues);
    }
    let input = read_secret_input(&fields, &mut issues);
    if let Some(new_key) = &input.new_key {
        check_secret_name(new_key, &[json!("newSecretName")], &mut issues);
    }
    issues.finish()?;
    if kind.as_deref() == Some("personal") {
        return Err(ApiFailure::bad_request(
            "Personal secrets are not supported for machine identities",
        ));
    }
    Ok(SingleWrite {
        project,
        environment,
        path,
        name,
        input,
    })
}

/// `POST /api/v4/secrets/{secretName}`.
pub(crate) async fn create<const V3: bool>(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let write = read_single_write::<V3>(&name, &body, true)?;
    let mut store = shared.write();
    let target = Target::locate(&store, &write.project, &write.environment)?;
    let project = &store.projects[target.project];
    let folder = target.environment(&store).folder(&write.path)?;
    let tag_ids = project.resolve_tag_ids(write.input.tag_ids.as_deref().unwrap_or_default())?;
    if folder.secrets.contains_key(&write.name) {
        return Err(ApiFailure::bad_request("Secret already exists"));
    }
    if let Some(answer) = approval(&store, project, &write.environment, &write.path) {
        return Ok(answer);
    }
    let folder = target.folder_mut(&mut store, &write.path)?;
    let secret = new_secret(&write.name, write.input, tag_ids);
    folder.secrets.insert(write.name.clone(), secret);
    folder.last_secret_modified = Some(now_millis());
    shared.persist(&store)?;
    let secret = &target.environment(&store).folders[&write.path].secrets[&write.name];
    Ok(target.secret_answer(&store, &write.path, secret))
}

/// `PATCH /api/v4/secrets/{secretName}`.
pub(crate) async fn update<const V3: bool>(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let write = read_single_write::<V3>(&name, &body, false)?;
    let mut store = shared.write();
    let target = Target::locate(&store, &write.project, &write.environment)?;
    let project = &store.projects[target.project];
    let folder = target.environment(&store).folder(&write.path)?;
    if !folder.secrets.contains_key(&write.name) {
        return Err(ApiFailure::not_found(format!(
            "Secret with name {} not found",
            write.name
        )));
    }
    if let Some(new_key) = &write.input.new_key
        && new_key != &write.name
        && folder.secrets.contains_key(new_key)
    {
        return Err(ApiFailure::bad_request(
            "Secret with the new name already exists",
        ));
    }
    let tag_ids = match &write.input.tag_ids {
        Some(ids) => Some(project.resolve_tag_ids(ids)?),
        None => None,
    };
    if let Some(answer) = approval(&store, project, &write.environment, &write.path) {
        return Ok(answer);
    }
    let folder = target.folder_mut(&mut store, &write.path)?;
    let mut secret = folder
        .secrets
        .remove(&write.name)
        .ok_or_else(ApiFailure::internal)?;
    apply_update(&mut secret, write.input, tag_ids);
    let key = secret.key.clone();
    folder.secrets.insert(key.clone(), secret);
    folder.last_secret_modified = Some(now_millis());
    shared.persist(&store)?;
    let secret = &target.environment(&store).folders[&write.path].secrets[&key];
    Ok(target.secret_answer(&store, &write.path, secret))
}

/// `DELETE /api/v4/secrets/{secretName}`.
pub(crate) async fn delete<const V3: bool>(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let write = read_single_write::<V3>(&name, &body, false)?;
    let mut store = shared.write();
    let target = Target::locate(&store, &write.project, &write.environment)?;
    let project = &store.projects[target.project];
    let folder = target.environment(&store).folder(&write.path)?;
    if !folder.secrets.contains_key(&write.name) {
        return Err(ApiFailure::not_found("Secret not found"));
    }
    if let Some(answer) = approval(&store, project, &write.environment, &write.path) {
        return Ok(answer);
    }
    let folder = target.folder_mut(&mut store, &write.path)?;
    let secret = folder
        .secrets
        .remove(&write.name)
        .ok_or_else(ApiFailure::internal)?;
    folder.last_secret_modified = Some(now_millis());
    shared.persist(&store)?;
    Ok(target.secret_answer(&store, &write.path, &secret))
}
