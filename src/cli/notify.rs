//! `run --notify URL --notify-format FORMAT`: where notifications go.
//!
//! Webhook URLs hold their token in the path, so they can also come from a file
//! (`--notify-file`, one per line) or the environment (`INFISICAL_GITOPS_NOTIFY_URLS`,
//! separated by spaces or newlines) instead of the command line. They are never printed whole.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use miette::{IntoDiagnostic, WrapErr};

use super::env;
use super::mcp::{ForgeChoice, McpOptions};
use crate::notify::{
    CommitLink, DeliveryRetry, ForgeWeb, HttpTransport, Notifier, NotifyConfig, NotifyFormat,
    NotifyUrl, Target,
};

/// `--notify-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatChoice {
    /// From the host: Slack, Discord and Teams hosts are known; others get JSON.
    Auto,
    /// Slack incoming webhooks and Slack-compatible servers.
    Slack,
    /// Discord webhooks.
    Discord,
    /// Microsoft Teams (Workflows or incoming webhooks): an Adaptive Card.
    Teams,
    /// A generic JSON webhook.
    Json,
}

/// Notification settings of `run`.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyArgs {
    /// A webhook that hears about failures, recoveries, drift, untrusted or invalid revisions
    /// and unresolved values (one message per state change). Repeatable. A `FORMAT=` prefix
    /// (`teams=https://…`) sets its format. Prefer --notify-file: the URL holds a token.
    #[arg(long = "notify", value_name = "URL")]
    pub urls: Vec<String>,
    /// A file of webhook URLs, one a line (`#` comments and blank lines ignored), as --notify.
    #[arg(long, value_name = "FILE")]
    pub notify_file: Option<PathBuf>,
    /// The body format of webhooks without a `FORMAT=` prefix.
    #[arg(long, value_enum, env = env::NOTIFY_FORMAT, default_value = "auto")]
    pub notify_format: FormatChoice,
    /// Most notifications an hour (after a burst of 5).
    #[arg(long, default_value_t = 20, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub notify_rate_limit: u32,
    /// How long one webhook request may take.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub notify_timeout: Duration,
}

impl NotifyArgs {
    /// The webhooks, from the flags, the file and the environment; each checked, none printed.
    ///
    /// # Errors
    /// An unreadable file, or a URL that is not http(s) (named by where it came from).
    pub fn targets(&self) -> miette::Result<Vec<Target>> {
        let mut given: Vec<(String, String)> = self
            .urls
            .iter()
            .enumerate()
            .map(|(i, url)| (format!("--notify #{}", i + 1), url.clone()))
            .collect();
        if let Some(path) = &self.notify_file {
            let text = std::fs::read_to_string(path)
                .into_diagnostic()
                .wrap_err_with(|| format!("--notify-file: cannot read {}", path.display()))?;
            for (number, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                given.push((
                    format!("--notify-file {} line {}", path.display(), number + 1),
                    line.to_string(),
                ));
            }
        }
        if let Some(text) = env::read(env::NOTIFY_URLS) {
            for (i, url) in text.split_whitespace().enumerate() {
                given.push((format!("{} #{}", env::NOTIFY_URLS, i + 1), url.to_string()));
            }
        }
        given
            .into_iter()
            .map(|(origin, text)| self.target(&text).wrap_err(origin))
            .collect()
    }

    fn target(&self, text: &str) -> miette::Result<Target> {
        let (format, url) = match text.split_once('=') {
            Some((name, rest)) if !name.contains(':') && !name.contains('/') => {
                let format = NotifyFormat::from_name(name).ok_or_else(|| {
                    miette::miette!(
                        "unknown format prefix `{}`: use slack=, discord=, teams= or json=",
                        crate::escape::visible(&crate::notify::message::cut(name, 20))
                    )
                })?;
                (Some(format), rest)
            }
            _ => (None, text),
        };
        let url = NotifyUrl::parse(url).into_diagnostic()?;
        let format = format.unwrap_or(match self.notify_format {
            FormatChoice::Auto => NotifyFormat::detect(&url).unwrap_or(NotifyFormat::Json),
            FormatChoice::Slack => NotifyFormat::Slack,
            FormatChoice::Discord => NotifyFormat::Discord,
            FormatChoice::Teams => NotifyFormat::Teams,
            FormatChoice::Json => NotifyFormat::Json,
        });
        Ok(Target { url, format })
    }

    /// The notifier of `targets` (from [`NotifyArgs::targets`]), or `None` without any.
    /// Commit links follow `--forge`, `--forge-url` and `--forge-project` when they are set.
    ///
    /// # Errors
    /// An HTTP client that cannot be built.
    pub fn notifier(
        &self,
        targets: Vec<Target>,
        forge: &McpOptions,
    ) -> miette::Result<Option<Notifier>> {
        if targets.is_empty() {
            return Ok(None);
        }
        for target in &targets {
            let url = target.url.url();
            let host = url.host_str().unwrap_or_default();
            let loopback = host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if url.scheme() == "http" && !loopback {
                tracing::warn!(
                    webhook = %target.url,
                    "a webhook over plain http: its token travels unencrypted; use https"
                );
            }
            tracing::info!(
                webhook = %target.url,
                format = target.format.as_str(),
                "notifications enabled"
            );
        }
        let link = commit_link(forge);
        let transport = HttpTransport::new(self.notify_timeout)
            .into_diagnostic()
            .wrap_err("notifications: cannot build the HTTP client")?;
        Ok(Some(Notifier::start(
            NotifyConfig {
                targets,
                per_hour: self.notify_rate_limit,
                burst: crate::notify::BURST,
                retry: DeliveryRetry::default(),
                link,
            },
            Arc::new(transport),
        )))
    }
}

/// Commit links from the forge settings, when `--forge` and `--forge-project` are set.
pub(crate) fn commit_link(forge: &McpOptions) -> Option<CommitLink> {
    let kind = forge.forge?;
    let project = forge.forge_project.as_deref()?;
    CommitLink::new(
        match kind {
            ForgeChoice::Gitlab => ForgeWeb::GitLab,
            ForgeChoice::Github => ForgeWeb::GitHub,
        },
        forge.forge_url.as_deref().unwrap_or(kind.default_api_url()),
        project,
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> super::super::run::RunCommand {
        let mut all = vec!["infisical-gitops", "run", "."];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).expect("parses").command {
            Command::Run(args) => args,
            other => panic!("not run: {other:?}"),
        }
    }

    #[test]
    fn webhooks_come_from_flags_and_files_with_their_formats() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hooks");
        std::fs::write(
            &file,
            "# chat\n\nhttps://hooks.slack.com/services/T/B/X\nteams=https://chat.example.com/t\n",
        )
        .unwrap();
        let args = parse(&[
            "--notify",
            "https://discord.com/api/webhooks/1/token",
            "--notify",
            "https://ops.example.com/hook",
            "--notify-file",
            file.to_str().unwrap(),
        ]);
        let formats: Vec<_> = args
            .notify
            .targets()
            .unwrap()
            .iter()
            .map(|t| (t.url.redacted(), t.format))
            .collect();
        assert_eq!(
            formats,
            [
                ("https://discord.com/…".to_string(), NotifyFormat::Discord),
                ("https://ops.example.com/…".to_string(), NotifyFormat::Json),
                ("https://hooks.slack.com/…".to_string(), NotifyFormat::Slack),
                (
                    "https://chat.example.com/…".to_string(),
                    NotifyFormat::Teams
                ),
            ]
        );
        let forced = parse(&[
            "--notify",
            "https://hooks.slack.com/services/T/B/X",
            "--notify-format",
            "json",
        ]);
        assert_eq!(
            forced.notify.targets().unwrap()[0].format,
            NotifyFormat::Json
        );
    }

    #[test]
    fn bad_webhooks_are_named_by_origin_without_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hooks");
        std::fs::write(&file, "\nhttps://ok.example.com/x\nnot-a-url/SECRET-PATH\n").unwrap();
        let args = parse(&["--notify-file", file.to_str().unwrap()]);
        let error = format!("{:?}", args.notify.targets().unwrap_err());
        assert!(error.contains("line 3"), "{error}");
        assert!(!error.contains("SECRET-PATH"), "{error}");
        let args = parse(&["--notify", "matrix=https://x.example/SECRET"]);
        let error = format!("{:?}", args.notify.targets().unwrap_err());
        assert!(error.contains("--notify #1"), "{error}");
        assert!(error.contains("unknown format prefix `matrix`"), "{error}");
        assert!(!error.contains("SECRET"), "{error}");
        assert!(Cli::try_parse_from(["x", "run", ".", "--notify-rate-limit", "0"]).is_err());
    }

    #[test]
    fn commit_links_follow_the_forge_flags() {
        let args = parse(&["--forge", "gitlab", "--forge-project", "acme/secrets"]);
        let link = commit_link(&args.mcp_options).unwrap();
        assert_eq!(
            link.url("0123456789abcdef").unwrap(),
            "https://gitlab.com/acme/secrets/-/commit/0123456789abcdef"
        );
        assert!(commit_link(&parse(&[]).mcp_options).is_none());
    }
}
