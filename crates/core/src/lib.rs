//! # infisical-gitops-core
//!
//! The pure core of infisical-gitops: everything between the YAML a repository holds and the
//! plan or the operator manifests made from it, with no IO. This crate does not depend on
//! `tokio`, `reqwest`, `git2`, `kube` or `rmcp`, so "the core does no IO" is checked by the
//! compiler, and its tests build without them.
//!
//! | module | role |
//! |---|---|
//! | [`model`] | `DesiredState`, names, addresses, validation → diagnostics, `SecretValue` |
//! | [`plan`] | diff desired against live, order, render text/JSON/Markdown |
//! | [`manifest`] | Infisical operator manifests from the desired state, and their YAML |
//! | [`escape`] | escaping untrusted strings for terminal text, logs, Markdown and YAML comments |
//!
//! The `testing` feature adds the plan test helpers ([`plan`]`::testing`, `plan::simulate`),
//! for tests and benchmarks only.
#![forbid(unsafe_code)]

pub mod escape;
pub mod manifest;
pub mod model;
pub mod plan;
