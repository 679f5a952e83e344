//! `infisical-gitops manifests`: the Infisical operator's resources for every `KubernetesSync`,
//! to stdout, to a directory, or applied to the cluster.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use miette::{IntoDiagnostic, WrapErr, miette};

use super::validate::{render_text, validate_path};
use super::{Context, EXIT_CHANGES, EXIT_ERROR};
use crate::files;
use crate::manifest::cluster::{self, ApplyOptions, Cluster, KubeCluster};
use crate::manifest::render::{self, DirectoryPlan, INDEX_FILE};
use crate::manifest::{self, Manifest};
use crate::model::DesiredState;
use crate::model::document::OperatorApi;

/// Arguments of `manifests`.
#[derive(Debug, Clone, clap::Args)]
pub struct ManifestsCommand {
    /// The repository directory.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Write one file per object into this directory instead of stdout. Files written by an
    /// earlier run that are no longer needed are removed; nothing else is touched.
    #[arg(long, value_name = "DIR", conflicts_with = "apply")]
    pub out: Option<PathBuf>,

    /// Emit this operator API for every sync, overriding the repository.
    #[arg(long, value_enum, value_name = "VERSION")]
    pub operator_api: Option<OperatorApiArg>,

    /// Server-side apply the objects to the cluster of the current kubeconfig context (or the
    /// in-cluster service account), field manager `infisical-gitops`.
    #[arg(long)]
    pub apply: bool,

    /// With --apply: a server-side dry run; prints a diff of every change, stores nothing.
    #[arg(long, requires = "apply")]
    pub dry_run: bool,

    /// With --apply: delete objects labelled `app.kubernetes.io/managed-by=infisical-gitops`
    /// that the repository no longer declares.
    #[arg(long, requires = "apply")]
    pub prune: bool,

    /// With --apply: exit with 2 when something was (or, with --dry-run, would be) changed.
    #[arg(long, requires = "apply")]
    pub detailed_exitcode: bool,
}

/// `--operator-api` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OperatorApiArg {
    /// `InfisicalSecret`
    V1alpha1,
    /// `InfisicalStaticSecret` + `InfisicalAuth` + `InfisicalConnection`
    V1beta1,
}

impl From<OperatorApiArg> for OperatorApi {
    fn from(value: OperatorApiArg) -> Self {
        match value {
            OperatorApiArg::V1alpha1 => OperatorApi::V1alpha1,
            OperatorApiArg::V1beta1 => OperatorApi::V1beta1,
        }
    }
}

/// Runs `manifests`.
pub fn run(args: ManifestsCommand, context: &Context) -> miette::Result<ExitCode> {
    let validation = validate_path(&args.path);
    let Some(state) = &validation.state else {
        eprint!(
            "{}",
            render_text(&args.path, &validation, context.color_stderr)
        );
        return Ok(ExitCode::from(EXIT_ERROR));
    };
    if args.apply {
        super::runtime()?.block_on(async {
            let cluster = KubeCluster::from_environment()
                .await
                .map_err(|e| miette!("{}", chain(&e)))?;
            apply(&args, state, &cluster, &mut io::stdout().lock()).await
        })
    } else {
        emit(&args, state, &mut io::stdout().lock())
    }
}

/// The manifests of `state` under `args`' options.
pub fn build(args: &ManifestsCommand, state: &DesiredState) -> miette::Result<Vec<Manifest>> {
    let options = manifest::Options {
        operator_api: args.operator_api.map(Into::into),
    };
    manifest::manifests(state, &options).map_err(|errors| miette!("{errors}"))
}

/// Without `--apply`: YAML to `stdout`, or files into `--out`.
pub fn emit(
    args: &ManifestsCommand,
    state: &DesiredState,
    stdout: &mut dyn Write,
) -> miette::Result<ExitCode> {
    let manifests = build(args, state)?;
    match &args.out {
        None => {
            let yaml = render::to_yaml_stream(&manifests).into_diagnostic()?;
            stdout.write_all(yaml.as_bytes()).into_diagnostic()?;
        }
        Some(dir) => {
            let summary = write_directory(dir, &manifests)?;
            writeln!(stdout, "{summary}").into_diagnostic()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// With `--apply`: apply through `cluster`, print the report.
pub async fn apply(
    args: &ManifestsCommand,
    state: &DesiredState,
    cluster: &dyn Cluster,
    stdout: &mut dyn Write,
) -> miette::Result<ExitCode> {
    let manifests = build(args, state)?;
    let report = cluster::apply(
        cluster,
        &manifests,
        ApplyOptions {
            dry_run: args.dry_run,
            prune: args.prune,
        },
    )
    .await;
    stdout
        .write_all(report.render().as_bytes())
        .into_diagnostic()?;
    if !report.errors.is_empty() {
        let lines: Vec<String> = report.errors.iter().map(|e| chain(e)).collect();
        return Err(miette!("{}", lines.join("\n")));
    }
    Ok(if args.detailed_exitcode && report.has_changes() {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

/// Brings `dir` to exactly the files of `manifests` (and the index), removing the files an
/// earlier run wrote that are no longer needed. Never overwrites or removes a file that does
/// not start with our header. Returns a one-line summary.
pub fn write_directory(dir: &Path, manifests: &[Manifest]) -> miette::Result<String> {
    fs::create_dir_all(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("could not create {}", dir.display()))?;
    let index_path = dir.join(INDEX_FILE);
    let previous_index = read_optional(&index_path)?;
    let files = render::output_files(manifests).into_diagnostic()?;
    let DirectoryPlan {
        write,
        remove,
        index,
    } = render::plan_directory(previous_index.as_deref(), files);

    // Refuse before changing anything if a file we would write belongs to someone else.
    for file in &write {
        let path = dir.join(&file.name);
        if let Some(existing) = read_optional(&path)?
            && !render::is_generated(&existing)
        {
            return Err(miette!(
                "refusing to overwrite {}: it was not written by infisical-gitops \
                 (its first line is not the generated-file header); move it away or choose another --out",
                path.display()
            ));
        }
    }

    let (mut written, mut removed) = (0, 0);
    for file in &write {
        let path = dir.join(&file.name);
        if read_optional(&path)?.as_deref() != Some(file.contents.as_str()) {
            write_file(&path, &file.contents)?;
            written += 1;
        }
    }
    for name in &remove {
        let path = dir.join(name);
        if let Some(existing) = read_optional(&path)?
            && render::is_generated(&existing)
        {
            fs::remove_file(&path)
                .into_diagnostic()
                .wrap_err_with(|| format!("could not remove {}", path.display()))?;
            removed += 1;
        }
    }
    if previous_index.as_deref() != Some(index.as_str()) {
        write_file(&index_path, &index)?;
    }
    Ok(format!(
        "{}: {} objects, {written} files written, {} unchanged, {removed} removed",
        dir.display(),
        write.len(),
        write.len() - written,
    ))
}

/// The text of a file in the output directory, `None` when there is none; a symbolic link or
/// anything but a regular file is refused (never read, never replaced).
fn read_optional(path: &Path) -> miette::Result<Option<String>> {
    files::read_regular(path).into_diagnostic()
}

/// Writes through a fresh temporary file in the same directory (created exclusively, so a
/// planted link is never followed) and renames, so a reader never sees half a file.
fn write_file(path: &Path, contents: &str) -> miette::Result<()> {
    files::write_atomically(path, contents.as_bytes(), 0o644).into_diagnostic()
}

/// The error and its causes on one line; the API server's messages are foreign text, so control
/// characters in them are shown as escapes.
fn chain(error: &dyn std::error::Error) -> String {
    crate::escape::visible(&crate::errors::cause_chain(error)).into_owned()
}
