//! Change requests on a forge: GitLab merge requests and GitHub pull requests, behind one trait.

use async_trait::async_trait;

/// An opened merge request or pull request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRequest {
    /// Its web URL.
    pub url: String,
    /// The merge request `iid` (GitLab) or pull request number (GitHub).
    pub number: u64,
}

/// Why a change request could not be opened. Messages never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// A change request for this branch is already open.
    #[error("a change request from `{source_branch}` is already open: {message}")]
    AlreadyExists {
        /// The proposal branch.
        source_branch: String,
        /// The forge's message.
        message: String,
    },
    /// The forge refused the token.
    #[error("the forge refused the token (HTTP {status})")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
    },
    /// The forge refused the request's content.
    #[error("the forge refused the change request (HTTP {status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The forge's message.
        message: String,
    },
    /// The forge could not be reached, or answered something unreadable.
    #[error("cannot reach the forge at {url}")]
    Transport {
        /// The API URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The forge answered with a body larger than the limit.
    #[error("the forge at {url} answered with more than {limit}, the limit")]
    TooLarge {
        /// The API URL.
        url: String,
        /// The limit.
        limit: crate::net::body::ByteSize,
    },
    /// The forge has no such project, request or commit, or the token may not see it.
    #[error(
        "the forge has no {what} (HTTP 404): check the project, the request number and the commit, \
         and that the token may read them"
    )]
    NotFound {
        /// What was looked for, e.g. `merge request !17 of infra/secrets`.
        what: String,
    },
    /// The forge refused a review call (a comment or a status) on `what`.
    #[error("the forge refused the call about {what} (HTTP {status}): {message}")]
    Refused {
        /// What the call was about, e.g. `pull request #4 of acme/secrets`.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The forge's message.
        message: String,
    },
    /// The forge failed (5xx): retry later.
    #[error("the forge failed (HTTP {status}), retry later: {message}")]
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// The forge's message.
        message: String,
    },
    /// The configuration is unusable.
    #[error("invalid forge configuration: {0}")]
    Config(String),
}

/// A forge that opens change requests.
#[async_trait]
pub trait Forge: Send + Sync + std::fmt::Debug {
    /// Opens a merge request / pull request from `source_branch` into `target_branch`.
    ///
    /// # Errors
    /// [`ForgeError`]; an already-open request for the branch is [`ForgeError::AlreadyExists`].
    async fn open_change_request(
        &self,
        source_branch: &str,
        target_branch: &str,
        title: &str,
        description: &str,
    ) -> Result<ChangeRequest, ForgeError>;
}

/// How long a change-request call may take, in total.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// How long connecting may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The most of an error body kept for a message.
const MAX_MESSAGE: usize = 500;
/// Largest answer read from a forge: 1 MiB (a created pull request is about 25 KB of JSON).
pub const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

pub(super) fn http_client() -> Result<reqwest::Client, ForgeError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("infisical-gitops/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| ForgeError::Config(format!("cannot build the HTTP client: {error}")))
}

/// Builds the configured forge's client.
///
/// # Errors
/// [`ForgeError::Config`] for an unusable URL or project.
pub fn from_config(config: &super::ForgeConfig) -> Result<std::sync::Arc<dyn Forge>, ForgeError> {
    Ok(match config.kind {
        super::ForgeKind::GitLab => std::sync::Arc::new(GitLab::new(
            &config.api_url,
            &config.project,
            config.token.clone(),
        )?),
        super::ForgeKind::GitHub => std::sync::Arc::new(GitHub::new(
            &config.api_url,
            &config.project,
            config.token.clone(),
        )?),
    })
}

pub(super) fn base_url(api_url: &str) -> Result<String, ForgeError> {
    let trimmed = api_url.trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|error| ForgeError::Config(format!("invalid API URL `{api_url}`: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ForgeError::Config(format!(
            "the API URL `{api_url}` must be http:// or https://"
        )));
    }
    Ok(trimmed.to_string())
}

/// Reads an error body's message: GitLab's `message` (a string, a list, or a map of lists) or
/// `error`, GitHub's `message` and `errors[].message`. Cut to a bounded length.
pub(super) fn error_message(body: &str) -> String {
    fn flatten(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let mut inner = Vec::new();
                    flatten(value, &mut inner);
                    out.extend(inner.into_iter().map(|m| format!("{key} {m}")));
                }
            }
            _ => {}
        }
    }
    let mut parts = Vec::new();
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        for field in ["message", "error"] {
            if let Some(value) = json.get(field) {
                flatten(value, &mut parts);
            }
        }
        if let Some(errors) = json.get("errors").and_then(|e| e.as_array()) {
            for error in errors {
                match error.get("message").and_then(|m| m.as_str()) {
                    Some(message) => parts.push(message.to_string()),
                    None => {
                        let field = error.get("field").and_then(|f| f.as_str()).unwrap_or("");
                        let code = error.get("code").and_then(|c| c.as_str()).unwrap_or("");
                        if !field.is_empty() || !code.is_empty() {
                            parts.push(format!("{field} {code}").trim().to_string());
                        }
                    }
                }
            }
        }
    }
    let text = if parts.is_empty() {
        body.trim().to_string()
    } else {
        parts.join("; ")
    };
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE)
        .collect()
}

async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<(u16, String), ForgeError> {
    let answer = exchange(request, url, MAX_ANSWER_BYTES).await?;
    Ok((answer.status, answer.body))
}

/// A forge's answer: its status, headers and body (read up to a limit).
pub(super) struct Answer {
    /// The HTTP status.
    pub(super) status: u16,
    /// The response headers.
    pub(super) headers: reqwest::header::HeaderMap,
    /// The body, lossily decoded.
    pub(super) body: String,
}

/// Sends `request` and reads at most `limit` bytes of the answer. `url` names the forge in
/// errors (never a token: tokens travel in headers).
pub(super) async fn exchange(
    request: reqwest::RequestBuilder,
    url: &str,
    limit: u64,
) -> Result<Answer, ForgeError> {
    let response = request
        .send()
        .await
        .map_err(|source| ForgeError::Transport {
            url: url.to_string(),
            source: source.without_url(),
        })?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = crate::net::body::read_limited(response, limit)
        .await
        .map_err(|error| match error {
            crate::net::body::BodyError::TooLarge(too_large) => ForgeError::TooLarge {
                url: url.to_string(),
                limit: too_large.limit,
            },
            crate::net::body::BodyError::Transport(source) => ForgeError::Transport {
                url: url.to_string(),
                source: source.without_url(),
            },
        })?;
    Ok(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The change request a forge answered it created: its page from the field `url_field` and
/// its number from `number_field` of the JSON body.
fn created(
    status: u16,
    text: &str,
    url_field: &str,
    number_field: &str,
) -> Result<ChangeRequest, ForgeError> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|_| unreadable(status, "JSON"))?;
    Ok(ChangeRequest {
        url: json[url_field]
            .as_str()
            .ok_or_else(|| unreadable(status, url_field))?
            .to_string(),
        number: json[number_field]
            .as_u64()
            .ok_or_else(|| unreadable(status, number_field))?,
    })
}

fn unreadable(status: u16, what: &str) -> ForgeError {
    ForgeError::Rejected {
        status,
        message: format!("the answer has no {what}"),
    }
}

/// GitLab merge requests: `POST {api}/api/v4/projects/{url-encoded path}/merge_requests` with
/// a `PRIVATE-TOKEN` header.
pub struct GitLab {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) project: String,
    pub(super) token: secrecy::SecretString,
}

impl std::fmt::Debug for GitLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLab")
            .field("api_url", &self.base)
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl GitLab {
    /// A client for `project` (`group/sub/repo` or a numeric id) on the GitLab at `api_url`
    /// (e.g. `https://gitlab.example.com`; a trailing `/api/v4` is accepted).
    ///
    /// # Errors
    /// [`ForgeError::Config`].
    pub fn new(
        api_url: &str,
        project: &str,
        token: secrecy::SecretString,
    ) -> Result<Self, ForgeError> {
        let base = base_url(api_url)?;
        let base = base.strip_suffix("/api/v4").unwrap_or(&base).to_string();
        let project = project.trim_matches('/').to_string();
        if project.is_empty() {
            return Err(ForgeError::Config(
                "the GitLab project is empty".to_string(),
            ));
        }
        Ok(Self {
            http: http_client()?,
            base,
            project,
            token,
        })
    }

    /// `{api}/api/v4/projects/{url-encoded path}`.
    pub(super) fn project_url(&self) -> String {
        format!(
            "{}/api/v4/projects/{}",
            self.base,
            url_encode(&self.project)
        )
    }

    /// `request` with the `PRIVATE-TOKEN` header.
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        use secrecy::ExposeSecret;
        request.header("PRIVATE-TOKEN", self.token.expose_secret())
    }
}

/// Percent-encodes everything but unreserved characters (`group/repo` → `group%2Frepo`).
pub(crate) fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[async_trait]
impl Forge for GitLab {
    async fn open_change_request(
        &self,
        source_branch: &str,
        target_branch: &str,
        title: &str,
        description: &str,
    ) -> Result<ChangeRequest, ForgeError> {
        let url = format!("{}/merge_requests", self.project_url());
        let body = serde_json::json!({
            "source_branch": source_branch,
            "target_branch": target_branch,
            "title": title,
            "description": description,
            "remove_source_branch": true,
        });
        let request = self.authorized(self.http.post(&url).json(&body));
        let (status, text) = send(request, &self.base).await?;
        match status {
            200 | 201 => created(status, &text, "web_url", "iid"),
            401 | 403 => Err(ForgeError::Unauthorized { status }),
            409 => Err(ForgeError::AlreadyExists {
                source_branch: source_branch.to_string(),
                message: error_message(&text),
            }),
            _ => Err(ForgeError::Rejected {
                status,
                message: error_message(&text),
            }),
        }
    }
}

/// GitHub pull requests: `POST {api}/repos/{owner}/{repo}/pulls` with a bearer token.
pub struct GitHub {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) owner: String,
    pub(super) repo: String,
    pub(super) token: secrecy::SecretString,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api_url", &self.base)
            .field("repository", &format!("{}/{}", self.owner, self.repo))
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// A client for `owner/repo` on the GitHub API at `api_url` (`https://api.github.com`, or
    /// `https://github.example.com/api/v3` for GitHub Enterprise Server).
    ///
    /// # Errors
    /// [`ForgeError::Config`].
    pub fn new(
        api_url: &str,
        repository: &str,
        token: secrecy::SecretString,
    ) -> Result<Self, ForgeError> {
        let base = base_url(api_url)?;
        let valid = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        let (owner, repo) = repository
            .trim_matches('/')
            .split_once('/')
            .filter(|(owner, repo)| valid(owner) && valid(repo))
            .ok_or_else(|| {
                ForgeError::Config(format!(
                    "the GitHub repository `{repository}` must be `owner/repo`"
                ))
            })?;
        Ok(Self {
            http: http_client()?,
            base,
            owner: owner.to_string(),
            repo: repo.to_string(),
            token,
        })
    }

    /// `{api}/repos/{owner}/{repo}`.
    pub(super) fn repository_url(&self) -> String {
        format!("{}/repos/{}/{}", self.base, self.owner, self.repo)
    }

    /// `request` with the bearer token and the API version headers.
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        use secrecy::ExposeSecret;
        request
            .bearer_auth(self.token.expose_secret())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }
}

#[async_trait]
impl Forge for GitHub {
    async fn open_change_request(
        &self,
        source_branch: &str,
        target_branch: &str,
        title: &str,
        description: &str,
    ) -> Result<ChangeRequest, ForgeError> {
        let url = format!("{}/pulls", self.repository_url());
        let body = serde_json::json!({
            "title": title,
            "head": source_branch,
            "base": target_branch,
            "body": description,
            "maintainer_can_modify": true,
        });
        let request = self.authorized(self.http.post(&url).json(&body));
        let (status, text) = send(request, &self.base).await?;
        match status {
            200 | 201 => created(status, &text, "html_url", "number"),
            401 | 403 => Err(ForgeError::Unauthorized { status }),
            422 => {
                let message = error_message(&text);
                if message.contains("already exists") {
                    Err(ForgeError::AlreadyExists {
                        source_branch: source_branch.to_string(),
                        message,
                    })
                } else {
                    Err(ForgeError::Rejected { status, message })
                }
            }
            _ => Err(ForgeError::Rejected {
                status,
                message: error_message(&text),
            }),
        }
    }
}
