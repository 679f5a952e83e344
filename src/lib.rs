//! # infisical-gitops
//!
//! A Git repository of declarative YAML is the source of truth for the *structure* of an
//! Infisical instance. The pipeline:
//!
//! ```text
//! Source ──► load ──► validate ──► resolve ──► observe ──► plan ──► apply ──► report
//! (git/dir)  (YAML → DesiredState)  (values)   (LiveState)  (pure)   (API)    (status, metrics)
//!                          └──────────────────────────────► manifests ──► files / cluster
//! ```
//!
//! ## Crate map
//!
//! A workspace of four crates; every arrow points down, and the core does no IO by construction
//! (it depends on none of `tokio`, `reqwest`, `git2`, `kube`, `rmcp`, `std::fs` users):
//!
//! ```text
//! infisical-gitops (this crate: adapters, use cases, front-ends, the binary)
//!   ├─► infisical-gitops-dev-server  crates/dev-server  the local Infisical-compatible server
//!   │     ├─► infisical-gitops-files
//!   │     └─► infisical-gitops-core
//!   ├─► infisical-gitops-files       crates/files       writing files without following links
//!   └─► infisical-gitops-core        crates/core        PURE: model, plan, manifests, escaping
//! ```
//!
//! The core's and the helpers' modules are re-exported here under their old paths
//! (`infisical_gitops::model`, `::plan`, `::escape`, `::manifest`, `::dev`, `::files`).
//! The test doubles (`infisical::memory`, `resolve::bitwarden::double`, `plan::testing`,
//! `plan::simulate`) exist only with the `testing` feature, which this crate's own tests and
//! benchmarks turn on; the shipped binary has none of them.
//!
//! ## Module map
//!
//! | module | crate | role | pure? |
//! |---|---|---|---|
//! | [`model`] | core | `DesiredState`, names, addresses, validation → diagnostics, `SecretValue` | yes |
//! | [`plan`] | core | diff desired against live, order, render text/JSON/Markdown | yes |
//! | [`manifest`] | core + here | Infisical operator manifests from the desired state; [`manifest::cluster`] applies them | pure but `cluster` |
//! | [`escape`] | core | escaping untrusted strings for terminal text, logs, Markdown and YAML comments | yes |
//! | [`dev`] | dev-server | the local Infisical-compatible server (tests, benchmarks, quickstart) | no |
//! | [`files`] | files | writing output files without following symbolic links | no |
//! | [`source`] | here | loading YAML files (with positions) from a directory; Git remotes | no |
//! | [`resolve`] | here | `SecretResolver`: literals, generated values, Bitwarden | no |
//! | [`infisical`] | here | the `InfisicalApi` port, its HTTP client, observe → `LiveState` | no |
//! | [`apply`] | here | execute a `Plan` through `InfisicalApi` | no |
//! | [`reconcile`] | here | the use cases: validate, plan, apply, reconcile | no |
//! | [`propose`] | here | proposals: edit the YAML, validate, plan, push, open a merge request | no |
//! | [`import`] | here | an existing Infisical → desired-state YAML (values never written) | no |
//! | [`daemon`] | here | the reconcile loop, webhooks, health, metrics, leader election | no |
//! | [`mcp`] | here | MCP tools: read the repository, plan, propose changes as merge requests | no |
//! | [`cli`] | here | command-line front-end | no |
//! | [`net`] | here | bounded reading of HTTP answers; the hardened HTTP listener | no |
//! | [`errors`] | here | one formatter for an error and its causes | yes |
//! | [`notify`] | here | notifications of state changes to Slack, Discord, Teams or JSON webhooks | no |
#![forbid(unsafe_code)]

pub mod apply;
pub mod cli;
pub mod daemon;
pub mod errors;
pub mod import;
pub mod infisical;
pub mod manifest;
pub mod mcp;
pub mod net;
pub mod notify;
pub mod propose;
pub mod reconcile;
pub mod resolve;
pub mod source;

pub use infisical_gitops_core::{escape, model, plan};
pub use infisical_gitops_dev_server as dev;
pub use infisical_gitops_files as files;
