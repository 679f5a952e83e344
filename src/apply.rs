//! Executes a `Plan` through the `InfisicalApi` port.
