//! The integration tests: one binary, one module per area.

mod client_double;
mod client_faults;
mod contract;
