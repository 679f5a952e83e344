//! Dev-server benchmark: peak memory (VmHWM) of the server process holding 100,000 secrets, and
//! requests per second of raw reqwest calls against it on loopback at concurrency 1 and 16.
//!
//! `cargo bench --bench dev_server` runs the full size; under `cargo test` (no `--bench`
//! argument) it runs a small smoke size so the harness stays exercised. Baseline figures live in
//! docs/benchmarks.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/server_process.rs"]
mod server_process;
use server_process::ServerProcess;

struct Size {
    folders: usize,
    secrets_per_folder: usize,
    requests: usize,
}

const FULL: Size = Size {
    folders: 100,
    secrets_per_folder: 1000,
    requests: 20_000,
};
const SMOKE: Size = Size {
    folders: 2,
    secrets_per_folder: 50,
    requests: 200,
};

async fn call(client: &reqwest::Client, request: reqwest::RequestBuilder) -> Value {
    let _ = client;
    let response = request.send().await.expect("request");
    assert!(
        response.status().is_success(),
        "status {}",
        response.status()
    );
    response.json().await.expect("json")
}

/// Runs `total` requests made by `make` with `concurrency` workers; returns requests/s.
async fn throughput<F>(concurrency: usize, total: usize, make: F) -> f64
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let make = make.clone();
        workers.push(tokio::spawn(async move {
            let mut index = worker;
            while index < total {
                let response = make(index).send().await.expect("request");
                assert!(
                    response.status().is_success(),
                    "status {}",
                    response.status()
                );
                let _ = response.bytes().await.expect("body");
                index += concurrency;
            }
        }));
    }
    for worker in workers {
        worker.await.expect("worker");
    }
    #[expect(clippy::cast_precision_loss)]
    let rate = total as f64 / started.elapsed().as_secs_f64();
    rate
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let size = if full { FULL } else { SMOKE };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(&size));
}

async fn run(size: &Size) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = ServerProcess::start();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let (idle_hwm, _) = server.memory_kib();
    let url = server.url.clone();
    let login = call(
        &client,
        client
            .post(format!("{url}/api/v1/auth/universal-auth/login"))
            .json(&json!({ "clientId": "dev-client-id", "clientSecret": "dev-client-secret" })),
    )
    .await;
    let token = login["accessToken"].as_str().expect("token").to_owned();
    let project = call(
        &client,
        client
            .post(format!("{url}/api/v1/projects"))
            .bearer_auth(&token)
            .json(&json!({ "projectName": "bench", "slug": "bench" })),
    )
    .await;
    let project_id = project["project"]["id"].as_str().expect("id").to_owned();

    let seeding = Instant::now();
    for folder in 0..size.folders {
        call(
            &client,
            client.post(format!("{url}/api/v2/folders")).bearer_auth(&token).json(&json!({
                "projectId": project_id, "environment": "prod", "path": "/apps", "name": format!("svc-{folder:03}")
            })),
        )
        .await;
        let secrets: Vec<Value> = (0..size.secrets_per_folder)
            .map(|index| {
                json!({
                    "secretKey": format!("SECRET_{index:05}"),
                    "secretValue": format!("value-{folder:03}-{index:05}-0123456789abcdef"),
                    "secretComment": "managed by infisical-gitops",
                    "secretMetadata": [{ "key": "managed-by", "value": "infisical-gitops" }],
                })
            })
            .collect();
        call(
            &client,
            client
                .post(format!("{url}/api/v4/secrets/batch"))
                .bearer_auth(&token)
                .json(&json!({
                    "projectId": project_id, "environment": "prod",
                    "secretPath": format!("/apps/svc-{folder:03}"), "secrets": secrets,
                })),
        )
        .await;
    }
    let seeded_in = seeding.elapsed();
    let total_secrets = size.folders * size.secrets_per_folder;
    let (seeded_hwm, seeded_rss) = server.memory_kib();

    let listing = Instant::now();
    let all = call(
        &client,
        client
            .get(format!("{url}/api/v4/secrets"))
            .bearer_auth(&token)
            .query(&[
                ("projectId", project_id.as_str()),
                ("environment", "prod"),
                ("secretPath", "/"),
                ("recursive", "true"),
            ]),
    )
    .await;
    let listed_in = listing.elapsed();
    assert_eq!(all["secrets"].as_array().map(Vec::len), Some(total_secrets));
    drop(all);
    let (held_hwm, held_rss) = server.memory_kib();

    let mut rows = Vec::new();
    for concurrency in [1, 16] {
        let (c, u, t, p) = (
            client.clone(),
            url.clone(),
            token.clone(),
            project_id.clone(),
        );
        let per_folder = size.secrets_per_folder;
        let folders = size.folders;
        let rate = throughput(concurrency, size.requests, move |index| {
            c.get(format!(
                "{u}/api/v4/secrets/SECRET_{:05}",
                index % per_folder
            ))
            .bearer_auth(&t)
            .query(&[
                ("projectId", p.as_str()),
                ("environment", "prod"),
                (
                    "secretPath",
                    &format!("/apps/svc-{:03}", (index / per_folder) % folders),
                ),
            ])
        })
        .await;
        rows.push(("GET one secret (v4)", concurrency, rate));
        let (c, u, t, p) = (
            client.clone(),
            url.clone(),
            token.clone(),
            project_id.clone(),
        );
        let rate = throughput(concurrency, size.requests / 4, move |index| {
            c.patch(format!(
                "{u}/api/v4/secrets/SECRET_{:05}",
                index % per_folder
            ))
            .bearer_auth(&t)
            .json(&json!({
                "projectId": p, "environment": "prod",
                "secretPath": format!("/apps/svc-{:03}", (index / per_folder) % folders),
                "secretValue": format!("updated-{index}"),
            }))
        })
        .await;
        rows.push(("PATCH one secret (v4)", concurrency, rate));
        let (c, u, t, p) = (
            client.clone(),
            url.clone(),
            token.clone(),
            project_id.clone(),
        );
        let rate = throughput(concurrency, size.requests / 10, move |index| {
            c.get(format!("{u}/api/v4/secrets"))
                .bearer_auth(&t)
                .query(&[
                    ("projectId", p.as_str()),
                    ("environment", "prod"),
                    ("secretPath", &format!("/apps/svc-{:03}", index % folders)),
                ])
        })
        .await;
        rows.push(("GET list of one folder", concurrency, rate));
    }
    let (final_hwm, _) = server.memory_kib();

    println!(
        "dev-server benchmark ({total_secrets} secrets in {} folders)",
        size.folders
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| VmHWM idle | {:.1} MiB |", kib_to_mib(idle_hwm));
    println!(
        "| VmHWM after seeding {total_secrets} secrets | {:.1} MiB |",
        kib_to_mib(seeded_hwm)
    );
    println!(
        "| VmRSS after seeding | {:.1} MiB |",
        kib_to_mib(seeded_rss)
    );
    println!(
        "| VmHWM after one recursive listing of all of them | {:.1} MiB |",
        kib_to_mib(held_hwm)
    );
    println!(
        "| VmRSS after that listing | {:.1} MiB |",
        kib_to_mib(held_rss)
    );
    println!(
        "| VmHWM at the end of the run | {:.1} MiB |",
        kib_to_mib(final_hwm)
    );
    println!(
        "| seeding through batch create ({} calls) | {:.2} s |",
        size.folders,
        seeded_in.as_secs_f64()
    );
    println!(
        "| one recursive listing of all {total_secrets} | {:.2} s |",
        listed_in.as_secs_f64()
    );
    println!();
    println!("| requests (loopback, keep-alive) | concurrency | requests/s |");
    println!("|---|---|---|");
    for (label, concurrency, rate) in rows {
        println!("| {label} | {concurrency} | {rate:.0} |");
    }
}

#[expect(clippy::cast_precision_loss)]
fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
