//! The state file: JSON, written atomically (temporary file, fsync, rename, fsync of the
//! directory), created with mode 0600 because it holds secret values in clear.

use std::fs;
use std::io::{self, Write};
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

/// Writes the state atomically.
pub(crate) fn save(path: &Path, store: &Store) -> io::Result<()> {
    let bytes = serde_json::to_vec(store).map_err(io::Error::other)?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => Path::new(".").to_owned(),
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned());
    let temporary = directory.join(format!(".{}.tmp", file_name.unwrap_or_default()));
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, path)?;
    #[cfg(unix)]
    {
        if let Ok(dir) = fs::File::open(&directory) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}
