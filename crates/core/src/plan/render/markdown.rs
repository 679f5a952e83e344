//! Markdown for merge-request comments: a summary line, a table of changes, and the problems.
//! Every address, code and message goes through [`crate::escape::markdown`]: a key or a message
//! cannot end its code span or table cell, start HTML (`<!--` would hide the rest) or a link.

use std::fmt::Write;

use super::super::{Action, Change, Plan};
use super::{describe_field, label, shown_on_create};
use crate::escape::markdown;

/// Renders `plan` as Markdown.
pub fn render(plan: &Plan) -> String {
    let mut out = String::from("### infisical-gitops plan\n\n");
    render_unresolved(&mut out, plan);
    if plan.changes.is_empty() {
        if plan.detected.is_empty() && plan.errors.is_empty() && !plan.has_unresolved() {
            out.push_str("**No changes.** Infisical matches the repository.\n");
        } else {
            out.push_str("**No changes to apply.**\n");
        }
    } else {
        let summary = plan.summary();
        let _ = writeln!(
            out,
            "**Plan: {} to add, {} to change, {} to destroy.**\n",
            summary.add, summary.change, summary.destroy
        );
        table(&mut out, &plan.changes);
    }
    if !plan.detected.is_empty() {
        out.push_str("\n#### Drift detected (`mode: detect`, not applied)\n\n");
        table(&mut out, &plan.detected);
    }
    for (title, problems) in [
        ("Warnings", &plan.warnings),
        ("Errors (apply refuses this plan)", &plan.errors),
    ] {
        if problems.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n#### {title}\n");
        for problem in problems {
            let _ = write!(
                out,
                "- {}: {}",
                markdown::code(&problem.code),
                markdown::text(&problem.message)
            );
            if let Some(help) = &problem.help {
                let _ = write!(out, " — {}", markdown::text(help));
            }
            out.push('\n');
        }
    }
    out
}

/// The headline first (`**21 secrets not resolved, not written.**`), then each backend-wide
/// cause once with the secrets it stopped, then each secret with its own reason.
fn render_unresolved(out: &mut String, plan: &Plan) {
    let Some(headline) = plan.unresolved_headline() else {
        return;
    };
    let _ = writeln!(out, "**{headline}.**\n");
    for group in plan.unresolved_groups() {
        match group.cause {
            Some(cause) => {
                let _ = writeln!(
                    out,
                    "- {} ({}):",
                    markdown::text(cause),
                    markdown::code(group.code)
                );
                for item in group.secrets {
                    let _ = writeln!(
                        out,
                        "  - {}: {}",
                        markdown::code(&item.address.to_string()),
                        markdown::text(&item.reason.message)
                    );
                }
            }
            None => {
                for item in group.secrets {
                    let _ = writeln!(
                        out,
                        "- {}: {} ({})",
                        markdown::code(&item.address.to_string()),
                        markdown::text(&item.reason.message),
                        markdown::code(&item.reason.code)
                    );
                }
            }
        }
    }
    out.push('\n');
}

fn table(out: &mut String, changes: &[Change]) {
    out.push_str("| | address | kind | reason | fields |\n|---|---|---|---|---|\n");
    for change in changes {
        let create = change.action == Action::Create;
        let fields: Vec<String> = change
            .fields
            .iter()
            .filter(|f| {
                if create {
                    shown_on_create(f)
                } else {
                    !f.is_noop()
                }
            })
            .map(|f| {
                format!(
                    "{}: {}",
                    label(f),
                    markdown::table_text(&describe_field(f, create))
                )
            })
            .collect();
        let symbol = match change.action {
            Action::Create => "➕",
            Action::Update => "✏️",
            Action::Delete => "🗑️",
        };
        let _ = writeln!(
            out,
            "| {symbol} | {} | {} | {} | {} |",
            markdown::table_code(&change.address.to_string()),
            change.address.kind(),
            change.reason.describe(),
            fields.join("<br>")
        );
    }
}
