//! Command-line front-end: clap types, settings, one file per subcommand.

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::model::DesiredState;

pub mod manifests;

/// GitOps reconciler for the Infisical secrets manager.
#[derive(Debug, Parser)]
#[command(name = "infisical-gitops", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Emit the Infisical operator's resources for every KubernetesSync (stdout, a directory,
    /// or server-side applied to the cluster).
    Manifests(manifests::Args),
}

/// Parses the command line and runs the subcommand.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Manifests(args) => manifests::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(1)
        }
    }
}

/// Loads and validates the repository at `path`.
pub fn load_desired_state(path: &Path) -> miette::Result<DesiredState> {
    Err(miette::miette!(
        "cannot load {}: repository loading is not available in this build",
        path.display()
    ))
}

/// An error and its causes on one line: `outer: inner: root`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
