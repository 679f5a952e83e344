//! Git work for a proposal (git2): clone or fetch the tracked branch into a per-proposal
//! directory, create a fresh branch, write the changed files, commit, push.

/// Why Git work failed. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// A git operation failed.
    #[error("git {operation} failed")]
    Git {
        /// What was being done.
        operation: &'static str,
        /// The libgit2 error.
        #[source]
        source: git2::Error,
    },
    /// The push was refused by the remote.
    #[error("the remote refused the push of `{branch}`: {message}")]
    PushRefused {
        /// The branch.
        branch: String,
        /// The remote's message.
        message: String,
    },
    /// A file could not be written.
    #[error("cannot write `{path}`")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The blocking task panicked or was cancelled.
    #[error("the git task did not finish")]
    Join,
}
