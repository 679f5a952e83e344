//! `infisical-gitops schema [--out DIR]`: write the JSON Schema of every document kind (the
//! files committed under `schema/`).

use std::path::PathBuf;
use std::process::ExitCode;

use miette::{IntoDiagnostic, WrapErr};

use super::{Context, EXIT_OK};
use crate::model::schema::schema_files;

/// Arguments of `schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaCommand {
    /// Directory to write into (created when missing).
    #[arg(long, default_value = "schema")]
    pub out: PathBuf,
}

/// Runs `schema`.
pub(crate) fn run(args: SchemaCommand, _context: &Context) -> miette::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create `{}`", args.out.display()))?;
    for (name, content) in schema_files() {
        let path = args.out.join(name);
        std::fs::write(&path, content)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::from(EXIT_OK))
}
