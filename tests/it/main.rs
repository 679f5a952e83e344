//! The integration tests: one module per area.

mod deploy;
mod manifests;
