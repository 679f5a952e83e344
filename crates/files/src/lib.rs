//! Writing files into a directory without following symbolic links: what `manifests --out`,
//! `import --out` and the dev server's state file use.
//!
//! - A file is written to a fresh temporary file beside it, created exclusively
//!   (`create_new`: it fails on anything already there, a symbolic link included, dangling or
//!   not, so a planted link is never written through), then renamed over the target (a rename
//!   replaces a name, never what a link points to).
//! - A target or a directory on the way that is a symbolic link, or is not a regular file or
//!   directory (a fifo, a device), is refused with an error naming it; nothing is written.

use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The target, or a directory on the way to it, is a symbolic link.
    #[error(
        "refusing to write through `{path}`: it is a symbolic link; remove the link or choose \
         another output directory"
    )]
    SymbolicLink {
        /// The link.
        path: PathBuf,
    },
    /// The target exists and is not a regular file (or a directory on the way is not a
    /// directory).
    #[error("refusing to write `{path}`: it exists and is not a regular {expected}")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// `file` or `directory`.
        expected: &'static str,
    },
    /// A relative path that would leave its directory.
    #[error("refusing to write `{path}`: the path must stay inside the output directory")]
    Outside {
        /// The path.
        path: PathBuf,
    },
    /// The file system refused.
    #[error("cannot write `{path}`")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What is at `path`, without following a link: `None` when nothing is.
///
/// # Errors
/// [`WriteError::Io`] when it cannot be looked at.
pub fn entry_kind(path: &Path) -> Result<Option<fs::FileType>, WriteError> {
    match fs::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata.file_type())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(WriteError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Checks that `path` is a regular file or nothing: never a link, a directory, a fifo or a
/// device. Returns whether a file is there.
///
/// # Errors
/// [`WriteError::SymbolicLink`], [`WriteError::NotRegular`] or [`WriteError::Io`].
pub fn check_regular_or_absent(path: &Path) -> Result<bool, WriteError> {
    match entry_kind(path)? {
        None => Ok(false),
        Some(kind) if kind.is_symlink() => Err(WriteError::SymbolicLink {
            path: path.to_owned(),
        }),
        Some(kind) if kind.is_file() => Ok(true),
        Some(_) => Err(WriteError::NotRegular {
            path: path.to_owned(),
            expected: "file",
        }),
    }
}

/// Reads `path` as text when it is a regular file; `None` when nothing is there.
///
/// # Errors
/// As [`check_regular_or_absent`], or when it cannot be read.
pub fn read_regular(path: &Path) -> Result<Option<String>, WriteError> {
    if !check_regular_or_absent(path)? {
        return Ok(None);
    }
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(WriteError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Checks, without creating anything, that the directories of `relative` inside `root` that
/// exist are directories and not symbolic links (as [`create_dirs_within`] will require).
///
/// # Errors
/// As [`create_dirs_within`].
pub fn check_dirs_within(root: &Path, relative: &Path) -> Result<(), WriteError> {
    walk_dirs_within(root, relative, false).map(|_| ())
}

/// Creates the directories of `relative` (a relative path of directories) inside `root`, one
/// at a time, refusing any that is a symbolic link or not a directory, and any `..` or
/// absolute component. `root` itself is the caller's choice: it is created when missing and
/// taken as it is.
///
/// # Errors
/// [`WriteError`].
pub fn create_dirs_within(root: &Path, relative: &Path) -> Result<PathBuf, WriteError> {
    walk_dirs_within(root, relative, true)
}

/// Walks the directories of `relative` inside `root`, checking each, creating the missing ones
/// when `create` (else stopping at the first missing one).
fn walk_dirs_within(root: &Path, relative: &Path, create: bool) -> Result<PathBuf, WriteError> {
    if create {
        // The root is the caller's choice: made as asked, links there included.
        fs::create_dir_all(root).map_err(io_error(root))?;
    }
    let mut current = root.to_path_buf();
    for component in relative.components() {
        match component {
            Component::Normal(name) => current.push(name),
            Component::CurDir => continue,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(WriteError::Outside {
                    path: root.join(relative),
                });
            }
        }
        match entry_kind(&current)? {
            None if !create => break,
            None => match fs::create_dir(&current) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                    // Made by someone else meanwhile: check it like any other.
                    if !entry_kind(&current)?.is_some_and(|kind| kind.is_dir()) {
                        return Err(WriteError::NotRegular {
                            path: current,
                            expected: "directory",
                        });
                    }
                }
                Err(source) => {
                    return Err(WriteError::Io {
                        path: current,
                        source,
                    });
                }
            },
            Some(kind) if kind.is_symlink() => {
                return Err(WriteError::SymbolicLink { path: current });
            }
            Some(kind) if kind.is_dir() => {}
            Some(_) => {
                return Err(WriteError::NotRegular {
                    path: current,
                    expected: "directory",
                });
            }
        }
    }
    Ok(current)
}

/// Writes `contents` to `path` atomically without following links: a fresh temporary file
/// beside it (created exclusively, with permission bits `mode` on Unix), flushed to disk, then
/// renamed over `path`. A `path` that is a symbolic link or not a regular file is refused
/// before anything is written.
///
/// # Errors
/// [`WriteError`]; the temporary file is removed on failure.
pub fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), WriteError> {
    check_regular_or_absent(path)?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (temporary, mut file) = create_temporary(&directory, &name, mode)?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&temporary));
    drop(file);
    let renamed = written.and_then(|()| fs::rename(&temporary, path).map_err(io_error(path)));
    if renamed.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    renamed?;
    #[cfg(unix)]
    if let Ok(directory) = fs::File::open(&directory) {
        let _ = directory.sync_all();
    }
    Ok(())
}

/// A new temporary file `.NAME.RANDOM.tmp` in `directory`, created exclusively.
fn create_temporary(
    directory: &Path,
    name: &str,
    mode: u32,
) -> Result<(PathBuf, fs::File), WriteError> {
    const ATTEMPTS: usize = 16;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let temporary = directory.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&temporary) {
            Ok(file) => return Ok((temporary, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last = Some(temporary),
            Err(source) => {
                return Err(WriteError::Io {
                    path: temporary,
                    source,
                });
            }
        }
    }
    Err(WriteError::Io {
        path: last.unwrap_or_else(|| directory.to_owned()),
        source: io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary file name"),
    })
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn a_file_is_written_and_replaced_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.yaml");
        write_atomically(&path, b"one", 0o644).expect("written");
        write_atomically(&path, b"two", 0o644).expect("replaced");
        assert_eq!(fs::read_to_string(&path).expect("read"), "two");
        let names: Vec<_> = fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn links_at_the_target_are_refused_and_never_written_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let canary = outside.path().join("canary");
        fs::write(&canary, "untouched").expect("write");
        let link = dir.path().join("to-canary.yaml");
        symlink(&canary, &link).expect("symlink");
        let dangling = dir.path().join("dangling.yaml");
        symlink(outside.path().join("created"), &dangling).expect("symlink");
        for path in [&link, &dangling] {
            let error = write_atomically(path, b"written", 0o644).expect_err("refused");
            assert!(matches!(error, WriteError::SymbolicLink { .. }), "{error}");
            assert!(error.to_string().contains("is a symbolic link"));
        }
        assert_eq!(fs::read_to_string(&canary).expect("read"), "untouched");
        assert!(!outside.path().join("created").exists());
        assert!(matches!(
            read_regular(&link),
            Err(WriteError::SymbolicLink { .. })
        ));
    }

    #[test]
    fn directories_on_the_way_must_not_be_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        symlink(outside.path(), dir.path().join("projects")).expect("symlink");
        let error =
            create_dirs_within(dir.path(), Path::new("projects/deep")).expect_err("refused");
        assert!(matches!(error, WriteError::SymbolicLink { .. }), "{error}");
        assert!(!outside.path().join("deep").exists());
        let error = create_dirs_within(dir.path(), Path::new("../x")).expect_err("refused");
        assert!(matches!(error, WriteError::Outside { .. }), "{error}");
        let made = create_dirs_within(&dir.path().join("new"), Path::new("a/b")).expect("made");
        assert!(made.is_dir());
    }
}
