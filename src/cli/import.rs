//! `infisical-gitops import (--project SLUG… | --all) [--out DIR] [--dry-run] [--force]
//! [--mapping FILE] [--bitwarden-url URL | --bitwarden-export FILE] [--bitwarden-folder ID]
//! [--bitwarden-collection ID] [--bws-project ID] [--adoption adopt|create-or-adopt]
//! [--match name|value|both]`: write a desired-state repository from the live Infisical. Secret
//! values are never written, only the literals apply recorded as non-sensitive (see
//! `docs/import.md`). With `BWS_ACCESS_TOKEN` set, Secrets Manager secrets are matched by value
//! too (`bws secret list`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use miette::{IntoDiagnostic, WrapErr};

use super::connection::ConnectionArgs;
use super::{Context, EXIT_ERROR, EXIT_OK, env};
use crate::errors::cause_chain;
use crate::escape;
use crate::files;
use crate::import::{
    Catalog, ChoiceReason, Chooser, ImportOptions, Imported, Mapping, MatchMode, Refuse, Selection,
    generate, read_live,
};
use crate::infisical::observe::DEFAULT_CONCURRENCY;
use crate::model::Address;
use crate::model::document::Adoption;
use crate::resolve::bitwarden::resolver::EMBEDDED_SAMPLE_EXPORT;
use crate::resolve::bitwarden::secrets_manager::{self, ListedSecret};
use crate::resolve::bitwarden::{BwsCli, ExportVault, ServeClient};

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportCommand {
    /// A project to import (by slug); repeat for several.
    #[arg(long = "project", value_name = "SLUG", required_unless_present = "all")]
    pub projects: Vec<String>,
    /// Import every project this identity can see.
    #[arg(long, conflicts_with = "projects")]
    pub all: bool,
    /// The repository directory to write into.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    /// Print the files (paths and content) instead of writing them.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
    /// A YAML map from secret addresses (`project/env:/path#KEY`) to Bitwarden references
    /// (`{item: UUID, field: …}` or `{item: UUID, customField: …}`).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Only items in this Bitwarden folder (id) match by name (`--bitwarden-url` or
    /// `--bitwarden-export` says where the items are read).
    #[arg(long, value_name = "ID")]
    pub bitwarden_folder: Option<String>,
    /// Only items in this Bitwarden collection (id) match by name.
    #[arg(long, value_name = "ID")]
    pub bitwarden_collection: Option<String>,
    /// With `BWS_ACCESS_TOKEN` set: match only the Secrets Manager secrets of this project (id)
    /// instead of every secret the token can read.
    #[arg(long, value_name = "ID")]
    pub bws_project: Option<String>,
    /// The adoption policy written into each project.
    #[arg(long, value_enum, default_value_t = AdoptionArg::Adopt)]
    pub adoption: AdoptionArg,
    /// How secrets are matched with Bitwarden items: by the value they hold (compared by
    /// keyed digest, never shown), by name, or the value first, then the name.
    #[arg(long = "match", value_enum, default_value_t = MatchArg::Both)]
    pub matching: MatchArg,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `--adoption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdoptionArg {
    /// Take over what exists; create nothing (the safest first apply).
    Adopt,
    /// Take over what exists and create what is added to the repository later.
    CreateOrAdopt,
}

/// `--match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchArg {
    /// Only items named like the secret (its address or key).
    Name,
    /// Only fields holding the secret's value (compared by keyed digest, never shown).
    Value,
    /// The value first, then the name.
    Both,
}

/// Asks on the terminal which of several items is meant.
struct Prompt;

impl Chooser for Prompt {
    fn choose(
        &mut self,
        address: &Address,
        reason: &ChoiceReason,
        candidates: &[String],
    ) -> Option<String> {
        let mut stderr = std::io::stderr();
        let _ = match reason {
            ChoiceReason::Name(name) => writeln!(
                stderr,
                "{address}: {} bitwarden items are named `{}`:",
                candidates.len(),
                escape::Visible(name)
            ),
            ChoiceReason::Value => writeln!(
                stderr,
                "{address}: {} bitwarden items hold this secret's value:",
                candidates.len()
            ),
        };
        for (index, id) in candidates.iter().enumerate() {
            let _ = writeln!(stderr, "  {}) {}", index + 1, escape::Visible(id));
        }
        let _ = write!(stderr, "choose 1-{} (empty: refuse): ", candidates.len());
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        let index: usize = line.trim().parse().ok()?;
        candidates.get(index.checked_sub(1)?).cloned()
    }
}

/// The Secrets Manager secrets to match against: `bws secret list` when `BWS_ACCESS_TOKEN` is
/// set, else none.
async fn secrets_manager(args: &ImportCommand) -> miette::Result<Option<Vec<ListedSecret>>> {
    let token = env::read(env::BWS_ACCESS_TOKEN).filter(|t| !t.trim().is_empty());
    let Some(token) = token else {
        if args.bws_project.is_some() {
            miette::bail!("--bws-project needs BWS_ACCESS_TOKEN");
        }
        return Ok(None);
    };
    let program = args
        .connection
        .bitwarden
        .bws_path
        .clone()
        .unwrap_or_else(|| secrets_manager::DEFAULT_PROGRAM.into());
    let cli = BwsCli::new(program, Some(secrecy::SecretString::from(token)));
    let secrets = cli
        .list_secrets(args.bws_project.as_deref())
        .await
        .into_diagnostic()
        .wrap_err("cannot list the bitwarden secrets manager secrets")?;
    Ok(Some(secrets))
}

async fn catalog(args: &ImportCommand) -> miette::Result<Option<Catalog>> {
    let bitwarden = &args.connection.bitwarden;
    let secrets = secrets_manager(args).await?;
    let items = if let Some(path) = &bitwarden.bitwarden_export {
        ExportVault::load(path).into_diagnostic()?.items().to_vec()
    } else if args.connection.dev && bitwarden.bitwarden_url.is_none() {
        // As `plan --dev` and `apply --dev`: the bundled sample export.
        ExportVault::parse(EMBEDDED_SAMPLE_EXPORT, "examples/bitwarden-export.json")
            .into_diagnostic()?
            .items()
            .to_vec()
    } else if let Some(url) = &bitwarden.bitwarden_url {
        let client = ServeClient::new(url)
            .into_diagnostic()
            .wrap_err("cannot configure the bw serve client")?;
        client.ensure_unlocked().await.into_diagnostic()?;
        client
            .list_items(
                None,
                args.bitwarden_folder.as_deref(),
                args.bitwarden_collection.as_deref(),
            )
            .await
            .into_diagnostic()?
    } else {
        if args.bitwarden_folder.is_some() || args.bitwarden_collection.is_some() {
            miette::bail!(
                "--bitwarden-folder and --bitwarden-collection need --bitwarden-url or --bitwarden-export"
            );
        }
        return Ok(secrets
            .map(|secrets| Catalog::new(Vec::new(), None, None).with_secrets_manager(secrets)));
    };
    let catalog = Catalog::new(
        items,
        args.bitwarden_folder.clone(),
        args.bitwarden_collection.clone(),
    );
    Ok(Some(match secrets {
        Some(secrets) => catalog.with_secrets_manager(secrets),
        None => catalog,
    }))
}

fn instance_label(connection: &ConnectionArgs) -> String {
    if connection.dev {
        return "the embedded dev server".to_string();
    }
    connection
        .api_url
        .clone()
        .or_else(|| env::read(env::INFISICAL_API_URL))
        .unwrap_or_else(|| "https://app.infisical.com".to_string())
}

/// Runs `import`.
pub async fn run(args: ImportCommand, _context: &Context) -> miette::Result<ExitCode> {
    let mapping = match &args.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot read the mapping file {}", path.display()))?;
            Mapping::parse(&text, &path.display().to_string()).into_diagnostic()?
        }
        None => Mapping::default(),
    };
    let catalog = catalog(&args).await?;
    let selection = if args.all {
        Selection::All
    } else {
        Selection::Projects(args.projects.clone())
    };
    let session = args.connection.open().await?;
    let read = read_live(session.api.as_ref(), &selection, DEFAULT_CONCURRENCY).await;
    session.close().await;
    let (projects, live) = read.into_diagnostic()?;
    let options = ImportOptions {
        instance: instance_label(&args.connection),
        adoption: match args.adoption {
            AdoptionArg::Adopt => Adoption::Adopt,
            AdoptionArg::CreateOrAdopt => Adoption::CreateOrAdopt,
        },
        matching: match args.matching {
            MatchArg::Name => MatchMode::Name,
            MatchArg::Value => MatchMode::Value,
            MatchArg::Both => MatchMode::Both,
        },
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut prompt = Prompt;
    let mut refuse = Refuse;
    let chooser: &mut dyn Chooser = if interactive {
        &mut prompt
    } else {
        &mut refuse
    };
    let imported = generate(
        &projects,
        &live,
        &mapping,
        catalog.as_ref(),
        chooser,
        &options,
    )
    .into_diagnostic()?;
    if args.dry_run {
        print!("{}", render_dry_run(&imported));
    } else if let Err(message) = write_files(&args, &imported) {
        eprintln!("{message}");
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    eprint!("{}", render_summary(&imported, args.dry_run));
    Ok(ExitCode::from(EXIT_OK))
}

fn write_files(args: &ImportCommand, imported: &Imported) -> Result<(), String> {
    // Anything already at a file's place counts, a dangling symbolic link included.
    let mut existing = Vec::new();
    for file in &imported.files {
        let path = args.out.join(&file.path);
        if let Some(parent) = Path::new(&file.path).parent()
            && let Err(error) = files::check_dirs_within(&args.out, parent)
        {
            return Err(format!("error: {}", cause_chain(&error)));
        }
        match files::entry_kind(&path) {
            Ok(None) => {}
            Ok(Some(kind)) if kind.is_symlink() => {
                return Err(format!(
                    "error: {}",
                    files::WriteError::SymbolicLink { path }
                ));
            }
            Ok(Some(_)) => existing.push(format!("  {}", path.display())),
            Err(error) => return Err(format!("error: {}", cause_chain(&error))),
        }
    }
    if !args.force && !existing.is_empty() {
        return Err(format!(
            "error: refusing to overwrite {} existing file(s) (pass --force to overwrite):\n{}",
            existing.len(),
            existing.join("\n")
        ));
    }
    for file in &imported.files {
        let relative = Path::new(&file.path);
        let directory = match relative.parent() {
            Some(parent) => files::create_dirs_within(&args.out, parent),
            None => Ok(args.out.clone()),
        };
        let name = relative.file_name().unwrap_or(relative.as_os_str());
        directory
            .and_then(|directory| {
                files::write_atomically(&directory.join(name), file.content.as_bytes(), 0o644)
            })
            .map_err(|error| format!("error: {}", cause_chain(&error)))?;
    }
    Ok(())
}

/// `--dry-run` output: each file's path and content.
pub fn render_dry_run(imported: &Imported) -> String {
    let mut out = String::new();
    for file in &imported.files {
        out.push_str(&format!("==> {} <==\n", file.path.display()));
        out.push_str(&file.content);
        out.push('\n');
    }
    out
}

/// The summary printed to stderr.
pub fn render_summary(imported: &Imported, dry_run: bool) -> String {
    let report = &imported.report;
    let mut out = format!(
        "{} {} file(s): {} project(s), {} secret(s) ({} from the mapping file, {} matched by value, {} matched by name, {} generated, {} literal(s), {} placeholder(s)).\n",
        if dry_run { "Would write" } else { "Wrote" },
        imported.files.len(),
        report.projects,
        report.secrets,
        report.mapped,
        report.matched_by_value,
        report.matched_by_name,
        report.generated,
        report.literals.len(),
        report.placeholders.len()
    );
    if !report.placeholders.is_empty() {
        out.push_str("Fill in these placeholders (`todo:`) before `plan`; `validate` lists them as `placeholder-source`:\n");
        for address in &report.placeholders {
            out.push_str(&format!("  {address}\n"));
        }
    }
    if !report.literals.is_empty() {
        out.push_str("These values are written into the files as non-sensitive literals (`sensitive: false`), as apply recorded them; review them before you commit:\n");
        for address in &report.literals {
            out.push_str(&format!("  {address}\n"));
        }
    }
    if !report.differing_values.is_empty() {
        out.push_str("The Bitwarden value differs from the live one for these secrets (the first apply would write the Bitwarden value):\n");
        for address in &report.differing_values {
            out.push_str(&format!("  {address}\n"));
        }
    }
    for warning in &report.warnings {
        out.push_str(&format!("warning: {}\n", escape::Visible(warning)));
    }
    out
}
