//! Plan/apply benchmark against the dev server (a separate process on loopback):
//! 50 projects × 3 environments × 20 folders × 10 secrets = 30,000 secrets.
//!
//! Reports:
//! - create from empty: wall time and write calls, against the bound
//!   `folders + Σ ceil(secrets per folder / 100)` (plus project and environment creates), and the
//!   calls a one-request-per-secret client (the Terraform provider) would make, as a ratio;
//! - no-op plan with the real binary (`infisical-gitops plan --detailed-exitcode`, YAML loading
//!   and validation included): wall time, peak memory (VmHWM of the plan process), and listing
//!   calls against the bound `projects + 2 × project-environments`;
//! - the same no-op observe + plan in process (library only).
//!
//! `cargo bench --bench plan` runs the full size; under `cargo test` it runs a smoke size.
//! Baseline figures live in docs/benchmarks.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use infisical_gitops::infisical::{ClientConfig, Credentials, HttpClient};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::source::load_desired_state;

#[expect(dead_code)]
#[path = "support/server_process.rs"]
mod server_process;
use server_process::ServerProcess;

const CLIENT_ID: &str = "dev-client-id";
const CLIENT_SECRET: &str = "dev-client-secret";
const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

struct Size {
    projects: usize,
    folders: usize,
    secrets: usize,
}

const FULL: Size = Size {
    projects: 50,
    folders: 20,
    secrets: 10,
};
const SMOKE: Size = Size {
    projects: 2,
    folders: 3,
    secrets: 5,
};

fn write_repository(root: &Path, size: &Size) {
    std::fs::create_dir_all(root).expect("repository dir");
    for p in 0..size.projects {
        let project = format!("bench-project-{p:02}");
        let mut text = format!(
            "apiVersion: infisical-gitops.io/v1alpha1\nkind: Project\nmetadata:\n  name: {project}\nspec:\n  environments:\n"
        );
        for environment in ENVIRONMENTS {
            let _ = writeln!(text, "    - slug: {environment}");
        }
        text.push_str("  folders:\n");
        for f in 0..size.folders {
            let _ = writeln!(text, "    - path: /folder-{f:02}");
        }
        for f in 0..size.folders {
            let _ = write!(
                text,
                "---\napiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: {project}-folder-{f:02}\nspec:\n  project: {project}\n  environments: [dev, staging, prod]\n  path: /folder-{f:02}\n  secrets:\n"
            );
            for s in 0..size.secrets {
                let _ = write!(
                    text,
                    "    - key: KEY_{s:02}\n      sensitive: false\n      value: value-{p}-{f}-{s}\n"
                );
            }
        }
        std::fs::write(root.join(format!("{project}.yaml")), text).expect("write");
    }
}

async fn counts(http: &reqwest::Client, url: &str) -> BTreeMap<String, u64> {
    http.get(format!("{url}/__dev/requests"))
        .send()
        .await
        .expect("counts")
        .json()
        .await
        .expect("counts json")
}

async fn reset(http: &reqwest::Client, url: &str) {
    http.delete(format!("{url}/__dev/requests"))
        .send()
        .await
        .expect("reset");
}

fn sum(counts: &BTreeMap<String, u64>, filter: impl Fn(&str) -> bool) -> u64 {
    counts
        .iter()
        .filter(|(route, _)| filter(route))
        .map(|(_, n)| n)
        .sum()
}

fn is_write(route: &str) -> bool {
    (route.starts_with("POST") || route.starts_with("PATCH") || route.starts_with("DELETE"))
        && !route.contains("/auth/")
}

/// Runs the binary's no-op plan; returns (wall, peak KiB, exit code).
fn binary_plan(url: &str, repository: &Path) -> (Duration, u64, i32) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(["plan", "--detailed-exitcode"])
        .arg(repository)
        .env("INFISICAL_API_URL", url)
        .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", CLIENT_ID)
        .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", CLIENT_SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("plan starts");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            peak = peak.max(hwm);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (started.elapsed(), peak, status.code().unwrap_or(-1))
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

#[expect(clippy::cast_precision_loss, clippy::print_stdout)]
async fn run(size: &Size) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = ServerProcess::start();
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let repository = dir.path().join("repository");
    write_repository(&repository, size);

    let (desired, _) = load_desired_state(&repository).expect("valid repository");
    let project_environments = (size.projects * ENVIRONMENTS.len()) as u64;
    let folders = project_environments * size.folders as u64;
    let secrets = desired.secret_count() as u64;
    let batches_per_folder = size.secrets.div_ceil(100) as u64;
    let client = HttpClient::new(ClientConfig::new(
        server.url.clone(),
        Credentials::universal_auth(CLIENT_ID, CLIENT_SECRET),
    ))
    .expect("client");
    let reconciler = Reconciler::new(Arc::new(client), Arc::new(SourceResolver::new()));

    // Create from empty.
    reset(&http, &server.url).await;
    let started = Instant::now();
    let (run, report) = reconciler
        .reconcile(desired.clone())
        .await
        .expect("reconcile");
    let create_wall = started.elapsed();
    assert!(report.is_success(), "{}", report.summary_line());
    assert_eq!(
        run.plan.summary().add as u64,
        size.projects as u64 + project_environments + folders + secrets
    );
    let created = counts(&http, &server.url).await;
    let writes = sum(&created, is_write);
    let structure = size.projects as u64 + project_environments;
    let bound = folders + folders * batches_per_folder;
    let per_secret = structure + folders + secrets;

    // No-op plan, with the binary.
    reset(&http, &server.url).await;
    let (binary_wall, peak_kib, code) = binary_plan(&server.url, &repository);
    assert_eq!(code, 0, "the no-op plan reports no changes");
    let planned = counts(&http, &server.url).await;
    let listings = sum(&planned, |r| r.starts_with("GET") && !r.contains("/auth/"));
    let listing_bound = size.projects as u64 + 2 * project_environments;

    // No-op observe + plan, in process.
    let started = Instant::now();
    let again = reconciler.plan(desired).await.expect("plan");
    let library_wall = started.elapsed();
    assert!(again.plan.is_empty());

    println!(
        "plan benchmark: {} projects × 3 environments × {} folders × {} secrets = {secrets} secrets",
        size.projects, size.folders, size.secrets
    );
    println!("create from empty: {:.2} s wall", create_wall.as_secs_f64());
    println!(
        "  write calls: {writes} (structure {structure} + folders and batches {}; bound folders + Σ ceil(secrets/100) = {bound})",
        writes - structure
    );
    println!(
        "  one request per secret would make {per_secret} calls: {:.1}× more",
        per_secret as f64 / writes as f64
    );
    println!(
        "no-op plan (binary, YAML to rendered plan): {:.2} s wall, {:.0} MiB peak",
        binary_wall.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    println!(
        "  read calls: {listings} (bound projects + 2 × project-environments = {listing_bound})"
    );
    println!("  calls by route: {planned:?}");
    println!(
        "no-op observe + plan (library): {:.2} s wall",
        library_wall.as_secs_f64()
    );
    assert!(writes - structure <= bound, "write calls above the bound");
    assert!(listings <= listing_bound, "listing calls above the bound");
}
