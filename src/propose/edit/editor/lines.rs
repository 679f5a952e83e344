//! Navigating and splicing a file's lines: indentation, block extents, items and fields.

use super::*;

pub(super) fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

pub(super) fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// The end (exclusive) of the block that starts at `start` and holds the following lines
/// indented deeper than `indent`; trailing blank and comment lines are not part of it.
pub(super) fn block_end(lines: &[String], start: usize, indent: usize) -> usize {
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
pub(super) fn line_of(document: &LoadedDocument, span: Span) -> Option<usize> {
    if span.line == 0 {
        return None;
    }
    Some((span.line + document.line_offset) as usize - 1)
}

/// The block-sequence item whose content starts at `span`.
pub(super) fn item_at(
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
pub(super) fn own_comments_start(lines: &[String], line: usize, indent: usize) -> usize {
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
pub(super) fn nested_step(lines: &[String], item: &Item) -> usize {
    lines[item.start + 1..item.end]
        .iter()
        .filter(|line| !is_blank_or_comment(line))
        .map(|line| indent_of(line))
        .find(|indent| *indent > item.content)
        .map(|indent| indent - item.content)
        .filter(|step| (1..=8).contains(step))
        .unwrap_or(2)
}

pub(super) fn field_name(text: &str) -> Option<String> {
    let (name, _) = text.split_once(':')?;
    let name = name.trim().trim_matches(['"', '\'']);
    if name.is_empty() || name.contains(' ') {
        return None;
    }
    Some(name.to_string())
}

/// The fields of an item, in order.
pub(super) fn item_fields(lines: &[String], item: &Item) -> Vec<Field> {
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

/// Whether a parsed secret's value source is the requested one.
pub(super) fn source_matches(spec: &SecretSpec, source: &ValueSource) -> bool {
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

pub(super) fn same_path(declared: &str, path: &FolderPath) -> bool {
    FolderPath::new(declared).is_ok_and(|declared| declared == *path)
}

pub(super) fn splice(lines: &mut Lines, at: usize, remove: usize, insert: Vec<String>) {
    let at = at.min(lines.lines.len());
    let end = (at + remove).min(lines.lines.len());
    lines.lines.splice(at..end, insert);
}

/// The indentation of the mapping key that holds the list whose item starts at `item_line`.
pub(super) fn spec_indent(lines: &[String], item_line: usize) -> usize {
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
pub(super) fn empty_list_insert(
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

pub(super) fn is_document_marker(line: &str) -> bool {
    ["---", "..."].iter().any(|marker| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    })
}

/// Replaces the value of the `key:` field at the start of an item's first line.
pub(super) fn replace_key(content: &str, key: &str) -> String {
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
pub(super) type Splice = (usize, usize, Vec<String>);

pub(super) fn update_item(lines: &mut Lines, item: &Item, update: &UpdateSecret) {
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
