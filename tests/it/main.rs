//! The one integration-test binary; one module per area.

mod apply;
mod plan;
mod plan_properties;
