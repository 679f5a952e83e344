//! The Infisical API port ([`InfisicalApi`]), its HTTP client, and observe → `LiveState`.
//!
//! - [`api`]: the trait every reconciler step talks to, and the domain types it speaks;
//! - [`error`]: one error enum for every call;
//! - [`memory`]: an in-memory implementation for tests;
//! - [`observe`]: read the live state (`LiveState`) with the fewest calls.

pub mod api;
pub mod error;
pub mod memory;
pub mod observe;

pub use api::{
    CreateEnvironment, CreateFolder, CreateProject, DeleteFolder, InfisicalApi, RemoteEnvironment,
    RemoteFolder, RemoteProject, RemoteSecret, RemoteTag, SecretDelete, SecretScope, SecretWrite,
    UpdateEnvironment, UpdateProject, WriteOutcome,
};
pub use error::{ApiError, ErrorContext};
