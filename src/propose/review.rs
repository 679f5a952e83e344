//! Reviews on a forge: one plan comment per merge/pull request, found again by a hidden marker
//! and updated in place, and commit statuses (`infisical-gitops/plan`, `infisical-gitops/apply`).
//!
//! | | GitLab (`/api/v4`) | GitHub (REST) |
//! |---|---|---|
//! | list comments | `GET /projects/:id/merge_requests/:iid/notes` (`X-Next-Page`) | `GET /repos/:o/:r/issues/:n/comments` (`Link: rel="next"`) |
//! | create | `POST …/notes` | `POST /repos/:o/:r/issues/:n/comments` |
//! | update | `PUT …/notes/:note_id` | `PATCH /repos/:o/:r/issues/comments/:id` |
//! | status | `POST /projects/:id/statuses/:sha` (`pending`, `success`, `failed`) | `POST /repos/:o/:r/statuses/:sha` (`pending`, `success`, `failure`) |
//!
//! Bounds: at most [`MAX_PAGES`] pages of [`PER_PAGE`] comments are searched (past them a new
//! comment is written), each page read up to [`MAX_PAGE_BYTES`]; a comment holds at most
//! [`MAX_COMMENT_CHARS`] characters of plan; a status description at most
//! [`GITHUB_DESCRIPTION_CHARS`] (GitHub) or [`GITLAB_DESCRIPTION_CHARS`] (GitLab) characters,
//! on one line, control characters escaped. A next-page link that leaves the configured API is
//! refused, so the token never travels elsewhere.

use std::sync::Arc;

use super::forge::{Answer, ForgeError, GitHub, GitLab, MAX_ANSWER_BYTES, error_message, exchange};
use super::{ForgeConfig, ForgeKind};
use async_trait::async_trait;

/// The hidden first line of the one plan comment per request.
pub const PLAN_MARKER: &str = "<!-- infisical-gitops:plan -->";
/// Most pages of comments searched for the marker.
pub const MAX_PAGES: u32 = 20;
/// Comments asked for per page.
pub const PER_PAGE: u32 = 50;
/// Largest page of comments read: 8 MiB (50 comments of GitHub's 65,536-character maximum fit).
pub const MAX_PAGE_BYTES: u64 = 8 * 1024 * 1024;
/// Most characters of Markdown in a plan comment (GitHub refuses bodies over 65,536).
pub const MAX_COMMENT_CHARS: usize = 60_000;
/// Most characters of a GitHub status description.
pub const GITHUB_DESCRIPTION_CHARS: usize = 140;
/// Most characters of a GitLab status description.
pub const GITLAB_DESCRIPTION_CHARS: usize = 255;

/// Which status: the plan of a request's head, or the apply of the tracked branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusContext {
    /// `infisical-gitops/plan`.
    Plan,
    /// `infisical-gitops/apply`.
    Apply,
}

impl StatusContext {
    /// The context (GitHub) or name (GitLab).
    pub fn name(self) -> &'static str {
        match self {
            Self::Plan => "infisical-gitops/plan",
            Self::Apply => "infisical-gitops/apply",
        }
    }
}

/// A status's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    /// Planning (or applying) has started.
    Pending,
    /// Done, nothing blocks.
    Success,
    /// Invalid, unresolved, refused or failed.
    Failed,
}

impl StatusState {
    /// `pending`, `success` or `failed` (GitHub spells the last `failure`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }
}

/// A commit status to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    /// Plan or apply.
    pub context: StatusContext,
    /// The state.
    pub state: StatusState,
    /// One line for people; escaped and cut to the forge's limit when sent.
    pub description: String,
    /// A page to link (an `http(s)` URL), e.g. the CI job.
    pub target_url: Option<String>,
}

/// A full commit id: 40 (SHA-1) or 64 (SHA-256) hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitId(String);

impl CommitId {
    /// Parses a full commit id.
    ///
    /// # Errors
    /// [`ForgeError::Config`] for anything but 40 or 64 hexadecimal digits.
    pub fn parse(text: &str) -> Result<Self, ForgeError> {
        let text = text.trim();
        if matches!(text.len(), 40 | 64) && text.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(ForgeError::Config(format!(
                "the commit `{}` is not a full commit id (40 or 64 hexadecimal digits)",
                crate::escape::visible(&text.chars().take(80).collect::<String>())
            )))
        }
    }

    /// The hexadecimal id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CommitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the plan comment was written anew or updated in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentWrite {
    /// No marked comment was found: a new one was posted.
    Created,
    /// The marked comment was updated.
    Updated,
}

/// The plan comment written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanComment {
    /// The note (GitLab) or comment (GitHub) id.
    pub id: u64,
    /// Created or updated.
    pub write: CommentWrite,
}

/// Plan comments and commit statuses on one forge project.
#[async_trait]
pub trait Review: Send + Sync + std::fmt::Debug {
    /// Writes `markdown` as the one plan comment of request `number` (merge request `iid` or
    /// pull request number): updates the comment that starts with [`PLAN_MARKER`], or posts
    /// one. The body is [`comment_body`]`(markdown)`.
    ///
    /// # Errors
    /// [`ForgeError`]: 401/403 [`ForgeError::Unauthorized`], 404 [`ForgeError::NotFound`],
    /// 5xx [`ForgeError::Unavailable`].
    async fn upsert_plan_comment(
        &self,
        number: u64,
        markdown: &str,
    ) -> Result<PlanComment, ForgeError>;

    /// Sets a status on `commit`.
    ///
    /// # Errors
    /// As [`Self::upsert_plan_comment`].
    async fn set_status(&self, commit: &CommitId, status: &CommitStatus) -> Result<(), ForgeError>;
}

/// Builds the configured forge's review client.
///
/// # Errors
/// [`ForgeError::Config`] for an unusable URL or project.
pub fn from_config(config: &ForgeConfig) -> Result<Arc<dyn Review>, ForgeError> {
    Ok(match config.kind {
        ForgeKind::GitLab => Arc::new(GitLab::new(
            &config.api_url,
            &config.project,
            config.token.clone(),
        )?),
        ForgeKind::GitHub => Arc::new(GitHub::new(
            &config.api_url,
            &config.project,
            config.token.clone(),
        )?),
    })
}

/// The comment's body: the marker, then the Markdown, cut at a line end past
/// [`MAX_COMMENT_CHARS`] with a note saying how much was left out.
pub fn comment_body(markdown: &str) -> String {
    let mut out = format!("{PLAN_MARKER}\n");
    let total = markdown.chars().count();
    if total <= MAX_COMMENT_CHARS {
        out.push_str(markdown);
        return out;
    }
    let cut: String = markdown.chars().take(MAX_COMMENT_CHARS).collect();
    let kept = match cut.rfind('\n') {
        Some(end) => &cut[..=end],
        None => cut.as_str(),
    };
    let left_out = total - kept.chars().count();
    out.push_str(kept);
    out.push_str(&format!(
        "\n_The plan is cut here: {left_out} more characters. Run `infisical-gitops plan` to see \
         all of it._\n"
    ));
    out
}

/// A status description on one line: control characters escaped, cut to `limit` characters
/// (the last one `…` when cut).
pub fn status_description(text: &str, limit: usize) -> String {
    let one_line = crate::escape::visible(text.trim()).into_owned();
    if one_line.chars().count() <= limit {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(limit.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A status's JSON body: the context under `name_field` (GitLab `name`, GitHub `context`), the
/// failed state spelled `failed_state`, the description cut to `limit`, the checked link.
fn status_body(
    status: &CommitStatus,
    name_field: &str,
    failed_state: &str,
    limit: usize,
) -> Result<serde_json::Value, ForgeError> {
    let state = match status.state {
        StatusState::Failed => failed_state,
        state => state.as_str(),
    };
    let mut body = serde_json::json!({
        "state": state,
        name_field: status.context.name(),
        "description": status_description(&status.description, limit),
    });
    if let Some(url) = status.target_url.as_deref() {
        match reqwest::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                body["target_url"] = url.into();
            }
            _ => {
                return Err(ForgeError::Config(format!(
                    "the status link `{}` must be an http:// or https:// URL",
                    crate::escape::visible(url)
                )));
            }
        }
    }
    Ok(body)
}

/// The error for a failed answer: 401/403 refused token, 404 `what` not found, 5xx
/// unavailable, else rejected with the forge's message.
fn failure(answer: &Answer, what: impl FnOnce() -> String) -> ForgeError {
    let status = answer.status;
    match status {
        401 | 403 => ForgeError::Unauthorized { status },
        404 => ForgeError::NotFound { what: what() },
        500..=599 => ForgeError::Unavailable {
            status,
            message: error_message(&answer.body),
        },
        _ => ForgeError::Refused {
            what: what(),
            status,
            message: error_message(&answer.body),
        },
    }
}

fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// A comment in a listing that starts with the marker.
#[derive(Debug)]
struct Marked {
    id: u64,
    author: Option<String>,
}

/// The marked comments of one page (a JSON array): `author_field.name_field` names the author;
/// GitLab's system notes are skipped.
fn marked(
    answer: &Answer,
    author_field: &str,
    name_field: &str,
    what: impl FnOnce() -> String,
) -> Result<Vec<Marked>, ForgeError> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(&answer.body).map_err(|_| ForgeError::Refused {
            what: what(),
            status: answer.status,
            message: "the list of comments is not a JSON array".to_string(),
        })?;
    Ok(items
        .iter()
        .filter(|item| !item["system"].as_bool().unwrap_or(false))
        .filter(|item| {
            item["body"]
                .as_str()
                .is_some_and(|body| body.starts_with(PLAN_MARKER))
        })
        .filter_map(|item| {
            Some(Marked {
                id: item["id"].as_u64()?,
                author: item[author_field][name_field].as_str().map(str::to_string),
            })
        })
        .collect())
}

/// The comment to update: the first marked one written by `me` when the token's user is known,
/// else the first marked one.
fn choose(found: &[Marked], me: Option<&str>) -> Option<u64> {
    match me {
        Some(me) => found
            .iter()
            .find(|m| m.author.as_deref() == Some(me))
            .map(|m| m.id),
        None => found.first().map(|m| m.id),
    }
}

fn created_id(answer: &Answer, what: impl FnOnce() -> String) -> Result<u64, ForgeError> {
    serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|json| json["id"].as_u64())
        .ok_or_else(|| ForgeError::Refused {
            what: what(),
            status: answer.status,
            message: "the answer has no id".to_string(),
        })
}

/// Updates the marked comment `existing` with `update`, or posts one with `create` when there
/// is none, or when the marked one is someone else's and cannot be edited (403/404).
async fn upsert(
    base: &str,
    existing: Option<u64>,
    update: impl FnOnce(u64) -> reqwest::RequestBuilder,
    create: impl FnOnce() -> reqwest::RequestBuilder,
    what: impl FnOnce() -> String,
) -> Result<PlanComment, ForgeError> {
    if let Some(id) = existing {
        let answer = exchange(update(id), base, MAX_ANSWER_BYTES).await?;
        if success(answer.status) {
            return Ok(PlanComment {
                id,
                write: CommentWrite::Updated,
            });
        }
        if !matches!(answer.status, 403 | 404) {
            return Err(failure(&answer, what));
        }
    }
    let answer = exchange(create(), base, MAX_ANSWER_BYTES).await?;
    if !success(answer.status) {
        return Err(failure(&answer, what));
    }
    Ok(PlanComment {
        id: created_id(&answer, what)?,
        write: CommentWrite::Created,
    })
}

/// The token's user name, from `GET url`'s `field`; `None` when the token may not read it (a
/// CI job token): then any marked comment is taken.
async fn identity(request: reqwest::RequestBuilder, base: &str, field: &str) -> Option<String> {
    let answer = exchange(request, base, MAX_ANSWER_BYTES).await.ok()?;
    if !success(answer.status) {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()?
        .get(field)?
        .as_str()
        .map(str::to_string)
}

impl GitLab {
    fn request_name(&self, number: u64) -> String {
        format!(
            "merge request !{number} of {}",
            crate::escape::visible(&self.project)
        )
    }

    async fn find_plan_note(&self, number: u64) -> Result<Option<u64>, ForgeError> {
        let me = identity(
            self.authorized(self.http.get(format!("{}/api/v4/user", self.base))),
            &self.base,
            "username",
        )
        .await;
        let notes = format!("{}/merge_requests/{number}/notes", self.project_url());
        let mut found = Vec::new();
        let mut page = 1u32;
        while page <= MAX_PAGES {
            let request = self.authorized(self.http.get(&notes).query(&[
                ("sort", "asc"),
                ("order_by", "created_at"),
                ("per_page", &PER_PAGE.to_string()),
                ("page", &page.to_string()),
            ]));
            let answer = exchange(request, &self.base, MAX_PAGE_BYTES).await?;
            if !success(answer.status) {
                return Err(failure(&answer, || self.request_name(number)));
            }
            found.extend(marked(&answer, "author", "username", || {
                self.request_name(number)
            })?);
            if let Some(id) = choose(&found, me.as_deref()) {
                return Ok(Some(id));
            }
            let next = answer
                .headers
                .get("x-next-page")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok());
            match next {
                Some(next) if next > page => page = next,
                _ => break,
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl Review for GitLab {
    async fn upsert_plan_comment(
        &self,
        number: u64,
        markdown: &str,
    ) -> Result<PlanComment, ForgeError> {
        let body = serde_json::json!({ "body": comment_body(markdown) });
        let notes = format!("{}/merge_requests/{number}/notes", self.project_url());
        upsert(
            &self.base,
            self.find_plan_note(number).await?,
            |id| self.authorized(self.http.put(format!("{notes}/{id}")).json(&body)),
            || self.authorized(self.http.post(&notes).json(&body)),
            || self.request_name(number),
        )
        .await
    }

    async fn set_status(&self, commit: &CommitId, status: &CommitStatus) -> Result<(), ForgeError> {
        let body = status_body(status, "name", "failed", GITLAB_DESCRIPTION_CHARS)?;
        let url = format!("{}/statuses/{commit}", self.project_url());
        let answer = exchange(
            self.authorized(self.http.post(&url).json(&body)),
            &self.base,
            MAX_ANSWER_BYTES,
        )
        .await?;
        // GitLab refuses to set a status to the state it already has; that is success.
        if success(answer.status)
            || (answer.status == 400 && answer.body.contains("Cannot transition status"))
        {
            return Ok(());
        }
        Err(failure(&answer, || {
            format!(
                "commit {commit} in {}",
                crate::escape::visible(&self.project)
            )
        }))
    }
}

impl GitHub {
    fn request_name(&self, number: u64) -> String {
        format!("pull request #{number} of {}/{}", self.owner, self.repo)
    }

    async fn find_plan_comment(&self, number: u64) -> Result<Option<u64>, ForgeError> {
        let me = identity(
            self.authorized(self.http.get(format!("{}/user", self.base))),
            &self.base,
            "login",
        )
        .await;
        let mut next = Some(format!(
            "{}/issues/{number}/comments?per_page={PER_PAGE}",
            self.repository_url()
        ));
        let mut found = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                break;
            }
            let answer = exchange(
                self.authorized(self.http.get(&url)),
                &self.base,
                MAX_PAGE_BYTES,
            )
            .await?;
            if !success(answer.status) {
                return Err(failure(&answer, || self.request_name(number)));
            }
            found.extend(marked(&answer, "user", "login", || {
                self.request_name(number)
            })?);
            if let Some(id) = choose(&found, me.as_deref()) {
                return Ok(Some(id));
            }
            next = match next_link(&answer.headers) {
                Some(link) if link.starts_with(&format!("{}/", self.base)) => Some(link),
                Some(_) => {
                    return Err(ForgeError::Refused {
                        what: self.request_name(number),
                        status: answer.status,
                        message: "the next page of comments is outside the configured API URL; \
                                  not following it"
                            .to_string(),
                    });
                }
                None => None,
            };
        }
        Ok(None)
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

#[async_trait]
impl Review for GitHub {
    async fn upsert_plan_comment(
        &self,
        number: u64,
        markdown: &str,
    ) -> Result<PlanComment, ForgeError> {
        let body = serde_json::json!({ "body": comment_body(markdown) });
        let repository = self.repository_url();
        upsert(
            &self.base,
            self.find_plan_comment(number).await?,
            |id| {
                self.authorized(
                    self.http
                        .patch(format!("{repository}/issues/comments/{id}"))
                        .json(&body),
                )
            },
            || {
                self.authorized(
                    self.http
                        .post(format!("{repository}/issues/{number}/comments"))
                        .json(&body),
                )
            },
            || self.request_name(number),
        )
        .await
    }

    async fn set_status(&self, commit: &CommitId, status: &CommitStatus) -> Result<(), ForgeError> {
        let body = status_body(status, "context", "failure", GITHUB_DESCRIPTION_CHARS)?;
        let url = format!("{}/statuses/{commit}", self.repository_url());
        let answer = exchange(
            self.authorized(self.http.post(&url).json(&body)),
            &self.base,
            MAX_ANSWER_BYTES,
        )
        .await?;
        if success(answer.status) {
            return Ok(());
        }
        Err(failure(&answer, || {
            format!("commit {commit} in {}/{}", self.owner, self.repo)
        }))
    }
}

/// The plan status of a computed plan: success with the counts, or failed when it has errors
/// or unresolved values. Never a value.
pub fn plan_status(plan: &crate::plan::Plan) -> (StatusState, String) {
    let summary = plan.summary();
    if !plan.errors.is_empty() {
        return (
            StatusState::Failed,
            format!(
                "the plan has {} error(s); apply would refuse it",
                plan.errors.len()
            ),
        );
    }
    if plan.has_unresolved() {
        return (
            StatusState::Failed,
            format!("{} secret value(s) not resolved", plan.unresolved.len()),
        );
    }
    (
        StatusState::Success,
        format!(
            "plan: {} to add, {} to change, {} to destroy",
            summary.add, summary.change, summary.destroy
        ),
    )
}

/// The plan comment for a repository that does not validate: every error with its file, line
/// and column, escaped.
pub fn diagnostics_markdown(diagnostics: &[crate::model::Diagnostic]) -> String {
    use crate::escape::markdown;
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == crate::model::Severity::Error)
        .collect();
    let mut out = format!(
        "### infisical-gitops plan\n\n**The repository does not validate: {} error(s).** \
         Nothing can be planned or applied until they are fixed.\n\n",
        errors.len()
    );
    for diagnostic in errors {
        out.push_str(&format!(
            "- {} {}: {}",
            markdown::code(&diagnostic.origin.to_string()),
            markdown::code(diagnostic.code),
            markdown::text(&diagnostic.message)
        ));
        if let Some(help) = &diagnostic.help {
            out.push_str(&format!(" — {}", markdown::text(help)));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_one_line_and_bounded() {
        let text = "plan\nfailed \u{1b}[31m".to_string() + &"x".repeat(300);
        let github = status_description(&text, GITHUB_DESCRIPTION_CHARS);
        assert_eq!(github.chars().count(), GITHUB_DESCRIPTION_CHARS);
        assert!(github.ends_with('…'));
        assert!(!github.contains('\n') && !github.contains('\u{1b}'));
        assert_eq!(status_description(" short ", 140), "short");
    }

    #[test]
    fn a_long_plan_is_cut_at_a_line_end_with_a_note() {
        let line = "| ➕ | secret | `p/e:/#KEY` |\n";
        let markdown = line.repeat(MAX_COMMENT_CHARS / line.chars().count() + 10);
        let body = comment_body(&markdown);
        assert!(body.starts_with(PLAN_MARKER));
        assert!(body.chars().count() < MAX_COMMENT_CHARS + 200);
        assert!(body.contains("The plan is cut here"));
        let kept = body.split("\n_The plan").next().unwrap_or_default();
        assert!(kept.ends_with("|\n"), "{kept:?}");
    }

    #[test]
    fn commit_ids_are_full_hexadecimal() {
        assert!(CommitId::parse(&"a".repeat(40)).is_ok());
        assert!(CommitId::parse(&"B".repeat(64)).is_ok());
        for bad in ["abc123", "../../x", &"g".repeat(40)] {
            assert!(matches!(CommitId::parse(bad), Err(ForgeError::Config(_))));
        }
    }

    #[test]
    fn the_next_link_is_read_from_the_link_header() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "link",
            "<https://api.example/r?page=3>; rel=\"last\", <https://api.example/r?page=2>; rel=\"next\""
                .parse()
                .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("")),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://api.example/r?page=2")
        );
    }
}
