//! `plan --comment-on` through the binary, against the embedded dev server and a GitLab or
//! GitHub double: the one plan comment is posted, then updated in place with the diagnostics of
//! a broken repository; the head commit goes pending → success, then failed; a forge
//! that refuses the token is exit 1 with a clear error. Nothing sent or printed holds a value or
//! the token.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::forge_double::{FORGE_TOKEN, ForgeDouble, Kind};
use super::review::SHA;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state")
}

/// Every password, username, note and field value of the bundled export: what `--dev` resolves.
fn export_values() -> Vec<String> {
    let export = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bitwarden-export.json"),
    )
    .unwrap();
    let document: serde_json::Value = serde_json::from_str(&export).unwrap();
    let mut values = Vec::new();
    for item in document["items"].as_array().unwrap() {
        for value in [
            &item["login"]["password"],
            &item["login"]["username"],
            &item["notes"],
        ] {
            if let Some(value) = value.as_str() {
                values.push(value.to_string());
            }
        }
        for field in item["fields"].as_array().into_iter().flatten() {
            if let Some(value) = field["value"].as_str() {
                values.push(value.to_string());
            }
        }
    }
    // Short or common words (user names like `admin`) would match ordinary text.
    values.retain(|v| v.len() >= 12);
    assert!(values.len() >= 5, "the export has values to scan for");
    values
}

struct Forge {
    double: ForgeDouble,
    token_file: tempfile::NamedTempFile,
}

impl Forge {
    async fn start(kind: Kind) -> Self {
        let double = ForgeDouble::start(kind).await;
        {
            let mut forge = double.lock();
            forge.open(17, 3);
            forge.commits.insert(SHA.to_string());
        }
        let token_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(token_file.path(), FORGE_TOKEN).unwrap();
        Self { double, token_file }
    }

    /// `plan REPOSITORY --dev --comment-on … --request 17 --head-commit SHA`, off the runtime
    /// that serves the double.
    async fn plan(&self, repository: &Path) -> Output {
        let (kind, api_url, project) = match self.double.kind() {
            Kind::GitLab => (
                "gitlab",
                format!("{}/api/v4", self.double.url),
                "infra/secrets",
            ),
            Kind::GitHub => ("github", self.double.url.clone(), "acme/secrets"),
        };
        let args: Vec<String> = [
            "plan",
            repository.to_str().unwrap(),
            "--dev",
            "--color",
            "never",
            "--comment-on",
            kind,
            "--request",
            "17",
            "--head-commit",
            SHA,
            "--forge-url",
            &api_url,
            "--forge-project",
            project,
            "--forge-token-file",
            self.token_file.path().to_str().unwrap(),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
                .args(&args)
                .env_remove("INFISICAL_GITOPS_FORGE_TOKEN")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }

    /// (state, description) of every plan status, in order.
    fn statuses(&self) -> Vec<(String, String)> {
        self.double
            .lock()
            .statuses
            .iter()
            .map(|s| {
                assert_eq!(s.sha, SHA);
                assert_eq!(s.context, "infisical-gitops/plan");
                (s.state.clone(), s.description.clone())
            })
            .collect()
    }
}

fn assert_nothing_leaks(forge: &Forge, outputs: &[&Output]) {
    let mut seen: Vec<String> = forge.double.lock().bodies.clone();
    for output in outputs {
        seen.push(String::from_utf8_lossy(&output.stdout).into_owned());
        seen.push(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let mut secrets = export_values();
    secrets.push(FORGE_TOKEN.to_string());
    for text in &seen {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a value or the token leaked"
            );
        }
    }
}

fn broken_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("project.yaml"),
        "apiVersion: infisical-gitops.io/v1alpha1\nkind: Project\nmetadata:\n  name: broken\nspec:\n  environmentz: []\n",
    )
    .unwrap();
    dir
}

async fn plan_then_broken_push(kind: Kind) {
    let forge = Forge::start(kind).await;

    let planned = forge.plan(&example()).await;
    let stderr = String::from_utf8_lossy(&planned.stderr);
    assert_eq!(planned.status.code(), Some(0), "{stderr}");
    let comments = forge.double.lock().plan_comments(17);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("### infisical-gitops plan"));
    assert!(comments[0].body.contains("to add"), "{}", comments[0].body);
    let first_id = comments[0].id;

    // A broken push: the same comment turns into the diagnostics, the status fails.
    let broken = broken_repository();
    let invalid = forge.plan(broken.path()).await;
    assert_eq!(invalid.status.code(), Some(1));
    let comments = forge.double.lock().plan_comments(17);
    assert_eq!(comments.len(), 1, "one comment, updated in place");
    assert_eq!(comments[0].id, first_id);
    assert!(
        comments[0].body.contains("project.yaml:6"),
        "diagnostics with file:line: {}",
        comments[0].body
    );
    // The other people's comments are untouched.
    assert_eq!(forge.double.lock().comments[&17].len(), 4);

    let states: Vec<String> = forge.statuses().into_iter().map(|(s, _)| s).collect();
    let failed = match kind {
        Kind::GitLab => "failed",
        Kind::GitHub => "failure",
    };
    // An invalid repository is refused before anything is planned: no pending step.
    assert_eq!(states, ["pending", "success", failed]);
    assert_nothing_leaks(&forge, &[&planned, &invalid]);

    let comment = comments[0].body.replace(&forge.double.url, "http://forge");
    insta::assert_snapshot!(
        format!("comment_on_{kind:?}_statuses").to_lowercase(),
        format!(
            "{:#?}\n----- invalid comment -----\n{comment}",
            forge.statuses()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_gets_one_plan_note_and_statuses_through_the_binary() {
    plan_then_broken_push(Kind::GitLab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_gets_one_plan_comment_and_statuses_through_the_binary() {
    plan_then_broken_push(Kind::GitHub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_that_refuses_the_token_is_exit_1_with_a_clear_error() {
    let forge = Forge::start(Kind::GitLab).await;
    forge.double.lock().fail_with = Some(401);
    let output = forge.plan(&example()).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&forge.double.url, "http://forge");
    assert!(!stderr.contains(FORGE_TOKEN));
    let error: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains(" WARN ") && !l.contains(" INFO "))
        .collect();
    insta::assert_snapshot!("comment_on_refused_token", error.join("\n"));
    assert_nothing_leaks(&forge, &[&output]);
}
