//! The integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bitwarden;
mod client_double;
mod client_faults;
mod contract;
mod dev_server;
mod example;
mod roundtrip;
mod schema;
mod spec;
mod validate;
