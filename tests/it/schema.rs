//! `schema/` is generated from the model types; this test fails when it is stale.

use std::path::Path;

use infisical_gitops::model::schema::schema_files;

#[test]
fn schema_is_up_to_date() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/schema"));
    let update = std::env::var_os("INFISICAL_GITOPS_UPDATE_SCHEMA").is_some();
    let mut stale = Vec::new();
    for (name, expected) in schema_files() {
        let path = dir.join(&name);
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            if update {
                std::fs::create_dir_all(dir).unwrap();
                std::fs::write(&path, &expected).unwrap();
            } else {
                stale.push(name);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "schema/ is stale ({}); regenerate it with\n\n    cargo run -- schema --out schema\n\nor\n\n    INFISICAL_GITOPS_UPDATE_SCHEMA=1 cargo test --test it schema\n",
        stale.join(", ")
    );
}
