//! Requests per second of the Infisical HTTP client against the local dev server on loopback,
//! at concurrency 1 and 16: folder listings (v4 list of 100 secrets) and batch creates (10
//! secrets per request). Client and server share one multi-threaded runtime on this machine,
//! so the figures are for the pair. Baseline: docs/benchmarks.md.
//!
//! Run: `cargo bench --bench client` (release build). `CLIENT_BENCH_REQUESTS` sets the number
//! of requests per measurement (default 2000). Under `cargo test` (no `--bench` argument) it runs
//! 20 requests per measurement, so the harness stays exercised.

#![expect(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use infisical_gitops::dev::{DevServer, DevServerConfig};
use infisical_gitops::infisical::{
    ClientConfig, Credentials, Depth, HttpClient, InfisicalApi, ProjectId, SecretScope, SecretWrite,
};
use infisical_gitops::model::{EnvironmentSlug, FolderPath, SecretValue};

const CLIENT_ID: &str = "bench-client-id";
const CLIENT_SECRET: &str = "bench-client-secret";

#[derive(Clone, Copy, Debug)]
enum Workload {
    List,
    BatchCreate,
}

async fn measure(
    client: &HttpClient,
    project_id: &str,
    workload: Workload,
    concurrency: usize,
    requests: usize,
) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let client = client.clone();
            let next = next.clone();
            let project_id = ProjectId::new(project_id);
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= requests {
                        break;
                    }
                    match workload {
                        Workload::List => {
                            let secrets = client
                                .list_secrets(
                                    &project_id,
                                    &EnvironmentSlug::new("dev").unwrap(),
                                    &FolderPath::new("/listed").unwrap(),
                                    Depth::Direct,
                                )
                                .await
                                .unwrap();
                            assert_eq!(secrets.len(), 100);
                        }
                        Workload::BatchCreate => {
                            let scope = SecretScope {
                                project_id: project_id.clone(),
                                environment: EnvironmentSlug::new("dev").unwrap(),
                                path: FolderPath::new("/created").unwrap(),
                            };
                            let batch: Vec<SecretWrite> = (0..10)
                                .map(|i| SecretWrite {
                                    key: format!("C{concurrency}_W{worker}_N{n}_{i}"),
                                    value: Some(SecretValue::new(format!("value-{n}-{i}"))),
                                    comment: None,
                                    tag_ids: None,
                                    metadata: Some(vec![(
                                        "managed-by".into(),
                                        "infisical-gitops".into(),
                                    )]),
                                })
                                .collect();
                            client.create_secrets(&scope, &batch).await.unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

fn main() {
    let requests: usize = std::env::var("CLIENT_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|arg| arg == "--bench") {
            2000
        } else {
            20
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = DevServer::start(DevServerConfig {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            ..DevServerConfig::default()
        })
        .await
        .unwrap();
        let project_id = server.seed_project("Bench", "bench").unwrap();
        let values: Vec<(String, String)> = (0..100)
            .map(|i| (format!("KEY_{i:03}"), format!("value-{i}")))
            .collect();
        server
            .seed_secrets(
                &project_id,
                "dev",
                "/listed",
                values.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .unwrap();
        server.seed_folder(&project_id, "dev", "/created").unwrap();

        println!("infisical client against the dev server on loopback, {requests} requests each");
        println!(
            "{:<34} {:>11} {:>10} {:>12}",
            "workload", "concurrency", "seconds", "requests/s"
        );
        for workload in [Workload::List, Workload::BatchCreate] {
            for concurrency in [1, 16] {
                let mut config = ClientConfig::new(
                    server.url(),
                    Credentials::universal_auth(CLIENT_ID, CLIENT_SECRET),
                );
                config.max_concurrent_requests = concurrency;
                let client = HttpClient::new(config).unwrap();
                client.authenticate().await.unwrap();
                // warm-up: connections and caches
                measure(&client, &project_id, Workload::List, concurrency, 50).await;
                let elapsed = measure(&client, &project_id, workload, concurrency, requests).await;
                let label = match workload {
                    Workload::List => "list (v4, 100 secrets)",
                    Workload::BatchCreate => "batch create (10 secrets/request)",
                };
                println!(
                    "{label:<34} {concurrency:>11} {:>10.2} {:>12.0}",
                    elapsed.as_secs_f64(),
                    requests as f64 / elapsed.as_secs_f64()
                );
            }
        }
        println!("secrets held by the server: {}", server.secret_count());
        server.shutdown().await;
    });
}
