//! Rendering new YAML.

use super::*;

// Rendering new YAML

pub(super) fn is_plain_safe(value: &str) -> bool {
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
pub(super) fn scalar(value: &str) -> String {
    if is_plain_safe(value) {
        value.to_string()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_string())
    }
}

pub(super) fn flow_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| scalar(i)).collect();
    format!("[{}]", items.join(", "))
}

pub(super) fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// The lines of a value source, at `indent`, nested by `step`.
pub(super) fn source_lines(source: &ValueSource, indent: usize, step: usize) -> Vec<String> {
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

pub(super) fn comment_lines(comment: &str, indent: usize) -> Vec<String> {
    vec![format!("{}comment: {}", pad(indent), scalar(comment))]
}

pub(super) fn tags_lines(tags: &[String], indent: usize) -> Vec<String> {
    vec![format!("{}tags: {}", pad(indent), flow_list(tags))]
}

/// A new secret item with its dash at `dash` and its content at `content`.
pub(super) fn secret_item(
    create: &CreateSecret,
    dash: usize,
    content: usize,
    step: usize,
) -> Vec<String> {
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
pub(super) fn schema_comment(repo: &Repo, kind: &str, path: &str) -> Option<String> {
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

pub(super) fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Normalises `dir/relative` into components; leading `..` are kept (above the root).
pub(super) fn join_relative(dir: &str, relative: &str) -> Option<Vec<String>> {
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

pub(super) fn relative_to(dir: &str, target: &[String]) -> String {
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

pub(super) fn kind_of(document: &Document) -> &'static str {
    match document {
        Document::Project(_) => "Project",
        Document::SecretSet(_) => "SecretSet",
        Document::KubernetesSync(_) => "KubernetesSync",
        Document::KubernetesDefaults(_) => "KubernetesDefaults",
    }
}

/// A lowercase slug for file names: `/apps/web` → `apps-web`, `/` → `root`.
pub(super) fn slug_of_path(path: &FolderPath) -> String {
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
pub(super) fn safe_path(path: &str) -> Result<(), EditError> {
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
