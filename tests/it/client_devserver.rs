//! The client against the local dev server: the contract suite, and batch writes under the
//! server's injected faults (429 bursts, 5xx, dropped connections) ending with exactly the
//! intended secrets.

use crate::support::names::{env_slug, folder_path, secret_key};
use infisical_gitops::infisical::Depth;
use infisical_gitops::infisical::ProjectId;
use std::collections::BTreeMap;

use infisical_gitops::dev::{DevServer, DevServerConfig, Faults};
use infisical_gitops::infisical::{
    ApiError, ClientConfig, CreateFolder, Credentials, HttpClient, InfisicalApi, RetryPolicy,
    SecretDelete, SecretScope, SecretWrite, UpdateFolder, WriteOutcome,
};

use super::support::writes::managed as write;

const CLIENT_ID: &str = "contract-client-id";
const CLIENT_SECRET: &str = "contract-client-secret";

async fn start(faults: Faults) -> DevServer {
    DevServer::start(DevServerConfig {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        faults,
        ..DevServerConfig::default()
    })
    .await
    .expect("dev server")
}

#[tokio::test]
async fn contract_against_the_dev_server() {
    let server = start(Faults::default()).await;
    crate::contract::run(&server.url(), CLIENT_ID, CLIENT_SECRET).await;
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn contract_against_the_dev_server_with_api_suffix_and_faults() {
    let server = start(Faults {
        rate_limit_every: Some(9),
        retry_after_secs: 0,
        server_error_every: Some(7),
        drop_connection_every: Some(11),
        ..Faults::default()
    })
    .await;
    crate::contract::run(&format!("{}/api", server.url()), CLIENT_ID, CLIENT_SECRET).await;
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn batch_writes_under_dev_server_faults_end_with_exactly_the_intended_secrets() {
    let server = start(Faults::default()).await;
    let project_id = server.seed_project("Faults", "faults").expect("seed");
    server
        .seed_folder(&project_id, "dev", "/app")
        .expect("seed");
    server.set_faults(Faults {
        rate_limit_every: Some(5),
        retry_after_secs: 2,
        server_error_every: Some(7),
        drop_connection_every: Some(4),
        ..Faults::default()
    });
    let mut config = ClientConfig::new(
        server.url(),
        Credentials::universal_auth(CLIENT_ID, CLIENT_SECRET),
    );
    config.retry = RetryPolicy {
        max_attempts: 10,
        ..RetryPolicy::default()
    };
    let client = HttpClient::new(config).expect("client");
    let scope = SecretScope {
        project_id: ProjectId::new(project_id.clone()),
        environment: env_slug("dev"),
        path: folder_path("/app"),
    };
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for round in 0..25 {
        let batch: Vec<SecretWrite> = (0..4)
            .map(|i| write(&format!("K_{round}_{i}"), &format!("v{round}.{i}")))
            .collect();
        let outcome = client.create_secrets(&scope, &batch).await.expect("create");
        assert!(matches!(outcome, WriteOutcome::Applied(_)), "round {round}");
        for i in 0..4 {
            expected.insert(format!("K_{round}_{i}"), format!("v{round}.{i}"));
        }
        client
            .update_secrets(
                &scope,
                &[write(&format!("K_{round}_0"), &format!("u{round}"))],
            )
            .await
            .expect("update");
        expected.insert(format!("K_{round}_0"), format!("u{round}"));
        client
            .delete_secrets(
                &scope,
                &[SecretDelete {
                    key: format!("K_{round}_3"),
                }],
            )
            .await
            .expect("delete");
        expected.remove(&format!("K_{round}_3"));
    }
    let counts = server.request_counts();
    server.set_faults(Faults::default());
    let live = client
        .list_secrets(
            &ProjectId::new(project_id.clone()),
            &env_slug("dev"),
            &folder_path("/"),
            Depth::Recursive,
        )
        .await
        .expect("list");
    let live: BTreeMap<String, String> = live
        .into_iter()
        .map(|s| {
            (
                s.key,
                s.value.map(|v| v.expose().to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(live, expected, "none lost, none duplicated, none left over");
    assert_eq!(server.secret_count(), expected.len());
    let total: u64 = counts.values().sum();
    assert!(total > 75, "faults forced retries: {counts:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_token_expired_on_the_dev_server_is_replaced() {
    let server = start(Faults::default()).await;
    let client = HttpClient::new(ClientConfig::new(
        server.url(),
        Credentials::universal_auth(CLIENT_ID, CLIENT_SECRET),
    ))
    .expect("client");
    client.list_projects().await.expect("first");
    server.expire_tokens();
    client.list_projects().await.expect("after expiry");
    let logins = server
        .request_counts()
        .into_iter()
        .filter(|(route, _)| route.contains("universal-auth/login"))
        .map(|(_, n)| n)
        .sum::<u64>();
    assert_eq!(logins, 2);
    server.shutdown().await;
}

#[tokio::test]
async fn an_approval_policy_answer_is_pending() {
    let server = start(Faults::default()).await;
    let project_id = server.seed_project("Approvals", "approvals").expect("seed");
    server
        .seed_folder(&project_id, "prod", "/locked")
        .expect("seed");
    server.set_approval_policy(&project_id, "prod", "/locked");
    let client = HttpClient::new(ClientConfig::new(
        server.url(),
        Credentials::universal_auth(CLIENT_ID, CLIENT_SECRET),
    ))
    .expect("client");
    let scope = SecretScope {
        project_id: ProjectId::new(project_id.clone()),
        environment: env_slug("prod"),
        path: folder_path("/locked"),
    };
    let outcome = client
        .create_secrets(&scope, &[write("A", "1")])
        .await
        .expect("write");
    assert!(
        matches!(outcome, WriteOutcome::PendingApproval { .. }),
        "{outcome:?}"
    );
    assert!(
        client
            .get_secret(&scope, &secret_key("A"))
            .await
            .expect("read")
            .is_none()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_missing_project_is_none() {
    let server = start(Faults::default()).await;
    let client = HttpClient::new(ClientConfig::new(
        server.url(),
        Credentials::universal_auth(CLIENT_ID, CLIENT_SECRET),
    ))
    .expect("client");
    assert!(
        client
            .get_project_by_slug("nope-nope")
            .await
            .expect("read")
            .is_none()
    );
    server.shutdown().await;
}

/// A folder description over Infisical's 255-character column is refused by the client before
/// anything is sent: the server would answer a bare 500, which no retry fixes. The dev server
/// answers that 500 like Infisical.
#[tokio::test]
async fn a_folder_description_over_the_column_is_never_sent() {
    let server = start(Faults::default()).await;
    let client = HttpClient::new(ClientConfig::new(
        server.url(),
        Credentials::universal_auth(CLIENT_ID, CLIENT_SECRET),
    ))
    .expect("client");
    let project_id = server.seed_project("Folders", "folders").expect("seed");
    let folder = |name: &str, description: String| CreateFolder {
        project_id: ProjectId::new(project_id.clone()),
        environment: env_slug("dev"),
        parent_path: folder_path("/"),
        name: name.into(),
        description: Some(description),
    };
    let fits = client
        .create_folder(&folder("fits", "d".repeat(255)))
        .await
        .expect("255 characters fit");
    server.reset_counts();
    let error = client
        .create_folder(&folder("long", "d".repeat(256)))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ApiError::Validation { issues, .. } if issues[0].starts_with("description: must be at most 255 characters (it has 256)")),
        "{error:?}"
    );
    let error = client
        .update_folder(&UpdateFolder {
            project_id: ProjectId::new(project_id.clone()),
            environment: env_slug("dev"),
            parent_path: folder_path("/"),
            folder_id: fits.id.clone(),
            name: "fits".into(),
            description: Some("🔑".repeat(128)),
        })
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::Validation { .. }), "{error:?}");
    assert!(
        server.request_counts().is_empty(),
        "nothing sent: {:?}",
        server.request_counts()
    );

    // What the client spares: the dev server, like Infisical, fails in its database column.
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/api/v1/auth/universal-auth/login", server.url()))
        .json(&serde_json::json!({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token");
    let response = http
        .post(format!("{}/api/v2/folders", server.url()))
        .bearer_auth(login["accessToken"].as_str().expect("token"))
        .json(&serde_json::json!({
            "projectId": project_id, "environment": "dev", "name": "long",
            "description": "d".repeat(256),
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 500);
    let body: serde_json::Value = response.json().await.expect("body");
    assert_eq!(body["message"], "Something went wrong");
    server.shutdown().await;
}

/// A server whose recursive folder listing has a parent cycle (no real Infisical answers this:
/// a corrupt or forged folder tree).
#[tokio::test]
async fn a_folder_listing_with_a_parent_cycle_is_refused_naming_the_folders() {
    let folders = serde_json::json!({"folders": [
        {"id": "root-id", "name": "root", "parentId": null},
        {"id": "ok-id", "name": "apps", "parentId": "root-id"},
        {"id": "a-id", "name": "a", "parentId": "b-id"},
        {"id": "b-id", "name": "b", "parentId": "a-id"},
    ]});
    let app = axum::Router::new().route(
        "/api/v2/folders",
        axum::routing::get(move || {
            let folders = folders.clone();
            async move { axum::Json(folders) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = HttpClient::new(ClientConfig::new(
        format!("http://{address}"),
        Credentials::AccessToken("test-token".to_string().into()),
    ))
    .expect("client");
    let error = client
        .list_folders(
            &ProjectId::new("project-id"),
            &env_slug("prod"),
            &folder_path("/"),
            Depth::Recursive,
        )
        .await
        .expect_err("a cycle");
    insta::assert_snapshot!(error, @"unexpected response: GET /api/v2/folders: the folder listing of `/` has a parent cycle through folder ids `a-id`, `b-id`; repair the folders in Infisical");
    server.abort();
}
