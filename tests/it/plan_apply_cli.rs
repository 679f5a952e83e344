//! The `plan` and `apply` binaries on the embedded dev server (`--dev`): exit codes, formats,
//! saved plans, confirmation, and a leak scan of everything they write.

use std::path::{Path, PathBuf};
use std::process::Command;

use infisical_gitops::plan::render::json;

const CANARY: &str = "canary-literal-3f9d1c7e5a";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state")
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"));
    command
        .args(args)
        .env_remove("INFISICAL_API_URL")
        .env_remove("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID")
        .env_remove("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET")
        .env_remove("INFISICAL_TOKEN")
        .env_remove("BWS_ACCESS_TOKEN")
        .env_remove("INFISICAL_GITOPS_BITWARDEN_EXPORT")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = command.output().expect("binary runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[test]
fn apply_dev_on_the_example_converges_in_one_command() {
    let out = run(
        &[
            "apply",
            "--dev",
            "--auto-approve",
            example().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(last_lines(&out.stdout, 6), @r"
    Plan: 57 to add, 0 to change, 0 to destroy.

    Apply complete: 57 done, 0 failed, 0 pending approval, 0 skipped.

    Planning again against the result:
    No changes. Infisical matches the repository.
    ");
}

#[test]
fn plan_exit_codes_formats_and_saved_plans() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dev-state.json");
    let planfile = dir.path().join("plan.json");
    let example = example();
    let (state, planfile, example) = (
        state.to_str().unwrap(),
        planfile.to_str().unwrap(),
        example.to_str().unwrap(),
    );
    let dev = ["--dev", "--dev-state", state];

    let without_detail = run(&[&["plan", example][..], &dev].concat(), &[]);
    assert_eq!(without_detail.code, 0, "{}", without_detail.stderr);

    let plan = run(
        &[
            &["plan", example, "--detailed-exitcode", "--out", planfile][..],
            &dev,
        ]
        .concat(),
        &[],
    );
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    let saved = json::parse(&std::fs::read_to_string(planfile).unwrap()).expect("plan file");
    assert_eq!(saved.summary().add, 57);

    let json_out = run(
        &[&["plan", example, "--format", "json"][..], &dev].concat(),
        &[],
    );
    let document: serde_json::Value = serde_json::from_str(&json_out.stdout).unwrap();
    assert_eq!(document["formatVersion"], 1);
    assert_eq!(document["summary"]["add"], 57);

    let markdown = run(
        &[&["plan", example, "--format", "markdown"][..], &dev].concat(),
        &[],
    );
    assert!(
        markdown
            .stdout
            .starts_with("### infisical-gitops plan\n\n**Plan: 57 to add")
    );

    // Without a terminal, apply needs --auto-approve.
    let refused = run(&[&["apply", example][..], &dev].concat(), &[]);
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("refusing to apply without --auto-approve")
    );

    let applied = run(&[&["apply", planfile][..], &dev].concat(), &[]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(applied.stdout.contains("Apply complete: 57 done"));

    let after = run(
        &[&["plan", example, "--detailed-exitcode"][..], &dev].concat(),
        &[],
    );
    assert_eq!(after.code, 0);
    insta::assert_snapshot!(after.stdout, @"No changes. Infisical matches the repository.");

    // The saved plan was made before the apply: Infisical changed since.
    let stale = run(&[&["apply", planfile][..], &dev].concat(), &[]);
    assert_eq!(stale.code, 1);
    assert!(
        stale
            .stderr
            .contains("Infisical changed since the plan was made"),
        "{}",
        stale.stderr
    );
}

#[test]
fn plan_without_credentials_is_an_error() {
    let out = run(&["plan", example().to_str().unwrap()], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no infisical credentials"),
        "{}",
        out.stderr
    );
}

fn write_repository(root: &Path) {
    std::fs::create_dir_all(root.join("projects")).unwrap();
    std::fs::write(
        root.join("projects/leak-check.yaml"),
        "apiVersion: infisical-gitops.io/v1alpha1
kind: Project
metadata:
  name: leak-check
spec:
  environments:
    - slug: prod
  folders:
    - path: /app
---
apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata:
  name: leak-check-app
spec:
  project: leak-check
  environments: [prod]
  path: /app
  secrets:
    - key: CANARY
      sensitive: false
      value: canary-literal-3f9d1c7e5a
    - key: GENERATED
      generate:
        length: 40
    - key: FROM_BITWARDEN
      bitwarden:
        item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01
",
    )
    .unwrap();
}

/// Every secret value the dev server holds, from its state file.
fn stored_values(state: &Path) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(secrets) = map.get("secrets").and_then(|s| s.as_object()) {
                    for secret in secrets.values() {
                        if let Some(v) = secret.get("value").and_then(|v| v.as_str()) {
                            out.push(v.to_string());
                        }
                    }
                }
                map.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    let mut out = Vec::new();
    walk(&document, &mut out);
    out
}

#[test]
fn no_value_reaches_stdout_stderr_logs_plans_or_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let repository = dir.path().join("repository");
    write_repository(&repository);
    let state = dir.path().join("dev-state.json");
    let planfile = dir.path().join("plan.json");
    let (repository, state_arg, planfile_arg) = (
        repository.to_str().unwrap(),
        state.to_str().unwrap(),
        planfile.to_str().unwrap(),
    );
    let dev = ["--dev", "--dev-state", state_arg];
    let verbose = [("INFISICAL_GITOPS_LOG", "trace")];
    let mut outputs = Vec::new();
    for args in [
        &[&["plan", repository, "--out", planfile_arg][..], &dev].concat(),
        &[&["plan", repository, "--format", "json"][..], &dev].concat(),
        &[&["plan", repository, "--format", "markdown"][..], &dev].concat(),
        &[&["apply", planfile_arg][..], &dev].concat(),
        &[
            &[
                "--log-format",
                "json",
                "apply",
                repository,
                "--auto-approve",
            ][..],
            &dev,
        ]
        .concat(),
        &[&["plan", repository, "--detailed-exitcode"][..], &dev].concat(),
    ] {
        let out = run(args, &verbose);
        assert!(out.code == 0 || out.code == 2, "{args:?}: {}", out.stderr);
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    outputs.push(std::fs::read_to_string(&planfile).unwrap());
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    for entry in std::fs::read_dir(snapshots).unwrap() {
        outputs.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let values = stored_values(&state);
    assert_eq!(values.len(), 3, "the three secrets were written");
    assert!(values.iter().any(|v| v == CANARY));
    // `--dev` reads Bitwarden references from the bundled sample export.
    assert!(
        values
            .iter()
            .any(|v| v == "fake-postgres-password-do-not-use")
    );
    // A `sensitive: false` literal is configuration already in Git: plans show it. Every
    // other value (generated, from Bitwarden) never appears anywhere.
    assert!(
        outputs[0].contains(&format!("+ value  = \"{CANARY}\"")),
        "{}",
        outputs[0]
    );
    for value in values.iter().filter(|v| *v != CANARY) {
        for output in &outputs {
            assert!(!output.contains(value.as_str()), "a secret value leaked");
        }
    }
    // And the logs did have something to say.
    assert!(outputs.iter().any(|o| o.contains("applied")));
}

// ---------------------------------------------------------------------------------------------
// Unresolved values: a locked vault never looks like success.

/// A dev server and a locked `bw serve` double on 127.0.0.1, and the binary pointed at both
/// (no `--dev`: the real resolver reads `bw serve`; no Secrets Manager token).
struct LockedVault {
    server: infisical_gitops::dev::DevServer,
    double: infisical_gitops::resolve::bitwarden::double::BwServeDouble,
    client_id: String,
    client_secret: String,
}

impl LockedVault {
    async fn start() -> Self {
        let config = infisical_gitops::dev::DevServerConfig::default();
        let (client_id, client_secret) = (config.client_id.clone(), config.client_secret.clone());
        let server = infisical_gitops::dev::DevServer::start(config)
            .await
            .unwrap();
        let export = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bitwarden-export.json"),
        )
        .unwrap();
        let double =
            infisical_gitops::resolve::bitwarden::double::BwServeDouble::with_export(&export)
                .await
                .unwrap();
        double.state.set_locked(true);
        Self {
            server,
            double,
            client_id,
            client_secret,
        }
    }

    /// Runs the binary on the dev server, logged in (off the runtime, which serves both
    /// doubles meanwhile).
    async fn run_logged_in(&self, args: &[&str]) -> Output {
        let url = self.server.url();
        let all: Vec<String> = [args, &["--api-url", &url]]
            .concat()
            .into_iter()
            .map(str::to_string)
            .collect();
        let (id, secret) = (self.client_id.clone(), self.client_secret.clone());
        tokio::task::spawn_blocking(move || {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            run(
                &all,
                &[
                    ("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", &id),
                    ("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", &secret),
                ],
            )
        })
        .await
        .unwrap()
    }

    /// Runs the binary on the dev server and the `bw serve` double.
    async fn run(&self, args: &[&str]) -> Output {
        let url = self.double.url();
        self.run_logged_in(&[args, &["--bitwarden-url", &url]].concat())
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_vault_makes_plan_and_apply_exit_1_with_one_headline() {
    let vault = LockedVault::start().await;
    let example = example();
    let example = example.to_str().unwrap();

    // apply writes what it can, and says that it is not complete.
    let applied = vault.run(&["apply", example, "--auto-approve"]).await;
    assert_eq!(applied.code, 1, "{}\n{}", applied.stdout, applied.stderr);
    let last = last_lines(&applied.stdout, 1);
    assert!(
        last.starts_with("Apply incomplete: ")
            && last.ends_with(" secrets not resolved, not written."),
        "{last}"
    );
    assert!(!applied.stdout.contains("Apply complete"));
    insta::assert_snapshot!(last, @"Apply incomplete: 36 done, 0 failed, 0 pending approval, 0 skipped; 21 secrets not resolved, not written.");

    // What is left is only unresolved: plan never says that Infisical matches.
    let plan = vault.run(&["plan", example, "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(!plan.stdout.contains("Infisical matches"));
    // The locked vault is one headline with its fix, then the affected addresses.
    assert_eq!(
        plan.stdout.matches("the bitwarden vault is locked").count(),
        1
    );
    insta::assert_snapshot!("locked_vault_plan_text", plan.stdout);

    let without_detail = vault.run(&["plan", example]).await;
    assert_eq!(
        without_detail.code, 1,
        "unresolved is an error with or without the flag"
    );

    let json = vault.run(&["plan", example, "--format", "json"]).await;
    assert_eq!(json.code, 1);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        document["headline"],
        "21 secrets not resolved, not written. No changes to apply."
    );
    assert_eq!(document["summary"]["unresolved"], 21);
    let codes: std::collections::BTreeSet<&str> = document["unresolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert!(u["reason"]["cause"].is_string(), "{u}");
            u["reason"]["code"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        codes,
        ["not-configured", "vault-locked"].into_iter().collect()
    );

    let markdown = vault.run(&["plan", example, "--format", "markdown"]).await;
    assert_eq!(markdown.code, 1);
    assert!(
        markdown.stdout.starts_with(
            "### infisical-gitops plan\n\n**21 secrets not resolved, not written.**\n"
        ),
        "{}",
        markdown.stdout
    );
    assert!(!markdown.stdout.contains("Infisical matches"));
    assert_eq!(
        markdown
            .stdout
            .matches("the bitwarden vault is locked")
            .count(),
        1
    );

    // An apply with nothing else to do is still not a success.
    let again = vault.run(&["apply", example, "--auto-approve"]).await;
    assert_eq!(again.code, 1);
    insta::assert_snapshot!(last_lines(&again.stdout, 1), @"Apply incomplete: 0 done, 0 failed, 0 pending approval, 0 skipped; 21 secrets not resolved, not written.");

    // `run --once` (a CronJob, a CI gate) fails too.
    let once = vault.run(&["run", example, "--once"]).await;
    assert_eq!(once.code, 1, "{}\n{}", once.stdout, once.stderr);
    assert!(
        once.stdout.contains(": unresolved, 0 created")
            && once
                .stdout
                .contains("; 21 secrets not resolved, not written"),
        "{}",
        once.stdout
    );
    assert_eq!(
        once.stderr.matches("the bitwarden vault is locked").count(),
        1,
        "{}",
        once.stderr
    );

    // Unlocked, the vault's secrets are planned (the Secrets Manager ones still are not).
    vault.double.state.set_locked(false);
    let unlocked = vault.run(&["plan", example, "--detailed-exitcode"]).await;
    assert_eq!(unlocked.code, 1);
    assert!(!unlocked.stdout.contains("vault is locked"));
    assert!(unlocked.stdout.contains("to add"), "{}", unlocked.stdout);

    // A plan saved while the vault was open is refused once it is locked again, although
    // neither plan has a change: what resolves is part of what a saved plan promises.
    let applied = vault.run(&["apply", example, "--auto-approve"]).await;
    assert_eq!(applied.code, 1, "the Secrets Manager ones stay unresolved");
    let saved = tempfile::tempdir().unwrap();
    let saved = saved.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let planned = vault.run(&["plan", example, "--out", saved]).await;
    assert_eq!(planned.code, 1, "{}", planned.stderr);
    vault.double.state.set_locked(true);
    let refused = vault.run(&["apply", saved, "--auto-approve"]).await;
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the repository or a value source changed since the plan was made"),
        "{}\n{}",
        refused.stdout,
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_to_bitwarden_without_a_writable_vault_is_a_plan_error() {
    let vault = LockedVault::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("projects")).unwrap();
    std::fs::write(
        dir.path().join("projects/backup.yaml"),
        crate::bitwarden::BACKUP_REPOSITORY,
    )
    .unwrap();
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bitwarden-export.json");
    let (repository, export) = (dir.path().to_str().unwrap(), export.to_str().unwrap());

    // Only an export file: nothing can hold the backup. `--bitwarden-url` is not given here.
    let output = vault
        .run_logged_in(&[
            "apply",
            repository,
            "--auto-approve",
            "--bitwarden-export",
            export,
        ])
        .await;
    assert_eq!(output.code, 1, "{}\n{}", output.stdout, output.stderr);
    insta::assert_snapshot!("backup_without_a_writable_vault", output.stdout);
    // Refused before any write: the project was not created either.
    let plan = vault.run(&["plan", repository]).await;
    assert!(
        plan.stdout.contains("+ project \"backup-check\""),
        "{}",
        plan.stdout
    );

    // With `--dev` and no `--bitwarden-url`: the same refusal.
    let dev = run(&["plan", repository, "--dev"], &[]);
    assert_eq!(dev.code, 1);
    assert!(
        dev.stdout.contains("[backup-unavailable]"),
        "{}",
        dev.stdout
    );

    // With a writable `bw serve` (unlocked), the plan is applicable.
    vault.double.state.set_locked(false);
    let writable = vault
        .run(&["plan", repository, "--detailed-exitcode"])
        .await;
    assert_eq!(writable.code, 2, "{}\n{}", writable.stdout, writable.stderr);
    assert!(!writable.stdout.contains("backup-unavailable"));
}
