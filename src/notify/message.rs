//! The neutral message every format renders: an event, fixed words, counts, the revision, a
//! commit link, and the record's first errors (addresses and messages, never values). Pure.

use serde::Serialize;

use super::detect::{Event, EventSeverity};
use crate::daemon::{ReconcileOutcome, ReconcileRecord, Trigger};
use crate::escape::visible;

/// At most this many of a record's errors are carried in a message.
pub(crate) const MAX_ERRORS: usize = 5;
/// Each carried error is cut to this many characters.
pub(crate) const MAX_ERROR_CHARS: usize = 300;
/// The source description is cut to this many characters.
const MAX_SOURCE_CHARS: usize = 200;

/// One notification, before it is rendered for a format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// What changed.
    pub event: Event,
    /// How bad it is.
    pub severity: EventSeverity,
    /// One line of fixed words, counts and the short revision.
    pub title: String,
    /// The revision reconciled (one line, escaped).
    pub revision: Option<String>,
    /// The commit's page on the forge, when the forge is known and the revision is a commit.
    pub commit_url: Option<String>,
    /// A refused revision that stays unapplied while the last good one is reconciled.
    pub refused_revision: Option<String>,
    /// The source (no credentials; one line, escaped).
    pub source: String,
    /// Why the reconcile ran.
    pub trigger: Trigger,
    /// How it ended.
    pub outcome: ReconcileOutcome,
    /// Drift found in `detect` projects.
    pub detected: usize,
    /// Secrets not resolved.
    pub unresolved: usize,
    /// The first errors (one line each, escaped, cut).
    pub errors: Vec<String>,
    /// How many more errors the record had.
    pub more_errors: usize,
    /// When the reconcile started (RFC 3339).
    pub at: String,
}

impl Notification {
    /// The message for `event`, seen in `record`.
    pub fn new(
        event: Event,
        record: &ReconcileRecord,
        source: &str,
        link: Option<&CommitLink>,
        refused_revision: Option<&str>,
    ) -> Self {
        let revision = record.revision.as_deref().map(|r| visible(r).into_owned());
        let short = revision.as_deref().map(short_revision);
        let at = |what: &str| match &short {
            Some(short) => format!("{what} at revision {short}"),
            None => what.to_string(),
        };
        let title = match event {
            Event::ReconcileFailed => at("Reconcile failed"),
            Event::SourceUnreachable => "The source could not be fetched".to_string(),
            Event::ValuesUnresolved => at(&crate::plan::not_resolved_headline(record.unresolved)),
            Event::Recovered => at("Reconcile recovered"),
            Event::RevisionInvalid => format!(
                "Revision {} is invalid and was not applied",
                short.as_deref().unwrap_or("-")
            ),
            Event::RevisionUntrusted => format!(
                "Revision {} is not signed by an allowed key and was not applied",
                short.as_deref().unwrap_or("-")
            ),
            Event::DriftDetected => format!(
                "{}: {} {} in detect-mode projects, not applied",
                at("Drift detected"),
                record.detected,
                if record.detected == 1 {
                    "change"
                } else {
                    "changes"
                }
            ),
            Event::DriftResolved => at("No more drift in detect-mode projects"),
        };
        let errors: Vec<String> = record
            .errors
            .iter()
            .take(MAX_ERRORS)
            .map(|e| cut(&visible(e), MAX_ERROR_CHARS))
            .collect();
        Self {
            event,
            severity: event.severity(),
            title,
            commit_url: revision
                .as_deref()
                .and_then(|r| link.and_then(|l| l.url(r))),
            revision,
            refused_revision: refused_revision.map(|r| visible(r).into_owned()),
            source: cut(&visible(source), MAX_SOURCE_CHARS),
            trigger: record.trigger,
            outcome: record.outcome,
            detected: record.detected,
            unresolved: record.unresolved,
            more_errors: record.errors.len().saturating_sub(errors.len()),
            errors,
            at: record.started_at.clone(),
        }
    }
}

/// The first 12 characters of a commit id; other revisions as they are.
fn short_revision(revision: &str) -> String {
    if is_commit(revision) {
        revision.chars().take(12).collect()
    } else {
        revision.to_string()
    }
}

/// Whether `revision` is a Git commit id (7 to 64 hexadecimal digits).
fn is_commit(revision: &str) -> bool {
    (7..=64).contains(&revision.len()) && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `text` cut to `max` characters, with `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Which forge serves the repository's web pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeWeb {
    /// `<base>/<project>/-/commit/<sha>`.
    GitLab,
    /// `<base>/<project>/commit/<sha>`.
    GitHub,
}

/// Builds commit links from the forge settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitLink {
    kind: ForgeWeb,
    base: String,
    project: String,
}

impl CommitLink {
    /// From the forge's API URL (as `--forge-url` takes it) and project. The web address is the
    /// API URL without `/api/v4` (GitLab) or `/api/v3` (GitHub Enterprise), and
    /// `https://api.github.com` becomes `https://github.com`. `None` for an unusable URL.
    pub fn new(kind: ForgeWeb, api_url: &str, project: &str) -> Option<Self> {
        let parsed = reqwest::Url::parse(api_url.trim()).ok()?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return None;
        }
        let mut base = parsed.as_str().trim_end_matches('/').to_string();
        for suffix in ["/api/v4", "/api/v3"] {
            if let Some(stripped) = base.strip_suffix(suffix) {
                base = stripped.to_string();
            }
        }
        if kind == ForgeWeb::GitHub && parsed.host_str() == Some("api.github.com") {
            base = "https://github.com".to_string();
        }
        let project: String = project
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(crate::propose::forge::url_encode)
            .collect::<Vec<_>>()
            .join("/");
        if project.is_empty() {
            return None;
        }
        Some(Self {
            kind,
            base: encode_link(&base),
            project,
        })
    }

    /// The commit's page, when `revision` is a commit id.
    pub fn url(&self, revision: &str) -> Option<String> {
        if !is_commit(revision) {
            return None;
        }
        let revision = revision.to_ascii_lowercase();
        Some(match self.kind {
            ForgeWeb::GitLab => format!("{}/{}/-/commit/{revision}", self.base, self.project),
            ForgeWeb::GitHub => format!("{}/{}/commit/{revision}", self.base, self.project),
        })
    }
}

/// A URL with the characters that end or split a link in chat formats percent-encoded.
fn encode_link(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '|' | '<' | '>' | '"' | '\'' | '(' | ')' | '[' | ']' | ' ' | '`' | '\\' => {
                out.push_str(&format!("%{:02X}", u32::from(c)));
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn commit_links_follow_the_forge() {
        let gitlab =
            CommitLink::new(ForgeWeb::GitLab, "https://gitlab.com", "acme/infra/secrets").unwrap();
        assert_eq!(
            gitlab.url(SHA).unwrap(),
            format!("https://gitlab.com/acme/infra/secrets/-/commit/{SHA}")
        );
        let self_hosted =
            CommitLink::new(ForgeWeb::GitLab, "https://git.example.com/api/v4/", "a/b").unwrap();
        assert_eq!(
            self_hosted.url(SHA).unwrap(),
            format!("https://git.example.com/a/b/-/commit/{SHA}")
        );
        let github =
            CommitLink::new(ForgeWeb::GitHub, "https://api.github.com", "acme/secrets").unwrap();
        assert_eq!(
            github.url(SHA).unwrap(),
            format!("https://github.com/acme/secrets/commit/{SHA}")
        );
        let enterprise =
            CommitLink::new(ForgeWeb::GitHub, "https://ghe.example.com/api/v3", "a/b").unwrap();
        assert_eq!(
            enterprise.url(SHA).unwrap(),
            format!("https://ghe.example.com/a/b/commit/{SHA}")
        );
        // Not a commit (a local directory's revision), or hostile: no link.
        assert_eq!(github.url("dir:0011223344556677"), None);
        assert_eq!(github.url("abc>|<x"), None);
        let hostile = CommitLink::new(ForgeWeb::GitHub, "https://h.example", "a b/|x>").unwrap();
        assert_eq!(
            hostile.url(SHA).unwrap(),
            format!("https://h.example/a%20b/%7Cx%3E/commit/{SHA}")
        );
        assert_eq!(CommitLink::new(ForgeWeb::GitHub, "ftp://h", "a/b"), None);
        assert_eq!(CommitLink::new(ForgeWeb::GitHub, "https://h", "/"), None);
    }

    #[test]
    fn every_event_has_a_title() {
        use Event::*;
        let mut record = ReconcileRecord::started(Trigger::Webhook);
        record.revision = Some(SHA.into());
        record.detected = 1;
        record.unresolved = 2;
        let titles: Vec<String> = [
            ReconcileFailed,
            SourceUnreachable,
            ValuesUnresolved,
            Recovered,
            RevisionInvalid,
            RevisionUntrusted,
            DriftDetected,
            DriftResolved,
        ]
        .into_iter()
        .map(|event| {
            let message = Notification::new(event, &record, "src", None, None);
            format!(
                "{} ({:?}): {}",
                event.as_str(),
                message.severity,
                message.title
            )
        })
        .collect();
        insta::assert_snapshot!(titles.join("\n"), @r"
        reconcile-failed (Error): Reconcile failed at revision 0123456789ab
        source-unreachable (Error): The source could not be fetched
        values-unresolved (Warning): 2 secrets not resolved, not written at revision 0123456789ab
        recovered (Resolved): Reconcile recovered at revision 0123456789ab
        revision-invalid (Error): Revision 0123456789ab is invalid and was not applied
        revision-untrusted (Error): Revision 0123456789ab is not signed by an allowed key and was not applied
        drift-detected (Warning): Drift detected at revision 0123456789ab: 1 change in detect-mode projects, not applied
        drift-resolved (Resolved): No more drift in detect-mode projects at revision 0123456789ab
        ");
    }

    #[test]
    fn errors_are_cut_escaped_and_counted() {
        let mut record = ReconcileRecord::started(Trigger::Poll);
        record.outcome = ReconcileOutcome::Failed;
        record.revision = Some(SHA.into());
        record.errors = (0..8).map(|i| format!("error {i}\n\u{1b}[2J")).collect();
        record.errors.push("x".repeat(1000));
        let message = Notification::new(Event::ReconcileFailed, &record, "src", None, None);
        assert_eq!(message.errors.len(), MAX_ERRORS);
        assert_eq!(message.more_errors, 4);
        assert_eq!(message.errors[0], "error 0\\n\\u{1b}[2J");
        assert_eq!(message.title, "Reconcile failed at revision 0123456789ab");
        assert_eq!(cut(&"y".repeat(500), 10).chars().count(), 10);
    }
}
