//! The dev server over real HTTP on loopback: status codes and error bodies pinned as JSON
//! snapshots (request ids, ids and timestamps redacted, secret values never snapshotted),
//! persistence, fault switches, token expiry, and Infisical's official Python SDK as a client.

use std::collections::BTreeMap;
use std::time::Duration;

use infisical_gitops::dev::{DevServer, DevServerConfig, DevServerError, Faults};
use reqwest::Method;
use serde_json::{Value, json};

const REDACTED_KEYS: &[&str] = &[
    "reqId",
    "id",
    "_id",
    "workspace",
    "envId",
    "parentId",
    "orgId",
    "projectId",
    "policyId",
    "folderId",
    "createdAt",
    "updatedAt",
    "lastSecretModified",
    "accessToken",
];

/// Replaces ids, request ids and timestamps by placeholders, and secret values by `[value]`.
fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| {
                    let item = if REDACTED_KEYS.contains(&key.as_str()) && !item.is_null() {
                        Value::String(format!("[{key}]"))
                    } else if key == "slug"
                        && item.as_str().is_some_and(|s| s.starts_with("change-"))
                    {
                        Value::String("[approval-slug]".to_owned())
                    } else if key == "secretValue" {
                        Value::String("[value]".to_owned())
                    } else {
                        redact(item)
                    };
                    (key.clone(), item)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(text) => Value::String(scrub_uuids(text)),
        other => other.clone(),
    }
}

/// Replaces every UUID inside a string (e.g. in an error message) by `[uuid]`.
fn scrub_uuids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() >= 36
            && rest.is_char_boundary(36)
            && uuid::Uuid::parse_str(&rest[..36]).is_ok()
        {
            out.push_str("[uuid]");
            rest = &rest[36..];
        } else {
            let next = rest.chars().next().unwrap();
            out.push(next);
            rest = &rest[next.len_utf8()..];
        }
    }
    out
}

/// `base` with the fields of the object `extra` set on it.
fn merged(mut base: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().unwrap() {
        base[key] = value.clone();
    }
    base
}

fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A server, an HTTP client, a token, and a transcript of answers for one snapshot.
struct Harness {
    server: DevServer,
    http: reqwest::Client,
    token: String,
    transcript: Vec<Value>,
}

impl Harness {
    async fn start() -> Self {
        Self::start_with(DevServerConfig::default()).await
    }

    async fn start_with(config: DevServerConfig) -> Self {
        let server = DevServer::start(config).await.expect("dev server starts");
        let mut harness = Self {
            server,
            http: http_client(),
            token: String::new(),
            transcript: Vec::new(),
        };
        harness.token = harness.login().await;
        harness
    }

    async fn login(&self) -> String {
        let (status, body) = self
            .send(
                Method::POST,
                "/api/v1/auth/universal-auth/login",
                Some(json!({ "clientId": "dev-client-id", "clientSecret": "dev-client-secret" })),
                false,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["accessToken"].as_str().expect("token").to_owned()
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        auth: bool,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.server.url()));
        if auth {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// An authenticated call.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(method, path, body, true).await
    }

    /// An authenticated call whose redacted answer goes into the transcript.
    async fn record(
        &mut self,
        label: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, answer) = self.call(method.clone(), path, body).await;
        self.transcript.push(json!({
            "step": label,
            "request": scrub_uuids(&format!("{method} {}", path.split('?').next().unwrap_or_default())),
            "status": status,
            "body": redact(&answer),
        }));
        (status, answer)
    }

    async fn project(&self, slug: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/projects",
                Some(json!({ "projectName": slug, "slug": slug })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["project"]["id"].as_str().unwrap().to_owned()
    }

    async fn folder(&self, project: &str, path: &str, name: &str) {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v2/folders",
                Some(json!({ "projectId": project, "environment": "dev", "path": path, "name": name })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn list(&self, project: &str, path: &str, extra: &str) -> (u16, Value) {
        self.call(
            Method::GET,
            &format!(
                "/api/v4/secrets?projectId={project}&environment=dev&secretPath={path}{extra}"
            ),
            None,
        )
        .await
    }

    /// Creates `secrets` (`[{ "secretKey", "secretValue" }]`) at `path` in one batch.
    async fn write_batch(&self, project: &str, path: &str, secrets: Value) -> (u16, Value) {
        self.call(
            Method::POST,
            "/api/v4/secrets/batch",
            Some(json!({ "projectId": project, "environment": "dev", "secretPath": path, "secrets": secrets })),
        )
        .await
    }

    /// Keys at a path, sorted.
    async fn keys(&self, project: &str, path: &str) -> Vec<String> {
        let (status, body) = self.list(project, path, "").await;
        assert_eq!(status, 200, "{body}");
        let mut keys: Vec<String> = body["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|secret| secret["secretKey"].as_str().unwrap().to_owned())
            .collect();
        keys.sort();
        keys
    }
}

#[tokio::test]
async fn authentication_answers() {
    let mut h = Harness::start().await;
    let url = h.server.url();
    let bad = h
        .send(
            Method::POST,
            "/api/v1/auth/universal-auth/login",
            Some(json!({ "clientId": "dev-client-id", "clientSecret": "wrong" })),
            false,
        )
        .await;
    let missing = h
        .send(
            Method::POST,
            "/api/v1/auth/universal-auth/login",
            Some(json!({ "clientId": 7 })),
            false,
        )
        .await;
    let login = h
        .send(
            Method::POST,
            "/api/v1/auth/universal-auth/login",
            Some(json!({ "clientId": "dev-client-id", "clientSecret": "dev-client-secret" })),
            false,
        )
        .await;
    let renew = h
        .send(
            Method::POST,
            "/api/v1/auth/token/renew",
            Some(json!({ "accessToken": h.token })),
            false,
        )
        .await;
    let no_header = h.send(Method::GET, "/api/v1/projects", None, false).await;
    let garbage = h
        .http
        .get(format!("{url}/api/v1/projects"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    let garbage = (
        garbage.status().as_u16(),
        garbage.json::<Value>().await.unwrap(),
    );
    let before = h.call(Method::GET, "/api/v1/projects", None).await;
    h.server.expire_tokens();
    let expired = h.call(Method::GET, "/api/v1/projects", None).await;
    let renew_expired = h
        .send(
            Method::POST,
            "/api/v1/auth/token/renew",
            Some(json!({ "accessToken": h.token })),
            false,
        )
        .await;
    h.token = h.login().await;
    let after = h.call(Method::GET, "/api/v1/projects", None).await;
    for (label, (status, body)) in [
        ("login with a wrong client secret", bad),
        ("login without a client secret", missing),
        ("login", login),
        ("renew", renew),
        ("no authorization header", no_header),
        ("garbage bearer token", garbage),
        ("valid token", before),
        ("expired token", expired),
        ("renew an expired token", renew_expired),
        ("fresh login after expiry", after),
    ] {
        h.transcript
            .push(json!({ "step": label, "status": status, "body": redact(&body) }));
    }
    insta::assert_json_snapshot!("authentication", h.transcript);
}

#[tokio::test]
async fn project_and_environment_answers() {
    let mut h = Harness::start().await;
    let long_name = "n".repeat(100);
    h.record(
        "name of 100 chars",
        Method::POST,
        "/api/v1/projects",
        Some(json!({ "projectName": long_name })),
    )
    .await;
    h.record(
        "bad slug",
        Method::POST,
        "/api/v1/projects",
        Some(json!({ "projectName": "x", "slug": "Bad Slug!" })),
    )
    .await;
    h.record(
        "short slug",
        Method::POST,
        "/api/v1/projects",
        Some(json!({ "projectName": "x", "slug": "abc" })),
    )
    .await;
    h.record(
        "missing name",
        Method::POST,
        "/api/v1/projects",
        Some(json!({})),
    )
    .await;
    let (_, created) = h
        .record(
            "create",
            Method::POST,
            "/api/v1/projects",
            Some(json!({ "projectName": "Billing", "slug": "billing" })),
        )
        .await;
    let id = created["project"]["id"].as_str().unwrap().to_owned();
    h.record(
        "duplicate slug",
        Method::POST,
        "/api/v1/projects",
        Some(json!({ "projectName": "B2", "slug": "billing" })),
    )
    .await;
    let (_, bare) = h
        .record(
            "get by slug (bare)",
            Method::GET,
            "/api/v1/projects/slug/billing",
            None,
        )
        .await;
    assert_eq!(bare["id"], json!(id));
    h.record(
        "get by id",
        Method::GET,
        &format!("/api/v1/projects/{id}"),
        None,
    )
    .await;
    h.record(
        "get a missing id",
        Method::GET,
        "/api/v1/projects/00000000-0000-0000-0000-000000000000",
        None,
    )
    .await;
    h.record("list", Method::GET, "/api/v1/projects", None)
        .await;
    h.record(
        "update",
        Method::PATCH,
        &format!("/api/v1/projects/{id}"),
        Some(json!({ "name": "Billing API", "description": "payments" })),
    )
    .await;
    let env_path = format!("/api/v1/projects/{id}/environments");
    let (_, env) = h
        .record(
            "create environment",
            Method::POST,
            &env_path,
            Some(json!({ "name": "QA", "slug": "qa" })),
        )
        .await;
    let env_id = env["environment"]["id"].as_str().unwrap().to_owned();
    h.record(
        "duplicate environment slug",
        Method::POST,
        &env_path,
        Some(json!({ "name": "QA2", "slug": "qa" })),
    )
    .await;
    h.record(
        "bad environment slug",
        Method::POST,
        &env_path,
        Some(json!({ "name": "X", "slug": "Bad Slug!" })),
    )
    .await;
    h.record(
        "environment by slug",
        Method::GET,
        &format!("{env_path}/slug/qa"),
        None,
    )
    .await;
    h.record(
        "rename environment",
        Method::PATCH,
        &format!("{env_path}/{env_id}"),
        Some(json!({ "name": "Quality" })),
    )
    .await;
    h.record(
        "delete environment",
        Method::DELETE,
        &format!("{env_path}/{env_id}"),
        None,
    )
    .await;
    h.record(
        "environment gone",
        Method::GET,
        &format!("{env_path}/{env_id}"),
        None,
    )
    .await;
    // A JSON content type with an empty body is refused by Infisical's JSON parser.
    let response = h
        .http
        .delete(format!("{}/api/v1/projects/{id}", h.server.url()))
        .bearer_auth(&h.token)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    h.transcript.push(json!({ "step": "delete with a JSON content type and no body", "status": status, "body": redact(&body) }));
    h.record(
        "delete",
        Method::DELETE,
        &format!("/api/v1/projects/{id}"),
        None,
    )
    .await;
    h.record("unknown route", Method::GET, "/api/v9/nothing", None)
        .await;
    insta::assert_json_snapshot!("projects", h.transcript);
}

#[tokio::test]
async fn folder_answers() {
    let mut h = Harness::start().await;
    let p = h.project("folders").await;
    let create = |path: &str, name: &str| json!({ "projectId": p, "environment": "dev", "path": path, "name": name });
    h.record(
        "create with missing parents",
        Method::POST,
        "/api/v2/folders",
        Some(create("/a/b", "c")),
    )
    .await;
    h.record(
        "create an existing folder",
        Method::POST,
        "/api/v2/folders",
        Some(create("/", "a")),
    )
    .await;
    h.record(
        "bad folder name",
        Method::POST,
        "/api/v2/folders",
        Some(create("/", "bad name")),
    )
    .await;
    h.record(
        "missing environment",
        Method::POST,
        "/api/v2/folders",
        Some(json!({ "projectId": p, "environment": "nope", "name": "x" })),
    )
    .await;
    h.record(
        "list root",
        Method::GET,
        &format!("/api/v2/folders?projectId={p}&environment=dev&path=/"),
        None,
    )
    .await;
    h.record(
        "list recursive",
        Method::GET,
        &format!("/api/v2/folders?projectId={p}&environment=dev&path=/a&recursive=true"),
        None,
    )
    .await;
    h.record(
        "list a missing path",
        Method::GET,
        &format!("/api/v2/folders?projectId={p}&environment=dev&path=/zz"),
        None,
    )
    .await;
    let (_, secret) = h
        .record(
            "secret into /a/b/c",
            Method::POST,
            "/api/v4/secrets/K",
            Some(json!({ "projectId": p, "environment": "dev", "secretPath": "/a/b/c", "secretValue": "v" })),
        )
        .await;
    assert_eq!(secret["secret"]["secretPath"], "/a/b/c");
    let delete = |path: &str, force: Option<bool>| {
        let mut body = json!({ "projectId": p, "environment": "dev", "path": path });
        if let Some(force) = force {
            body["forceDelete"] = json!(force);
        }
        body
    };
    h.record(
        "delete non-empty without forceDelete",
        Method::DELETE,
        "/api/v2/folders/c",
        Some(delete("/a/b", None)),
    )
    .await;
    h.record(
        "delete a missing folder",
        Method::DELETE,
        "/api/v2/folders/zz",
        Some(delete("/", None)),
    )
    .await;
    h.record(
        "delete with forceDelete",
        Method::DELETE,
        "/api/v2/folders/a",
        Some(delete("/", Some(true))),
    )
    .await;
    h.record(
        "secret into a deleted folder",
        Method::POST,
        "/api/v4/secrets/K",
        Some(json!({ "projectId": p, "environment": "dev", "secretPath": "/a/b/c", "secretValue": "v" })),
    )
    .await;
    let (_, created) = h
        .record(
            "create /web",
            Method::POST,
            "/api/v2/folders",
            Some(create("/", "web")),
        )
        .await;
    let web = created["folder"]["id"].as_str().unwrap().to_owned();
    h.record(
        "rename /web to /site",
        Method::PATCH,
        &format!("/api/v2/folders/{web}"),
        Some(json!({ "projectId": p, "environment": "dev", "name": "site", "path": "/" })),
    )
    .await;
    h.record(
        "get by id",
        Method::GET,
        &format!("/api/v2/folders/{web}"),
        None,
    )
    .await;
    insta::assert_json_snapshot!("folders", h.transcript);
}

#[tokio::test]
async fn secret_import_answers() {
    let mut h = Harness::start().await;
    let p = h.project("imports").await;
    h.folder(&p, "/", "app").await;
    h.folder(&p, "/", "other").await;
    let create = |environment: &str, path: &str, source_env: &str, source_path: &str| {
        json!({ "projectId": p, "environment": environment, "path": path,
                "import": { "environment": source_env, "path": source_path } })
    };
    let (status, first) = h
        .record(
            "import dev:/ into dev:/app",
            Method::POST,
            "/api/v2/secret-imports",
            Some(create("dev", "/app", "dev", "/")),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let (_, second) = h
        .record(
            "import prod:/ into dev:/app (appended)",
            Method::POST,
            "/api/v2/secret-imports",
            Some(create("dev", "/app", "prod", "/")),
        )
        .await;
    assert_eq!(second["secretImport"]["position"], 2);
    let (_, third) = h
        .record(
            "import dev:/other into dev:/app",
            Method::POST,
            "/api/v2/secret-imports",
            Some(create("dev", "/app", "dev", "/other")),
        )
        .await;
    let (status, _) = h
        .record(
            "the same import again (Infisical does not refuse duplicates)",
            Method::POST,
            "/api/v2/secret-imports",
            Some(create("dev", "/app", "dev", "/other")),
        )
        .await;
    assert_eq!(status, 200);
    h.record(
        "self import",
        Method::POST,
        "/api/v2/secret-imports",
        Some(create("dev", "/app", "dev", "/app")),
    )
    .await;
    let (status, _) = h
        .record(
            "import back: dev:/ already imported by dev:/app",
            Method::POST,
            "/api/v2/secret-imports",
            Some(create("dev", "/", "dev", "/app")),
        )
        .await;
    assert_eq!(status, 400);
    h.record(
        "into a missing folder",
        Method::POST,
        "/api/v2/secret-imports",
        Some(create("dev", "/nope", "dev", "/")),
    )
    .await;
    h.record(
        "from a missing environment",
        Method::POST,
        "/api/v2/secret-imports",
        Some(create("dev", "/app", "qa", "/")),
    )
    .await;
    h.record(
        "replication without the licence",
        Method::POST,
        "/api/v2/secret-imports",
        Some(merged(
            create("dev", "/app", "staging", "/"),
            json!({ "isReplication": true }),
        )),
    )
    .await;
    h.record(
        "missing import",
        Method::POST,
        "/api/v2/secret-imports",
        Some(json!({ "projectId": p, "environment": "dev" })),
    )
    .await;
    let third = third["secretImport"]["id"].as_str().unwrap().to_owned();
    let scope = json!({ "projectId": p, "environment": "dev", "path": "/app" });
    h.record(
        "move the third to position 1",
        Method::PATCH,
        &format!("/api/v2/secret-imports/{third}"),
        Some(merged(
            scope.clone(),
            json!({ "import": { "position": 1 } }),
        )),
    )
    .await;
    h.record(
        "update an unknown import",
        Method::PATCH,
        &format!("/api/v2/secret-imports/{}", uuid::Uuid::new_v4()),
        Some(merged(
            scope.clone(),
            json!({ "import": { "position": 1 } }),
        )),
    )
    .await;
    let first = first["secretImport"]["id"].as_str().unwrap().to_owned();
    h.record(
        "delete the first (now at position 2)",
        Method::DELETE,
        &format!("/api/v2/secret-imports/{first}"),
        Some(scope.clone()),
    )
    .await;
    h.record(
        "delete it again",
        Method::DELETE,
        &format!("/api/v2/secret-imports/{first}"),
        Some(scope.clone()),
    )
    .await;
    let (status, listed) = h
        .record(
            "list in position order",
            Method::GET,
            &format!("/api/v2/secret-imports?projectId={p}&environment=dev&path=/app"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let order: Vec<(String, String, u64)> = listed["secretImports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["importEnv"]["slug"].as_str().unwrap().to_owned(),
                i["importPath"].as_str().unwrap().to_owned(),
                i["position"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            ("dev".to_owned(), "/other".to_owned(), 1),
            ("prod".to_owned(), "/".to_owned(), 2),
            ("dev".to_owned(), "/other".to_owned(), 3),
        ]
    );
    h.record(
        "get by id",
        Method::GET,
        &format!("/api/v2/secret-imports/{third}"),
        None,
    )
    .await;
    h.record(
        "list a missing folder",
        Method::GET,
        &format!("/api/v2/secret-imports?projectId={p}&environment=dev&path=/nope"),
        None,
    )
    .await;
    insta::assert_json_snapshot!("secret_imports", h.transcript);
}

#[tokio::test]
async fn secret_answers() {
    let mut h = Harness::start().await;
    let p = h.project("secrets").await;
    h.folder(&p, "/", "app").await;
    let body = |extra: Value| {
        merged(
            json!({ "projectId": p, "environment": "dev", "secretPath": "/app" }),
            extra,
        )
    };
    let (_, tag) = h
        .record(
            "create tag",
            Method::POST,
            &format!("/api/v1/projects/{p}/tags"),
            Some(json!({ "slug": "managed", "color": "#00ff00" })),
        )
        .await;
    let tag_id = tag["tag"]["id"].as_str().unwrap().to_owned();
    let (status, created) = h
        .record(
            "create with metadata, tag and whitespace",
            Method::POST,
            "/api/v4/secrets/DB_PASSWORD",
            Some(body(json!({
                "secretValue": "  x  ",
                "secretComment": "  owned by gitops ",
                "secretMetadata": [{ "key": "managed-by", "value": "infisical-gitops" }],
                "tagIds": [tag_id],
            }))),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(created["secret"]["secretValue"], "x");
    assert_eq!(created["secret"]["secretComment"], "owned by gitops");
    h.record(
        "create again",
        Method::POST,
        "/api/v4/secrets/DB_PASSWORD",
        Some(body(json!({ "secretValue": "y" }))),
    )
    .await;
    h.record(
        "key with a slash",
        Method::POST,
        "/api/v4/secrets/A%2FB",
        Some(body(json!({ "secretValue": "y" }))),
    )
    .await;
    h.record(
        "key with a colon",
        Method::POST,
        "/api/v4/secrets/A:B",
        Some(body(json!({ "secretValue": "y" }))),
    )
    .await;
    let (status, _) = h
        .call(
            Method::POST,
            "/api/v4/secrets/WITH%20SPACE",
            Some(body(json!({ "secretValue": "b\n\n" }))),
        )
        .await;
    assert_eq!(status, 200, "a key with a space is accepted");
    h.record(
        "unknown tag id",
        Method::POST,
        "/api/v4/secrets/T",
        Some(body(
            json!({ "secretValue": "v", "tagIds": [uuid::Uuid::nil()] }),
        )),
    )
    .await;
    h.record(
        "missing folder",
        Method::POST,
        "/api/v4/secrets/X",
        Some(json!({ "projectId": p, "environment": "dev", "secretPath": "/nope", "secretValue": "v" })),
    )
    .await;
    h.record(
        "missing value",
        Method::POST,
        "/api/v4/secrets/X",
        Some(body(json!({}))),
    )
    .await;
    let (_, updated) = h
        .record(
            "update",
            Method::PATCH,
            "/api/v4/secrets/DB_PASSWORD",
            Some(body(json!({ "secretValue": "z" }))),
        )
        .await;
    assert_eq!(updated["secret"]["version"], 2);
    let (_, updated) = h
        .record(
            "update again",
            Method::PATCH,
            "/api/v4/secrets/DB_PASSWORD",
            Some(body(json!({ "secretComment": "c" }))),
        )
        .await;
    assert_eq!(updated["secret"]["version"], 3);
    h.record(
        "update a missing secret",
        Method::PATCH,
        "/api/v4/secrets/NOPE",
        Some(body(json!({ "secretValue": "z" }))),
    )
    .await;
    h.record(
        "rename onto an existing key",
        Method::PATCH,
        "/api/v4/secrets/DB_PASSWORD",
        Some(body(json!({ "newSecretName": "WITH SPACE" }))),
    )
    .await;
    let get_path =
        format!("/api/v4/secrets/WITH%20SPACE?projectId={p}&environment=dev&secretPath=/app");
    let (_, got) = h.record("get", Method::GET, &get_path, None).await;
    assert_eq!(got["secret"]["secretValue"], "b\n");
    h.record(
        "get a missing secret",
        Method::GET,
        &format!("/api/v4/secrets/NOPE?projectId={p}&environment=dev&secretPath=/app"),
        None,
    )
    .await;
    let (_, listed) = h
        .record(
            "list",
            Method::GET,
            &format!("/api/v4/secrets?projectId={p}&environment=dev&secretPath=/app"),
            None,
        )
        .await;
    let fields: Vec<&String> = listed["secrets"][0].as_object().unwrap().keys().collect();
    let mut expected = vec![
        "_id",
        "id",
        "workspace",
        "environment",
        "secretKey",
        "secretValue",
        "secretValueHidden",
        "secretComment",
        "secretPath",
        "secretMetadata",
        "tags",
        "type",
        "version",
        "skipMultilineEncoding",
        "secretReminderNote",
        "secretReminderRepeatDays",
        "isRotatedSecret",
        "rotationId",
        "createdAt",
        "updatedAt",
    ];
    expected.sort_unstable();
    let mut fields: Vec<&str> = fields.into_iter().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, expected, "v4 list item fields");
    h.record(
        "list by tag",
        Method::GET,
        &format!("/api/v4/secrets?projectId={p}&environment=dev&secretPath=/app&tagSlugs=managed"),
        None,
    )
    .await;
    h.record(
        "list a missing path",
        Method::GET,
        &format!("/api/v4/secrets?projectId={p}&environment=dev&secretPath=/nope"),
        None,
    )
    .await;
    h.record(
        "list a missing environment",
        Method::GET,
        &format!("/api/v4/secrets?projectId={p}&environment=nope"),
        None,
    )
    .await;
    h.record(
        "list without a project",
        Method::GET,
        "/api/v4/secrets?environment=dev",
        None,
    )
    .await;
    h.record(
        "boolean parameters must be literal",
        Method::GET,
        &format!(
            "/api/v4/secrets?projectId={p}&environment=dev&recursive=1&expandSecretReferences=True"
        ),
        None,
    )
    .await;
    h.record(
        "delete",
        Method::DELETE,
        "/api/v4/secrets/DB_PASSWORD",
        Some(body(json!({}))),
    )
    .await;
    h.record(
        "delete again",
        Method::DELETE,
        "/api/v4/secrets/DB_PASSWORD",
        Some(body(json!({}))),
    )
    .await;
    insta::assert_json_snapshot!("secrets", h.transcript);
}

#[tokio::test]
async fn batch_answers() {
    let mut h = Harness::start().await;
    let p = h.project("batches").await;
    let body = |secrets: Value, extra: Value| {
        merged(
            json!({ "projectId": p, "environment": "dev", "secretPath": "/", "secrets": secrets }),
            extra,
        )
    };
    let kv = |key: &str| json!({ "secretKey": key, "secretValue": format!("value-of-{key}") });
    h.record(
        "create K1 K2",
        Method::POST,
        "/api/v4/secrets/batch",
        Some(body(json!([kv("K1"), kv("K2")]), json!({}))),
    )
    .await;
    h.record(
        "create K3 with K1 and K2 existing",
        Method::POST,
        "/api/v4/secrets/batch",
        Some(body(json!([kv("K3"), kv("K1"), kv("K2")]), json!({}))),
    )
    .await;
    assert_eq!(h.keys(&p, "/").await, ["K1", "K2"], "nothing written");
    h.record(
        "create an empty batch",
        Method::POST,
        "/api/v4/secrets/batch",
        Some(body(json!([]), json!({}))),
    )
    .await;
    h.record(
        "create a bad key",
        Method::POST,
        "/api/v4/secrets/batch",
        Some(body(json!([kv("A/B")]), json!({}))),
    )
    .await;
    h.record(
        "update with a missing key (failOnNotFound)",
        Method::PATCH,
        "/api/v4/secrets/batch",
        Some(body(json!([kv("K1"), kv("K9"), kv("K8")]), json!({}))),
    )
    .await;
    let (_, k1) = h
        .call(
            Method::GET,
            &format!("/api/v4/secrets/K1?projectId={p}&environment=dev"),
            None,
        )
        .await;
    assert_eq!(k1["secret"]["version"], 1, "nothing written");
    let (_, upserted) = h
        .record(
            "upsert",
            Method::PATCH,
            "/api/v4/secrets/batch",
            Some(body(
                json!([kv("K1"), kv("K3")]),
                json!({ "mode": "upsert" }),
            )),
        )
        .await;
    assert_eq!(upserted["secrets"][0]["version"], 2);
    assert_eq!(upserted["secrets"][1]["version"], 1);
    h.record(
        "ignore",
        Method::PATCH,
        "/api/v4/secrets/batch",
        Some(body(
            json!([kv("K2"), kv("K7")]),
            json!({ "mode": "ignore" }),
        )),
    )
    .await;
    assert_eq!(h.keys(&p, "/").await, ["K1", "K2", "K3"]);
    h.record(
        "bad mode",
        Method::PATCH,
        "/api/v4/secrets/batch",
        Some(body(json!([kv("K2")]), json!({ "mode": "merge" }))),
    )
    .await;
    let delete = |keys: &[&str]| {
        body(
            json!(
                keys.iter()
                    .map(|k| json!({ "secretKey": k }))
                    .collect::<Vec<_>>()
            ),
            json!({}),
        )
    };
    h.record(
        "delete with a missing key",
        Method::DELETE,
        "/api/v4/secrets/batch",
        Some(delete(&["K1", "K9"])),
    )
    .await;
    assert_eq!(h.keys(&p, "/").await, ["K1", "K2", "K3"], "nothing deleted");
    h.record(
        "delete",
        Method::DELETE,
        "/api/v4/secrets/batch",
        Some(delete(&["K1", "K2"])),
    )
    .await;
    assert_eq!(h.keys(&p, "/").await, ["K3"]);
    insta::assert_json_snapshot!("batches", h.transcript);
}

#[tokio::test]
async fn references_are_raw_unless_expanded() {
    let h = Harness::start().await;
    let p = h.project("references").await;
    h.folder(&p, "/apps", "web").await;
    let write = |path: &'static str, key: &'static str, value: &'static str| {
        h.write_batch(
            &p,
            path,
            json!([{ "secretKey": key, "secretValue": value }]),
        )
    };
    write("/apps/web", "A", "alpha").await;
    write("/", "B", "${dev.apps.web.A}-${C}").await;
    write("/", "C", "gamma").await;
    let value = |body: &Value| {
        body["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["secretKey"] == "B")
            .unwrap()["secretValue"]
            .clone()
    };
    let (_, raw) = h.list(&p, "/", "&expandSecretReferences=false").await;
    assert_eq!(value(&raw), "${dev.apps.web.A}-${C}");
    let (_, default) = h.list(&p, "/", "").await;
    assert_eq!(
        value(&default),
        "${dev.apps.web.A}-${C}",
        "v4 default is raw"
    );
    let (_, expanded) = h.list(&p, "/", "&expandSecretReferences=true").await;
    assert_eq!(value(&expanded), "alpha-gamma");
    let (_, hidden) = h.list(&p, "/", "&viewSecretValue=false").await;
    assert_eq!(value(&hidden), "<hidden-by-infisical>");
    let (_, recursive) = h.list(&p, "/", "&recursive=true").await;
    let paths: BTreeMap<String, String> = recursive["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["secretKey"].as_str().unwrap().to_owned(),
                s["secretPath"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        paths,
        BTreeMap::from([
            ("A".into(), "/apps/web".into()),
            ("B".into(), "/".into()),
            ("C".into(), "/".into())
        ])
    );
}

#[tokio::test]
async fn approval_policy_writes_nothing() {
    let mut h = Harness::start().await;
    let p = h.project("approvals").await;
    h.folder(&p, "/", "guarded").await;
    h.server.set_approval_policy(&p, "dev", "/guarded");
    let body = json!({ "projectId": p, "environment": "dev", "secretPath": "/guarded", "secretValue": "v" });
    h.record(
        "create under a policy",
        Method::POST,
        "/api/v4/secrets/K",
        Some(body.clone()),
    )
    .await;
    let batch = json!({ "projectId": p, "environment": "dev", "secretPath": "/guarded", "mode": "upsert",
        "secrets": [{ "secretKey": "K", "secretValue": "v" }] });
    h.record(
        "batch upsert under a policy",
        Method::PATCH,
        "/api/v4/secrets/batch",
        Some(batch),
    )
    .await;
    assert!(h.keys(&p, "/guarded").await.is_empty(), "nothing written");
    let (status, _) = h
        .call(
            Method::POST,
            "/api/v4/secrets/K",
            Some(json!({ "projectId": p, "environment": "dev", "secretValue": "v" })),
        )
        .await;
    assert_eq!(status, 200, "paths outside the policy are written");
    assert_eq!(h.keys(&p, "/").await, ["K"]);
    insta::assert_json_snapshot!("approval", h.transcript);
}

#[tokio::test]
async fn v3_raw_routes_read_by_workspace_id_and_slug() {
    let h = Harness::start().await;
    let p = h.project("legacy-reads").await;
    h.call(
        Method::POST,
        "/api/v3/secrets/raw/K",
        Some(json!({ "workspaceId": p, "environment": "dev", "secretPath": "/", "secretValue": "v1" })),
    )
    .await;
    let (status, by_id) = h
        .call(
            Method::GET,
            &format!("/api/v3/secrets/raw?workspaceId={p}&environment=dev&include_imports=true"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{by_id}");
    assert_eq!(by_id["secrets"][0]["secretKey"], "K");
    assert_eq!(by_id["imports"], json!([]));
    let (status, one) = h
        .call(
            Method::GET,
            "/api/v3/secrets/raw/K?workspaceSlug=legacy-reads&environment=dev&secretPath=/",
            None,
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["secret"]["secretValue"], "v1");
}

#[tokio::test]
async fn faults_are_deterministic_and_counted() {
    let h = Harness::start().await;
    h.server.reset_counts();
    h.server.set_faults(Faults {
        rate_limit_every: Some(3),
        retry_after_secs: 7,
        ..Faults::default()
    });
    let url = format!("{}/api/v1/projects", h.server.url());
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = h.http.get(&url).bearer_auth(&h.token).send().await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert_eq!(response.headers()["retry-after"], "7");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["message"],
                "Rate limit exceeded. Please try again in 7 seconds"
            );
            assert_eq!(body["error"], "RateLimitExceeded");
        }
    }
    assert_eq!(statuses, [200, 200, 429, 200, 200, 429]);
    assert_eq!(h.server.request_counts()["GET /api/v1/projects"], 6);

    h.server.set_faults(Faults {
        server_error_every: Some(2),
        ..Faults::default()
    });
    let first = h
        .http
        .get(&url)
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let second = h.http.get(&url).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!((first, second.status().as_u16()), (200, 500));
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["message"], "Something went wrong");

    h.server.set_faults(Faults {
        drop_connection_every: Some(2),
        ..Faults::default()
    });
    let first = h.http.get(&url).bearer_auth(&h.token).send().await;
    let second = h.http.get(&url).bearer_auth(&h.token).send().await;
    let third = h.http.get(&url).bearer_auth(&h.token).send().await;
    assert!(first.is_ok());
    let error = second.expect_err("the second request's connection is dropped");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    assert!(third.is_ok());

    h.server.set_faults(Faults {
        latency: Duration::from_millis(1),
        ..Faults::default()
    });
    assert_eq!(response_status(&h, &url).await, 200);

    let counts: BTreeMap<String, u64> = h
        .http
        .get(format!("{}/__dev/requests", h.server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts, h.server.request_counts());
    assert_eq!(counts["GET /api/v1/projects"], 6 + 2 + 3 + 1);
}

async fn response_status(h: &Harness, url: &str) -> u16 {
    h.http
        .get(url)
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn state_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let config = DevServerConfig {
        state_file: Some(state.clone()),
        ..DevServerConfig::default()
    };
    let h = Harness::start_with(config.clone()).await;
    let p = h.project("persisted").await;
    h.folder(&p, "/", "app").await;
    h.write_batch(
        &p,
        "/app",
        json!([{ "secretKey": "K", "secretValue": "v" }]),
    )
    .await;
    h.server.shutdown().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the state file holds values: owner only"
        );
    }
    let h = Harness::start_with(config).await;
    assert_eq!(h.keys(&p, "/app").await, ["K"], "state survives a restart");
    let (_, got) = h
        .call(
            Method::GET,
            &format!("/api/v4/secrets/K?projectId={p}&environment=dev&secretPath=/app"),
            None,
        )
        .await;
    assert_eq!(got["secret"]["secretValue"], "v");
    h.server.shutdown().await;
}

#[tokio::test]
async fn corrupt_state_file_is_an_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, b"{ not json").unwrap();
    let config = DevServerConfig {
        state_file: Some(state.clone()),
        ..DevServerConfig::default()
    };
    let error = DevServer::start(config)
        .await
        .expect_err("a corrupt file is refused");
    assert!(
        matches!(error, DevServerError::StateCorrupt { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&state.display().to_string()), "{message}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"{ not json",
        "never silently emptied"
    );
}

#[tokio::test]
async fn seed_helpers_and_counts() {
    let h = Harness::start().await;
    let p = h.server.seed_project("Seeded", "seeded").unwrap();
    h.server.seed_folder(&p, "prod", "/x/y").unwrap();
    h.server
        .seed_secrets(&p, "prod", "/x/y", [("A", "1"), ("B", "2")])
        .unwrap();
    assert_eq!(h.server.secret_count(), 2);
    h.server.reset_counts();
    let (status, body) = h
        .call(
            Method::GET,
            &format!("/api/v4/secrets?projectId={p}&environment=prod&secretPath=/x&recursive=true"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["secrets"].as_array().unwrap().len(), 2);
    assert_eq!(
        h.server.request_counts(),
        BTreeMap::from([("GET /api/v4/secrets".to_owned(), 1)])
    );
    assert!(matches!(
        h.server.seed_folder("nope", "dev", "/"),
        Err(DevServerError::Seed(_))
    ));
}

/// The official Python SDK logs in with universal auth, lists and reads what was written through
/// the API, and writes through its own (v3 raw) routes. Needs `INFISICAL_GITOPS_TEST_PYTHON` (a Python with `.ci/requirements.txt`).
#[tokio::test]
async fn official_python_sdk_reads_what_was_written() {
    let Some(python) = super::support::python() else {
        return;
    };
    let canary = "canary-3f9c1d7e-never-printed";
    let h = Harness::start().await;
    let p = h.project("sdk-reads").await;
    h.folder(&p, "/apps", "web").await;
    let (status, body) = h
        .write_batch(
            &p,
            "/apps/web",
            json!([
                { "secretKey": "DB_PASSWORD", "secretValue": canary },
                { "secretKey": "PADDED", "secretValue": "  padded  " },
                { "secretKey": "URL", "secretValue": "https://${HOST}/x" },
                { "secretKey": "HOST", "secretValue": "db.internal" },
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = h
        .write_batch(
            &p,
            "/",
            json!([{ "secretKey": "SHARED", "secretValue": "${dev.apps.web.HOST}" }]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // `/` imports `/apps/web`: the SDK reads the imported secrets (it asks for imports by default).
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v2/secret-imports",
            Some(json!({ "projectId": p, "environment": "dev", "path": "/",
                         "import": { "environment": "dev", "path": "/apps/web" } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let expected = json!({
        "/apps/web": { "DB_PASSWORD": canary, "PADDED": "padded", "URL": "https://db.internal/x", "HOST": "db.internal" },
        "/": { "SHARED": "db.internal" },
    });
    h.server.reset_counts();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_reads.py");
    let run = tokio::process::Command::new(python)
        .arg(script)
        .env("INFISICAL_API_URL", h.server.url())
        .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "dev-client-id")
        .env(
            "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",
            "dev-client-secret",
        )
        .env("TEST_PROJECT_ID", &p)
        .env("TEST_PROJECT_SLUG", "sdk-reads")
        .env("TEST_EXPECTED", expected.to_string())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the SDK script finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stdout.contains(canary) && !stderr.contains(canary),
        "a value was printed"
    );
    assert!(
        output.status.success(),
        "SDK script failed:\n{stdout}\n{stderr}"
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(report["problems"], json!([]));
    assert_eq!(report["tokenType"], "Bearer");
    assert_eq!(
        report["paths"]["/apps/web"],
        json!(["DB_PASSWORD", "HOST", "PADDED", "URL"])
    );
    assert_eq!(
        report["imports"],
        json!({ "/": [["dev", "/apps/web", ["DB_PASSWORD", "HOST", "PADDED", "URL"]]], "/apps/web": [] })
    );
    assert_eq!(report["readByName"], 5);
    assert_eq!(report["recursiveCount"], 5);
    assert_eq!(report["folders"], json!(["/apps", "/apps/web"]));
    assert_eq!(report["createdFolder"], "/apps/sdk");
    assert_eq!(
        report["sdkWrite"],
        json!({ "createdVersion": 1, "updatedVersion": 2, "deletedKey": "SDK_WRITTEN" })
    );
    let counts = h.server.request_counts();
    assert_eq!(counts["POST /api/v1/auth/universal-auth/login"], 1);
    assert_eq!(counts["GET /api/v3/secrets/raw"], 5);
    assert_eq!(counts["GET /api/v3/secrets/raw/{secretName}"], 6);
    assert_eq!(counts["GET /api/v2/folders"], 1);
    assert_eq!(counts["POST /api/v2/folders"], 1);
    assert_eq!(counts["POST /api/v3/secrets/raw/{secretName}"], 1);
    assert_eq!(counts["PATCH /api/v3/secrets/raw/{secretName}"], 1);
    assert_eq!(counts["DELETE /api/v3/secrets/raw/{secretName}"], 1);
    assert_eq!(h.server.secret_count(), 5, "the SDK's secret is gone again");
}

/// The `/__dev` control routes let a separate process (the CLI server) be driven like the Rust
/// API: faults, token expiry, approval policies.
#[tokio::test]
async fn dev_control_routes() {
    let h = Harness::start().await;
    let p = h.project("controlled").await;
    let url = h.server.url();
    let set: Value = h
        .http
        .put(format!("{url}/__dev/faults"))
        .json(&json!({ "serverErrorEvery": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["serverErrorEvery"], 1);
    assert_eq!(h.call(Method::GET, "/api/v1/projects", None).await.0, 500);
    let cleared = h
        .http
        .put(format!("{url}/__dev/faults"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(h.call(Method::GET, "/api/v1/projects", None).await.0, 200);
    let policy = h
        .http
        .post(format!("{url}/__dev/approval-policies"))
        .json(&json!({ "projectId": p, "environment": "dev", "path": "/" }))
        .send()
        .await
        .unwrap();
    assert_eq!(policy.status(), 200);
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v4/secrets/K",
            Some(json!({ "projectId": p, "environment": "dev", "secretValue": "v" })),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body.get("approval").is_some() && body.get("secret").is_none(),
        "{body}"
    );
    let expired = h
        .http
        .post(format!("{url}/__dev/expire-tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 200);
    let (status, body) = h.call(Method::GET, "/api/v1/projects", None).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("TokenError")));
}

/// `infisical-gitops dev-server` as a process: the banner (first line `listening on <URL>`),
/// a state file that survives a SIGTERM, a corrupt state file refused with its name, `--help`.
#[cfg(unix)]
#[tokio::test]
async fn cli_dev_server_process() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    let binary = env!("CARGO_BIN_EXE_infisical-gitops");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dev-state.json");
    let start = || {
        tokio::process::Command::new(binary)
            .args([
                "dev-server",
                "--listen",
                "127.0.0.1:0",
                "--client-secret",
                "s3cr3t-from-flag",
            ])
            .arg("--state")
            .arg(&state)
            .env_remove("INFISICAL_GITOPS_DEV_SERVER_CLIENT_SECRET")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let mut child = start();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    for _ in 0..8 {
        let read = tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut banner))
            .await
            .unwrap()
            .unwrap();
        if read == 0 || banner.contains("stop with Ctrl-C") {
            break;
        }
    }
    let url = banner
        .lines()
        .next()
        .unwrap()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let port = url.rsplit(':').next().unwrap().to_owned();
    let banner = banner
        .replace(&port, "PORT")
        .replace(&state.display().to_string(), "STATE_FILE");
    insta::assert_snapshot!("cli_banner", banner);

    let http = http_client();
    let login: Value = http
        .post(format!("{url}/api/v1/auth/universal-auth/login"))
        .json(&json!({ "clientId": "dev-client-id", "clientSecret": "s3cr3t-from-flag" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["accessToken"].as_str().unwrap();
    let created = http
        .post(format!("{url}/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({ "projectName": "kept", "slug": "kept-project" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let terminated = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}"
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["projects"][0]["slug"], "kept-project");

    std::fs::write(&state, b"[1, 2").unwrap();
    let mut child = start();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(1), "a corrupt state file is an error");
    let mut rest = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .await
        .unwrap();
    assert!(rest.is_empty(), "nothing printed on stdout: {rest}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"[1, 2",
        "the corrupt file is left alone"
    );

    let help = std::process::Command::new(binary)
        .args(["dev-server", "--help"])
        .env("COLUMNS", "100")
        .env_remove("INFISICAL_GITOPS_COLOR")
        .env_remove("INFISICAL_GITOPS_LOG_FORMAT")
        .env_remove("INFISICAL_GITOPS_DEV_SERVER_LISTEN")
        .env_remove("INFISICAL_GITOPS_DEV_SERVER_CLIENT_ID")
        .env_remove("INFISICAL_GITOPS_DEV_SERVER_STATE")
        .output()
        .unwrap();
    assert!(help.status.success());
    insta::assert_snapshot!("cli_help", String::from_utf8(help.stdout).unwrap());
}

#[tokio::test]
async fn secrets_are_found_by_id_in_any_project() {
    let h = Harness::start().await;
    h.project("first").await;
    let p = h.project("by-id").await;
    h.folder(&p, "/", "app").await;
    let (status, body) = h
        .write_batch(
            &p,
            "/app",
            json!([{ "secretKey": "K", "secretValue": "v" }]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["secrets"][0]["id"].as_str().unwrap().to_owned();
    for route in ["/api/v4/secrets/id", "/api/v3/secrets/raw/id"] {
        let (status, found) = h.call(Method::GET, &format!("{route}/{id}"), None).await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["secret"]["secretKey"], "K");
        assert_eq!(found["secret"]["secretPath"], "/app");
        assert_eq!(found["secret"]["secretValue"], "v");
    }
    let missing = uuid::Uuid::nil();
    let (status, body) = h
        .call(Method::GET, &format!("/api/v4/secrets/id/{missing}"), None)
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["message"],
        format!("Secret with ID '{missing}' not found")
    );
}

/// Secret metadata as a real Infisical takes it (reference §12): both sides trimmed, a key over
/// 255 or a value over 1,020 characters → 422, and the whole batch fails with it.
#[tokio::test]
async fn metadata_limits_are_answered_like_infisical() {
    let h = Harness::start().await;
    let p = h.project("metadata").await;
    let create = |key: &str, metadata: Value| {
        json!({
            "projectId": p, "environment": "dev", "secretPath": "/",
            "secrets": [
                { "secretKey": "NEIGHBOUR", "secretValue": "x" },
                { "secretKey": key, "secretValue": "x", "secretMetadata": metadata },
            ],
        })
    };
    for (label, metadata) in [
        (
            "key over 255",
            json!([{ "key": "k".repeat(256), "value": "v" }]),
        ),
        (
            "value over 1,020",
            json!([{ "key": "k", "value": "v".repeat(1021) }]),
        ),
    ] {
        let (status, body) = h
            .call(
                Method::POST,
                "/api/v4/secrets/batch",
                Some(create("LONG", metadata)),
            )
            .await;
        assert_eq!(status, 422, "{label}: {body}");
    }
    let (status, body) = h
        .call(
            Method::GET,
            &format!("/api/v4/secrets?projectId={p}&environment=dev"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["secrets"], json!([]), "the whole batch failed");
    let fits = json!([
        { "key": "k".repeat(255), "value": "v".repeat(1020) },
        { "key": " owner ", "value": " team " },
    ]);
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v4/secrets/batch",
            Some(create("FITS", fits)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let stored = body["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secretKey"] == "FITS")
        .unwrap();
    let pairs = stored["secretMetadata"].as_array().unwrap();
    assert!(
        pairs
            .iter()
            .any(|m| m["key"] == "owner" && m["value"] == "team"),
        "trimmed: {pairs:?}"
    );
    h.server.shutdown().await;
}

/// `include_imports=true` answers what Infisical's `fnSecretsV2FromImports` does: one entry per
/// import of the listed folder in position order, the imported folder's own imports appended to
/// the entry that reached them, each environment and path read once, references expanded in the
/// imported environment when asked.
#[tokio::test]
async fn listings_read_through_imports() {
    let h = Harness::start().await;
    let p = h.project("reads-through").await;
    h.folder(&p, "/", "app").await;
    h.folder(&p, "/", "shared").await;
    let secret = |environment: &str, path: &str, key: &str, value: &str| {
        (
            format!("/api/v4/secrets/{key}"),
            json!({ "projectId": p, "environment": environment, "secretPath": path,
                    "secretValue": value }),
        )
    };
    for (environment, path, key, value) in [
        ("dev", "/shared", "DB_HOST", "db.internal"),
        ("dev", "/shared", "DB_URL", "pg://${DB_HOST}"),
        ("prod", "/", "REGION", "eu"),
        ("dev", "/app", "OWN", "mine"),
    ] {
        let (route, body) = secret(environment, path, key, value);
        let (status, answer) = h.call(Method::POST, &route, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let import = |path: &str, source_env: &str, source_path: &str| {
        json!({ "projectId": p, "environment": "dev", "path": path,
                "import": { "environment": source_env, "path": source_path } })
    };
    for (path, source_env, source_path) in [
        ("/app", "dev", "/shared"),
        ("/shared", "prod", "/"),
        ("/app", "prod", "/"),
    ] {
        let (status, answer) = h
            .call(
                Method::POST,
                "/api/v2/secret-imports",
                Some(import(path, source_env, source_path)),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let list = |extra: &str| {
        format!("/api/v4/secrets?projectId={p}&environment=dev&secretPath=/app{extra}")
    };
    let (status, plain) = h.call(Method::GET, &list(""), None).await;
    assert_eq!(status, 200, "{plain}");
    assert!(plain.get("imports").is_none(), "{plain}");

    let (status, answer) = h
        .call(
            Method::GET,
            &list("&include_imports=true&expandSecretReferences=true"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let own: Vec<&str> = answer["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secretKey"].as_str().unwrap())
        .collect();
    assert_eq!(own, ["OWN"]);
    let imports = answer["imports"].as_array().unwrap();
    let summary: Vec<Value> = imports
        .iter()
        .map(|entry| {
            let secrets: Vec<Value> = entry["secrets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| json!([s["secretKey"], s["secretValue"]]))
                .collect();
            json!([entry["environment"], entry["secretPath"], secrets])
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!([
                "dev",
                "/shared",
                [["DB_HOST", "db.internal"], ["DB_URL", "pg://db.internal"]]
            ]),
            json!(["prod", "/", [["REGION", "eu"]]]),
        ],
        "prod:/ is read once: by /app's own import, not again through /shared"
    );
    for entry in imports {
        assert!(entry["folderId"].is_string(), "{entry}");
        assert!(entry["importFolderId"].is_string(), "{entry}");
        assert!(entry["id"].is_string(), "{entry}");
    }
}
