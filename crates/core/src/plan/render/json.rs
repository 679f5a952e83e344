//! The JSON document of a plan, `formatVersion: 1`. The same bytes are printed by
//! `plan --format json`, written by `plan --out FILE` and returned by the MCP `plan` tool.
//! The schema is documented in `docs/plan-apply.md`; a change to it bumps `formatVersion`.

use serde::{Deserialize, Serialize};

use super::super::{Plan, Summary};

/// The current format version.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    format_version: u32,
    /// The closing line of the text rendering ([`Plan::verdict`]): never claims that
    /// Infisical matches while a secret is unresolved.
    headline: String,
    summary: Summary,
    #[serde(flatten)]
    plan: &'a Plan,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnedDocument {
    format_version: u32,
    #[serde(flatten)]
    plan: Plan,
}

/// Why a plan document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON, or not a plan.
    #[error("the file is not a plan document")]
    Malformed(#[source] serde_json::Error),
    /// Written by another version.
    #[error(
        "plan format version {found} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    Version {
        /// What the file says.
        found: u32,
    },
}

/// The pretty-printed JSON document, with a trailing newline.
pub fn render(plan: &Plan) -> String {
    let document = Document {
        format_version: FORMAT_VERSION,
        headline: plan.verdict(),
        summary: plan.summary(),
        plan,
    };
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}

/// Reads a plan document.
pub fn parse(text: &str) -> Result<Plan, PlanFileError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct VersionOnly {
        format_version: u32,
    }
    let version: VersionOnly = serde_json::from_str(text).map_err(PlanFileError::Malformed)?;
    if version.format_version != FORMAT_VERSION {
        return Err(PlanFileError::Version {
            found: version.format_version,
        });
    }
    let document: OwnedDocument = serde_json::from_str(text).map_err(PlanFileError::Malformed)?;
    debug_assert_eq!(document.format_version, FORMAT_VERSION);
    Ok(document.plan)
}
