//! `infisical-gitops validate [PATH] [--format text|json]`: load and check a desired-state
//! repository, report every problem, exit 0 when valid and 1 when not.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use serde::Serialize;

use super::render::{Sources, Style, render_diagnostics};
use super::{Context, EXIT_ERROR, EXIT_OK};
use crate::model::diagnostics::{Diagnostics, Severity};
use crate::model::{DesiredState, check};
use crate::source::{Limits, load_dir_with};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateCommand {
    /// The repository directory (or one YAML file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// Compiler-style diagnostics and a one-line summary.
    Text,
    /// One JSON object (see docs/cli.md).
    Json,
}

/// Counts of what a repository declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationSummary {
    /// YAML files read.
    pub files: usize,
    /// Documents parsed.
    pub documents: usize,
    /// Projects.
    pub projects: usize,
    /// Environments over all projects.
    pub environments: usize,
    /// Folders over all projects and environments (implied parents included).
    pub folders: usize,
    /// Secrets, one per environment.
    pub secrets: usize,
    /// Kubernetes syncs.
    pub kubernetes_syncs: usize,
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
}

/// The outcome of validating a path, for every output format.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The desired state, when valid.
    pub state: Option<DesiredState>,
    /// Every diagnostic, sorted.
    pub diagnostics: Diagnostics,
    /// Counts.
    pub summary: ValidationSummary,
}

/// Loads and checks `path`.
pub fn validate_path(path: &Path) -> Validation {
    let loaded = load_dir_with(path, &Limits::DEFAULT);
    let (state, more) = check(&loaded.documents);
    let mut diagnostics = loaded.diagnostics;
    diagnostics.0.extend(more.0);
    diagnostics.sort();
    let state = if diagnostics.has_errors() {
        None
    } else {
        state
    };
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let mut summary = ValidationSummary {
        files: loaded.files.len(),
        documents: loaded.documents.len(),
        errors: diagnostics.error_count(),
        warnings,
        ..ValidationSummary::default()
    };
    if let Some(state) = &state {
        summary.projects = state.projects.len();
        summary.environments = state.environment_count();
        summary.folders = state.folder_count();
        summary.secrets = state.secret_count();
        summary.kubernetes_syncs = state.kubernetes_syncs.len();
    }
    Validation {
        state,
        diagnostics,
        summary,
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The text report: diagnostics, then one summary line.
pub fn render_text(path: &Path, validation: &Validation, color: bool) -> String {
    let style = Style::new(color);
    let base = if path.is_file() {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        path.to_path_buf()
    };
    // Source lines for the snippets; files over the size limit are not read again.
    let mut sources = Sources::new(|file: &str| {
        let path = base.join(file);
        let size = std::fs::metadata(&path).ok()?.len();
        if size > Limits::DEFAULT.max_file_bytes {
            return None;
        }
        std::fs::read_to_string(path).ok()
    });
    let mut out = render_diagnostics(&validation.diagnostics, &mut sources, style);
    let s = &validation.summary;
    let warnings = if s.warnings > 0 {
        format!(", {}", plural(s.warnings, "warning", "warnings"))
    } else {
        String::new()
    };
    if validation.state.is_some() {
        out.push_str(&format!(
            "{} {}, {}, {}, {}, {} in {}{warnings}\n",
            style.ok("valid:"),
            plural(s.projects, "project", "projects"),
            plural(s.environments, "environment", "environments"),
            plural(s.folders, "folder", "folders"),
            plural(s.secrets, "secret", "secrets"),
            plural(s.kubernetes_syncs, "Kubernetes sync", "Kubernetes syncs"),
            plural(s.files, "file", "files"),
        ));
    } else {
        out.push_str(&format!(
            "{} {}{warnings} in {}\n",
            style.error("invalid:"),
            plural(s.errors, "error", "errors"),
            plural(s.files, "file", "files"),
        ));
    }
    out
}

/// The JSON report.
pub fn render_json(validation: &Validation) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        valid: bool,
        summary: &'a ValidationSummary,
        diagnostics: &'a Diagnostics,
    }
    let report = Report {
        valid: validation.state.is_some(),
        summary: &validation.summary,
        diagnostics: &validation.diagnostics,
    };
    let mut out = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}

/// Runs `validate`.
pub fn run(args: ValidateCommand, context: &Context) -> miette::Result<ExitCode> {
    let validation = validate_path(&args.path);
    let output = match args.format {
        ValidateFormat::Text => render_text(&args.path, &validation, context.color_stdout),
        ValidateFormat::Json => render_json(&validation),
    };
    print!("{output}");
    Ok(ExitCode::from(if validation.state.is_some() {
        EXIT_OK
    } else {
        EXIT_ERROR
    }))
}
