//! Import matching benchmark: `import::generate` for 10,000 live secrets (100 folders of 100)
//! against a catalog of 2,000 Bitwarden items (password, username, a custom field, two URIs:
//! 10,000 indexed fields); 8 of 10 values are held by some field, the rest become placeholders.
//! Measures the catalog build (the keyed digests) plus the generation, wall time and peak live
//! heap. `cargo bench --bench import` runs the full size; under `cargo test` a smoke size.
//! The baseline is in docs/benchmarks.md.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use infisical_gitops::import::{Catalog, ImportOptions, Mapping, MatchMode, Refuse, generate};
use infisical_gitops::model::document::Adoption;
use infisical_gitops::model::{EnvironmentSlug, FolderPath, ProjectSlug, SecretKey, SecretValue};
use infisical_gitops::plan::{LiveEnvironment, LiveProject, LiveSecret, LiveState};
use infisical_gitops::resolve::bitwarden::item::Item;

#[path = "support/peak_heap.rs"]
mod peak_heap;

use peak_heap::{ALLOCATOR, PEAK, start_peak_sampler};

fn items(count: usize) -> Vec<Item> {
    let json: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "id": format!("{i:08x}-0000-4000-8000-000000000000"), "type": 1,
                "name": format!("item {i}"),
                "login": {"username": format!("user-{i}"), "password": format!("pass-{i}-x9"),
                          "uris": [{"uri": format!("https://a{i}")}, {"uri": format!("https://b{i}")}]},
                "fields": [{"name": "token", "value": format!("token-{i}"), "type": 1}]
            })
        })
        .collect();
    serde_json::from_value(serde_json::Value::Array(json)).expect("items")
}

fn live(secrets: usize, items: usize) -> LiveState {
    let mut environment = LiveEnvironment {
        id: "env".into(),
        name: "prod".into(),
        position: Some(1),
        observed: true,
        folders: BTreeMap::new(),
        secrets: BTreeMap::new(),
        imports: BTreeMap::new(),
    };
    let kinds = ["pass-{}-x9", "user-{}", "token-{}", "https://b{}"];
    for s in 0..secrets {
        let folder = FolderPath::new(format!("/f{}", s / 100)).expect("path");
        let value = if s % 10 >= 8 {
            format!("not-in-the-vault-{s}")
        } else {
            kinds[s % 4].replace("{}", &((s * 7) % items).to_string())
        };
        environment.secrets.insert(
            (folder, SecretKey::new(format!("KEY_{s}")).expect("key")),
            LiveSecret {
                id: format!("id-{s}"),
                value: Some(SecretValue::new(value)),
                comment: String::new(),
                tags: BTreeSet::new(),
                metadata: BTreeMap::new(),
                version: 1,
            },
        );
    }
    let project = LiveProject {
        id: "p".into(),
        name: "bench".into(),
        description: None,
        environments: BTreeMap::from([(EnvironmentSlug::new("prod").expect("slug"), environment)]),
        tags: BTreeMap::new(),
    };
    LiveState {
        projects: BTreeMap::from([(ProjectSlug::new("bench-project").expect("slug"), project)]),
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (secrets, item_count) = if full { (10_000, 2_000) } else { (500, 100) };
    let items = items(item_count);
    let live = live(secrets, item_count);
    start_peak_sampler();
    std::thread::sleep(Duration::from_millis(5));
    let before = ALLOCATOR.allocated();
    PEAK.store(before, Ordering::Relaxed);
    let started = Instant::now();
    let catalog = Catalog::new(items, None, None);
    let imported = generate(
        &[],
        &live,
        &Mapping::default(),
        Some(&catalog),
        &mut Refuse,
        &ImportOptions {
            instance: "bench".into(),
            adoption: Adoption::Adopt,
            matching: MatchMode::Both,
        },
    )
    .expect("no ambiguity");
    let elapsed = started.elapsed();
    std::thread::sleep(Duration::from_millis(5));
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let report = &imported.report;
    assert_eq!(report.secrets, secrets);
    assert_eq!(report.matched_by_value + report.placeholders.len(), secrets);
    println!(
        "import: {secrets} secrets x {item_count} items ({} fields): {:.1} ms, {} by value, {} placeholders; peak heap above the inputs {:.1} MiB",
        catalog.indexed_fields(),
        elapsed.as_secs_f64() * 1000.0,
        report.matched_by_value,
        report.placeholders.len(),
        peak as f64 / 1024.0 / 1024.0
    );
}
