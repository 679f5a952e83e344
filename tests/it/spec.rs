//! docs/spec.md stays true: its YAML examples validate together, and every diagnostic code the
//! corpus produces is documented there.

use std::path::Path;

use infisical_gitops::cli::validate::{render_text, validate_path};

fn spec() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/spec.md"))
        .expect("docs/spec.md")
}

/// The contents of every ```yaml fenced block.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start() == "```yaml" => current = Some(String::new()),
            None => {}
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn spec_examples_validate() {
    let blocks = yaml_blocks(&spec());
    assert!(blocks.len() >= 8, "the spec shows every kind");
    let dir = tempfile::tempdir().unwrap();
    for (index, block) in blocks.iter().enumerate() {
        std::fs::write(dir.path().join(format!("example-{index:02}.yaml")), block).unwrap();
    }
    let validation = validate_path(dir.path());
    assert!(
        validation.diagnostics.is_empty(),
        "docs/spec.md examples are not valid:\n{}",
        render_text(dir.path(), &validation, false)
    );
    let summary = validation.summary;
    assert!(
        summary.projects >= 2 && summary.kubernetes_syncs >= 1,
        "{summary:?}"
    );
}

#[test]
fn every_diagnostic_code_is_documented() {
    let spec = spec();
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(snapshots).unwrap() {
        let path = entry.unwrap().path();
        // Only committed snapshots: a `.snap.new` that a failing test writes (and may remove)
        // meanwhile is not documentation's concern.
        if path.extension().is_none_or(|extension| extension != "snap") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            for prefix in ["error[", "warning["] {
                if let Some(rest) = line.strip_prefix(prefix)
                    && let Some(code) = rest.split(']').next()
                    && !spec.contains(&format!("`{code}`"))
                    && !missing.contains(&code.to_string())
                {
                    missing.push(code.to_string());
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "codes missing from docs/spec.md: {missing:?}"
    );
}

#[test]
fn readme_example_validates() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let blocks = yaml_blocks(&readme);
    assert!(!blocks.is_empty(), "the README shows the YAML");
    let dir = tempfile::tempdir().unwrap();
    for (index, block) in blocks.iter().enumerate() {
        std::fs::write(dir.path().join(format!("readme-{index:02}.yaml")), block).unwrap();
    }
    let validation = validate_path(dir.path());
    assert!(
        validation.diagnostics.is_empty(),
        "README.md examples are not valid:\n{}",
        render_text(dir.path(), &validation, false)
    );
}
