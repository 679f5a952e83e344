//! `infisical-gitops apply [PATH|PLANFILE] [--auto-approve]`: plan, show, confirm, execute.
//!
//! With a directory, `apply` plans, prints the plan, asks for confirmation on a terminal
//! (`--auto-approve` skips it; without a terminal it is required), then executes exactly that
//! plan. With a PLANFILE written by `plan --out`, it re-reads the repository the plan names,
//! observes Infisical again, and refuses when either changed since the plan was made.
//!
//! Exit codes: 0 every change done (or nothing to do) and every secret resolved, 1 anything
//! else; an unresolved secret makes the last line `Apply incomplete: …; N secrets not
//! resolved, not written.` even when every planned change is done.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use miette::{IntoDiagnostic, WrapErr};

use super::connection::ConnectionArgs;
use super::plan::{load, reconciler, source_label};
use super::{Context, EXIT_ERROR, EXIT_OK};
use crate::apply::{ApplyProgress, ApplyReport, ChangeOutcome};
use crate::plan::render::{json, text};

/// Arguments of `apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyCommand {
    /// The repository directory, or a plan file written by `plan --out`.
    #[arg(default_value = ".")]
    pub target: PathBuf,
    /// Apply without asking for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// A progress bar on stderr.
struct Bar(indicatif::ProgressBar);

impl ApplyProgress for Bar {
    fn started(&self, total: usize) {
        self.0.set_length(total as u64);
    }

    fn finished(&self, outcome: &ChangeOutcome) {
        self.0.set_message(outcome.address.to_string());
        self.0.inc(1);
    }
}

fn progress(context: &Context) -> Option<Arc<dyn ApplyProgress>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style =
        indicatif::ProgressStyle::with_template("{bar:30.green/white} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(if context.color_stderr {
        style
    } else {
        style.progress_chars("=> ")
    });
    Some(Arc::new(Bar(bar)))
}

fn confirm() -> miette::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(miette::miette!(
            help = "review the plan with `infisical-gitops plan`, then pass --auto-approve",
            "refusing to apply without --auto-approve: stdin is not a terminal"
        ));
    }
    eprint!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stderr().flush().into_diagnostic()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .into_diagnostic()?;
    Ok(answer.trim() == "yes")
}

fn is_plan_file(path: &Path) -> bool {
    path.is_file()
        && std::fs::read_to_string(path)
            .map(|text| text.trim_start().starts_with('{'))
            .unwrap_or(false)
}

fn finish(report: &ApplyReport) -> ExitCode {
    print!("\n{}", report.render_text());
    ExitCode::from(if report.is_success() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}

/// Runs `apply`.
pub(crate) async fn run(args: ApplyCommand, context: &Context) -> miette::Result<ExitCode> {
    let color = context.color_stdout;
    if is_plan_file(&args.target) {
        return apply_saved(args, context).await;
    }
    let desired = match load(&args.target, context) {
        Ok(desired) => desired,
        Err(code) => return Ok(code),
    };
    let session = args.connection.open().await?;
    let reconciler = reconciler(&session, &args.connection);
    let result = async {
        let mut run = reconciler.plan(desired.clone()).await.into_diagnostic()?;
        run.plan.source = Some(source_label(&args.target));
        print!("{}", text::render(&run.plan, text::TextOptions { color }));
        if !run.plan.is_applicable() {
            return Ok(ExitCode::from(EXIT_ERROR));
        }
        if run.plan.is_empty() {
            if run.plan.has_unresolved() {
                return Ok(finish(&ApplyReport::nothing_applied(&run.plan)));
            }
            return Ok(ExitCode::from(EXIT_OK));
        }
        if !args.auto_approve && !confirm()? {
            println!("\nApply cancelled.");
            return Ok(ExitCode::from(EXIT_ERROR));
        }
        let report = reconciler
            .apply(&run, progress(context))
            .await
            .into_diagnostic()?;
        let code = finish(&report);
        if session.dev.is_some() {
            // Show, on the embedded server, that the result matches the repository.
            let again = reconciler.plan(desired).await.into_diagnostic()?;
            println!("\nPlanning again against the result:");
            print!("{}", text::render(&again.plan, text::TextOptions { color }));
        }
        Ok(code)
    }
    .await;
    session.close().await;
    result
}

async fn apply_saved(args: ApplyCommand, context: &Context) -> miette::Result<ExitCode> {
    let text_content = std::fs::read_to_string(&args.target)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", args.target.display()))?;
    let saved = json::parse(&text_content)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read the plan {}", args.target.display()))?;
    let Some(source) = saved.source.clone() else {
        return Err(miette::miette!(
            "the plan {} does not name its repository",
            args.target.display()
        ));
    };
    let source = PathBuf::from(source);
    let desired = match load(&source, context) {
        Ok(desired) => desired,
        Err(code) => return Ok(code),
    };
    println!("Saved plan {}:\n", args.target.display());
    print!(
        "{}",
        text::render(
            &saved,
            text::TextOptions {
                color: context.color_stdout
            }
        )
    );
    if !saved.is_applicable() {
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    let session = args.connection.open().await?;
    let result = reconciler(&session, &args.connection)
        .apply_saved(&saved, desired, progress(context))
        .await;
    session.close().await;
    let (_, report) = result.into_diagnostic()?;
    Ok(finish(&report))
}
