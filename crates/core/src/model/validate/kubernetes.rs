//! KubernetesSync and KubernetesDefaults documents.

use super::*;

impl Checker {
    // -----------------------------------------------------------------------------------------
    // Kubernetes

    pub(super) fn kubernetes_defaults(
        &mut self,
        loaded: &LoadedDocument,
        document: &KubernetesDefaultsDocument,
    ) {
        let origin = loaded.origin(document.metadata.name.span);
        if let Some((first, _)) = &self.defaults {
            let first = first.clone();
            self.error(
                Diagnostic::error(
                    "duplicate-kubernetes-defaults",
                    origin,
                    "a repository may hold at most one KubernetesDefaults",
                )
                .with_related(first, "the first one is here")
                .with_help("merge the two documents"),
            );
            return;
        }
        let spec = &document.spec;
        self.connection_settings(
            loaded,
            &origin,
            "KubernetesDefaults",
            ConnectionSettings {
                auth: spec.auth.as_ref(),
                resync_interval: spec.resync_interval.as_ref(),
                host_api: spec.host_api.as_ref(),
                tls: spec.tls.as_ref(),
                operator_api: spec.operator_api,
            },
        );
        self.defaults = Some((origin, document.clone()));
    }

    /// The connection settings a KubernetesSync and KubernetesDefaults share.
    pub(super) fn connection_settings(
        &mut self,
        loaded: &LoadedDocument,
        origin: &Origin,
        owner: &str,
        settings: ConnectionSettings<'_>,
    ) {
        if let Some(auth) = settings.auth {
            self.auth(auth, origin, owner);
        }
        if let Some(interval) = settings.resync_interval {
            self.resync_interval(loaded.origin(interval.span), interval);
        }
        if let Some(host) = settings.host_api {
            self.host_api(loaded.origin(host.span), host);
        }
        if let Some(tls) = settings.tls {
            self.kubernetes_ref(origin, "tls.caRef", &tls.ca_ref.name, &tls.ca_ref.namespace);
        }
        if settings.operator_api == Some(OperatorApi::V1alpha1) {
            self.deprecated_operator_api(origin.clone(), owner);
        }
    }

    pub(super) fn auth(&mut self, auth: &SyncAuthSpec, at: &Origin, owner: &str) {
        let methods = auth.methods();
        if methods.len() > 1 {
            self.error(
                Diagnostic::error(
                    "auth-method",
                    at.clone(),
                    format!(
                        "{owner} sets several authentication methods ({})",
                        methods.join(", ")
                    ),
                )
                .with_help("keep exactly one authentication method"),
            );
            return;
        }
        if methods.is_empty() {
            self.error(
                Diagnostic::error(
                    "auth-method",
                    at.clone(),
                    format!("`auth` of {owner} sets no method"),
                )
                .with_help("set one of `universalAuth`, `kubernetesAuth`, `awsIamAuth`, `azureAuth`, `gcpIdTokenAuth`, `gcpIamAuth`, `ldapAuth`"),
            );
            return;
        }
        if let Some(universal) = &auth.universal_auth {
            let r = &universal.credentials_ref;
            self.kubernetes_ref(
                at,
                "auth.universalAuth.credentialsRef",
                &r.name,
                &r.namespace,
            );
        }
        if let Some(kubernetes) = &auth.kubernetes_auth {
            if kubernetes.identity_id.trim().is_empty() {
                self.error(Diagnostic::error(
                    "auth-method",
                    at.clone(),
                    format!("`auth.kubernetesAuth.identityId` of {owner} is empty"),
                ));
            }
            let r = &kubernetes.service_account_ref;
            self.kubernetes_ref(
                at,
                "auth.kubernetesAuth.serviceAccountRef",
                &r.name,
                &r.namespace,
            );
            if let Some(r) = &kubernetes.identity_id_ref {
                self.kubernetes_key_ref(at, "auth.kubernetesAuth.identityIdRef", r);
            }
        }
        let mut key_refs: Vec<(&str, &CaRefSpec)> = Vec::new();
        if let Some(a) = &auth.aws_iam_auth {
            key_refs.push(("auth.awsIamAuth.identityIdRef", &a.identity_id_ref));
        }
        if let Some(a) = &auth.azure_auth {
            key_refs.push(("auth.azureAuth.identityIdRef", &a.identity_id_ref));
        }
        if let Some(a) = &auth.gcp_id_token_auth {
            key_refs.push(("auth.gcpIdTokenAuth.identityIdRef", &a.identity_id_ref));
        }
        if let Some(a) = &auth.gcp_iam_auth {
            key_refs.push(("auth.gcpIamAuth.identityIdRef", &a.identity_id_ref));
            if !a.service_account_key_file_path.starts_with('/') {
                self.error(
                    Diagnostic::error(
                        "auth-method",
                        at.clone(),
                        format!("`auth.gcpIamAuth.serviceAccountKeyFilePath` of {owner} is not an absolute path"),
                    )
                    .with_help("the path of the key file inside the operator's pod, e.g. `/etc/gcp/key.json` (never the key itself)"),
                );
            }
        }
        if let Some(a) = &auth.ldap_auth {
            key_refs.push(("auth.ldapAuth.identityIdRef", &a.identity_id_ref));
            key_refs.push(("auth.ldapAuth.usernameRef", &a.username_ref));
            key_refs.push(("auth.ldapAuth.passwordRef", &a.password_ref));
        }
        for (field, reference) in key_refs {
            self.kubernetes_key_ref(at, field, reference);
        }
    }

    /// A `{name, namespace, key}` reference to a key of a Secret.
    pub(super) fn kubernetes_key_ref(&mut self, at: &Origin, field: &str, reference: &CaRefSpec) {
        self.kubernetes_ref(at, field, &reference.name, &reference.namespace);
        if check_secret_data_key(&reference.key).is_err() {
            self.error(
                Diagnostic::error(
                    "invalid-kubernetes-name",
                    at.clone(),
                    format!("`{field}.key` is not a Secret key"),
                )
                .with_help("letters, digits, `-`, `_` and `.`"),
            );
        }
    }

    pub(super) fn kubernetes_ref(&mut self, at: &Origin, field: &str, name: &str, namespace: &str) {
        if let Err(error) = check_dns1123_subdomain(name) {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                at.clone(),
                &format!("`{field}.name`"),
                name,
                error,
            ));
        }
        if let Err(error) = check_dns1123_label(namespace) {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                at.clone(),
                &format!("`{field}.namespace`"),
                namespace,
                error,
            ));
        }
    }

    pub(super) fn resync_interval(&mut self, at: Origin, value: &str) {
        match parse_resync_interval(value) {
            Some(seconds) if seconds >= MIN_RESYNC_SECONDS => {}
            Some(_) => self.error(Diagnostic::error(
                "resync-interval",
                at,
                format!("resync interval `{value}` is shorter than the operator's minimum of 5s"),
            )),
            None => self.error(
                Diagnostic::error(
                    "resync-interval",
                    at,
                    format!("invalid resync interval `{value}`"),
                )
                .with_help("an integer followed by `s`, `m`, `h`, `d` or `w`, e.g. `60s` or `5m`"),
            ),
        }
    }

    pub(super) fn host_api(&mut self, at: Origin, value: &str) {
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        if rest
            .is_none_or(|r| r.is_empty() || r.starts_with('/') || r.contains(char::is_whitespace))
        {
            self.error(
                Diagnostic::error("host-api", at, format!("invalid `hostApi` `{value}`"))
                    .with_help("an absolute http(s) URL, e.g. `https://secrets.example.com/api`"),
            );
        }
    }

    pub(super) fn kubernetes_sync(
        &mut self,
        loaded: &LoadedDocument,
        document: &KubernetesSyncDocument,
    ) {
        let name = &document.metadata.name;
        let origin = loaded.origin(name.span);
        self.check_metadata_name(loaded, &document.metadata, "KubernetesSync");
        if !self.unique_name("KubernetesSync", name, &origin) {
            return;
        }
        let spec = &document.spec;
        let errors_before = self.diagnostics.error_count();

        // Sources: one form or the other, at least one.
        self.one_form(
            &origin,
            name,
            ("source", spec.source.is_some()),
            ("sources", !spec.sources.is_empty()),
        );
        for source in spec.all_sources() {
            self.sync_source(loaded, &origin, source);
        }

        let source_ok = self.diagnostics.error_count() == errors_before;

        // Targets.
        self.one_form(
            &origin,
            name,
            ("target", spec.target.is_some()),
            ("targets", !spec.targets.is_empty()),
        );
        for target in spec.all_targets() {
            self.sync_target(loaded, &origin, name, target);
        }
        if let Some(namespace) = &spec.namespace
            && let Err(error) = check_dns1123_label(namespace)
        {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                loaded.origin(namespace.span),
                "namespace",
                namespace,
                error,
            ));
        }
        if spec.namespace.is_none() {
            let namespaces: BTreeSet<&str> =
                spec.all_targets().map(|t| t.namespace.as_str()).collect();
            if namespaces.len() > 1 {
                self.error(
                    Diagnostic::error(
                        "ambiguous-namespace",
                        origin.clone(),
                        format!(
                            "KubernetesSync `{name}` writes into several namespaces ({}) and sets no `spec.namespace`",
                            namespaces.into_iter().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .with_help("set `spec.namespace`: the namespace of the operator objects"),
                );
            }
        }

        // Own settings.
        self.connection_settings(
            loaded,
            &origin,
            &format!("KubernetesSync `{name}`"),
            ConnectionSettings {
                auth: spec.auth.as_ref(),
                resync_interval: spec.resync_interval.as_ref(),
                host_api: spec.host_api.as_ref(),
                tls: spec.tls.as_ref(),
                operator_api: spec.operator_api,
            },
        );
        self.kubernetes_sync_rest(loaded, document, origin, source_ok);
    }

    /// `source` and `sources` (or `target` and `targets`): exactly one of them.
    pub(super) fn one_form(
        &mut self,
        origin: &Origin,
        name: &str,
        single: (&str, bool),
        list: (&str, bool),
    ) {
        match (single.1, list.1) {
            (true, true) => self.error(
                Diagnostic::error(
                    "sync-form",
                    origin.clone(),
                    format!(
                        "KubernetesSync `{name}` sets both `spec.{}` and `spec.{}`",
                        single.0, list.0
                    ),
                )
                .with_help(format!(
                    "use one form: move `{}` into the `{}` list",
                    single.0, list.0
                )),
            ),
            (false, false) => self.error(
                Diagnostic::error(
                    if single.0 == "source" {
                        "missing-source"
                    } else {
                        "missing-target"
                    },
                    origin.clone(),
                    format!(
                        "KubernetesSync `{name}` has no `spec.{}` (or `spec.{}`)",
                        single.0, list.0
                    ),
                )
                .with_help(format!("set `{}`, or a `{}` list", single.0, list.0)),
            ),
            _ => {}
        }
    }

    pub(super) fn deprecated_operator_api(&mut self, at: Origin, owner: &str) {
        self.diagnostics.push(
            Diagnostic::warning(
                "deprecated-operator-api",
                at,
                format!("{owner} sets `operatorApi: v1alpha1`: Infisical deprecated the v1alpha1 `InfisicalSecret`"),
            )
            .with_help(
                "remove `operatorApi` (v1beta1 is the default) and apply once with `manifests --apply --prune`; Kubernetes auth then needs `identityIdRef` (docs/operator.md)",
            ),
        );
    }

    pub(super) fn sync_source(
        &mut self,
        loaded: &LoadedDocument,
        origin: &Origin,
        source: &SyncSourceSpec,
    ) {
        if self.lookup_project(&source.project, loaded.origin(source.project.span))
            && self.check_environment(
                &source.project,
                &source.environment,
                loaded.origin(source.environment.span),
            )
        {
            let at = if source.path.span.line == 0 {
                origin.clone()
            } else {
                loaded.origin(source.path.span)
            };
            match FolderPath::new(source.path.value.clone()) {
                Ok(path) => self.check_folder(
                    &source.project,
                    path.as_str(),
                    std::slice::from_ref(&source.environment.value),
                    at,
                ),
                Err(error) => self.error(name_diagnostic(
                    "invalid-folder-path",
                    at,
                    "folder path",
                    &source.path,
                    error,
                )),
            }
        }
        for tag in &source.tag_slugs {
            if check_dns1123_label(tag).is_err() {
                self.error(
                    Diagnostic::error(
                        "invalid-tag-slug",
                        origin.clone(),
                        format!("tag slug `{}` is not a slug", crate::escape::Visible(tag)),
                    )
                    .with_help("lowercase letters, digits and `-`"),
                );
            }
        }
    }

    pub(super) fn sync_target(
        &mut self,
        loaded: &LoadedDocument,
        origin: &Origin,
        name: &str,
        target: &SyncTargetSpec,
    ) {
        let origin = origin.clone();
        if let Err(error) = check_dns1123_label(&target.namespace) {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                loaded.origin(target.namespace.span),
                "namespace",
                &target.namespace,
                error,
            ));
        }
        if let Err(error) = check_dns1123_subdomain(&target.name) {
            self.error(name_diagnostic(
                "invalid-kubernetes-name",
                loaded.origin(target.name.span),
                "Secret name",
                &target.name,
                error,
            ));
        }
        let target_key = (target.namespace.value.clone(), target.name.value.clone());
        let target_origin = loaded.origin(target.name.span);
        if let Some(first) = self.targets.get(&target_key) {
            self.error(
                Diagnostic::error(
                    "duplicate-target",
                    target_origin,
                    format!(
                        "Kubernetes Secret `{}/{}` is the target of two KubernetesSync documents",
                        target.namespace.value, target.name.value
                    ),
                )
                .with_related(first.clone(), "first targeted here")
                .with_help("two operator resources writing one Secret would overwrite each other"),
            );
        } else {
            self.targets.insert(target_key, target_origin);
        }
        if let Some(secret_type) = &target.secret_type
            && secret_type.trim().is_empty()
        {
            self.error(Diagnostic::error(
                "invalid-secret-type",
                origin.clone(),
                "`target.type` must not be empty",
            ));
        }
        if let Some(template) = &target.template {
            for (key, entry) in &template.data {
                if let Err(error) = check_secret_data_key(key) {
                    self.error(name_diagnostic(
                        "invalid-kubernetes-name",
                        origin.clone(),
                        "template data key",
                        key,
                        error,
                    ));
                }
                // A constant in a Secret's template comes from Git, not Infisical. A warning,
                // not an error: a reviewed constant (a username, a port) is legitimate here,
                // while proposals over MCP refuse it outright. The entry is never shown.
                if target.kind != Some(SyncTargetKind::ConfigMap)
                    && let Err(why) = check_template_entry(entry)
                    && check_secret_data_key(key).is_ok()
                {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "template-literal",
                            origin.clone(),
                            format!(
                                "KubernetesSync `{name}` template entry `{key}` reads no secret: {why}"
                            ),
                        )
                        .with_help(
                            "read secrets with `{{ .KEY.Value }}`: a constant written here reaches the Kubernetes Secret from Git, not from Infisical",
                        ),
                    );
                }
            }
        }
    }

    pub(super) fn kubernetes_sync_rest(
        &mut self,
        loaded: &LoadedDocument,
        document: &KubernetesSyncDocument,
        origin: Origin,
        source_ok: bool,
    ) {
        let name = &document.metadata.name;
        let spec = &document.spec;
        // Merge the defaults.
        let mut merged: KubernetesSyncSpec = spec.clone();
        if let Some((_, defaults)) = &self.defaults {
            let d = &defaults.spec;
            if merged.auth.is_none() {
                merged.auth.clone_from(&d.auth);
            }
            if merged.host_api.is_none() {
                merged.host_api.clone_from(&d.host_api);
            }
            if merged.tls.is_none() {
                merged.tls.clone_from(&d.tls);
            }
            if merged.resync_interval.is_none() {
                merged.resync_interval.clone_from(&d.resync_interval);
            }
            if merged.operator_api.is_none() {
                merged.operator_api = d.operator_api;
            }
            if merged.instant_updates.is_none() {
                merged.instant_updates = d.instant_updates;
            }
        }
        self.operator_rules(loaded, document, &merged, &origin);
        if merged.auth.is_none() {
            let mut diagnostic = Diagnostic::error(
                "missing-auth",
                origin.clone(),
                format!("KubernetesSync `{name}` has no operator authentication"),
            )
            .with_help("set `spec.auth`, or `spec.auth` in the repository's KubernetesDefaults");
            if let Some((defaults_origin, _)) = &self.defaults {
                diagnostic = diagnostic
                    .with_related(defaults_origin.clone(), "KubernetesDefaults sets no `auth`");
            }
            self.error(diagnostic);
        }
        if source_ok {
            self.sync_sources_ok.insert(name.value.clone());
        }
        self.syncs.insert(
            name.value.clone(),
            KubernetesSync {
                name: name.value.clone(),
                spec: merged,
                origin,
            },
        );
    }

    /// Rules that come from the operator's resources: what it cannot express or would refuse.
    pub(super) fn operator_rules(
        &mut self,
        loaded: &LoadedDocument,
        document: &KubernetesSyncDocument,
        merged: &KubernetesSyncSpec,
        origin: &Origin,
    ) {
        let name = &document.metadata.name;
        let api = merged.operator_api.unwrap_or_default();
        for target in merged.all_targets() {
            if target.kind == Some(SyncTargetKind::ConfigMap) && target.secret_type.is_some() {
                self.error(
                    Diagnostic::error(
                        "configmap-target",
                        loaded.origin(target.name.span),
                        format!("KubernetesSync `{name}` sets `target.type` on a ConfigMap target"),
                    )
                    .with_help("remove `type`: only Secrets have a type"),
                );
            }
            if target.creation_policy == Some(CreationPolicy::Owner)
                && let Some(namespace) = &merged.namespace
                && namespace.value != target.namespace.value
            {
                self.error(
                    Diagnostic::error(
                        "owner-across-namespaces",
                        loaded.origin(namespace.span),
                        format!(
                            "KubernetesSync `{name}` uses `creationPolicy: Owner`, but its resource lives in `{}` and the Secret in `{}`",
                            namespace.value, target.namespace.value
                        ),
                    )
                    .with_help("Kubernetes owner references do not cross namespaces: use `Orphan`, or one namespace"),
                );
            }
            if api == OperatorApi::V1beta1
                && let Some(template) = &target.template
                && template.include_all_secrets
                && !template.data.is_empty()
            {
                self.error(
                    Diagnostic::error(
                        "template-include-all",
                        origin.clone(),
                        format!("KubernetesSync `{name}` sets both `template.includeAllSecrets` and `template.data` with operator API v1beta1 (the default)"),
                    )
                    .with_help("v1beta1 templates replace the fetched secrets: list every key in `data`, or keep the deprecated `operatorApi: v1alpha1`"),
                );
            }
        }
        match api {
            OperatorApi::V1beta1 => {
                if let Some(auth) = &merged.auth
                    && auth.methods().len() == 1
                    && let Some(kubernetes) = &auth.kubernetes_auth
                    && kubernetes.identity_id_ref.is_none()
                {
                    let inherited = document.spec.auth.is_none();
                    self.error(
                        Diagnostic::error(
                            "missing-identity-id-ref",
                            origin.clone(),
                            format!(
                                "KubernetesSync `{name}` uses `{}auth.kubernetesAuth` with operator API v1beta1 (the default since operatorApi stopped defaulting to v1alpha1) but no `identityIdRef`",
                                if inherited { "KubernetesDefaults " } else { "spec." }
                            ),
                        )
                        .with_help("the v1beta1 `InfisicalAuth` reads the identity id from a Secret: put the id in a Secret and add `auth.kubernetesAuth.identityIdRef {name, namespace, key}`, or keep the deprecated `operatorApi: v1alpha1` for now"),
                    );
                }
            }
            OperatorApi::V1alpha1 => {
                let mut needs = Vec::new();
                if merged.all_sources().count() > 1 {
                    needs.push("`sources` with several sources".to_string());
                }
                if merged.all_sources().any(|s| !s.tag_slugs.is_empty()) {
                    needs.push("`tagSlugs`".to_string());
                }
                if let Some(auth) = &merged.auth {
                    for (method, field) in [
                        ("aws-iam", "awsIamAuth"),
                        ("azure", "azureAuth"),
                        ("gcp-id-token", "gcpIdTokenAuth"),
                        ("gcp-iam", "gcpIamAuth"),
                        ("ldap", "ldapAuth"),
                    ] {
                        if auth.methods().contains(&method) {
                            needs.push(format!("`auth.{field}`"));
                        }
                    }
                }
                for feature in needs {
                    self.error(
                        Diagnostic::error(
                            "needs-v1beta1",
                            origin.clone(),
                            format!("KubernetesSync `{name}` uses {feature}, which the deprecated v1alpha1 `InfisicalSecret` cannot express"),
                        )
                        .with_help("remove `operatorApi: v1alpha1` (here or in KubernetesDefaults): v1beta1 is the default"),
                    );
                }
            }
        }
    }
}
