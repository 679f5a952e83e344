//! The Infisical API port ([`InfisicalApi`]), its HTTP client, and observe → `LiveState`.
//!
//! - [`api`]: the trait every reconciler step talks to, and the domain types it speaks;
//! - [`error`]: one error enum for every call;
//! - [`client`]: [`HttpClient`], the reqwest implementation (auth, retries, TLS);
//! - [`wire`]: the JSON shapes of the REST API;
//! - `memory` (feature `testing`): an in-memory implementation for tests;
//! - [`observe`]: read the live state (`LiveState`) with the fewest calls.

pub mod api;
pub mod client;
pub(crate) mod error;
pub(crate) mod ids;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod observe;
pub mod wire;

pub use api::{
    CreateEnvironment, CreateFolder, CreateProject, DeleteFolder, Depth, InfisicalApi,
    RemoteEnvironment, RemoteFolder, RemoteImport, RemoteProject, RemoteSecret, RemoteTag,
    SecretDelete, SecretScope, SecretWrite, UpdateEnvironment, UpdateFolder, UpdateProject,
    WriteOutcome,
};
pub use client::{
    ClientConfig, ConfigError, Credentials, HttpClient, RequestObserver, RequestRecord,
    RequestStatus, RetryPolicy,
};
pub use error::{ApiError, ErrorContext};
pub use ids::{EnvironmentId, FolderId, ProjectId};
