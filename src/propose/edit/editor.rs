//! The text-span editor: finds what to change through the loader's positions and splices
//! lines, so everything it does not touch keeps its bytes.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{
    AddKubernetesSync, CreateEnvironment, CreateFolder, CreateProject, CreateSecret, DeleteSecret,
    Edit, EditError, Edited, Files, MoveSecret, UpdateSecret, ValueSource,
};
use crate::model::document::{
    API_VERSION, Document, ProjectDocument, SecretSetDocument, SecretSpec,
};
use crate::model::names::{check_dns1123_subdomain, check_secret_data_key};
use crate::model::span::Span;
use crate::model::template::check_template_entry;
use crate::model::validate::LoadedDocument;
use crate::model::{Diagnostics, EnvironmentSlug, FolderPath, ProjectSlug, SecretKey, TagSlug};
use crate::source::{Limits, load_str};

/// Applies `edits` in order to `files`; each edit sees the result of the previous ones.
///
/// # Errors
/// The first edit that cannot be applied (nothing is returned then).
pub fn apply(files: &Files, edits: &[Edit]) -> Result<Edited, EditError> {
    check_request(edits)?;
    let mut current = files.clone();
    let mut cache = ParseCache::default();
    for edit in edits {
        let mut repo = Repo::parse_cached(&current, &mut cache);
        repo.apply(edit)?;
        let edited = Repo::parse_cached(&repo.files, &mut cache);
        edited.verify(edit)?;
        current = repo.files;
    }
    let files = current
        .into_iter()
        .filter(|(path, text)| files.get(path) != Some(text))
        .collect();
    Ok(Edited { files })
}

/// Checks what can be checked without the repository: the edit count, plaintext values, names,
/// paths. [`apply`] calls it too.
///
/// # Errors
/// The first problem.
pub fn check_request(edits: &[Edit]) -> Result<(), EditError> {
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

fn name_error(what: &'static str, value: &str, error: crate::model::names::NameError) -> EditError {
    EditError::InvalidName {
        what,
        // Escaped: a refused name may hold a line break or an escape sequence.
        value: crate::model::names::printable(value).into_owned(),
        reason: error.reason,
    }
}

fn project(value: &str) -> Result<ProjectSlug, EditError> {
    ProjectSlug::new(value).map_err(|e| name_error("project slug", value, e))
}

fn environment(value: &str) -> Result<EnvironmentSlug, EditError> {
    EnvironmentSlug::new(value).map_err(|e| name_error("environment slug", value, e))
}

fn folder(value: &str) -> Result<FolderPath, EditError> {
    FolderPath::new(value).map_err(|e| name_error("folder path", value, e))
}

fn secret_key(value: &str) -> Result<SecretKey, EditError> {
    SecretKey::new(value).map_err(|e| name_error("secret key", value, e))
}

fn tag(value: &str) -> Result<TagSlug, EditError> {
    TagSlug::new(value).map_err(|e| name_error("tag slug", value, e))
}

fn text_field(what: &'static str, value: &str, max: usize) -> Result<(), EditError> {
    if value.chars().count() > max || value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(EditError::InvalidName {
            what,
            value: value.chars().take(80).collect(),
            reason: format!("must be at most {max} characters, without control characters"),
        });
    }
    Ok(())
}

fn check_source(source: &ValueSource) -> Result<(), EditError> {
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

fn check_edit(edit: &Edit) -> Result<(), EditError> {
    match edit {
        Edit::CreateSecret(e) => {
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
        }
        Edit::UpdateSecret(e) => {
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
        }
        Edit::DeleteSecret(e) => {
            project(&e.project)?;
            if let Some(env) = &e.environment {
                environment(env)?;
            }
            folder(&e.path)?;
            secret_key(&e.key)?;
        }
        Edit::MoveSecret(e) => {
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
        }
        Edit::CreateProject(e) => {
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
        }
        Edit::CreateEnvironment(e) => {
            project(&e.project)?;
            environment(&e.slug)?;
            text_field("environment name", &e.name, 64)?;
        }
        Edit::CreateFolder(e) => {
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
        }
        Edit::AddKubernetesSync(e) => {
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
                check_secret_data_key(key)
                    .map_err(|error| name_error("template key", key, error))?;
                if template.chars().count() > 4096 || template.chars().any(char::is_control) {
                    // The entry may hold a value: never echoed.
                    return Err(EditError::InvalidName {
                        what: "template entry",
                        value: key.clone(),
                        reason: "must be at most 4096 characters, without control characters"
                            .to_string(),
                    });
                }
                check_template_entry(template).map_err(|reason| EditError::LiteralTemplate {
                    sync: e.name.clone(),
                    key: key.clone(),
                    reason,
                })?;
            }
        }
    }
    Ok(())
}

/// A title derived from the edits, e.g. `Add CLOUDFLARE_API_TOKEN to k3s-infrastructure/prod:/api-keys`.
pub fn title_of(edits: &[Edit]) -> String {
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

// ---------------------------------------------------------------------------------------------
// The parsed repository

/// Parsed documents per file, with the text they were parsed from.
type ParseCache = std::collections::BTreeMap<String, (String, Vec<LoadedDocument>)>;

struct Repo {
    files: Files,
    documents: Vec<LoadedDocument>,
}

/// A file's text as lines (without their line ending), whether it ended with one, and which
/// ending it uses (`\r\n` files stay `\r\n`).
struct Lines {
    lines: Vec<String>,
    trailing_newline: bool,
    crlf: bool,
}

impl Lines {
    fn of(text: &str) -> Self {
        let crlf = text.contains("\r\n");
        let trailing_newline = text.ends_with('\n') || text.is_empty();
        let body = text.strip_suffix('\n').unwrap_or(text);
        let lines = if text.is_empty() {
            Vec::new()
        } else {
            body.split('\n')
                .map(|line| {
                    if crlf {
                        line.strip_suffix('\r').unwrap_or(line).to_string()
                    } else {
                        line.to_string()
                    }
                })
                .collect()
        };
        Self {
            lines,
            trailing_newline,
            crlf,
        }
    }

    fn text(&self) -> String {
        let ending = if self.crlf { "\r\n" } else { "\n" };
        let mut out = self.lines.join(ending);
        if self.trailing_newline && !self.lines.is_empty() {
            out.push_str(ending);
        }
        out
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// The end (exclusive) of the block that starts at `start` and holds the following lines
/// indented deeper than `indent`; trailing blank and comment lines are not part of it.
fn block_end(lines: &[String], start: usize, indent: usize) -> usize {
    let mut end = start + 1;
    let mut index = start + 1;
    while index < lines.len() {
        let line = &lines[index];
        if is_blank_or_comment(line) {
            index += 1;
            continue;
        }
        if indent_of(line) > indent {
            index += 1;
            end = index;
        } else {
            break;
        }
    }
    end
}

/// The 0-based line of a span inside a document.
fn line_of(document: &LoadedDocument, span: Span) -> Option<usize> {
    if span.line == 0 {
        return None;
    }
    Some((span.line + document.line_offset) as usize - 1)
}

/// A sequence item: its dash line, the dash's column, the content column and its extent.
#[derive(Debug, Clone, Copy)]
struct Item {
    start: usize,
    end: usize,
    dash: usize,
    content: usize,
}

/// The block-sequence item whose content starts at `span`.
fn item_at(
    lines: &[String],
    document: &LoadedDocument,
    span: Span,
    what: &str,
) -> Result<Item, EditError> {
    let unsupported = || {
        EditError::Unsupported(format!(
            "the {what} list is not a block list (`- ` items); edit it by hand"
        ))
    };
    let start = line_of(document, span).ok_or_else(unsupported)?;
    let line = lines.get(start).ok_or_else(unsupported)?;
    let dash = indent_of(line);
    let rest = &line[dash..];
    if !rest.starts_with("- ") {
        return Err(unsupported());
    }
    let content = dash + 2 + indent_of(&rest[2..]);
    let end = block_end(lines, start, dash);
    Ok(Item {
        start,
        end,
        dash,
        content,
    })
}

/// The comment lines directly above `line` at the same indentation (an item's own comments).
fn own_comments_start(lines: &[String], line: usize, indent: usize) -> usize {
    let mut start = line;
    while start > 0 {
        let above = &lines[start - 1];
        if above.trim_start().starts_with('#') && indent_of(above) == indent {
            start -= 1;
        } else {
            break;
        }
    }
    start
}

/// The nesting step used inside an item (2 unless the file says otherwise).
fn nested_step(lines: &[String], item: &Item) -> usize {
    lines[item.start + 1..item.end]
        .iter()
        .filter(|line| !is_blank_or_comment(line))
        .map(|line| indent_of(line))
        .find(|indent| *indent > item.content)
        .map(|indent| indent - item.content)
        .filter(|step| (1..=8).contains(step))
        .unwrap_or(2)
}

/// A top-level field of an item (or of a mapping at `indent`): its name and line extent.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    start: usize,
    end: usize,
}

fn field_name(text: &str) -> Option<String> {
    let (name, _) = text.split_once(':')?;
    let name = name.trim().trim_matches(['"', '\'']);
    if name.is_empty() || name.contains(' ') {
        return None;
    }
    Some(name.to_string())
}

/// The fields of an item, in order.
fn item_fields(lines: &[String], item: &Item) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut index = item.start;
    while index < item.end {
        let line = &lines[index];
        let text = if index == item.start {
            Some(&line[item.content.min(line.len())..])
        } else if !is_blank_or_comment(line) && indent_of(line) == item.content {
            Some(line.trim_start())
        } else {
            None
        };
        if let Some(name) = text.and_then(field_name) {
            let end = block_end(lines, index, item.content).min(item.end);
            fields.push(Field {
                name,
                start: index,
                end,
            });
            index = end;
        } else {
            index += 1;
        }
    }
    fields
}

// ---------------------------------------------------------------------------------------------
// Rendering new YAML

fn is_plain_safe(value: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n",
    ];
    !value.is_empty()
        && value.len() <= 200
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ' ' | '@' | '(' | ')' | ',' | '+')
        })
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/')
        && !value.ends_with(' ')
        && !value.contains(" #")
        && !RESERVED.contains(&value.to_ascii_lowercase().as_str())
        && value.parse::<f64>().is_err()
}

/// A YAML scalar for `value`: plain when that is unambiguous, else double-quoted.
fn scalar(value: &str) -> String {
    if is_plain_safe(value) {
        value.to_string()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_string())
    }
}

fn flow_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| scalar(i)).collect();
    format!("[{}]", items.join(", "))
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// The lines of a value source, at `indent`, nested by `step`.
fn source_lines(source: &ValueSource, indent: usize, step: usize) -> Vec<String> {
    let at = pad(indent);
    let inner = pad(indent + step);
    let mut out = Vec::new();
    match source {
        ValueSource::Bitwarden {
            item,
            field,
            custom_field,
        } => {
            out.push(format!("{at}bitwarden:"));
            out.push(format!("{inner}item: {}", scalar(item)));
            if let Some(field) = field {
                let name = serde_json::to_value(field)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                out.push(format!("{inner}field: {name}"));
            }
            if let Some(custom) = custom_field {
                out.push(format!("{inner}customField: {}", scalar(custom)));
            }
        }
        ValueSource::BitwardenSecretsManager { secret } => {
            out.push(format!("{at}bitwardenSecretsManager:"));
            out.push(format!("{inner}secret: {}", scalar(secret)));
        }
        ValueSource::Generate(rule) => {
            let mut fields = Vec::new();
            if let Some(length) = rule.length {
                fields.push(format!("{inner}length: {length}"));
            }
            let enum_name = |value: serde_json::Result<serde_json::Value>| {
                value
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            if let Some(charset) = rule.charset {
                fields.push(format!(
                    "{inner}charset: {}",
                    enum_name(serde_json::to_value(charset))
                ));
            }
            if let Some(backup) = rule.backup_to {
                fields.push(format!(
                    "{inner}backupTo: {}",
                    enum_name(serde_json::to_value(backup))
                ));
            }
            if fields.is_empty() {
                out.push(format!("{at}generate: {{}}"));
            } else {
                out.push(format!("{at}generate:"));
                out.extend(fields);
            }
        }
    }
    out
}

fn comment_lines(comment: &str, indent: usize) -> Vec<String> {
    vec![format!("{}comment: {}", pad(indent), scalar(comment))]
}

fn tags_lines(tags: &[String], indent: usize) -> Vec<String> {
    vec![format!("{}tags: {}", pad(indent), flow_list(tags))]
}

/// A new secret item with its dash at `dash` and its content at `content`.
fn secret_item(create: &CreateSecret, dash: usize, content: usize, step: usize) -> Vec<String> {
    let mut out = vec![format!(
        "{}-{}key: {}",
        pad(dash),
        pad(content - dash - 1),
        scalar(&create.key)
    )];
    if let Some(comment) = create.comment.as_deref().filter(|c| !c.is_empty()) {
        out.extend(comment_lines(comment, content));
    }
    if !create.tags.is_empty() {
        out.extend(tags_lines(&create.tags, content));
    }
    out.extend(source_lines(&create.source, content, step));
    out
}

/// The `# yaml-language-server: $schema=…` line for a new file at `path`, derived from a file
/// that already has one for the same kind (re-relativised), if any.
fn schema_comment(repo: &Repo, kind: &str, path: &str) -> Option<String> {
    const PREFIX: &str = "# yaml-language-server: $schema=";
    for document in &repo.documents {
        if kind_of(&document.document) != kind {
            continue;
        }
        let text = repo.files.get(&*document.file)?;
        let first = text.lines().next()?;
        let Some(target) = first.strip_prefix(PREFIX) else {
            continue;
        };
        let target = target.trim();
        if target.contains("://") {
            return Some(format!("{PREFIX}{target}"));
        }
        let absolute = join_relative(parent_dir(&document.file), target)?;
        return Some(format!(
            "{PREFIX}{}",
            relative_to(parent_dir(path), &absolute)
        ));
    }
    None
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Normalises `dir/relative` into components; leading `..` are kept (above the root).
fn join_relative(dir: &str, relative: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = dir
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| p != "..") {
                    parts.pop();
                } else {
                    parts.push("..".to_string());
                }
            }
            other => parts.push(other.to_string()),
        }
    }
    Some(parts)
}

fn relative_to(dir: &str, target: &[String]) -> String {
    let base: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let common = base
        .iter()
        .zip(target.iter())
        .take_while(|(a, b)| **a == b.as_str())
        .count();
    let mut parts: Vec<String> = vec!["..".to_string(); base.len() - common];
    parts.extend(target[common..].iter().cloned());
    parts.join("/")
}

fn kind_of(document: &Document) -> &'static str {
    match document {
        Document::Project(_) => "Project",
        Document::SecretSet(_) => "SecretSet",
        Document::KubernetesSync(_) => "KubernetesSync",
        Document::KubernetesDefaults(_) => "KubernetesDefaults",
    }
}

/// A lowercase slug for file names: `/apps/web` → `apps-web`, `/` → `root`.
fn slug_of_path(path: &FolderPath) -> String {
    if path.is_root() {
        return "root".to_string();
    }
    let mut slug = String::new();
    for c in path.as_str().trim_start_matches('/').chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

/// Refuses file paths that are absolute or leave the repository.
fn safe_path(path: &str) -> Result<(), EditError> {
    let refused = || EditError::UnsafePath {
        path: path.to_string(),
    };
    if path.is_empty() || path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return Err(refused());
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(refused());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The edits

/// Where a declared secret is.
#[derive(Debug, Clone)]
struct SecretLocation {
    document: usize,
    secret: usize,
}

impl Repo {
    /// Checks, on the re-parsed files, that an edit did what it says: the text editor works on
    /// lines, this reads the documents again.
    fn verify(&self, edit: &Edit) -> Result<(), EditError> {
        let failed = |what: String| {
            Err(EditError::Unsupported(format!(
                "{what}: the file's layout is not one this editor understands; edit it by hand"
            )))
        };
        let secret =
            |project: &str, env: Option<&str>, path: &str, key: &str| -> Vec<&SecretSpec> {
                let Ok(path) = FolderPath::new(path) else {
                    return Vec::new();
                };
                self.find_secret(project, env, &path, key)
                    .iter()
                    .map(|location| {
                        &self.set(location.document).1.spec.secrets[location.secret].value
                    })
                    .collect()
            };
        match edit {
            Edit::CreateSecret(e) => {
                for env in &e.environments {
                    let found = secret(&e.project, Some(env), &e.path, &e.key);
                    let ok = found.len() == 1
                        && found[0].comment.as_ref().map(|c| c.value.as_str())
                            == e.comment.as_deref().filter(|c| !c.is_empty())
                        && source_matches(found[0], &e.source);
                    if !ok {
                        return failed(format!("adding `{}`", e.key));
                    }
                }
            }
            Edit::UpdateSecret(e) => {
                let found = secret(&e.project, e.environment.as_deref(), &e.path, &e.key);
                let ok = !found.is_empty()
                    && found.iter().all(|spec| {
                        e.comment.as_ref().is_none_or(|c| {
                            spec.comment.as_ref().map_or("", |s| s.value.as_str()) == c
                        }) && e.tags.as_ref().is_none_or(|tags| {
                            spec.tags
                                .iter()
                                .map(|t| t.value.as_str())
                                .eq(tags.iter().map(String::as_str))
                        }) && e
                            .source
                            .as_ref()
                            .is_none_or(|source| source_matches(spec, source))
                    });
                if !ok {
                    return failed(format!("updating `{}`", e.key));
                }
            }
            Edit::DeleteSecret(e) => {
                if !secret(&e.project, e.environment.as_deref(), &e.path, &e.key).is_empty() {
                    return failed(format!("removing `{}`", e.key));
                }
            }
            Edit::MoveSecret(e) => {
                let to_project = e.to_project.as_deref().unwrap_or(&e.project);
                let to_path = e.to_path.as_deref().unwrap_or(&e.path);
                let to_key = e.to_key.as_deref().unwrap_or(&e.key);
                if secret(to_project, None, to_path, to_key).is_empty() {
                    return failed(format!("moving `{}`", e.key));
                }
            }
            Edit::CreateProject(e) => {
                if self.project_document(&e.slug).is_none() {
                    return failed(format!("adding project `{}`", e.slug));
                }
            }
            Edit::CreateEnvironment(e) => {
                let ok = self.project_document(&e.project).is_some_and(|(_, p)| {
                    p.spec
                        .environments
                        .iter()
                        .any(|env| env.value.slug.value == e.slug)
                });
                if !ok {
                    return failed(format!("adding environment `{}`", e.slug));
                }
            }
            Edit::CreateFolder(e) => {
                let ok = FolderPath::new(&e.path).is_ok_and(|path| {
                    self.project_document(&e.project).is_some_and(|(_, p)| {
                        p.spec
                            .folders
                            .iter()
                            .any(|f| same_path(&f.value.path.value, &path))
                    })
                });
                if !ok {
                    return failed(format!("adding folder `{}`", e.path));
                }
            }
            Edit::AddKubernetesSync(e) => {
                let ok = self.documents.iter().any(|loaded| {
                    matches!(&loaded.document, Document::KubernetesSync(sync)
                        if sync.metadata.name.value == e.name
                            && sync.spec.all_targets().any(|t| t.name.value == e.secret_name))
                });
                if !ok {
                    return failed(format!("adding KubernetesSync `{}`", e.name));
                }
            }
        }
        Ok(())
    }

    /// As [`Repo::parse`], re-parsing only the files whose text changed since the last call.
    fn parse_cached(files: &Files, cache: &mut ParseCache) -> Self {
        let mut documents = Vec::new();
        let mut diagnostics = Diagnostics::default();
        cache.retain(|path, _| files.contains_key(path));
        for (path, text) in files {
            match cache.get(path) {
                Some((cached, parsed)) if cached == text => {
                    documents.extend(parsed.iter().cloned())
                }
                _ => {
                    let file: Arc<str> = path.as_str().into();
                    let parsed = load_str(&file, text, &Limits::DEFAULT, &mut diagnostics);
                    documents.extend(parsed.iter().cloned());
                    cache.insert(path.clone(), (text.clone(), parsed));
                }
            }
        }
        Self {
            files: files.clone(),
            documents,
        }
    }

    fn parse(files: &Files) -> Self {
        let mut documents = Vec::new();
        let mut diagnostics = Diagnostics::default();
        for (path, text) in files {
            let file: Arc<str> = path.as_str().into();
            documents.extend(load_str(&file, text, &Limits::DEFAULT, &mut diagnostics));
        }
        Self {
            files: files.clone(),
            documents,
        }
    }

    fn lines(&self, file: &str) -> Lines {
        Lines::of(self.files.get(file).map_or("", String::as_str))
    }

    fn write(&mut self, file: &str, lines: &Lines) {
        self.files.insert(file.to_string(), lines.text());
    }

    fn apply(&mut self, edit: &Edit) -> Result<(), EditError> {
        match edit {
            Edit::CreateSecret(e) => self.create_secret(e),
            Edit::UpdateSecret(e) => self.update_secret(e),
            Edit::DeleteSecret(e) => self.delete_secret(e),
            Edit::MoveSecret(e) => self.move_secret(e),
            Edit::CreateProject(e) => self.create_project(e),
            Edit::CreateEnvironment(e) => self.create_environment(e),
            Edit::CreateFolder(e) => self.create_folder(e),
            Edit::AddKubernetesSync(e) => self.add_kubernetes_sync(e),
        }
    }

    fn secret_sets(&self) -> impl Iterator<Item = (usize, &LoadedDocument, &SecretSetDocument)> {
        self.documents
            .iter()
            .enumerate()
            .filter_map(|(index, loaded)| match &loaded.document {
                Document::SecretSet(set) => Some((index, loaded, set)),
                _ => None,
            })
    }

    fn project_document(&self, slug: &str) -> Option<(&LoadedDocument, &ProjectDocument)> {
        self.documents
            .iter()
            .find_map(|loaded| match &loaded.document {
                Document::Project(p) if p.metadata.name.value == slug => Some((loaded, p)),
                _ => None,
            })
    }

    fn set(&self, index: usize) -> (&LoadedDocument, &SecretSetDocument) {
        let loaded = &self.documents[index];
        match &loaded.document {
            Document::SecretSet(set) => (loaded, set),
            _ => unreachable!("a secret location points at a SecretSet"),
        }
    }

    /// The secrets `project:path#key` declares, optionally only in sets covering `env`.
    fn find_secret(
        &self,
        project: &str,
        env: Option<&str>,
        path: &FolderPath,
        key: &str,
    ) -> Vec<SecretLocation> {
        let mut found = Vec::new();
        for (index, _, set) in self.secret_sets() {
            if set.spec.project.value != project || !same_path(&set.spec.path.value, path) {
                continue;
            }
            if let Some(env) = env
                && !set.spec.environments.iter().any(|e| e.value == env)
            {
                continue;
            }
            for (secret, spec) in set.spec.secrets.iter().enumerate() {
                if spec.value.key.value == key {
                    found.push(SecretLocation {
                        document: index,
                        secret,
                    });
                }
            }
        }
        found
    }

    fn secret_item(&self, location: &SecretLocation) -> Result<(String, Lines, Item), EditError> {
        let (loaded, set) = self.set(location.document);
        let lines = self.lines(&loaded.file);
        let span = set.spec.secrets[location.secret].span;
        let item = item_at(&lines.lines, loaded, span, "secrets")?;
        Ok((loaded.file.to_string(), lines, item))
    }

    fn create_secret(&mut self, create: &CreateSecret) -> Result<(), EditError> {
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

    fn locate_one_per_set(
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

    fn update_secret(&mut self, update: &UpdateSecret) -> Result<(), EditError> {
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

    fn delete_secret(&mut self, delete: &DeleteSecret) -> Result<(), EditError> {
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
    fn remove_secrets(&mut self, found: &[SecretLocation]) -> Result<(), EditError> {
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

    fn move_secret(&mut self, request: &MoveSecret) -> Result<(), EditError> {
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
    fn insert_moved(
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

    fn create_project(&mut self, create: &CreateProject) -> Result<(), EditError> {
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
        let default = [super::NewEnvironment {
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

    fn create_environment(&mut self, create: &CreateEnvironment) -> Result<(), EditError> {
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

    fn create_folder(&mut self, create: &CreateFolder) -> Result<(), EditError> {
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

    fn add_kubernetes_sync(&mut self, add: &AddKubernetesSync) -> Result<(), EditError> {
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

/// Whether a parsed secret's value source is the requested one.
fn source_matches(spec: &SecretSpec, source: &ValueSource) -> bool {
    if spec.value.is_some() || spec.todo.is_some() {
        return false;
    }
    match source {
        ValueSource::Bitwarden {
            item,
            field,
            custom_field,
        } => {
            spec.bitwarden.as_ref().is_some_and(|b| {
                b.value.item.as_ref().map(|i| i.value.as_str()) == Some(item.as_str())
                    && b.value.field.as_ref().map(|f| f.value) == *field
                    && b.value.custom_field.as_ref().map(|c| c.value.as_str())
                        == custom_field.as_deref()
            }) && spec.bitwarden_secrets_manager.is_none()
                && spec.generate.is_none()
        }
        ValueSource::BitwardenSecretsManager { secret } => {
            spec.bitwarden_secrets_manager
                .as_ref()
                .is_some_and(|b| b.value.secret.value == *secret)
                && spec.bitwarden.is_none()
                && spec.generate.is_none()
        }
        ValueSource::Generate(rule) => {
            spec.generate.as_ref().is_some_and(|g| {
                g.value.length.as_ref().map(|l| l.value) == rule.length
                    && g.value.charset == rule.charset
                    && g.value.backup_to == rule.backup_to
            }) && spec.bitwarden.is_none()
                && spec.bitwarden_secrets_manager.is_none()
        }
    }
}

fn same_path(declared: &str, path: &FolderPath) -> bool {
    FolderPath::new(declared).is_ok_and(|declared| declared == *path)
}

fn splice(lines: &mut Lines, at: usize, remove: usize, insert: Vec<String>) {
    let at = at.min(lines.lines.len());
    let end = (at + remove).min(lines.lines.len());
    lines.lines.splice(at..end, insert);
}

/// The indentation of the mapping key that holds the list whose item starts at `item_line`.
fn spec_indent(lines: &[String], item_line: usize) -> usize {
    let dash = indent_of(&lines[item_line]);
    (0..item_line)
        .rev()
        .map(|i| &lines[i])
        .find(|line| {
            !is_blank_or_comment(line)
                && indent_of(line) <= dash
                && !line.trim_start().starts_with('-')
        })
        .map_or(2, |line| indent_of(line))
}

/// Where and what to write when a list is empty (`key: []`, `key:`) or absent: `anchor` is a
/// field of the mapping that should hold `key`. Returns (line, lines to replace, new lines).
fn empty_list_insert(
    lines: &Lines,
    loaded: &LoadedDocument,
    anchor: Span,
    key: &str,
    render: impl Fn(usize, usize) -> Vec<String>,
) -> Result<(usize, usize, Vec<String>), EditError> {
    let anchor_line = line_of(loaded, anchor)
        .filter(|line| *line < lines.lines.len())
        .ok_or_else(|| EditError::Unsupported(format!("cannot find where to add `{key}`")))?;
    let indent = indent_of(&lines.lines[anchor_line]);
    let document_start = loaded.line_offset as usize;
    let document_end = (anchor_line..lines.lines.len())
        .find(|&i| is_document_marker(&lines.lines[i]))
        .unwrap_or(lines.lines.len());
    let header = format!("{key}:");
    let existing = (document_start..document_end).find(|&i| {
        let line = &lines.lines[i];
        indent_of(line) == indent && line.trim_start().starts_with(&header)
    });
    let mut new = vec![format!("{}{key}:", pad(indent))];
    new.extend(render(indent + 2, indent + 4));
    match existing {
        Some(line) => {
            let rest = lines.lines[line].trim_start()[header.len()..].trim();
            let value = if rest.starts_with('#') {
                ""
            } else {
                rest.split(" #").next().unwrap_or_default().trim()
            };
            let empty = matches!(value, "" | "[]" | "null" | "~");
            // A comment on the replaced line stays on it.
            if let Some(at) = rest
                .find('#')
                .filter(|at| *at == 0 || rest[..*at].ends_with(' '))
            {
                new[0] = format!("{}  {}", new[0], &rest[at..]);
            }
            if !empty {
                return Err(EditError::Unsupported(format!(
                    "the `{key}` list is not a block list; edit it by hand"
                )));
            }
            Ok((line, 1, new))
        }
        None => {
            // After the last content line of the mapping that holds the anchor.
            let end = (anchor_line + 1..document_end)
                .take_while(|&i| {
                    is_blank_or_comment(&lines.lines[i]) || indent_of(&lines.lines[i]) >= indent
                })
                .filter(|&i| !is_blank_or_comment(&lines.lines[i]))
                .last()
                .map_or(anchor_line + 1, |i| i + 1);
            Ok((end, 0, new))
        }
    }
}

fn is_document_marker(line: &str) -> bool {
    ["---", "..."].iter().any(|marker| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    })
}

/// Replaces the value of the `key:` field at the start of an item's first line.
fn replace_key(content: &str, key: &str) -> String {
    match content.split_once(':') {
        Some((name, rest)) if name.trim() == "key" => {
            let value = rest.trim_start();
            let comment = value.find(" #").map(|at| &value[at..]).unwrap_or("");
            format!("key: {}{comment}", scalar(key))
        }
        _ => content.to_string(),
    }
}

/// Applies an update to one item in place: replaces, adds or removes the `comment`, `tags`
/// and value-source fields, keeping every other line.
/// A line splice: at, lines removed, lines inserted.
type Splice = (usize, usize, Vec<String>);

fn update_item(lines: &mut Lines, item: &Item, update: &UpdateSecret) {
    let step = nested_step(&lines.lines, item);
    let fields = item_fields(&lines.lines, item);
    // Work bottom-up so that earlier line numbers stay valid.
    let mut operations: Vec<(usize, usize, Vec<String>)> = Vec::new();
    let find = |name: &str| fields.iter().find(|f| f.name == name);
    let key_field = find("key");
    let after_key = key_field.map_or(item.start + 1, |f| f.end);
    if let Some(comment) = &update.comment {
        let new = if comment.is_empty() {
            Vec::new()
        } else {
            comment_lines(comment, item.content)
        };
        match find("comment") {
            Some(field) => operations.push((field.start, field.end - field.start, new)),
            None => operations.push((after_key, 0, new)),
        }
    }
    if let Some(tags) = &update.tags {
        let new = if tags.is_empty() {
            Vec::new()
        } else {
            tags_lines(tags, item.content)
        };
        match find("tags") {
            Some(field) => operations.push((field.start, field.end - field.start, new)),
            None => {
                let at = find("comment").map_or(after_key, |f| f.end);
                operations.push((at, 0, new));
            }
        }
    }
    if let Some(source) = &update.source {
        let new = source_lines(source, item.content, step);
        let sources: Vec<&Field> = fields
            .iter()
            .filter(|f| {
                matches!(
                    f.name.as_str(),
                    "bitwarden" | "bitwardenSecretsManager" | "generate" | "value" | "todo"
                )
            })
            .collect();
        match sources.split_first() {
            Some((first, rest)) => {
                operations.push((first.start, first.end - first.start, new));
                for field in rest {
                    operations.push((field.start, field.end - field.start, Vec::new()));
                }
            }
            None => operations.push((item.end, 0, new)),
        }
        // A literal `value` needed `sensitive: false`; a referenced or generated value is
        // sensitive again.
        let had_literal = fields.iter().any(|f| f.name == "value");
        if let Some(field) = find("sensitive").filter(|_| had_literal) {
            operations.push((field.start, field.end - field.start, Vec::new()));
        }
    }
    // Bottom-up; for equal positions, later-declared insertions go first so that the final
    // order is comment, tags, source.
    let mut operations: Vec<(usize, Splice)> = operations.into_iter().enumerate().collect();
    operations.sort_by_key(|(order, (at, _, _))| std::cmp::Reverse((*at, *order)));
    for (_, (at, remove, insert)) in operations {
        if at == item.start && remove > 0 {
            // The first field shares the dash line; never remove the dash.
            continue;
        }
        splice(lines, at, remove, insert);
    }
}
