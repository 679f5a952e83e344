//! Proposals end to end: a real bare repository as the remote (`file://`), seeded with the
//! example repository under a sub-path; the dev server (over HTTP, in-process) for the plan;
//! GitLab and GitHub HTTP doubles for the change requests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use infisical_gitops::dev::{DevServer, DevServerConfig};
use infisical_gitops::infisical::api::{SecretScope, SecretWrite};
use infisical_gitops::infisical::{ClientConfig, Credentials, HttpClient, InfisicalApi};
use infisical_gitops::model::SecretValue;
use infisical_gitops::propose::forge::{Forge, ForgeError, GitHub, GitLab};
use infisical_gitops::propose::{
    ForgeConfig, ForgeKind, ProposalRequest, ProposeError, Proposer, ProposerConfig,
};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::source::git::GitAuth;
use infisical_gitops::source::load_desired_state;
use secrecy::SecretString;

use super::daemon_git::git;
use super::support::names::{env_slug, folder_path};
use super::support::{changed_lines, git_http};

const CANARY: &str = "canary-7c41e0-live-value";
const TOKEN: &str = "forge-token-3b9d-never-printed";
const SUB_PATH: &str = "infra/desired-state";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A bare remote whose `main` holds the example repository under [`SUB_PATH`] and a README.
struct Remote {
    _temp: tempfile::TempDir,
    bare: PathBuf,
    seed: PathBuf,
    work_dir: PathBuf,
    main: String,
}

impl Remote {
    fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().to_path_buf();
        let bare = root.join("remote.git");
        let seed = root.join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        git(
            &root,
            &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
        );
        git(&bare, &["config", "http.receivepack", "true"]);
        git(&seed, &["init", "--quiet", "-b", "main"]);
        copy_dir(&example(), &seed.join(SUB_PATH));
        std::fs::write(seed.join("README.md"), "# secrets\n").unwrap();
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "--quiet", "-m", "Seed"]);
        git(&seed, &["remote", "add", "origin", bare.to_str().unwrap()]);
        git(&seed, &["push", "--quiet", "origin", "main"]);
        let main = git(&bare, &["rev-parse", "main"]);
        Self {
            work_dir: root.join("proposals"),
            _temp: temp,
            bare,
            seed,
            main,
        }
    }

    fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    fn refs(&self) -> Vec<String> {
        git(&self.bare, &["for-each-ref", "--format=%(refname)"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn config(&self, forge: Option<ForgeConfig>) -> ProposerConfig {
        let mut config = ProposerConfig::new(self.url(), "main");
        config.sub_path = Some(SUB_PATH.to_string());
        config.author_name = "Proposal Bot".to_string();
        config.author_email = "proposals@example.invalid".to_string();
        config.forge = forge;
        config.work_dir = self.work_dir.clone();
        config
    }
}

/// What a forge double received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: serde_json::Value,
}

#[derive(Clone)]
struct Double {
    status: u16,
    answer: serde_json::Value,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn record(
    State(double): State<Double>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    double.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body,
    });
    (
        StatusCode::from_u16(double.status).unwrap(),
        axum::Json(double.answer.clone()),
    )
        .into_response()
}

/// A forge double on 127.0.0.1:0 answering every POST with `status` and `answer`.
async fn forge_double(
    status: u16,
    answer: serde_json::Value,
) -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let double = Double {
        status,
        answer,
        received: received.clone(),
    };
    let app = axum::Router::new()
        .fallback(axum::routing::post(record))
        .with_state(double);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), received)
}

fn gitlab_answer() -> serde_json::Value {
    serde_json::json!({"id": 9001, "iid": 17, "web_url": "https://gitlab.example.invalid/infra/secrets/-/merge_requests/17", "state": "opened"})
}

/// The dev server with the example repository applied, and a live value changed to the
/// canary, so that the plan has a value change that must not leak.
async fn dev_reconciler() -> (DevServer, Reconciler) {
    let config = DevServerConfig::default();
    let credentials = Credentials::universal_auth(&config.client_id, &config.client_secret);
    let server = DevServer::start(config).await.unwrap();
    let client = Arc::new(HttpClient::new(ClientConfig::new(server.url(), credentials)).unwrap());
    let reconciler = Reconciler::new(
        client.clone(),
        Arc::new(SourceResolver::new().with_dev_placeholders()),
    );
    let (desired, _) = load_desired_state(&example()).unwrap();
    let (_, report) = reconciler.reconcile(desired).await.unwrap();
    assert!(report.is_success(), "{}", report.render_text());
    let project = client
        .get_project_by_slug("k3s-infrastructure")
        .await
        .unwrap()
        .unwrap();
    client
        .update_secrets(
            &SecretScope {
                project_id: project.id,
                environment: env_slug("prod"),
                path: folder_path("/databases"),
            },
            &[SecretWrite {
                key: "POSTGRES_PASSWORD".to_string(),
                value: Some(SecretValue::new(CANARY)),
                comment: None,
                tag_ids: None,
                metadata: None,
            }],
        )
        .await
        .unwrap();
    (server, reconciler)
}

fn request(json: serde_json::Value) -> ProposalRequest {
    serde_json::from_value(json).unwrap()
}

fn add_github_token() -> ProposalRequest {
    request(serde_json::json!({
        "description": "CI needs to upload release assets.",
        "edits": [{
            "op": "create_secret",
            "project": "k3s-infrastructure",
            "environments": ["prod"],
            "path": "/api-keys",
            "key": "GITHUB_TOKEN",
            "comment": "CI release uploads",
            "source": {"bitwarden": {"item": "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c99"}}
        }]
    }))
}

fn gitlab_config(api: &str) -> ForgeConfig {
    ForgeConfig {
        kind: ForgeKind::GitLab,
        api_url: api.to_string(),
        project: "infra/secrets".to_string(),
        token: SecretString::from(TOKEN),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_pushes_one_commit_and_opens_a_merge_request_with_the_plan() {
    let remote = Remote::new();
    let (_server, reconciler) = dev_reconciler().await;
    let (api, received) = forge_double(201, gitlab_answer()).await;
    let proposer =
        Proposer::from_config(remote.config(Some(gitlab_config(&api))), Some(reconciler)).unwrap();

    let proposal = proposer.propose(add_github_token()).await.unwrap();

    // The branch: fresh, prefixed, on the remote; main untouched.
    assert!(
        proposal.branch.starts_with("infisical-gitops/proposal-"),
        "{}",
        proposal.branch
    );
    assert!(
        remote
            .refs()
            .contains(&format!("refs/heads/{}", proposal.branch))
    );
    assert_eq!(git(&remote.bare, &["rev-parse", "main"]), remote.main);
    // The commit: on top of main, with the configured author and a clear message.
    let tip = git(&remote.bare, &["rev-parse", &proposal.branch]);
    assert_eq!(tip, proposal.commit);
    assert_eq!(
        git(&remote.bare, &["rev-parse", &format!("{tip}^")]),
        remote.main
    );
    assert_eq!(
        git(
            &remote.bare,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", &tip]
        ),
        "Proposal Bot <proposals@example.invalid>|Proposal Bot <proposals@example.invalid>"
    );
    let message = git(&remote.bare, &["log", "-1", "--format=%B", &tip]);
    insta::assert_snapshot!("propose_commit_message", message);
    // Only the intended lines changed.
    let diff = git(
        &remote.bare,
        &["diff", "--unified=0", "--no-color", &remote.main, &tip],
    );
    let changed = changed_lines(&diff);
    assert_eq!(
        changed,
        [
            "+    - key: GITHUB_TOKEN",
            "+      comment: CI release uploads",
            "+      bitwarden:",
            "+        item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c99",
        ]
    );
    assert_eq!(
        git(&remote.bare, &["diff", "--name-only", &remote.main, &tip]),
        format!("{SUB_PATH}/secrets/k3s-infrastructure/api-keys.yaml")
    );
    // The merge request: path, auth header, body with the plan.
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let mr = &received[0];
    assert_eq!(mr.path, "/api/v4/projects/infra%2Fsecrets/merge_requests");
    assert_eq!(mr.headers["private-token"], TOKEN);
    assert_eq!(mr.body["source_branch"], proposal.branch.as_str());
    assert_eq!(mr.body["target_branch"], "main");
    assert_eq!(
        mr.body["title"],
        "Add GITHUB_TOKEN to k3s-infrastructure/prod:/api-keys"
    );
    let description = mr.body["description"].as_str().unwrap();
    insta::assert_snapshot!("propose_merge_request_description", description);
    assert!(description.starts_with(
        "CI needs to upload release assets.\n\n### What this proposal changes in Infisical"
    ));
    assert!(description.contains("`k3s-infrastructure/prod:/api-keys#GITHUB_TOKEN`"));
    assert!(description.contains(&format!(
        "`{SUB_PATH}/secrets/k3s-infrastructure/api-keys.yaml`"
    )));
    assert_eq!(
        proposal.change_request_url.as_deref(),
        Some("https://gitlab.example.invalid/infra/secrets/-/merge_requests/17")
    );
    assert_eq!(proposal.change_request_number, Some(17));
    let summary = proposal.checked.plan_summary.unwrap();
    assert_eq!(summary.create, 1, "{description}");
    assert_eq!(summary.update, 1, "the canary value drift: {description}");
    assert_eq!(
        summary.introduced, 1,
        "only the new secret is the proposal's"
    );
    // No value anywhere: the outcome, the request, the commit, the diff.
    let outcome = serde_json::to_string(&proposal).unwrap();
    let everything = format!(
        "{outcome}\n{}\n{message}\n{diff}\n{:?}",
        serde_json::to_string(&mr.body).unwrap(),
        proposal
    );
    assert!(!everything.contains(CANARY), "a live value leaked");
    assert!(!everything.contains(TOKEN), "the forge token leaked");
    // The per-proposal repository is gone.
    assert_eq!(
        std::fs::read_dir(&remote.work_dir).unwrap().count(),
        0,
        "per-proposal repositories are removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_pull_request_carries_the_headers_and_body_github_expects() {
    let remote = Remote::new();
    let (api, received) = forge_double(
        201,
        serde_json::json!({"number": 42, "html_url": "https://github.example.invalid/o/r/pull/42", "state": "open"}),
    )
    .await;
    let forge = ForgeConfig {
        kind: ForgeKind::GitHub,
        api_url: api,
        project: "acme/secrets".to_string(),
        token: SecretString::from(TOKEN),
    };
    let proposer = Proposer::from_config(remote.config(Some(forge)), None).unwrap();
    let proposal = proposer
        .propose(request(serde_json::json!({
            "title": "Staging for the applications",
            "edits": [
                {"op": "create_environment", "project": "applications", "slug": "staging", "name": "Staging"},
                {"op": "create_secret", "project": "applications", "environments": ["staging"],
                 "path": "/app-name-1", "key": "DATABASE_PASSWORD", "source": {"generate": {"length": 40}}}
            ]
        })))
        .await
        .unwrap();
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let pr = &received[0];
    assert_eq!(pr.path, "/repos/acme/secrets/pulls");
    assert_eq!(pr.headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(pr.headers["accept"], "application/vnd.github+json");
    assert_eq!(pr.headers["x-github-api-version"], "2022-11-28");
    assert_eq!(pr.body["head"], proposal.branch.as_str());
    assert_eq!(pr.body["base"], "main");
    assert_eq!(pr.body["title"], "Staging for the applications");
    assert!(
        pr.body["body"]
            .as_str()
            .unwrap()
            .contains("_No plan: this proposal was not compared with a live Infisical._")
    );
    assert_eq!(proposal.change_request_number, Some(42));
    assert_eq!(
        proposal.checked.changed_files,
        [
            format!("{SUB_PATH}/projects/applications.yaml"),
            format!("{SUB_PATH}/secrets/applications/app-name-1-staging.yaml"),
        ]
    );
    insta::assert_snapshot!("propose_github_diff", proposal.checked.diff);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_proposal_is_refused_with_diagnostics_and_nothing_is_pushed() {
    let remote = Remote::new();
    let (api, received) = forge_double(201, gitlab_answer()).await;
    let proposer = Proposer::from_config(remote.config(Some(gitlab_config(&api))), None).unwrap();
    let before = remote.refs();
    // A folder the project does not declare.
    let error = proposer
        .propose(request(serde_json::json!({"edits": [{
            "op": "create_secret", "project": "k3s-infrastructure", "environments": ["prod"],
            "path": "/undeclared", "key": "X_TOKEN", "source": {"generate": {}}
        }]})))
        .await
        .unwrap_err();
    let ProposeError::Invalid { diagnostics } = &error else {
        panic!("expected Invalid, got {error:?}");
    };
    assert!(
        diagnostics.contains(&format!(
            "{SUB_PATH}/secrets/k3s-infrastructure/undeclared.yaml"
        )),
        "{diagnostics}"
    );
    insta::assert_snapshot!("propose_invalid", error.to_string());
    // Refusals before any edit: a plaintext value, a traversal, an existing secret.
    for json in [
        serde_json::json!({"edits": [{"op": "create_secret", "project": "k3s-infrastructure",
            "environments": ["prod"], "key": "LEAK", "value": CANARY, "source": {"generate": {}}}]}),
        serde_json::json!({"edits": [{"op": "create_folder", "project": "k3s-infrastructure",
            "path": "/../../etc"}]}),
        serde_json::json!({"edits": [{"op": "create_secret", "project": "k3s-infrastructure",
            "environments": ["prod"], "path": "/api-keys", "key": "CLOUDFLARE_API_TOKEN",
            "source": {"generate": {}}}]}),
    ] {
        let error = proposer.propose(request(json)).await.unwrap_err();
        assert!(matches!(error, ProposeError::Request(_)), "{error:?}");
        assert!(!error.to_string().contains(CANARY));
    }
    assert_eq!(remote.refs(), before, "nothing was pushed");
    assert!(received.lock().unwrap().is_empty(), "no change request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_validates_and_diffs_without_pushing() {
    let remote = Remote::new();
    let proposer = Proposer::new(remote.config(None), None, None);
    let before = remote.refs();
    let checked = proposer
        .check(&request(serde_json::json!({"edits": [{
            "op": "delete_secret", "project": "applications", "path": "/app-name-2", "key": "SENTRY_DSN"
        }]})))
        .await
        .unwrap();
    assert_eq!(
        checked.changed_files,
        [format!("{SUB_PATH}/secrets/applications/app-name-2.yaml")]
    );
    insta::assert_snapshot!("propose_check_diff", checked.diff);
    assert_eq!(remote.refs(), before);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_link_named_like_yaml_is_refused_never_followed() {
    let remote = Remote::new();
    std::os::unix::fs::symlink(
        "/proc/self/environ",
        remote.seed.join(SUB_PATH).join("linked.yaml"),
    )
    .unwrap();
    git(&remote.seed, &["add", "-A"]);
    git(&remote.seed, &["commit", "--quiet", "-m", "A link"]);
    git(&remote.seed, &["push", "--quiet", "origin", "main"]);
    let proposer = Proposer::new(remote.config(None), None, None);
    let error = proposer
        .check(&request(serde_json::json!({"edits": [{
            "op": "delete_secret", "project": "applications", "path": "/app-name-2", "key": "SENTRY_DSN"
        }]})))
        .await
        .unwrap_err();
    insta::assert_snapshot!(error.to_string(), @"cannot read `linked.yaml` from the repository: it is a symbolic link, and links are never followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_template_that_reads_no_secret_is_refused() {
    let remote = Remote::new();
    let proposer = Proposer::new(remote.config(None), None, None);
    let before = remote.refs();
    let mut refused = Vec::new();
    for template in [
        serde_json::json!({"password": CANARY}),
        serde_json::json!({"password": format!("{{{{ \"{CANARY}\" }}}}")}),
        serde_json::json!({"pin": "{{ 424242 }}", "token": "{{ .A.Value }}"}),
    ] {
        let error = proposer
            .propose(request(serde_json::json!({"edits": [{
                "op": "add_kubernetes_sync", "name": "leaky", "project": "k3s-infrastructure",
                "environment": "prod", "path": "/api-keys", "namespace": "apps",
                "secretName": "leaky", "template": template
            }]})))
            .await
            .unwrap_err();
        assert!(matches!(error, ProposeError::Request(_)), "{error:?}");
        let message = error.to_string();
        assert!(!message.contains(CANARY), "{message}");
        assert!(!message.contains("424242"), "{message}");
        refused.push(message);
    }
    insta::assert_snapshot!(refused.join("\n"));
    assert_eq!(remote.refs(), before, "nothing was pushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_proposals_get_two_branches() {
    let remote = Remote::new();
    let proposer = Proposer::new(remote.config(None), None, None);
    let first = request(serde_json::json!({"edits": [{"op": "create_folder",
        "project": "mcp-servers", "path": "/grafana"}]}));
    let second = request(serde_json::json!({"edits": [{"op": "create_folder",
        "project": "mcp-servers", "path": "/home-assistant"}]}));
    let (a, b) = tokio::join!(proposer.propose(first), proposer.propose(second));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.branch, b.branch);
    assert_eq!(a.change_request_url, None);
    let refs = remote.refs();
    for proposal in [&a, &b] {
        assert!(refs.contains(&format!("refs/heads/{}", proposal.branch)));
        assert_eq!(
            git(
                &remote.bare,
                &["rev-parse", &format!("{}^", proposal.branch)]
            ),
            remote.main
        );
    }
    assert_eq!(refs.len(), 3, "{refs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_clone_as_the_remote_gets_the_branch_and_keeps_its_checkout() {
    let remote = Remote::new();
    let mut config = remote.config(None);
    config.remote_url = format!("file://{}", remote.seed.display());
    let proposal = Proposer::new(config, None, None)
        .propose(request(
            serde_json::json!({"edits": [{"op": "create_folder",
            "project": "mcp-servers", "path": "/grafana"}]}),
        ))
        .await
        .unwrap();
    assert_eq!(
        git(&remote.seed, &["rev-parse", &proposal.branch]),
        proposal.commit
    );
    assert_eq!(git(&remote.seed, &["rev-parse", "HEAD"]), remote.main);
    assert_eq!(git(&remote.seed, &["status", "--porcelain"]), "");
}

#[tokio::test]
async fn forge_errors_are_clear_and_never_show_the_token() {
    let (gitlab_api, _) = forge_double(
        409,
        serde_json::json!({"message": ["Another open merge request already exists for this source branch: !17"]}),
    )
    .await;
    let gitlab = GitLab::new(&gitlab_api, "infra/secrets", SecretString::from(TOKEN)).unwrap();
    let error = gitlab
        .open_change_request("proposal-1", "main", "t", "d")
        .await
        .unwrap_err();
    assert!(
        matches!(error, ForgeError::AlreadyExists { .. }),
        "{error:?}"
    );

    let (github_api, _) = forge_double(
        422,
        serde_json::json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:proposal-1."}], "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"}),
    )
    .await;
    let github = GitHub::new(&github_api, "acme/secrets", SecretString::from(TOKEN)).unwrap();
    let exists = github
        .open_change_request("proposal-1", "main", "t", "d")
        .await
        .unwrap_err();

    let (invalid_api, _) = forge_double(
        422,
        serde_json::json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": "base", "code": "invalid"}]}),
    )
    .await;
    let invalid = GitHub::new(&invalid_api, "acme/secrets", SecretString::from(TOKEN))
        .unwrap()
        .open_change_request("proposal-1", "nope", "t", "d")
        .await
        .unwrap_err();

    let (denied_api, _) =
        forge_double(401, serde_json::json!({"message": "401 Unauthorized"})).await;
    let denied = GitLab::new(&denied_api, "infra/secrets", SecretString::from(TOKEN))
        .unwrap()
        .open_change_request("proposal-1", "main", "t", "d")
        .await
        .unwrap_err();

    let unreachable = GitHub::new(
        "http://127.0.0.1:9",
        "acme/secrets",
        SecretString::from(TOKEN),
    )
    .unwrap()
    .open_change_request("proposal-1", "main", "t", "d")
    .await
    .unwrap_err();
    assert!(matches!(unreachable, ForgeError::Transport { .. }));

    let messages = [&error, &exists, &invalid, &denied]
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!messages.contains(TOKEN));
    assert!(!format!("{gitlab:?} {github:?}").contains(TOKEN));
    insta::assert_snapshot!("propose_forge_errors", messages);
    assert!(
        GitHub::new(
            "https://api.github.com",
            "no-slash",
            SecretString::from(TOKEN)
        )
        .is_err()
    );
    assert!(
        GitLab::new(
            "ftp://gitlab.example.invalid",
            "a/b",
            SecretString::from(TOKEN)
        )
        .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_over_smart_http_with_basic_auth_and_refuses_a_wrong_password() {
    const PASSWORD: &str = "git-password-5e2a-never-printed";
    let remote = Remote::new();
    let base = git_http::serve(remote.bare.parent().unwrap(), Some(("proposer", PASSWORD))).await;
    let folder = request(serde_json::json!({"edits": [{"op": "create_folder",
        "project": "mcp-servers", "path": "/grafana"}]}));

    let mut config = remote.config(None);
    config.remote_url = format!("{base}/remote.git");
    config.auth = GitAuth::Basic {
        username: "proposer".to_string(),
        password: SecretString::from(PASSWORD),
    };
    let proposal = Proposer::new(config.clone(), None, None)
        .propose(folder.clone())
        .await
        .unwrap();
    assert!(
        remote
            .refs()
            .contains(&format!("refs/heads/{}", proposal.branch))
    );

    let before = remote.refs();
    config.auth = GitAuth::Basic {
        username: "proposer".to_string(),
        password: SecretString::from("wrong-password"),
    };
    let error = Proposer::new(config, None, None)
        .propose(folder)
        .await
        .unwrap_err();
    let chain = infisical_gitops::errors::cause_chain(&error);
    assert!(matches!(error, ProposeError::Workspace(_)), "{chain}");
    assert_eq!(
        chain,
        "git fetch failed: the remote refused the credentials"
    );
    assert!(
        !chain.contains(PASSWORD) && !chain.contains("wrong-password"),
        "{chain}"
    );
    assert_eq!(remote.refs(), before);
}

/// Real time, one second: `spawn_blocking` work holds back tokio's paused clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_never_answers_fails_the_proposal_after_the_git_timeout() {
    // Accepts connections (the kernel's backlog) and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut config = ProposerConfig::new(format!("http://{address}/remote.git"), "main");
    config.work_dir = work.path().to_path_buf();
    config.git_timeout = std::time::Duration::from_secs(1);
    let error = Proposer::new(config, None, None)
        .check(&request(
            serde_json::json!({"edits": [{"op": "create_folder",
            "project": "mcp-servers", "path": "/grafana"}]}),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "git did not finish within 1s");
    // Closing the listener ends the stuck fetch, so the runtime can shut down.
    drop(listener);
}
