//! The daemon's adapter metrics: Infisical requests by method, route template and status
//! (recorded by the HTTP client against the dev server), and Bitwarden lookups by source and
//! result (recorded by the resolver). Labels never carry ids, names or values.

use std::sync::Arc;
use std::time::Duration;

use infisical_gitops::daemon::{AdapterMetrics, Daemon, DaemonConfig, RunResult, Trigger};
use infisical_gitops::dev::{DevServer, DevServerConfig};
use infisical_gitops::infisical::{
    ClientConfig, Credentials, HttpClient, RequestObserver, RetryPolicy,
};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::bitwarden::{BitwardenResolver, ExportVault, PasswordManager};
use infisical_gitops::resolve::{LookupObserver, SourceResolver};

use crate::daemon::write_repo;

/// In the sample export; its username is this canary.
const FOUND_ITEM: &str = "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01";
const CANARY: &str = "fake-postgres-user";
const MISSING_ITEM: &str = "00000000-0000-4000-8000-00000000dead";

fn write_vault_set(dir: &std::path::Path) {
    std::fs::write(
        dir.join("secrets/vault.yaml"),
        format!(
            "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata:
  name: vault
spec:
  project: demo-app
  environments: [prod]
  path: /
  secrets:
    - key: DB_USER
      bitwarden:
        item: {FOUND_ITEM}
        field: username
    - key: DB_USER_AGAIN
      bitwarden:
        item: {FOUND_ITEM}
        field: username
    - key: GONE
      bitwarden:
        item: {MISSING_ITEM}
        field: password
"
        ),
    )
    .unwrap();
}

/// The new families' lines, durations dropped (bucket placement and sums vary with timing;
/// the per-series `_count` stays).
fn adapter_lines(metrics: &str) -> String {
    metrics
        .lines()
        .filter(|line| {
            [
                "infisical_gitops_infisical_",
                "infisical_gitops_bitwarden_",
                "# HELP infisical_gitops_infisical_",
                "# TYPE infisical_gitops_infisical_",
                "# HELP infisical_gitops_bitwarden_",
                "# TYPE infisical_gitops_bitwarden_",
            ]
            .iter()
            .any(|prefix| line.starts_with(prefix))
        })
        .filter(|line| !line.contains("_bucket{") && !line.contains("_sum{"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_infisical_requests_and_bitwarden_lookups() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    write_repo(&dir, "info", "correct");
    write_vault_set(&dir);

    let metrics = Arc::new(AdapterMetrics::default());
    let config = DevServerConfig::default();
    let credentials = Credentials::universal_auth(&config.client_id, &config.client_secret);
    let server = DevServer::start(config).await.unwrap();
    let mut client_config = ClientConfig::new(server.url(), credentials);
    client_config.retry = RetryPolicy::none();
    let client = HttpClient::with_observer(
        client_config,
        Some(metrics.clone() as Arc<dyn RequestObserver>),
    )
    .unwrap();
    let vault = ExportVault::parse(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bitwarden-export.json"),
        )
        .unwrap(),
        "examples/bitwarden-export.json",
    )
    .unwrap();
    let bitwarden = BitwardenResolver::new(PasswordManager::Export(Arc::new(vault)), None)
        .with_observer(Some(metrics.clone() as Arc<dyn LookupObserver>));
    let reconciler = Reconciler::new(
        Arc::new(client),
        Arc::new(SourceResolver::new().with_bitwarden(Arc::new(bitwarden))),
    );
    let (mut daemon, state) = Daemon::with_metrics(
        reconciler,
        Arc::new(infisical_gitops::source::LocalDirectory(dir.clone())),
        DaemonConfig {
            interval: Duration::from_secs(3600),
            drift_interval: Duration::from_secs(3600),
            ..DaemonConfig::default()
        },
        metrics,
    );

    // The first run creates the project and the resolvable secrets; the second (a drift
    // check) reads everything again: Bitwarden too, since the resolver forgets its values
    // after each reconcile.
    let first = daemon.run_once(Trigger::Startup).await;
    let second = daemon.run_once(Trigger::Drift).await;
    let record = state.last().unwrap();
    // The missing item leaves one secret unresolved: neither run is a success.
    assert_eq!(
        (first, second),
        (RunResult::Failed, RunResult::Failed),
        "{:?}",
        state.status()
    );
    assert_eq!(
        record.outcome,
        infisical_gitops::daemon::ReconcileOutcome::Unresolved
    );
    assert_eq!(record.unresolved, 1, "{record:?}");

    let text = state.metrics();
    for forbidden in [
        CANARY,
        FOUND_ITEM,
        MISSING_ITEM,
        "demo-app",
        "LOG_LEVEL",
        "DB_USER",
    ] {
        assert!(!text.contains(forbidden), "{forbidden} in metrics:\n{text}");
    }
    // Every request the server saw is counted once, under its route template.
    let mut counted = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("infisical_gitops_infisical_requests_total{"))
    {
        let label = |name: &str| {
            let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            line[start..].split('"').next().unwrap().to_string()
        };
        let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        let route = label("route");
        for segment in route.trim_start_matches('/').split('/') {
            assert!(
                segment.starts_with('{')
                    || segment
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{route}"
            );
        }
        *counted
            .entry(format!("{} {}", label("method"), route))
            .or_insert(0) += n;
    }
    let served = server.request_counts();
    assert_eq!(
        counted.values().sum::<u64>(),
        served.values().sum::<u64>(),
        "counted {counted:#?}\nserved {served:#?}"
    );
    insta::assert_snapshot!("daemon_adapter_metrics", adapter_lines(&text));
    server.shutdown().await;
}
