//! Operator manifests: CRD-schema validation, YAML snapshots, `--out` idempotence, and the
//! apply path against kube's mock service, a fake cluster and an in-memory API server (kmock).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use async_trait::async_trait;
use infisical_gitops::cli::manifests::{ManifestsCommand, write_directory};
use infisical_gitops::manifest::cluster::{
    self, ApplyOptions, Cluster, ClusterApplyReport, ClusterError, KubeCluster, ObjectOutcome,
    Refusal,
};
use infisical_gitops::manifest::render::{self, FILE_HEADER, INDEX_FILE};
use infisical_gitops::manifest::{self, Kind, Manifest, ObjectRef, Options};
use infisical_gitops::model::document::{
    CaRefSpec, CreationPolicy, KubernetesAuthSpec, KubernetesSyncSpec, OperatorApi, SecretRefSpec,
    SyncAuthSpec, SyncSourceSpec, SyncTargetKind, SyncTargetSpec, SyncTemplateSpec, SyncTlsSpec,
    UniversalAuthSpec,
};
use infisical_gitops::model::{DesiredState, KubernetesSync, Origin, Span};
use serde_json::{Value, json};

use super::support::python;

/// Each applied object and what happened to it (`InfisicalSecret platform/a created`).
fn outcomes(report: &ClusterApplyReport) -> Vec<String> {
    report
        .results
        .iter()
        .map(|r| format!("{} {}", r.object, r.outcome))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Builders

/// A `KubernetesSync` with universal auth, reading `billing/prod:/` into Secret
/// `platform/<name>-env`.
#[derive(Clone)]
struct SyncBuilder(KubernetesSync);

fn sync(name: &str) -> SyncBuilder {
    SyncBuilder(KubernetesSync {
        name: name.to_string(),
        spec: KubernetesSyncSpec {
            source: Some(SyncSourceSpec {
                project: "billing".to_string().into(),
                environment: "prod".to_string().into(),
                path: "/".to_string().into(),
                recursive: false,
                ..SyncSourceSpec::default()
            }),
            target: Some(SyncTargetSpec {
                namespace: "platform".to_string().into(),
                name: format!("{name}-env").into(),
                ..SyncTargetSpec::default()
            }),
            auth: Some(SyncAuthSpec {
                universal_auth: Some(UniversalAuthSpec {
                    credentials_ref: SecretRefSpec {
                        name: "infisical-credentials".to_string(),
                        namespace: "platform".to_string(),
                    },
                }),
                kubernetes_auth: None,
                ..SyncAuthSpec::default()
            }),
            // Most tests pin the deprecated API's single object; v1beta1 is the default.
            operator_api: Some(OperatorApi::V1alpha1),
            ..KubernetesSyncSpec::default()
        },
        origin: Origin::new(format!("syncs/{name}.yaml"), Span::new(1, 1)),
    })
}

impl SyncBuilder {
    fn api(mut self, api: OperatorApi) -> Self {
        self.0.spec.operator_api = Some(api);
        self
    }
    fn host(mut self, host: &str) -> Self {
        self.0.spec.host_api = Some(host.to_string().into());
        self
    }
    fn tls(mut self) -> Self {
        self.0.spec.tls = Some(SyncTlsSpec {
            ca_ref: CaRefSpec {
                name: "infisical-ca".to_string(),
                namespace: "platform".to_string(),
                key: "ca.crt".to_string(),
            },
        });
        self
    }
    fn resync(mut self, interval: &str) -> Self {
        self.0.spec.resync_interval = Some(interval.to_string().into());
        self
    }
    fn instant(mut self, on: bool) -> Self {
        self.0.spec.instant_updates = Some(on);
        self
    }
    fn path(mut self, path: &str, recursive: bool) -> Self {
        self.0.spec.source.as_mut().expect("source").path = path.to_string().into();
        self.0.spec.source.as_mut().expect("source").recursive = recursive;
        self
    }
    fn namespace(mut self, namespace: &str) -> Self {
        self.0.spec.namespace = Some(namespace.to_string().into());
        self
    }
    fn secret_type(mut self, secret_type: &str) -> Self {
        self.0.spec.target.as_mut().expect("target").secret_type = Some(secret_type.to_string());
        self
    }
    fn owner(mut self) -> Self {
        self.0.spec.target.as_mut().expect("target").creation_policy = Some(CreationPolicy::Owner);
        self
    }
    fn label(mut self, key: &str, value: &str) -> Self {
        self.0
            .spec
            .target
            .as_mut()
            .expect("target")
            .labels
            .insert(key.into(), value.into());
        self
    }
    fn annotation(mut self, key: &str, value: &str) -> Self {
        self.0
            .spec
            .target
            .as_mut()
            .expect("target")
            .annotations
            .insert(key.into(), value.into());
        self
    }
    fn template(mut self, include_all_secrets: bool, data: &[(&str, &str)]) -> Self {
        self.0.spec.target.as_mut().expect("target").template = Some(SyncTemplateSpec {
            include_all_secrets,
            data: data
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        self
    }
    fn config_map(mut self) -> Self {
        self.0.spec.target.as_mut().expect("target").kind = Some(SyncTargetKind::ConfigMap);
        self
    }
    fn kubernetes_auth(mut self, with_ref: bool) -> Self {
        self.0.spec.auth = Some(SyncAuthSpec {
            universal_auth: None,
            kubernetes_auth: Some(KubernetesAuthSpec {
                identity_id: "7f3c1a52-9d1e-4b8e-a1c2-0d9e8f7a6b5c".to_string(),
                service_account_ref: SecretRefSpec {
                    name: "billing-reader".to_string(),
                    namespace: "platform".to_string(),
                },
                identity_id_ref: with_ref.then(|| CaRefSpec {
                    name: "infisical-identity".to_string(),
                    namespace: "platform".to_string(),
                    key: "identityId".to_string(),
                }),
                auto_create_service_account_token: Some(true),
                service_account_token_audiences: vec!["infisical".to_string()],
            }),
            ..SyncAuthSpec::default()
        });
        self
    }
    fn no_auth(mut self) -> Self {
        self.0.spec.auth = None;
        self
    }
}

fn state(syncs: impl IntoIterator<Item = SyncBuilder>) -> DesiredState {
    DesiredState {
        kubernetes_syncs: syncs.into_iter().map(|s| (s.0.name.clone(), s.0)).collect(),
        ..DesiredState::default()
    }
}

fn emit(state: &DesiredState, api: Option<OperatorApi>) -> Vec<Manifest> {
    manifest::manifests(state, &Options { operator_api: api }).expect("valid syncs")
}

/// Every option at once, the way a careful platform team would write it.
fn full(name: &str) -> SyncBuilder {
    sync(name)
        .host("https://secrets.example.com/api")
        .tls()
        .resync("60s")
        .instant(true)
        .path("/apps/billing", true)
        .secret_type("kubernetes.io/basic-auth")
        .owner()
        .label("app.kubernetes.io/name", "billing")
        .annotation("reloader.stakater.com/match", "true")
        .template(
            false,
            &[(
                "DATABASE_URL",
                "postgres://{{ .DB_USER.Value }}:{{ .DB_PASSWORD.Value }}@db:5432/billing",
            )],
        )
}

// ---------------------------------------------------------------------------------------------
// CRD schema validation

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Makes an OpenAPI schema strict: objects with `properties` reject other fields (what the API
/// server's strict field validation does), unless they preserve unknown fields.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let preserves = map
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if map.contains_key("properties")
                && !preserves
                && !map.contains_key("additionalProperties")
            {
                map.insert("additionalProperties".to_string(), Value::Bool(false));
            }
            for value in map.values_mut() {
                strict(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

struct Schemas(BTreeMap<(String, String), jsonschema::Validator>);

impl Schemas {
    fn load() -> Self {
        let mut out = BTreeMap::new();
        let dir = fixtures().join("crds");
        for entry in std::fs::read_dir(&dir).expect("crds fixture dir") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("crd file");
            let crd: Value = serde_saphyr::from_str(&text).expect("crd yaml");
            let group = crd["spec"]["group"].as_str().expect("group").to_string();
            let kind = crd["spec"]["names"]["kind"]
                .as_str()
                .expect("kind")
                .to_string();
            for version in crd["spec"]["versions"].as_array().expect("versions") {
                let mut schema = version["schema"]["openAPIV3Schema"].clone();
                strict(&mut schema);
                let name = version["name"].as_str().expect("version name");
                let validator = jsonschema::validator_for(&schema).expect("schema compiles");
                out.insert((format!("{group}/{name}"), kind.clone()), validator);
            }
        }
        assert_eq!(out.len(), 4, "four CRD versions");
        Self(out)
    }

    /// Every schema violation of one object, as `path: message` lines.
    fn violations(&self, object: &Value) -> Vec<String> {
        let key = (
            object["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            object["kind"].as_str().unwrap_or_default().to_string(),
        );
        let Some(validator) = self.0.get(&key) else {
            return vec![format!("no CRD for {key:?}")];
        };
        let mut out: Vec<String> = validator
            .iter_errors(object)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        out.extend(metadata_violations(object));
        out
    }

    fn assert_valid(&self, manifests: &[Manifest]) {
        for manifest in manifests {
            let object = manifest.to_json();
            let violations = self.violations(&object);
            assert!(
                violations.is_empty(),
                "{} violates its CRD:\n{}\n{}",
                manifest.object_ref(),
                violations.join("\n"),
                serde_json::to_string_pretty(&object).unwrap_or_default()
            );
        }
    }
}

/// `metadata` is `type: object` in every CRD: check what the API server checks.
fn metadata_violations(object: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let metadata = &object["metadata"];
    let name = metadata["name"].as_str().unwrap_or_default();
    if !manifest::build::is_dns_subdomain(name) {
        out.push(format!("metadata.name {name:?} is not a DNS subdomain"));
    }
    let namespace = metadata["namespace"].as_str().unwrap_or_default();
    if !manifest::build::is_dns_label(namespace) {
        out.push(format!(
            "metadata.namespace {namespace:?} is not a DNS label"
        ));
    }
    if let Some(labels) = metadata["labels"].as_object() {
        for (key, value) in labels {
            let value = value.as_str().unwrap_or("<not a string>");
            let value_ok = value.len() <= 63
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if key.is_empty() || !value_ok {
                out.push(format!("label {key}={value} is invalid"));
            }
        }
    }
    out
}

#[test]
fn the_validator_rejects_what_the_api_server_rejects() {
    let schemas = Schemas::load();
    let good = emit(&state([full("billing")]), None).remove(0).to_json();
    assert!(schemas.violations(&good).is_empty());

    let mut unknown = good.clone();
    unknown["spec"]["syncConfig"]["resyncIntervall"] = json!("60s");
    assert!(!schemas.violations(&unknown).is_empty(), "unknown field");

    let mut missing = good.clone();
    missing["spec"]["managedKubeSecretReferences"][0]
        .as_object_mut()
        .expect("object")
        .remove("secretNamespace");
    assert!(
        !schemas.violations(&missing).is_empty(),
        "missing required field"
    );

    let mut wrong_type = good;
    wrong_type["spec"]["authentication"]["universalAuth"]["secretsScope"]["recursive"] =
        json!("yes");
    assert!(!schemas.violations(&wrong_type).is_empty(), "wrong type");
}

/// Every combination of every option, for both APIs: each emitted object validates.
#[test]
fn every_generated_combination_validates_against_the_crds() {
    let schemas = Schemas::load();
    let mut checked = 0;
    let mut refused = 0;
    for bits in 0u32..(1 << 11) {
        let on = |bit: u32| bits & (1 << bit) != 0;
        let mut builder = sync("combo");
        if on(0) {
            builder = builder.host("https://secrets.example.com");
        }
        if on(1) {
            builder = builder.tls();
        }
        if on(2) {
            builder = builder.resync("5m");
        }
        if on(3) {
            builder = builder.instant(on(4));
        }
        if on(5) {
            builder = builder.path("/apps", true);
        }
        if on(6) {
            builder = builder.namespace("infisical-syncs");
        }
        if on(7) {
            builder = builder.kubernetes_auth(true);
        }
        if on(8) {
            builder = builder.config_map();
        } else if on(4) {
            builder = builder.secret_type("kubernetes.io/tls");
            if !on(6) {
                builder = builder.owner();
            }
        }
        builder = match (on(9), on(10)) {
            (false, false) => builder,
            (true, false) => builder.template(false, &[("URL", "{{ .HOST.Value }}")]),
            (false, true) => builder
                .template(true, &[])
                .label("a", "b")
                .annotation("c", "d"),
            (true, true) => builder.template(true, &[("URL", "{{ .HOST.Value }}")]),
        };
        for api in [OperatorApi::V1alpha1, OperatorApi::V1beta1] {
            let desired = state([builder.clone()]);
            match manifest::manifests(
                &desired,
                &Options {
                    operator_api: Some(api),
                },
            ) {
                Ok(manifests) => {
                    let expected = if api == OperatorApi::V1alpha1 { 1 } else { 3 };
                    assert_eq!(manifests.len(), expected);
                    schemas.assert_valid(&manifests);
                    checked += manifests.len();
                }
                Err(errors) => {
                    // The one combination v1beta1 cannot express.
                    assert!(api == OperatorApi::V1beta1 && on(9) && on(10), "{errors}");
                    refused += 1;
                }
            }
        }
    }
    assert_eq!(refused, 1 << 9);
    // 2048 combinations: 1 object each with v1alpha1, 3 with v1beta1 unless refused.
    assert_eq!(checked, 2048 + 3 * (2048 - 512));
}

// ---------------------------------------------------------------------------------------------
// Snapshots

fn showcase() -> DesiredState {
    state([
        sync("minimal.v2"),
        full("billing"),
        sync("payments-worker")
            .kubernetes_auth(true)
            .namespace("payments")
            .resync("10m")
            .template(false, &[("STRIPE_KEY", "{{ .STRIPE_SECRET_KEY.Value }}")]),
        sync("web-config")
            .config_map()
            .path("/config", false)
            .host("https://secrets.example.com")
            .label("app.kubernetes.io/part-of", "web"),
    ])
}

fn yaml(manifests: &[Manifest]) -> String {
    render::to_yaml_stream(manifests).expect("yaml")
}

#[test]
fn v1alpha1_yaml_is_pinned() {
    let manifests = emit(&showcase(), None);
    Schemas::load().assert_valid(&manifests);
    insta::assert_snapshot!(yaml(&manifests));
}

#[test]
fn v1beta1_yaml_is_pinned() {
    let manifests = emit(&showcase(), Some(OperatorApi::V1beta1));
    Schemas::load().assert_valid(&manifests);
    insta::assert_snapshot!(yaml(&manifests));
}

#[test]
fn the_operator_api_comes_from_the_sync_unless_the_command_line_forces_one() {
    let desired = state([sync("alpha"), sync("beta").api(OperatorApi::V1beta1)]);
    let kinds = |api| {
        emit(&desired, api)
            .iter()
            .map(|m| m.object_ref().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(None),
        [
            "InfisicalConnection platform/infisical-connection-44136fa355",
            "InfisicalAuth platform/infisical-universal-4b0ba93d59",
            "InfisicalSecret platform/alpha",
            "InfisicalStaticSecret platform/beta",
        ]
    );
    assert_eq!(
        kinds(Some(OperatorApi::V1alpha1)),
        [
            "InfisicalSecret platform/alpha",
            "InfisicalSecret platform/beta"
        ]
    );
}

#[test]
fn every_object_carries_the_ownership_labels() {
    for api in [OperatorApi::V1alpha1, OperatorApi::V1beta1] {
        for manifest in emit(&showcase(), Some(api)) {
            let labels = &manifest.object.metadata.labels;
            assert_eq!(labels[manifest::MANAGED_BY_LABEL], "infisical-gitops");
            if manifest.shared {
                // Shared connections and auths list their syncs instead.
                assert!(!labels.contains_key(manifest::SYNC_LABEL));
                assert_eq!(
                    manifest.object.metadata.annotations[manifest::SYNCS_ANNOTATION],
                    manifest.sync.replace(", ", ",")
                );
                continue;
            }
            assert_eq!(labels[manifest::SYNC_LABEL], manifest.sync);
            assert_eq!(
                manifest.object.metadata.annotations[manifest::SOURCE_ANNOTATION],
                format!("syncs/{}.yaml", manifest.sync)
            );
        }
    }
}

#[test]
fn the_written_secret_gets_the_declared_labels_not_the_ownership_labels() {
    // Without explicit target metadata the operator copies the custom resource's labels
    // (ours) onto the Secret; the emitted objects always carry the declared ones.
    for api in [OperatorApi::V1alpha1, OperatorApi::V1beta1] {
        for manifest in emit(&state([sync("plain")]), Some(api)) {
            let object = manifest.to_json();
            let target_metadata = match manifest.kind() {
                Kind::InfisicalSecret => {
                    &object["spec"]["managedKubeSecretReferences"][0]["template"]["metadata"]
                }
                Kind::InfisicalStaticSecret => &object["spec"]["targets"][0]["metadata"],
                _ => continue,
            };
            assert_eq!(target_metadata, &json!({"labels": {}, "annotations": {}}));
        }
    }
}

#[test]
fn problems_are_reported_together_with_the_sync_and_file() {
    let desired = state([
        sync("no-auth").no_auth(),
        sync("Bad_Name"),
        sync("slow").resync("2s").host("secrets.example.com"),
        sync("beta-k8s")
            .api(OperatorApi::V1beta1)
            .kubernetes_auth(false),
        sync("beta-template")
            .api(OperatorApi::V1beta1)
            .template(true, &[("A", "{{ .B.Value }}")]),
        sync("config").config_map().secret_type("Opaque"),
        sync("elsewhere").namespace("ops").owner(),
        sync(&format!("a{}", "-long".repeat(13))),
    ]);
    let errors = manifest::manifests(&desired, &Options::default()).expect_err("invalid");
    insta::assert_snapshot!(errors.to_string());
}

#[test]
fn output_is_deterministic() {
    let a = yaml(&emit(&showcase(), Some(OperatorApi::V1beta1)));
    let b = yaml(&emit(&showcase(), Some(OperatorApi::V1beta1)));
    assert_eq!(a, b);
}

// ---------------------------------------------------------------------------------------------
// --out

fn read_dir_sorted(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read file"),
            )
        })
        .collect()
}

#[test]
fn out_writes_one_file_per_object_and_is_byte_identical_on_rerun() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("manifests");
    let manifests = emit(&showcase(), Some(OperatorApi::V1beta1));
    let first = write_directory(&out, &manifests).expect("first run");
    assert!(
        first.ends_with("12 objects, 12 files written, 0 unchanged, 0 removed"),
        "{first}"
    );
    let files = read_dir_sorted(&out);
    insta::assert_snapshot!(files.keys().cloned().collect::<Vec<_>>().join("\n"));
    for (name, contents) in &files {
        if name != INDEX_FILE {
            assert!(contents.starts_with(FILE_HEADER.as_bytes()), "{name}");
        }
    }

    let second = write_directory(&out, &manifests).expect("second run");
    assert!(
        second.ends_with("12 objects, 0 files written, 12 unchanged, 0 removed"),
        "{second}"
    );
    assert_eq!(read_dir_sorted(&out), files, "byte-identical");
}

#[test]
fn out_removes_its_stale_files_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path();
    std::fs::write(out.join("kustomization.yaml"), "resources: []\n").expect("foreign file");
    std::fs::write(out.join("README.md"), "mine\n").expect("foreign file");
    write_directory(out, &emit(&showcase(), None)).expect("first run");

    // Drop a sync, and pretend someone hand-edited the file of another one (removing our header):
    // the stale generated file goes; the hand-edited one stays but cannot be overwritten.
    let smaller = state([sync("minimal.v2"), full("billing")]);
    let summary = write_directory(out, &emit(&smaller, None)).expect("second run");
    assert!(
        summary.ends_with("2 objects, 0 files written, 2 unchanged, 2 removed"),
        "{summary}"
    );
    let names: Vec<_> = read_dir_sorted(out).into_keys().collect();
    assert_eq!(
        names,
        [
            INDEX_FILE,
            "README.md",
            "kustomization.yaml",
            "platform_infisicalsecret_billing.yaml",
            "platform_infisicalsecret_minimal.v2.yaml",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).expect("read"),
        "mine\n"
    );

    std::fs::write(
        out.join("platform_infisicalsecret_billing.yaml"),
        "# mine now\n",
    )
    .expect("edit");
    let error = write_directory(out, &emit(&smaller, None)).expect_err("foreign file");
    assert!(
        format!("{error}").contains("refusing to overwrite"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("platform_infisicalsecret_billing.yaml")).expect("read"),
        "# mine now\n"
    );
}

#[test]
fn out_never_removes_a_listed_file_that_lost_its_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path();
    write_directory(out, &emit(&state([sync("a"), sync("b")]), None)).expect("first run");
    std::fs::write(
        out.join("platform_infisicalsecret_b.yaml"),
        "kept by hand\n",
    )
    .expect("edit");
    write_directory(out, &emit(&state([sync("a")]), None)).expect("second run");
    assert_eq!(
        std::fs::read_to_string(out.join("platform_infisicalsecret_b.yaml")).expect("still there"),
        "kept by hand\n"
    );
}

#[cfg(unix)]
#[test]
fn out_never_writes_through_a_planted_symbolic_link() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("manifests");
    std::fs::create_dir(&out).expect("out");
    let outside = tempfile::tempdir().expect("tempdir");
    let canary = outside.path().join("canary");
    std::fs::write(&canary, "canary-untouched\n").expect("canary");
    let name = "platform_infisicalsecret_a.yaml";
    let manifests = emit(&state([sync("a")]), None);

    // The temporary file's old name, planted as a link to a file outside: never followed.
    symlink(&canary, out.join(format!(".{name}.tmp"))).expect("symlink");
    write_directory(&out, &manifests).expect("written beside the planted link");
    assert_eq!(
        std::fs::read_to_string(&canary).expect("canary"),
        "canary-untouched\n"
    );
    let written = std::fs::symlink_metadata(out.join(name)).expect("written");
    assert!(
        written.file_type().is_file(),
        "a regular file, not the link"
    );

    // The target itself a link (to the canary, or dangling): refused, nothing written.
    let created = outside.path().join("created.yaml");
    for target in [&canary, &created] {
        std::fs::remove_file(out.join(name)).expect("remove");
        symlink(target, out.join(name)).expect("symlink");
        let error = write_directory(&out, &emit(&state([sync("a"), sync("b")]), None))
            .expect_err("refused");
        let shown = format!("{error}").replace(out.to_str().expect("utf-8"), "[OUT]");
        insta::allow_duplicates! {
            insta::assert_snapshot!(shown, @"refusing to write through `[OUT]/platform_infisicalsecret_a.yaml`: it is a symbolic link; remove the link or choose another output directory");
        }
    }
    assert_eq!(
        std::fs::read_to_string(&canary).expect("canary"),
        "canary-untouched\n"
    );
    assert!(!created.exists(), "a dangling link is not followed");
    assert!(
        !out.join("platform_infisicalsecret_b.yaml").exists(),
        "refused before writing"
    );
}

#[test]
fn stdout_emission_goes_through_the_cli_entry() {
    let args = ManifestsCommand {
        path: PathBuf::from("."),
        out: None,
        operator_api: None,
        apply: false,
        dry_run: false,
        prune: false,
        detailed_exitcode: false,
    };
    let mut stdout = Vec::new();
    infisical_gitops::cli::manifests::emit(&args, &showcase(), &mut stdout).expect("emit");
    let text = String::from_utf8(stdout).expect("utf-8");
    assert_eq!(text, yaml(&emit(&showcase(), None)));
    assert_eq!(
        text.matches("\n---\n").count() + 1,
        4,
        "one document per sync"
    );
}

// ---------------------------------------------------------------------------------------------
// Apply: a fake cluster for the driver's logic

#[derive(Default)]
struct FakeCluster {
    objects: Mutex<BTreeMap<ObjectRef, Value>>,
    fail_apply: BTreeSet<String>,
    calls: Mutex<Vec<String>>,
}

impl FakeCluster {
    fn with(objects: impl IntoIterator<Item = (ObjectRef, Value)>) -> Self {
        Self {
            objects: Mutex::new(objects.into_iter().collect()),
            ..Self::default()
        }
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
}

fn reference(kind: Kind, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

#[async_trait]
impl Cluster for FakeCluster {
    async fn get(&self, object: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("get {object}"));
        Ok(self.objects.lock().expect("lock").get(object).cloned())
    }
    async fn apply(&self, manifest: &Manifest, dry_run: bool) -> Result<Value, ClusterError> {
        let object = manifest.object_ref();
        self.calls
            .lock()
            .expect("lock")
            .push(format!("apply {object} dry_run={dry_run}"));
        if self.fail_apply.contains(&object.name) {
            return Err(ClusterError::Refused {
                operation: "apply",
                object,
                refusal: Box::new(Refusal {
                    code: 422,
                    reason: "Invalid".to_string(),
                    message: "spec.hostAPI: Invalid value".to_string(),
                    fields: vec![],
                    hint: None,
                }),
            });
        }
        let mut applied = manifest.to_json();
        applied["metadata"]["resourceVersion"] = json!("2");
        applied["status"] = json!({"conditions": []});
        if !dry_run {
            self.objects
                .lock()
                .expect("lock")
                .insert(object, applied.clone());
        }
        Ok(applied)
    }
    async fn list_managed(&self, kind: Kind) -> Result<Vec<ObjectRef>, ClusterError> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("list {kind}"));
        Ok(self
            .objects
            .lock()
            .expect("lock")
            .iter()
            .filter(|(r, o)| {
                r.kind == kind
                    && o["metadata"]["labels"][manifest::MANAGED_BY_LABEL] == "infisical-gitops"
            })
            .map(|(r, _)| r.clone())
            .collect())
    }
    async fn delete(&self, object: &ObjectRef, dry_run: bool) -> Result<(), ClusterError> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("delete {object} dry_run={dry_run}"));
        if !dry_run {
            self.objects.lock().expect("lock").remove(object);
        }
        Ok(())
    }
}

fn live(manifest: &Manifest) -> (ObjectRef, Value) {
    let mut object = manifest.to_json();
    object["metadata"]["resourceVersion"] = json!("1");
    object["metadata"]["uid"] = json!("0b7c3d2e");
    object["metadata"]["managedFields"] = json!([{"manager": "infisical-gitops"}]);
    (manifest.object_ref(), object)
}

fn owned_leftover(name: &str) -> (ObjectRef, Value) {
    let object = reference(Kind::InfisicalSecret, "platform", name);
    (
        object,
        json!({"apiVersion": "secrets.infisical.com/v1alpha1", "kind": "InfisicalSecret",
               "metadata": {"name": name, "namespace": "platform",
                            "labels": {manifest::MANAGED_BY_LABEL: "infisical-gitops"}},
               "spec": {}}),
    )
}

fn foreign(name: &str) -> (ObjectRef, Value) {
    let object = reference(Kind::InfisicalSecret, "platform", name);
    (
        object,
        json!({"apiVersion": "secrets.infisical.com/v1alpha1", "kind": "InfisicalSecret",
               "metadata": {"name": name, "namespace": "platform"}, "spec": {}}),
    )
}

#[tokio::test]
async fn dry_run_reports_creates_changes_and_prunes_with_a_diff() {
    let before = emit(&state([sync("unchanged"), sync("changed")]), None);
    let after = emit(
        &state([
            sync("unchanged"),
            sync("changed").resync("60s"),
            sync("new"),
        ]),
        None,
    );
    let fake = FakeCluster::with(
        before
            .iter()
            .map(live)
            .chain([owned_leftover("gone"), foreign("hand-made")]),
    );
    let report = cluster::apply(
        &fake,
        &after,
        ApplyOptions {
            dry_run: true,
            prune: true,
        },
    )
    .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.has_changes());
    insta::assert_snapshot!(report.render());
    // Nothing stored in a dry run.
    assert_eq!(fake.objects.lock().expect("lock").len(), 4);
}

#[tokio::test]
async fn apply_then_reapply_is_unchanged_and_prune_deletes_only_our_leftovers() {
    let manifests = emit(
        &state([sync("a"), sync("b").api(OperatorApi::V1beta1)]),
        None,
    );
    let fake = FakeCluster::with([owned_leftover("gone"), foreign("hand-made")]);
    let options = ApplyOptions {
        dry_run: false,
        prune: true,
    };
    let first = cluster::apply(&fake, &manifests, options).await;
    assert!(first.errors.is_empty());
    assert_eq!(
        outcomes(&first),
        [
            "InfisicalConnection platform/infisical-connection-44136fa355 created",
            "InfisicalAuth platform/infisical-universal-4b0ba93d59 created",
            "InfisicalSecret platform/a created",
            "InfisicalStaticSecret platform/b created",
            "InfisicalSecret platform/gone pruned",
        ]
    );
    assert!(
        first.results.iter().all(|r| r.diff.is_none()),
        "no diffs outside dry runs"
    );
    let remaining: Vec<_> = fake
        .objects
        .lock()
        .expect("lock")
        .keys()
        .map(ToString::to_string)
        .collect();
    assert!(remaining.contains(&"InfisicalSecret platform/hand-made".to_string()));
    assert!(!remaining.contains(&"InfisicalSecret platform/gone".to_string()));

    let second = cluster::apply(&fake, &manifests, options).await;
    assert!(!second.has_changes(), "{}", second.render());
}

#[tokio::test]
async fn a_failed_apply_is_reported_by_object_and_cancels_prune() {
    let manifests = emit(&state([sync("a"), sync("broken")]), None);
    let fake = FakeCluster {
        fail_apply: BTreeSet::from(["broken".to_string()]),
        ..FakeCluster::with([owned_leftover("gone")])
    };
    let report = cluster::apply(
        &fake,
        &manifests,
        ApplyOptions {
            dry_run: false,
            prune: true,
        },
    )
    .await;
    assert_eq!(report.errors.len(), 1);
    assert_eq!(
        report.errors[0].to_string(),
        "kubernetes refused to apply InfisicalSecret platform/broken: 422 Invalid: spec.hostAPI: Invalid value"
    );
    assert_eq!(
        report.prune_skipped.as_deref(),
        Some("some objects could not be applied")
    );
    assert!(!fake.calls().iter().any(|c| c.starts_with("delete")));
}

#[tokio::test]
async fn prune_is_refused_when_nothing_is_declared() {
    let fake = FakeCluster::with([owned_leftover("gone")]);
    let report = cluster::apply(
        &fake,
        &[],
        ApplyOptions {
            dry_run: false,
            prune: true,
        },
    )
    .await;
    assert!(report.prune_skipped.is_some());
    assert_eq!(fake.objects.lock().expect("lock").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Apply: the kube client against kube's mock service

use http::{Request, Response};
use kube::client::Body;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn mock_cluster() -> (KubeCluster, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (
        KubeCluster::new(kube::Client::new(service, "default")),
        handle,
    )
}

fn json_response(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).expect("json")))
        .expect("response")
}

fn not_found() -> Response<Body> {
    json_response(
        404,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "NotFound", "code": 404, "message": "not found"}),
    )
}

struct Seen {
    method: String,
    uri: String,
    content_type: Option<String>,
    body: Option<Value>,
}

async fn next(handle: &mut Handle) -> (Seen, tower_test::mock::SendResponse<Response<Body>>) {
    let (request, send) =
        tokio::time::timeout(std::time::Duration::from_secs(5), handle.next_request())
            .await
            .expect("a request within 5 s")
            .expect("service called");
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let content_type = request
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_string());
    let bytes = request.into_body().collect_bytes().await.expect("body");
    let body = (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).expect("json body"));
    (
        Seen {
            method,
            uri,
            content_type,
            body,
        },
        send,
    )
}

#[tokio::test]
async fn server_side_apply_sends_the_object_with_our_field_manager() {
    let manifests = emit(&state([full("billing")]), None);
    let expected = manifests[0].to_json();
    let (kube_cluster, mut handle) = mock_cluster();
    let server = tokio::spawn(async move {
        let (get, send) = next(&mut handle).await;
        assert_eq!(get.method, "GET");
        assert_eq!(
            get.uri,
            "/apis/secrets.infisical.com/v1alpha1/namespaces/platform/infisicalsecrets/billing"
        );
        send.send_response(not_found());

        let (patch, send) = next(&mut handle).await;
        assert_eq!(patch.method, "PATCH");
        assert_eq!(
            patch.uri,
            "/apis/secrets.infisical.com/v1alpha1/namespaces/platform/infisicalsecrets/billing\
             ?&force=true&fieldManager=infisical-gitops&fieldValidation=Strict"
        );
        assert_eq!(
            patch.content_type.as_deref(),
            Some("application/apply-patch+yaml")
        );
        let body = patch.body.expect("a body");
        assert_eq!(body, expected);
        let mut stored = body.clone();
        stored["metadata"]["resourceVersion"] = json!("1");
        send.send_response(json_response(201, &stored));
    });
    let report = cluster::apply(&kube_cluster, &manifests, ApplyOptions::default()).await;
    server.await.expect("mock server");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.results[0].outcome, ObjectOutcome::Created);
}

#[tokio::test]
async fn dry_run_and_prune_use_the_servers_dry_run_and_our_label() {
    let manifests = emit(&state([sync("a")]), None);
    let (kube_cluster, mut handle) = mock_cluster();
    let server = tokio::spawn(async move {
        let (_, send) = next(&mut handle).await;
        send.send_response(not_found());
        let (patch, send) = next(&mut handle).await;
        assert!(patch.uri.contains("dryRun=All"), "{}", patch.uri);
        send.send_response(json_response(200, &patch.body.expect("body")));

        // One cluster-wide list per kind, by label.
        let mut listed = Vec::new();
        for _ in 0..4 {
            let (list, send) = next(&mut handle).await;
            assert_eq!(list.method, "GET");
            assert!(
                list.uri
                    .ends_with("?&labelSelector=app.kubernetes.io%2Fmanaged-by%3Dinfisical-gitops"),
                "{}",
                list.uri
            );
            listed.push(list.uri.split('?').next().unwrap_or_default().to_string());
            if list.uri.contains("/infisicalsecrets") {
                send.send_response(json_response(
                    200,
                    &json!({"apiVersion": "secrets.infisical.com/v1alpha1", "kind": "InfisicalSecretList",
                            "metadata": {}, "items": [
                        {"apiVersion": "secrets.infisical.com/v1alpha1", "kind": "InfisicalSecret",
                         "metadata": {"name": "a", "namespace": "platform",
                                      "labels": {"app.kubernetes.io/managed-by": "infisical-gitops"}}},
                        {"apiVersion": "secrets.infisical.com/v1alpha1", "kind": "InfisicalSecret",
                         "metadata": {"name": "old", "namespace": "platform",
                                      "labels": {"app.kubernetes.io/managed-by": "infisical-gitops"}}},
                        {"apiVersion": "secrets.infisical.com/v1alpha1", "kind": "InfisicalSecret",
                         "metadata": {"name": "unlabelled", "namespace": "platform"}}
                    ]}),
                ));
            } else {
                // v1beta1 CRDs not installed: a 404 means "none".
                send.send_response(not_found());
            }
        }
        assert_eq!(
            listed,
            [
                "/apis/secrets.infisical.com/v1beta1/infisicalconnections",
                "/apis/secrets.infisical.com/v1beta1/infisicalauths",
                "/apis/secrets.infisical.com/v1beta1/infisicalstaticsecrets",
                "/apis/secrets.infisical.com/v1alpha1/infisicalsecrets",
            ]
        );

        let (delete, send) = next(&mut handle).await;
        assert_eq!(delete.method, "DELETE");
        // kube sends the dry run of a delete in the DeleteOptions body, not the query.
        assert_eq!(
            delete.uri,
            "/apis/secrets.infisical.com/v1alpha1/namespaces/platform/infisicalsecrets/old?"
        );
        assert_eq!(
            delete.body.expect("delete options")["dryRun"],
            json!(["All"])
        );
        send.send_response(json_response(
            200,
            &json!({"kind": "Status", "status": "Success"}),
        ));
    });
    let report = cluster::apply(
        &kube_cluster,
        &manifests,
        ApplyOptions {
            dry_run: true,
            prune: true,
        },
    )
    .await;
    server.await.expect("mock server");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        outcomes(&report),
        [
            "InfisicalSecret platform/a created",
            "InfisicalSecret platform/old pruned"
        ]
    );
}

#[tokio::test]
async fn kubernetes_errors_name_the_object_and_the_field() {
    let manifests = emit(&state([sync("a")]), None);
    let (kube_cluster, mut handle) = mock_cluster();
    let server = tokio::spawn(async move {
        let (_, send) = next(&mut handle).await;
        send.send_response(not_found());
        let (_, send) = next(&mut handle).await;
        send.send_response(json_response(
            422,
            &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 422,
                    "reason": "Invalid",
                    "message": "InfisicalSecret.secrets.infisical.com \"a\" is invalid",
                    "details": {"name": "a", "group": "secrets.infisical.com", "kind": "InfisicalSecret",
                                "causes": [{"reason": "FieldValueInvalid",
                                            "message": "Invalid value: \"2s\": must be at least 5s",
                                            "field": "spec.syncConfig.resyncInterval"}]}}),
        ));
    });
    let report = cluster::apply(&kube_cluster, &manifests, ApplyOptions::default()).await;
    server.await.expect("mock server");
    assert_eq!(
        report.errors[0].to_string(),
        "kubernetes refused to apply InfisicalSecret platform/a: 422 Invalid: \
         InfisicalSecret.secrets.infisical.com \"a\" is invalid; \
         field spec.syncConfig.resyncInterval: Invalid value: \"2s\": must be at least 5s"
    );
}

// ---------------------------------------------------------------------------------------------
// Apply end to end: an in-memory Kubernetes API server over HTTP (PyPI kmock)

struct KmockServer {
    child: std::process::Child,
    url: String,
}

impl Drop for KmockServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_kmock(python: &str, seed: &Value) -> KmockServer {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(python)
        .arg(fixtures().join("kmock/serve.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the kmock server");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{seed}\n").as_bytes())
        .expect("send the seed");
    // Keep stdin open: the server exits when it closes.
    std::mem::forget(stdin);
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server's address");
    assert!(line.starts_with("http://127.0.0.1:"), "kmock said {line:?}");
    KmockServer {
        child,
        url: line.trim().to_string(),
    }
}

async fn kmock_objects(client: &kube::Client) -> BTreeMap<String, Value> {
    let request = Request::get("/__objects")
        .body(Vec::new())
        .expect("request");
    let text = client.request_text(request).await.expect("dump");
    serde_json::from_str(&text).expect("json dump")
}

#[tokio::test]
async fn apply_and_prune_end_to_end_against_kmock() {
    let Some(python) = python() else { return };
    let desired = state([
        sync("billing"),
        sync("web")
            .api(OperatorApi::V1beta1)
            .host("https://secrets.example.com"),
    ]);
    let manifests = emit(&desired, None);
    // kmock cannot create an object with server-side apply (PATCH of a missing object is a 404),
    // so the declared objects are seeded in an older shape; prune candidates beside them.
    let mut seed = Vec::new();
    for manifest in &manifests {
        let mut object = manifest.to_json();
        object["spec"] = json!({"stale": true});
        seed.push(object);
    }
    seed.push(owned_leftover("gone").1);
    seed.push(foreign("hand-made").1);
    let server = start_kmock(&python, &Value::Array(seed));

    let config = kube::Config::new(server.url.parse().expect("url"));
    let client = kube::Client::try_from(config).expect("client");
    let kube_cluster = KubeCluster::new(client.clone());
    let report = cluster::apply(
        &kube_cluster,
        &manifests,
        ApplyOptions {
            dry_run: false,
            prune: true,
        },
    )
    .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    insta::assert_snapshot!(report.render());
    let again = cluster::apply(
        &kube_cluster,
        &manifests,
        ApplyOptions {
            dry_run: false,
            prune: true,
        },
    )
    .await;
    assert!(!again.has_changes(), "{}", again.render());

    let objects = kmock_objects(&client).await;
    let names: Vec<_> = objects.keys().cloned().collect();
    assert_eq!(
        names,
        [
            "infisicalauths/platform/infisical-universal-1ba3fa792c",
            "infisicalconnections/platform/infisical-connection-8a11c29df2",
            "infisicalsecrets/platform/billing",
            "infisicalsecrets/platform/hand-made",
            "infisicalstaticsecrets/platform/web",
        ]
    );
    // kmock merges the patch into the stored object (no field ownership): our fields arrived.
    let billing = &objects["infisicalsecrets/platform/billing"];
    let declared = manifests
        .iter()
        .find(|m| m.kind() == Kind::InfisicalSecret)
        .expect("billing");
    assert_eq!(
        billing["spec"]["authentication"],
        declared.to_json()["spec"]["authentication"]
    );
    assert_eq!(
        billing["metadata"]["labels"][manifest::SYNC_LABEL],
        "billing"
    );
}

// ---------------------------------------------------------------------------------------------
// The example repository, through the library and through the binary

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state")
}

fn example_state() -> DesiredState {
    match infisical_gitops::source::load_desired_state(&example()) {
        Ok((state, _)) => state,
        Err(diagnostics) => panic!("the example is invalid: {diagnostics:#?}"),
    }
}

#[test]
fn the_example_repository_emits_valid_manifests_for_both_apis() {
    let state = example_state();
    assert!(!state.kubernetes_syncs.is_empty());
    let schemas = Schemas::load();
    for (api, name) in [
        (None, "as_declared"),
        (Some(OperatorApi::V1alpha1), "v1alpha1"),
        (Some(OperatorApi::V1beta1), "v1beta1"),
    ] {
        let manifests = emit(&state, api);
        schemas.assert_valid(&manifests);
        insta::assert_snapshot!(format!("example_{name}"), yaml(&manifests));
    }
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
}

/// Runs `command`, asserts that it succeeded (showing its errors), and returns its output.
fn succeeded(command: &mut Command) -> String {
    let output = command.output().expect("run the binary");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn the_binary_prints_the_example_manifests_and_its_out_directory_is_idempotent() {
    let stdout = succeeded(binary().arg("manifests").arg(example()));
    assert_eq!(stdout, yaml(&emit(&example_state(), None)));

    let dir = tempfile::tempdir().expect("tempdir");
    let run = |api: &str| {
        succeeded(
            binary()
                .args(["manifests", "--operator-api", api, "--out"])
                .arg(dir.path())
                .arg(example()),
        );
        read_dir_sorted(dir.path())
    };
    let beta = run("v1beta1");
    assert_eq!(run("v1beta1"), beta, "byte-identical on re-run");
    // Switching the API replaces every file: the v1beta1 ones are removed.
    let alpha = run("v1alpha1");
    assert!(
        alpha
            .keys()
            .all(|name| !name.contains("infisicalstaticsecret"))
    );
    assert_eq!(
        alpha.len(),
        emit(&example_state(), Some(OperatorApi::V1alpha1)).len() + 1
    );
}

#[test]
fn the_binary_refuses_an_invalid_repository_with_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("sync.yaml"),
        "apiVersion: infisical-gitops.io/v1alpha1\nkind: KubernetesSync\nmetadata:\n  name: x\nspec: {}\n",
    )
    .expect("write");
    let output = binary()
        .arg("manifests")
        .arg(dir.path())
        .output()
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sync.yaml"));
}

/// The binary's `--apply` through a kubeconfig, against kmock: kubeconfig loading, the report,
/// `--detailed-exitcode`, and a second run that changes nothing.
#[tokio::test]
async fn the_binary_applies_the_example_through_a_kubeconfig() {
    let Some(python) = python() else { return };
    let manifests = emit(&example_state(), None);
    let seed: Vec<Value> = manifests
        .iter()
        .map(|m| {
            let mut object = m.to_json();
            object["spec"] = json!({});
            object
        })
        .collect();
    let server = start_kmock(&python, &Value::Array(seed));
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kmock\n  cluster:\n    server: {}\n\
             users:\n- name: tester\n  user: {{}}\ncontexts:\n- name: kmock\n  context:\n    cluster: kmock\n    user: tester\n\
             current-context: kmock\n",
            server.url
        ),
    )
    .expect("kubeconfig");
    let run = || {
        binary()
            .args(["manifests", "--apply", "--prune", "--detailed-exitcode"])
            .arg(example())
            .env("KUBECONFIG", &kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .expect("run the binary")
    };
    let first = run();
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert_eq!(
        first.status.code(),
        Some(2),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    insta::assert_snapshot!(stdout);
    let second = run();
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(String::from_utf8_lossy(&second.stdout).contains(", 0 configured,"));
}

/// An https cluster URL builds a TLS client (the ring provider, no aws-lc) and a refused
/// connection is an error naming the object, not a panic.
#[tokio::test]
async fn an_unreachable_https_cluster_is_an_error_naming_the_object() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let config = kube::Config::new(format!("https://127.0.0.1:{port}").parse().expect("url"));
    let client = kube::Client::try_from(config).expect("a TLS client");
    let manifests = emit(&state([sync("a")]), None);
    let report = cluster::apply(
        &KubeCluster::new(client),
        &manifests,
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0]
            .to_string()
            .starts_with("could not read InfisicalSecret platform/a"),
        "{}",
        report.errors[0]
    );
}

#[tokio::test]
async fn a_missing_crd_is_explained() {
    let manifests = emit(&state([sync("a").api(OperatorApi::V1beta1)]), None);
    let (kube_cluster, mut handle) = mock_cluster();
    let server = tokio::spawn(async move {
        for _ in 0..3 {
            let (_, send) = next(&mut handle).await;
            send.send_response(not_found());
            let (_, send) = next(&mut handle).await;
            send.send_response(json_response(
                404,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                        "reason": "NotFound", "message": "the server could not find the requested resource"}),
            ));
        }
    });
    let report = cluster::apply(&kube_cluster, &manifests, ApplyOptions::default()).await;
    server.await.expect("mock server");
    assert_eq!(
        report.errors[0].to_string(),
        "kubernetes refused to apply InfisicalConnection platform/infisical-connection-44136fa355: 404 NotFound: the server could \
         not find the requested resource (is the Infisical operator installed, with the CRD of \
         InfisicalConnection (v1beta1 kinds need operator 0.11 or later)?)"
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile file names

/// Copies the example into `to`, moving the syncs into a directory and file whose names,
/// joined into the relative path, are `kubernetes/x` + `\n---\n` + a `ClusterRoleBinding` to
/// `cluster-admin`.
fn example_with_injecting_sync_path(to: &Path) -> String {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
    copy(&example(), to);
    let directory = "x\n---\napiVersion: rbac.authorization.k8s.io";
    let file = "v1\nkind: ClusterRoleBinding\nmetadata:\n  name: pwned\nroleRef:\n  apiGroup: \
                rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n\
                - kind: User\n  name: attacker\n  apiGroup: rbac.authorization.k8s.io\n#.yaml";
    let hostile = to.join("kubernetes").join(directory);
    std::fs::create_dir_all(&hostile).expect("mkdir");
    std::fs::rename(to.join("kubernetes/syncs.yaml"), hostile.join(file)).expect("move the syncs");
    format!("kubernetes/{directory}/{file}")
}

fn kinds_of(stream: &str) -> Vec<String> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(stream).expect("the output is YAML");
    documents
        .iter()
        .map(|document| document["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn a_file_name_with_newlines_cannot_inject_objects_into_the_stream_or_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repository = dir.path().join("repository");
    let path = example_with_injecting_sync_path(&repository);
    let expected = emit(&example_state(), None);
    let expected_kinds: Vec<String> = expected.iter().map(|m| m.kind().to_string()).collect();

    let stdout = succeeded(binary().arg("manifests").arg(&repository));
    assert_eq!(kinds_of(&stdout), expected_kinds);
    assert!(!stdout.contains("\nkind: ClusterRoleBinding"), "{stdout}");
    // The path is still named, on one line, and the annotation keeps it exactly.
    let comments: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("# KubernetesSync"))
        .collect();
    insta::assert_snapshot!(comments.join("\n"));
    let documents: Vec<Value> = serde_saphyr::from_multiple(&stdout).expect("yaml");
    let annotations: BTreeSet<&str> = documents
        .iter()
        .filter_map(|d| d["metadata"]["annotations"].as_object())
        .flat_map(|a| a.values().filter_map(Value::as_str))
        .collect();
    assert!(annotations.contains(path.as_str()), "{annotations:?}");

    let out = dir.path().join("out");
    succeeded(
        binary()
            .arg("manifests")
            .arg("--out")
            .arg(&out)
            .arg(&repository),
    );
    for entry in std::fs::read_dir(&out).expect("out dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == INDEX_FILE {
            continue;
        }
        let contents = std::fs::read_to_string(entry.path()).expect("read");
        let kinds = kinds_of(&contents);
        assert_eq!(kinds.len(), 1, "{name}: {contents}");
        assert_ne!(kinds[0], "ClusterRoleBinding", "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// v1beta1: shared objects, every auth method, several sources and targets

fn key(name: &str, key: &str) -> CaRefSpec {
    CaRefSpec {
        name: name.to_string(),
        namespace: "platform".to_string(),
        key: key.to_string(),
    }
}

impl SyncBuilder {
    fn beta(self) -> Self {
        self.api(OperatorApi::V1beta1)
    }
    fn with_auth(mut self, auth: SyncAuthSpec) -> Self {
        self.0.spec.auth = Some(auth);
        self
    }
}

/// One sync per auth method of the v1beta1 `InfisicalAuth` CRD.
fn every_auth_method() -> Vec<SyncBuilder> {
    use infisical_gitops::model::document::{
        AzureAuthSpec, GcpIamAuthSpec, IdentityAuthSpec, LdapAuthSpec,
    };
    let identity = || key("infisical-identity", "identityId");
    vec![
        sync("universal").beta(),
        sync("kubernetes").beta().kubernetes_auth(true),
        sync("aws-iam").beta().with_auth(SyncAuthSpec {
            aws_iam_auth: Some(IdentityAuthSpec {
                identity_id_ref: identity(),
            }),
            ..SyncAuthSpec::default()
        }),
        sync("azure").beta().with_auth(SyncAuthSpec {
            azure_auth: Some(AzureAuthSpec {
                identity_id_ref: identity(),
                resource: Some("https://management.azure.com/".to_string()),
            }),
            ..SyncAuthSpec::default()
        }),
        sync("gcp-id-token").beta().with_auth(SyncAuthSpec {
            gcp_id_token_auth: Some(IdentityAuthSpec {
                identity_id_ref: identity(),
            }),
            ..SyncAuthSpec::default()
        }),
        sync("gcp-iam").beta().with_auth(SyncAuthSpec {
            gcp_iam_auth: Some(GcpIamAuthSpec {
                identity_id_ref: identity(),
                service_account_key_file_path: "/etc/gcp/key.json".to_string(),
            }),
            ..SyncAuthSpec::default()
        }),
        sync("ldap").beta().with_auth(SyncAuthSpec {
            ldap_auth: Some(LdapAuthSpec {
                identity_id_ref: identity(),
                username_ref: key("infisical-ldap", "username"),
                password_ref: key("infisical-ldap", "password"),
            }),
            ..SyncAuthSpec::default()
        }),
    ]
}

#[test]
fn every_v1beta1_auth_method_validates_against_the_crd() {
    let manifests = emit(&state(every_auth_method()), None);
    Schemas::load().assert_valid(&manifests);
    let methods: BTreeSet<String> = manifests
        .iter()
        .filter(|m| m.kind() == Kind::InfisicalAuth)
        .map(|m| m.to_json()["spec"]["method"].as_str().unwrap().to_string())
        .collect();
    // The CRD's enum, every value.
    let crd =
        std::fs::read_to_string("tests/fixtures/crds/secrets.infisical.com_infisicalauths.yaml")
            .expect("crd");
    for method in &methods {
        assert!(crd.contains(&format!("- {method}\n")), "{method}");
    }
    assert_eq!(methods.len(), 7);
    let auths: Vec<Manifest> = manifests
        .into_iter()
        .filter(|m| m.kind() == Kind::InfisicalAuth)
        .collect();
    insta::assert_snapshot!(yaml(&auths));
}

#[test]
fn syncs_with_the_same_settings_share_one_connection_and_one_auth() {
    let other_credentials = SyncAuthSpec {
        universal_auth: Some(UniversalAuthSpec {
            credentials_ref: SecretRefSpec {
                name: "other-credentials".to_string(),
                namespace: "platform".to_string(),
            },
        }),
        ..SyncAuthSpec::default()
    };
    let manifests = emit(
        &state([
            sync("a").beta(),
            sync("b").beta(),
            sync("c").beta().with_auth(other_credentials),
            sync("d").beta().namespace("elsewhere"),
        ]),
        None,
    );
    Schemas::load().assert_valid(&manifests);
    let summary: Vec<String> = manifests
        .iter()
        .map(|m| {
            let users = m
                .object
                .metadata
                .annotations
                .get(manifest::SYNCS_ANNOTATION)
                .cloned()
                .unwrap_or_default();
            format!("{} [{users}]", m.object_ref())
        })
        .collect();
    insta::assert_snapshot!(summary.join("\n"));
    // Same settings, same name, whatever else changes.
    let again = emit(&state([sync("z").beta()]), None);
    assert_eq!(
        again[0].object.metadata.name,
        manifests[0].object.metadata.name
    );
    // The static secrets point at the shared objects.
    let a = manifests
        .iter()
        .find(|m| m.sync == "a" && !m.shared)
        .unwrap();
    let auth_name = a.to_json()["spec"]["infisicalAuthRef"]["name"].clone();
    assert!(
        manifests
            .iter()
            .any(|m| m.kind() == Kind::InfisicalAuth && json!(m.object.metadata.name) == auth_name)
    );
}

#[tokio::test]
async fn a_shared_object_is_pruned_only_when_no_sync_uses_it_any_more() {
    let options = ApplyOptions {
        dry_run: false,
        prune: true,
    };
    let both = emit(&state([sync("a").beta(), sync("b").beta()]), None);
    let fake = FakeCluster::default();
    let first = cluster::apply(&fake, &both, options).await;
    assert!(first.errors.is_empty());
    // b goes: its static secret is pruned, the objects a still uses stay.
    let only_a = emit(&state([sync("a").beta()]), None);
    let second = cluster::apply(&fake, &only_a, options).await;
    assert!(second.errors.is_empty());
    let pruned: Vec<String> = outcomes(&second)
        .into_iter()
        .filter(|o| o.ends_with("pruned"))
        .collect();
    assert_eq!(pruned, ["InfisicalStaticSecret platform/b pruned"]);
    // a moves to other credentials: the old auth has no user left and goes; the connection
    // is still used and stays.
    let moved = emit(
        &state([sync("a").beta().with_auth(SyncAuthSpec {
            universal_auth: Some(UniversalAuthSpec {
                credentials_ref: SecretRefSpec {
                    name: "other-credentials".to_string(),
                    namespace: "platform".to_string(),
                },
            }),
            ..SyncAuthSpec::default()
        })]),
        None,
    );
    let third = cluster::apply(&fake, &moved, options).await;
    let pruned: Vec<String> = outcomes(&third)
        .into_iter()
        .filter(|o| o.ends_with("pruned"))
        .collect();
    assert_eq!(pruned.len(), 1, "{pruned:?}");
    assert!(pruned[0].starts_with("InfisicalAuth platform/infisical-universal-"));
}

#[test]
fn several_sources_and_targets_become_one_static_secret() {
    let mut builder = sync("multi").beta();
    let spec = &mut builder.0.spec;
    let first = spec.source.take().expect("source");
    spec.sources = vec![
        first.clone(),
        SyncSourceSpec {
            path: "/shared".to_string().into(),
            tag_slugs: vec!["database".to_string()],
            ..first
        },
    ];
    let target = spec.target.take().expect("target");
    spec.targets = vec![
        target.clone(),
        SyncTargetSpec {
            name: "multi-config".to_string().into(),
            kind: Some(SyncTargetKind::ConfigMap),
            ..target
        },
    ];
    let manifests = emit(&state([builder]), None);
    Schemas::load().assert_valid(&manifests);
    let static_secret = manifests.last().expect("static secret").to_json();
    assert_eq!(
        static_secret["spec"]["sources"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        static_secret["spec"]["sources"][1]["tagSlugs"],
        json!(["database"])
    );
    assert_eq!(
        static_secret["spec"]["targets"].as_array().unwrap().len(),
        2
    );
    assert_eq!(static_secret["spec"]["targets"][1]["kind"], "ConfigMap");
}

#[test]
fn v1alpha1_refuses_what_only_v1beta1_expresses_and_mixed_forms_are_refused() {
    let mut two_sources = sync("two-sources");
    let source = two_sources.0.spec.source.clone().expect("source");
    two_sources.0.spec.source = None;
    two_sources.0.spec.sources = vec![source.clone(), source.clone()];
    let mut tagged = sync("tagged");
    tagged.0.spec.source.as_mut().unwrap().tag_slugs = vec!["db".to_string()];
    let mut mixed = sync("mixed").beta();
    mixed.0.spec.sources = vec![source];
    let mut syncs: Vec<SyncBuilder> = every_auth_method()
        .into_iter()
        .skip(2)
        .map(|s| s.api(OperatorApi::V1alpha1))
        .collect();
    syncs.extend([two_sources, tagged, mixed]);
    let errors = manifest::manifests(&state(syncs), &Options::default()).expect_err("refused");
    insta::assert_snapshot!(errors.to_string());
}

/// Secret imports live in Infisical only: declaring them changes no manifest (the operator reads
/// a folder's imports itself), and the example, which declares one, emits what it emitted.
#[test]
fn imports_emit_no_manifest() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state");
    let with_imports = infisical_gitops::cli::validate::validate_path(&example)
        .state
        .expect("the example is valid");
    assert!(
        !with_imports.imports.is_empty(),
        "the example declares an import"
    );
    let mut without_imports = with_imports.clone();
    without_imports.imports.clear();
    for api in [None, Some(OperatorApi::V1alpha1)] {
        assert_eq!(emit(&with_imports, api), emit(&without_imports, api));
    }
    let emitted = format!("{:?}", emit(&with_imports, None));
    assert!(!emitted.contains("secret-imports") && !emitted.contains("<-"));
}
