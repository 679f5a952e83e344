//! Loads and validates a generated repository of 10,000 secrets in 100 files.
//!
//! Run with `cargo bench --bench validate`. Prints wall time (best and median of several runs)
//! and the process's peak resident memory (`VmHWM` from /proc/self/status, Linux only).
//! Baseline: docs/benchmarks.md.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use infisical_gitops::source::load_desired_state;

const FILES: usize = 100;
const SECRETS_PER_FILE: usize = 100;
const RUNS: usize = 7;

fn generate(root: &Path) -> std::io::Result<()> {
    let mut project = String::from(
        "apiVersion: infisical-gitops.io/v1alpha1\nkind: Project\nmetadata:\n  name: bench-project\nspec:\n  environments:\n    - slug: prod\n  folders:\n",
    );
    for file in 0..FILES {
        let _ = writeln!(project, "    - path: /service-{file:03}");
    }
    std::fs::write(root.join("project.yaml"), project)?;
    let secrets = root.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    for file in 0..FILES {
        let mut text = format!(
            "apiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: service-{file:03}\nspec:\n  project: bench-project\n  environments: [prod]\n  path: /service-{file:03}\n  secrets:\n"
        );
        for secret in 0..SECRETS_PER_FILE {
            let _ = write!(
                text,
                "    - key: SECRET_{secret:04}\n      comment: secret {secret} of service {file}\n      tags: [bench]\n"
            );
            match secret % 4 {
                0 => {
                    let _ = write!(
                        text,
                        "      bitwarden:\n        item: 6b1f0c3e-2a7d-4c59-9e48-{file:04}{secret:08}\n        field: password\n"
                    );
                }
                1 => {
                    let _ = write!(
                        text,
                        "      bitwardenSecretsManager:\n        secret: 9a8b7c6d-5e4f-4a3b-8c2d-{file:04}{secret:08}\n"
                    );
                }
                2 => text
                    .push_str("      generate:\n        length: 48\n        charset: base64url\n"),
                _ => {
                    let _ = write!(
                        text,
                        "      sensitive: false\n      value: host-{secret}.service-{file}.svc.cluster.local\n"
                    );
                }
            }
        }
        std::fs::write(secrets.join(format!("service-{file:03}.yaml")), text)?;
    }
    Ok(())
}

/// CPU time (user + system) of this process, from /proc/self/stat, assuming 100 ticks/s.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run once then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().expect("temporary directory");
    generate(dir.path()).expect("generate the repository");
    let before = peak_memory_kib();
    let runs = if quick { 1 } else { RUNS };
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let cpu_before = cpu_time();
    for _ in 0..runs {
        let start = Instant::now();
        let (state, _warnings) = match load_desired_state(dir.path()) {
            Ok(ok) => ok,
            Err(diagnostics) => panic!("the generated repository is invalid: {diagnostics:?}"),
        };
        times.push(start.elapsed());
        assert_eq!(state.secret_count(), FILES * SECRETS_PER_FILE);
    }
    let cpu_per_run = match (cpu_before, cpu_time()) {
        (Some(before), Some(after)) => {
            format!(
                "{:.0} ms",
                (after - before).as_secs_f64() * 1e3 / runs as f64
            )
        }
        _ => "unavailable".to_string(),
    };
    times.sort();
    let best = times[0];
    let median = times[times.len() / 2];
    println!(
        "validate: {} secrets in {} files: best {:.1} ms, median {:.1} ms over {} runs",
        FILES * SECRETS_PER_FILE,
        FILES,
        best.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        runs
    );
    println!("CPU time (user + system) per run: {cpu_per_run}");
    match (before, peak_memory_kib()) {
        (Some(before), Some(after)) => println!(
            "peak resident memory (VmHWM): {:.1} MiB (before loading: {:.1} MiB)",
            after as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        _ => println!("peak resident memory: unavailable (no /proc/self/status)"),
    }
}
