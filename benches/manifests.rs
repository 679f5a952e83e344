//! Manifests benchmark: emit and render the operator resources of 1,000 KubernetesSyncs, for
//! both operator APIs, and write them with `--out` (first run, then the idempotent re-run).
//!
//! `cargo bench --bench manifests` runs the full size; under `cargo test` (no `--bench`
//! argument) it runs a small smoke size so the harness stays exercised. The baseline figure is in
//! docs/kubernetes.md (Performance).

use std::time::Instant;

use infisical_gitops::cli::manifests::write_directory;
use infisical_gitops::manifest::{self, Options, render};
use infisical_gitops::model::document::{
    KubernetesSyncSpec, OperatorApi, SecretRefSpec, SyncAuthSpec, SyncSourceSpec, SyncTargetSpec,
    SyncTemplateSpec, UniversalAuthSpec,
};
use infisical_gitops::model::{DesiredState, KubernetesSync, Origin, Span};

fn state(syncs: usize) -> DesiredState {
    let mut state = DesiredState::default();
    for i in 0..syncs {
        let name = format!("sync-{i:05}");
        let spec = KubernetesSyncSpec {
            source: Some(SyncSourceSpec {
                project: "applications".to_string().into(),
                environment: "prod".to_string().into(),
                path: format!("/app-{i}").into(),
                recursive: i % 2 == 0,
                ..SyncSourceSpec::default()
            }),
            target: Some(SyncTargetSpec {
                namespace: format!("team-{}", i % 20).into(),
                name: format!("{name}-env").into(),
                labels: [("app.kubernetes.io/name".to_string(), name.clone())].into(),
                template: (i % 3 == 0).then(|| SyncTemplateSpec {
                    include_all_secrets: false,
                    data: [("URL".to_string(), "{{ .HOST.Value }}".to_string())].into(),
                }),
                ..SyncTargetSpec::default()
            }),
            auth: Some(SyncAuthSpec {
                universal_auth: Some(UniversalAuthSpec {
                    credentials_ref: SecretRefSpec {
                        name: "infisical-credentials".to_string(),
                        namespace: "infisical-operator-system".to_string(),
                    },
                }),
                kubernetes_auth: None,
                ..SyncAuthSpec::default()
            }),
            host_api: Some("https://infisical.example.com/api".to_string().into()),
            resync_interval: Some("5m".to_string().into()),
            ..KubernetesSyncSpec::default()
        };
        state.kubernetes_syncs.insert(
            name.clone(),
            KubernetesSync {
                name,
                spec,
                origin: Origin::new("kubernetes/syncs.yaml", Span::new(1, 1)),
            },
        );
    }
    state
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let syncs = if full { 1000 } else { 20 };
    let rounds = if full { 10 } else { 1 };
    let state = state(syncs);
    for api in [OperatorApi::V1alpha1, OperatorApi::V1beta1] {
        let options = Options {
            operator_api: Some(api),
        };
        let mut best = f64::MAX;
        let mut bytes = 0;
        let mut objects = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            let manifests = manifest::manifests(&state, &options).expect("valid");
            let yaml = render::to_yaml_stream(&manifests).expect("yaml");
            best = best.min(started.elapsed().as_secs_f64());
            bytes = yaml.len();
            objects = manifests.len();
        }
        println!(
            "manifests {api:?}: {syncs} syncs -> {objects} objects, {} KiB of YAML, best of {rounds}: {:.1} ms",
            bytes / 1024,
            best * 1000.0
        );

        let manifests = manifest::manifests(&state, &options).expect("valid");
        let dir = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        write_directory(dir.path(), &manifests).expect("first --out");
        let first = started.elapsed().as_secs_f64();
        let started = Instant::now();
        write_directory(dir.path(), &manifests).expect("second --out");
        let second = started.elapsed().as_secs_f64();
        println!(
            "--out {api:?}: {objects} files, first run {:.1} ms, unchanged re-run {:.1} ms",
            first * 1000.0,
            second * 1000.0,
            objects = manifests.len()
        );
    }
}
