//! Bitwarden resolve benchmark: 1,000 distinct item references against the `bw serve` double
//! with 5 ms added latency per request, resolved one after another and then concurrently
//! (the resolver's own bound: 16 by default, and 64).
//!
//! `cargo bench --bench bitwarden` runs the full size; under `cargo test` (no `--bench`
//! argument) it runs a small smoke size. Baseline figures live in docs/benchmarks.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use infisical_gitops::model::document::BitwardenField;
use infisical_gitops::model::{BitwardenFieldRef, BitwardenItem, BitwardenRef, SecretSource};
use infisical_gitops::resolve::bitwarden::double::BwServeDouble;
use infisical_gitops::resolve::bitwarden::{BitwardenResolver, PasswordManager, ServeClient};
use serde_json::json;

const LATENCY: Duration = Duration::from_millis(5);

fn reference(i: usize) -> SecretSource {
    SecretSource::Bitwarden(BitwardenRef {
        item: BitwardenItem::Id(item_id(i)),
        field: BitwardenFieldRef::Builtin {
            field: BitwardenField::Password,
            uri_index: 0,
        },
    })
}

fn item_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

async fn run(double: &BwServeDouble, references: &[SecretSource], concurrency: usize) -> Duration {
    let client = ServeClient::new(&double.url()).expect("client");
    let resolver = Arc::new(
        BitwardenResolver::new(PasswordManager::Serve(client), None).with_concurrency(concurrency),
    );
    let started = Instant::now();
    if concurrency == 1 {
        for source in references {
            resolver.resolve_value(source).await.expect("resolves");
        }
    } else {
        let results: Vec<_> = futures::stream::iter(references.iter().map(|source| {
            let resolver = Arc::clone(&resolver);
            async move { resolver.resolve_value(source).await }
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await;
        assert!(results.iter().all(Result::is_ok));
    }
    let elapsed = started.elapsed();
    assert_eq!(resolver.backend_calls(), references.len() + 1);
    elapsed
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let count = if full { 1000 } else { 50 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let double = BwServeDouble::start().await.expect("double");
        for i in 0..count {
            double.state.insert_item(json!({
                "id": item_id(i), "type": 1, "name": format!("item {i}"), "folderId": null,
                "collectionIds": [], "login": {"username": "u", "password": format!("bench-{i}"), "uris": []},
                "fields": [], "deletedDate": null
            }));
        }
        double.state.set_latency(LATENCY);
        let references: Vec<SecretSource> = (0..count).map(reference).collect();

        let sequential = run(&double, &references, 1).await;
        let concurrent_16 = run(&double, &references, 16).await;
        let concurrent_64 = run(&double, &references, 64).await;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "bitwarden resolve: {count} references, {} ms added latency per request",
            LATENCY.as_millis()
        );
        println!("  sequential:      {:>8.1} ms", ms(sequential));
        println!(
            "  concurrency 16:  {:>8.1} ms  ({:.1}x faster)",
            ms(concurrent_16),
            ms(sequential) / ms(concurrent_16)
        );
        println!(
            "  concurrency 64:  {:>8.1} ms  ({:.1}x faster)",
            ms(concurrent_64),
            ms(sequential) / ms(concurrent_64)
        );
    });
}
