//! Projects (§2.1), environments (§3) and tags (§6.2).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::failure::ApiFailure;
use super::super::input::{Fields, Issues};
use super::super::store::{Environment, Project, Store, Tag, now_millis};
use super::super::{Shared, views};
use super::{Authenticated, SLUG_MESSAGE, is_slug, json_body, ok};

const PROJECT_TYPES: &[&str] = &[
    "secret-manager",
    "cert-manager",
    "kms",
    "ssh",
    "secret-scanning",
    "pam",
    "ai",
];

/// Inserts a project; with `default_environments`, dev/staging/prod as the default template.
pub(crate) fn insert_project(
    store: &mut Store,
    name: &str,
    slug: &str,
    description: Option<String>,
    default_environments: bool,
) -> Result<Uuid, ApiFailure> {
    insert_project_of_type(
        store,
        name,
        slug,
        description,
        default_environments,
        "secret-manager",
        false,
    )
}

fn insert_project_of_type(
    store: &mut Store,
    name: &str,
    slug: &str,
    description: Option<String>,
    default_environments: bool,
    kind: &str,
    has_delete_protection: bool,
) -> Result<Uuid, ApiFailure> {
    if store.projects.iter().any(|project| project.slug == slug) {
        return Err(ApiFailure::bad_request(format!(
            "Project with slug '{slug}' already exists"
        )));
    }
    let now = now_millis();
    let environments = if default_environments {
        vec![
            Environment::new("Development", "dev", 1),
            Environment::new("Staging", "staging", 2),
            Environment::new("Production", "prod", 3),
        ]
    } else {
        Vec::new()
    };
    let id = Uuid::new_v4();
    store.projects.push(Project {
        id,
        name: name.to_owned(),
        slug: slug.to_owned(),
        description,
        kind: kind.to_owned(),
        auto_capitalization: false,
        has_delete_protection,
        created_at: now,
        updated_at: now,
        environments,
        tags: Vec::new(),
    });
    Ok(id)
}

/// A slug from a project name plus 4 random characters, as Infisical generates it.
fn generate_slug(name: &str) -> String {
    let mut base = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            base.push(c.to_ascii_lowercase());
        } else if !base.ends_with('-') && !base.is_empty() {
            base.push('-');
        }
    }
    let base: String = base.trim_end_matches('-').chars().take(30).collect();
    let suffix = &Uuid::new_v4().simple().to_string()[..4];
    if base.is_empty() {
        format!("project-{suffix}")
    } else {
        format!("{base}-{suffix}")
    }
}

fn check_slug(
    fields: &Fields<'_>,
    name: &str,
    slug: &str,
    min: usize,
    max: usize,
    issues: &mut Issues,
) {
    fields.check_length(name, slug, min, max, issues);
    if fields.has(name) && !is_slug(slug) {
        fields.custom(name, SLUG_MESSAGE, issues);
    }
}

/// `GET /api/v1/projects`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiFailure> {
    Ok(ok(json!({ "projects": list_projects(&shared, &query) })))
}

/// `GET /api/v1/workspace` (deprecated; used by the official MCP server).
pub(crate) async fn list_deprecated(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiFailure> {
    Ok(ok(json!({ "workspaces": list_projects(&shared, &query) })))
}

fn list_projects(shared: &Shared, query: &HashMap<String, String>) -> Vec<Value> {
    let store = shared.read();
    let wanted = query
        .get("type")
        .map(String::as_str)
        .filter(|kind| *kind != "all");
    store
        .projects
        .iter()
        .filter(|project| wanted.is_none_or(|kind| project.kind == kind))
        .map(|project| views::project(project, store.organization_id, true))
        .collect()
}

/// `POST /api/v1/projects`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let name = fields.required_str("projectName", &mut issues);
    fields.check_length("projectName", &name, 0, 64, &mut issues);
    let description = fields.optional_str("projectDescription", &mut issues);
    if let Some(description) = &description {
        fields.check_length("projectDescription", description, 0, 1024, &mut issues);
    }
    let slug = fields.optional_str("slug", &mut issues);
    if let Some(slug) = &slug {
        check_slug(&fields, "slug", slug, 5, 36, &mut issues);
    }
    let _ = fields.optional_str("kmsKeyId", &mut issues);
    let _ = fields.optional_str("template", &mut issues);
    let kind = fields.optional_enum("type", PROJECT_TYPES, &mut issues);
    let default_envs = fields
        .optional_bool("shouldCreateDefaultEnvs", &mut issues)
        .unwrap_or(true);
    let protection = fields
        .optional_bool("hasDeleteProtection", &mut issues)
        .unwrap_or(false);
    issues.finish()?;
    let slug = slug.unwrap_or_else(|| generate_slug(&name));
    let kind = kind.unwrap_or_else(|| "secret-manager".to_owned());
    let mut store = shared.write();
    let id = insert_project_of_type(
        &mut store,
        &name,
        &slug,
        description,
        default_envs,
        &kind,
        protection,
    )?;
    shared.persist(&store)?;
    let index = store.project_index(&id.to_string())?;
    Ok(ok(
        json!({ "project": views::project(&store.projects[index], store.organization_id, true) }),
    ))
}

/// `GET /api/v1/projects/{projectId}`.
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(project_id): Path<String>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let index = store.project_index(&project_id)?;
    Ok(ok(
        json!({ "project": views::project(&store.projects[index], store.organization_id, true) }),
    ))
}

/// `GET /api/v1/projects/slug/{slug}`: the bare project object.
pub(crate) async fn get_by_slug(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(slug): Path<String>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let index = store.project_index_by_slug(&slug)?;
    Ok(ok(views::project(
        &store.projects[index],
        store.organization_id,
        true,
    )))
}

/// The update rule for slugs: lowercase alphanumerics with single `-`/`_` separators.
fn is_update_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.split(['-', '_']).all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `PATCH /api/v1/projects/{projectId}`.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(project_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let name = fields.optional_str("name", &mut issues);
    if let Some(name) = &name {
        fields.check_length("name", name, 0, 64, &mut issues);
    }
    let description = fields.optional_str("description", &mut issues);
    if let Some(description) = &description {
        fields.check_length("description", description, 0, 1024, &mut issues);
    }
    let auto_capitalization = fields.optional_bool("autoCapitalization", &mut issues);
    let protection = fields.optional_bool("hasDeleteProtection", &mut issues);
    let slug = fields.optional_str("slug", &mut issues);
    if let Some(slug) = &slug {
        fields.check_length("slug", slug, 0, 64, &mut issues);
        if !is_update_slug(slug) {
            fields.custom(
                "slug",
                "Slug can only contain lowercase letters, numbers, hyphens and underscores",
                &mut issues,
            );
        }
    }
    issues.finish()?;
    let mut store = shared.write();
    let index = store.project_index(&project_id)?;
    if let Some(slug) = &slug
        && store
            .projects
            .iter()
            .enumerate()
            .any(|(i, p)| i != index && &p.slug == slug)
    {
        return Err(ApiFailure::bad_request(format!(
            "Project with slug '{slug}' already exists"
        )));
    }
    let project = &mut store.projects[index];
    if let Some(name) = name {
        project.name = name;
    }
    if let Some(description) = description {
        project.description = Some(description);
    }
    if let Some(flag) = auto_capitalization {
        project.auto_capitalization = flag;
    }
    if let Some(flag) = protection {
        project.has_delete_protection = flag;
    }
    if let Some(slug) = slug {
        project.slug = slug;
    }
    project.updated_at = now_millis();
    shared.persist(&store)?;
    Ok(ok(
        json!({ "project": views::project(&store.projects[index], store.organization_id, false) }),
    ))
}

/// `DELETE /api/v1/projects/{projectId}`.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(project_id): Path<String>,
) -> Result<Response, ApiFailure> {
    let mut store = shared.write();
    let index = store.project_index(&project_id)?;
    if store.projects[index].has_delete_protection {
        return Err(ApiFailure::bad_request(
            "Project delete protection is enabled",
        ));
    }
    let project = store.projects.remove(index);
    store
        .approval_policies
        .retain(|policy| policy.project_id != project.id);
    shared.persist(&store)?;
    Ok(ok(
        json!({ "project": views::project(&project, store.organization_id, false) }),
    ))
}

// ----- environments -----

fn environment_not_found(env_id: &str, project_id: Uuid) -> ApiFailure {
    ApiFailure::not_found(format!(
        "Environment with id '{env_id}' in project with ID '{project_id}' not found"
    ))
}

fn environment_index_by_id(project: &Project, env_id: &str) -> Result<usize, ApiFailure> {
    Uuid::parse_str(env_id)
        .ok()
        .and_then(|id| project.environments.iter().position(|env| env.id == id))
        .ok_or_else(|| environment_not_found(env_id, project.id))
}

struct EnvironmentInput {
    name: Option<String>,
    slug: Option<String>,
    position: Option<u32>,
}

fn read_environment(body: &Value, required: bool) -> Result<EnvironmentInput, ApiFailure> {
    let mut issues = Issues::default();
    let fields = Fields::body(body, &mut issues);
    let (name, slug) = if required {
        (
            Some(fields.required_str("name", &mut issues)),
            Some(fields.required_str("slug", &mut issues)),
        )
    } else {
        (
            fields.optional_str("name", &mut issues),
            fields.optional_str("slug", &mut issues),
        )
    };
    if let Some(slug) = &slug {
        check_slug(&fields, "slug", slug, 1, 64, &mut issues);
    }
    let position = fields.optional_number("position", &mut issues);
    if let Some(position) = position
        && (position < 1.0 || position.fract() != 0.0)
    {
        fields.custom(
            "position",
            "Number must be greater than or equal to 1",
            &mut issues,
        );
    }
    issues.finish()?;
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let position = position.map(|p| p as u32);
    Ok(EnvironmentInput {
        name,
        slug,
        position,
    })
}

fn environment_answer(message: &str, project: &Project, env: &Environment) -> Response {
    ok(json!({
        "message": message,
        "projectId": project.id,
        "environment": views::environment(env, project.id),
    }))
}

/// `POST /api/v1/projects/{projectId}/environments`.
pub(crate) async fn create_environment(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(project_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let input = read_environment(&json_body(&body)?, true)?;
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    let slug = input.slug.unwrap_or_default();
    if project.environments.iter().any(|env| env.slug == slug) {
        return Err(ApiFailure::bad_request(format!(
            "Environment with slug '{slug}' already exist"
        ))
        .named("CreateEnvironment"));
    }
    let last = project
        .environments
        .iter()
        .map(|env| env.position)
        .max()
        .unwrap_or(0);
    let position = match input.position {
        Some(position) => {
            for env in &mut project.environments {
                if env.position >= position {
                    env.position += 1;
                }
            }
            position
        }
        None => last + 1,
    };
    let env = Environment::new(&input.name.unwrap_or_default(), &slug, position);
    let env_id = env.id;
    project.environments.push(env);
    project.sort_environments();
    shared.persist(&store)?;
    let project = store.project(&project_id)?;
    let env = project
        .environments
        .iter()
        .find(|env| env.id == env_id)
        .ok_or_else(ApiFailure::internal)?;
    Ok(environment_answer(
        "Successfully created environment",
        project,
        env,
    ))
}

/// `GET /api/v1/projects/{projectId}/environments/{envId}`.
pub(crate) async fn get_environment(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path((project_id, env_id)): Path<(String, String)>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let project = store.project(&project_id)?;
    let env = &project.environments[environment_index_by_id(project, &env_id)?];
    Ok(ok(
        json!({ "environment": views::environment(env, project.id) }),
    ))
}

/// `GET /api/v1/projects/{projectId}/environments/slug/{envSlug}`.
pub(crate) async fn get_environment_by_slug(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path((project_id, env_slug)): Path<(String, String)>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let project = store.project(&project_id)?;
    let env = project.environment(&env_slug)?;
    Ok(ok(
        json!({ "environment": views::environment(env, project.id) }),
    ))
}

/// `PATCH /api/v1/projects/{projectId}/environments/{envId}`.
pub(crate) async fn update_environment(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path((project_id, env_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let input = read_environment(&json_body(&body)?, false)?;
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    let env_index = environment_index_by_id(project, &env_id)?;
    if let Some(slug) = &input.slug
        && project
            .environments
            .iter()
            .enumerate()
            .any(|(i, env)| i != env_index && &env.slug == slug)
    {
        return Err(ApiFailure::bad_request(format!(
            "Environment with slug '{slug}' already exist"
        )));
    }
    let moved_id = project.environments[env_index].id;
    let project_uuid = project.id;
    let mut renamed = None;
    {
        let env = &mut project.environments[env_index];
        if let Some(name) = input.name {
            env.name = name;
        }
        if let Some(slug) = input.slug {
            let old = std::mem::replace(&mut env.slug, slug.clone());
            renamed = Some((old, slug));
        }
        if let Some(position) = input.position {
            env.position = position;
        }
        env.updated_at = now_millis();
    }
    project.sort_environments();
    if let Some((old, new)) = renamed {
        for policy in &mut store.approval_policies {
            if policy.project_id == project_uuid && policy.environment == old {
                policy.environment.clone_from(&new);
            }
        }
    }
    shared.persist(&store)?;
    let project = store.project(&project_id)?;
    let env = project
        .environments
        .iter()
        .find(|env| env.id == moved_id)
        .ok_or_else(ApiFailure::internal)?;
    Ok(environment_answer(
        "Successfully updated environment",
        project,
        env,
    ))
}

/// `DELETE /api/v1/projects/{projectId}/environments/{envId}`.
pub(crate) async fn delete_environment(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path((project_id, env_id)): Path<(String, String)>,
) -> Result<Response, ApiFailure> {
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    let env_index = environment_index_by_id(project, &env_id)?;
    let env = project.environments.remove(env_index);
    let (project_uuid, slug) = (project.id, env.slug.clone());
    store
        .approval_policies
        .retain(|policy| !(policy.project_id == project_uuid && policy.environment == slug));
    shared.persist(&store)?;
    Ok(environment_answer(
        "Successfully deleted environment",
        store.project(&project_id)?,
        &env,
    ))
}

// ----- tags -----

fn tag_index_by_id(project: &Project, tag_id: &str) -> Result<usize, ApiFailure> {
    Uuid::parse_str(tag_id)
        .ok()
        .and_then(|id| project.tags.iter().position(|tag| tag.id == id))
        .ok_or_else(|| ApiFailure::not_found(format!("Tag with ID '{tag_id}' not found")))
}

fn read_tag(body: &Value, required: bool) -> Result<(Option<String>, Option<String>), ApiFailure> {
    let mut issues = Issues::default();
    let fields = Fields::body(body, &mut issues);
    let slug = if required {
        Some(fields.required_str("slug", &mut issues))
    } else {
        fields.optional_str("slug", &mut issues)
    };
    if let Some(slug) = &slug {
        check_slug(&fields, "slug", slug, 1, 64, &mut issues);
    }
    let color = fields.optional_str("color", &mut issues);
    issues.finish()?;
    Ok((slug, color))
}

/// `GET /api/v1/projects/{projectId}/tags`.
pub(crate) async fn list_tags(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(project_id): Path<String>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let project = store.project(&project_id)?;
    let tags: Vec<Value> = project
        .tags
        .iter()
        .map(|tag| views::tag(tag, project.id))
        .collect();
    Ok(ok(json!({ "tags": tags })))
}

/// `POST /api/v1/projects/{projectId}/tags`.
pub(crate) async fn create_tag(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path(project_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let (slug, color) = read_tag(&json_body(&body)?, true)?;
    let slug = slug.unwrap_or_default();
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    if project.tags.iter().any(|tag| tag.slug == slug) {
        return Err(ApiFailure::bad_request(format!(
            "Tag with slug '{slug}' already exists"
        )));
    }
    let now = now_millis();
    let tag = Tag {
        id: Uuid::new_v4(),
        slug,
        color,
        created_at: now,
        updated_at: now,
    };
    let answer = views::tag(&tag, project.id);
    project.tags.push(tag);
    shared.persist(&store)?;
    Ok(ok(json!({ "tag": answer })))
}

/// `GET /api/v1/projects/{projectId}/tags/{tagId}`.
pub(crate) async fn get_tag(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path((project_id, tag_id)): Path<(String, String)>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let project = store.project(&project_id)?;
    let tag = &project.tags[tag_index_by_id(project, &tag_id)?];
    Ok(ok(json!({ "tag": views::tag(tag, project.id) })))
}

/// `GET /api/v1/projects/{projectId}/tags/slug/{tagSlug}`.
pub(crate) async fn get_tag_by_slug(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path((project_id, tag_slug)): Path<(String, String)>,
) -> Result<Response, ApiFailure> {
    let store = shared.read();
    let project = store.project(&project_id)?;
    let tag = project
        .tags
        .iter()
        .find(|tag| tag.slug == tag_slug)
        .ok_or_else(|| ApiFailure::not_found(format!("Tag with slug '{tag_slug}' not found")))?;
    Ok(ok(json!({ "tag": views::tag(tag, project.id) })))
}

/// `PATCH /api/v1/projects/{projectId}/tags/{tagId}`.
pub(crate) async fn update_tag(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path((project_id, tag_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let (slug, color) = read_tag(&json_body(&body)?, false)?;
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    let tag_index = tag_index_by_id(project, &tag_id)?;
    if let Some(slug) = &slug
        && project
            .tags
            .iter()
            .enumerate()
            .any(|(i, tag)| i != tag_index && &tag.slug == slug)
    {
        return Err(ApiFailure::bad_request(format!(
            "Tag with slug '{slug}' already exists"
        )));
    }
    let tag = &mut project.tags[tag_index];
    if let Some(slug) = slug {
        tag.slug = slug;
    }
    if color.is_some() {
        tag.color = color;
    }
    tag.updated_at = now_millis();
    let answer = views::tag(tag, project.id);
    shared.persist(&store)?;
    Ok(ok(json!({ "tag": answer })))
}

/// `DELETE /api/v1/projects/{projectId}/tags/{tagId}`: also detaches the tag from secrets.
pub(crate) async fn delete_tag(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    Path((project_id, tag_id)): Path<(String, String)>,
) -> Result<Response, ApiFailure> {
    let mut store = shared.write();
    let project = store.project_mut(&project_id)?;
    let tag = project.tags.remove(tag_index_by_id(project, &tag_id)?);
    for env in &mut project.environments {
        for folder in env.folders.values_mut() {
            for secret in folder.secrets.values_mut() {
                secret.tag_ids.retain(|id| *id != tag.id);
            }
        }
    }
    let answer = views::tag(&tag, project.id);
    shared.persist(&store)?;
    Ok(ok(json!({ "tag": answer })))
}
