//! Folder-path reconstruction benchmark: `infisical::wire::folders_with_paths` (what every
//! observed environment's recursive folder listing goes through) on hostile and large
//! listings: a chain of 10,000 and of 100,000 nested folders (given leaf first), a parent cycle
//! through 100,000 folders, and 100,000 folders in a wide tree of realistic depth.
//!
//! Reports the wall time and the peak live heap (sampled every millisecond by a thread; the
//! listing itself, parsed before the measurement starts, is not counted).
//!
//! `cargo bench --bench folders` runs the full size; under `cargo test` (no `--bench`
//! argument) it runs a smoke size. The baseline is in docs/benchmarks.md.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use infisical_gitops::infisical::wire::{FolderWire, folders_with_paths};

#[path = "support/peak_heap.rs"]
mod peak_heap;

use peak_heap::{ALLOCATOR, PEAK, start_peak_sampler};

fn folder(id: String, name: String, parent: Option<String>) -> FolderWire {
    FolderWire {
        id,
        name,
        parent_id: parent,
        description: None,
        path: None,
    }
}

/// `/f0/f1/…/f{n-1}` below an environment root, leaf first (the worst order for a walk that
/// is not memoised).
fn chain(n: usize) -> Vec<FolderWire> {
    let mut folders = vec![folder("root".into(), "root".into(), None)];
    for level in 0..n {
        let parent = if level == 0 {
            "root".to_string()
        } else {
            format!("{:036}", level - 1)
        };
        folders.push(folder(
            format!("{level:036}"),
            format!("folder{level}"),
            Some(parent),
        ));
    }
    folders.reverse();
    folders
}

/// `n` folders, each the parent of the next, the last the parent of the first.
fn cycle(n: usize) -> Vec<FolderWire> {
    (0..n)
        .map(|i| {
            folder(
                format!("{i:036}"),
                format!("folder{i}"),
                Some(format!("{:036}", (i + 1) % n)),
            )
        })
        .collect()
}

/// `n` folders, ten children per folder (five levels for 100,000), children listed first.
fn wide(n: usize) -> Vec<FolderWire> {
    let mut folders = vec![folder("root".into(), "root".into(), None)];
    for i in 0..n {
        let parent = if i < 10 {
            "root".to_string()
        } else {
            format!("{:036}", i / 10 - 1)
        };
        folders.push(folder(
            format!("{i:036}"),
            format!("service-{i}"),
            Some(parent),
        ));
    }
    folders.reverse();
    folders
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn measure(label: &str, folders: Vec<FolderWire>) {
    let listed = folders.len();
    // Let the sampler see the listing's own size first.
    std::thread::sleep(Duration::from_millis(5));
    let baseline = ALLOCATOR.allocated();
    PEAK.store(baseline, Ordering::Relaxed);
    let started = Instant::now();
    let result = folders_with_paths("/", folders);
    let elapsed = started.elapsed();
    std::thread::sleep(Duration::from_millis(5));
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    let outcome = match &result {
        Ok(tree) => format!("{} paths, {} too deep", tree.folders.len(), tree.too_deep),
        Err(error) => {
            let text = error.to_string();
            format!("error: {}", text.chars().take(60).collect::<String>())
        }
    };
    drop(result);
    println!(
        "{label:<28} {listed:>7} folders  {:>9.1} ms  peak {:>9} above the listing  ({outcome})",
        elapsed.as_secs_f64() * 1000.0,
        megabytes(peak),
    );
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (small, large) = if full {
        (10_000, 100_000)
    } else {
        (500, 2_000)
    };
    start_peak_sampler();
    println!(
        "folders_with_paths ({} size)",
        if full { "full" } else { "smoke" }
    );
    measure(&format!("nested chain of {small}"), chain(small));
    measure(&format!("nested chain of {large}"), chain(large));
    measure(&format!("parent cycle of {large}"), cycle(large));
    measure(&format!("wide tree of {large}"), wide(large));
}
