//! The text-span editor: finds what to change through the loader's positions and splices
//! lines, so everything it does not touch keeps its bytes.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{
    AddKubernetesSync, CreateEnvironmentEdit, CreateFolderEdit, CreateProjectEdit, CreateSecret,
    DeleteSecret, Edit, EditError, Edited, Files, MoveSecret, UpdateSecret, ValueSource,
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
pub(crate) fn apply(files: &Files, edits: &[Edit]) -> Result<Edited, EditError> {
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

/// A sequence item: its dash line, the dash's column, the content column and its extent.
#[derive(Debug, Clone, Copy)]
struct Item {
    start: usize,
    end: usize,
    dash: usize,
    content: usize,
}

/// A top-level field of an item (or of a mapping at `indent`): its name and line extent.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    start: usize,
    end: usize,
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
}

mod check;
mod emit;
mod lines;
mod ops;

use check::*;
pub(crate) use check::{check_request, title_of};
use emit::*;
use lines::*;
