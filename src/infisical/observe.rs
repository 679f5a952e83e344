//! Observe: read the live Infisical into a [`LiveState`] with as few calls as the API allows.
//!
//! # Call count
//!
//! For `P` declared projects, of which the existing ones have `E` declared environments that
//! exist in Infisical:
//!
//! ```text
//! calls = P                    one `GET /api/v1/projects/slug/{slug}` per declared project
//!       + 2 × E                one recursive folder listing and one recursive v4 secret listing
//!                              (`expandSecretReferences=false`) per project-environment
//!       + I                    one import listing per existing folder whose `imports:` the
//!                              repository declares (Infisical lists imports one folder at a time)
//! ```
//!
//! Nothing else is read per folder or per secret; tags are taken from the secrets' own `tags`.
//! The lookups run concurrently, then the listings, then the import listings, each at most
//! `concurrency` at a time.

use std::collections::BTreeMap;

use futures::StreamExt;

use crate::model::{
    Address, DesiredState, EnvironmentSlug, FolderPath, ProjectSlug, SecretKey, TagSlug,
};
use crate::plan::{LiveEnvironment, LiveFolder, LiveImport, LiveProject, LiveSecret, LiveState};

use super::api::{Depth, InfisicalApi, RemoteFolder, RemoteProject, RemoteSecret, SecretScope};
use super::error::ApiError;
use super::ids::ProjectId;

/// Why the live state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The project lookup failed.
    #[error("failed to read project `{project}`")]
    Project {
        /// The project slug.
        project: String,
        /// The call that failed.
        #[source]
        source: ApiError,
    },
    /// A folder, secret or import listing failed.
    #[error("failed to list the {what} of `{project}/{environment}`")]
    Listing {
        /// `folders`, `secrets` or `imports of /path`.
        what: String,
        /// The project slug.
        project: String,
        /// The environment slug.
        environment: String,
        /// The call that failed.
        #[source]
        source: ApiError,
    },
}

impl ObserveError {
    /// The underlying API error.
    pub fn api_error(&self) -> &ApiError {
        match self {
            ObserveError::Project { source, .. } | ObserveError::Listing { source, .. } => source,
        }
    }
}

/// How many calls run at once by default.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Reads every declared project (and its declared environments) from Infisical.
///
/// # Errors
/// The first failed call, naming the project (and environment). A partial observation is never
/// returned: planning from one could delete what was merely not read.
pub async fn observe(
    api: &dyn InfisicalApi,
    desired: &DesiredState,
    concurrency: usize,
) -> Result<LiveState, ObserveError> {
    let concurrency = concurrency.max(1);
    let lookups: Vec<(ProjectSlug, Option<RemoteProject>)> =
        // Owned slugs: a closure taking a reference would make this future not provably `Send`.
        futures::stream::iter(desired.projects.keys().cloned().map(|slug| async move {
            api.get_project_by_slug(slug.as_str())
                .await
                .map(|found| (slug.clone(), found))
                .map_err(|source| ObserveError::Project {
                    project: slug.to_string(),
                    source,
                })
        }))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;

    let found = lookups
        .into_iter()
        .filter_map(|(slug, remote)| remote.map(|remote| (slug, remote)))
        .collect();
    observe_found(
        api,
        found,
        concurrency,
        |slug, environment| desired.projects[slug].environment(environment).is_some(),
        |slug, environment, path| {
            desired.imports.contains_key(&Address::Folder(
                slug.clone(),
                environment.clone(),
                path.clone(),
            ))
        },
    )
    .await
}

/// Reads every environment of projects already looked up (for `import`, which has no desired
/// state yet): `2 × E` calls, one folder and one secret listing per environment.
///
/// # Errors
/// As [`observe`].
pub async fn observe_projects(
    api: &dyn InfisicalApi,
    projects: Vec<RemoteProject>,
    concurrency: usize,
) -> Result<LiveState, ObserveError> {
    let mut found = Vec::new();
    for remote in projects {
        let Ok(slug) = ProjectSlug::new(remote.slug.clone()) else {
            tracing::warn!(project = %remote.slug, "skipping a project whose slug this tool cannot address");
            continue;
        };
        found.push((slug, remote));
    }
    observe_found(api, found, concurrency, |_, _| true, |_, _, _| true).await
}

async fn observe_found(
    api: &dyn InfisicalApi,
    found: Vec<(ProjectSlug, RemoteProject)>,
    concurrency: usize,
    wanted: impl Fn(&ProjectSlug, &EnvironmentSlug) -> bool,
    wanted_imports: impl Fn(&ProjectSlug, &EnvironmentSlug, &FolderPath) -> bool,
) -> Result<LiveState, ObserveError> {
    let concurrency = concurrency.max(1);
    let mut live = LiveState::default();
    let mut listings = Vec::new();
    for (slug, remote) in found {
        let mut project = LiveProject {
            id: remote.id.to_string(),
            name: remote.name.clone(),
            description: remote.description.clone(),
            environments: BTreeMap::new(),
            tags: BTreeMap::new(),
        };
        for environment in &remote.environments {
            let Ok(env_slug) = EnvironmentSlug::new(environment.slug.clone()) else {
                tracing::warn!(project = %slug, environment = %environment.slug, "skipping an environment whose slug this tool cannot address");
                continue;
            };
            let observed = wanted(&slug, &env_slug);
            project.environments.insert(
                env_slug.clone(),
                LiveEnvironment {
                    id: environment.id.to_string(),
                    name: environment.name.clone(),
                    position: environment.position,
                    observed,
                    folders: BTreeMap::new(),
                    secrets: BTreeMap::new(),
                    imports: BTreeMap::new(),
                },
            );
            if observed {
                listings.push((slug.clone(), remote.id.clone(), env_slug));
            }
        }
        live.projects.insert(slug, project);
    }

    let results: Vec<_> = futures::stream::iter(listings.into_iter().map(
        |(slug, project_id, environment)| async move {
            let root = FolderPath::root();
            let (folders, secrets) = futures::join!(
                api.list_folders(&project_id, &environment, &root, Depth::Recursive),
                api.list_secrets(&project_id, &environment, &root, Depth::Recursive),
            );
            let listing_error = |what, source| ObserveError::Listing {
                what,
                project: slug.to_string(),
                environment: environment.to_string(),
                source,
            };
            let folders = folders.map_err(|e| listing_error("folders".to_string(), e))?;
            let secrets = secrets.map_err(|e| listing_error("secrets".to_string(), e))?;
            Ok::<_, ObserveError>((slug, environment, folders, secrets))
        },
    ))
    .buffer_unordered(concurrency)
    .collect()
    .await;

    for result in results {
        let (slug, environment, folders, secrets) = result?;
        let Some(project) = live.projects.get_mut(&slug) else {
            continue;
        };
        record_listing(project, &slug, &environment, folders, secrets);
    }
    observe_imports(api, &mut live, concurrency, wanted_imports).await?;
    Ok(live)
}

/// Puts one environment's folder and secret listings into `project` (folders and secrets this
/// tool cannot address are skipped with a warning).
fn record_listing(
    project: &mut LiveProject,
    slug: &ProjectSlug,
    environment: &EnvironmentSlug,
    folders: Vec<RemoteFolder>,
    secrets: Vec<RemoteSecret>,
) {
    let mut tags = BTreeMap::new();
    let Some(env) = project.environments.get_mut(environment) else {
        return;
    };
    for folder in folders {
        let Ok(path) = FolderPath::new(folder.path.clone()) else {
            tracing::warn!(project = %slug, %environment, path = %folder.path, "skipping a folder whose path this tool cannot address");
            continue;
        };
        if path.is_root() {
            continue;
        }
        env.folders.insert(
            path,
            LiveFolder {
                id: folder.id.into_string(),
                description: folder.description,
            },
        );
    }
    for secret in secrets {
        let (Ok(path), Ok(key)) = (
            FolderPath::new(secret.path.clone()),
            SecretKey::new(secret.key.clone()),
        ) else {
            tracing::warn!(project = %slug, %environment, path = %secret.path, "skipping a secret whose key or path this tool cannot address");
            continue;
        };
        let mut secret_tags = std::collections::BTreeSet::new();
        for tag in &secret.tags {
            if let Ok(tag_slug) = TagSlug::new(tag.slug.clone()) {
                tags.insert(tag_slug.clone(), tag.id.clone());
                secret_tags.insert(tag_slug);
            }
        }
        env.secrets.insert(
            (path, key),
            LiveSecret {
                id: secret.id,
                value: secret.value,
                comment: secret.comment,
                tags: secret_tags,
                metadata: secret.metadata.into_iter().collect(),
                version: secret.version,
            },
        );
    }
    project.tags.extend(tags);
}

/// Reads the imports of every existing folder (the roots included) that `wanted` names.
async fn observe_imports(
    api: &dyn InfisicalApi,
    live: &mut LiveState,
    concurrency: usize,
    wanted: impl Fn(&ProjectSlug, &EnvironmentSlug, &FolderPath) -> bool,
) -> Result<(), ObserveError> {
    let mut folders = Vec::new();
    for (slug, project) in &live.projects {
        for (environment, env) in &project.environments {
            if !env.observed {
                continue;
            }
            let paths = std::iter::once(FolderPath::root()).chain(env.folders.keys().cloned());
            for path in paths {
                if wanted(slug, environment, &path) {
                    folders.push((slug.clone(), project.id.clone(), environment.clone(), path));
                }
            }
        }
    }
    let results: Vec<_> = futures::stream::iter(folders.into_iter().map(
        |(slug, project_id, environment, path)| async move {
            let scope = SecretScope {
                project_id: ProjectId::new(project_id),
                environment: environment.clone(),
                path: path.clone(),
            };
            let imports =
                api.list_imports(&scope)
                    .await
                    .map_err(|source| ObserveError::Listing {
                        what: format!("imports of {path}"),
                        project: slug.to_string(),
                        environment: environment.to_string(),
                        source,
                    })?;
            Ok::<_, ObserveError>((slug, environment, path, imports))
        },
    ))
    .buffer_unordered(concurrency)
    .collect()
    .await;
    for result in results {
        let (slug, environment, path, imports) = result?;
        let Some(env) = live
            .projects
            .get_mut(&slug)
            .and_then(|p| p.environments.get_mut(&environment))
        else {
            continue;
        };
        let mut observed: Vec<LiveImport> = imports
            .into_iter()
            .map(|import| {
                let source = match (
                    EnvironmentSlug::new(import.environment.clone()),
                    FolderPath::new(import.path.clone()),
                ) {
                    (Ok(environment), Ok(path)) => Some((environment, path)),
                    _ => {
                        tracing::warn!(project = %slug, %environment, path = %import.path, "an import whose source this tool cannot address is left alone");
                        None
                    }
                };
                LiveImport {
                    id: import.id,
                    source,
                    position: import.position,
                    replication: import.replication || import.reserved,
                }
            })
            .collect();
        observed.sort_by_key(|i| i.position);
        env.imports.insert(path, observed);
    }
    Ok(())
}

/// The number of calls [`observe`] makes for `desired` against `live` (the formula above).
pub fn call_count(desired: &DesiredState, live: &LiveState) -> usize {
    let environments: usize = live
        .projects
        .values()
        .map(|p| p.environments.values().filter(|e| e.observed).count())
        .sum();
    let imports = desired
        .imports
        .keys()
        .filter(|folder| {
            let (Some(environment), Some(path)) = (folder.environment(), folder.folder()) else {
                return false;
            };
            live.projects
                .get(folder.project())
                .and_then(|p| p.environments.get(environment))
                .is_some_and(|e| e.observed && (path.is_root() || e.folders.contains_key(path)))
        })
        .count();
    desired.projects.len() + 2 * environments + imports
}
