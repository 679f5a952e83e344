//! `infisical-gitops plan [PATH] [--format text|json|markdown] [--detailed-exitcode]
//! [--out PLANFILE]`: compare the repository with Infisical and show what `apply` would do.
//!
//! Exit codes: 0 success (no changes, or changes without `--detailed-exitcode`), 1 error
//! (invalid repository, Infisical unreachable, a plan with errors, or a secret whose value
//! could not be resolved: the last line then starts `N secrets not resolved, not written.`),
//! 2 changes present with `--detailed-exitcode` (and every secret resolved).
//!
//! `--comment-on gitlab|github --request N [--head-commit SHA]` also writes the Markdown plan
//! (or the diagnostics) as the one plan comment of merge request / pull request `N` and sets
//! the `infisical-gitops/plan` status on the head commit (see `docs/merge-requests.md`). The
//! exit code is the plan's; a forge failure is exit 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use miette::{IntoDiagnostic, WrapErr};

use super::connection::ConnectionArgs;
use super::mcp::ForgeChoice;
use super::validate::{render_text, validate_path};
use super::{Context, EXIT_CHANGES, EXIT_ERROR, EXIT_OK, env};
use crate::model::DesiredState;
use crate::plan::Plan;
use crate::plan::render::{json, markdown, text};
use crate::propose::request_plan::{RequestReview, Verdict};
use crate::propose::review::{self, CommentWrite, CommitId, StatusContext};
use crate::reconcile::{ReconcileOptions, Reconciler};

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanCommand {
    /// The repository directory.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 2 when there are changes (0 when none; 1 on error or when a value cannot be
    /// resolved).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also write the plan (JSON, no secret values) to this file, for `apply PLANFILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Where the plan is commented on (with --comment-on).
    #[command(flatten)]
    pub review: ReviewArgs,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `plan --comment-on`: the forge, the request and the head commit.
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// Also write the Markdown plan as the one plan comment of a GitLab merge request or GitHub
    /// pull request (updated in place), and set the `infisical-gitops/plan` commit status.
    #[arg(long, value_enum, requires = "request")]
    pub comment_on: Option<ForgeChoice>,
    /// The merge request `iid` (GitLab, `$CI_MERGE_REQUEST_IID`) or pull request number.
    #[arg(long, env = env::FORGE_REQUEST, value_name = "NUMBER", requires = "comment_on")]
    pub request: Option<u64>,
    /// The request's head commit (full id): gets `pending`, then `success` or `failed`.
    /// Without it no status is set.
    #[arg(long, env = env::FORGE_HEAD_COMMIT, value_name = "SHA", requires = "comment_on")]
    pub head_commit: Option<String>,
    /// The page the status links to, e.g. the CI job (`$CI_JOB_URL`).
    #[arg(long, env = env::STATUS_URL, value_name = "URL", requires = "head_commit")]
    pub status_url: Option<String>,
    /// The forge's API URL [default: https://gitlab.com (`/api/v4` is appended) or
    /// https://api.github.com].
    #[arg(long, env = env::FORGE_URL, value_name = "URL", requires = "comment_on")]
    pub forge_url: Option<String>,
    /// The forge project: `group/repo` (GitLab) or `owner/repo` (GitHub).
    #[arg(long, env = env::FORGE_PROJECT, value_name = "PATH", requires = "comment_on")]
    pub forge_project: Option<String>,
    /// A file holding the forge API token (or set INFISICAL_GITOPS_FORGE_TOKEN).
    #[arg(long, value_name = "FILE", requires = "comment_on")]
    pub forge_token_file: Option<PathBuf>,
}

/// A configured `--comment-on`: the client, the request and the commit.
struct Commenter {
    target: RequestReview,
    kind: ForgeChoice,
}

impl ReviewArgs {
    /// The commenter, or `None` without --comment-on. Checked before anything runs.
    fn commenter(&self) -> miette::Result<Option<Commenter>> {
        let Some(kind) = self.comment_on else {
            return Ok(None);
        };
        let Some(project) = self.forge_project.as_deref() else {
            miette::bail!(
                "--comment-on needs the forge project: pass --forge-project `group/repo` \
                 (GitLab) or `owner/repo` (GitHub), or set {}",
                env::FORGE_PROJECT
            );
        };
        let config = super::mcp::forge_config(
            kind,
            self.forge_url.as_deref(),
            Some(project),
            self.forge_token_file.as_ref(),
            "--comment-on",
        )?;
        let client = review::from_config(&config)
            .into_diagnostic()
            .wrap_err("--comment-on")?;
        let head = self
            .head_commit
            .as_deref()
            .map(CommitId::parse)
            .transpose()
            .into_diagnostic()
            .wrap_err("--head-commit")?;
        Ok(Some(Commenter {
            target: RequestReview {
                review: client,
                number: self.request.unwrap_or_default(),
                head,
                status_url: self.status_url.clone(),
            },
            kind,
        }))
    }
}

impl Commenter {
    fn request_name(&self) -> String {
        match self.kind {
            ForgeChoice::Gitlab => format!("merge request !{}", self.target.number),
            ForgeChoice::Github => format!("pull request #{}", self.target.number),
        }
    }

    async fn pending(&self) -> miette::Result<()> {
        self.target
            .pending()
            .await
            .into_diagnostic()
            .wrap_err_with(|| {
                format!(
                    "cannot set the plan status on commit {}",
                    self.target
                        .head
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            })
    }

    /// Writes the comment, then the final status; says so on stderr.
    async fn publish(&self, verdict: &Verdict) -> miette::Result<()> {
        let written = self
            .target
            .publish(verdict)
            .await
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot publish the plan on {}", self.request_name()))?;
        let verb = match written {
            CommentWrite::Created => "posted",
            CommentWrite::Updated => "updated",
        };
        eprintln!("Plan comment {verb} on {}.", self.request_name());
        if let Some(head) = &self.target.head {
            eprintln!(
                "Status {} on {head}: {} ({}).",
                StatusContext::Plan.name(),
                verdict.state.as_str(),
                review::status_description(&verdict.description, review::GITHUB_DESCRIPTION_CHARS)
            );
        }
        Ok(())
    }
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like text.
    Text,
    /// The versioned JSON document (`formatVersion: 1`).
    Json,
    /// Markdown, for merge-request comments.
    Markdown,
}

/// Renders a plan in `format`.
pub(crate) fn render(plan: &Plan, format: PlanFormat, color: bool) -> String {
    match format {
        PlanFormat::Text => text::render(plan, text::TextOptions { color }),
        PlanFormat::Json => json::render(plan),
        PlanFormat::Markdown => markdown::render(plan),
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
pub(crate) async fn run(args: PlanCommand, context: &Context) -> miette::Result<ExitCode> {
    let commenter = args.review.commenter()?;
    let mut validation = validate_path(&args.path);
    let Some(desired) = validation.state.take() else {
        eprint!(
            "{}",
            render_text(&args.path, &validation, context.color_stderr)
        );
        if let Some(commenter) = &commenter {
            commenter
                .publish(&Verdict::invalid(&validation.diagnostics.0))
                .await?;
        }
        return Ok(ExitCode::from(EXIT_ERROR));
    };
    if let Some(commenter) = &commenter {
        commenter.pending().await?;
    }
    let planned = match args.connection.open().await {
        Ok(session) => {
            let result = reconciler(&session, &args.connection)
                .plan(desired)
                .await
                .into_diagnostic();
            session.close().await;
            result
        }
        Err(error) => Err(error),
    };
    let mut run = match planned {
        Ok(run) => run,
        Err(error) => {
            if let Some(commenter) = &commenter
                && let Err(forge) = commenter
                    .publish(&Verdict::unplannable(&error.to_string()))
                    .await
            {
                eprintln!("{forge:?}");
            }
            return Err(error);
        }
    };
    run.plan.source = Some(source_label(&args.path));
    print!("{}", render(&run.plan, args.format, context.color_stdout));
    if let Some(commenter) = &commenter {
        commenter
            .publish(&Verdict::planned(&run.plan, None, "request"))
            .await?;
    }
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
