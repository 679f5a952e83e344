//! The MCP server: the rmcp client over Streamable HTTP (in process, 127.0.0.1:0) and over stdio
//! (the binary), every read tool on the example repository against the dev server, the HTTP
//! security layers, hostile tool arguments, proposals into a bare repository with GitLab and
//! GitHub doubles, a leak scan of every answer, and the official Python client through mcp-proxy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use infisical_gitops::cli::connection::{ConnectionArgs, Session};
use infisical_gitops::mcp::http::{HttpSecurity, ShutdownHandle, router};
use infisical_gitops::mcp::{McpState, NO_REMOTE, Proposals, directory_label};
use infisical_gitops::propose::{ForgeConfig, ForgeKind, Proposer, ProposerConfig};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::source::git::{GitAuth, GitConfig, GitReference, GitSource};
use infisical_gitops::source::{GitRemote, LocalDirectory, Source};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject, Tool};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::daemon_git::git;
use super::support::changed_lines;

const TOKEN: &str = "test-token-5c1f9e0a7b3d4e21";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state")
}

/// Every secret field of the sample Bitwarden export the dev connection resolves from.
fn canaries() -> Vec<String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bitwarden-export.json"),
    )
    .unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for item in export["items"].as_array().unwrap() {
        for field in ["password", "username"] {
            if let Some(value) = item["login"][field].as_str() {
                out.push(value.to_string());
            }
        }
        if let Some(value) = item["notes"].as_str() {
            out.push(value.to_string());
        }
        for field in item["fields"].as_array().into_iter().flatten() {
            if let Some(value) = field["value"].as_str() {
                out.push(value.to_string());
            }
        }
    }
    out.retain(|v| v.len() >= 8);
    assert!(out.len() >= 5, "the export has secret fields");
    out
}

fn assert_no_canary(text: &str, canaries: &[String]) {
    for canary in canaries {
        assert!(!text.contains(canary.as_str()), "a secret value leaked");
    }
}

#[derive(Parser)]
struct Connection {
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// An embedded dev server and a reconciler over it.
async fn dev() -> (Session, Reconciler) {
    let args = Connection::parse_from(["test", "--dev"]).connection;
    let session = args.open().await.expect("dev server starts");
    let reconciler = Reconciler::new(session.api.clone(), session.resolver.clone());
    (session, reconciler)
}

fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

struct Server {
    url: String,
    address: SocketAddr,
    handle: ShutdownHandle,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(state: McpState, security: HttpSecurity) -> Server {
        install_crypto();
        let (app, handle) = router(Arc::new(state), security);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Server {
            url: format!("http://{address}/mcp"),
            address,
            handle,
            task,
        }
    }

    async fn client(&self) -> RunningService<rmcp::RoleClient, ()> {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.url.clone()).auth_header(TOKEN),
        );
        tokio::time::timeout(Duration::from_secs(20), ().serve(transport))
            .await
            .expect("handshake in time")
            .expect("handshake")
    }

    fn stop(self) {
        self.handle.shutdown();
        self.task.abort();
    }
}

fn directory_state(reconciler: Result<Reconciler, String>) -> McpState {
    let source: Arc<dyn Source> = Arc::new(LocalDirectory(example()));
    McpState::new(
        source,
        reconciler,
        Proposals::Disabled(NO_REMOTE.to_string()),
    )
    .with_source_label(directory_label(&example()))
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => panic!("arguments are an object"),
    }
}

async fn call(
    client: &RunningService<rmcp::RoleClient, ()>,
    name: &'static str,
    arguments: Value,
) -> CallToolResult {
    tokio::time::timeout(
        Duration::from_secs(60),
        client.call_tool(CallToolRequestParams::new(name).with_arguments(object(arguments))),
    )
    .await
    .expect("tool answers in time")
    .expect("tool call is a result, not a transport error")
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn listing(tools: &[Tool]) -> Value {
    Value::Array(
        tools
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "description": t.description,
                    "annotations": t.annotations,
                    "inputSchema": t.input_schema,
                })
            })
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_listed_with_descriptions_and_schemas() {
    let server = Server::start(
        directory_state(Err("no Infisical".into())),
        HttpSecurity::new(SecretString::from(TOKEN)),
    )
    .await;
    let client = server.client().await;
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("infisical-gitops")
    );
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "list_projects",
            "list_environments",
            "list_folders",
            "list_secrets",
            "get_plan",
            "validate_change",
            "explain_secret",
            "create_secret",
            "update_secret",
            "delete_secret",
            "move_secret",
            "create_project",
            "create_environment",
            "create_folder",
            "add_kubernetes_sync",
            "propose_changes",
        ]
    );
    // The schemas are valid JSON Schemas, and the create_secret schema has no `value`.
    for tool in &tools {
        let schema = Value::Object((*tool.input_schema).clone());
        jsonschema::validator_for(&schema).expect("a valid schema");
    }
    let create = tools.iter().find(|t| t.name == "create_secret").unwrap();
    assert!(create.input_schema["properties"].get("value").is_none());
    insta::assert_json_snapshot!("mcp_tools", listing(&tools));
    client.cancel().await.unwrap();
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_tool_on_the_example_against_the_dev_server() {
    let canaries = canaries();
    let (session, reconciler) = dev().await;
    let server = Server::start(
        directory_state(Ok(reconciler.clone())),
        HttpSecurity::new(SecretString::from(TOKEN)),
    )
    .await;
    let client = server.client().await;
    let mut transcript = String::new();

    let projects = call(&client, "list_projects", json!({})).await;
    assert_ne!(projects.is_error, Some(true), "{}", text(&projects));
    let mut structured = projects.structured_content.clone().unwrap();
    assert!(structured["revision"].as_str().is_some());
    structured["revision"] = json!("<revision>");
    insta::assert_json_snapshot!("mcp_list_projects", structured);
    transcript.push_str(&text(&projects));

    let environments = call(
        &client,
        "list_environments",
        json!({"project": "k3s-infrastructure"}),
    )
    .await;
    insta::assert_json_snapshot!("mcp_list_environments", environments.structured_content);
    transcript.push_str(&text(&environments));

    let folders = call(
        &client,
        "list_folders",
        json!({"project": "k3s-infrastructure", "environment": "prod"}),
    )
    .await;
    insta::assert_json_snapshot!("mcp_list_folders", folders.structured_content);
    transcript.push_str(&text(&folders));
    // A folder's managed secret imports are part of the structure an agent reads.
    let app_folders = call(
        &client,
        "list_folders",
        json!({"project": "applications", "environment": "prod"}),
    )
    .await;
    let app_folders = app_folders.structured_content.expect("structured content");
    let app = app_folders["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/app-name-1")
        .unwrap_or_else(|| panic!("{app_folders}"));
    assert_eq!(app["imports"][0]["environment"], "prod", "{app}");
    assert_eq!(app["imports"][0]["path"], "/", "{app}");
    assert!(
        app["imports"][0]["declaredIn"]
            .as_str()
            .unwrap()
            .contains("shared.yaml"),
        "{app}"
    );

    let secrets = call(
        &client,
        "list_secrets",
        json!({"project": "k3s-infrastructure", "environment": "prod", "path": "/databases"}),
    )
    .await;
    insta::assert_json_snapshot!("mcp_list_secrets", secrets.structured_content);
    let listed = text(&secrets);
    // A non-sensitive literal is described, never shown.
    assert!(!listed.contains("postgres.databases.svc.cluster.local"));
    transcript.push_str(&listed);

    let explained = call(
        &client,
        "explain_secret",
        json!({"project": "k3s-infrastructure", "key": "POSTGRES_PASSWORD"}),
    )
    .await;
    insta::assert_json_snapshot!("mcp_explain_secret", explained.structured_content);
    transcript.push_str(&text(&explained));

    let unknown = call(
        &client,
        "explain_secret",
        json!({"project": "k3s-infrastructur", "key": "X"}),
    )
    .await;
    assert_eq!(unknown.is_error, Some(true));
    insta::assert_snapshot!(text(&unknown), @"project `k3s-infrastructur` is not declared in the repository (did you mean `k3s-infrastructure`?)");

    let valid = call(
        &client,
        "validate_change",
        json!({"files": [{
            "path": "secrets/k3s-infrastructure/extra.yaml",
            "content": "apiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: extra\nspec:\n  project: k3s-infrastructure\n  environments: [prod]\n  path: /api-keys\n  secrets:\n    - key: EXTRA_TOKEN\n      generate: {length: 40}\n",
        }]}),
    )
    .await;
    assert_ne!(valid.is_error, Some(true), "{}", text(&valid));
    assert_eq!(valid.structured_content.as_ref().unwrap()["valid"], true);

    let invalid = call(
        &client,
        "validate_change",
        json!({"files": [{
            "path": "secrets/k3s-infrastructure/databases.yaml",
            "content": "apiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: k3s-databases\nspec:\n  project: k3s-infrastructure\n  environments: [prod]\n  path: /databases\n  secrets:\n    - key: POSTGRES_PASSWORD\n      value: hunter2-canary-value\n",
        }]}),
    )
    .await;
    assert_eq!(invalid.is_error, Some(true));
    let invalid_text = text(&invalid);
    assert!(
        !invalid_text.contains("hunter2-canary-value"),
        "{invalid_text}"
    );
    insta::assert_snapshot!("mcp_validate_change_invalid", invalid_text);

    // get_plan: the same bytes as `plan --format json` on the same (empty) dev server state.
    let plan = call(&client, "get_plan", json!({})).await;
    assert_ne!(plan.is_error, Some(true), "{}", text(&plan));
    let plan_text = text(&plan);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(["plan", "--dev", "--format", "json"])
        .arg(example())
        .env_remove("INFISICAL_API_URL")
        .env_remove("INFISICAL_TOKEN")
        .output()
        .unwrap();
    assert_eq!(plan_text, String::from_utf8(output.stdout).unwrap());
    assert_eq!(plan.structured_content.unwrap()["summary"]["add"], 57);
    transcript.push_str(&plan_text);

    // With the values in Infisical, the plan is empty and still shows none of them.
    let (desired, _) = infisical_gitops::source::load_desired_state(&example()).unwrap();
    let (_, report) = reconciler.reconcile(desired).await.unwrap();
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o.status, infisical_gitops::apply::Status::Done))
    );
    let converged = call(&client, "get_plan", json!({})).await;
    assert_eq!(
        converged.structured_content.as_ref().unwrap()["summary"]["add"],
        0
    );
    transcript.push_str(&text(&converged));

    assert_no_canary(&transcript, &canaries);
    assert_no_canary(&invalid_text, &canaries);
    client.cancel().await.unwrap();
    server.stop();
    session.close().await;
}

async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (u16, reqwest::header::HeaderMap, String) {
    install_crypto();
    let client = reqwest::Client::new();
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    tokio::time::timeout(Duration::from_secs(10), async move {
        let response = request.body(body).send().await.expect("an HTTP answer");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap_or_default())
    })
    .await
    .expect("answer in time")
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_refuses_missing_tokens_foreign_origins_bad_hosts_big_bodies_and_floods() {
    let mut security = HttpSecurity::new(SecretString::from(TOKEN));
    security.allowed_origins = vec!["https://agents.example.com".into()];
    security.rate_per_minute = 6;
    let server = Server::start(directory_state(Err("none".into())), security).await;
    let url = server.url.clone();
    let bearer = format!("Bearer {TOKEN}");

    let (status, headers, body) = post(&url, &[], INITIALIZE.into()).await;
    assert_eq!(status, 401);
    assert_eq!(
        headers.get("www-authenticate").unwrap(),
        "Bearer realm=\"infisical-gitops\""
    );
    insta::assert_snapshot!(body, @r#"{"error":"unauthorized","message":"a bearer token is required: `Authorization: Bearer <token>`"}"#);
    let (status, _, _) = post(
        &url,
        &[("authorization", "Bearer wrong-token-0000000000")],
        INITIALIZE.into(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = post(&url, &[("authorization", TOKEN)], INITIALIZE.into()).await;
    assert_eq!(status, 401, "the Bearer scheme is required");

    let (status, _, body) = post(
        &url,
        &[
            ("authorization", &bearer),
            ("origin", "https://evil.example"),
        ],
        INITIALIZE.into(),
    )
    .await;
    assert_eq!(status, 403);
    insta::assert_snapshot!(body, @r#"{"error":"forbidden-origin","message":"the Origin is not allowed; add it with --allowed-origin"}"#);
    let (status, _, body) = post(
        &url,
        &[("authorization", &bearer), ("host", "evil.example:80")],
        INITIALIZE.into(),
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.contains("forbidden-host"));

    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (status, _, body) = post(&url, &[("authorization", &bearer)], big).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload-too-large"));

    // Allowed: a localhost origin, a listed origin, and no origin at all (the limiter has
    // already counted the 413 above).
    let localhost = format!("http://localhost:{}", server.address.port());
    for origin in [localhost.as_str(), "https://agents.example.com"] {
        let (status, _, body) = post(
            &url,
            &[("authorization", &bearer), ("origin", origin)],
            INITIALIZE.into(),
        )
        .await;
        assert_eq!(status, 200, "{origin}: {body}");
    }
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, headers, _) =
            post(&url, &[("authorization", &bearer)], INITIALIZE.into()).await;
        if status == 429 {
            assert!(headers.get("retry-after").is_some());
        }
        statuses.push(status);
    }
    assert_eq!(statuses.first(), Some(&200));
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    server.stop();
}

/// The classic "billion laughs" (9^9 strings from 10 short lines), from the loader's fixtures.
const BILLION_LAUGHS: &str = include_str!("../fixtures/invalid/hostile-billion-laughs/laughs.yaml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tool_arguments_are_tool_errors() {
    let server = Server::start(
        directory_state(Err("no Infisical".into())),
        HttpSecurity::new(SecretString::from(TOKEN)),
    )
    .await;
    let client = server.client().await;
    let mut answers = Vec::new();

    for path in [
        "../outside.yaml",
        "secrets/../../etc/passwd.yaml",
        "/etc/x.yaml",
        ".git/config.yaml",
    ] {
        let result = call(
            &client,
            "validate_change",
            json!({"files": [{"path": path, "content": "a: 1\n"}]}),
        )
        .await;
        assert_eq!(result.is_error, Some(true), "{path}");
        answers.push(text(&result));
    }

    let smuggled = call(
        &client,
        "create_secret",
        json!({
            "project": "k3s-infrastructure", "environments": ["prod"], "key": "X",
            "source": {"generate": {}}, "value": "smuggled-canary-77aa"
        }),
    )
    .await;
    assert_eq!(smuggled.is_error, Some(true));
    answers.push(text(&smuggled));
    let nested = call(
        &client,
        "propose_changes",
        json!({"edits": [{"op": "update_secret", "project": "p", "key": "K",
            "source": {"bitwarden": {"item": "i"}, "secretValue": "smuggled-canary-77aa"}}]}),
    )
    .await;
    assert_eq!(nested.is_error, Some(true));
    answers.push(text(&nested));

    let started = std::time::Instant::now();
    let bomb = call(
        &client,
        "validate_change",
        json!({"files": [{"path": "bomb.yaml", "content": BILLION_LAUGHS}]}),
    )
    .await;
    assert_eq!(bomb.is_error, Some(true));
    assert!(started.elapsed() < Duration::from_secs(10));
    let diagnostics = &bomb.structured_content.as_ref().unwrap()["diagnostics"];
    assert!(diagnostics.as_array().is_some_and(|d| !d.is_empty()));
    answers.push(text(&bomb));

    let no_remote = call(
        &client,
        "create_folder",
        json!({"project": "k3s-infrastructure", "path": "/new"}),
    )
    .await;
    assert_eq!(no_remote.is_error, Some(true));
    answers.push(text(&no_remote));

    let bad_type = call(&client, "list_secrets", json!({"project": 5})).await;
    assert_eq!(bad_type.is_error, Some(true));
    answers.push(text(&bad_type));
    let unknown = call(&client, "drop_database", json!({})).await;
    assert_eq!(unknown.is_error, Some(true));
    answers.push(text(&unknown));

    let joined = answers.join("\n---\n");
    assert!(!joined.contains("smuggled-canary-77aa"));
    insta::assert_snapshot!("mcp_hostile_arguments", joined);
    client.cancel().await.unwrap();
    server.stop();
}

/// The binary over stdio with the embedded dev server: the same tools, the plan, and a log
/// (stderr, the default filter with the audit lines) that holds no value, not even a smuggled one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_serves_the_same_tools_and_logs_no_value() {
    use rmcp::transport::TokioChildProcess;
    use tokio::io::AsyncReadExt;
    let canaries = canaries();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"));
    command
        .args(["mcp", "--stdio", "--dev"])
        .arg(example())
        .env_remove("INFISICAL_API_URL")
        .env_remove("INFISICAL_TOKEN")
        .env_remove("INFISICAL_GITOPS_LOG")
        .env_remove("INFISICAL_GITOPS_MCP_TOKEN");
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = stderr.expect("piped stderr");
    let log = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let client = tokio::time::timeout(Duration::from_secs(20), ().serve(transport))
        .await
        .unwrap()
        .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools, infisical_gitops::mcp::tools::catalogue());
    let mut answers = String::new();
    for (name, arguments) in [
        ("list_projects", json!({})),
        ("list_secrets", json!({"project": "k3s-infrastructure"})),
        (
            "explain_secret",
            json!({"project": "applications", "key": "STRIPE_API_KEY"}),
        ),
        ("get_plan", json!({})),
        (
            "create_secret",
            json!({"project": "p", "environments": ["prod"], "key": "K",
                   "value": "smuggled-canary-77aa"}),
        ),
    ] {
        answers.push_str(&text(&call(&client, name, arguments).await));
    }
    assert!(answers.contains("\"formatVersion\": 1"));
    client.cancel().await.unwrap();
    let log = tokio::time::timeout(Duration::from_secs(20), log)
        .await
        .expect("the server exits when the client closes")
        .unwrap();
    assert!(log.contains("tool call"), "{log}");
    assert!(log.contains("caller=\"stdio\""), "{log}");
    for text in [&answers, &log] {
        assert_no_canary(text, &canaries);
        assert!(!text.contains("smuggled-canary-77aa"));
    }
}

#[test]
fn http_without_a_token_refuses_to_start() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(["mcp", "--listen", "127.0.0.1:0"])
        .arg(example())
        .env_remove("INFISICAL_GITOPS_MCP_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the MCP HTTP endpoint needs a bearer token"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Proposals: a bare repository as the remote and a GitLab double.

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A bare repository holding the example under `desired-state/`.
fn bare_remote(root: &Path) -> String {
    let work = root.join("seed");
    copy_dir(&example(), &work.join("desired-state"));
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "initial"]);
    git(root, &["clone", "-q", "--bare", "seed", "remote.git"]);
    format!("file://{}", root.join("remote.git").display())
}

#[derive(Debug, Clone)]
struct Captured {
    path: String,
    token: Option<String>,
    body: Value,
}

/// A forge double on loopback: `POST route` records each request (its path, the `token_header`
/// and the JSON body) and answers what `respond` makes of the headers and the request's number
/// (from 1).
async fn forge_double(
    route: &str,
    token_header: &'static str,
    respond: fn(&http::HeaderMap, usize) -> (http::StatusCode, Value),
) -> (String, Arc<Mutex<Vec<Captured>>>) {
    use axum::extract::State;
    use axum::http::{HeaderMap, Uri};
    let captured: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            route,
            axum::routing::post(
                move |State(captured): State<Arc<Mutex<Vec<Captured>>>>,
                      uri: Uri,
                      headers: HeaderMap,
                      axum::Json(body): axum::Json<Value>| async move {
                    let mut all = captured.lock().unwrap();
                    all.push(Captured {
                        path: uri.path().to_string(),
                        token: headers
                            .get(token_header)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string),
                        body,
                    });
                    let (status, body) = respond(&headers, all.len());
                    (status, axum::Json(body))
                },
            ),
        )
        .with_state(captured.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), captured)
}

/// A GitLab double: every merge request is created (201).
async fn gitlab_double() -> (String, Arc<Mutex<Vec<Captured>>>) {
    forge_double(
        "/api/v4/projects/{project}/merge_requests",
        "private-token",
        |_, iid| {
            (
                http::StatusCode::CREATED,
                json!({
                    "iid": iid,
                    "web_url": format!("https://gitlab.example/platform/secrets/-/merge_requests/{iid}"),
                }),
            )
        },
    )
    .await
}

async fn proposal_state(
    root: &Path,
    remote: &str,
    forge_url: &str,
    reconciler: Reconciler,
) -> McpState {
    let forge = ForgeConfig {
        kind: ForgeKind::GitLab,
        api_url: forge_url.to_string(),
        project: "platform/secrets".into(),
        token: SecretString::from("gitlab-token-for-the-double"),
    };
    proposal_state_with(root, remote, forge, reconciler).await
}

async fn proposal_state_with(
    root: &Path,
    remote: &str,
    forge: ForgeConfig,
    reconciler: Reconciler,
) -> McpState {
    let git_config = GitConfig {
        url: remote.to_string(),
        reference: GitReference::Branch("main".into()),
        sub_path: PathBuf::from("desired-state"),
        work_dir: root.join("read"),
        auth: GitAuth::None,
        known_hosts: None,
        shallow: true,
    };
    let source: Arc<dyn Source> = Arc::new(GitRemote(Arc::new(GitSource::new(git_config))));
    let mut config = ProposerConfig::new(remote, "main");
    config.sub_path = Some("desired-state".into());
    config.author_name = "MCP Bot".into();
    config.author_email = "mcp-bot@example.com".into();
    config.work_dir = root.join("proposals");
    config.forge = Some(forge);
    let forge = infisical_gitops::propose::forge::from_config(config.forge.as_ref().unwrap())
        .expect("forge client");
    let proposer = Proposer::new(config, Some(reconciler.clone()), Some(forge));
    McpState::new(
        source,
        Ok(reconciler),
        Proposals::Enabled(Arc::new(proposer)),
    )
}

fn check_pushed_branch(root: &Path, branch: &str, key: &str) {
    let remote = root.join("remote.git");
    let diff = git(&remote, &["diff", "--unified=0", "main", branch]);
    let changed = changed_lines(&diff);
    assert!(
        changed.iter().all(|l| l.starts_with('+')),
        "only additions: {diff}"
    );
    assert!(changed.iter().any(|l| l.contains(key)), "{diff}");
    assert!(changed.len() <= 6, "only the intended lines: {diff}");
    let author = git(&remote, &["log", "-1", "--format=%an <%ae>", branch]);
    assert_eq!(author.trim(), "MCP Bot <mcp-bot@example.com>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_pushes_a_branch_and_opens_a_merge_request_with_the_plan() {
    let canaries = canaries();
    let root = tempfile::tempdir().unwrap();
    let remote = bare_remote(root.path());
    let (forge_url, captured) = gitlab_double().await;
    let (session, reconciler) = dev().await;
    let state = proposal_state(root.path(), &remote, &forge_url, reconciler).await;
    let server = Server::start(state, HttpSecurity::new(SecretString::from(TOKEN))).await;
    let client = server.client().await;

    let checked = call(
        &client,
        "validate_change",
        json!({"edits": [{"op": "create_folder", "project": "k3s-infrastructure", "path": "/queues"}]}),
    )
    .await;
    assert_ne!(checked.is_error, Some(true), "{}", text(&checked));
    assert!(captured.lock().unwrap().is_empty(), "check opens nothing");

    let result = call(
        &client,
        "create_secret",
        json!({
            "project": "k3s-infrastructure",
            "environments": ["prod"],
            "path": "/api-keys",
            "key": "SENTRY_DSN_TOKEN",
            "comment": "error reporting",
            "source": {"generate": {"length": 48}},
            "rationale": "Error reporting needs a token."
        }),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    let structured = result.structured_content.clone().unwrap();
    assert_eq!(
        structured["changeRequestUrl"],
        "https://gitlab.example/platform/secrets/-/merge_requests/1"
    );
    let branch = structured["branch"].as_str().unwrap().to_string();
    assert!(branch.starts_with("infisical-gitops/proposal-"));
    assert_eq!(structured["planSummary"]["create"], 58);
    assert_eq!(structured["planSummary"]["introduced"], 1);
    check_pushed_branch(root.path(), &branch, "SENTRY_DSN_TOKEN");

    let requests = captured.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].path,
        "/api/v4/projects/platform%2Fsecrets/merge_requests"
    );
    assert_eq!(
        requests[0].token.as_deref(),
        Some("gitlab-token-for-the-double")
    );
    assert_eq!(requests[0].body["source_branch"], branch.as_str());
    assert_eq!(requests[0].body["target_branch"], "main");
    let description = requests[0].body["description"].as_str().unwrap();
    assert!(description.contains("Error reporting needs a token."));
    assert!(description.contains("Plan:"), "{description}");

    // An invalid proposal is refused and nothing more is pushed.
    let before = git(&root.path().join("remote.git"), &["branch", "--list"]);
    let refused = call(
        &client,
        "create_environment",
        json!({"project": "no-such-project", "slug": "qa", "name": "QA"}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(
        git(&root.path().join("remote.git"), &["branch", "--list"]),
        before
    );
    // A change the model refuses: the diagnostics come back, nothing is pushed.
    let invalid = call(
        &client,
        "create_secret",
        json!({
            "project": "k3s-infrastructure", "environments": ["prod"], "path": "/undeclared",
            "key": "ORPHAN", "source": {"generate": {"length": 4}}
        }),
    )
    .await;
    assert_eq!(invalid.is_error, Some(true));
    assert_eq!(
        git(&root.path().join("remote.git"), &["branch", "--list"]),
        before
    );
    insta::assert_snapshot!(
        "mcp_proposal_refused",
        format!("{}\n---\n{}", text(&refused), text(&invalid))
    );

    let everything = format!("{}\n{}\n{description}", text(&checked), text(&result));
    assert_no_canary(&everything, &canaries);
    client.cancel().await.unwrap();
    server.stop();
    session.close().await;
}

/// A GitHub double: `POST /repos/{owner}/{repo}/pulls` answers 201 for the first pull request
/// and 422 "A pull request already exists" after that, as GitHub does for a second one.
async fn github_double() -> (String, Arc<Mutex<Vec<Captured>>>) {
    forge_double(
        "/repos/{owner}/{repo}/pulls",
        "authorization",
        |headers, number| {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            assert_eq!(header("accept"), Some("application/vnd.github+json"));
            assert_eq!(header("x-github-api-version"), Some("2022-11-28"));
            if number > 1 {
                return (
                    http::StatusCode::UNPROCESSABLE_ENTITY,
                    json!({
                        "message": "Validation Failed",
                        "errors": [{"resource": "PullRequest", "code": "custom",
                                    "message": "A pull request already exists for platform:proposal."}],
                        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                        "status": "422"
                    }),
                );
            }
            (
                http::StatusCode::CREATED,
                json!({
                    "number": number,
                    "html_url": format!("https://github.example/platform/secrets/pull/{number}"),
                }),
            )
        },
    )
    .await
}

/// A rename proposed through MCP becomes a GitHub pull request carrying the plan; GitHub's 422
/// for a second one comes back as a tool error, and the pushed branch stays for a person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_becomes_a_github_pull_request_and_a_refused_one_is_a_tool_error() {
    let canaries = canaries();
    let root = tempfile::tempdir().unwrap();
    let remote = bare_remote(root.path());
    let (forge_url, captured) = github_double().await;
    let (session, reconciler) = dev().await;
    let forge = ForgeConfig {
        kind: ForgeKind::GitHub,
        api_url: forge_url,
        project: "platform/secrets".into(),
        token: SecretString::from("github-token-for-the-double"),
    };
    let state = proposal_state_with(root.path(), &remote, forge, reconciler).await;
    let server = Server::start(state, HttpSecurity::new(SecretString::from(TOKEN))).await;
    let client = server.client().await;

    let result = call(
        &client,
        "move_secret",
        json!({
            "project": "k3s-infrastructure",
            "path": "/api-keys",
            "key": "SMTP_RELAY_PASSWORD",
            "toKey": "SMTP_PASSWORD",
            "rationale": "One name across all mail relays."
        }),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    let structured = result.structured_content.clone().unwrap();
    assert_eq!(
        structured["changeRequestUrl"],
        "https://github.example/platform/secrets/pull/1"
    );
    let branch = structured["branch"].as_str().unwrap().to_string();
    let diff = git(
        &root.path().join("remote.git"),
        &["diff", "--unified=0", "main", &branch],
    );
    let changed = changed_lines(&diff);
    assert_eq!(
        changed,
        [
            "-    - key: SMTP_RELAY_PASSWORD",
            "+    - key: SMTP_PASSWORD"
        ],
        "a rename changes one line: {diff}"
    );

    let requests = captured.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/repos/platform/secrets/pulls");
    assert_eq!(
        requests[0].token.as_deref(),
        Some("Bearer github-token-for-the-double")
    );
    assert_eq!(requests[0].body["head"], branch.as_str());
    assert_eq!(requests[0].body["base"], "main");
    let description = requests[0].body["body"].as_str().unwrap();
    assert!(description.contains("One name across all mail relays."));
    assert!(description.contains("Plan:"), "{description}");

    // GitHub refuses the second pull request: a tool error that names the branch and GitHub's
    // message; the branch is pushed and left for a person.
    let refused = call(
        &client,
        "create_folder",
        json!({"project": "k3s-infrastructure", "path": "/queues", "environments": ["prod"]}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true), "{}", text(&refused));
    let message = text(&refused);
    assert!(
        message.contains("A pull request already exists"),
        "{message}"
    );
    assert!(message.contains("infisical-gitops/proposal-"), "{message}");
    assert!(
        !message.contains("github-token-for-the-double"),
        "{message}"
    );
    assert_eq!(captured.lock().unwrap().len(), 2);

    let everything = format!("{}\n{message}\n{description}", text(&result));
    assert_no_canary(&everything, &canaries);
    client.cancel().await.unwrap();
    server.stop();
    session.close().await;
}

/// The official Python client (`mcp`) through `mcp-proxy` (stdio → Streamable HTTP), as
/// people configure it for MCP clients that only speak stdio: tools listed, a value refused,
/// a proposal made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_through_mcp_proxy_lists_tools_and_makes_a_proposal() {
    let python = match std::env::var("INFISICAL_GITOPS_TEST_PYTHON") {
        Ok(python) => PathBuf::from(python),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("INFISICAL_GITOPS_TEST_PYTHON must be set in CI (scripts/test sets it)")
        }
        Err(_) => {
            eprintln!("skipped: INFISICAL_GITOPS_TEST_PYTHON is not set (run scripts/test)");
            return;
        }
    };
    let proxy = python.with_file_name("mcp-proxy");
    assert!(
        proxy.exists(),
        "mcp-proxy is installed next to {}",
        python.display()
    );
    let canaries = canaries();
    let root = tempfile::tempdir().unwrap();
    let remote = bare_remote(root.path());
    let (forge_url, captured) = gitlab_double().await;
    let (session, reconciler) = dev().await;
    let state = proposal_state(root.path(), &remote, &forge_url, reconciler).await;
    let server = Server::start(state, HttpSecurity::new(SecretString::from(TOKEN))).await;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/mcp_proxy_e2e.py");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&python)
            .arg(&script)
            .arg(&proxy)
            .arg(&server.url)
            .env("API_ACCESS_TOKEN", TOKEN)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client finishes in time")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let steps: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(steps[0]["server"], "infisical-gitops");
    let names: Vec<&str> = steps[1]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(names.contains(&"create_secret") && names.contains(&"get_plan"));
    assert_eq!(names.len(), 16);
    assert_eq!(steps[2]["isError"], true);
    assert_eq!(steps[3]["isError"], false, "{}", steps[3]);
    let branch = steps[3]["structured"]["branch"].as_str().unwrap();
    assert_eq!(
        steps[3]["structured"]["changeRequestUrl"],
        "https://gitlab.example/platform/secrets/-/merge_requests/1"
    );
    check_pushed_branch(root.path(), branch, "PAGERDUTY_API_KEY");
    let requests = captured.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body["title"], "Add the PagerDuty API key");
    assert!(
        requests[0].body["description"]
            .as_str()
            .unwrap()
            .contains("Plan:")
    );
    assert_no_canary(&stdout, &canaries);
    assert_no_canary(&stderr, &canaries);
    assert!(!stderr.contains("plaintext-canary-0b7e") && !stdout.contains("plaintext-canary-0b7e"));
    server.stop();
    session.close().await;
}

/// `run --mcp`: the same endpoint on the daemon's listener, next to `/healthz`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_mcp_on_the_daemon_listener() {
    install_crypto();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(["run", "--dev", "--mcp", "--listen", &listen])
        .arg(example())
        .env_remove("INFISICAL_GITOPS_MCP_TOKEN")
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("needs a bearer token"));

    let mut daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(["run", "--dev", "--mcp", "--listen", &listen])
        .arg(example())
        .env("INFISICAL_GITOPS_MCP_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(
        crate::support::healthy(&listen, 100).await,
        "the daemon listens"
    );
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("http://{listen}/mcp"))
            .auth_header(TOKEN),
    );
    let client = tokio::time::timeout(Duration::from_secs(20), ().serve(transport))
        .await
        .unwrap()
        .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 16);
    let plan = call(&client, "get_plan", json!({})).await;
    assert_ne!(plan.is_error, Some(true), "{}", text(&plan));
    client.cancel().await.unwrap();
    let (status, _, _) = post(&format!("http://{listen}/mcp"), &[], INITIALIZE.into()).await;
    assert_eq!(status, 401);
    daemon.kill().await.unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_change_never_reads_through_a_link_in_the_repository() {
    const CANARY_FILE: &str = "canary-mcp-credentials-3e8f";
    let work = tempfile::tempdir().unwrap();
    let outside = work.path().join("git-credentials");
    std::fs::write(&outside, format!("kind: {CANARY_FILE}\n")).unwrap();
    let repo = work.path().join("repo");
    copy_dir(&example(), &repo);
    std::os::unix::fs::symlink(&outside, repo.join("creds.yaml")).unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", repo.join("env.yaml")).unwrap();
    let source: Arc<dyn Source> = Arc::new(LocalDirectory(repo.clone()));
    let state = Arc::new(McpState::new(
        source,
        Err("no Infisical in this test".to_string()),
        Proposals::Disabled(NO_REMOTE.to_string()),
    ));
    let arguments = object(json!({"files": [{
        "path": "secrets/k3s-infrastructure/extra.yaml",
        "content": "apiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: extra\nspec:\n  project: k3s-infrastructure\n  environments: [prod]\n  path: /api-keys\n  secrets:\n    - key: EXTRA_TOKEN\n      generate: {length: 40}\n",
    }]}));
    let error = infisical_gitops::mcp::tools::dispatch(&state, "validate_change", arguments)
        .await
        .expect_err("the links are refused");
    let shown = format!(
        "{} {:?} {:?}",
        error.message, error.diagnostics, error.detail
    );
    assert!(!shown.contains(CANARY_FILE), "{shown}");
    let refused: Vec<&str> = error
        .diagnostics
        .iter()
        .filter(|d| d["code"] == "symbolic-link")
        .filter_map(|d| d["origin"]["file"].as_str())
        .collect();
    assert_eq!(refused, ["creds.yaml", "env.yaml"], "{shown}");
    insta::assert_snapshot!(error.message, @"the change does not validate: 2 error(s)");
}
