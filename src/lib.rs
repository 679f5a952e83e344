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
//! Module map:
//!
//! | module | role | pure? |
//! |---|---|---|
//! | [`model`] | `DesiredState`, names, addresses, validation → diagnostics, `SecretValue` | yes |
//! | [`source`] | loading YAML files (with positions) from a directory; Git remotes | no |
//! | [`resolve`] | `SecretResolver`: literals, generated values, Bitwarden | no |
//! | [`infisical`] | the `InfisicalApi` port, its HTTP client, observe → `LiveState` | no |
//! | [`plan`] | diff desired against live, order, render text/JSON/Markdown | yes |
//! | [`apply`] | execute a `Plan` through `InfisicalApi` | no |
//! | [`reconcile`] | the use cases: validate, plan, apply, reconcile | no |
//! | [`propose`] | proposals: edit the YAML, validate, plan, push, open a merge request | no |
//! | [`manifest`] | Infisical operator manifests from the desired state | yes |
//! | [`import`] | an existing Infisical → desired-state YAML (values never written) | no |
//! | [`dev`] | the local Infisical-compatible server (tests, benchmarks, quickstart) | no |
//! | [`daemon`] | the reconcile loop, webhooks, health, metrics, leader election | no |
//! | [`mcp`] | MCP tools: read the repository, plan, propose changes as merge requests | no |
//! | [`cli`] | command-line front-end | no |
//! | [`net`] | bounded reading of HTTP answers; the hardened HTTP listener | no |
//! | [`notify`] | notifications of state changes to Slack, Discord, Teams or JSON webhooks | no |
//! | [`files`] | writing output files without following symbolic links | no |
//! | [`errors`] | one formatter for an error and its causes | yes |
//! | [`escape`] | escaping untrusted strings for terminal text, logs, Markdown and YAML comments | yes |
//!
//! The pure modules never import `tokio`, `reqwest` or `std::fs`.
#![forbid(unsafe_code)]

pub mod apply;
pub mod cli;
pub mod daemon;
pub mod dev;
pub mod errors;
pub mod escape;
pub mod files;
pub mod import;
pub mod infisical;
pub mod manifest;
pub mod mcp;
pub mod model;
pub mod net;
pub mod notify;
pub mod plan;
pub mod propose;
pub mod reconcile;
pub mod resolve;
pub mod source;
