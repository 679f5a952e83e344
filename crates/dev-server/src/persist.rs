//! The state file: JSON, written atomically (temporary file, fsync, rename, fsync of the
//! directory), created with mode 0600 because it holds secret values in clear.

use std::fs;
use std::io;
use std::path::Path;

use super::DevServerError;
use super::store::Store;

/// Reads the state file; `None` when it does not exist. A file that exists but does not parse
/// is an error naming the file; it is never replaced.
pub(crate) fn load(path: &Path) -> Result<Option<Store>, DevServerError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DevServerError::StateRead {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| DevServerError::StateCorrupt {
            path: path.to_owned(),
            source,
        })
}

/// Writes the state atomically (a fresh temporary file created exclusively with mode 0600,
/// fsync, rename, fsync of the directory); a state path that is a symbolic link is refused, so
/// the values are never written through a planted link.
pub(crate) fn save(path: &Path, store: &Store) -> io::Result<()> {
    let bytes = serde_json::to_vec(store).map_err(io::Error::other)?;
    infisical_gitops_files::write_atomically(path, &bytes, 0o600).map_err(io::Error::other)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn the_state_is_never_written_through_a_planted_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let canary = outside.path().join("canary");
        fs::write(&canary, "canary-untouched").expect("canary");
        let path = dir.path().join("state.json");
        // The temporary file's old fixed name, planted: never followed.
        symlink(&canary, dir.path().join(".state.json.tmp")).expect("symlink");
        let store = Store::new("org");
        save(&path, &store).expect("saved beside the planted link");
        assert_eq!(
            fs::read_to_string(&canary).expect("canary"),
            "canary-untouched"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(&path).expect("state").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // The state path itself a link: refused.
        fs::remove_file(&path).expect("remove");
        symlink(&canary, &path).expect("symlink");
        let error = save(&path, &store).expect_err("refused");
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert_eq!(
            fs::read_to_string(&canary).expect("canary"),
            "canary-untouched"
        );
    }
}
