//! The edits themselves, applied to the parsed repository.

use super::*;

impl Repo {
    pub(super) fn create_secret(&mut self, create: &CreateSecret) -> Result<(), EditError> {
        let path = folder(&create.path)?;
        let wanted: BTreeSet<&str> = create.environments.iter().map(String::as_str).collect();
        for env in &wanted {
            if let Some(location) = self
                .find_secret(&create.project, Some(env), &path, &create.key)
                .first()
            {
                return Err(EditError::SecretExists {
                    address: format!("{}/{env}:{}#{}", create.project, path.as_str(), create.key),
                    file: self.documents[location.document].file.to_string(),
                });
            }
        }
        if self.project_document(&create.project).is_none() {
            return Err(EditError::ProjectNotFound {
                slug: create.project.clone(),
            });
        }
        let target = self.secret_sets().find_map(|(index, _, set)| {
            let envs: BTreeSet<&str> = set
                .spec
                .environments
                .iter()
                .map(|e| e.value.as_str())
                .collect();
            (set.spec.project.value == create.project
                && same_path(&set.spec.path.value, &path)
                && envs == wanted)
                .then_some(index)
        });
        match target {
            Some(index) => {
                let (lines, file, position, remove, new) = {
                    let (loaded, set) = self.set(index);
                    let lines = self.lines(&loaded.file);
                    let (position, remove, new) = match set.spec.secrets.last() {
                        Some(last) => {
                            let item = item_at(&lines.lines, loaded, last.span, "secrets")?;
                            let step = nested_step(&lines.lines, &item);
                            (
                                item.end,
                                0,
                                secret_item(create, item.dash, item.content, step),
                            )
                        }
                        None => empty_list_insert(
                            &lines,
                            loaded,
                            set.spec.project.span,
                            "secrets",
                            |dash, content| secret_item(create, dash, content, 2),
                        )?,
                    };
                    (lines, loaded.file.to_string(), position, remove, new)
                };
                let mut lines = lines;
                splice(&mut lines, position, remove, new);
                self.write(&file, &lines);
            }
            None => {
                let slug = slug_of_path(&path);
                let base = format!("secrets/{}", create.project);
                let mut envs: Vec<&str> = wanted.iter().copied().collect();
                envs.sort();
                let mut candidates = vec![slug.clone(), format!("{slug}-{}", envs.join("-"))];
                candidates.extend((2..100).map(|n| format!("{slug}-{}-{n}", envs.join("-"))));
                let taken_names: BTreeSet<String> = self
                    .secret_sets()
                    .map(|(_, _, set)| set.metadata.name.value.clone())
                    .collect();
                let (file, name) = candidates
                    .into_iter()
                    .map(|stem| {
                        let name = if taken_names.contains(&stem) {
                            format!("{}-{stem}", create.project)
                        } else {
                            stem.clone()
                        };
                        (format!("{base}/{stem}.yaml"), name)
                    })
                    .find(|(file, name)| {
                        !self.files.contains_key(file) && !taken_names.contains(name)
                    })
                    .ok_or_else(|| {
                        EditError::Unsupported("no free file name for a new SecretSet".to_string())
                    })?;
                safe_path(&file)?;
                let mut text = String::new();
                if let Some(comment) = schema_comment(self, "SecretSet", &file) {
                    text.push_str(&comment);
                    text.push('\n');
                }
                let environments: Vec<String> = create.environments.clone();
                text.push_str(&format!(
                    "apiVersion: {API_VERSION}\nkind: SecretSet\nmetadata:\n  name: {}\nspec:\n  project: {}\n  environments: {}\n  path: {}\n  secrets:\n",
                    scalar(&name),
                    scalar(&create.project),
                    flow_list(&environments),
                    scalar(path.as_str())
                ));
                for line in secret_item(create, 4, 6, 2) {
                    text.push_str(&line);
                    text.push('\n');
                }
                self.files.insert(file, text);
            }
        }
        Ok(())
    }

    pub(super) fn locate_one_per_set(
        &self,
        project: &str,
        env: Option<&str>,
        path: &FolderPath,
        key: &str,
    ) -> Result<Vec<SecretLocation>, EditError> {
        let found = self.find_secret(project, env, path, key);
        if found.is_empty() {
            return Err(EditError::SecretNotFound {
                address: format!("{project}/{}:{}#{key}", env.unwrap_or("*"), path.as_str()),
            });
        }
        if let Some(env) = env {
            for location in &found {
                let (_, set) = self.set(location.document);
                if set.spec.environments.len() > 1 {
                    let envs: Vec<&str> = set
                        .spec
                        .environments
                        .iter()
                        .map(|e| e.value.as_str())
                        .collect();
                    return Err(EditError::Unsupported(format!(
                        "secret `{project}/{env}:{}#{key}` is declared once for the environments [{}]; \
                         leave out `environment` to change it in all of them",
                        path.as_str(),
                        envs.join(", ")
                    )));
                }
            }
        }
        Ok(found)
    }

    pub(super) fn update_secret(&mut self, update: &UpdateSecret) -> Result<(), EditError> {
        let path = folder(&update.path)?;
        let found = self.locate_one_per_set(
            &update.project,
            update.environment.as_deref(),
            &path,
            &update.key,
        )?;
        // Edit from the last location up, so earlier line numbers stay valid within a file.
        let mut edits = Vec::new();
        for location in &found {
            edits.push(self.secret_item(location)?);
        }
        edits.sort_by(|a, b| (a.0.as_str(), b.2.start).cmp(&(b.0.as_str(), a.2.start)));
        let mut texts: Files = Files::new();
        for (file, _, item) in edits {
            let mut lines = match texts.remove(&file) {
                Some(text) => Lines::of(&text),
                None => self.lines(&file),
            };
            update_item(&mut lines, &item, update);
            texts.insert(file, lines.text());
        }
        self.files.extend(texts);
        Ok(())
    }

    pub(super) fn delete_secret(&mut self, delete: &DeleteSecret) -> Result<(), EditError> {
        let path = folder(&delete.path)?;
        let found = self.locate_one_per_set(
            &delete.project,
            delete.environment.as_deref(),
            &path,
            &delete.key,
        )?;
        self.remove_secrets(&found)
    }

    /// Removes the items (with their own comments); a list left empty becomes `[]`.
    pub(super) fn remove_secrets(&mut self, found: &[SecretLocation]) -> Result<(), EditError> {
        let mut removals = Vec::new();
        for location in found {
            let (file, _, item) = self.secret_item(location)?;
            let (_, set) = self.set(location.document);
            let emptied = set.spec.secrets.len() == 1;
            removals.push((file, item, emptied));
        }
        removals.sort_by(|a, b| (a.0.as_str(), b.1.start).cmp(&(b.0.as_str(), a.1.start)));
        let mut texts = Files::new();
        for (file, item, emptied) in removals {
            let mut lines = match texts.remove(&file) {
                Some(text) => Lines::of(&text),
                None => self.lines(&file),
            };
            let start = own_comments_start(&lines.lines, item.start, item.dash);
            let mut end = item.end;
            // A blank separator after the item goes too when nothing precedes it but the
            // list's key or another blank line (no dangling blank line is left behind).
            let blank = |i: usize| lines.lines.get(i).is_some_and(|l| l.trim().is_empty());
            if blank(end)
                && (start == 0
                    || blank(start - 1)
                    || lines.lines[start - 1].trim_end().ends_with(':'))
            {
                end += 1;
            }
            splice(&mut lines, start, end - start, Vec::new());
            if emptied {
                // The `secrets:` key above the removed item now holds nothing.
                if let Some(key_line) = (0..start).rev().find(|&i| {
                    let line = &lines.lines[i];
                    !is_blank_or_comment(line) && line.trim_start().starts_with("secrets:")
                }) {
                    let line = &lines.lines[key_line];
                    let indent = indent_of(line);
                    lines.lines[key_line] = format!("{}secrets: []", pad(indent));
                }
            }
            texts.insert(file, lines.text());
        }
        self.files.extend(texts);
        Ok(())
    }

    pub(super) fn move_secret(&mut self, request: &MoveSecret) -> Result<(), EditError> {
        let path = folder(&request.path)?;
        let found = self.locate_one_per_set(&request.project, None, &path, &request.key)?;
        let to_project = request
            .to_project
            .clone()
            .unwrap_or(request.project.clone());
        let to_path = request.to_path.clone().unwrap_or(request.path.clone());
        let to_key = request.to_key.clone().unwrap_or(request.key.clone());
        // Collect what each declaration says, then remove, then add at the destination.
        let mut moved = Vec::new();
        for location in &found {
            let (_, set) = self.set(location.document);
            let envs: Vec<String> = set
                .spec
                .environments
                .iter()
                .map(|e| e.value.clone())
                .collect();
            let (_, lines, item) = self.secret_item(location)?;
            // The item's own comments move with it.
            let first = own_comments_start(&lines.lines, item.start, item.dash);
            moved.push((
                envs,
                lines.lines[first..item.end].to_vec(),
                item.start - first,
                item,
            ));
        }
        self.remove_secrets(&found)?;
        *self = Repo::parse(&self.files);
        for (envs, body, comments, item) in moved {
            let target = (
                to_project.as_str(),
                envs.as_slice(),
                to_path.as_str(),
                to_key.as_str(),
            );
            self.insert_moved(target, &body, comments, &item)?;
            *self = Repo::parse(&self.files);
        }
        Ok(())
    }

    /// Inserts a moved item's text (re-indented, key replaced) into the matching set, or a new
    /// file, through `create_secret` for the placement.
    pub(super) fn insert_moved(
        &mut self,
        (project, envs, path, key): (&str, &[String], &str, &str),
        body: &[String],
        comments: usize,
        item: &Item,
    ) -> Result<(), EditError> {
        // Place a stand-in with the same placement rules, then swap its lines for the moved
        // text, so that a move keeps the item's fields, comments and formatting.
        let marker = format!("MOVE-PLACEHOLDER-{}", body.len());
        let stand_in = CreateSecret {
            project: project.to_string(),
            environments: envs.to_vec(),
            path: path.to_string(),
            key: marker.clone(),
            comment: None,
            source: ValueSource::BitwardenSecretsManager {
                secret: "placeholder".to_string(),
            },
            tags: Vec::new(),
            value: Default::default(),
        };
        // The destination must not declare the key yet.
        let destination = folder(path)?;
        for env in envs {
            if let Some(location) = self
                .find_secret(project, Some(env), &destination, key)
                .first()
            {
                return Err(EditError::SecretExists {
                    address: format!("{project}/{env}:{}#{key}", destination.as_str()),
                    file: self.documents[location.document].file.to_string(),
                });
            }
        }
        self.create_secret(&stand_in)?;
        *self = Repo::parse(&self.files);
        let location = self
            .find_secret(
                project,
                envs.first().map(String::as_str),
                &destination,
                &marker,
            )
            .into_iter()
            .next()
            .ok_or_else(|| {
                EditError::Unsupported("the moved secret could not be placed".to_string())
            })?;
        let (file, mut lines, placed) = self.secret_item(&location)?;
        let mut moved = Vec::new();
        for (index, line) in body.iter().enumerate() {
            let text = if index < comments {
                format!("{}{}", pad(placed.dash), line.trim_start())
            } else if index == comments {
                let content = &line[item.content.min(line.len())..];
                let content = replace_key(content, key);
                format!(
                    "{}-{}{}",
                    pad(placed.dash),
                    pad(placed.content - placed.dash - 1),
                    content
                )
            } else if line.trim().is_empty() {
                String::new()
            } else {
                let indent = indent_of(line);
                let relative = indent.saturating_sub(item.content);
                format!("{}{}", pad(placed.content + relative), line.trim_start())
            };
            moved.push(text);
        }
        splice(&mut lines, placed.start, placed.end - placed.start, moved);
        self.write(&file, &lines);
        Ok(())
    }

    pub(super) fn create_project(&mut self, create: &CreateProjectEdit) -> Result<(), EditError> {
        if let Some((loaded, _)) = self.project_document(&create.slug) {
            return Err(EditError::ProjectExists {
                slug: create.slug.clone(),
                file: loaded.file.to_string(),
            });
        }
        let file = format!("projects/{}.yaml", create.slug);
        safe_path(&file)?;
        if self.files.contains_key(&file) {
            return Err(EditError::Unsupported(format!(
                "`{file}` already exists; declare project `{}` by hand",
                create.slug
            )));
        }
        let mut text = String::new();
        if let Some(comment) = schema_comment(self, "Project", &file) {
            text.push_str(&comment);
            text.push('\n');
        }
        text.push_str(&format!(
            "apiVersion: {API_VERSION}\nkind: Project\nmetadata:\n  name: {}\nspec:\n",
            scalar(&create.slug)
        ));
        if let Some(name) = &create.display_name {
            text.push_str(&format!("  displayName: {}\n", scalar(name)));
        }
        if let Some(description) = &create.description {
            text.push_str(&format!("  description: {}\n", scalar(description)));
        }
        text.push_str("  environments:\n");
        let default = [super::super::NewEnvironment {
            slug: "prod".to_string(),
            name: Some("Production".to_string()),
        }];
        let environments = create.environments.as_deref().unwrap_or(&default);
        for env in environments {
            text.push_str(&format!("    - slug: {}\n", scalar(&env.slug)));
            if let Some(name) = &env.name {
                text.push_str(&format!("      name: {}\n", scalar(name)));
            }
        }
        self.files.insert(file, text);
        Ok(())
    }

    pub(super) fn create_environment(
        &mut self,
        create: &CreateEnvironmentEdit,
    ) -> Result<(), EditError> {
        let (loaded, project) =
            self.project_document(&create.project)
                .ok_or_else(|| EditError::ProjectNotFound {
                    slug: create.project.clone(),
                })?;
        if project
            .spec
            .environments
            .iter()
            .any(|e| e.value.slug.value == create.slug)
        {
            return Err(EditError::EnvironmentExists {
                project: create.project.clone(),
                environment: create.slug.clone(),
            });
        }
        let lines = self.lines(&loaded.file);
        let render = |dash: usize, content: usize| {
            let mut out = vec![format!(
                "{}-{}slug: {}",
                pad(dash),
                pad(content - dash - 1),
                scalar(&create.slug)
            )];
            out.push(format!("{}name: {}", pad(content), scalar(&create.name)));
            if let Some(position) = create.position {
                out.push(format!("{}position: {position}", pad(content)));
            }
            out
        };
        let (position, remove, new) = match project.spec.environments.last() {
            Some(last) => {
                let item = item_at(&lines.lines, loaded, last.span, "environments")?;
                (item.end, 0, render(item.dash, item.content))
            }
            None => empty_list_insert(
                &lines,
                loaded,
                project.metadata.name.span,
                "environments",
                render,
            )?,
        };
        let file = loaded.file.to_string();
        let mut lines = lines;
        splice(&mut lines, position, remove, new);
        self.write(&file, &lines);
        Ok(())
    }

    pub(super) fn create_folder(&mut self, create: &CreateFolderEdit) -> Result<(), EditError> {
        let path = folder(&create.path)?;
        let (loaded, project) =
            self.project_document(&create.project)
                .ok_or_else(|| EditError::ProjectNotFound {
                    slug: create.project.clone(),
                })?;
        if project
            .spec
            .folders
            .iter()
            .any(|f| same_path(&f.value.path.value, &path))
        {
            return Err(EditError::FolderExists {
                project: create.project.clone(),
                path: path.as_str().to_string(),
            });
        }
        let lines = self.lines(&loaded.file);
        let render = |dash: usize, content: usize| {
            let mut out = vec![format!(
                "{}-{}path: {}",
                pad(dash),
                pad(content - dash - 1),
                scalar(path.as_str())
            )];
            if let Some(envs) = &create.environments {
                out.push(format!("{}environments: {}", pad(content), flow_list(envs)));
            }
            if let Some(description) = &create.description {
                out.push(format!(
                    "{}description: {}",
                    pad(content),
                    scalar(description)
                ));
            }
            out
        };
        let (position, remove, new) = match project.spec.folders.last() {
            Some(last) => {
                let item = item_at(&lines.lines, loaded, last.span, "folders")?;
                (item.end, 0, render(item.dash, item.content))
            }
            None => {
                // No `folders:` yet: add it after the environments list.
                let anchor = project
                    .spec
                    .environments
                    .last()
                    .map(|e| e.span)
                    .ok_or_else(|| {
                        EditError::Unsupported(format!(
                            "project `{}` declares no environments",
                            create.project
                        ))
                    })?;
                let item = item_at(&lines.lines, loaded, anchor, "environments")?;
                let key_indent = spec_indent(&lines.lines, item.start);
                let dash = item.dash;
                let content = item.content;
                let mut new = vec![format!("{}folders:", pad(key_indent))];
                new.extend(render(dash, content));
                (item.end, 0, new)
            }
        };
        let file = loaded.file.to_string();
        let mut lines = lines;
        splice(&mut lines, position, remove, new);
        self.write(&file, &lines);
        Ok(())
    }

    pub(super) fn add_kubernetes_sync(&mut self, add: &AddKubernetesSync) -> Result<(), EditError> {
        for loaded in &self.documents {
            if let Document::KubernetesSync(sync) = &loaded.document
                && sync.metadata.name.value == add.name
            {
                return Err(EditError::SyncExists {
                    name: add.name.clone(),
                    file: loaded.file.to_string(),
                });
            }
        }
        if self.project_document(&add.project).is_none() {
            return Err(EditError::ProjectNotFound {
                slug: add.project.clone(),
            });
        }
        let mut body = format!(
            "apiVersion: {API_VERSION}\nkind: KubernetesSync\nmetadata:\n  name: {}\nspec:\n  source:\n    project: {}\n    environment: {}\n    path: {}\n",
            scalar(&add.name),
            scalar(&add.project),
            scalar(&add.environment),
            scalar(&add.path)
        );
        if add.recursive {
            body.push_str("    recursive: true\n");
        }
        body.push_str(&format!(
            "  target:\n    namespace: {}\n    name: {}\n",
            scalar(&add.namespace),
            scalar(&add.secret_name)
        ));
        if !add.template.is_empty() {
            body.push_str("    template:\n      data:\n");
            for (key, template) in &add.template {
                body.push_str(&format!(
                    "        {}: {}\n",
                    scalar(key),
                    serde_json::to_string(template).unwrap_or_default()
                ));
            }
        }
        if let Some(interval) = &add.resync_interval {
            body.push_str(&format!("  resyncInterval: {}\n", scalar(interval)));
        }
        if let Some(api) = add.operator_api {
            let name = serde_json::to_value(api)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            body.push_str(&format!("  operatorApi: {name}\n"));
        }
        // An existing file of several syncs takes the new one as another document; prefer
        // one with syncs of the same project.
        let mut sync_files: Vec<(String, usize, bool)> = Vec::new();
        for loaded in &self.documents {
            if let Document::KubernetesSync(sync) = &loaded.document {
                let same = sync
                    .spec
                    .all_sources()
                    .any(|s| s.project.value == add.project);
                match sync_files
                    .iter_mut()
                    .find(|(f, _, _)| f.as_str() == &*loaded.file)
                {
                    Some(entry) => {
                        entry.1 += 1;
                        entry.2 |= same;
                    }
                    None => sync_files.push((loaded.file.to_string(), 1, same)),
                }
            }
        }
        let only_syncs = |file: &str| {
            self.documents
                .iter()
                .filter(|d| &*d.file == file)
                .all(|d| matches!(d.document, Document::KubernetesSync(_)))
        };
        let mut shared: Vec<&(String, usize, bool)> = sync_files
            .iter()
            .filter(|(file, count, _)| *count > 1 && only_syncs(file))
            .collect();
        shared.sort_by_key(|(_, _, same)| !*same);
        if let Some((file, _, _)) = shared.first() {
            let mut text = self.files.get(file.as_str()).cloned().unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str("---\n");
            text.push_str(&body);
            self.files.insert(file.clone(), text);
            return Ok(());
        }
        let file = format!("kubernetes/{}.yaml", add.name);
        safe_path(&file)?;
        if self.files.contains_key(&file) {
            return Err(EditError::Unsupported(format!(
                "`{file}` already exists; add the KubernetesSync by hand"
            )));
        }
        let mut text = String::new();
        if let Some(comment) = schema_comment(self, "KubernetesSync", &file) {
            text.push_str(&comment);
            text.push('\n');
        }
        text.push_str(&body);
        self.files.insert(file, text);
        Ok(())
    }
}
