//! SecretSet documents: secrets, value sources, imports and references.

use super::*;

impl Checker {
    // -----------------------------------------------------------------------------------------
    // SecretSet

    pub(super) fn secret_set(&mut self, loaded: &LoadedDocument, document: &SecretSetDocument) {
        let name = &document.metadata.name;
        let origin = loaded.origin(name.span);
        self.check_metadata_name(loaded, &document.metadata, "SecretSet");
        self.unique_name("SecretSet", name, &origin);
        let spec = &document.spec;
        let project_known = self.lookup_project(&spec.project, loaded.origin(spec.project.span));
        let project_slug = ProjectSlug::new(spec.project.value.clone()).ok();

        // Environments.
        if spec.environments.is_empty() {
            self.error(Diagnostic::error(
                "empty-environments",
                origin.clone(),
                format!("SecretSet `{name}` lists no environment"),
            ));
        }
        let mut environments: Vec<String> = Vec::new();
        for environment in &spec.environments {
            let at = loaded.origin(environment.span);
            if environments.contains(&environment.value) {
                self.error(Diagnostic::error(
                    "duplicate-environment",
                    at,
                    format!("environment `{}` is listed twice", environment.value),
                ));
                continue;
            }
            if let Err(error) = EnvironmentSlug::new(environment.value.clone()) {
                self.error(name_diagnostic(
                    "invalid-environment-slug",
                    at.clone(),
                    "environment slug",
                    environment,
                    error,
                ));
            }
            if project_known && !self.check_environment(&spec.project, environment, at) {
                continue;
            }
            environments.push(environment.value.clone());
        }

        // Folder.
        let path_origin = if spec.path.span.line == 0 {
            origin.clone()
        } else {
            loaded.origin(spec.path.span)
        };
        let path = match FolderPath::new(spec.path.value.clone()) {
            Ok(path) => {
                if project_known {
                    self.check_folder(&spec.project, path.as_str(), &environments, path_origin);
                }
                Some(path)
            }
            Err(error) => {
                self.error(name_diagnostic(
                    "invalid-folder-path",
                    path_origin,
                    "folder path",
                    &spec.path,
                    error,
                ));
                None
            }
        };

        if let Some(imports) = &spec.imports {
            self.imports_of(loaded, document, imports, &environments, path.as_ref());
        }

        if spec.secrets.is_empty() && spec.imports.is_none() {
            self.diagnostics.push(Diagnostic::warning(
                "empty-secret-set",
                origin.clone(),
                format!("SecretSet `{name}` declares no secrets"),
            ));
        }
        for secret in &spec.secrets {
            let key_origin = loaded.origin(secret.key.span);
            let checked = self.secret(loaded, &secret.value);
            for environment in &environments {
                let dedupe = (
                    spec.project.value.clone(),
                    environment.clone(),
                    spec.path.value.clone(),
                    secret.key.value.clone(),
                );
                if let Some(first) = self.secret_keys.get(&dedupe) {
                    let first = first.clone();
                    self.error(
                        Diagnostic::error(
                            "duplicate-secret",
                            key_origin.clone(),
                            format!(
                                "secret `{}` is defined twice in `{}/{}:{}`",
                                secret.key.value, spec.project.value, environment, spec.path.value
                            ),
                        )
                        .with_related(first, "first defined here"),
                    );
                    continue;
                }
                self.secret_keys.insert(dedupe, key_origin.clone());
                if let (Some(project), Ok(env), Some(path), Some(checked)) = (
                    &project_slug,
                    EnvironmentSlug::new(environment.clone()),
                    &path,
                    &checked,
                ) {
                    let address =
                        Address::Secret(project.clone(), env, path.clone(), checked.key.clone());
                    self.secrets.insert(address, checked.clone());
                }
            }
        }
    }

    /// Checks a `SecretSet`'s `imports:` and records them for each of its (valid) environments.
    pub(super) fn imports_of(
        &mut self,
        loaded: &LoadedDocument,
        document: &SecretSetDocument,
        imports: &[Located<ImportSpec>],
        environments: &[String],
        path: Option<&FolderPath>,
    ) {
        let spec = &document.spec;
        let project_known = self.projects.contains_key(&spec.project.value);
        let list_origin = imports
            .first()
            .map(|first| loaded.origin(first.span))
            .unwrap_or_else(|| loaded.origin(document.metadata.name.span));
        let mut checked: Vec<DesiredImport> = Vec::new();
        for import in imports {
            let Some((environment_slug, source, at)) =
                self.import_source(loaded, &spec.project, import, project_known)
            else {
                continue;
            };
            let environment = &import.value.environment;
            if Some(&source) == path && environments.contains(&environment.value) {
                self.error(
                    Diagnostic::error(
                        "self-import",
                        at.clone(),
                        format!("folder `{}:{source}` imports itself", environment.value),
                    )
                    .with_help(
                        "remove this import; Infisical refuses it (`Cyclic import not allowed`)",
                    ),
                );
                continue;
            }
            if let Some(first) = checked
                .iter()
                .find(|c| c.environment == environment_slug && c.path == source)
            {
                self.error(
                    Diagnostic::error(
                        "duplicate-import",
                        at.clone(),
                        format!("folder `{}:{source}` is imported twice", environment.value),
                    )
                    .with_related(first.origin.clone(), "first imported here"),
                );
                continue;
            }
            checked.push(DesiredImport {
                environment: environment_slug,
                path: source,
                origin: at,
            });
        }
        let (Ok(project), Some(path)) = (ProjectSlug::new(spec.project.value.clone()), path) else {
            return;
        };
        for environment in environments {
            let Ok(environment) = EnvironmentSlug::new(environment.clone()) else {
                continue;
            };
            let folder = Address::Folder(project.clone(), environment, path.clone());
            if let Some((first, _)) = self.imports.get(&folder) {
                let first = first.clone();
                self.error(
                    Diagnostic::error(
                        "duplicate-imports",
                        list_origin.clone(),
                        format!("the imports of `{folder}` are declared twice"),
                    )
                    .with_related(first, "first declared here")
                    .with_help("declare a folder's imports in one SecretSet: their order is their priority"),
                );
                continue;
            }
            self.imports
                .insert(folder, (list_origin.clone(), checked.clone()));
        }
    }

    /// One import of a folder: its environment and source folder, checked against the
    /// project; `None` when either is invalid (already reported).
    fn import_source(
        &mut self,
        loaded: &LoadedDocument,
        project: &Located<String>,
        import: &Located<ImportSpec>,
        project_known: bool,
    ) -> Option<(EnvironmentSlug, FolderPath, Origin)> {
        let at = loaded.origin(import.span);
        let environment = &import.value.environment;
        let environment_slug = match EnvironmentSlug::new(environment.value.clone()) {
            Ok(slug) => Some(slug),
            Err(error) => {
                self.error(name_diagnostic(
                    "invalid-environment-slug",
                    loaded.origin(environment.span),
                    "environment slug",
                    environment,
                    error,
                ));
                None
            }
        };
        let environment_known = project_known
            && self.check_environment(project, environment, loaded.origin(environment.span));
        let source_path = &import.value.path;
        let path_at = if source_path.span.line == 0 {
            at.clone()
        } else {
            loaded.origin(source_path.span)
        };
        let source = match FolderPath::new(source_path.value.clone()) {
            Ok(source) => {
                if environment_known {
                    self.check_folder(
                        project,
                        source.as_str(),
                        std::slice::from_ref(&environment.value),
                        path_at,
                    );
                }
                Some(source)
            }
            Err(error) => {
                self.error(name_diagnostic(
                    "invalid-folder-path",
                    path_at,
                    "folder path",
                    source_path,
                    error,
                ));
                None
            }
        };
        Some((environment_slug?, source?, at))
    }

    /// Import cycles (Infisical refuses an import whose source imports the destination, and
    /// ignores longer cycles when reading) and chains deeper than Infisical follows.
    pub(super) fn import_graph_problems(&self) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let edges = |folder: &Address| -> Vec<(Address, Origin)> {
            let Some((_, imports)) = self.imports.get(folder) else {
                return Vec::new();
            };
            let project = folder.project();
            imports
                .iter()
                .map(|import| {
                    (
                        Address::Folder(
                            project.clone(),
                            import.environment.clone(),
                            import.path.clone(),
                        ),
                        import.origin.clone(),
                    )
                })
                .collect()
        };
        // Cycles: an import whose source leads back to the importing folder.
        let mut cyclic = false;
        for folder in self.imports.keys() {
            for (source, origin) in edges(folder) {
                if let Some(mut chain) = path_between(&source, folder, &edges) {
                    cyclic = true;
                    chain.insert(0, folder.clone());
                    let shown: Vec<String> = chain.iter().map(folder_name).collect();
                    problems.push(
                        Diagnostic::error(
                            "import-cycle",
                            origin,
                            format!(
                                "the import of `{}` into `{}` closes a cycle: {}",
                                folder_name(&source),
                                folder_name(folder),
                                shown.join(" <- ")
                            ),
                        )
                        .with_help("Infisical refuses a direct cycle (`Cyclic import not allowed`) and skips longer ones when it reads; remove one of these imports"),
                    );
                }
            }
        }
        if cyclic {
            return problems;
        }
        // Depth: Infisical follows imports at most `MAX_IMPORT_DEPTH` levels deep.
        let mut depths: BTreeMap<Address, usize> = BTreeMap::new();
        for folder in self.imports.keys() {
            let depth = import_depth(folder, &edges, &mut depths);
            if depth > MAX_IMPORT_DEPTH
                && let Some((origin, _)) = self.imports.get(folder)
            {
                problems.push(
                    Diagnostic::error(
                        "import-too-deep",
                        origin.clone(),
                        format!(
                            "the imports of `{}` go {depth} levels deep; Infisical reads at most {MAX_IMPORT_DEPTH}",
                            folder_name(folder)
                        ),
                    )
                    .with_help("import the deeper folders directly, or shorten the chain"),
                );
            }
        }
        problems
    }

    /// Checks one secret; the checked secret when it is valid on its own.
    pub(super) fn secret(
        &mut self,
        loaded: &LoadedDocument,
        secret: &SecretSpec,
    ) -> Option<DesiredSecret> {
        let key_origin = loaded.origin(secret.key.span);
        let key = match SecretKey::new(secret.key.value.clone()) {
            Ok(key) => Some(key),
            Err(error) => {
                self.error(name_diagnostic(
                    "invalid-secret-key",
                    key_origin.clone(),
                    "secret key",
                    &secret.key,
                    error,
                ));
                None
            }
        };
        let mut tags = BTreeSet::new();
        let mut tags_ok = true;
        for tag in &secret.tags {
            match TagSlug::new(tag.value.clone()) {
                Ok(slug) => {
                    tags.insert(slug);
                }
                Err(error) => {
                    tags_ok = false;
                    self.error(name_diagnostic(
                        "invalid-tag",
                        loaded.origin(tag.span),
                        "tag slug",
                        tag,
                        error,
                    ));
                }
            }
        }
        // What the applier writes: the declared pairs and the ownership marker (the source
        // record, `infisical-gitops/generate` or `/literal`, is short and always within the
        // limits: see `ownership::tests`).
        for (metadata_key, metadata_value) in &with_marker(&secret.metadata) {
            if let Some(diagnostic) = metadata_problem(
                key_origin.clone(),
                &secret.key.value,
                metadata_key,
                metadata_value,
            ) {
                tags_ok = false;
                self.error(diagnostic);
            }
        }

        // Exactly one source.
        let mut sources: Vec<(&str, Span)> = Vec::new();
        if let Some(s) = &secret.bitwarden {
            sources.push(("bitwarden", s.span));
        }
        if let Some(s) = &secret.bitwarden_secrets_manager {
            sources.push(("bitwardenSecretsManager", s.span));
        }
        if let Some(s) = &secret.generate {
            sources.push(("generate", s.span));
        }
        if let Some(s) = &secret.value {
            sources.push(("value", s.span));
        }
        if let Some(s) = &secret.todo {
            sources.push(("todo", s.span));
        }
        let source = match sources.as_slice() {
            [] => {
                self.error(
                    Diagnostic::error(
                        "missing-source",
                        key_origin.clone(),
                        format!("secret `{}` has no value source", secret.key.value),
                    )
                    .with_help("add exactly one of `bitwarden`, `bitwardenSecretsManager`, `generate` or `value`"),
                );
                None
            }
            [_] => self.source(loaded, secret),
            [(first, first_span), rest @ ..] => {
                for (other, span) in rest {
                    self.error(
                        Diagnostic::error(
                            "conflicting-sources",
                            loaded.origin(*span),
                            format!(
                                "secret `{}` has several value sources: `{other}` and `{first}`",
                                secret.key.value
                            ),
                        )
                        .with_related(loaded.origin(*first_span), format!("`{first}` is set here"))
                        .with_help("keep exactly one value source"),
                    );
                }
                None
            }
        };
        let key = key?;
        let source = source?;
        if !tags_ok {
            return None;
        }
        Some(DesiredSecret {
            key,
            comment: secret
                .comment
                .as_ref()
                .map(|c| c.value.trim().to_string())
                .unwrap_or_default(),
            tags,
            metadata: secret.metadata.clone(),
            source,
            origin: key_origin,
        })
    }

    /// Checks the one value source of `secret`.
    pub(super) fn source(
        &mut self,
        loaded: &LoadedDocument,
        secret: &SecretSpec,
    ) -> Option<SecretSource> {
        let key = &secret.key.value;
        if let Some(todo) = &secret.todo {
            let note = todo.value.trim();
            let message = if note.is_empty() {
                format!("secret `{key}` has a placeholder instead of a value source")
            } else {
                format!("secret `{key}` has a placeholder instead of a value source: {note}")
            };
            self.error(
                Diagnostic::error("placeholder-source", loaded.origin(todo.span), message)
                    .with_help(
                        "replace `todo` with a `bitwarden` reference (`item: <uuid>`), or `generate`, or a `value` with `sensitive: false`; or run `import` again with a mapping file",
                    ),
            );
            return None;
        }
        if let Some(bitwarden) = &secret.bitwarden {
            return self
                .bitwarden(loaded, key, bitwarden)
                .map(SecretSource::Bitwarden);
        }
        if let Some(manager) = &secret.bitwarden_secrets_manager {
            let id = &manager.secret;
            if !is_uuid(id) {
                self.error(invalid_uuid(
                    loaded.origin(id.span),
                    "bitwardenSecretsManager.secret",
                    id,
                ));
                return None;
            }
            return Some(SecretSource::BitwardenSecretsManager {
                secret: id.value.to_ascii_lowercase(),
            });
        }
        if let Some(generate) = &secret.generate {
            return self.generate(loaded, generate).map(SecretSource::Generate);
        }
        if let Some(value) = &secret.value {
            let sensitive = secret.sensitive.as_ref().is_none_or(|s| s.value);
            if sensitive {
                let mut diagnostic = Diagnostic::error(
                    "sensitive-literal",
                    loaded.origin(value.span),
                    format!("secret `{key}` holds a literal `value` but is sensitive"),
                )
                .with_help(
                    "reference the value in Bitwarden or `generate` it; only configuration marked `sensitive: false` may be written in Git",
                );
                if let Some(marked) = &secret.sensitive {
                    diagnostic = diagnostic
                        .with_related(loaded.origin(marked.span), "marked sensitive here");
                }
                self.error(diagnostic);
                return None;
            }
            if is_blank(value) {
                self.error(
                    Diagnostic::error(
                        "empty-literal",
                        loaded.origin(value.span),
                        format!("secret `{key}` has an empty literal `value` (empty or only whitespace)"),
                    )
                    .with_help(
                        "Infisical would store an empty secret: write the value, or remove the secret",
                    ),
                );
                return None;
            }
            return Some(SecretSource::Literal(value.value.clone()));
        }
        None
    }

    pub(super) fn bitwarden(
        &mut self,
        loaded: &LoadedDocument,
        key: &str,
        spec: &Located<BitwardenSpec>,
    ) -> Option<BitwardenRef> {
        let at = loaded.origin(spec.span);
        let mut ok = true;
        for (field, value) in [
            ("bitwarden.item", &spec.item),
            ("bitwarden.folder", &spec.folder),
            ("bitwarden.collection", &spec.collection),
        ] {
            if let Some(value) = value
                && !is_uuid(value)
            {
                ok = false;
                self.error(invalid_uuid(loaded.origin(value.span), field, value));
            }
        }
        let item = self.bitwarden_item(loaded, key, spec, at.clone(), &mut ok);
        let field = self.bitwarden_field(loaded, key, spec);
        if spec.uri_index.is_some()
            && !matches!(
                field,
                Some(BitwardenFieldRef::Builtin {
                    field: BitwardenField::Uri,
                    ..
                })
            )
        {
            ok = false;
            self.error(Diagnostic::error(
                "bitwarden-field",
                at,
                format!("`bitwarden.uriIndex` of secret `{key}` applies only with `field: uri`"),
            ));
        }
        match (ok, item, field) {
            (true, Some(item), Some(field)) => Some(BitwardenRef { item, field }),
            _ => None,
        }
    }

    /// The item a `bitwarden` reference names: `item` (an id) or `itemName` scoped by a folder
    /// or collection. `ok` turns false on a problem that still yields an item.
    fn bitwarden_item(
        &mut self,
        loaded: &LoadedDocument,
        key: &str,
        spec: &Located<BitwardenSpec>,
        at: Origin,
        ok: &mut bool,
    ) -> Option<BitwardenItem> {
        match (&spec.item, &spec.item_name) {
            (Some(item), None) => {
                for (field, value) in [("folder", &spec.folder), ("collection", &spec.collection)] {
                    if let Some(value) = value {
                        *ok = false;
                        self.error(
                            Diagnostic::error(
                                "bitwarden-scope-without-name",
                                loaded.origin(value.span),
                                format!("`bitwarden.{field}` only scopes `itemName`; secret `{key}` uses `item`"),
                            )
                            .with_help(format!("remove `{field}`")),
                        );
                    }
                }
                Some(BitwardenItem::Id(item.value.to_ascii_lowercase()))
            }
            (None, Some(name)) => {
                if name.trim().is_empty() {
                    *ok = false;
                    self.error(Diagnostic::error(
                        "bitwarden-item",
                        loaded.origin(name.span),
                        "`bitwarden.itemName` must not be empty",
                    ));
                } else if let Err(error) = check_printable(name) {
                    *ok = false;
                    self.error(name_diagnostic(
                        "bitwarden-item",
                        loaded.origin(name.span),
                        "`bitwarden.itemName`",
                        name,
                        error,
                    ));
                }
                if spec.folder.is_none() && spec.collection.is_none() {
                    *ok = false;
                    self.error(
                        Diagnostic::error(
                            "bitwarden-unscoped-name",
                            loaded.origin(name.span),
                            format!("`bitwarden.itemName` of secret `{key}` needs a `folder` or a `collection`"),
                        )
                        .with_help("item names are not unique in a vault: scope the name with a folder or collection id, or use `item` (the item id)"),
                    );
                }
                Some(BitwardenItem::Name {
                    name: name.value.clone(),
                    folder: spec.folder.as_ref().map(|f| f.value.to_ascii_lowercase()),
                    collection: spec
                        .collection
                        .as_ref()
                        .map(|c| c.value.to_ascii_lowercase()),
                })
            }
            (Some(_), Some(name)) => {
                self.error(
                    Diagnostic::error(
                        "bitwarden-item",
                        loaded.origin(name.span),
                        format!(
                            "secret `{key}` sets both `bitwarden.item` and `bitwarden.itemName`"
                        ),
                    )
                    .with_help("keep one: `item` (the id) is preferred"),
                );
                None
            }
            (None, None) => {
                self.error(
                    Diagnostic::error(
                        "bitwarden-item",
                        at,
                        format!("`bitwarden` of secret `{key}` names no item"),
                    )
                    .with_help(
                        "add `item: <item id>` (or `itemName` with a `folder` or `collection`)",
                    ),
                );
                None
            }
        }
    }

    /// The field a `bitwarden` reference reads: a built-in `field` or a `customField`.
    fn bitwarden_field(
        &mut self,
        loaded: &LoadedDocument,
        key: &str,
        spec: &Located<BitwardenSpec>,
    ) -> Option<BitwardenFieldRef> {
        match (&spec.field, &spec.custom_field) {
            (Some(field), Some(custom)) => {
                self.error(
                    Diagnostic::error(
                        "bitwarden-field",
                        loaded.origin(custom.span),
                        format!(
                            "secret `{key}` sets both `bitwarden.field` and `bitwarden.customField`"
                        ),
                    )
                    .with_related(loaded.origin(field.span), "`field` is set here")
                    .with_help("keep one"),
                );
                None
            }
            (None, Some(custom)) => {
                if custom.trim().is_empty() {
                    self.error(Diagnostic::error(
                        "bitwarden-field",
                        loaded.origin(custom.span),
                        "`bitwarden.customField` must not be empty",
                    ));
                    None
                } else if let Err(error) = check_printable(custom) {
                    self.error(name_diagnostic(
                        "bitwarden-field",
                        loaded.origin(custom.span),
                        "`bitwarden.customField`",
                        custom,
                        error,
                    ));
                    None
                } else {
                    Some(BitwardenFieldRef::Custom(custom.value.clone()))
                }
            }
            (field, None) => {
                let field = field.as_ref().map(|f| f.value).unwrap_or_default();
                Some(BitwardenFieldRef::Builtin {
                    field,
                    uri_index: spec.uri_index.unwrap_or(0),
                })
            }
        }
    }

    pub(super) fn generate(
        &mut self,
        loaded: &LoadedDocument,
        spec: &Located<GenerateSpec>,
    ) -> Option<GenerateRule> {
        let length = spec
            .length
            .as_ref()
            .map(|l| l.value)
            .unwrap_or(GenerateRule::DEFAULT_LENGTH);
        if !(GenerateRule::MIN_LENGTH..=GenerateRule::MAX_LENGTH).contains(&length) {
            let at = spec
                .length
                .as_ref()
                .map(|l| loaded.origin(l.span))
                .unwrap_or_else(|| loaded.origin(spec.span));
            self.error(Diagnostic::error(
                "generate-length",
                at,
                format!(
                    "generated length {length} is out of bounds ({} to {})",
                    GenerateRule::MIN_LENGTH,
                    GenerateRule::MAX_LENGTH
                ),
            ));
            return None;
        }
        Some(GenerateRule {
            length,
            charset: spec.charset.unwrap_or_default(),
            backup_to: spec.backup_to,
        })
    }
}

impl Checker {
    /// Warnings for references in literal values that name no secret this repository declares.
    /// Infisical would leave such a reference unexpanded (or expand it from an object outside
    /// the repository's control), so they are reported; they never block.
    pub(super) fn reference_warnings(&self) -> Vec<Diagnostic> {
        let mut warnings = Vec::new();
        for (address, secret) in &self.secrets {
            let (SecretSource::Literal(value), Address::Secret(project, environment, path, _)) =
                (&secret.source, address)
            else {
                continue;
            };
            let found = references(value);
            if found.len() > MAX_REFERENCES_PER_VALUE {
                warnings.push(
                    Diagnostic::warning(
                        "too-many-references",
                        secret.origin.clone(),
                        format!(
                            "the `value` of secret `{address}` holds {} references; only the first {MAX_REFERENCES_PER_VALUE} are checked",
                            found.len()
                        ),
                    )
                    .with_help("split the value, or reference fewer secrets"),
                );
            }
            for reference in found.into_iter().take(MAX_REFERENCES_PER_VALUE) {
                let reference = match reference {
                    Ok(reference) => reference,
                    Err(inner) => {
                        warnings.push(
                            Diagnostic::warning(
                                "unresolved-reference",
                                secret.origin.clone(),
                                format!(
                                    "the `value` of secret `{address}` holds the reference `${{{}}}`, which names no secret",
                                    abbreviated(&inner)
                                ),
                            )
                            .with_help(REFERENCE_FORMS),
                        );
                        continue;
                    }
                };
                let target = (
                    reference.project.as_deref().unwrap_or(project.as_str()),
                    reference
                        .environment
                        .as_deref()
                        .unwrap_or(environment.as_str()),
                    reference.path.as_deref().unwrap_or(path.as_str()),
                    reference.key.as_str(),
                );
                if self.declares_secret(target) {
                    continue;
                }
                let (target_project, target_environment, target_path, key) = target;
                warnings.push(
                    Diagnostic::warning(
                        "unresolved-reference",
                        secret.origin.clone(),
                        format!(
                            "the `value` of secret `{address}` references `${{{}}}`, but this repository declares no secret `{}` in `{target_project}/{target_environment}:{target_path}`",
                            abbreviated(&reference.raw),
                            abbreviated(key),
                        ),
                    )
                    .with_help(
                        "declare that secret in a SecretSet, or correct the reference; Infisical leaves a reference it cannot resolve unexpanded",
                    ),
                );
            }
        }
        warnings
    }

    pub(super) fn declares_secret(
        &self,
        (project, environment, path, key): (&str, &str, &str, &str),
    ) -> bool {
        let (Ok(project), Ok(environment), Ok(path), Ok(key)) = (
            ProjectSlug::new(project),
            EnvironmentSlug::new(environment),
            FolderPath::new(path),
            SecretKey::new(key),
        ) else {
            return false;
        };
        self.secrets
            .contains_key(&Address::Secret(project, environment, path, key))
    }
}
