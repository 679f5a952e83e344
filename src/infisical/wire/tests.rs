use super::*;
use crate::infisical::api::SecretWrite;
use crate::model::names::MAX_FOLDER_DEPTH;

#[test]
fn error_body_message_string_or_array() {
    let body: ErrorBody = serde_json::from_str(
        r#"{"reqId":"req-1","statusCode":422,"error":"ValidationFailure",
            "message":[{"code":"too_big","message":"String must contain at most 64 character(s)","path":["projectName"]},
                       {"code":"custom","message":"bad","path":[]}]}"#,
    )
    .unwrap();
    assert_eq!(body.req_id.as_deref(), Some("req-1"));
    assert_eq!(
        body.issues(),
        vec![
            "projectName: String must contain at most 64 character(s)".to_string(),
            "bad".to_string()
        ]
    );
    let body: ErrorBody =
        serde_json::from_str(r#"{"message":"Secret already exists","extra":1}"#).unwrap();
    assert_eq!(body.issues(), vec!["Secret already exists".to_string()]);
}

#[test]
fn secret_decodes_minimal_and_full_shapes() {
    let minimal: SecretWire = serde_json::from_str(
        r#"{"id":"1","_id":"1","workspace":"p","environment":"dev","version":1,"type":"shared",
            "secretKey":"A","secretValue":"canary-value","secretComment":""}"#,
    )
    .unwrap();
    let remote = minimal.into_remote("/x");
    assert_eq!(remote.path, "/x");
    assert_eq!(remote.value, Some(SecretValue::new("canary-value")));
    assert!(!format!("{remote:?}").contains("canary-value"));

    let full: SecretWire = serde_json::from_str(
        r#"{"id":"2","secretKey":"B","secretValue":"","secretValueHidden":true,"secretComment":null,
            "secretPath":"/a/b/","tags":[{"id":"t","slug":"managed","color":null,"name":"managed"}],
            "secretMetadata":[{"key":"managed-by","value":"gitops","isEncrypted":false}],
            "version":3,"unknownField":{"x":1}}"#,
    )
    .unwrap();
    let remote = full.into_remote("/");
    assert_eq!(remote.path, "/a/b");
    assert_eq!(remote.value, None);
    assert_eq!(remote.comment, "");
    assert_eq!(remote.tags[0].slug, "managed");
    assert_eq!(
        remote.metadata,
        vec![("managed-by".to_string(), "gitops".to_string())]
    );
    assert_eq!(remote.version, 3);
}

fn folder(id: &str, name: &str, parent: Option<&str>) -> FolderWire {
    FolderWire {
        id: id.into(),
        name: name.into(),
        parent_id: parent.map(Into::into),
        description: None,
        path: None,
    }
}

/// A chain `/f0/f1/…` of `length` folders below an environment root, leaf first.
fn chain(length: usize) -> Vec<FolderWire> {
    let mut folders = vec![folder("root", "root", None)];
    for level in 0..length {
        let parent = if level == 0 {
            "root".to_string()
        } else {
            format!("id-{}", level - 1)
        };
        folders.push(folder(
            &format!("id-{level}"),
            &format!("f{level}"),
            Some(&parent),
        ));
    }
    folders.reverse();
    folders
}

#[test]
fn folder_paths_follow_parent_links() {
    let folders = vec![
        folder("c", "web", Some("b")),
        folder("b", "apps", Some("root")),
        folder("root", "root", None),
    ];
    let out = folders_with_paths("/", folders).expect("a tree").folders;
    assert_eq!(out.len(), 2, "the environment root is not a folder");
    assert_eq!(out[0].path, "/apps");
    assert_eq!(out[1].path, "/apps/web");
}

#[test]
fn a_folder_whose_parent_is_not_listed_sits_below_the_listed_path() {
    // A listing of `/apps` leaves `/apps` itself out: its children name an unknown parent.
    let folders = vec![
        folder("d", "deep", Some("c")),
        folder("c", "web", Some("apps-id")),
        folder("e", "orphan", Some("gone")),
    ];
    let out = folders_with_paths("/apps", folders)
        .expect("a tree")
        .folders;
    let paths: Vec<&str> = out.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["/apps/orphan", "/apps/web", "/apps/web/deep"]);
}

#[test]
fn a_parent_cycle_is_an_error_naming_its_folders() {
    let folders = vec![
        folder("ok", "fine", Some("root")),
        folder("root", "root", None),
        folder("a", "x", Some("b")),
        folder("b", "y", Some("c")),
        folder("c", "z", Some("a")),
        folder("below", "w", Some("a")),
    ];
    let error = folders_with_paths("/", folders).expect_err("a cycle");
    insta::assert_snapshot!(error, @"the folder listing of `/` has a parent cycle through folder ids `a`, `b`, `c`; repair the folders in Infisical");
    let error = folders_with_paths("/", vec![folder("self\nforged", "s", Some("self\nforged"))])
        .expect_err("a folder that is its own parent");
    assert_eq!(
        error.to_string(),
        "the folder listing of `/` has a parent cycle through folder ids `selfforged`; \
         repair the folders in Infisical"
    );
}

#[test]
fn a_long_cycle_names_its_first_ten_folders() {
    let length = 50_000;
    let folders: Vec<FolderWire> = (0..length)
        .map(|i| folder(&format!("{i}"), "n", Some(&format!("{}", (i + 1) % length))))
        .collect();
    let error = folders_with_paths("/", folders).expect_err("a cycle");
    assert!(
        error
            .to_string()
            .ends_with("`8`, `9`, and 49990 more; repair the folders in Infisical"),
        "{error}"
    );
}

#[test]
fn folders_deeper_than_the_limit_are_counted_and_left_out() {
    for folders in [chain(100), chain(100).into_iter().rev().collect()] {
        let tree = folders_with_paths("/", folders).expect("a tree");
        assert_eq!(tree.folders.len(), MAX_FOLDER_DEPTH);
        assert_eq!(tree.too_deep, 100 - MAX_FOLDER_DEPTH);
        let deepest = tree
            .folders
            .iter()
            .map(|f| f.path.matches('/').count())
            .max();
        assert_eq!(deepest, Some(MAX_FOLDER_DEPTH));
    }
    // The depth counts from the environment root, not from the listed path.
    let tree = folders_with_paths("/a/b", chain(MAX_FOLDER_DEPTH)).expect("a tree");
    assert_eq!(tree.folders.len(), MAX_FOLDER_DEPTH - 2);
    assert_eq!(tree.too_deep, 2);
}

#[test]
fn the_paths_of_one_listing_are_bounded() {
    // Chains of 64 levels of 64-character names: 2 KiB per path on average, so 19,200
    // such folders (300 chains) would take 40 MiB of paths.
    let name = "n".repeat(64);
    let mut folders = Vec::new();
    for tree in 0..300 {
        let mut parent = "root".to_string();
        for level in 0..MAX_FOLDER_DEPTH {
            let id = format!("{tree}-{level}");
            folders.push(folder(&id, &name, Some(&parent)));
            parent = id;
        }
    }
    let error = folders_with_paths("/", folders).expect_err("too large");
    assert_eq!(
        error.to_string(),
        "the folder listing of `/` is too large: its folder paths add up to more than \
         33554432 bytes; remove unused folders in Infisical"
    );
}

#[test]
fn a_chain_of_100000_folders_is_reconstructed_in_linear_time() {
    let started = std::time::Instant::now();
    let tree = folders_with_paths("/", chain(100_000)).expect("a tree");
    assert_eq!(tree.folders.len(), MAX_FOLDER_DEPTH);
    assert_eq!(tree.too_deep, 100_000 - MAX_FOLDER_DEPTH);
    // Quadratic reconstruction took minutes here; linear takes milliseconds. The bound is
    // loose so a loaded machine does not fail it.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn paths_normalise() {
    assert_eq!(normalize_path(""), "/");
    assert_eq!(normalize_path("a//b/"), "/a/b");
    assert_eq!(join_path("/", "x"), "/x");
    assert_eq!(join_path("/a/", "x"), "/a/x");
}

#[test]
fn write_item_redacts_in_debug_but_serializes_value() {
    let write = SecretWrite {
        key: "K".into(),
        value: Some(SecretValue::new("canary-value")),
        comment: None,
        tag_ids: None,
        metadata: Some(vec![("m".into(), "v".into())]),
    };
    let item = SecretItemRequest::from_write(&write);
    assert!(!format!("{item:?}").contains("canary-value"));
    let json = serde_json::to_string(&item).unwrap();
    assert!(json.contains(r#""secretValue":"canary-value""#));
    assert!(json.contains(r#""secretMetadata":[{"key":"m","value":"v"}]"#));
}
