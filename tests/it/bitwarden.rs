//! Bitwarden sources: the `bw serve` double answers like the real CLI; the client, the export
//! file and the `bws` runner read every reference of the example repository; every error path is
//! clear and names the reference; no value leaks; generated values are backed up exactly once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use infisical_gitops::model::document::BitwardenField;
use infisical_gitops::model::{
    Address, BitwardenFieldRef, BitwardenItem, BitwardenRef, DesiredState, SecretSource,
    SecretValue,
};
use infisical_gitops::resolve::bitwarden::backup::{MemoryStore, backup_item_name};
use infisical_gitops::resolve::bitwarden::double::{BwServeDouble, MASTER_PASSWORD};
use infisical_gitops::resolve::bitwarden::{
    BackupLocation, BitwardenBackup, BitwardenError, BitwardenResolver, BwsCli, ExportVault,
    GeneratedValueStore, PasswordManager, ServeClient, backed_up_value,
};
use infisical_gitops::source::load_desired_state;
use secrecy::SecretString;
use serde_json::{Value, json};

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn example_export() -> String {
    std::fs::read_to_string(repo_path("examples/bitwarden-export.json")).unwrap()
}

fn example_state() -> DesiredState {
    load_desired_state(&repo_path("examples/desired-state"))
        .expect("example validates")
        .0
}

/// Every distinct Password Manager reference of the example repository.
fn example_references(state: &DesiredState) -> BTreeSet<SecretSource> {
    state
        .secrets
        .values()
        .map(|s| s.source.clone())
        .filter(|s| matches!(s, SecretSource::Bitwarden(_)))
        .collect()
}

fn by_id(id: &str, field: BitwardenFieldRef) -> SecretSource {
    SecretSource::Bitwarden(BitwardenRef {
        item: BitwardenItem::Id(id.to_string()),
        field,
    })
}

fn builtin(field: BitwardenField) -> BitwardenFieldRef {
    BitwardenFieldRef::Builtin {
        field,
        uri_index: 0,
    }
}

fn serve_resolver(double: &BwServeDouble) -> BitwardenResolver {
    let client = ServeClient::new(&double.url()).unwrap();
    BitwardenResolver::new(PasswordManager::Serve(client), None)
}

fn fixture(name: &str) -> Value {
    let text =
        std::fs::read_to_string(repo_path(&format!("tests/fixtures/bitwarden/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The double answers exactly like `bw serve`.

async fn raw(
    double: &BwServeDouble,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    origin: Option<&str>,
) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client.request(method, format!("{}{path}", double.url()));
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn double_answers_with_the_cli_envelopes() {
    let double = BwServeDouble::with_export(&example_export()).await.unwrap();
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    // The item response, as the CLI's `CipherResponse` (fixture from its source).
    let (status, body) = raw(
        &double,
        get.clone(),
        "/object/item/6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    let expected = fixture("get-item.json");
    assert_eq!(body, expected);

    // Unknown id: 400 with the CLI's message.
    let (status, body) = raw(
        &double,
        get.clone(),
        "/object/item/00000000-0000-4000-8000-000000000000",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"success":false,"message":"Not found."}"#)
    );

    // Locked: 400, "Vault is locked.".
    double.state.set_locked(true);
    let (status, body) = raw(&double, get.clone(), "/list/object/items", None, None).await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"success":false,"message":"Vault is locked."}"#)
    );
    let (_, status_body) = raw(&double, get.clone(), "/status", None, None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&status_body).unwrap()["data"]["template"]["status"],
        "locked"
    );
    // Unlock with the master password (POST /unlock), as an operator's sidecar does.
    let (status, body) = raw(
        &double,
        post.clone(),
        "/unlock",
        Some(json!({"password": MASTER_PASSWORD})),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"]["title"],
        "Your vault is now unlocked!"
    );

    // Any Origin header: plain-text 403.
    let (status, body) = raw(
        &double,
        get.clone(),
        "/status",
        None,
        Some("https://evil.example"),
    )
    .await;
    assert_eq!((status, body.as_str()), (403, "Forbidden"));
    assert_eq!(double.state.forbidden(), 1);

    // Sync.
    let (status, body) = raw(&double, post.clone(), "/sync", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        fixture("sync.json")
    );

    // TOTP of an item without a seed: the CLI filters it away, hence "Not found.".
    let (status, body) = raw(
        &double,
        get.clone(),
        "/object/totp/6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"success":false,"message":"Not found."}"#)
    );

    // Search: substring, case-insensitive; folder and collection filters.
    let (_, body) = raw(
        &double,
        get.clone(),
        "/list/object/items?search=gitlab%20mcp",
        None,
        None,
    )
    .await;
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["data"]["object"], "list");
    assert_eq!(list["data"]["data"].as_array().unwrap().len(), 2);

    // Create.
    let (status, body) = raw(
        &double,
        post,
        "/object/item",
        Some(json!({"type": 1, "name": "x", "login": {"password": "canary-created"}})),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["data"]["object"], "item");
    assert!(uuid::Uuid::parse_str(created["data"]["id"].as_str().unwrap()).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Every reference of the example, through `bw serve` and through the export file.

const EXPECTED: &[(&str, &str)] = &[
    (
        "k3s-infrastructure/prod:/databases#POSTGRES_USER",
        "fake-postgres-user",
    ),
    (
        "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
        "fake-postgres-password-do-not-use",
    ),
    (
        "k3s-infrastructure/prod:/databases#REDIS_PASSWORD",
        "fake-redis-password-do-not-use",
    ),
    (
        "k3s-infrastructure/prod:/certificates#WILDCARD_TLS_KEY",
        "-----BEGIN PRIVATE KEY-----\nfake-wildcard-private-key-do-not-use\n-----END PRIVATE KEY-----\n",
    ),
    (
        "mcp-servers/prod:/unifi#UNIFI_API_KEY",
        "fake-unifi-api-key-do-not-use",
    ),
    (
        "mcp-servers/prod:/gitlab#GITLAB_TOKEN",
        "fake-gitlab-mcp-token-do-not-use",
    ),
    (
        "applications/prod:/app-name-2#SENTRY_DSN",
        "https://fake-sentry-key-do-not-use@sentry.example.invalid/42",
    ),
];

async fn resolve_all(
    resolver: &BitwardenResolver,
    state: &DesiredState,
) -> std::collections::BTreeMap<Address, SecretValue> {
    let mut out = std::collections::BTreeMap::new();
    for (address, secret) in &state.secrets {
        if matches!(secret.source, SecretSource::Bitwarden(_)) {
            let value = resolver
                .resolve_value(&secret.source)
                .await
                .unwrap_or_else(|e| panic!("{address} ({}): {e}", secret.origin));
            out.insert(address.clone(), value);
        }
    }
    out
}

#[tokio::test]
async fn every_example_reference_resolves_through_bw_serve_and_the_export() {
    let state = example_state();
    let references = example_references(&state);
    assert!(references.len() >= 15, "{}", references.len());

    let double = BwServeDouble::with_export(&example_export()).await.unwrap();
    let served = serve_resolver(&double).with_sync(true);
    let from_serve = resolve_all(&served, &state).await;

    let vault = ExportVault::load(&repo_path("examples/bitwarden-export.json")).unwrap();
    let exported = BitwardenResolver::new(PasswordManager::Export(Arc::new(vault)), None);
    let from_export = resolve_all(&exported, &state).await;

    assert_eq!(from_serve.len(), from_export.len());
    for (address, value) in &from_serve {
        assert!(value == &from_export[address], "{address} differs");
        assert!(!value.is_empty(), "{address} is empty");
    }
    for (address, expected) in EXPECTED {
        let address: Address = address.parse().unwrap();
        assert_eq!(from_serve[&address].expose(), *expected, "{address}");
    }

    // One status check, one sync, one request per distinct item, never an Origin header.
    let distinct_items: BTreeSet<_> = references
        .iter()
        .filter_map(|s| match s {
            SecretSource::Bitwarden(r) => Some(r.item.clone()),
            _ => None,
        })
        .collect();
    let by_id = distinct_items
        .iter()
        .filter(|i| matches!(i, BitwardenItem::Id(_)))
        .count();
    assert_eq!(double.state.item_gets(), by_id);
    assert_eq!(double.state.lists(), distinct_items.len() - by_id);
    assert_eq!(double.state.syncs(), 1);
    assert_eq!(double.state.requests(), distinct_items.len() + 2);
    assert_eq!(double.state.forbidden(), 0);

    // A second pass is served from the cache.
    let before = double.state.requests();
    let _ = resolve_all(&served, &state).await;
    assert_eq!(double.state.requests(), before);
}

#[tokio::test]
async fn totp_is_the_current_code_from_bw_serve() {
    let double = BwServeDouble::start().await.unwrap();
    let id = "11111111-2222-4333-8444-555555555555";
    double.state.insert_item(json!({
        "id": id, "type": 1, "name": "with totp", "folderId": null, "collectionIds": [],
        "login": {"username": "u", "password": "p", "totp": "JBSWY3DPEHPK3PXP", "uris": []},
        "fields": [], "deletedDate": null
    }));
    double.state.set_totp_code(id, "492039");
    let resolver = serve_resolver(&double);
    let code = resolver
        .resolve_value(&by_id(id, builtin(BitwardenField::Totp)))
        .await
        .unwrap();
    assert_eq!(code.expose(), "492039");

    // From an export, TOTP is refused clearly (codes are computed by `bw serve`).
    let vault = ExportVault::from_items(vec![
        serde_json::from_value(double.state.items()[0].clone()).unwrap(),
    ]);
    let offline = BitwardenResolver::new(PasswordManager::Export(Arc::new(vault)), None);
    let err = offline
        .resolve_value(&by_id(id, builtin(BitwardenField::Totp)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("computed by `bw serve`"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Errors: one per failure, clear, with the fix.

#[tokio::test]
async fn error_paths_are_clear() {
    let double = BwServeDouble::with_export(&example_export()).await.unwrap();
    let password = |id: &str| by_id(id, builtin(BitwardenField::Password));

    // Locked: one status request, the fix in the message; every lookup gets the same error.
    double.state.set_locked(true);
    let resolver = serve_resolver(&double);
    let a = resolver
        .resolve_value(&password("6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01"))
        .await
        .unwrap_err();
    let b = resolver
        .resolve_value(&password("6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c02"))
        .await
        .unwrap_err();
    assert_eq!(a.code(), "vault-locked");
    assert_eq!(
        a.to_string(),
        "the bitwarden vault is locked; unlock: `bw unlock`, then restart `bw serve` with BW_SESSION, or POST /unlock"
    );
    assert_eq!(b.to_string(), a.to_string());
    assert_eq!(double.state.requests(), 1);

    // Locked between the status check and the lookup: the 400 "Vault is locked." is mapped too.
    double.state.set_locked(false);
    let resolver = serve_resolver(&double);
    resolver
        .resolve_value(&password("6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01"))
        .await
        .unwrap();
    double.state.set_locked(true);
    let err = resolver
        .resolve_value(&password("6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c02"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "vault-locked");
    double.state.set_locked(false);

    // Not logged in.
    double.state.set_logged_out(true);
    let err = serve_resolver(&double)
        .resolve_value(&password("6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-logged-in");
    assert!(err.to_string().contains("bw login"), "{err}");
    double.state.set_logged_out(false);

    let resolver = serve_resolver(&double);
    // Item not found.
    let err = resolver
        .resolve_value(&password("00000000-0000-4000-8000-00000000dead"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no bitwarden item has id 00000000-0000-4000-8000-00000000dead"
    );
    // Field missing: a secure note has no password; a custom field that does not exist.
    let err = resolver
        .resolve_value(&password("6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c06"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bitwarden item 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c06: the item is not a login, so it has no password"
    );
    let err = resolver
        .resolve_value(&by_id(
            "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c06",
            BitwardenFieldRef::Custom("chain".into()),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "field-missing");
    assert!(
        err.to_string().ends_with(
            "the item has no custom field \"chain\" (its custom fields: certificate, private-key)"
        ),
        "{err}"
    );
    // Ambiguous name: lists the candidates.
    double.state.insert_item(json!({
        "id": "9f9f9f9f-0000-4000-8000-000000000001", "type": 1, "name": "GitLab MCP token",
        "folderId": "2d4e6f80-1a3b-4c5d-8e9f-0a1b2c3d4e5f", "collectionIds": [],
        "login": {"password": "other"}, "fields": [], "deletedDate": null
    }));
    let err = serve_resolver(&double)
        .resolve_value(&SecretSource::Bitwarden(BitwardenRef {
            item: BitwardenItem::Name {
                name: "GitLab MCP token".into(),
                folder: Some("2d4e6f80-1a3b-4c5d-8e9f-0a1b2c3d4e5f".into()),
                collection: None,
            },
            field: builtin(BitwardenField::Password),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 bitwarden items are named \"GitLab MCP token\" in folder 2d4e6f80-1a3b-4c5d-8e9f-0a1b2c3d4e5f \
         (ids: 7c3e9a51-0b2d-4f6e-8a1c-5d7b9e2f4a60, 9f9f9f9f-0000-4000-8000-000000000001); reference one by `item: <id>`"
    );

    // Unreachable: a port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = BitwardenResolver::new(
        PasswordManager::Serve(ServeClient::new(&url).unwrap()),
        None,
    )
    .resolve_value(&password("6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01"))
    .await
    .unwrap_err();
    assert_eq!(err.code(), "unreachable");
    assert!(
        err.to_string()
            .starts_with(&format!("`bw serve` at {url} is unreachable")),
        "{err}"
    );

    // Nothing configured.
    let err = BitwardenResolver::new(PasswordManager::None, None)
        .resolve_value(&password("6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-configured");
}

#[test]
fn encrypted_export_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    std::fs::write(
        &path,
        r#"{"encrypted": true, "passwordProtected": true, "salt": "c2FsdA==", "kdfType": 0,
            "kdfIterations": 600000, "encKeyValidation_DO_NOT_EDIT": "2.a|b|c", "data": "2.d|e|f"}"#,
    )
    .unwrap();
    let err = ExportVault::load(&path).unwrap_err();
    assert!(matches!(err, BitwardenError::ExportEncrypted { .. }));
    assert!(
        err.to_string().contains("encrypted bitwarden export"),
        "{err}"
    );
    let err = ExportVault::load(&dir.path().join("missing.json")).unwrap_err();
    assert_eq!(err.code(), "export-unreadable");
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager through a fake `bws`.

pub(crate) const SM_ID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01";
pub(crate) const SM_ID_2: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c02";
pub(crate) const SM_CANARY: &str = "canary-sm-value-5f1d";
pub(crate) const SM_PROJECT: &str = "5e4f3a2b-1c0d-4e9f-8a7b-6c5d4e3f2a1b";
pub(crate) const SM_CANARY_2: &str = "fake-stripe-api-key-do-not-use";
pub(crate) const GOOD_TOKEN: &str = "0.machine-account.canary-token-8c2e:c2VjcmV0";

/// A fake `bws`: answers like the real one for a known token and id (`secret get ID`), lists
/// both secrets (`secret list [PROJECT]`, an unknown project fails like the real one); records
/// its arguments.
pub(crate) fn fake_bws(dir: &Path) -> PathBuf {
    let path = dir.join("bws");
    let script = format!(
        r#"#!/bin/sh
echo "$@" >> "{dir}/argv.log"
case "$BWS_ACCESS_TOKEN" in
  "{GOOD_TOKEN}") ;;
  slow) sleep 5 ;;
  *) printf 'Error: \n   0: Access token is not in a valid format: Doesn'"'"'t contain a decryption key\n\nLocation:\n   crates/bws/src/main.rs:67\n' >&2; exit 1 ;;
esac
if [ "$2" = "list" ]; then
  case "$3" in
    --output|"{SM_PROJECT}") ;;
    *) printf 'Error: \n   0: Received error message from server: [404 Not Found] {{"message":"Resource not found.","validationErrors":null}}\n' >&2; exit 1 ;;
  esac
  printf '[{{"object":"secret","id":"{SM_ID}","organizationId":"o","projectId":"{SM_PROJECT}","key":"SMTP_RELAY_PASSWORD","value":"{SM_CANARY}","note":"","creationDate":"2026-01-01T00:00:00Z","revisionDate":"2026-01-01T00:00:00Z"}},\n'
  printf ' {{"object":"secret","id":"{SM_ID_2}","organizationId":"o","projectId":"{SM_PROJECT}","key":"STRIPE_API_KEY","value":"{SM_CANARY_2}","note":"","creationDate":"2026-01-01T00:00:00Z","revisionDate":"2026-01-01T00:00:00Z"}}]\n'
  exit 0
fi
if [ "$3" = "{SM_ID}" ]; then
  printf '{{"object":"secret","id":"{SM_ID}","organizationId":"o","projectId":"p","key":"SMTP_RELAY_PASSWORD","value":"{SM_CANARY}","note":"","creationDate":"2026-01-01T00:00:00Z","revisionDate":"2026-01-01T00:00:00Z"}}\n'
elif [ "$3" = "{SM_ID_2}" ]; then
  printf '{{"object":"secret","id":"{SM_ID_2}","organizationId":"o","projectId":"p","key":"STRIPE_API_KEY","value":"{SM_CANARY_2}","note":"","creationDate":"2026-01-01T00:00:00Z","revisionDate":"2026-01-01T00:00:00Z"}}\n'
else
  printf 'Error: \n   0: Received error message from server: [404 Not Found] {{"message":"Resource not found.","validationErrors":null}}\n' >&2
  exit 1
fi
"#,
        dir = dir.display()
    );
    std::fs::write(&path, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

fn sm(secret: &str) -> SecretSource {
    SecretSource::BitwardenSecretsManager {
        secret: secret.to_string(),
    }
}

#[tokio::test]
async fn secrets_manager_through_bws() {
    let dir = tempfile::tempdir().unwrap();
    let bws = fake_bws(dir.path());
    let token = |t: &str| Some(SecretString::from(t.to_string()));
    let resolver = |cli: BwsCli| BitwardenResolver::new(PasswordManager::None, Some(cli));

    let ok = resolver(BwsCli::new(&bws, token(GOOD_TOKEN)));
    let value = ok.resolve_value(&sm(SM_ID)).await.unwrap();
    assert_eq!(value.expose(), SM_CANARY);
    // Cached: a second lookup runs no process.
    ok.resolve_value(&sm(SM_ID)).await.unwrap();
    assert_eq!(ok.backend_calls(), 1);

    let err = ok
        .resolve_value(&sm("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7cff"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-found");

    let err = resolver(BwsCli::new(&bws, token("0.bad")))
        .resolve_value(&sm(SM_ID))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token-invalid");
    assert!(
        err.to_string()
            .contains("Access token is not in a valid format"),
        "{err}"
    );

    // A missing token is not an invalid one: it is its own code.
    let err = resolver(BwsCli::new(&bws, None))
        .resolve_value(&sm(SM_ID))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-configured");
    assert_eq!(
        err.to_string(),
        "no bitwarden secrets manager access token; set BWS_ACCESS_TOKEN to a machine account's access token"
    );
    let err = resolver(BwsCli::new(&bws, token("  ")))
        .resolve_value(&sm(SM_ID))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "not-configured",
        "an empty token is a missing one"
    );

    let err = resolver(BwsCli::new(&bws, token("slow")).with_timeout(Duration::from_millis(300)))
        .resolve_value(&sm(SM_ID))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bws-failed");
    assert!(err.to_string().contains("did not answer within"), "{err}");

    let err = resolver(BwsCli::new(
        dir.path().join("no-such-bws"),
        token(GOOD_TOKEN),
    ))
    .resolve_value(&sm(SM_ID))
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("install `bws` or set --bws-path"),
        "{err}"
    );

    // The token travels in the environment, never on the command line.
    let argv = std::fs::read_to_string(dir.path().join("argv.log")).unwrap();
    assert!(
        argv.contains(&format!("secret get {SM_ID} --output json")),
        "{argv}"
    );
    assert!(!argv.contains("canary-token"), "{argv}");
}

/// `import` lists Secrets Manager secrets: all of them, or one project's; an unknown project,
/// a bad token and a slow `bws` fail with the same codes as a lookup, and nothing printable
/// holds a value.
#[tokio::test]
async fn secrets_manager_listing_through_bws() {
    let dir = tempfile::tempdir().unwrap();
    let bws = fake_bws(dir.path());
    let token = |t: &str| Some(SecretString::from(t.to_string()));
    let cli = BwsCli::new(&bws, token(GOOD_TOKEN));

    let all = cli.list_secrets(None).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [SM_ID, SM_ID_2]);
    assert_eq!(all[0].key, "SMTP_RELAY_PASSWORD");
    assert_eq!(all[0].value.0.expose(), SM_CANARY);
    assert!(!format!("{all:?}").contains(SM_CANARY));
    let project = cli.list_secrets(Some(SM_PROJECT)).await.unwrap();
    assert_eq!(project.len(), 2);

    let err = cli
        .list_secrets(Some("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7cff"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-found");
    let err = cli.list_secrets(Some("--help")).await.unwrap_err();
    assert_eq!(
        err.code(),
        "not-found",
        "a project is a UUID, never an option"
    );
    let err = BwsCli::new(&bws, token("0.bad"))
        .list_secrets(None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token-invalid");
    let err = BwsCli::new(&bws, None)
        .list_secrets(None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-configured");
    let err = BwsCli::new(&bws, token("slow"))
        .with_timeout(Duration::from_millis(300))
        .list_secrets(None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("did not answer within"), "{err}");

    let argv = std::fs::read_to_string(dir.path().join("argv.log")).unwrap();
    assert!(argv.contains("secret list --output json"), "{argv}");
    assert!(
        argv.contains(&format!("secret list {SM_PROJECT} --output json")),
        "{argv}"
    );
    assert!(!argv.contains("--help"), "{argv}");
    assert!(!argv.contains("canary-token"), "{argv}");
}

// ---------------------------------------------------------------------------------------------
// Leak scan: known canaries never appear in errors or debug output.

#[tokio::test]
async fn no_value_leaks_into_errors_or_debug_output() {
    let double = BwServeDouble::start().await.unwrap();
    let canaries = [
        "canary-pw-71c0",
        "canary-user-a1b2",
        "canary-note-3c4d",
        "canary-field-5e6f",
    ];
    double.state.insert_item(json!({
        "id": "aaaaaaaa-0000-4000-8000-000000000001", "type": 1, "name": "leak test",
        "folderId": null, "collectionIds": [], "notes": canaries[2],
        "login": {"username": canaries[1], "password": canaries[0], "uris": [{"uri": "https://x"}]},
        "fields": [{"name": "f", "value": canaries[3], "type": 1}], "deletedDate": null
    }));
    let resolver = serve_resolver(&double);
    let id = "aaaaaaaa-0000-4000-8000-000000000001";
    let mut outputs = Vec::new();
    let fields = [
        builtin(BitwardenField::Password),
        builtin(BitwardenField::Username),
        builtin(BitwardenField::Notes),
        builtin(BitwardenField::Totp),
        BitwardenFieldRef::Builtin {
            field: BitwardenField::Uri,
            uri_index: 3,
        },
        BitwardenFieldRef::Custom("f".into()),
        BitwardenFieldRef::Custom("missing".into()),
    ];
    for field in fields {
        let result = resolver.resolve_value(&by_id(id, field)).await;
        outputs.push(format!("{result:?}"));
        if let Err(e) = &result {
            outputs.push(e.to_string());
        }
    }
    outputs.push(format!("{resolver:?}"));
    let item: infisical_gitops::resolve::bitwarden::item::Item =
        serde_json::from_value(double.state.items()[0].clone()).unwrap();
    outputs.push(format!("{item:?}"));
    let all = outputs.join("\n");
    for canary in canaries {
        assert!(!all.contains(canary), "{canary} leaked: {all}");
    }
}

// ---------------------------------------------------------------------------------------------
// Backups of generated values.

fn address(s: &str) -> Address {
    s.parse().unwrap()
}

#[tokio::test]
async fn backup_is_stored_once_and_reused() {
    let double = BwServeDouble::start().await.unwrap();
    let folder = "0f1e2d3c-4b5a-4968-8776-655443322110";
    let store = BitwardenBackup::new(
        ServeClient::new(&double.url()).unwrap(),
        BackupLocation {
            folder: Some(folder.into()),
            ..BackupLocation::default()
        },
    );
    let target = address("k3s-infrastructure/prod:/#ENCRYPTION_KEY");
    assert!(store.find(&target).await.unwrap().is_none());

    // First run: generated, stored, then (simulated) crash before the Infisical write.
    let first = backed_up_value(&store, &target, || SecretValue::new("canary-generated-1"))
        .await
        .unwrap();
    assert_eq!(first.expose(), "canary-generated-1");
    assert_eq!(double.state.creates(), 1);
    let items = double.state.items();
    assert_eq!(items[0]["name"], backup_item_name(&target));
    assert_eq!(items[0]["folderId"], folder);
    assert_eq!(items[0]["type"], 1);

    // Second run: the backup is found; the generator is not called; nothing new is stored.
    let second = backed_up_value(&store, &target, || panic!("must not generate again"))
        .await
        .unwrap();
    assert!(second == first);
    assert_eq!(double.state.creates(), 1);

    // Another address gets its own item; a name that is a prefix does not match.
    let other = address("k3s-infrastructure/prod:/#ENCRYPTION_KEY_2");
    let third = backed_up_value(&store, &other, || SecretValue::new("canary-generated-2"))
        .await
        .unwrap();
    assert_eq!(third.expose(), "canary-generated-2");
    assert_eq!(double.state.creates(), 2);

    // A failed backup write stops the value from being used.
    double.state.set_fail_creates(true);
    let err = backed_up_value(
        &store,
        &address("k3s-infrastructure/prod:/#AUTH_SECRET"),
        || SecretValue::new("x"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`bw serve` refused POST /object/item: An error has occurred."
    );

    // A locked vault stops it too.
    double.state.set_fail_creates(false);
    double.state.set_locked(true);
    let err = store.find(&target).await.unwrap_err();
    assert_eq!(err.code(), "vault-locked");

    let memory = MemoryStore::default();
    let v = backed_up_value(&memory, &target, || SecretValue::new("m"))
        .await
        .unwrap();
    let w = backed_up_value(&memory, &target, || SecretValue::new("n"))
        .await
        .unwrap();
    assert!(v == w);
    assert_eq!(memory.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// The pipeline: plan and apply with Bitwarden sources.

use infisical_gitops::infisical::memory::MemoryInfisical;
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;

fn reconciler_over(memory: &Arc<MemoryInfisical>, bitwarden: BitwardenResolver) -> Reconciler {
    Reconciler::new(
        memory.clone(),
        Arc::new(SourceResolver::new().with_bitwarden(Arc::new(bitwarden))),
    )
}

fn stored(memory: &MemoryInfisical, address: &str) -> Option<String> {
    let Address::Secret(p, e, f, k) = address.parse::<Address>().unwrap() else {
        panic!("not a secret address");
    };
    memory
        .secret_value(p.as_str(), e.as_str(), f.as_str(), k.as_str())
        .map(|v| v.expose().to_string())
}

#[tokio::test]
async fn the_example_reconciles_through_bw_serve_and_through_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let bws = fake_bws(dir.path());
    let token = Some(SecretString::from(GOOD_TOKEN.to_string()));
    let double = BwServeDouble::with_export(&example_export()).await.unwrap();
    let vault = ExportVault::load(&repo_path("examples/bitwarden-export.json")).unwrap();
    let resolvers = [
        BitwardenResolver::new(
            PasswordManager::Serve(ServeClient::new(&double.url()).unwrap()),
            Some(BwsCli::new(&bws, token.clone())),
        )
        .with_sync(true),
        BitwardenResolver::new(
            PasswordManager::Export(Arc::new(vault)),
            Some(BwsCli::new(&bws, token.clone())),
        ),
    ];
    for resolver in resolvers {
        let memory = Arc::new(MemoryInfisical::new());
        let reconciler = reconciler_over(&memory, resolver);
        let (run, report) = reconciler.reconcile(example_state()).await.unwrap();
        assert!(run.plan.unresolved.is_empty(), "{:#?}", run.plan.unresolved);
        assert!(report.is_success(), "{}", report.render_text());
        for (address, expected) in EXPECTED {
            assert_eq!(
                stored(&memory, address).as_deref(),
                Some(*expected),
                "{address}"
            );
        }
        assert_eq!(
            stored(
                &memory,
                "k3s-infrastructure/prod:/api-keys#SMTP_RELAY_PASSWORD"
            )
            .as_deref(),
            Some(SM_CANARY)
        );
        // A second run plans nothing.
        let again = reconciler.plan(example_state()).await.unwrap();
        assert!(again.plan.is_empty(), "{:#?}", again.plan.changes);
    }
    assert_eq!(double.state.forbidden(), 0);
}

#[tokio::test]
async fn a_failed_lookup_stops_only_the_secrets_that_depend_on_it() {
    let full = ExportVault::load(&repo_path("examples/bitwarden-export.json")).unwrap();
    let memory = Arc::new(MemoryInfisical::new());
    let (_, report) = reconciler_over(
        &memory,
        BitwardenResolver::new(PasswordManager::Export(Arc::new(full)), None),
    )
    .reconcile(example_state())
    .await
    .unwrap();
    // Secrets Manager is not configured here: those two secrets were never written, and the
    // report says so.
    assert!(!report.is_success(), "{}", report.render_text());
    assert_eq!(report.unresolved.len(), 2);
    assert_eq!(report.counts().1 + report.counts().3, 0, "nothing failed");
    let before = stored(
        &memory,
        "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
    );
    assert_eq!(before.as_deref(), Some("fake-postgres-password-do-not-use"));

    // The Postgres item disappears from the vault.
    let mut doc: Value = serde_json::from_str(&example_export()).unwrap();
    doc["items"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["id"] != "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01");
    let reduced = ExportVault::parse(&doc.to_string(), "reduced.json").unwrap();
    let reconciler = reconciler_over(
        &memory,
        BitwardenResolver::new(PasswordManager::Export(Arc::new(reduced)), None),
    );
    let (run, report) = reconciler.reconcile(example_state()).await.unwrap();
    assert!(!report.is_success(), "{}", report.render_text());
    assert_eq!(report.counts(), (0, 0, 0, 0));
    assert_eq!(report.unresolved.len(), 4);
    // Nothing else changes; the dependent secrets are unresolved and untouched.
    assert!(run.plan.changes.is_empty(), "{:#?}", run.plan.changes);
    let postgres: Vec<_> = run
        .plan
        .unresolved
        .iter()
        .filter(|u| u.address.to_string().contains("#POSTGRES_"))
        .collect();
    assert!(!postgres.is_empty());
    for item in &postgres {
        assert_eq!(item.reason.code, "not-found");
        assert!(
            item.reason.message.starts_with(
                "cannot read bitwarden item 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01 "
            ) && item.reason.message.contains(
                ": no bitwarden item has id 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01 (declared at secrets/k3s-infrastructure/databases.yaml:"
            ),
            "{}",
            item.reason.message
        );
    }
    assert_eq!(
        stored(
            &memory,
            "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD"
        ),
        before,
        "never overwritten"
    );

    // A locked vault: every Bitwarden secret unresolved with the fix; literals still planned.
    let double = BwServeDouble::with_export(&example_export()).await.unwrap();
    double.state.set_locked(true);
    let fresh = Arc::new(MemoryInfisical::new());
    let run = reconciler_over(&fresh, serve_resolver(&double))
        .plan(example_state())
        .await
        .unwrap();
    // One shared cause with the fix (shown once), and per secret only what it reads.
    let locked: Vec<_> = run
        .plan
        .unresolved
        .iter()
        .filter(|u| u.reason.code == "vault-locked")
        .collect();
    assert!(!locked.is_empty());
    for item in &locked {
        assert_eq!(
            item.reason.cause.as_deref(),
            Some(
                "the bitwarden vault is locked; unlock: `bw unlock`, then restart `bw serve` with BW_SESSION, or POST /unlock"
            )
        );
        assert!(
            item.reason
                .message
                .starts_with("cannot read bitwarden item ")
                && item.reason.message.contains("(declared at secrets/")
                && !item.reason.message.contains("locked"),
            "{}",
            item.reason.message
        );
    }
    let groups = run.plan.unresolved_groups();
    assert_eq!(
        groups
            .iter()
            .filter(|g| g.code == "vault-locked")
            .map(|g| g.secrets.len())
            .collect::<Vec<_>>(),
        vec![locked.len()],
        "one group for the locked vault"
    );
    assert!(!run.plan.changes.is_empty());
    assert_eq!(
        double.state.requests(),
        1,
        "one status check, not one request per secret"
    );
}

/// A project with one generated secret backed up to Bitwarden.
pub(crate) const BACKUP_REPOSITORY: &str = "apiVersion: infisical-gitops.io/v1alpha1
kind: Project
metadata:
  name: backup-check
spec:
  environments:
    - slug: prod
---
apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata:
  name: backup-check
spec:
  project: backup-check
  environments: [prod]
  path: /
  secrets:
    - key: ENCRYPTION_KEY
      generate:
        length: 64
        charset: hex
        backupTo: bitwarden
";

#[tokio::test]
async fn a_crash_between_the_backup_and_the_infisical_write_yields_one_value() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("projects")).unwrap();
    std::fs::write(dir.path().join("projects/backup.yaml"), BACKUP_REPOSITORY).unwrap();
    let desired = load_desired_state(dir.path()).expect("valid").0;

    let double = BwServeDouble::start().await.unwrap();
    let folder = "0f1e2d3c-4b5a-4968-8776-655443322110";
    let store: Arc<dyn GeneratedValueStore> = Arc::new(BitwardenBackup::new(
        ServeClient::new(&double.url()).unwrap(),
        BackupLocation {
            folder: Some(folder.into()),
            ..BackupLocation::default()
        },
    ));
    let memory = Arc::new(MemoryInfisical::new());
    let reconciler =
        reconciler_over(&memory, serve_resolver(&double)).with_generated_store(Some(store.clone()));

    // Run 1: create the project first, then make every Infisical write of the secret fail.
    let run = reconciler.plan(desired.clone()).await.unwrap();
    let secret_changes = run
        .plan
        .changes
        .iter()
        .filter(|c| c.address.to_string().contains('#'))
        .count();
    assert_eq!(secret_changes, 1);
    memory.reset_calls();
    let report = reconciler.apply(&run, None).await.unwrap();
    assert!(report.is_success(), "{}", report.render_text());
    // That created everything, so start over with a fresh Infisical that fails the write.
    let crashing = Arc::new(MemoryInfisical::new());
    let double2 = BwServeDouble::start().await.unwrap();
    let store2: Arc<dyn GeneratedValueStore> = Arc::new(BitwardenBackup::new(
        ServeClient::new(&double2.url()).unwrap(),
        BackupLocation::default(),
    ));
    let reconciler2 = reconciler_over(&crashing, serve_resolver(&double2))
        .with_generated_store(Some(store2.clone()));
    // The project exists already (an earlier run); only the secret is to be created.
    let project_only = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project_only.path().join("projects")).unwrap();
    let project_doc = BACKUP_REPOSITORY.split("---").next().unwrap();
    std::fs::write(
        project_only.path().join("projects/backup.yaml"),
        project_doc,
    )
    .unwrap();
    let (_, report) = reconciler2
        .reconcile(load_desired_state(project_only.path()).expect("valid").0)
        .await
        .unwrap();
    assert!(report.is_success(), "{}", report.render_text());
    let run = reconciler2.plan(desired.clone()).await.unwrap();
    assert_eq!(run.plan.changes.len(), 1, "{:#?}", run.plan.changes);
    crashing.reset_calls();
    crashing.fail_calls(&(1..=50).collect::<Vec<_>>());
    let report = reconciler2.apply(&run, None).await.unwrap();
    assert!(!report.is_success());
    assert_eq!(double2.state.creates(), 1, "the backup was written first");
    assert!(stored(&crashing, "backup-check/prod:/#ENCRYPTION_KEY").is_none());

    // Run 2 (after the "crash"): the backup is found and written; nothing new is generated.
    crashing.fail_calls(&[]);
    let (run, report) = reconciler2.reconcile(desired.clone()).await.unwrap();
    assert!(report.is_success(), "{}", report.render_text());
    assert!(run.plan.unresolved.is_empty());
    assert_eq!(double2.state.creates(), 1, "still exactly one backup");
    let in_infisical = stored(&crashing, "backup-check/prod:/#ENCRYPTION_KEY").unwrap();
    let backup = &double2.state.items()[0];
    assert_eq!(
        backup["name"],
        "infisical-gitops: backup-check/prod:/#ENCRYPTION_KEY"
    );
    assert_eq!(backup["login"]["password"].as_str().unwrap(), in_infisical);
    assert_eq!(in_infisical.len(), 64);

    // The first, uninterrupted Infisical also matches its own single backup.
    assert_eq!(double.state.creates(), 1);
    assert_eq!(
        double.state.items()[0]["login"]["password"]
            .as_str()
            .unwrap(),
        stored(&memory, "backup-check/prod:/#ENCRYPTION_KEY").unwrap()
    );

    // Without a store, the plan is refused before anything is written.
    let bare = Arc::new(MemoryInfisical::new());
    let bare_reconciler = reconciler_over(&bare, serve_resolver(&double));
    let run = bare_reconciler.plan(desired.clone()).await.unwrap();
    assert_eq!(
        run.plan
            .errors
            .iter()
            .map(|e| (e.code.as_str(), e.address.as_ref().map(ToString::to_string)))
            .collect::<Vec<_>>(),
        vec![(
            "backup-unavailable",
            Some("backup-check/prod:/#ENCRYPTION_KEY".to_string())
        )]
    );
    let refused = bare_reconciler.reconcile(desired).await;
    assert!(refused.is_err());
    assert!(
        bare.calls()
            .keys()
            .all(|name| !name.starts_with("create") && !name.starts_with("update")),
        "nothing written: {:?}",
        bare.calls()
    );
    assert!(stored(&bare, "backup-check/prod:/#ENCRYPTION_KEY").is_none());
}

#[test]
fn the_readme_first_command_works_without_bitwarden_and_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dev.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(["apply", "--dev", "--auto-approve", "--dev-state"])
        .arg(&state)
        .arg(repo_path("examples/desired-state"))
        .env_remove("BWS_ACCESS_TOKEN")
        .env_remove("INFISICAL_GITOPS_BITWARDEN_URL")
        .env_remove("INFISICAL_GITOPS_BITWARDEN_EXPORT")
        .env("INFISICAL_GITOPS_LOG", "debug")
        .env("NO_COLOR", "1")
        .env("PATH", "/nonexistent")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("Unresolved"), "{stdout}");
    let state = std::fs::read_to_string(&state).unwrap();
    assert!(state.contains("fake-postgres-password-do-not-use"));
    let export: Value = serde_json::from_str(&example_export()).unwrap();
    for item in export["items"].as_array().unwrap() {
        for value in [
            &item["login"]["password"],
            &item["login"]["username"],
            &item["notes"],
        ] {
            if let Some(v) = value
                .as_str()
                .filter(|v| v.starts_with("fake-") || v.contains("\nfake-"))
            {
                assert!(!stdout.contains(v) && !stderr.contains(v), "{v} leaked");
            }
        }
    }
}

/// A whitespace-only value is an empty value, through `bw serve` as in the item itself: the
/// built-in fields and custom fields alike stay unresolved (`field-missing`) instead of becoming
/// an empty secret.
#[tokio::test]
async fn whitespace_only_fields_are_unresolved_through_bw_serve() {
    let double = BwServeDouble::with_export(&example_export()).await.unwrap();
    let id = "7c7c7c7c-0000-4000-8000-000000000001";
    double.state.insert_item(json!({
        "id": id, "type": 1, "name": "blank", "folderId": null, "collectionIds": [],
        "login": {"username": "admin", "password": " \n\t "},
        "fields": [
            {"name": "hidden-blank", "value": "   ", "type": 1, "linkedId": null},
            {"name": "text-newline", "value": "\n", "type": 0, "linkedId": null},
            {"name": "real", "value": " canary-real ", "type": 1, "linkedId": null}
        ],
        "deletedDate": null
    }));
    let resolver = serve_resolver(&double);
    for (field, label) in [
        (builtin(BitwardenField::Password), "password"),
        (
            BitwardenFieldRef::Custom("hidden-blank".into()),
            "custom field \"hidden-blank\"",
        ),
        (
            BitwardenFieldRef::Custom("text-newline".into()),
            "custom field \"text-newline\"",
        ),
    ] {
        let err = resolver.resolve_value(&by_id(id, field)).await.unwrap_err();
        assert_eq!(err.code(), "field-missing", "{label}");
        assert_eq!(
            err.to_string(),
            format!(
                "bitwarden item {id}: the item has no {label} (absent, empty or only whitespace)"
            )
        );
    }
    let value = resolver
        .resolve_value(&by_id(id, BitwardenFieldRef::Custom("real".into())))
        .await
        .unwrap();
    assert_eq!(value.expose(), " canary-real ", "a padded value is a value");
}
