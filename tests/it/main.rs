//! The integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apply;
mod apply_faults;
mod bitwarden;
mod client_devserver;
mod client_double;
mod client_faults;
mod client_tls;
mod contract;
mod daemon;
mod daemon_git;
mod daemon_lease;
mod daemon_verify;
mod deploy;
mod dev_server;
mod example;
mod import;
mod manifests;
mod pipeline;
mod plan;
mod plan_apply_cli;
mod plan_properties;
mod roundtrip;
mod schema;
mod spec;
mod validate;
