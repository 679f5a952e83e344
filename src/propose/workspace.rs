//! Git work for a proposal (git2): fetch the tracked branch into a fresh per-proposal
//! repository, read the YAML from its tree, write the changed files as a commit on a new
//! branch, push that branch.
//!
//! Every proposal gets its own bare repository under the work directory and its own branch
//! name (prefix + UTC timestamp + random suffix), so two proposals never share either. Nothing
//! is checked out: files are read from and written to Git objects directly. The push never
//! forces and never targets the tracked branch. Everything here blocks; the proposer runs it
//! on `spawn_blocking`.

use std::path::{Path, PathBuf};

use git2::{
    CertificateCheckStatus, FetchOptions, ObjectType, Oid, PushOptions, RemoteCallbacks,
    Repository, Signature, TreeWalkMode, TreeWalkResult,
};

use super::edit::Files;
use crate::source::Limits;
use crate::source::git::{GitAuth, known_hosts_match, redact_url, set_credentials, ssh_port};

/// Why Git work failed. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// A git operation failed.
    #[error("git {operation} failed")]
    Git {
        /// What was being done.
        operation: &'static str,
        /// The libgit2 error.
        #[source]
        source: git2::Error,
    },
    /// The tracked branch is not on the remote.
    #[error("branch `{branch}` not found on {url}")]
    BranchNotFound {
        /// The branch.
        branch: String,
        /// The remote (credentials stripped).
        url: String,
    },
    /// The push was refused by the remote.
    #[error("the remote refused the push of `{branch}`: {message}")]
    PushRefused {
        /// The branch.
        branch: String,
        /// The remote's message.
        message: String,
    },
    /// The desired-state directory holds a file the loader would refuse.
    #[error("cannot read `{path}` from the repository: {reason}")]
    File {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The sub-path is not a relative path inside the repository.
    #[error("refused sub-path `{0}`: it must be relative and stay inside the repository")]
    SubPath(String),
    /// A directory could not be created.
    #[error("cannot create `{path}`")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A fetch or push took too long.
    #[error("git did not finish within {0:?}")]
    Timeout(std::time::Duration),
    /// The blocking task panicked or was cancelled.
    #[error("the git task did not finish")]
    Join,
}

fn git(operation: &'static str) -> impl FnOnce(git2::Error) -> WorkspaceError {
    move |source| WorkspaceError::Git { operation, source }
}

/// What a workspace needs from the proposer's configuration.
#[derive(Debug, Clone)]
pub(crate) struct WorkspaceConfig {
    /// The remote.
    pub remote_url: String,
    /// Credentials.
    pub auth: GitAuth,
    /// Known-hosts file for SSH.
    pub known_hosts: Option<PathBuf>,
    /// The tracked branch.
    pub tracked_branch: String,
    /// The desired-state directory inside the repository (empty: the root).
    pub sub_path: String,
    /// Where per-proposal repositories are made.
    pub work_dir: PathBuf,
    /// Branch prefix.
    pub branch_prefix: String,
}

/// A per-proposal repository holding the tracked branch's tip. Its directory is removed when
/// it is dropped.
pub(crate) struct Workspace {
    repo: Repository,
    dir: PathBuf,
    base: Oid,
    branch: String,
    config: WorkspaceConfig,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("dir", &self.dir)
            .field("base", &self.base)
            .field("branch", &self.branch)
            .finish_non_exhaustive()
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The repository behind a local remote (`file://…` or a path) when it has a working tree:
/// libgit2 cannot push into those, so the branch is fetched into it instead.
fn local_working_repository(url: &str) -> Option<Repository> {
    let path = match url.strip_prefix("file://") {
        Some(path) => path,
        None if !url.contains("://") && url.starts_with('/') => url,
        None => return None,
    };
    Repository::open(path).ok().filter(|repo| !repo.is_bare())
}

/// A fresh branch name: `prefix` + UTC `YYYYMMDD-HHMMSS` + 8 random hex digits.
pub(crate) fn branch_name(prefix: &str) -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{prefix}{date}-{time}-{:08x}", rand::random::<u32>())
}

fn check_sub_path(sub_path: &str) -> Result<String, WorkspaceError> {
    let trimmed = sub_path.trim_matches('/');
    if sub_path.starts_with('/')
        || sub_path.contains('\\')
        || trimmed
            .split('/')
            .any(|part| part == ".." || part == "." || (part.is_empty() && !trimmed.is_empty()))
    {
        return Err(WorkspaceError::SubPath(sub_path.to_string()));
    }
    Ok(trimmed.to_string())
}

fn callbacks<'a>(auth: &GitAuth, url: &str, known_hosts: Option<String>) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    set_credentials(&mut callbacks, auth);
    let port = ssh_port(url);
    callbacks.certificate_check(move |cert, host| {
        let Some(hostkey) = cert.as_hostkey() else {
            return Ok(CertificateCheckStatus::CertificatePassthrough);
        };
        let Some(known_hosts) = &known_hosts else {
            return Err(git2::Error::from_str(
                "no known-hosts file configured; refusing an unverified SSH host key",
            ));
        };
        let Some(key) = hostkey.hostkey() else {
            return Err(git2::Error::from_str("the SSH server sent no host key"));
        };
        if known_hosts_match(known_hosts, host, port, key) {
            Ok(CertificateCheckStatus::CertificateOk)
        } else {
            Err(git2::Error::from_str(&format!(
                "the SSH host key of {host} is not in the known-hosts file"
            )))
        }
    });
    callbacks
}

impl Workspace {
    /// Makes a per-proposal repository and fetches the tracked branch into it.
    ///
    /// # Errors
    /// [`WorkspaceError`].
    pub(crate) fn open(config: &WorkspaceConfig) -> Result<Self, WorkspaceError> {
        let sub_path = check_sub_path(&config.sub_path)?;
        let config = WorkspaceConfig {
            sub_path,
            ..config.clone()
        };
        std::fs::create_dir_all(&config.work_dir).map_err(|source| WorkspaceError::Io {
            path: config.work_dir.display().to_string(),
            source,
        })?;
        // A unique branch and a directory nobody else has: `create_dir` fails if it exists.
        let (branch, dir) = loop {
            let branch = branch_name(&config.branch_prefix);
            let dir = config.work_dir.join(branch.replace('/', "-"));
            match std::fs::create_dir(&dir) {
                Ok(()) => break (branch, dir),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(WorkspaceError::Io {
                        path: dir.display().to_string(),
                        source,
                    });
                }
            }
        };
        if branch == config.tracked_branch {
            return Err(WorkspaceError::PushRefused {
                branch,
                message: "a proposal never pushes to the tracked branch".to_string(),
            });
        }
        let repo = match Repository::init_bare(&dir) {
            Ok(repo) => repo,
            Err(source) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(WorkspaceError::Git {
                    operation: "init",
                    source,
                });
            }
        };
        let mut workspace = Self {
            repo,
            dir,
            base: Oid::zero(),
            branch,
            config,
        };
        workspace.base = workspace.fetch()?;
        Ok(workspace)
    }

    fn known_hosts(&self) -> Option<String> {
        self.config
            .known_hosts
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
    }

    fn fetch(&self) -> Result<Oid, WorkspaceError> {
        let tracked = &self.config.tracked_branch;
        let local = format!("refs/remotes/origin/{tracked}");
        let refspec = format!("+refs/heads/{tracked}:{local}");
        let mut remote = self
            .repo
            .remote_anonymous(&self.config.remote_url)
            .map_err(git("remote"))?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks(
            &self.config.auth,
            &self.config.remote_url,
            self.known_hosts(),
        ));
        remote
            .fetch(&[refspec.as_str()], Some(&mut options), None)
            .map_err(git("fetch"))?;
        let reference =
            self.repo
                .find_reference(&local)
                .map_err(|_| WorkspaceError::BranchNotFound {
                    branch: tracked.clone(),
                    url: redact_url(&self.config.remote_url),
                })?;
        reference
            .peel_to_commit()
            .map(|commit| commit.id())
            .map_err(git("resolve the tracked branch"))
    }

    /// The new branch's name.
    pub(crate) fn branch(&self) -> &str {
        &self.branch
    }

    /// The YAML files of the desired-state directory, keyed relative to it, read with the
    /// loader's rules (hidden entries skipped, size limit; a symbolic link named like a YAML
    /// file refused, links to directories not followed).
    ///
    /// # Errors
    /// [`WorkspaceError`].
    pub(crate) fn files(&self) -> Result<Files, WorkspaceError> {
        let commit = self.repo.find_commit(self.base).map_err(git("read"))?;
        let mut tree = commit.tree().map_err(git("read"))?;
        if !self.config.sub_path.is_empty() {
            let entry = tree
                .get_path(Path::new(&self.config.sub_path))
                .map_err(|_| WorkspaceError::File {
                    path: self.config.sub_path.clone(),
                    reason: "no such directory on the tracked branch".to_string(),
                })?;
            tree = entry
                .to_object(&self.repo)
                .and_then(|object| object.peel_to_tree())
                .map_err(|_| WorkspaceError::File {
                    path: self.config.sub_path.clone(),
                    reason: "not a directory".to_string(),
                })?;
        }
        let mut files = Files::new();
        let mut problem = None;
        let limit = Limits::DEFAULT.max_file_bytes;
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            let name = entry.name().unwrap_or_default();
            if name.starts_with('.') {
                return TreeWalkResult::Skip;
            }
            if entry.kind() != Some(ObjectType::Blob)
                || !(name.ends_with(".yaml") || name.ends_with(".yml"))
            {
                return TreeWalkResult::Ok;
            }
            let path = format!("{dir}{name}");
            if entry.filemode() == i32::from(git2::FileMode::Link) {
                // As the loader: a link named like YAML is refused, never followed.
                problem = Some(WorkspaceError::File {
                    path,
                    reason: "it is a symbolic link, and links are never followed".to_string(),
                });
                return TreeWalkResult::Abort;
            }
            let blob = match self.repo.find_blob(entry.id()) {
                Ok(blob) => blob,
                Err(error) => {
                    problem = Some(WorkspaceError::File {
                        path,
                        reason: error.message().to_string(),
                    });
                    return TreeWalkResult::Abort;
                }
            };
            if blob.size() as u64 > limit {
                problem = Some(WorkspaceError::File {
                    path,
                    reason: format!("larger than the limit of {limit} bytes"),
                });
                return TreeWalkResult::Abort;
            }
            match std::str::from_utf8(blob.content()) {
                Ok(text) => {
                    files.insert(path, text.to_string());
                    TreeWalkResult::Ok
                }
                Err(_) => {
                    problem = Some(WorkspaceError::File {
                        path,
                        reason: "not valid UTF-8".to_string(),
                    });
                    TreeWalkResult::Abort
                }
            }
        })
        .map_err(git("read"))
        .or_else(|error| {
            if problem.is_some() {
                Ok(())
            } else {
                Err(error)
            }
        })?;
        match problem {
            Some(problem) => Err(problem),
            None => Ok(files),
        }
    }

    /// Writes `changed` (paths relative to the desired-state directory) as one commit on the
    /// new branch, on top of the tracked branch's tip.
    ///
    /// # Errors
    /// [`WorkspaceError`].
    pub(crate) fn commit(
        &self,
        changed: &Files,
        author_name: &str,
        author_email: &str,
        message: &str,
    ) -> Result<String, WorkspaceError> {
        let base = self.repo.find_commit(self.base).map_err(git("read"))?;
        let base_tree = base.tree().map_err(git("read"))?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        for (path, text) in changed {
            let blob = self.repo.blob(text.as_bytes()).map_err(git("write"))?;
            let full = if self.config.sub_path.is_empty() {
                path.clone()
            } else {
                format!("{}/{path}", self.config.sub_path)
            };
            update.upsert(full, blob, git2::FileMode::Blob);
        }
        let tree_id = update
            .create_updated(&self.repo, &base_tree)
            .map_err(git("write the tree"))?;
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(git("write the tree"))?;
        let signature = Signature::now(author_name, author_email).map_err(git("sign"))?;
        let reference = format!("refs/heads/{}", self.branch);
        let commit = self
            .repo
            .commit(
                Some(&reference),
                &signature,
                &signature,
                message,
                &tree,
                &[&base],
            )
            .map_err(git("commit"))?;
        Ok(commit.to_string())
    }

    /// The local equivalent of a push into a repository with a working tree: the target fetches
    /// the new branch from this workspace. Its checkout and current branch are not touched; an
    /// existing branch of the same name is refused.
    fn push_into_working_repository(
        &self,
        target: &Repository,
        reference: &str,
    ) -> Result<(), WorkspaceError> {
        if target.find_reference(reference).is_ok() {
            return Err(WorkspaceError::PushRefused {
                branch: self.branch.clone(),
                message: "the branch already exists".to_string(),
            });
        }
        let source = self.dir.to_string_lossy().into_owned();
        let mut remote = target.remote_anonymous(&source).map_err(git("push"))?;
        let refspec = format!("{reference}:{reference}");
        remote
            .fetch(&[refspec.as_str()], None, None)
            .map_err(git("push"))?;
        Ok(())
    }

    /// Pushes the new branch (never forced; the remote must not have it yet).
    ///
    /// # Errors
    /// [`WorkspaceError::PushRefused`] when the remote refuses the reference.
    pub(crate) fn push(&self) -> Result<(), WorkspaceError> {
        if self.branch == self.config.tracked_branch {
            return Err(WorkspaceError::PushRefused {
                branch: self.branch.clone(),
                message: "a proposal never pushes to the tracked branch".to_string(),
            });
        }
        let reference = format!("refs/heads/{}", self.branch);
        if let Some(target) = local_working_repository(&self.config.remote_url) {
            return self.push_into_working_repository(&target, &reference);
        }
        // No leading `+`: a non-fast-forward is refused, never forced.
        let refspec = format!("{reference}:{reference}");
        let mut remote = self
            .repo
            .remote_anonymous(&self.config.remote_url)
            .map_err(git("remote"))?;
        let refused = std::cell::RefCell::new(None::<String>);
        {
            let mut callbacks = callbacks(
                &self.config.auth,
                &self.config.remote_url,
                self.known_hosts(),
            );
            callbacks.push_update_reference(|_name, status| {
                if let Some(message) = status {
                    *refused.borrow_mut() = Some(message.to_string());
                }
                Ok(())
            });
            let mut options = PushOptions::new();
            options.remote_callbacks(callbacks);
            remote
                .push(&[refspec.as_str()], Some(&mut options))
                .map_err(git("push"))?;
        }
        match refused.into_inner() {
            Some(message) => Err(WorkspaceError::PushRefused {
                branch: self.branch.clone(),
                message,
            }),
            None => Ok(()),
        }
    }
}
