//! The HTTP client under trouble, against the scripted double on loopback, in paused tokio
//! time (no real sleeps): rate limits, 5xx, cut connections, slow answers, expiring tokens,
//! approval answers, the concurrency limit, and that nothing secret leaks into errors or logs.

use crate::support::names::{env_slug, folder_path, tag_slug};
use infisical_gitops::infisical::Depth;
use infisical_gitops::infisical::ProjectId;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Method;
use infisical_gitops::infisical::{
    ApiError, ClientConfig, CreateFolder, CreateProject, Credentials, HttpClient, InfisicalApi,
    RetryPolicy, SecretDelete, SecretScope, SecretWrite, WriteOutcome,
};
use tokio::time::Instant;

use super::support::writes::managed as write;
use crate::client_double::{CLIENT_ID, CLIENT_SECRET, Double, Fault, PROJECT_ID};

const VALUE_CANARY: &str = "value-canary-9c1e";

fn config(double: &Double) -> ClientConfig {
    let mut config = ClientConfig::new(
        format!("{}/api/", double.url),
        Credentials::universal_auth(CLIENT_ID, CLIENT_SECRET),
    );
    config.request_timeout = Duration::from_secs(5);
    config.retry = RetryPolicy {
        max_attempts: 5,
        base_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(30),
        total_budget: Duration::from_secs(120),
    };
    config
}

fn client(double: &Double) -> HttpClient {
    HttpClient::new(config(double)).expect("client")
}

fn scope(path: &str) -> SecretScope {
    SecretScope {
        project_id: ProjectId::new(PROJECT_ID),
        environment: env_slug("dev"),
        path: folder_path(path),
    }
}

const SECRETS_BATCH: &str = "/api/v4/secrets/batch";
const SECRETS: &str = "/api/v4/secrets";

#[tokio::test(start_paused = true)]
async fn rate_limit_is_retried_after_the_requested_wait() {
    let double = Double::start().await;
    let client = client(&double);
    client.authenticate().await.unwrap();
    double.inject(Method::GET, SECRETS, Fault::RateLimit(7));
    double.inject(Method::GET, SECRETS, Fault::RateLimit(7));
    let started = Instant::now();
    let secrets = client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(secrets.is_empty());
    assert_eq!(double.count("GET", SECRETS), 3);
    assert!(waited >= Duration::from_secs(14), "waited {waited:?}");
    assert!(waited < Duration::from_secs(15), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_in_count() {
    let double = Double::start().await;
    let client = client(&double);
    for _ in 0..10 {
        double.inject(Method::GET, SECRETS, Fault::Status(503));
    }
    let error = client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::Server { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(double.count("GET", SECRETS), 5, "max_attempts");
    assert!(
        error
            .to_string()
            .contains("GET /api/v4/secrets (reqId req-double-1)"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_in_time() {
    let double = Double::start().await;
    let mut config = config(&double);
    config.retry.max_attempts = 100;
    config.retry.total_budget = Duration::from_secs(20);
    let client = HttpClient::new(config).unwrap();
    client.authenticate().await.unwrap();
    for _ in 0..100 {
        double.inject(Method::GET, SECRETS, Fault::RateLimit(6));
    }
    let started = Instant::now();
    let error = client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(6)),
        "{error:?}"
    );
    assert!(started.elapsed() <= Duration::from_secs(20));
    assert_eq!(
        double.count("GET", SECRETS),
        4,
        "0s, 6s, 12s, 18s; 24s is past the budget"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cut_read_is_retried() {
    let double = Double::start().await;
    let client = client(&double);
    double.inject(Method::GET, SECRETS, Fault::DropBeforeHandling);
    double.inject(Method::GET, SECRETS, Fault::Status(502));
    client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    assert_eq!(double.count("GET", SECRETS), 3);
}

#[tokio::test(start_paused = true)]
async fn a_create_whose_answer_was_lost_is_not_repeated() {
    for fault in [
        Fault::DropAfterHandling,
        Fault::StatusAfterHandling(502),
        Fault::SlowAfterHandling(Duration::from_secs(60)),
    ] {
        let double = Double::start().await;
        let client = client(&double);
        double.inject(Method::POST, SECRETS_BATCH, fault.clone());
        let outcome = client
            .create_secrets(
                &scope("/"),
                &[write("A", " a-value "), write("B", "b-value")],
            )
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        let WriteOutcome::Applied(secrets) = outcome else {
            panic!("{fault:?}: not applied")
        };
        assert_eq!(secrets.len(), 2, "{fault:?}");
        assert_eq!(
            double.count("POST", SECRETS_BATCH),
            1,
            "{fault:?}: create repeated"
        );
        assert_eq!(double.count("GET", SECRETS), 1, "{fault:?}: one re-read");
        let stored = double.stored("dev", "/");
        assert_eq!(stored.len(), 2);
        assert_eq!(stored["A"].value, "a-value");
        assert_eq!(stored["A"].version, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_create_that_never_arrived_is_repeated_after_the_reread() {
    let double = Double::start().await;
    let client = client(&double);
    double.inject(Method::POST, SECRETS_BATCH, Fault::DropBeforeHandling);
    double.inject(Method::POST, SECRETS_BATCH, Fault::Status(500));
    let outcome = client
        .create_secrets(&scope("/"), &[write("A", "1")])
        .await
        .unwrap();
    assert!(matches!(outcome, WriteOutcome::Applied(ref s) if s.len() == 1));
    assert_eq!(double.count("POST", SECRETS_BATCH), 3);
    assert_eq!(double.count("GET", SECRETS), 2);
    assert_eq!(double.stored("dev", "/").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_reread_is_outcome_unknown() {
    let double = Double::start().await;
    let client = client(&double);
    double.inject(Method::POST, SECRETS_BATCH, Fault::DropAfterHandling);
    for _ in 0..10 {
        double.inject(Method::GET, SECRETS, Fault::Status(500));
    }
    let error = client
        .create_secrets(&scope("/"), &[write("A", VALUE_CANARY)])
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::OutcomeUnknown(_)), "{error:?}");
    assert_eq!(double.count("POST", SECRETS_BATCH), 1);
    let text = format!("{error} {error:?}");
    assert!(text.contains("POST /api/v4/secrets/batch"), "{text}");
    assert!(!text.contains(VALUE_CANARY), "{text}");
}

#[tokio::test(start_paused = true)]
async fn other_creates_reread_too() {
    let double = Double::start().await;
    let client = client(&double);

    double.inject(Method::POST, "/api/v1/projects", Fault::DropAfterHandling);
    let project = client
        .create_project(&CreateProject {
            name: "Payments".into(),
            slug: "payments".into(),
            description: None,
            create_default_environments: false,
        })
        .await
        .unwrap();
    assert_eq!(project.slug, "payments");
    assert_eq!(double.count("POST", "/api/v1/projects"), 1);

    double.inject(
        Method::POST,
        "/api/v2/folders",
        Fault::SlowAfterHandling(Duration::from_secs(99)),
    );
    let folder = client
        .create_folder(&CreateFolder {
            project_id: ProjectId::new(PROJECT_ID),
            environment: env_slug("dev"),
            parent_path: folder_path("/"),
            name: "apps".into(),
            description: None,
        })
        .await
        .unwrap();
    assert_eq!(folder.path, "/apps");
    assert_eq!(double.count("POST", "/api/v2/folders"), 1);

    let tags = format!("/api/v1/projects/{PROJECT_ID}/tags");
    let tags: &'static str = Box::leak(tags.into_boxed_str());
    double.inject(Method::POST, tags, Fault::StatusAfterHandling(504));
    let tag = client
        .create_tag(&ProjectId::new(PROJECT_ID), &tag_slug("managed"))
        .await
        .unwrap();
    assert_eq!(tag.slug, "managed");
    assert_eq!(double.count("POST", tags), 1);
}

#[tokio::test(start_paused = true)]
async fn a_delete_whose_answer_was_lost_is_done() {
    let double = Double::start().await;
    let client = client(&double);
    client
        .create_secrets(&scope("/"), &[write("A", "1"), write("B", "2")])
        .await
        .unwrap();
    double.inject(Method::DELETE, SECRETS_BATCH, Fault::DropAfterHandling);
    let outcome = client
        .delete_secrets(&scope("/"), &[SecretDelete { key: "A".into() }])
        .await
        .unwrap();
    assert!(matches!(outcome, WriteOutcome::Applied(_)));
    assert_eq!(double.count("DELETE", SECRETS_BATCH), 1);
    assert_eq!(double.stored("dev", "/").keys().collect::<Vec<_>>(), ["B"]);
}

#[tokio::test(start_paused = true)]
async fn a_rejected_token_leads_to_one_fresh_login() {
    let double = Double::start().await;
    let client = client(&double);
    client.authenticate().await.unwrap();
    double.inject(Method::GET, SECRETS, Fault::TokenError);
    client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    assert_eq!(double.with(|s| s.logins), 2);

    // a token the server keeps rejecting: one fresh login, then the error
    double.inject(Method::GET, SECRETS, Fault::TokenError);
    double.inject(Method::GET, SECRETS, Fault::TokenError);
    let error = client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::Token(_)), "{error:?}");
    assert_eq!(double.with(|s| s.logins), 3);
}

#[tokio::test(start_paused = true)]
async fn the_token_is_renewed_before_it_expires_and_replaced_after_max_ttl() {
    let double = Double::start().await;
    double.with(|s| {
        s.token_ttl = 600;
        s.token_max_ttl = 1_500;
    });
    let client = client(&double);
    client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    assert_eq!(double.with(|s| (s.logins, s.renewals)), (1, 0));

    tokio::time::advance(Duration::from_secs(560)).await; // 60 s before expiry
    client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    assert_eq!(double.with(|s| (s.logins, s.renewals)), (1, 1));

    tokio::time::advance(Duration::from_secs(1_000)).await; // past the max TTL
    client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    assert_eq!(double.with(|s| (s.logins, s.renewals)), (2, 1));
    assert_eq!(double.count("GET", SECRETS), 3, "no request was rejected");
}

#[tokio::test(start_paused = true)]
async fn a_token_revoked_behind_the_clients_back_is_replaced() {
    let double = Double::start().await;
    let client = client(&double);
    client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    double.with(|s| s.revoke_all());
    client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    assert_eq!(double.with(|s| s.logins), 2);
    assert_eq!(double.count("GET", SECRETS), 3, "one rejected, one retried");
}

#[tokio::test(start_paused = true)]
async fn wrong_credentials_are_unauthorized_without_retry() {
    let double = Double::start().await;
    let mut config = config(&double);
    config.credentials = Credentials::universal_auth(CLIENT_ID, "wrong-secret-canary");
    let client = HttpClient::new(config).unwrap();
    let error = client.list_projects().await.unwrap_err();
    assert!(matches!(error, ApiError::Unauthorized(_)), "{error:?}");
    assert_eq!(double.count("POST", "/api/v1/auth/universal-auth/login"), 1);
    assert!(!format!("{error:?}").contains("canary"));
}

#[tokio::test(start_paused = true)]
async fn an_access_token_is_used_as_is() {
    let double = Double::start().await;
    let mut config = config(&double);
    config.credentials = Credentials::access_token("not-a-valid-token");
    let client = HttpClient::new(config).unwrap();
    let error = client.list_projects().await.unwrap_err();
    assert!(matches!(error, ApiError::Token(_)), "{error:?}");
    assert_eq!(double.count("POST", "/api/v1/auth/universal-auth/login"), 0);
    assert_eq!(double.count("GET", "/api/v1/projects"), 1);
}

#[tokio::test(start_paused = true)]
async fn an_approval_answer_is_pending_never_applied() {
    let double = Double::start().await;
    double.with(|s| s.approval_paths.push("/".into()));
    let client = client(&double);
    let outcome = client
        .create_secrets(&scope("/"), &[write("A", "1")])
        .await
        .unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::PendingApproval {
            approval_id: Some("approval-1".into())
        }
    );
    assert!(double.stored("dev", "/").is_empty());
}

#[tokio::test(start_paused = true)]
async fn requests_in_flight_are_bounded() {
    let double = Double::start().await;
    double.with(|s| s.latency = Duration::from_millis(100));
    let mut config = config(&double);
    config.max_concurrent_requests = 3;
    let client = HttpClient::new(config).unwrap();
    client.authenticate().await.unwrap();
    let (project, dev, root) = (
        ProjectId::new(PROJECT_ID),
        env_slug("dev"),
        folder_path("/"),
    );
    let calls = (0..12).map(|_| client.list_secrets(&project, &dev, &root, Depth::Direct));
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(double.with(|s| s.max_in_flight), 3);
}

#[tokio::test(start_paused = true)]
async fn an_empty_body_is_sent_without_content_type() {
    let double = Double::start().await;
    let client = client(&double);
    client
        .delete_project(&ProjectId::new(PROJECT_ID))
        .await
        .unwrap();
    let (_, _, content_type, empty) = double.with(|s| {
        s.requests
            .iter()
            .find(|(m, _, _, _)| m == "DELETE")
            .cloned()
            .unwrap()
    });
    assert!(empty && !content_type);
    // a lost answer to a delete, then 404 on the repeat: done
    let doomed = client
        .create_project(&CreateProject {
            name: "Doomed".into(),
            slug: "doomed".into(),
            description: None,
            create_default_environments: false,
        })
        .await
        .unwrap();
    let path: &'static str = Box::leak(format!("/api/v1/projects/{}", doomed.id).into_boxed_str());
    double.inject(Method::DELETE, path, Fault::DropAfterHandling);
    client.delete_project(&doomed.id).await.unwrap();
    assert_eq!(double.count("DELETE", path), 2);
    // without an unknown outcome, 404 is an error
    let error = client.delete_project(&doomed.id).await.unwrap_err();
    assert!(matches!(error, ApiError::NotFound(_)), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn batch_writes_under_faults_end_with_exactly_the_intended_secrets() {
    let double = Double::start().await;
    let client = client(&double);
    let faults = [
        Fault::RateLimit(2),
        Fault::Status(500),
        Fault::StatusAfterHandling(502),
        Fault::DropBeforeHandling,
        Fault::DropAfterHandling,
        Fault::SlowAfterHandling(Duration::from_secs(30)),
    ];
    let mut expected = std::collections::BTreeMap::new();
    for round in 0..30usize {
        // a deterministic schedule: each round gets one or two faults, on create, update or list
        let fault = faults[round % faults.len()].clone();
        let method = [Method::POST, Method::PATCH, Method::GET][round % 3].clone();
        let path = if method == Method::GET {
            SECRETS
        } else {
            SECRETS_BATCH
        };
        double.inject(method, path, fault);
        if round % 4 == 0 {
            double.inject(Method::POST, SECRETS_BATCH, Fault::RateLimit(1));
        }
        let batch: Vec<SecretWrite> = (0..5)
            .map(|i| write(&format!("KEY_{round}_{i}"), &format!("v{round}-{i}")))
            .collect();
        let outcome = client.create_secrets(&scope("/"), &batch).await.unwrap();
        assert!(
            matches!(outcome, WriteOutcome::Applied(ref s) if s.len() == 5),
            "round {round}"
        );
        for w in &batch {
            expected.insert(
                w.key.clone(),
                w.value.as_ref().unwrap().expose().to_string(),
            );
        }
        // update half of them
        let updates: Vec<SecretWrite> = (0..5)
            .step_by(2)
            .map(|i| write(&format!("KEY_{round}_{i}"), &format!("u{round}-{i}")))
            .collect();
        client.update_secrets(&scope("/"), &updates).await.unwrap();
        for w in &updates {
            expected.insert(
                w.key.clone(),
                w.value.as_ref().unwrap().expose().to_string(),
            );
        }
        client
            .list_secrets(
                &ProjectId::new(PROJECT_ID),
                &env_slug("dev"),
                &folder_path("/"),
                Depth::Direct,
            )
            .await
            .unwrap();
    }
    let stored = double.stored("dev", "/");
    let stored_values: std::collections::BTreeMap<String, String> = stored
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    assert_eq!(stored_values, expected, "none lost, none extra");
    // every secret created once: version 1, or 2 after exactly one update
    for (key, secret) in &stored {
        let updated = key.ends_with("_0") || key.ends_with("_2") || key.ends_with("_4");
        assert!(
            secret.version >= 1 && (updated || secret.version == 1),
            "{key} v{}",
            secret.version
        );
    }
    let listed = client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 150);
}

/// A writer for the test's tracing subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn no_token_credential_or_value_in_logs_or_errors() {
    // A process-wide subscriber: callsite interest is cached globally, so a thread-local one
    // would miss events whose callsites other tests registered first.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "infisical_gitops=trace,reqwest=trace,hyper=trace,hyper_util=trace",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let global = tracing::subscriber::set_global_default(subscriber).is_ok();

    let double = Double::start().await;
    let client = client(&double);
    let mut texts = vec![format!("{client:?}"), format!("{:?}", config(&double))];
    double.inject(Method::POST, SECRETS_BATCH, Fault::DropAfterHandling);
    double.inject(Method::GET, SECRETS, Fault::TokenError);
    client
        .create_secrets(&scope("/"), &[write("A", VALUE_CANARY)])
        .await
        .unwrap();
    let listed = client
        .list_secrets(
            &ProjectId::new(PROJECT_ID),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap();
    texts.push(format!("{listed:?}"));
    // errors: a duplicate, a missing folder, a bad token
    for error in [
        client
            .create_secrets(&scope("/"), &[write("A", VALUE_CANARY)])
            .await
            .unwrap_err(),
        client
            .create_secrets(&scope("/missing"), &[write("B", VALUE_CANARY)])
            .await
            .unwrap_err(),
    ] {
        texts.push(format!("{error} | {error:?}"));
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    if global {
        assert!(logs.contains("re-reading"), "the warning is logged: {logs}");
        assert!(logs.contains("hyper"), "transport logs are scanned too");
    } else {
        eprintln!("another test installed the global subscriber: logs not scanned");
    }
    texts.push(logs);
    for text in texts {
        for canary in [VALUE_CANARY, CLIENT_SECRET, "token-canary"] {
            assert!(!text.contains(canary), "{canary} leaked: {text}");
        }
    }
}

/// A 400 that quotes the request body carries a multi-line value JSON-escaped; the error shows
/// none of it, on one line.
#[tokio::test(start_paused = true)]
async fn a_value_quoted_json_escaped_in_a_400_is_scrubbed() {
    let double = Double::start().await;
    let client = client(&double);
    double.inject(Method::POST, SECRETS_BATCH, Fault::EchoBody);
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
    let error = client
        .create_secrets(&scope("/"), &[write("TLS_KEY", pem)])
        .await
        .expect_err("refused");
    let shown = format!("{error} {error:?}");
    for part in ["MIIE", "BKcwgg", "PRIVATE KEY"] {
        assert!(!shown.contains(part), "{part} leaked: {shown}");
    }
    assert!(!error.to_string().contains('\n'), "{error}");
    assert!(error.to_string().contains("<redacted>"), "{error}");
}
