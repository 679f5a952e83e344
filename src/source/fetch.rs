//! A source the daemon follows: fetch the newest revision, as a checkout on disk (a Git
//! remote, or a local directory whose revision is a digest of its YAML files).

use std::path::PathBuf;
use std::sync::Arc;

use crate::source::git::{Checkout, GitError, GitSource};
use crate::source::local::directory_revision;

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The Git remote failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The directory could not be read.
    #[error("cannot read the directory {path}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task failed.
    #[error("the fetch task failed: {0}")]
    Task(String),
}

/// Something that yields the newest revision of the desired state.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// Fetches (or re-reads) the newest revision.
    async fn fetch(&self) -> Result<Checkout, SourceError>;
    /// A description for status and logs (no credentials).
    fn describe(&self) -> String;
}

/// A Git remote.
#[derive(Debug, Clone)]
pub struct GitRemote(pub Arc<GitSource>);

#[async_trait::async_trait]
impl Source for GitRemote {
    async fn fetch(&self) -> Result<Checkout, SourceError> {
        let source = self.0.clone();
        tokio::task::spawn_blocking(move || source.fetch())
            .await
            .map_err(|e| SourceError::Task(e.to_string()))?
            .map_err(SourceError::from)
    }

    fn describe(&self) -> String {
        format!("{} ({})", self.0.display_url(), self.0.config().reference)
    }
}

/// A local directory; its revision is a digest of its YAML files.
#[derive(Debug, Clone)]
pub struct LocalDirectory(pub PathBuf);

#[async_trait::async_trait]
impl Source for LocalDirectory {
    async fn fetch(&self) -> Result<Checkout, SourceError> {
        let path = self.0.clone();
        let revision = tokio::task::spawn_blocking({
            let path = path.clone();
            move || directory_revision(&path)
        })
        .await
        .map_err(|e| SourceError::Task(e.to_string()))?
        .map_err(|source| SourceError::Directory {
            path: path.clone(),
            source,
        })?;
        Ok(Checkout { path, revision })
    }

    fn describe(&self) -> String {
        self.0.display().to_string()
    }
}

/// Watches a directory (recursively) and sends one message per file-system event burst; the
/// daemon debounces them. Keep the returned watcher alive.
///
/// # Errors
/// When the watcher cannot be set up.
pub fn watch_directory(
    path: &std::path::Path,
) -> notify::Result<(notify::RecommendedWatcher, tokio::sync::mpsc::Receiver<()>)> {
    use notify::Watcher;
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            // A full channel already holds a pending event: coalesce.
            let _ = sender.try_send(());
        }
    })?;
    watcher.watch(path, notify::RecursiveMode::Recursive)?;
    Ok((watcher, receiver))
}
