//! An in-memory [`InfisicalApi`](super::api::InfisicalApi) with Infisical's write semantics (duplicate keys refused,
//! missing folders refused, values trimmed, versions incremented), call counters and a
//! switch that fails chosen calls. For unit and property tests of observe and apply without
//! HTTP; the HTTP-level double is `dev::DevServer`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model::SecretValue;

use super::api::{
    RemoteEnvironment, RemoteFolder, RemoteImport, RemoteProject, RemoteSecret, RemoteTag,
};
use super::error::{ApiError, ErrorContext};

mod api_impl;

#[derive(Debug, Clone)]
struct StoredSecret {
    id: String,
    value: String,
    comment: String,
    tag_ids: Vec<String>,
    metadata: Vec<(String, String)>,
    version: u64,
}

#[derive(Debug, Default)]
struct Store {
    next_id: u64,
    projects: BTreeMap<String, RemoteProject>,
    /// (project id, env slug) → path → folder.
    folders: BTreeMap<(String, String), BTreeMap<String, RemoteFolder>>,
    /// (project id, env slug, path) → key → secret.
    secrets: BTreeMap<(String, String, String), BTreeMap<String, StoredSecret>>,
    /// project id → tags.
    tags: BTreeMap<String, Vec<RemoteTag>>,
    /// (project id, env slug, path) → imports in position order (positions 1, 2, …).
    imports: BTreeMap<(String, String, String), Vec<RemoteImport>>,
}

impl Store {
    fn id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{kind}-{:08}", self.next_id)
    }
}

/// The in-memory Infisical.
#[derive(Debug, Default)]
pub struct MemoryInfisical {
    store: Mutex<Store>,
    calls: Mutex<BTreeMap<&'static str, usize>>,
    call_number: AtomicUsize,
    fail_calls: Mutex<Vec<usize>>,
}

fn context(method: &str, path: &str, message: impl Into<String>) -> ErrorContext {
    ErrorContext {
        method: method.to_string(),
        path: path.to_string(),
        request_id: None,
        message: message.into(),
    }
}

impl MemoryInfisical {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls per method name (e.g. `create_secrets`).
    pub fn calls(&self) -> BTreeMap<&'static str, usize> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Total calls.
    pub fn total_calls(&self) -> usize {
        self.calls().values().sum()
    }

    /// Resets the counters.
    pub fn reset_calls(&self) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.clear();
        }
    }

    /// Makes the calls with these 1-based numbers (counted from now) fail with a 500.
    pub fn fail_calls(&self, numbers: &[usize]) {
        let base = self.call_number.load(Ordering::SeqCst);
        if let Ok(mut fail) = self.fail_calls.lock() {
            *fail = numbers.iter().map(|n| base + n).collect();
        }
    }

    fn enter(&self, name: &'static str, method: &str, path: &str) -> Result<(), ApiError> {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(name).or_default() += 1;
        }
        let number = self.call_number.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = self
            .fail_calls
            .lock()
            .map(|f| f.contains(&number))
            .unwrap_or(false);
        if fail {
            return Err(ApiError::Server {
                context: context(method, path, "Something went wrong"),
                status: 500,
            });
        }
        Ok(())
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        match self.store.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn remote_secret(tags: &[RemoteTag], path: &str, key: &str, s: &StoredSecret) -> RemoteSecret {
        RemoteSecret {
            id: s.id.clone(),
            key: key.to_string(),
            value: Some(SecretValue::new(s.value.clone())),
            comment: s.comment.clone(),
            path: path.to_string(),
            tags: s
                .tag_ids
                .iter()
                .filter_map(|id| tags.iter().find(|t| &t.id == id).cloned())
                .collect(),
            metadata: s.metadata.clone(),
            version: s.version,
        }
    }
}

fn folder_exists(store: &Store, project: &str, env: &str, path: &str) -> bool {
    path == "/"
        || store
            .folders
            .get(&(project.to_string(), env.to_string()))
            .is_some_and(|f| f.contains_key(path))
}

fn env_exists(store: &Store, project: &str, env: &str) -> bool {
    store
        .projects
        .get(project)
        .is_some_and(|p| p.environments.iter().any(|e| e.slug == env))
}

impl MemoryInfisical {
    /// An Infisical holding `live` (ids are kept; values must be present).
    pub fn from_live(live: &crate::plan::LiveState) -> Self {
        let memory = Self::new();
        {
            let mut store = memory.store();
            for (slug, project) in &live.projects {
                let environments = project
                    .environments
                    .iter()
                    .map(|(env_slug, e)| RemoteEnvironment {
                        id: e.id.clone().into(),
                        slug: env_slug.to_string(),
                        name: e.name.clone(),
                        position: e.position,
                    })
                    .collect();
                store.projects.insert(
                    project.id.clone(),
                    RemoteProject {
                        id: project.id.clone().into(),
                        slug: slug.to_string(),
                        name: project.name.clone(),
                        description: project.description.clone(),
                        environments,
                    },
                );
                for (env_slug, environment) in &project.environments {
                    let key = (project.id.clone(), env_slug.to_string());
                    for (path, folder) in &environment.folders {
                        store.folders.entry(key.clone()).or_default().insert(
                            path.to_string(),
                            RemoteFolder {
                                id: folder.id.clone().into(),
                                name: path.name().to_string(),
                                path: path.to_string(),
                                parent_id: None,
                                description: folder.description.clone(),
                            },
                        );
                    }
                    for ((path, secret_key), secret) in &environment.secrets {
                        let mut tag_ids = Vec::new();
                        for tag in &secret.tags {
                            let existing = store
                                .tags
                                .get(&project.id)
                                .and_then(|t| t.iter().find(|t| t.slug == tag.as_str()))
                                .map(|t| t.id.clone());
                            let id = match existing {
                                Some(id) => id,
                                None => {
                                    let id = store.id("tag");
                                    store.tags.entry(project.id.clone()).or_default().push(
                                        RemoteTag {
                                            id: id.clone(),
                                            slug: tag.to_string(),
                                        },
                                    );
                                    id
                                }
                            };
                            tag_ids.push(id);
                        }
                        store
                            .secrets
                            .entry((project.id.clone(), env_slug.to_string(), path.to_string()))
                            .or_default()
                            .insert(
                                secret_key.to_string(),
                                StoredSecret {
                                    id: secret.id.clone(),
                                    value: secret
                                        .value
                                        .as_ref()
                                        .map(|v| v.expose().to_string())
                                        .unwrap_or_default(),
                                    comment: secret.comment.clone(),
                                    tag_ids,
                                    metadata: secret
                                        .metadata
                                        .iter()
                                        .map(|(k, v)| (k.clone(), v.clone()))
                                        .collect(),
                                    version: secret.version,
                                },
                            );
                    }
                }
            }
        }
        memory
    }

    /// The stored value of a secret, for tests (`None` when absent).
    pub fn secret_value(
        &self,
        project_slug: &str,
        environment: &str,
        path: &str,
        key: &str,
    ) -> Option<SecretValue> {
        let store = self.store();
        let project = store.projects.values().find(|p| p.slug == project_slug)?;
        store
            .secrets
            .get(&(
                project.id.to_string(),
                environment.to_string(),
                path.to_string(),
            ))?
            .get(key)
            .map(|s| SecretValue::new(s.value.clone()))
    }
}
