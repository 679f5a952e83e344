//! Command-line front-end: clap types, global settings, one file per subcommand.
//!
//! Adding a subcommand: create `src/cli/<name>.rs` with a `<Name>Command` struct (clap `Args`) and a
//! `run(args, &Context) -> miette::Result<ExitCode>` (or an `async fn` run through
//! [`runtime`]), then add one variant to [`Command`] and one arm to [`run`].

pub(crate) mod apply;
pub mod bitwarden;
pub mod connection;
pub(crate) mod dev_server;
pub(crate) mod env;
pub(crate) mod git_args;
pub mod import;
pub mod manifests;
pub(crate) mod mcp;
pub(crate) mod notify;
pub(crate) mod plan;
pub(crate) mod render;
pub(crate) mod run;
pub(crate) mod schema;
pub mod validate;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: success, nothing to do.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error, or an invalid repository.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: changes present (`plan --detailed-exitcode`).
pub const EXIT_CHANGES: u8 = 2;

/// GitOps for Infisical: a Git repository of YAML is the source of truth.
#[derive(Debug, Parser)]
#[command(name = "infisical-gitops", version, about, max_term_width = 100)]
pub struct Cli {
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = env::COLOR)]
    pub color: ColorChoice,
    /// Log line format (logs go to stderr).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = env::LOG_FORMAT)]
    pub log_format: LogFormat,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a desired-state repository and report every problem.
    Validate(validate::ValidateCommand),
    /// Write the JSON Schema of every document kind.
    Schema(schema::SchemaCommand),
    /// Run a local Infisical-compatible server (in memory, optionally persisted) for tests,
    /// benchmarks and trying things out.
    DevServer(dev_server::DevServerCommand),
    /// Compare the repository with Infisical and show what `apply` would change.
    Plan(plan::PlanCommand),
    /// Make Infisical match the repository (or apply a saved plan).
    Apply(apply::ApplyCommand),
    /// Emit the Infisical operator's resources for every KubernetesSync: to stdout, into a
    /// directory, or server-side applied to the cluster.
    Manifests(manifests::ManifestsCommand),
    /// Follow a Git remote or a directory: reconcile on every new revision, on webhooks and
    /// every drift interval; serve health, readiness, metrics and status.
    Run(run::RunCommand),
    /// Write a desired-state repository from an existing Infisical (values are never written).
    Import(import::ImportCommand),
    /// Serve MCP tools that read the repository and propose changes as merge requests
    /// (Streamable HTTP at /mcp with a bearer token, or stdio).
    Mcp(mcp::McpCommand),
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings shared by every subcommand, resolved once.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Whether stdout gets ANSI colours.
    pub color_stdout: bool,
    /// Whether stderr gets ANSI colours.
    pub color_stderr: bool,
}

impl Context {
    /// Resolves `--color` against the terminal and `NO_COLOR`.
    pub fn new(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os(env::NO_COLOR).is_some_and(|v| !v.is_empty());
        let resolve = |tty: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        Self {
            color_stdout: resolve(std::io::stdout().is_terminal()),
            color_stderr: resolve(std::io::stderr().is_terminal()),
        }
    }
}

/// Parses the command line and runs it: the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format, cli.color);
    let context = Context::new(cli.color);
    match run(cli.command, &context) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Runs one subcommand.
pub fn run(command: Command, context: &Context) -> miette::Result<ExitCode> {
    match command {
        Command::Validate(args) => validate::run(args, context),
        Command::Schema(args) => schema::run(args, context),
        Command::DevServer(args) => runtime()?.block_on(dev_server::run(args, context)),
        Command::Plan(args) => runtime()?.block_on(plan::run(args, context)),
        Command::Apply(args) => runtime()?.block_on(apply::run(args, context)),
        Command::Manifests(args) => manifests::run(args, context),
        Command::Run(args) => runtime()?.block_on(run::run(args, context)),
        Command::Import(args) => runtime()?.block_on(import::run(args, context)),
        Command::Mcp(args) => runtime()?.block_on(mcp::run(args, context)),
    }
}

/// A multi-threaded tokio runtime, for subcommands that do IO concurrently:
/// `runtime()?.block_on(plan::run(args, context))`.
pub fn runtime() -> miette::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| miette::miette!("cannot start the async runtime: {error}"))
}

fn init_tracing(format: LogFormat, color: ColorChoice) {
    use tracing_subscriber::EnvFilter;
    // The MCP audit log (one line per tool call) is on unless the filter says otherwise.
    let filter = EnvFilter::try_from_env(env::LOG)
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,{}=info", crate::mcp::AUDIT_TARGET)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .fmt_fields(text_log_fields())
            .with_ansi(Context::new(color).color_stderr)
            .try_init(),
    };
    // A second initialisation (tests calling `main` twice) keeps the first subscriber.
    drop(result);
}

/// How text logs write an event's fields: like tracing's default (`message name=value …`), but
/// every value goes through [`escape::visible`](crate::escape::visible), so a name from
/// Infisical, Git or a client holding a newline or a terminal escape can never forge a log line
/// or recolour a terminal. (JSON logs escape by construction.)
pub fn text_log_fields()
-> impl for<'writer> tracing_subscriber::fmt::FormatFields<'writer> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let text = format!("{value:?}");
        let shown = crate::escape::visible(&text);
        if field.name() == "message" {
            write!(writer, "{shown}")
        } else {
            write!(writer, "{}={shown}", field.name())
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// A field or message with a newline or an escape stays on its event's one line.
    #[test]
    fn text_logs_escape_untrusted_fields() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .map_err(|_| std::io::Error::other("poisoned"))?
                    .extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(super::text_log_fields())
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish();
        let path = "/apps\n2026-01-01T00:00:00Z  WARN forged: all secrets deleted";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(project = "billing", path = %path, "skipping a folder\x1b[2J");
        });
        let bytes = buffer.0.lock().map(|b| b.clone()).unwrap_or_default();
        let logged = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(!logged.contains('\u{1b}'), "{logged}");
        assert!(
            logged.ends_with(
                "skipping a folder\\u{1b}[2J project=\"billing\" path=/apps\\n2026-01-01T00:00:00Z  WARN forged: all secrets deleted\n"
            ),
            "{logged}"
        );
    }

    /// Every subcommand's arguments are consistent (unique names, valid relations): clap checks
    /// this only when a subcommand is first used, so check them all here.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
