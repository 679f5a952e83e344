//! Secret imports (§6.1, the v2 routes), as Infisical's `secret-import` service answers them:
//! a new import is appended, a move shifts the imports between its old and new position, a
//! delete closes the gap; an import of the folder itself, or of a folder that imports this one,
//! is 400 `Cyclic import not allowed`. Duplicates are accepted (the service has no check).
//! Replication (`isReplication`) needs a paid plan: 400, as on a server without the licence.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::Shared;
use super::super::failure::{ApiFailure, issue};
use super::super::input::{self, Fields, Issues};
use super::super::store::{Environment, Project, SecretImport, iso, normalize_path, now_millis};
use super::{Authenticated, json_body, ok};

/// Infisical's `NotFoundError` without a message (the imported environment is missing).
const ENTITY_NOT_FOUND: &str = "The requested entity is not found";

fn import_not_found() -> ApiFailure {
    ApiFailure::bad_request("Secret import not found")
}

/// One import as the routes answer it.
fn view(import: &SecretImport, folder_id: Uuid, project: &Project) -> Value {
    let env = project
        .environments
        .iter()
        .find(|env| env.id == import.import_env);
    json!({
        "id": import.id,
        "folderId": folder_id,
        "importPath": import.import_path,
        "importEnv": env.map(|env| json!({ "id": env.id, "name": env.name, "slug": env.slug })),
        "position": import.position,
        "isReplication": false,
        "isReplicationSuccess": null,
        "replicationStatus": null,
        "lastReplicated": null,
        "isReserved": false,
        "createdAt": iso(import.created_at),
        "updatedAt": iso(import.updated_at),
    })
}

/// Whether the folder `source_path` of `source_env` imports the folder `path` of `env`: the
/// one cycle check Infisical makes.
fn imports_back(source_env: &Environment, source_path: &str, env_id: Uuid, path: &str) -> bool {
    source_env.folders.get(source_path).is_some_and(|folder| {
        folder
            .imports
            .iter()
            .any(|import| import.import_env == env_id && import.import_path == path)
    })
}

/// The importing folder every import route names: the index of its environment, or Infisical's
/// 404 "Folder with path … not found" (also for an unknown environment).
fn importing_folder(project: &Project, environment: &str, path: &str) -> Result<usize, ApiFailure> {
    project
        .environments
        .iter()
        .position(|env| env.slug == environment && env.folders.contains_key(path))
        .ok_or_else(|| {
            ApiFailure::not_found(format!(
                "Folder with path '{path}' in environment with slug '{environment}' not found"
            ))
        })
}

/// Reads the `projectId`, `environment` and `path` every write names.
fn scope(fields: &Fields<'_>, issues: &mut Issues) -> (String, String, String) {
    let project_id = fields.required_str("projectId", issues);
    let environment = fields.required_str("environment", issues);
    let path = normalize_path(&fields.optional_str("path", issues).unwrap_or_default());
    (project_id, environment, path)
}

/// `POST /api/v2/secret-imports`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let (project_id, environment, path) = scope(&fields, &mut issues);
    let replication = fields
        .optional_bool("isReplication", &mut issues)
        .unwrap_or(false);
    let (source_env, source_path) = match body.get("import") {
        Some(value) => {
            let import = Fields::at(value, vec![json!("import")], &mut issues);
            let source_env = import.required_str("environment", &mut issues);
            let source_path = import.required_str("path", &mut issues);
            (source_env, normalize_path(&source_path))
        }
        None => {
            issues.push(issue::invalid_type(&[json!("import")], "object", None));
            (String::new(), String::new())
        }
    };
    issues.finish()?;
    if replication {
        return Err(ApiFailure::bad_request(
            "Failed to create secret replication due to plan restriction. Upgrade plan to create replication.",
        ));
    }
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    let env_index = importing_folder(project, &environment, &path)?;
    let source = project
        .environments
        .iter()
        .find(|env| env.slug == source_env)
        .ok_or_else(|| ApiFailure::not_found(ENTITY_NOT_FOUND))?;
    let env_id = project.environments[env_index].id;
    if (source_env == environment && source_path == path)
        || imports_back(source, &source_path, env_id, &path)
    {
        return Err(ApiFailure::bad_request("Cyclic import not allowed"));
    }
    let source_id = source.id;
    let now = now_millis();
    let folder = project.environments[env_index]
        .folders
        .get_mut(&path)
        .ok_or_else(ApiFailure::internal)?;
    let position = folder.imports.iter().map(|i| i.position).max().unwrap_or(0) + 1;
    let import = SecretImport {
        id: Uuid::new_v4(),
        import_env: source_id,
        import_path: source_path,
        position,
        created_at: now,
        updated_at: now,
    };
    folder.imports.push(import.clone());
    let folder_id = folder.id;
    let answer = view(&import, folder_id, project);
    shared.persist(&store)?;
    Ok(ok(json!({
        "message": "Successfully created secret import",
        "secretImport": answer,
    })))
}

/// `GET /api/v2/secret-imports?projectId=&environment=&path=`: in position order.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiFailure> {
    let query = input::Query(&query);
    let mut issues = Issues::default();
    let project_id = query.str("projectId").unwrap_or_default();
    let environment = query.str("environment").unwrap_or_default();
    for (name, value) in [("projectId", &project_id), ("environment", &environment)] {
        if value.is_empty() {
            issues.push(issue::invalid_type(&[json!(name)], "string", None));
        }
    }
    issues.finish()?;
    let path = normalize_path(&query.str("path").unwrap_or_default());
    let store = shared.read();
    let project = store.project(&project_id)?;
    let env_index = importing_folder(project, &environment, &path)?;
    let folder = project.environments[env_index]
        .folders
        .get(&path)
        .ok_or_else(ApiFailure::internal)?;
    let mut imports: Vec<&SecretImport> = folder.imports.iter().collect();
    imports.sort_by_key(|import| import.position);
    let answer: Vec<Value> = imports
        .into_iter()
        .map(|import| view(import, folder.id, project))
        .collect();
    Ok(ok(json!({
        "message": "Successfully fetched secret imports",
        "secretImports": answer,
    })))
}

/// `GET /api/v2/secret-imports/{id}`.
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(import_id): Path<String>,
) -> Result<Response, ApiFailure> {
    let wanted = Uuid::parse_str(&import_id).ok();
    let store = shared.read();
    for (project, env, path, folder) in store.folders() {
        if let Some(import) = folder.imports.iter().find(|i| Some(i.id) == wanted) {
            let mut answer = view(import, folder.id, project);
            if let Value::Object(map) = &mut answer {
                map.insert(
                    "environment".to_owned(),
                    json!({ "id": env.id, "name": env.name, "slug": env.slug }),
                );
                map.insert("projectId".to_owned(), json!(project.id));
                map.insert("secretPath".to_owned(), json!(path));
            }
            return Ok(ok(json!({ "secretImport": answer })));
        }
    }
    Err(ApiFailure::not_found(format!(
        "Secret import with ID '{import_id}' not found"
    )))
}

/// `PATCH /api/v2/secret-imports/{id}`: a new source and/or a new position; moving to
/// `position` shifts the imports in between by one.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(import_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let (project_id, environment, path) = scope(&fields, &mut issues);
    let (new_env, new_path, new_position) = match body.get("import") {
        Some(value) => {
            let import = Fields::at(value, vec![json!("import")], &mut issues);
            (
                import.optional_str("environment", &mut issues),
                import
                    .optional_str("path", &mut issues)
                    .map(|p| normalize_path(&p)),
                import.optional_number("position", &mut issues),
            )
        }
        None => {
            issues.push(issue::invalid_type(&[json!("import")], "object", None));
            (None, None, None)
        }
    };
    issues.finish()?;
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    let env_index = importing_folder(project, &environment, &path)?;
    let env_id = project.environments[env_index].id;
    let folder = project.environments[env_index]
        .folders
        .get(&path)
        .ok_or_else(ApiFailure::internal)?;
    let wanted = Uuid::parse_str(&import_id).ok();
    let current = folder
        .imports
        .iter()
        .find(|i| Some(i.id) == wanted)
        .cloned()
        .ok_or_else(import_not_found)?;
    let source = match &new_env {
        Some(slug) => project.environments.iter().find(|env| &env.slug == slug),
        None => project
            .environments
            .iter()
            .find(|env| env.id == current.import_env),
    }
    .ok_or_else(|| ApiFailure::not_found(ENTITY_NOT_FOUND))?;
    let source_path = new_path.unwrap_or_else(|| current.import_path.clone());
    if imports_back(source, &source_path, env_id, &path) {
        return Err(ApiFailure::bad_request("Cyclic import not allowed"));
    }
    let source_id = source.id;
    let folder = project.environments[env_index]
        .folders
        .get_mut(&path)
        .ok_or_else(ApiFailure::internal)?;
    // Infisical reads the position as a number and moves by it; a fraction is kept out here.
    let position = new_position.filter(|p| *p >= 1.0).map(|p| p as u32);
    if let Some(target) = position {
        let old = current.position;
        for other in folder.imports.iter_mut().filter(|i| i.id != current.id) {
            if target > old && other.position > old && other.position <= target {
                other.position -= 1;
            } else if target < old && other.position >= target && other.position < old {
                other.position += 1;
            }
        }
    }
    let now = now_millis();
    let import = folder
        .imports
        .iter_mut()
        .find(|i| i.id == current.id)
        .ok_or_else(ApiFailure::internal)?;
    if let Some(target) = position {
        import.position = target;
    }
    import.import_env = source_id;
    import.import_path = source_path;
    import.updated_at = now;
    let import = import.clone();
    folder.imports.sort_by_key(|i| i.position);
    let folder_id = folder.id;
    let answer = view(&import, folder_id, project);
    shared.persist(&store)?;
    Ok(ok(json!({
        "message": "Successfully updated secret import",
        "secretImport": answer,
    })))
}

/// `DELETE /api/v2/secret-imports/{id}` (JSON body `projectId`, `environment`, `path`): the
/// imports after it move up by one.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(import_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let (project_id, environment, path) = scope(&fields, &mut issues);
    issues.finish()?;
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    let env_index = importing_folder(project, &environment, &path)?;
    let folder = project.environments[env_index]
        .folders
        .get_mut(&path)
        .ok_or_else(ApiFailure::internal)?;
    let wanted = Uuid::parse_str(&import_id).ok();
    let index = folder
        .imports
        .iter()
        .position(|i| Some(i.id) == wanted)
        .ok_or_else(|| {
            ApiFailure::not_found(format!(
                "Secret import with folder ID '{import_id}' not found"
            ))
        })?;
    let removed = folder.imports.remove(index);
    for other in folder.imports.iter_mut() {
        if other.position > removed.position {
            other.position -= 1;
        }
    }
    let folder_id = folder.id;
    let answer = view(&removed, folder_id, project);
    shared.persist(&store)?;
    Ok(ok(json!({
        "message": "Successfully deleted secret import",
        "secretImport": answer,
    })))
}
