//! The desired-state model. PURE: no IO, no async.
//!
//! - [`document`]: the YAML kinds as written (with positions), and the JSON Schema source;
//! - [`names`]: newtype names with Infisical's rules;
//! - [`limits`]: Infisical's length limits on descriptions and metadata;
//! - [`ownership`]: the text of the ownership marker the applier writes;
//! - [`reference`]: Infisical secret references (`${KEY}`, `${env.path.KEY}`) in literal values;
//! - [`address`]: `project/env:/path#KEY` addresses;
//! - [`state`]: the checked [`DesiredState`];
//! - [`template`]: the rule that a sync's template entries read secrets, not constants;
//! - [`validate`]: documents → `DesiredState`, or every problem as [`Diagnostics`];
//! - [`value`]: [`SecretValue`], unprintable by type.

pub mod address;
pub mod diagnostics;
pub mod document;
pub mod limits;
pub mod names;
pub mod ownership;
pub mod reference;
pub mod schema;
pub mod span;
pub mod state;
pub mod template;
pub mod validate;
pub mod value;

pub use address::Address;
pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use document::{Adoption, Document, Mode};
pub use names::{EnvironmentSlug, FolderPath, ProjectSlug, SecretKey, TagSlug};
pub use span::{Located, Origin, Span};
pub use state::{
    BitwardenFieldRef, BitwardenItem, BitwardenRef, DesiredImport, DesiredSecret, DesiredState,
    Environment, Folder, GenerateRule, KubernetesSync, Policy, Project, SecretSource,
};
pub use validate::{LoadedDocument, build, check};
pub use value::SecretValue;
