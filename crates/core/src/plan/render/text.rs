//! Terraform-like text:
//!
//! ```text
//!   # k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD will be updated (differs from the repository)
//!   ~ secret "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD" {
//!       ~ value   = (sensitive value changed)
//!     }
//!
//! Plan: 0 to add, 1 to change, 0 to destroy.
//! ```
//!
//! Addresses escape their keys themselves; messages are shown through
//! [`Visible`](crate::escape::Visible), so nothing from a file or a server can start a line of
//! its own or send a terminal escape.

use std::fmt::Write;

use super::super::{Action, Change, Plan, PlanProblem};
use super::{describe_field, label, shown_on_create};
use crate::escape::Visible;

/// Text options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// ANSI colours (the CLI turns them on only on a TTY).
    pub color: bool,
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }

    fn action(&self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Delete => "31",
        };
        self.paint(code, text)
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// Renders `plan` as text.
pub fn render(plan: &Plan, options: TextOptions) -> String {
    let painter = Painter {
        color: options.color,
    };
    let mut out = String::new();
    render_unresolved(&mut out, plan, &painter);
    if !plan.changes.is_empty() {
        out.push_str("infisical-gitops will perform the following actions:\n\n");
        for change in &plan.changes {
            render_change(&mut out, change, &painter);
        }
    }
    if !plan.detected.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            painter.bold("Drift detected in projects with `mode: detect` (reported, not applied):")
        );
        for change in &plan.detected {
            render_change(&mut out, change, &painter);
        }
    }
    render_problems(&mut out, "Warnings:", &plan.warnings, &painter, "33");
    render_problems(
        &mut out,
        "Errors (apply refuses this plan):",
        &plan.errors,
        &painter,
        "31",
    );
    let _ = writeln!(out, "{}", painter.bold(&plan.verdict()));
    out
}

/// The headline first (`21 secrets not resolved, not written:`), then each backend-wide cause
/// once with the secrets it stopped, then each secret with its own reason.
fn render_unresolved(out: &mut String, plan: &Plan, painter: &Painter) {
    let Some(headline) = plan.unresolved_headline() else {
        return;
    };
    let _ = writeln!(
        out,
        "{}",
        painter.paint("31", &painter.bold(&format!("{headline}:")))
    );
    for group in plan.unresolved_groups() {
        match group.cause {
            Some(cause) => {
                let _ = writeln!(out, "  {} [{}]", Visible(cause), Visible(group.code));
                for item in group.secrets {
                    let _ = writeln!(
                        out,
                        "    ! {}: {}",
                        item.address,
                        Visible(&item.reason.message)
                    );
                }
            }
            None => {
                for item in group.secrets {
                    let _ = writeln!(
                        out,
                        "  ! {}: {} [{}]",
                        item.address,
                        Visible(&item.reason.message),
                        Visible(&item.reason.code)
                    );
                }
            }
        }
    }
    out.push('\n');
}

fn render_problems(
    out: &mut String,
    title: &str,
    problems: &[PlanProblem],
    painter: &Painter,
    code: &str,
) {
    if problems.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", painter.paint(code, &painter.bold(title)));
    for problem in problems {
        let _ = write!(out, "  - [{}] {}", problem.code, Visible(&problem.message));
        if let Some(help) = &problem.help {
            let _ = write!(out, "\n    help: {}", Visible(help));
        }
        out.push('\n');
    }
    out.push('\n');
}

fn render_change(out: &mut String, change: &Change, painter: &Painter) {
    let verb = match change.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Delete => "will be destroyed",
    };
    let _ = writeln!(
        out,
        "  {} {} ({})",
        painter.bold(&format!("# {}", change.address)),
        verb,
        change.reason.describe()
    );
    let symbol = change.action.symbol().to_string();
    let kind = change.address.kind();
    let create = change.action == Action::Create;
    let fields: Vec<_> = change
        .fields
        .iter()
        .filter(|f| {
            if create {
                shown_on_create(f)
            } else {
                !f.is_noop()
            }
        })
        .collect();
    if fields.is_empty() {
        let _ = writeln!(
            out,
            "  {} {kind} \"{}\"\n",
            painter.action(change.action, &symbol),
            change.address
        );
        return;
    }
    let _ = writeln!(
        out,
        "  {} {kind} \"{}\" {{",
        painter.action(change.action, &symbol),
        change.address
    );
    let width = fields.iter().map(|f| label(f).len()).max().unwrap_or(0);
    for field in fields {
        let _ = writeln!(
            out,
            "      {} {:width$} = {}",
            painter.action(change.action, &symbol),
            label(field),
            describe_field(field, create),
        );
    }
    out.push_str("    }\n\n");
}
