//! Folders (§4, the v2 routes).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::failure::ApiFailure;
use super::super::input::{self, Fields, Issues};
use super::super::store::{Folder, join_path, normalize_path, now_millis, parent_path};
use super::super::{Shared, views};
use super::{Authenticated, json_body, ok};

fn is_folder_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_folder_name(name: &str) -> Result<(), ApiFailure> {
    if is_folder_name(name) {
        Ok(())
    } else {
        Err(ApiFailure::bad_request(
            "Invalid folder name. Only alphanumeric characters, dashes, and underscores are allowed.",
        ))
    }
}

/// Infisical keeps a folder description in a 255-character column and sets no limit in the
/// API, so a longer one fails in the database: 500 "Something went wrong" (reference §12).
fn check_folder_description(description: Option<&str>) -> Result<(), ApiFailure> {
    match description {
        Some(text) if text.chars().count() > 255 => Err(ApiFailure::internal()),
        _ => Ok(()),
    }
}

fn already_exists(name: &str, parent: &str) -> ApiFailure {
    ApiFailure::bad_request(format!(
        "Folder with name '{name}' already exists in path '{parent}'"
    ))
}

/// `POST /api/v2/folders`: creates missing parents; 400 when the folder exists.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let project_id = fields.required_str("projectId", &mut issues);
    let environment = fields.required_str("environment", &mut issues);
    let name = fields.required_str("name", &mut issues);
    let parent = normalize_path(&fields.optional_str("path", &mut issues).unwrap_or_default());
    let description = fields.optional_str("description", &mut issues);
    issues.finish()?;
    check_folder_name(&name)?;
    check_folder_description(description.as_deref())?;
    let mut store = shared.write();
    let env = store.environment_mut(&project_id, &environment)?;
    let full = join_path(&parent, &name);
    if env.folders.contains_key(&full) {
        return Err(already_exists(&name, &parent));
    }
    let parent_id = env.ensure_path(&parent);
    env.folders.insert(
        full.clone(),
        Folder::new(&name, Some(parent_id), description),
    );
    let env_id = env.id;
    let answer = views::folder(&env.folders[&full], env_id, &[("path", json!(full))]);
    shared.persist(&store)?;
    Ok(ok(json!({ "folder": answer })))
}

/// `GET /api/v2/folders`: direct children of `path`, or every descendant with `recursive`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiFailure> {
    let query = input::Query(&query);
    let mut issues = Issues::default();
    let project_id = query.str("projectId").unwrap_or_default();
    let environment = query.str("environment").unwrap_or_default();
    if project_id.is_empty() {
        issues.push(super::super::failure::issue::invalid_type(
            &[json!("projectId")],
            "string",
            None,
        ));
    }
    if environment.is_empty() {
        issues.push(super::super::failure::issue::invalid_type(
            &[json!("environment")],
            "string",
            None,
        ));
    }
    issues.finish()?;
    let path = normalize_path(&query.str("path").unwrap_or_default());
    let recursive = query.lenient_bool("recursive", false);
    let store = shared.read();
    let project = store.project(&project_id)?;
    let env = project.environment(&environment)?;
    let root = env.folder(&path)?;
    let folders: Vec<Value> = if recursive {
        env.paths_within(&path)
            .filter(|candidate| *candidate != path)
            .map(|candidate| {
                let relative = &candidate[if path == "/" { 0 } else { path.len() }..];
                views::folder(
                    &env.folders[candidate],
                    env.id,
                    &[("relativePath", json!(relative))],
                )
            })
            .collect()
    } else {
        env.paths_within(&path)
            .filter(|candidate| *candidate != path)
            .map(|candidate| &env.folders[candidate])
            .filter(|folder| folder.parent_id == Some(root.id))
            .map(|folder| views::folder(folder, env.id, &[]))
            .collect()
    };
    Ok(ok(json!({ "folders": folders })))
}

/// `GET /api/v2/folders/{id}`.
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(folder_id): Path<String>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let wanted = Uuid::parse_str(&folder_id).ok();
    let Some((project, env, path, folder)) = store
        .folders()
        .find(|(_, _, _, folder)| Some(folder.id) == wanted)
    else {
        return Err(ApiFailure::not_found(format!(
            "Could not find folder with ID '{folder_id}'"
        )));
    };
    let extra = [
        (
            "environment",
            json!({ "envId": env.id, "envName": env.name, "envSlug": env.slug }),
        ),
        ("path", json!(path)),
        ("projectId", json!(project.id)),
    ];
    Ok(ok(
        json!({ "folder": views::folder(folder, env.id, &extra) }),
    ))
}

/// `PATCH /api/v2/folders/{folderId}`: rename and/or new description.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(folder_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let project_id = fields.required_str("projectId", &mut issues);
    let environment = fields.required_str("environment", &mut issues);
    let name = fields.required_str("name", &mut issues);
    let _parent = fields.optional_str("path", &mut issues);
    let description = fields.optional_str("description", &mut issues);
    issues.finish()?;
    check_folder_name(&name)?;
    check_folder_description(description.as_deref())?;
    let mut store = shared.write();
    let env = store.environment_mut(&project_id, &environment)?;
    let wanted = Uuid::parse_str(&folder_id).ok();
    let old_path = env
        .folders
        .iter()
        .find(|(path, folder)| Some(folder.id) == wanted && path.as_str() != "/")
        .map(|(path, _)| path.clone())
        .ok_or_else(|| ApiFailure::not_found(format!("Folder with ID '{folder_id}' not found")))?;
    let parent = parent_path(&old_path).to_owned();
    let new_path = join_path(&parent, &name);
    if new_path != old_path {
        if env.folders.contains_key(&new_path) {
            return Err(already_exists(&name, &parent));
        }
        let moved: Vec<String> = env.paths_within(&old_path).map(str::to_owned).collect();
        for path in moved {
            if let Some(folder) = env.folders.remove(&path) {
                let renamed = format!("{new_path}{}", &path[old_path.len()..]);
                env.folders.insert(renamed, folder);
            }
        }
    }
    let folder = env
        .folders
        .get_mut(&new_path)
        .ok_or_else(ApiFailure::internal)?;
    folder.name = name;
    if description.is_some() {
        folder.description = description;
    }
    folder.version += 1;
    folder.updated_at = now_millis();
    let answer = views::folder(folder, env.id, &[("path", json!(new_path))]);
    shared.persist(&store)?;
    Ok(ok(json!({ "folder": answer })))
}

/// `DELETE /api/v2/folders/{folderIdOrName}`: refuses a folder holding secrets or folders
/// unless `forceDelete`; with it, deletes the whole subtree.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(id_or_name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let project_id = fields.required_str("projectId", &mut issues);
    let environment = fields.required_str("environment", &mut issues);
    let parent = normalize_path(&fields.optional_str("path", &mut issues).unwrap_or_default());
    let force = fields
        .optional_bool("forceDelete", &mut issues)
        .unwrap_or(false);
    issues.finish()?;
    let mut store = shared.write();
    let env = store.environment_mut(&project_id, &environment)?;
    let target = match Uuid::parse_str(&id_or_name) {
        Ok(id) => env
            .folders
            .iter()
            .find(|(path, folder)| folder.id == id && path.as_str() != "/")
            .map(|(path, _)| path.clone())
            .ok_or_else(|| {
                ApiFailure::not_found(format!("Folder with ID '{id_or_name}' not found"))
            })?,
        Err(_) => {
            let path = join_path(&parent, &id_or_name);
            env.folder(&path)?;
            path
        }
    };
    let subtree: Vec<String> = env.paths_within(&target).map(str::to_owned).collect();
    let holds_resources = subtree.len() > 1
        || env
            .folders
            .get(&target)
            .is_some_and(|folder| !folder.secrets.is_empty());
    let name = env
        .folders
        .get(&target)
        .map(|folder| folder.name.clone())
        .unwrap_or_default();
    if holds_resources && !force {
        return Err(ApiFailure::bad_request(format!(
            "Cannot delete folder \"{name}\" because it contains resources. Use forceDelete=true to delete it forcefully."
        )));
    }
    let env_id = env.id;
    let mut removed = None;
    for path in subtree {
        let folder = env.folders.remove(&path);
        if path == target {
            removed = folder;
        }
    }
    let folder = removed.ok_or_else(ApiFailure::internal)?;
    shared.persist(&store)?;
    Ok(ok(json!({ "folder": views::folder(&folder, env_id, &[]) })))
}
