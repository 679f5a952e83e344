//! The one integration-test binary; one module per area.

mod plan;
mod plan_properties;
