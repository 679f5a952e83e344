//! Checks on a request that need no repository: counts, names, paths, plaintext values.

use super::*;

/// Checks what can be checked without the repository: the edit count, plaintext values, names,
/// paths. [`apply`] calls it too.
///
/// # Errors
/// The first problem.
pub(crate) fn check_request(edits: &[Edit]) -> Result<(), EditError> {
    if edits.is_empty() || edits.len() > crate::propose::MAX_EDITS {
        return Err(EditError::EditCount {
            count: edits.len(),
            max: crate::propose::MAX_EDITS,
        });
    }
    for edit in edits {
        check_edit(edit)?;
    }
    Ok(())
}

pub(super) fn name_error(
    what: &'static str,
    value: &str,
    error: crate::model::names::NameError,
) -> EditError {
    EditError::InvalidName {
        what,
        // Escaped: a refused name may hold a line break or an escape sequence.
        value: crate::model::names::printable(value).into_owned(),
        reason: error.reason,
    }
}

pub(super) fn project(value: &str) -> Result<ProjectSlug, EditError> {
    ProjectSlug::new(value).map_err(|e| name_error("project slug", value, e))
}

pub(super) fn environment(value: &str) -> Result<EnvironmentSlug, EditError> {
    EnvironmentSlug::new(value).map_err(|e| name_error("environment slug", value, e))
}

pub(super) fn folder(value: &str) -> Result<FolderPath, EditError> {
    FolderPath::new(value).map_err(|e| name_error("folder path", value, e))
}

pub(super) fn secret_key(value: &str) -> Result<SecretKey, EditError> {
    SecretKey::new(value).map_err(|e| name_error("secret key", value, e))
}

pub(super) fn tag(value: &str) -> Result<TagSlug, EditError> {
    TagSlug::new(value).map_err(|e| name_error("tag slug", value, e))
}

pub(super) fn text_field(what: &'static str, value: &str, max: usize) -> Result<(), EditError> {
    if value.chars().count() > max || value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(EditError::InvalidName {
            what,
            value: value.chars().take(80).collect(),
            reason: format!("must be at most {max} characters, without control characters"),
        });
    }
    Ok(())
}

pub(super) fn check_source(source: &ValueSource) -> Result<(), EditError> {
    match source {
        ValueSource::Bitwarden {
            item,
            field,
            custom_field,
        } => {
            text_field("bitwarden item", item, 200)?;
            if field.is_some() && custom_field.is_some() {
                return Err(EditError::InvalidName {
                    what: "bitwarden reference",
                    value: item.clone(),
                    reason: "give either `field` or `customField`, not both".to_string(),
                });
            }
            if let Some(custom) = custom_field {
                text_field("bitwarden custom field", custom, 200)?;
            }
        }
        ValueSource::BitwardenSecretsManager { secret } => {
            text_field("bitwarden secrets manager secret", secret, 200)?;
        }
        ValueSource::Generate(_) => {}
    }
    Ok(())
}

pub(super) fn check_edit(edit: &Edit) -> Result<(), EditError> {
    match edit {
        Edit::CreateSecret(e) => check_create_secret(e),
        Edit::UpdateSecret(e) => check_update_secret(e),
        Edit::DeleteSecret(e) => check_delete_secret(e),
        Edit::MoveSecret(e) => check_move_secret(e),
        Edit::CreateProject(e) => check_create_project(e),
        Edit::CreateEnvironment(e) => check_create_environment(e),
        Edit::CreateFolder(e) => check_create_folder(e),
        Edit::AddKubernetesSync(e) => check_add_kubernetes_sync(e),
    }
}

fn check_create_secret(e: &CreateSecret) -> Result<(), EditError> {
    if e.value.is_present() {
        return Err(EditError::PlaintextValue { key: e.key.clone() });
    }
    project(&e.project)?;
    if e.environments.is_empty() {
        return Err(EditError::InvalidName {
            what: "environments",
            value: String::new(),
            reason: "name at least one environment".to_string(),
        });
    }
    for env in &e.environments {
        environment(env)?;
    }
    folder(&e.path)?;
    secret_key(&e.key)?;
    for t in &e.tags {
        tag(t)?;
    }
    if let Some(comment) = &e.comment {
        text_field("comment", comment, 1024)?;
    }
    check_source(&e.source)?;
    Ok(())
}

fn check_update_secret(e: &UpdateSecret) -> Result<(), EditError> {
    if e.value.is_present() {
        return Err(EditError::PlaintextValue { key: e.key.clone() });
    }
    project(&e.project)?;
    if let Some(env) = &e.environment {
        environment(env)?;
    }
    folder(&e.path)?;
    secret_key(&e.key)?;
    for t in e.tags.iter().flatten() {
        tag(t)?;
    }
    if let Some(comment) = &e.comment {
        text_field("comment", comment, 1024)?;
    }
    if let Some(source) = &e.source {
        check_source(source)?;
    }
    if e.comment.is_none() && e.source.is_none() && e.tags.is_none() {
        return Err(EditError::Unsupported(format!(
            "update_secret of `{}` changes nothing: give a comment, tags or a source",
            e.key
        )));
    }
    Ok(())
}

fn check_delete_secret(e: &DeleteSecret) -> Result<(), EditError> {
    project(&e.project)?;
    if let Some(env) = &e.environment {
        environment(env)?;
    }
    folder(&e.path)?;
    secret_key(&e.key)?;
    Ok(())
}

fn check_move_secret(e: &MoveSecret) -> Result<(), EditError> {
    project(&e.project)?;
    folder(&e.path)?;
    secret_key(&e.key)?;
    if let Some(p) = &e.to_project {
        project(p)?;
    }
    if let Some(p) = &e.to_path {
        folder(p)?;
    }
    if let Some(k) = &e.to_key {
        secret_key(k)?;
    }
    if e.to_project.is_none() && e.to_path.is_none() && e.to_key.is_none() {
        return Err(EditError::Unsupported(format!(
            "move_secret of `{}` moves nothing: give toPath, toKey or toProject",
            e.key
        )));
    }
    Ok(())
}

fn check_create_project(e: &CreateProjectEdit) -> Result<(), EditError> {
    project(&e.slug)?;
    if let Some(name) = &e.display_name {
        text_field("display name", name, 64)?;
    }
    if let Some(description) = &e.description {
        text_field("description", description, 1024)?;
    }
    for env in e.environments.iter().flatten() {
        environment(&env.slug)?;
        if let Some(name) = &env.name {
            text_field("environment name", name, 64)?;
        }
    }
    Ok(())
}

fn check_create_environment(e: &CreateEnvironmentEdit) -> Result<(), EditError> {
    project(&e.project)?;
    environment(&e.slug)?;
    text_field("environment name", &e.name, 64)?;
    Ok(())
}

fn check_create_folder(e: &CreateFolderEdit) -> Result<(), EditError> {
    project(&e.project)?;
    let path = folder(&e.path)?;
    if path.is_root() {
        return Err(EditError::Unsupported(
            "the root folder `/` always exists".to_string(),
        ));
    }
    for env in e.environments.iter().flatten() {
        environment(env)?;
    }
    if let Some(description) = &e.description {
        text_field("description", description, 1024)?;
    }
    Ok(())
}

fn check_add_kubernetes_sync(e: &AddKubernetesSync) -> Result<(), EditError> {
    check_dns1123_subdomain(&e.name)
        .map_err(|error| name_error("KubernetesSync name", &e.name, error))?;
    project(&e.project)?;
    environment(&e.environment)?;
    folder(&e.path)?;
    check_dns1123_subdomain(&e.namespace)
        .map_err(|error| name_error("namespace", &e.namespace, error))?;
    check_dns1123_subdomain(&e.secret_name)
        .map_err(|error| name_error("secret name", &e.secret_name, error))?;
    if let Some(interval) = &e.resync_interval {
        text_field("resync interval", interval, 32)?;
    }
    for (key, template) in &e.template {
        text_field("template key", key, 253)?;
        check_secret_data_key(key).map_err(|error| name_error("template key", key, error))?;
        if template.chars().count() > 4096 || template.chars().any(char::is_control) {
            // The entry may hold a value: never echoed.
            return Err(EditError::InvalidName {
                what: "template entry",
                value: key.clone(),
                reason: "must be at most 4096 characters, without control characters".to_string(),
            });
        }
        check_template_entry(template).map_err(|reason| EditError::LiteralTemplate {
            sync: e.name.clone(),
            key: key.clone(),
            reason,
        })?;
    }
    Ok(())
}
/// A title derived from the edits, e.g. `Add CLOUDFLARE_API_TOKEN to k3s-infrastructure/prod:/api-keys`.
pub(crate) fn title_of(edits: &[Edit]) -> String {
    let one = |edit: &Edit| match edit {
        Edit::CreateSecret(e) => format!(
            "Add {} to {}/{}:{}",
            e.key,
            e.project,
            e.environments.join(","),
            e.path
        ),
        Edit::UpdateSecret(e) => format!("Update {} in {}:{}", e.key, e.project, e.path),
        Edit::DeleteSecret(e) => format!("Remove {} from {}:{}", e.key, e.project, e.path),
        Edit::MoveSecret(e) => format!(
            "Move {}:{}#{} to {}:{}#{}",
            e.project,
            e.path,
            e.key,
            e.to_project.as_deref().unwrap_or(&e.project),
            e.to_path.as_deref().unwrap_or(&e.path),
            e.to_key.as_deref().unwrap_or(&e.key)
        ),
        Edit::CreateProject(e) => format!("Add project {}", e.slug),
        Edit::CreateEnvironment(e) => format!("Add environment {} to {}", e.slug, e.project),
        Edit::CreateFolder(e) => format!("Add folder {} to {}", e.path, e.project),
        Edit::AddKubernetesSync(e) => format!(
            "Sync {}/{}:{} to Secret {}/{}",
            e.project, e.environment, e.path, e.namespace, e.secret_name
        ),
    };
    match edits {
        [] => "Empty proposal".to_string(),
        [edit] => one(edit),
        [first, rest @ ..] => format!("{} and {} more change(s)", one(first), rest.len()),
    }
}
