//! Leader election against kube's mock service: a tiny Lease store behind
//! `tower_test::mock` answers GET, POST and PUT with resourceVersion conflicts, shared by two
//! replicas.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::{Request, Response};
use infisical_gitops::daemon::lease::{LeaseConfig, LeaseLock};
use kube::client::Body;
use serde_json::{Value, json};

#[derive(Default)]
struct Store {
    lease: Option<Value>,
    version: u64,
    /// Bump the version right after the next GET (another writer got in between).
    interfere: bool,
    writes: Vec<String>,
}

fn respond(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn status(code: u16, reason: &str) -> Response<Body> {
    respond(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": reason, "code": code, "message": reason}),
    )
}

async fn handle(store: Arc<Mutex<Store>>, request: Request<Body>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let mut store = store.lock().unwrap();
    assert!(
        path.starts_with("/apis/coordination.k8s.io/v1/namespaces/ops/leases"),
        "{path}"
    );
    match method.as_str() {
        "GET" => {
            let Some(lease) = store.lease.clone() else {
                return status(404, "NotFound");
            };
            if store.interfere {
                store.interfere = false;
                store.version += 1;
                let version = store.version.to_string();
                if let Some(lease) = store.lease.as_mut() {
                    lease["metadata"]["resourceVersion"] = json!(version);
                }
            }
            respond(200, &lease)
        }
        "POST" => {
            if store.lease.is_some() {
                return status(409, "AlreadyExists");
            }
            let mut lease: Value = serde_json::from_slice(&bytes).unwrap();
            store.version += 1;
            lease["metadata"]["resourceVersion"] = json!(store.version.to_string());
            store
                .writes
                .push(format!("create {}", lease["spec"]["holderIdentity"]));
            store.lease = Some(lease.clone());
            respond(201, &lease)
        }
        "PUT" => {
            let mut lease: Value = serde_json::from_slice(&bytes).unwrap();
            let current = store
                .lease
                .as_ref()
                .map(|l| l["metadata"]["resourceVersion"].clone());
            if current != Some(lease["metadata"]["resourceVersion"].clone()) {
                store.writes.push("conflict".to_string());
                return status(409, "Conflict");
            }
            store.version += 1;
            lease["metadata"]["resourceVersion"] = json!(store.version.to_string());
            store.writes.push(format!(
                "update {} transitions={}",
                lease["spec"]["holderIdentity"], lease["spec"]["leaseTransitions"]
            ));
            store.lease = Some(lease.clone());
            respond(200, &lease)
        }
        other => panic!("unexpected {other} {path}"),
    }
}

fn replica(store: &Arc<Mutex<Store>>, identity: &str) -> LeaseLock {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let store = store.clone();
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            send.send_response(handle_request(&store, request).await);
        }
    });
    let mut config = LeaseConfig::new("infisical-gitops".into(), "ops".into(), identity.into());
    config.lease_duration = Duration::from_secs(15);
    LeaseLock::new(kube::Client::new(service, "ops"), config)
}

async fn handle_request(store: &Arc<Mutex<Store>>, request: Request<Body>) -> Response<Body> {
    handle(store.clone(), request).await
}

#[tokio::test]
async fn one_holder_renewal_expiry_takeover_conflicts_and_release() {
    let store = Arc::new(Mutex::new(Store::default()));
    let a = replica(&store, "replica-a");
    let b = replica(&store, "replica-b");
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let at = |s: u64| t0 + Duration::from_secs(s);

    assert!(
        a.try_acquire_or_renew(at(0)).await.unwrap(),
        "a creates the lease"
    );
    assert!(!b.try_acquire_or_renew(at(1)).await.unwrap(), "held by a");
    assert!(a.try_acquire_or_renew(at(5)).await.unwrap(), "a renews");
    assert!(
        !b.try_acquire_or_renew(at(19)).await.unwrap(),
        "renewed at 5, valid until 20"
    );
    assert!(
        b.try_acquire_or_renew(at(21)).await.unwrap(),
        "expired: b takes over"
    );
    assert!(!a.try_acquire_or_renew(at(22)).await.unwrap(), "a lost it");

    // A writer between our read and our write: the write conflicts and we do not lead.
    store.lock().unwrap().interfere = true;
    assert!(
        !a.try_acquire_or_renew(at(60)).await.unwrap(),
        "conflict is a lost race"
    );

    // b renews and then releases; a takes over at once, without waiting for expiry.
    assert!(b.try_acquire_or_renew(at(61)).await.unwrap());
    b.release().await.unwrap();
    assert!(
        a.try_acquire_or_renew(at(62)).await.unwrap(),
        "released lease is free"
    );

    let writes = store.lock().unwrap().writes.clone();
    insta::assert_snapshot!(writes.join("\n"), @r#"
    create "replica-a"
    update "replica-a" transitions=0
    update "replica-b" transitions=1
    conflict
    update "replica-b" transitions=1
    update null transitions=1
    update "replica-a" transitions=2
    "#);
}
