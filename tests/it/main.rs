//! The integration tests: one binary, one module per area.

mod apply;
mod example;
mod pipeline;
mod plan;
mod plan_properties;
mod schema;
