//! The batch routes (`/api/v4/secrets/batch`, `/api/v3/secrets/batch/raw`): all or nothing.

use super::*;

/// Body fields shared by the batch writes.
struct BatchScope {
    project: ProjectRef,
    environment: String,
    path: String,
}

fn read_batch_scope<const V3: bool>(fields: &Fields<'_>, issues: &mut Issues) -> BatchScope {
    BatchScope {
        project: body_project::<V3>(fields, issues),
        environment: fields.required_str("environment", issues),
        path: normalize_path(
            &fields
                .optional_str("secretPath", issues)
                .unwrap_or_default(),
        ),
    }
}

fn item_key(item: &Fields<'_>, index: usize, issues: &mut Issues) -> String {
    let key = item.required_str("secretKey", issues);
    if item.has("secretKey") {
        check_secret_name(
            &key,
            &[json!("secrets"), json!(index), json!("secretKey")],
            issues,
        );
    }
    key
}

/// `POST /api/v4/secrets/batch`: all or nothing; any existing key fails the whole batch.
pub(crate) async fn batch_create<const V3: bool>(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let scope = read_batch_scope::<V3>(&fields, &mut issues);
    let mut index = 0;
    let items = fields.required_objects("secrets", 1, &mut issues, |item, issues| {
        let key = item_key(&item, index, issues);
        index += 1;
        let _ = item.required_raw_str("secretValue", issues);
        (key, read_secret_input(&item, issues))
    });
    issues.finish()?;
    let mut store = shared.write();
    let target = Target::locate(&store, &scope.project, &scope.environment)?;
    let project = &store.projects[target.project];
    let folder = target.environment(&store).folder(&scope.path)?;
    let mut existing: Vec<&str> = Vec::new();
    for (position, (key, _)) in items.iter().enumerate() {
        if folder.secrets.contains_key(key) || items[..position].iter().any(|(k, _)| k == key) {
            existing.push(key);
        }
    }
    if !existing.is_empty() {
        return Err(ApiFailure::bad_request(format!(
            "Secret already exists: {}",
            existing.join(",")
        )));
    }
    let mut tags = Vec::with_capacity(items.len());
    for (_, input) in &items {
        tags.push(project.resolve_tag_ids(input.tag_ids.as_deref().unwrap_or_default())?);
    }
    if let Some(answer) = approval(&store, project, &scope.environment, &scope.path) {
        return Ok(answer);
    }
    let keys: Vec<String> = items.iter().map(|(key, _)| key.clone()).collect();
    let folder = target.folder_mut(&mut store, &scope.path)?;
    for ((key, input), tag_ids) in items.into_iter().zip(tags) {
        let secret = new_secret(&key, input, tag_ids);
        folder.secrets.insert(key, secret);
    }
    folder.last_secret_modified = Some(now_millis());
    shared.persist(&store)?;
    let folder = &target.environment(&store).folders[&scope.path];
    let written = keys.iter().filter_map(|key| folder.secrets.get(key));
    Ok(target.secrets_answer(&store, written.map(|secret| (scope.path.as_str(), secret))))
}

/// What a batch update does with one item.
enum Planned {
    Update {
        path: String,
        key: String,
        input: SecretInput,
        tags: Option<Vec<Uuid>>,
    },
    Create {
        path: String,
        key: String,
        input: SecretInput,
        tags: Vec<Uuid>,
    },
}

/// `PATCH /api/v4/secrets/batch` with `mode` `failOnNotFound` (default), `upsert` or `ignore`.
pub(crate) async fn batch_update<const V3: bool>(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let scope = read_batch_scope::<V3>(&fields, &mut issues);
    let mode = fields
        .optional_enum("mode", &["failOnNotFound", "upsert", "ignore"], &mut issues)
        .unwrap_or_else(|| "failOnNotFound".to_owned());
    let mut index = 0;
    let items = fields.required_objects("secrets", 1, &mut issues, |item, issues| {
        let key = item_key(&item, index, issues);
        let input = read_secret_input(&item, issues);
        if let Some(new_key) = &input.new_key {
            check_secret_name(
                new_key,
                &[json!("secrets"), json!(index), json!("newSecretName")],
                issues,
            );
        }
        index += 1;
        let path = item
            .optional_str("secretPath", issues)
            .map(|path| normalize_path(&path));
        (key, path, input)
    });
    issues.finish()?;
    let mut store = shared.write();
    let target = Target::locate(&store, &scope.project, &scope.environment)?;
    let project = &store.projects[target.project];
    let env = target.environment(&store);
    let mut missing: Vec<String> = Vec::new();
    let mut plan: Vec<Planned> = Vec::new();
    for (key, path, input) in items {
        let path = path.unwrap_or_else(|| scope.path.clone());
        let folder = env.folder(&path)?;
        if folder.secrets.contains_key(&key) {
            if let Some(new_key) = &input.new_key
                && new_key != &key
                && folder.secrets.contains_key(new_key)
            {
                return Err(ApiFailure::bad_request(
                    "Secret with the new name already exists",
                ));
            }
            let tags = match &input.tag_ids {
                Some(ids) => Some(project.resolve_tag_ids(ids)?),
                None => None,
            };
            plan.push(Planned::Update {
                path,
                key,
                input,
                tags,
            });
        } else {
            match mode.as_str() {
                "upsert" => {
                    let tags =
                        project.resolve_tag_ids(input.tag_ids.as_deref().unwrap_or_default())?;
                    plan.push(Planned::Create {
                        path,
                        key,
                        input,
                        tags,
                    });
                }
                "ignore" => {}
                _ => missing.push(key),
            }
        }
    }
    if !missing.is_empty() {
        return Err(ApiFailure::not_found(format!(
            "Secret does not exist: {}",
            missing.join(", ")
        )));
    }
    for planned in &plan {
        let path = match planned {
            Planned::Update { path, .. } | Planned::Create { path, .. } => path,
        };
        if let Some(answer) = approval(&store, project, &scope.environment, path) {
            return Ok(answer);
        }
    }
    let env = &mut store.projects[target.project].environments[target.environment];
    let written = write_planned(env, plan)?;
    shared.persist(&store)?;
    let env = target.environment(&store);
    let written = written
        .iter()
        .filter_map(|(path, key)| Some((path.as_str(), env.folders.get(path)?.secrets.get(key)?)));
    Ok(target.secrets_answer(&store, written))
}

/// `DELETE /api/v4/secrets/batch`: all or nothing; any missing key fails the whole batch.
pub(crate) async fn batch_delete<const V3: bool>(
    State(shared): State<Arc<Shared>>,
    _auth: Authenticated,
    body: Bytes,
) -> Result<Response, ApiFailure> {
    let body = json_body(&body)?;
    let mut issues = Issues::default();
    let fields = Fields::body(&body, &mut issues);
    let scope = read_batch_scope::<V3>(&fields, &mut issues);
    let mut index = 0;
    let keys = fields.required_objects("secrets", 1, &mut issues, |item, issues| {
        let key = item_key(&item, index, issues);
        let _ = item.optional_enum("type", &["shared", "personal"], issues);
        index += 1;
        key
    });
    issues.finish()?;
    let mut store = shared.write();
    let target = Target::locate(&store, &scope.project, &scope.environment)?;
    let project = &store.projects[target.project];
    let folder = target.environment(&store).folder(&scope.path)?;
    let missing: Vec<&str> = keys
        .iter()
        .filter(|key| !folder.secrets.contains_key(*key))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ApiFailure::not_found(format!(
            "One or more secrets does not exist: {}",
            missing.join(", ")
        )));
    }
    if let Some(answer) = approval(&store, project, &scope.environment, &scope.path) {
        return Ok(answer);
    }
    let folder = target.folder_mut(&mut store, &scope.path)?;
    let mut deleted = Vec::with_capacity(keys.len());
    for key in &keys {
        if let Some(secret) = folder.secrets.remove(key) {
            deleted.push(secret);
        }
    }
    folder.last_secret_modified = Some(now_millis());
    shared.persist(&store)?;
    let deleted = deleted.iter().map(|secret| (scope.path.as_str(), secret));
    Ok(target.secrets_answer(&store, deleted))
}

/// Writes a checked batch update; `(path, key)` of every secret written.
fn write_planned(
    env: &mut Environment,
    plan: Vec<Planned>,
) -> Result<Vec<(String, String)>, ApiFailure> {
    let now = now_millis();
    let mut written: Vec<(String, String)> = Vec::new();
    for planned in plan {
        match planned {
            Planned::Update {
                path,
                key,
                input,
                tags,
            } => {
                let folder = env.folder_mut(&path)?;
                let Some(mut secret) = folder.secrets.remove(&key) else {
                    continue;
                };
                apply_update(&mut secret, input, tags);
                let new_key = secret.key.clone();
                folder.secrets.insert(new_key.clone(), secret);
                folder.last_secret_modified = Some(now);
                written.push((path, new_key));
            }
            Planned::Create {
                path,
                key,
                input,
                tags,
            } => {
                let folder = env.folder_mut(&path)?;
                folder
                    .secrets
                    .insert(key.clone(), new_secret(&key, input, tags));
                folder.last_secret_modified = Some(now);
                written.push((path, key));
            }
        }
    }
    Ok(written)
}
