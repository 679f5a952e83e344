//! A local directory as a source: its revision is a digest of the YAML files it holds (paths
//! and contents), so an unchanged directory is recognised without re-planning.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A digest of every YAML file under `root` (relative path and content, sorted by path);
/// `dir:` followed by 16 hex digits.
///
/// # Errors
/// When `root` cannot be read.
pub fn directory_revision(root: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for (relative, path) in files {
        let content = std::fs::read(&path)?;
        hasher.update((relative.len() as u64).to_le_bytes());
        hasher.update(relative.as_bytes());
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    let digest = hasher.finalize();
    Ok(format!("dir:{}", hex::encode(&digest[..8])))
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    if std::fs::metadata(dir)?.is_file() {
        files.push((String::new(), dir.to_path_buf()));
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(root, &path, files)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            files.push((relative, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_follows_yaml_content_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.yaml"), "x: 1\n").expect("write");
        let first = directory_revision(dir.path()).expect("revision");
        std::fs::write(dir.path().join("notes.txt"), "ignored").expect("write");
        assert_eq!(directory_revision(dir.path()).expect("revision"), first);
        std::fs::write(dir.path().join("a.yaml"), "x: 2\n").expect("write");
        assert_ne!(directory_revision(dir.path()).expect("revision"), first);
    }
}
