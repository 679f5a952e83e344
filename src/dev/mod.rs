//! The local Infisical-compatible server: in-memory, faithful to the reference API.
