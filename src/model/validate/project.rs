//! Project documents: environments, folders, descriptions.

use super::*;

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
        let display_name = match &spec.display_name {
            Some(display) => {
                let length = display.chars().count();
                if display.trim().is_empty() || length > 64 {
                    self.error(Diagnostic::error(
                        "invalid-display-name",
                        loaded.origin(display.span),
                        format!("project display name must be 1 to 64 characters long and not blank (it has {length})"),
                    ));
                } else if let Err(error) = check_printable(display) {
                    self.error(name_diagnostic(
                        "invalid-display-name",
                        loaded.origin(display.span),
                        "project display name",
                        display,
                        error,
                    ));
                }
                display.value.clone()
            }
            None => name.value.clone(),
        };
        if let Some(description) = &spec.description {
            self.description_limit(
                loaded.origin(description.span),
                &format!("description of project `{name}`"),
                description,
                limits::PROJECT_DESCRIPTION,
            );
        }

        // Environments.
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
            let display = match &environment.name {
                Some(display) => {
                    let length = display.chars().count();
                    if display.trim().is_empty() || length > 64 {
                        self.error(Diagnostic::error(
                            "invalid-environment-name",
                            loaded.origin(display.span),
                            format!("environment name must be 1 to 64 characters long and not blank (it has {length})"),
                        ));
                    } else if let Err(error) = check_printable(display) {
                        self.error(name_diagnostic(
                            "invalid-environment-name",
                            loaded.origin(display.span),
                            "environment name",
                            display,
                            error,
                        ));
                    }
                    display.value.clone()
                }
                None => raw.value.clone(),
            };
            let position = match &environment.position {
                Some(position) => {
                    let position_origin = loaded.origin(position.span);
                    if position.value == 0 {
                        self.error(Diagnostic::error(
                            "invalid-position",
                            position_origin.clone(),
                            "environment position must be at least 1",
                        ));
                    } else if let Some(first) = positions.get(&position.value) {
                        self.error(
                            Diagnostic::error(
                                "duplicate-position",
                                position_origin.clone(),
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

        // Folders.
        let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut declared_folders: BTreeMap<String, Origin> = BTreeMap::new();
        let mut state_folders: BTreeMap<EnvironmentSlug, BTreeMap<FolderPath, Folder>> =
            BTreeMap::new();
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
            if let Some(first) = declared_folders.get(path.as_str()) {
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
            declared_folders.insert(path.as_str().to_string(), folder_origin.clone());
            if let Some(description) = &folder.description {
                self.description_limit(
                    folder_origin.clone(),
                    &format!("description of folder `{path}`"),
                    description,
                    limits::FOLDER_DESCRIPTION,
                );
            }
            let in_environments: Vec<String> = match &folder.environments {
                None => environment_slugs.clone(),
                Some(list) => {
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
                            if let Some(help) = suggestion(
                                environment,
                                environment_slugs.iter().map(String::as_str),
                            ) {
                                diagnostic = diagnostic.with_help(help);
                            }
                            self.error(diagnostic);
                        } else if !out.contains(&environment.value) {
                            out.push(environment.value.clone());
                        }
                    }
                    out
                }
            };
            for ancestor in path.with_ancestors() {
                let entry = folders.entry(ancestor.as_str().to_string()).or_default();
                entry.extend(in_environments.iter().cloned());
                for environment in &in_environments {
                    let Ok(env_slug) = EnvironmentSlug::new(environment.clone()) else {
                        continue;
                    };
                    let declared = ancestor == path;
                    let folders_in_env = state_folders.entry(env_slug).or_default();
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

        let policy_spec = spec.policy.clone().unwrap_or_default();
        let default_policy = Policy::default();
        let policy = Policy {
            prune: policy_spec.prune.unwrap_or(default_policy.prune),
            adoption: policy_spec.adoption.unwrap_or(default_policy.adoption),
            max_deletions: policy_spec
                .max_deletions
                .unwrap_or(default_policy.max_deletions),
            mode: policy_spec.mode.unwrap_or(default_policy.mode),
        };

        let project = slug.map(|slug| Project {
            slug,
            name: display_name,
            description: spec.description.as_ref().map(|d| d.value.clone()),
            environments,
            folders: state_folders,
            policy,
            origin: origin.clone(),
        });
        self.projects.insert(
            name.value.clone(),
            ProjectEntry {
                origin,
                environments: environment_slugs,
                folders,
                declared_folders,
                project,
            },
        );
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
