//! Sources of the desired state: YAML files in a directory (Git sources build on it).
//!
//! [`load_dir`] walks a directory in a deterministic order (sorted by path; hidden entries such
//! as `.git` skipped), reads every `.yaml`/`.yml` regular file up to [`Limits::max_file_bytes`],
//! splits it into documents and parses each with positions. Symbolic links below the root are
//! never followed or read: a link named like a YAML file is an error (`symbolic-link`), a link
//! to a directory a warning; a fifo, socket or device named like a YAML file is an error
//! (`not-a-regular-file`) and is never opened.
//! [`load_desired_state`] adds validation.

pub(crate) mod fetch;
pub mod git;
pub mod local;
pub(crate) mod openpgp;
pub mod signature;
pub(crate) mod yaml;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::diagnostics::{Diagnostic, Diagnostics};
use crate::model::span::{Origin, Span};
use crate::model::validate::LoadedDocument;
use crate::model::{DesiredState, check};

pub use fetch::{GitRemote, LocalDirectory, Source, SourceError, watch_directory};
pub use yaml::{Limits, load_str};

/// What was read from a directory.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Every parsed document, in file order then document order.
    pub documents: Vec<LoadedDocument>,
    /// Problems found while reading and parsing.
    pub diagnostics: Diagnostics,
    /// Paths (relative, `/`-separated) of the YAML files read, sorted.
    pub files: Vec<Arc<str>>,
}

/// Loads every YAML file under `root` (or `root` itself, when it is a file) with the default
/// limits.
pub fn load_dir(root: &Path) -> (Vec<LoadedDocument>, Diagnostics) {
    let loaded = load_dir_with(root, &Limits::DEFAULT);
    (loaded.documents, loaded.diagnostics)
}

/// Loads every YAML file under `root` with explicit limits.
pub fn load_dir_with(root: &Path, limits: &Limits) -> Loaded {
    read_dir_with(root, limits).parse(limits)
}

/// The YAML files of a directory, read into memory but not parsed: what a desired state is
/// made from. Much smaller than the state it parses into, so the daemon keeps the files of the
/// last good revision (to re-plan from them while a newer revision is refused) rather than
/// the state.
#[derive(Debug, Clone, Default)]
pub struct SourceFiles {
    /// Problems found before any file was read (an unreadable root or directory).
    diagnostics: Diagnostics,
    /// Every YAML file, sorted by relative path.
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    /// The relative, `/`-separated path.
    path: Arc<str>,
    /// The text; `None` when the file could not be read or was refused.
    text: Option<String>,
    /// Why it could not be read.
    diagnostics: Diagnostics,
}

impl SourceFiles {
    /// Parses every file (read problems first, then each file's parse problems, in file
    /// order).
    pub fn parse(&self, limits: &Limits) -> Loaded {
        let mut loaded = Loaded {
            diagnostics: self.diagnostics.clone(),
            ..Loaded::default()
        };
        for file in &self.files {
            loaded.files.push(file.path.clone());
            loaded
                .diagnostics
                .0
                .extend(file.diagnostics.0.iter().cloned());
            if let Some(text) = &file.text {
                let documents = load_str(&file.path, text, limits, &mut loaded.diagnostics);
                loaded.documents.extend(documents);
            }
        }
        loaded
    }

    /// Parses and validates (as [`load_desired_state`]).
    ///
    /// # Errors
    /// Every problem, when there are errors.
    pub fn desired_state(&self) -> Result<(DesiredState, Diagnostics), Diagnostics> {
        let loaded = self.parse(&Limits::DEFAULT);
        let (state, more) = check(&loaded.documents);
        let mut diagnostics = loaded.diagnostics;
        diagnostics.0.extend(more.0);
        diagnostics.sort();
        match state {
            Some(state) if !diagnostics.has_errors() => Ok((state, diagnostics)),
            _ => Err(diagnostics),
        }
    }

    /// The bytes of text held.
    pub fn text_bytes(&self) -> usize {
        self.files
            .iter()
            .map(|f| f.text.as_ref().map_or(0, String::len))
            .sum()
    }
}

/// Reads every YAML file under `root` (or `root` itself, when it is a file) without parsing.
pub fn read_dir_with(root: &Path, limits: &Limits) -> SourceFiles {
    let mut read = SourceFiles::default();
    let mut files = Vec::new();
    match fs::metadata(root) {
        Ok(meta) if meta.is_file() => {
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| root.display().to_string());
            // The root is the caller's choice: a link there is resolved once (only links
            // below the root are refused).
            let resolved = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
            files.push((resolved, name));
        }
        Ok(_) => collect_files(root, root, &mut files, &mut read.diagnostics),
        Err(error) => {
            read.diagnostics.push(Diagnostic::error(
                "unreadable",
                Origin::new(root.display().to_string(), Span::default()),
                format!("cannot read `{}`: {error}", root.display()),
            ));
            return read;
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    for (path, relative) in files {
        let file: Arc<str> = relative.into();
        let mut diagnostics = Diagnostics::default();
        let text = read_limited(&path, &file, limits, &mut diagnostics);
        read.files.push(SourceFile {
            path: file,
            text,
            diagnostics,
        });
    }
    read
}

/// Loads and validates: the desired state with its warnings, or every problem.
pub fn load_desired_state(root: &Path) -> Result<(DesiredState, Diagnostics), Diagnostics> {
    read_dir_with(root, &Limits::DEFAULT).desired_state()
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn collect_files(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(PathBuf, String)>,
    diagnostics: &mut Diagnostics,
) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            diagnostics.push(Diagnostic::error(
                "unreadable",
                Origin::new(relative(root, dir), Span::default()),
                format!("cannot read directory: {error}"),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        // Never follows a link: the entry itself is looked at, not what it points to.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let kind = meta.file_type();
        if kind.is_dir() {
            collect_files(root, &path, files, diagnostics);
        } else if kind.is_symlink() {
            refuse_link(root, &path, diagnostics);
        } else if is_yaml(&path) {
            if kind.is_file() {
                files.push((path.clone(), relative(root, &path)));
            } else {
                diagnostics.push(
                    Diagnostic::error(
                        "not-a-regular-file",
                        Origin::new(relative(root, &path), Span::default()),
                        "refused: not a regular file (a fifo, socket or device); it was not read",
                    )
                    .with_help("replace it with a regular file holding the YAML"),
                );
            }
        }
    }
}

/// A symbolic link in the repository is never followed or read. A link named like a YAML file
/// is an error (skipping it would silently drop what it declares, and with prune delete it in
/// Infisical); a link to a directory is a warning (its files are not loaded); other links are
/// ignored like any file that is not YAML.
fn refuse_link(root: &Path, path: &Path, diagnostics: &mut Diagnostics) {
    let origin = Origin::new(relative(root, path), Span::default());
    if is_yaml(path) {
        diagnostics.push(
            Diagnostic::error(
                "symbolic-link",
                origin,
                "refused: this file is a symbolic link; links are never followed, so it was not read",
            )
            .with_help("commit the YAML file itself instead of a link to it"),
        );
    } else if fs::metadata(path).is_ok_and(|target| target.is_dir()) {
        diagnostics.push(
            Diagnostic::warning(
                "symbolic-link",
                origin,
                "skipped: this directory is a symbolic link; links are never followed, so its files were not loaded",
            )
            .with_help("move the files into the repository instead of linking to them"),
        );
    }
}

fn relative(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Opens a file found by the walk, making sure what was opened is the regular file the walk
/// saw (not a link or another file swapped in meanwhile).
fn open_regular(path: &Path) -> std::io::Result<fs::File> {
    let seen = fs::symlink_metadata(path)?;
    if !seen.file_type().is_file() {
        return Err(std::io::Error::other(
            "it is no longer a regular file (links are never followed)",
        ));
    }
    let handle = fs::File::open(path)?;
    let opened = handle.metadata()?;
    #[cfg(unix)]
    let same = {
        use std::os::unix::fs::MetadataExt;
        seen.dev() == opened.dev() && seen.ino() == opened.ino()
    };
    #[cfg(not(unix))]
    let same = opened.is_file();
    if !same || !opened.is_file() {
        return Err(std::io::Error::other(
            "it changed while it was read (links are never followed)",
        ));
    }
    Ok(handle)
}

/// Reads a file, refusing it (without reading it all) when it is larger than the limit.
fn read_limited(
    path: &Path,
    file: &Arc<str>,
    limits: &Limits,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    let origin = Origin::new(file.clone(), Span::new(1, 1));
    let unreadable = |error: std::io::Error| {
        Diagnostic::error(
            "unreadable",
            origin.clone(),
            format!("cannot read file: {error}"),
        )
    };
    let handle = match open_regular(path) {
        Ok(handle) => handle,
        Err(error) => {
            diagnostics.push(unreadable(error));
            return None;
        }
    };
    let mut bytes = Vec::new();
    if let Err(error) = handle
        .take(limits.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
    {
        diagnostics.push(unreadable(error));
        return None;
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        diagnostics.push(
            Diagnostic::error(
                "file-too-large",
                origin,
                format!(
                    "refused: file is larger than the limit of {} bytes",
                    limits.max_file_bytes
                ),
            )
            .with_help("split it into smaller files"),
        );
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(error) => {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            diagnostics.push(Diagnostic::error(
                "invalid-utf8",
                Origin::new(
                    file.clone(),
                    Span::new(
                        u32::try_from(line).unwrap_or(u32::MAX),
                        u32::try_from(column).unwrap_or(u32::MAX),
                    ),
                ),
                "file is not valid UTF-8",
            ));
            None
        }
    }
}
