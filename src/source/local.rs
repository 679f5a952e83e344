//! A local directory as a source: its revision is a digest of the YAML files it holds (paths
//! and contents), so an unchanged directory is recognised without re-planning. Symbolic links
//! are hashed by their target path, never read through; fifos and devices are never opened.

use std::io::Read;
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
    for (relative, entry) in files {
        hasher.update((relative.len() as u64).to_le_bytes());
        hasher.update(relative.as_bytes());
        match entry {
            Entry::File(path) => hash_file(&path, &mut hasher)?,
            // A link is hashed by where it points, never read through: adding, changing or
            // removing one changes the revision, and the loader then refuses it.
            Entry::Link(target) => {
                hasher.update(b"link");
                hasher.update(target.as_os_str().as_encoded_bytes());
            }
            Entry::Special => hasher.update(b"special"),
        }
    }
    let digest = hasher.finalize();
    Ok(format!("dir:{}", hex::encode(&digest[..8])))
}

/// A YAML entry of the directory.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    /// A regular file.
    File(PathBuf),
    /// A symbolic link (its target, as written).
    Link(PathBuf),
    /// A fifo, socket or device: never opened.
    Special,
}

/// Hashes a file's length and content, reading at most the loader's limit plus one byte (the
/// loader refuses anything larger).
fn hash_file(path: &Path, hasher: &mut Sha256) -> std::io::Result<()> {
    let limit = crate::source::Limits::DEFAULT.max_file_bytes;
    let file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    hasher.update(length.to_le_bytes());
    let mut content = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut content)?;
    hasher.update(&content);
    Ok(())
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, Entry)>) -> std::io::Result<()> {
    if std::fs::metadata(dir)?.is_file() {
        files.push((String::new(), Entry::File(dir.to_path_buf())));
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        // `DirEntry::file_type` does not follow links.
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if !yaml && !kind.is_symlink() {
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let entry = if kind.is_symlink() {
            Entry::Link(std::fs::read_link(&path)?)
        } else if kind.is_file() {
            Entry::File(path)
        } else {
            Entry::Special
        };
        files.push((relative, entry));
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
