//! Network limits against hostile peers, over loopback: answers larger than the limit from
//! Infisical, `bw serve`, `bws` and a forge; webhook secrets too weak to start with; slow, idle
//! and surplus connections on the listener; failed logins from fresh connections; and more MCP
//! sessions than the caps.

use crate::support::names::{env_slug, folder_path};
use infisical_gitops::infisical::Depth;
use infisical_gitops::infisical::ProjectId;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use infisical_gitops::daemon::http::{WebhookSecrets, router as daemon_router};
use infisical_gitops::daemon::{Daemon, DaemonConfig};
use infisical_gitops::infisical::memory::MemoryInfisical;
use infisical_gitops::infisical::{ApiError, ClientConfig, Credentials, HttpClient, InfisicalApi};
use infisical_gitops::mcp::http::{HttpSecurity, router as mcp_router};
use infisical_gitops::mcp::{McpState, NO_REMOTE, Proposals};
use infisical_gitops::net::listener::{ListenerLimits, serve};
use infisical_gitops::propose::forge::{Forge, ForgeError, GitLab};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::resolve::bitwarden::{BitwardenError, BwsCli, ServeClient};
use infisical_gitops::source::{LocalDirectory, Source};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MIB: u64 = 1024 * 1024;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state")
}

fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

// ---------------------------------------------------------------------------------------------
// A hostile HTTP server: answers every request with a large body.

/// How the hostile server answers.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Announces this `Content-Length`, sends a few bytes, and holds the connection.
    Announced(u64),
    /// Sends a chunked body of this many bytes (a JSON array start, then padding), as fast as
    /// the client reads.
    Chunked { status: u16, total: u64 },
}

struct Hostile {
    url: String,
    requests: Arc<AtomicUsize>,
    /// Body bytes the server managed to hand to the socket, over all connections.
    written: Arc<AtomicU64>,
}

async fn read_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&byte[..n]),
        }
        if head.len() > 64 * 1024 {
            return false;
        }
    }
    true
}

async fn hostile(answer: Answer) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let written = Arc::new(AtomicU64::new(0));
    let (count, bytes) = (requests.clone(), written.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (count, bytes) = (count.clone(), bytes.clone());
            tokio::spawn(async move {
                if !read_head(&mut stream).await {
                    return;
                }
                count.fetch_add(1, Ordering::SeqCst);
                match answer {
                    Answer::Announced(length) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n{{\"secrets\":["
                        );
                        let _ = stream.write_all(head.as_bytes()).await;
                        // Hold the connection: a client that waits for the body waits here.
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    Answer::Chunked { status, total } => {
                        let head = format!(
                            "HTTP/1.1 {status} Whatever\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                        );
                        if stream.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = vec![b' '; 64 * 1024];
                        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                        frame.extend_from_slice(&chunk);
                        frame.extend_from_slice(b"\r\n");
                        let first = b"{\"data\":{\"data\":[";
                        let mut sent = 0u64;
                        let opening = format!("{:x}\r\n", first.len()).into_bytes();
                        let _ = stream.write_all(&opening).await;
                        let _ = stream.write_all(first).await;
                        let _ = stream.write_all(b"\r\n").await;
                        while sent < total {
                            if stream.write_all(&frame).await.is_err() {
                                break;
                            }
                            sent += chunk.len() as u64;
                            bytes.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                        }
                        let _ = stream.write_all(b"0\r\n\r\n").await;
                    }
                }
            });
        }
    });
    Hostile {
        url,
        requests,
        written,
    }
}

fn infisical_client(url: &str, limit: u64) -> HttpClient {
    let mut config = ClientConfig::new(url, Credentials::access_token("token-canary-0a1b2c"));
    config.request_timeout = Duration::from_secs(20);
    config.max_response_bytes = limit;
    HttpClient::new(config).unwrap()
}

/// Socket buffers on loopback hold a few MiB at most: a client that stops reading at the
/// limit lets the server write no more than this beyond it.
const SOCKET_SLACK: u64 = 16 * MIB;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_infisical_answer_stops_at_the_limit_with_a_clear_error() {
    let server = hostile(Answer::Chunked {
        status: 200,
        total: 256 * MIB,
    })
    .await;
    let client = infisical_client(&server.url, MIB);
    let started = Instant::now();
    let error = client
        .list_secrets(
            &ProjectId::new("project-1"),
            &env_slug("prod"),
            &folder_path("/"),
            Depth::Recursive,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::TooLarge { limit, .. } if limit == MIB),
        "{error:?}"
    );
    insta::assert_snapshot!(error.to_string(), @"answer too large: GET /api/v4/secrets: the answer (status 200) is larger than the limit of 1 MiB; raise --infisical-max-response-bytes if the instance really holds that much in one listing");
    assert!(
        !matches!(
            error,
            ApiError::RateLimited { .. } | ApiError::Server { .. } | ApiError::Network { .. }
        ),
        "never retried"
    );
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "one request, no retry"
    );
    // Give the server a moment to notice the closed connection, then check what it got out.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = server.written.load(Ordering::SeqCst);
    assert!(
        written <= MIB + SOCKET_SLACK,
        "the client read on: the server wrote {written} bytes"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_oversized_infisical_answer_is_refused_before_its_body() {
    let server = hostile(Answer::Announced(1536 * MIB)).await;
    let client = infisical_client(&server.url, 64 * MIB);
    let started = Instant::now();
    let error = client.list_projects().await.unwrap_err();
    assert!(matches!(error, ApiError::TooLarge { .. }), "{error:?}");
    insta::assert_snapshot!(error.to_string(), @"answer too large: GET /api/v1/projects: the answer (status 200) is larger than the limit of 64 MiB (it announced 1610612736 bytes); raise --infisical-max-response-bytes if the instance really holds that much in one listing");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once, not after the request timeout"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn the_default_infisical_limit_holds_ten_thousand_four_kilobyte_secrets() {
    // One listed secret as a real Infisical returns it (reference §5.3, §12), with a 4 KB value.
    let item = serde_json::json!({
        "_id": "6f1c1c2e-8d0c-4c3e-9a0b-6f1c1c2e8d0c", "id": "6f1c1c2e-8d0c-4c3e-9a0b-6f1c1c2e8d0c",
        "workspace": "0b7e3c9a-1f2d-4e5c-8a6b-0b7e3c9a1f2d", "environment": "production",
        "secretKey": "SERVICE_00001_DATABASE_PASSWORD", "secretValue": "x".repeat(4096),
        "secretValueHidden": false, "secretComment": "", "secretPath": "/apps/service-01",
        "secretMetadata": [{"key": "managed-by", "value": "infisical-gitops", "isEncrypted": false}],
        "tags": [{"id": "9d8c7b6a-5f4e-4d3c-2b1a-9d8c7b6a5f4e", "slug": "managed", "color": "#bec2c8", "name": "managed"}],
        "type": "shared", "version": 3, "skipMultilineEncoding": false, "secretReminderNote": null,
        "secretReminderRepeatDays": null, "isRotatedSecret": false, "rotationId": null,
        "createdAt": "2026-07-01T12:00:00.000Z", "updatedAt": "2026-07-01T12:00:00.000Z"
    });
    let one = serde_json::to_vec(&item).unwrap().len() as u64 + 1;
    let ten_thousand = one * 10_000;
    assert!(
        ten_thousand < infisical_gitops::infisical::client::DEFAULT_MAX_RESPONSE_BYTES,
        "{ten_thousand} bytes"
    );
    assert!(
        ten_thousand > 40 * MIB,
        "the measure is realistic: {ten_thousand} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_bw_serve_answer_stops_at_the_limit() {
    install_crypto();
    let server = hostile(Answer::Chunked {
        status: 200,
        total: 256 * MIB,
    })
    .await;
    let client = ServeClient::new(&server.url)
        .unwrap()
        .with_max_answer_bytes(MIB);
    let error = client
        .list_items(Some("database"), None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, BitwardenError::AnswerTooLarge { .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), "bitwarden-error");
    insta::assert_snapshot!(error.to_string(), @"`bw serve` answered GET /list/object/items with more than 1 MiB, the limit; reference the item by `item: <id>`, or narrow its folder or collection so that fewer items match");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.written.load(Ordering::SeqCst) <= MIB + SOCKET_SLACK);
    assert_eq!(
        infisical_gitops::resolve::bitwarden::serve::MAX_ANSWER_BYTES,
        32 * MIB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_forge_answer_is_refused() {
    install_crypto();
    let server = hostile(Answer::Chunked {
        status: 201,
        total: 64 * MIB,
    })
    .await;
    let forge = GitLab::new(
        &server.url,
        "platform/secrets",
        SecretString::from("forge-token-canary-3d4e"),
    )
    .unwrap();
    let error = forge
        .open_change_request("proposal", "main", "title", "description")
        .await
        .unwrap_err();
    assert!(matches!(error, ForgeError::TooLarge { .. }), "{error:?}");
    let text = error.to_string().replace(&server.url, "http://[forge]");
    insta::assert_snapshot!(text, @"the forge at http://[forge] answered with more than 1 MiB, the limit");
    assert!(!text.contains("forge-token-canary"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.written.load(Ordering::SeqCst) <= MIB + SOCKET_SLACK);
}

#[tokio::test]
async fn bws_printing_more_than_the_limit_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bws");
    // 4 MiB of output: far more than one secret.
    std::fs::write(
        &path,
        "#!/bin/sh\nhead -c 4194304 /dev/zero | tr '\\000' a\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bws = BwsCli::new(&path, Some(SecretString::from("0.token-canary-9e8f")));
    let error = bws
        .secret("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01")
        .await
        .unwrap_err();
    assert!(
        matches!(error, BitwardenError::BwsOutputTooLarge { .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), "bws-failed");
    let text = error
        .to_string()
        .replace(&path.display().to_string(), "[bws]");
    insta::assert_snapshot!(text, @"`[bws]` printed more than 1 MiB, the limit for one secret");
}

// ---------------------------------------------------------------------------------------------
// Webhook secrets: the daemon refuses to start with an empty, blank or short one.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_empty_blank_or_short_webhook_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let empty = write("empty", "");
    let blank = write("blank", "  \n\t\n");
    let short = write("short", "hook-secret\n");
    let cases: Vec<(Vec<String>, Option<&str>)> = vec![
        (vec!["--gitlab-token-file".into(), empty], None),
        (vec!["--github-secret-file".into(), blank], None),
        (vec!["--github-secret-file".into(), short], None),
        (Vec::new(), Some("   ")),
    ];
    let mut transcript = String::new();
    for (flags, variable) in cases {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"));
        command
            .args(["run", "--dev", "--listen", "127.0.0.1:0"])
            .args(&flags)
            .arg(example())
            .env("NO_COLOR", "1")
            .env_remove("INFISICAL_GITOPS_GITLAB_WEBHOOK_TOKEN")
            .env_remove("INFISICAL_GITOPS_GITHUB_WEBHOOK_SECRET")
            .kill_on_drop(true);
        if let Some(value) = variable {
            command.env("INFISICAL_GITOPS_GITLAB_WEBHOOK_TOKEN", value);
        }
        let output = tokio::time::timeout(Duration::from_secs(30), command.output())
            .await
            .expect("refused at once, not started")
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{flags:?}");
        // The message, unwrapped from the report's frame.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = stderr
            .lines()
            .map(|l| l.trim().trim_start_matches(['×', '│']).trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .replace(&dir.path().display().to_string(), "[dir]");
        assert!(line.starts_with("the "), "{stderr}");
        transcript.push_str(&line);
        transcript.push('\n');
    }
    insta::assert_snapshot!(transcript, @r"
    the GitLab webhook secret from --gitlab-token-file [dir]/empty is empty: put a random secret of at least 16 characters there (e.g. `openssl rand -hex 32`) and the same in the GitLab webhook settings, or remove the setting to turn the GitLab webhook off
    the GitHub webhook secret from --github-secret-file [dir]/blank is empty: put a random secret of at least 16 characters there (e.g. `openssl rand -hex 32`) and the same in the GitHub webhook settings, or remove the setting to turn the GitHub webhook off
    the GitHub webhook secret from --github-secret-file [dir]/short is too short: use at least 16 characters (e.g. `openssl rand -hex 32`), and the same in the GitHub webhook settings
    the GitLab webhook secret from INFISICAL_GITOPS_GITLAB_WEBHOOK_TOKEN is empty: put a random secret of at least 16 characters there (e.g. `openssl rand -hex 32`) and the same in the GitLab webhook settings, or remove the setting to turn the GitLab webhook off
    ");
}

// ---------------------------------------------------------------------------------------------
// The listener: slow, idle and surplus connections.

const GITHUB_SECRET: &str = "github-secret-for-limit-tests";

fn daemon_app() -> axum::Router {
    let reconciler = Reconciler::new(
        Arc::new(MemoryInfisical::new()),
        Arc::new(SourceResolver::new()),
    );
    let source: Arc<dyn Source> = Arc::new(LocalDirectory(example()));
    let (_daemon, state) = Daemon::new(reconciler, source, DaemonConfig::default());
    daemon_router(
        state,
        WebhookSecrets {
            gitlab_token: None,
            github_secret: Some(GITHUB_SECRET.into()),
        },
        axum::Router::new(),
    )
}

async fn listen(app: axum::Router, limits: ListenerLimits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    address
}

fn short_limits() -> ListenerLimits {
    ListenerLimits {
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        ..ListenerLimits::default()
    }
}

/// Reads until the server closes the connection (or `within` passes); returns what it sent
/// and when it closed.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .is_ok();
    (
        String::from_utf8_lossy(&received).into_owned(),
        closed.then(|| started.elapsed()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_request_head_is_closed_after_the_header_read_timeout() {
    let address = listen(daemon_app(), short_limits()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let (_, closed) = until_closed(&mut stream, Duration::from_secs(10)).await;
    let closed = closed.expect("the slow client is disconnected");
    assert!(closed >= Duration::from_millis(150), "{closed:?}");
    assert!(closed < Duration::from_secs(5), "{closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_before_and_between_requests() {
    let address = listen(daemon_app(), short_limits()).await;
    // Connected, silent.
    let mut silent = TcpStream::connect(address).await.unwrap();
    let (_, closed) = until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(closed.expect("closed") < Duration::from_secs(5));
    // One request answered, then silent on the kept-alive connection.
    let mut kept = TcpStream::connect(address).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (received, closed) = until_closed(&mut kept, Duration::from_secs(10)).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(closed.expect("closed") < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_body_is_cut_after_the_body_read_timeout() {
    let address = listen(daemon_app(), short_limits()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /hooks/github HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\
              X-Hub-Signature-256: sha256=00\r\n\r\n{\"ref\":",
        )
        .await
        .unwrap();
    let (received, closed) = until_closed(&mut stream, Duration::from_secs(10)).await;
    let closed = closed.expect("the slow body is cut");
    assert!(closed < Duration::from_secs(5), "{closed:?}");
    assert!(
        received.is_empty() || received.starts_with("HTTP/1.1 4"),
        "{received}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_answered_503_and_closed() {
    let limits = ListenerLimits {
        header_read_timeout: Duration::from_secs(30),
        max_connections: 2,
        ..ListenerLimits::default()
    };
    let address = listen(daemon_app(), limits).await;
    let first = TcpStream::connect(address).await.unwrap();
    let _second = TcpStream::connect(address).await.unwrap();
    // The listener accepts in order: give it a moment to hold both.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(address).await.unwrap();
    let (received, closed) = until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the surplus connection is closed at once");
    insta::assert_snapshot!(received.replace("\r\n", "\n"), @r#"
    HTTP/1.1 503 Service Unavailable
    content-type: application/json
    retry-after: 1
    connection: close
    content-length: 84

    {"error":"too-many-connections","message":"too many open connections; retry later"}
    "#);
    // A closed connection frees its place.
    drop(first);
    let mut served = false;
    for _ in 0..50 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (received, _) = until_closed(&mut stream, Duration::from_secs(5)).await;
        if received.starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "a place freed up");
}

/// The daemon binary: a slowloris connection is dropped within the default header-read
/// timeout (15 s), not kept for minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_drops_a_slowloris_connection_within_the_default_timeout() {
    install_crypto();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let _daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(["run", "--dev", "--listen", &listen])
        .arg(example())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(
        crate::support::healthy(&listen, 200).await,
        "the daemon listens"
    );
    let mut stream = TcpStream::connect(&listen).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let (_, closed) = until_closed(&mut stream, Duration::from_secs(40)).await;
    let closed = closed.expect("dropped, not held");
    assert!(closed < Duration::from_secs(20), "{closed:?}");
}

// ---------------------------------------------------------------------------------------------
// MCP: failed logins per address, sessions per token and in total.

const TOKEN: &str = "limits-token-5c1f9e0a7b3d";
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

async fn mcp(security: HttpSecurity) -> String {
    install_crypto();
    let source: Arc<dyn Source> = Arc::new(LocalDirectory(example()));
    let state = McpState::new(
        source,
        Err("no Infisical".into()),
        Proposals::Disabled(NO_REMOTE.to_string()),
    );
    let (app, _handle) = mcp_router(Arc::new(state), security);
    let address = listen(app, ListenerLimits::default()).await;
    format!("http://{address}/mcp")
}

/// One request on a fresh connection (a fresh client, so a fresh source port).
async fn request(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(method, url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    tokio::time::timeout(Duration::from_secs(10), async move {
        let response = request
            .body(body.to_string())
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap_or_default())
    })
    .await
    .expect("answer in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_limited_per_address_across_fresh_connections() {
    let mut security = HttpSecurity::new(SecretString::from(TOKEN));
    security.rate_per_minute = 5;
    let url = mcp(security).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for attempt in 0..8 {
        let wrong = format!("Bearer wrong-token-{attempt:04}-0000000");
        let (status, headers, _) = request(
            reqwest::Method::POST,
            &url,
            &[("authorization", &wrong)],
            INITIALIZE,
        )
        .await;
        if status == 429 {
            retry_after = headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
        }
        statuses.push(status);
    }
    // Every attempt came on a fresh connection, from a new source port.
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(retry_after.is_some());
}

fn session_of(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("mcp-session-id")
        .expect("a session id")
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_beyond_the_per_token_cap_are_refused_until_one_closes() {
    let mut security = HttpSecurity::new(SecretString::from(TOKEN));
    security.max_sessions_per_token = 3;
    let url = mcp(security).await;
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let (status, headers, body) = request(reqwest::Method::POST, &url, &auth, INITIALIZE).await;
        assert_eq!(status, 200, "{body}");
        sessions.push(session_of(&headers));
    }
    let (status, headers, body) = request(reqwest::Method::POST, &url, &auth, INITIALIZE).await;
    assert_eq!(status, 429);
    assert_eq!(headers.get("retry-after").unwrap(), "60");
    insta::assert_snapshot!(body, @r#"{"error":"too-many-sessions","message":"this token has 3 open MCP sessions, the limit; close unused ones (HTTP DELETE /mcp with their Mcp-Session-Id) or wait until idle ones expire after 5 minutes"}"#);
    // Requests within an open session go on.
    let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
    let in_session = [
        ("authorization", bearer.as_str()),
        ("mcp-session-id", sessions[0].as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let (status, _, body) = request(reqwest::Method::POST, &url, &in_session, ping).await;
    assert_ne!(status, 429, "{body}");
    // Closing one frees its place.
    let closing = [
        ("authorization", bearer.as_str()),
        ("mcp-session-id", sessions[1].as_str()),
    ];
    let (status, _, body) = request(reqwest::Method::DELETE, &url, &closing, "").await;
    assert!(status < 300, "{status} {body}");
    let (status, headers, body) = request(reqwest::Method::POST, &url, &auth, INITIALIZE).await;
    assert_eq!(status, 200, "{body}");
    assert!(!session_of(&headers).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_beyond_the_total_cap_are_refused_with_503() {
    let mut security = HttpSecurity::new(SecretString::from(TOKEN));
    security.max_sessions_per_token = 10;
    security.max_sessions = 2;
    let url = mcp(security).await;
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    for _ in 0..2 {
        let (status, _, body) = request(reqwest::Method::POST, &url, &auth, INITIALIZE).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, headers, body) = request(reqwest::Method::POST, &url, &auth, INITIALIZE).await;
    assert_eq!(status, 503);
    assert_eq!(headers.get("retry-after").unwrap(), "60");
    insta::assert_snapshot!(body, @r#"{"error":"sessions-full","message":"the server has 2 open MCP sessions, its limit; retry later"}"#);
}

#[test]
fn the_session_defaults_are_sixteen_per_token_and_sixty_four_in_total() {
    let security = HttpSecurity::new(SecretString::from(TOKEN));
    assert_eq!(security.max_sessions_per_token, 16);
    assert_eq!(security.max_sessions, 64);
    let limits = ListenerLimits::default();
    assert_eq!(limits.header_read_timeout, Duration::from_secs(15));
    assert_eq!(limits.body_read_timeout, Duration::from_secs(30));
    assert_eq!(limits.max_connections, 128);
    assert_eq!(limits.max_connections_per_ip, 64);
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    // The listener hands handlers the real peer (the MCP guard keys failed logins by its IP
    // and logs it, port included, in the audit line).
    let app = axum::Router::new().route(
        "/peer",
        axum::routing::get(
            |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                peer.ip().to_string()
            },
        ),
    );
    let address = listen(app, ListenerLimits::default()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (received, _) = until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(received.ends_with("127.0.0.1"), "{received}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_answers_and_large_bodies_within_the_limits_still_work() {
    // An event stream that lasts longer than the header-read timeout (as MCP's do), and a
    // request body larger than the 64 KiB head buffer.
    let app = axum::Router::new()
        .route(
            "/stream",
            axum::routing::get(|| async {
                let ticks = futures::stream::unfold(0u32, |n| async move {
                    if n == 8 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((
                        Ok::<_, std::convert::Infallible>(format!("tick {n}\n")),
                        n + 1,
                    ))
                });
                axum::body::Body::from_stream(ticks)
            }),
        )
        .route(
            "/length",
            axum::routing::post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(2 * 1024 * 1024));
    let address = listen(app, short_limits()).await;
    install_crypto();
    let client = reqwest::Client::new();
    let streamed = client
        .get(format!("http://{address}/stream"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(streamed.lines().count(), 8, "{streamed}");
    let length = client
        .post(format!("http://{address}/length"))
        .body(vec![b'x'; 1024 * 1024])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(length, "1048576");
}
