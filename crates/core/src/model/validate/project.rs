//! Project documents: environments, folders, descriptions.

use super::*;
use crate::model::document::{FolderSpec, PolicySpec, ProjectSpec};

impl Checker {
    // -----------------------------------------------------------------------------------------
    // Project

    pub(super) fn project(&mut self, loaded: &LoadedDocument, document: &ProjectDocument) {
        let name = &document.metadata.name;
        let origin = loaded.origin(name.span);
        let slug = match ProjectSlug::new(name.value.clone()) {
            Ok(slug) => Some(slug),
            Err(error) => {
                self.error(name_diagnostic(
                    "invalid-project-slug",
                    origin.clone(),
                    "project slug",
                    name,
                    error,
                ));
                None
            }
        };
        if !self.unique_name("Project", name, &origin) {
            return;
        }
        let spec = &document.spec;
        let display_name = self.display_name(
            loaded,
            spec.display_name.as_ref(),
            name,
            "invalid-display-name",
            "project display name",
        );
        if let Some(description) = &spec.description {
            self.description_limit(
                loaded.origin(description.span),
                &format!("description of project `{name}`"),
                description,
                limits::PROJECT_DESCRIPTION,
            );
        }
        if spec.environments.is_empty() {
            self.error(
                Diagnostic::error(
                    "no-environments",
                    origin.clone(),
                    format!("project `{name}` declares no environments"),
                )
                .with_help("add `spec.environments` with at least one `slug`"),
            );
        }
        let (environments, environment_slugs) = self.environments(loaded, name, spec);
        let folders = self.folders(loaded, name, spec, &environment_slugs);
        let project = slug.map(|slug| Project {
            slug,
            name: display_name,
            description: spec.description.as_ref().map(|d| d.value.clone()),
            environments,
            folders: folders.state,
            policy: policy(spec.policy.clone().unwrap_or_default()),
            origin: origin.clone(),
        });
        self.projects.insert(
            name.value.clone(),
            ProjectEntry {
                origin,
                environments: environment_slugs,
                folders: folders.implied,
                declared_folders: folders.declared,
                project,
            },
        );
    }

    /// A project's display name or an environment's name: 1 to 64 printable characters, not
    /// blank; `fallback` when absent.
    fn display_name(
        &mut self,
        loaded: &LoadedDocument,
        display: Option<&Located<String>>,
        fallback: &Located<String>,
        code: &'static str,
        what: &str,
    ) -> String {
        let Some(display) = display else {
            return fallback.value.clone();
        };
        let length = display.chars().count();
        if display.trim().is_empty() || length > 64 {
            self.error(Diagnostic::error(
                code,
                loaded.origin(display.span),
                format!("{what} must be 1 to 64 characters long and not blank (it has {length})"),
            ));
        } else if let Err(error) = check_printable(display) {
            self.error(name_diagnostic(
                code,
                loaded.origin(display.span),
                what,
                display,
                error,
            ));
        }
        display.value.clone()
    }

    /// The project's environments, checked, and every slug as written (in order).
    fn environments(
        &mut self,
        loaded: &LoadedDocument,
        name: &Located<String>,
        spec: &ProjectSpec,
    ) -> (Vec<Environment>, Vec<String>) {
        let mut environments = Vec::new();
        let mut environment_slugs: Vec<String> = Vec::new();
        let mut seen: BTreeMap<String, Origin> = BTreeMap::new();
        let mut positions: BTreeMap<u32, Origin> = BTreeMap::new();
        for (index, environment) in spec.environments.iter().enumerate() {
            let raw = &environment.slug;
            let env_origin = loaded.origin(raw.span);
            let slug = match EnvironmentSlug::new(raw.value.clone()) {
                Ok(slug) => Some(slug),
                Err(error) => {
                    self.error(name_diagnostic(
                        "invalid-environment-slug",
                        env_origin.clone(),
                        "environment slug",
                        raw,
                        error,
                    ));
                    None
                }
            };
            if let Some(first) = seen.get(&raw.value) {
                self.error(
                    Diagnostic::error(
                        "duplicate-environment",
                        env_origin.clone(),
                        format!("environment `{raw}` is declared twice in project `{name}`"),
                    )
                    .with_related(first.clone(), "first declared here"),
                );
                continue;
            }
            seen.insert(raw.value.clone(), env_origin.clone());
            environment_slugs.push(raw.value.clone());
            let display = self.display_name(
                loaded,
                environment.name.as_ref(),
                raw,
                "invalid-environment-name",
                "environment name",
            );
            let position = match &environment.position {
                Some(position) => {
                    self.position(loaded, name, position, &mut positions);
                    position.value
                }
                None => u32::try_from(index + 1).unwrap_or(u32::MAX),
            };
            if let Some(slug) = slug {
                environments.push(Environment {
                    slug,
                    name: display,
                    position,
                    origin: env_origin,
                });
            }
        }
        (environments, environment_slugs)
    }

    /// An environment's explicit position: at least 1, used once per project.
    fn position(
        &mut self,
        loaded: &LoadedDocument,
        name: &Located<String>,
        position: &Located<u32>,
        positions: &mut BTreeMap<u32, Origin>,
    ) {
        let position_origin = loaded.origin(position.span);
        if position.value == 0 {
            self.error(Diagnostic::error(
                "invalid-position",
                position_origin,
                "environment position must be at least 1",
            ));
        } else if let Some(first) = positions.get(&position.value) {
            self.error(
                Diagnostic::error(
                    "duplicate-position",
                    position_origin,
                    format!(
                        "environment position {} is used twice in project `{name}`",
                        position.value
                    ),
                )
                .with_related(first.clone(), "first used here"),
            );
        } else {
            positions.insert(position.value, position_origin);
        }
    }

    /// The project's folders, checked: where each exists, where each is declared, and the
    /// state's folders per environment (implied parents included).
    fn folders(
        &mut self,
        loaded: &LoadedDocument,
        name: &Located<String>,
        spec: &ProjectSpec,
        environment_slugs: &[String],
    ) -> ProjectFolders {
        let mut folders = ProjectFolders::default();
        for folder in &spec.folders {
            let raw = &folder.path;
            let folder_origin = loaded.origin(raw.span);
            let path = match FolderPath::new(raw.value.clone()) {
                Ok(path) => path,
                Err(error) => {
                    self.error(name_diagnostic(
                        "invalid-folder-path",
                        folder_origin,
                        "folder path",
                        raw,
                        error,
                    ));
                    continue;
                }
            };
            if path.is_root() {
                self.error(
                    Diagnostic::error(
                        "root-folder",
                        folder_origin,
                        "the root folder `/` always exists and cannot be declared",
                    )
                    .with_help("remove this entry"),
                );
                continue;
            }
            if let Some(first) = folders.declared.get(path.as_str()) {
                self.error(
                    Diagnostic::error(
                        "duplicate-folder",
                        folder_origin,
                        format!("folder `{path}` is declared twice in project `{name}`"),
                    )
                    .with_related(first.clone(), "first declared here"),
                );
                continue;
            }
            folders
                .declared
                .insert(path.as_str().to_string(), folder_origin.clone());
            if let Some(description) = &folder.description {
                self.description_limit(
                    folder_origin.clone(),
                    &format!("description of folder `{path}`"),
                    description,
                    limits::FOLDER_DESCRIPTION,
                );
            }
            let in_environments = match &folder.environments {
                None => environment_slugs.to_vec(),
                Some(list) => self.folder_environments(
                    loaded,
                    name,
                    &path,
                    &folder_origin,
                    list,
                    environment_slugs,
                ),
            };
            folders.add(&path, folder, &folder_origin, &in_environments);
        }
        folders
    }

    /// A folder's `environments`: each declared in the project, duplicates dropped.
    fn folder_environments(
        &mut self,
        loaded: &LoadedDocument,
        name: &Located<String>,
        path: &FolderPath,
        folder_origin: &Origin,
        list: &[Located<String>],
        environment_slugs: &[String],
    ) -> Vec<String> {
        if list.is_empty() {
            self.error(
                Diagnostic::error(
                    "empty-environments",
                    folder_origin.clone(),
                    format!("folder `{path}` is limited to no environment"),
                )
                .with_help("remove `environments` to create it in every environment"),
            );
        }
        let mut out = Vec::new();
        for environment in list {
            if !environment_slugs.contains(&environment.value) {
                let mut diagnostic = Diagnostic::error(
                    "undeclared-environment",
                    loaded.origin(environment.span),
                    format!(
                        "environment `{}` is not declared in project `{name}`",
                        environment.value
                    ),
                );
                if let Some(help) =
                    suggestion(environment, environment_slugs.iter().map(String::as_str))
                {
                    diagnostic = diagnostic.with_help(help);
                }
                self.error(diagnostic);
            } else if !out.contains(&environment.value) {
                out.push(environment.value.clone());
            }
        }
        out
    }

    /// Reports a project or folder description that Infisical would refuse once the applier has
    /// added the ownership marker line ([`crate::model::ownership::marked_description`]).
    pub(super) fn description_limit(
        &mut self,
        at: Origin,
        what: &str,
        description: &str,
        limit: usize,
    ) {
        let stored = stored_description_length(Some(description));
        if stored <= limit {
            return;
        }
        let declared = infisical_length(description.trim());
        self.error(
            Diagnostic::error(
                "invalid-description",
                at,
                format!(
                    "{what} is too long: it has {declared} characters, and with the ownership marker line Infisical would store {stored}, over its limit of {limit}"
                ),
            )
            .with_help(format!(
                "shorten it to at most {} characters (a blank line and `{MARKER_LINE}` are added to it)",
                longest_description(limit)
            )),
        );
    }

    /// Reports an undeclared project; `None` when it is not declared.
    pub(super) fn lookup_project(&mut self, project: &Located<String>, at: Origin) -> bool {
        if self.projects.contains_key(&project.value) {
            return true;
        }
        let mut diagnostic = Diagnostic::error(
            "undeclared-project",
            at,
            format!("project `{}` is not declared", project.value),
        );
        let names: Vec<String> = self.projects.keys().cloned().collect();
        diagnostic = match suggestion(project, names.iter().map(String::as_str)) {
            Some(help) => diagnostic.with_help(help),
            None => diagnostic.with_help("declare it with a `kind: Project` document"),
        };
        self.error(diagnostic);
        false
    }

    /// Reports an environment not declared in `project`.
    pub(super) fn check_environment(
        &mut self,
        project: &str,
        environment: &Located<String>,
        at: Origin,
    ) -> bool {
        let Some(entry) = self.projects.get(project) else {
            return false;
        };
        if entry.environments.contains(&environment.value) {
            return true;
        }
        let mut diagnostic = Diagnostic::error(
            "undeclared-environment",
            at,
            format!(
                "environment `{}` is not declared in project `{project}`",
                environment.value
            ),
        )
        .with_related(entry.origin.clone(), "project declared here");
        if let Some(help) = suggestion(environment, entry.environments.iter().map(String::as_str)) {
            diagnostic = diagnostic.with_help(help);
        }
        self.error(diagnostic);
        false
    }

    /// Reports a folder that does not exist in `environments` of `project`.
    pub(super) fn check_folder(
        &mut self,
        project: &str,
        path: &str,
        environments: &[String],
        at: Origin,
    ) {
        let Some(entry) = self.projects.get(project) else {
            return;
        };
        let missing: Vec<&str> = environments
            .iter()
            .filter(|e| !entry.folder_in(path, e))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return;
        }
        let diagnostic = if entry.folders.contains_key(path) {
            let origin = entry.declared_folders.get(path).cloned();
            let mut diagnostic = Diagnostic::error(
                "undeclared-folder",
                at,
                format!(
                    "folder `{path}` of project `{project}` does not exist in environment {}",
                    missing
                        .iter()
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_help("add the environment to the folder's `environments`, or remove it here");
            if let Some(origin) = origin {
                diagnostic = diagnostic.with_related(origin, "folder declared here");
            }
            diagnostic
        } else {
            let mut diagnostic = Diagnostic::error(
                "undeclared-folder",
                at,
                format!("folder `{path}` is not declared in project `{project}`"),
            )
            .with_related(entry.origin.clone(), "project declared here");
            let declared: Vec<&str> = entry.declared_folders.keys().map(String::as_str).collect();
            diagnostic = match suggestion(path, declared) {
                Some(help) => diagnostic.with_help(help),
                None => diagnostic.with_help("declare it under the project's `spec.folders`"),
            };
            diagnostic
        };
        self.error(diagnostic);
    }
}

/// A project's folders as the checker collects them.
#[derive(Default)]
struct ProjectFolders {
    /// Folder path → environments it exists in (implied parents included).
    implied: BTreeMap<String, BTreeSet<String>>,
    /// Declared folder path → where.
    declared: BTreeMap<String, Origin>,
    /// The state's folders per environment.
    state: BTreeMap<EnvironmentSlug, BTreeMap<FolderPath, Folder>>,
}

impl ProjectFolders {
    /// Adds a declared folder and its implied parents in `in_environments`.
    fn add(
        &mut self,
        path: &FolderPath,
        folder: &FolderSpec,
        folder_origin: &Origin,
        in_environments: &[String],
    ) {
        for ancestor in path.with_ancestors() {
            let entry = self
                .implied
                .entry(ancestor.as_str().to_string())
                .or_default();
            entry.extend(in_environments.iter().cloned());
            for environment in in_environments {
                let Ok(env_slug) = EnvironmentSlug::new(environment.clone()) else {
                    continue;
                };
                let declared = &ancestor == path;
                let folders_in_env = self.state.entry(env_slug).or_default();
                let state_folder = folders_in_env.entry(ancestor.clone()).or_insert(Folder {
                    description: None,
                    declared,
                    origin: folder_origin.clone(),
                });
                if declared {
                    state_folder.declared = true;
                    state_folder.description = folder.description.clone();
                    state_folder.origin = folder_origin.clone();
                }
            }
        }
    }
}

/// The project's policy, defaults filled in.
fn policy(spec: PolicySpec) -> Policy {
    let default = Policy::default();
    Policy {
        prune: spec.prune.unwrap_or(default.prune),
        adoption: spec.adoption.unwrap_or(default.adoption),
        max_deletions: spec.max_deletions.unwrap_or(default.max_deletions),
        mode: spec.mode.unwrap_or(default.mode),
    }
}
