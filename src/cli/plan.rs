//! `infisical-gitops plan [PATH] [--format text|json|markdown] [--detailed-exitcode]
//! [--out PLANFILE]`: compare the repository with Infisical and show what `apply` would do.
//!
//! Exit codes: 0 success (no changes, or changes without `--detailed-exitcode`), 1 error
//! (invalid repository, Infisical unreachable, a plan with errors, or a secret whose value
//! could not be resolved: the last line then starts `N secrets not resolved, not written.`),
//! 2 changes present with `--detailed-exitcode` (and every secret resolved).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use miette::{IntoDiagnostic, WrapErr};

use super::connection::ConnectionArgs;
use super::validate::{render_text, validate_path};
use super::{Context, EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::model::DesiredState;
use crate::plan::Plan;
use crate::plan::render::{json, markdown, text};
use crate::reconcile::{ReconcileOptions, Reconciler};

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The repository directory.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 2 when there are changes (0 when none; 1 on error or when a value cannot be
    /// resolved).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also write the plan (JSON, no secret values) to this file, for `apply PLANFILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terraform-like text.
    Text,
    /// The versioned JSON document (`formatVersion: 1`).
    Json,
    /// Markdown, for merge-request comments.
    Markdown,
}

/// Renders a plan in `format`.
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(plan, text::TextOptions { color }),
        Format::Json => json::render(plan),
        Format::Markdown => markdown::render(plan),
    }
}

/// Loads and validates a repository; on failure prints the diagnostics to stderr.
pub(crate) fn load(path: &Path, context: &Context) -> Result<DesiredState, ExitCode> {
    let validation = validate_path(path);
    match validation.state {
        Some(state) => Ok(state),
        None => {
            eprint!("{}", render_text(path, &validation, context.color_stderr));
            Err(ExitCode::from(EXIT_ERROR))
        }
    }
}

/// The source description stored in a plan: the repository's absolute path.
pub(crate) fn source_label(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

pub(crate) fn reconciler(
    session: &super::connection::Session,
    connection: &ConnectionArgs,
) -> Reconciler {
    Reconciler::new(session.api.clone(), session.resolver.clone())
        .with_generated_store(session.generated_store.clone())
        .with_options(ReconcileOptions {
            force_deletions: connection.force_deletions,
            ..ReconcileOptions::default()
        })
}

/// Runs `plan`.
pub async fn run(args: Args, context: &Context) -> miette::Result<ExitCode> {
    let desired = match load(&args.path, context) {
        Ok(desired) => desired,
        Err(code) => return Ok(code),
    };
    let session = args.connection.open().await?;
    let result = reconciler(&session, &args.connection)
        .plan(desired, true)
        .await;
    session.close().await;
    let mut run = result.into_diagnostic()?;
    run.plan.source = Some(source_label(&args.path));
    print!("{}", render(&run.plan, args.format, context.color_stdout));
    if let Some(out) = &args.out {
        std::fs::write(out, json::render(&run.plan))
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write the plan to {}", out.display()))?;
        eprintln!(
            "Saved the plan to {}; apply it with `infisical-gitops apply {}`.",
            out.display(),
            out.display()
        );
    }
    let code = plan_exit_code(&run.plan, args.detailed_exitcode);
    Ok(ExitCode::from(code))
}

/// 1 for a plan with errors or unresolved secrets (Infisical does not match, whatever else the
/// plan says), 2 for changes with `--detailed-exitcode`, else 0.
pub(crate) fn plan_exit_code(plan: &Plan, detailed_exitcode: bool) -> u8 {
    if !plan.is_applicable() || plan.has_unresolved() {
        EXIT_ERROR
    } else if detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}
