//! Change requests on a forge: GitLab merge requests and GitHub pull requests, behind one trait.

use async_trait::async_trait;

/// An opened merge request or pull request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRequest {
    /// Its web URL.
    pub url: String,
    /// The merge request `iid` (GitLab) or pull request number (GitHub).
    pub number: u64,
}

/// Why a change request could not be opened. Messages never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// A change request for this branch is already open.
    #[error("a change request from `{source_branch}` is already open: {message}")]
    AlreadyExists {
        /// The proposal branch.
        source_branch: String,
        /// The forge's message.
        message: String,
    },
    /// The forge refused the token.
    #[error("the forge refused the token (HTTP {status})")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
    },
    /// The forge refused the request's content.
    #[error("the forge refused the change request (HTTP {status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The forge's message.
        message: String,
    },
    /// The forge could not be reached, or answered something unreadable.
    #[error("cannot reach the forge at {url}")]
    Transport {
        /// The API URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The configuration is unusable.
    #[error("invalid forge configuration: {0}")]
    Config(String),
}

/// A forge that opens change requests.
#[async_trait]
pub trait Forge: Send + Sync + std::fmt::Debug {
    /// Opens a merge request / pull request from `source_branch` into `target_branch`.
    ///
    /// # Errors
    /// [`ForgeError`]; an already-open request for the branch is [`ForgeError::AlreadyExists`].
    async fn open_change_request(
        &self,
        source_branch: &str,
        target_branch: &str,
        title: &str,
        description: &str,
    ) -> Result<ChangeRequest, ForgeError>;
}
