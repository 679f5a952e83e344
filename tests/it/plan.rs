//! Planning: drift, ownership, adoption, prune safety, ordering, and every rendering.

use infisical_gitops::model::{Adoption, Mode};
use infisical_gitops::plan::render::{json, markdown, text};
use infisical_gitops::plan::testing::{DesiredBuilder, LiveBuilder, tag};
use infisical_gitops::plan::{Action, Plan, PlanPolicy, Reason, ResolvedState, plan};

use super::support::fixtures::{desired_prod, live_prod};

const CANARY: &str = "canary-5f0c2a9e-value";

fn render_all(plan: &Plan) -> String {
    format!(
        "{}\n----- json -----\n{}\n----- markdown -----\n{}",
        text::render(plan, text::TextOptions::default()),
        json::render(plan),
        markdown::render(plan)
    )
}

/// Each change as its symbol and address, in plan order.
fn order(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| format!("{} {}", c.action.symbol(), c.address))
        .collect()
}

fn assert_no_value(rendered: &str) {
    assert!(
        !rendered.contains(CANARY),
        "a value leaked into a rendering"
    );
    assert!(
        !rendered.contains("old-value"),
        "a live value leaked into a rendering"
    );
}

/// A repository and an Infisical that differ in every way the planner knows.
fn mixed() -> (ResolvedState, infisical_gitops::plan::LiveState) {
    let desired = DesiredBuilder::new()
        .project("k3s-infrastructure", &["dev", "staging", "prod"])
        .policy("k3s-infrastructure", |p| p.prune = true)
        .with_project("k3s-infrastructure", |p| {
            p.description = Some("Cluster services".to_string())
        })
        .secret(
            "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
            CANARY,
        )
        .with_secret(
            "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
            |s| {
                s.comment = "rotated quarterly".to_string();
                s.tags.insert(tag("database"));
            },
        )
        .literal("k3s-infrastructure/prod:/databases#POSTGRES_USER", " app ")
        .generated("k3s-infrastructure/prod:/apps/web#SESSION_KEY")
        .unresolved("k3s-infrastructure/prod:/apps/web#SMTP_PASSWORD")
        .project("billing-service", &["prod"])
        .secret("billing-service/prod:/#STRIPE_KEY", CANARY)
        .project("legacy-app", &["prod"])
        .policy("legacy-app", |p| p.adoption = Adoption::CreateOrAdopt)
        .secret("legacy-app/prod:/#API_TOKEN", CANARY)
        .with_secret("legacy-app/prod:/#API_TOKEN", |s| {
            s.metadata
                .insert("team".to_string(), "payments".to_string());
        })
        .build();
    let live = LiveBuilder::new()
        .project("k3s-infrastructure", true, &["dev", "prod"])
        .with_project("k3s-infrastructure", |p| {
            p.description = Some("Cluster services\n\nmanaged-by: infisical-gitops".to_string())
        })
        .folder("k3s-infrastructure/prod:/databases", true)
        .secret(
            "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
            "old-value",
            true,
        )
        .secret(
            "k3s-infrastructure/prod:/databases#POSTGRES_USER",
            "app",
            true,
        )
        .secret("k3s-infrastructure/prod:/#OLD_TOKEN", "old-value", true)
        .secret("k3s-infrastructure/prod:/#HAND_MADE", "old-value", false)
        .project("legacy-app", false, &["prod"])
        .secret("legacy-app/prod:/#API_TOKEN", CANARY, false)
        .build();
    (desired, live)
}

#[test]
fn mixed_plan_renders_in_every_format() {
    let (desired, live) = mixed();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    let rendered = render_all(&plan);
    assert_no_value(&rendered);
    insta::assert_snapshot!(rendered);
}

#[test]
fn colours_only_when_asked() {
    let (desired, live) = mixed();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    let plain = text::render(&plan, text::TextOptions { color: false });
    let coloured = text::render(&plan, text::TextOptions { color: true });
    assert!(!plain.contains('\u{1b}'));
    assert!(coloured.contains("\u{1b}[32m+\u{1b}[0m"));
    assert!(coloured.contains("\u{1b}[31m-\u{1b}[0m"));
}

#[test]
fn plans_are_deterministic_and_json_round_trips() {
    let (desired, live) = mixed();
    let first = plan(&desired, &live, &PlanPolicy::default());
    let second = plan(&desired, &live, &PlanPolicy::default());
    assert_eq!(first, second);
    assert_eq!(json::render(&first), json::render(&second));
    let parsed = json::parse(&json::render(&first)).expect("plan document parses");
    assert_eq!(parsed, first);
}

#[test]
fn parents_are_created_first_and_deletes_come_last_children_first() {
    let desired = desired_prod()
        .policy("k3s-infrastructure", |p| p.prune = true)
        .secret("k3s-infrastructure/prod:/apps/web/api#TOKEN", "x")
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/old/deep#A", "y", true)
        .secret("k3s-infrastructure/prod:/old#B", "y", true)
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    insta::assert_debug_snapshot!(order(&plan), @r#"
    [
        "+ k3s-infrastructure/prod:/apps",
        "+ k3s-infrastructure/prod:/apps/web",
        "+ k3s-infrastructure/prod:/apps/web/api",
        "+ k3s-infrastructure/prod:/apps/web/api#TOKEN",
        "- k3s-infrastructure/prod:/old/deep#A",
        "- k3s-infrastructure/prod:/old#B",
        "- k3s-infrastructure/prod:/old/deep",
        "- k3s-infrastructure/prod:/old",
    ]
    "#);
}

#[test]
fn marked_folders_are_pruned_children_first() {
    let desired = desired_prod()
        .policy("k3s-infrastructure", |p| p.prune = true)
        .secret("k3s-infrastructure/prod:/#KEEP", "x")
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#KEEP", "x", true)
        .secret("k3s-infrastructure/prod:/old/deep#A", "y", true)
        .folder("k3s-infrastructure/prod:/hand", true)
        .secret("k3s-infrastructure/prod:/hand/made#B", "y", false)
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    insta::assert_debug_snapshot!(order(&plan), @r#"
    [
        "- k3s-infrastructure/prod:/old/deep#A",
        "- k3s-infrastructure/prod:/old/deep",
        "- k3s-infrastructure/prod:/old",
    ]
    "#);
    // `/hand/made` was not created by infisical-gitops (no marker): untouched, and `/hand`
    // (marked) is kept because it still holds it.
    let warnings: Vec<&str> = plan.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(warnings, ["folder-kept"]);
}

#[test]
fn no_false_drift_for_trimmed_values_and_server_fields() {
    let desired = desired_prod()
        .secret("k3s-infrastructure/prod:/#A", "  padded  ")
        .secret("k3s-infrastructure/prod:/#B", "pem\n\n")
        .secret("k3s-infrastructure/prod:/#C", "${prod.apps.KEY}")
        .generated("k3s-infrastructure/prod:/#D")
        .with_secret("k3s-infrastructure/prod:/#A", |s| {
            s.comment = " note ".to_string()
        })
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#A", "padded", true)
        .with_secret("k3s-infrastructure/prod:/#A", |s| {
            s.comment = "note".to_string();
            s.version = 42;
        })
        .secret("k3s-infrastructure/prod:/#B", "pem\n", true)
        .secret("k3s-infrastructure/prod:/#C", "${prod.apps.KEY}", true)
        .secret("k3s-infrastructure/prod:/#D", "generated-long-ago", true)
        .with_secret("k3s-infrastructure/prod:/#D", |s| {
            s.metadata
                .insert("isEncrypted".to_string(), "x".to_string());
            s.metadata.remove("isEncrypted");
        })
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    assert!(
        plan.is_empty(),
        "{}",
        text::render(&plan, Default::default())
    );
    insta::assert_snapshot!(text::render(&plan, Default::default()), @"No changes. Infisical matches the repository.");
}

#[test]
fn an_unmarked_secret_under_create_is_an_error_not_an_update() {
    let desired = desired_prod()
        .secret("k3s-infrastructure/prod:/#TOKEN", CANARY)
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#TOKEN", "old-value", false)
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    assert!(plan.is_empty());
    assert!(!plan.is_applicable());
    let rendered = text::render(&plan, Default::default());
    assert_no_value(&rendered);
    insta::assert_snapshot!(rendered, @r"
    Errors (apply refuses this plan):
      - [unowned-object] secret `k3s-infrastructure/prod:/#TOKEN` exists in Infisical without the ownership marker
        help: set `spec.policy.adoption: create-or-adopt` (or `adopt`) to take it over, or remove it from the repository

    No changes to apply.
    ");
}

#[test]
fn an_unmarked_project_under_create_is_an_error() {
    let desired = desired_prod()
        .secret("k3s-infrastructure/prod:/#TOKEN", CANARY)
        .build();
    let live = LiveBuilder::new()
        .project("k3s-infrastructure", false, &["prod"])
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    assert!(plan.is_empty());
    assert_eq!(plan.errors[0].code, "unowned-object");
}

#[test]
fn adopt_only_creates_nothing() {
    let desired = desired_prod()
        .policy("k3s-infrastructure", |p| p.adoption = Adoption::Adopt)
        .secret("k3s-infrastructure/prod:/#EXISTS", CANARY)
        .secret("k3s-infrastructure/prod:/#MISSING", CANARY)
        .build();
    let live = LiveBuilder::new()
        .project("k3s-infrastructure", false, &["prod"])
        .secret("k3s-infrastructure/prod:/#EXISTS", CANARY, false)
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    let changes: Vec<(Action, Reason, String)> = plan
        .changes
        .iter()
        .map(|c| (c.action, c.reason, c.address.to_string()))
        .collect();
    assert_eq!(
        changes,
        [
            (
                Action::Update,
                Reason::Adopted,
                "k3s-infrastructure".to_string()
            ),
            (
                Action::Update,
                Reason::Adopted,
                "k3s-infrastructure/prod:/#EXISTS".to_string()
            ),
        ]
    );
    assert_eq!(plan.errors[0].code, "adopt-only-missing");
}

#[test]
fn managed_secrets_are_kept_when_prune_is_off() {
    let desired = desired_prod()
        .secret("k3s-infrastructure/prod:/#KEEP", "x")
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#KEEP", "x", true)
        .secret("k3s-infrastructure/prod:/#GONE", "x", true)
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    assert!(plan.is_empty());
    assert_eq!(plan.warnings[0].code, "prune-off");
}

#[test]
fn deletions_above_the_limit_are_refused_unless_forced() {
    let mut desired = desired_prod()
        .policy("k3s-infrastructure", |p| {
            p.prune = true;
            p.max_deletions = 2;
        })
        .secret("k3s-infrastructure/prod:/#KEEP", "x");
    let _ = &mut desired;
    let desired = desired.build();
    let mut live = live_prod().secret("k3s-infrastructure/prod:/#KEEP", "x", true);
    for index in 0..3 {
        live = live.secret(&format!("k3s-infrastructure/prod:/#OLD_{index}"), "x", true);
    }
    let live = live.build();
    let refused = plan(&desired, &live, &PlanPolicy::default());
    assert_eq!(refused.summary().destroy, 3);
    assert!(!refused.is_applicable());
    insta::assert_snapshot!(text::render(&refused, Default::default()).lines().rev().take(5).collect::<Vec<_>>().join("\n"), @r"
    Plan: 0 to add, 0 to change, 3 to destroy.

        help: check the repository; raise `spec.policy.maxDeletions` or pass --force-deletions
      - [too-many-deletions] project `k3s-infrastructure` would delete 3 objects, more than its maxDeletions (2)
    Errors (apply refuses this plan):
    ");
    let forced = plan(
        &desired,
        &live,
        &PlanPolicy {
            force_deletions: true,
            ..PlanPolicy::default()
        },
    );
    assert!(forced.is_applicable());
}

#[test]
fn deletions_from_an_empty_or_partial_source_are_refused() {
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#OLD", "x", true)
        .build();
    let empty = desired_prod()
        .policy("k3s-infrastructure", |p| p.prune = true)
        .build();
    let refused = plan(&empty, &live, &PlanPolicy::default());
    assert_eq!(refused.errors[0].code, "unsafe-deletions");

    let partial = desired_prod()
        .policy("k3s-infrastructure", |p| p.prune = true)
        .secret("k3s-infrastructure/prod:/#NEW", "x")
        .incomplete_source()
        .build();
    let refused = plan(&partial, &live, &PlanPolicy::default());
    assert_eq!(refused.errors[0].code, "unsafe-deletions");

    let unresolved = desired_prod()
        .policy("k3s-infrastructure", |p| p.prune = true)
        .unresolved("k3s-infrastructure/prod:/#NEW")
        .build();
    let refused = plan(&unresolved, &live, &PlanPolicy::default());
    assert_eq!(refused.errors[0].code, "unsafe-deletions");
    assert_eq!(refused.unresolved.len(), 1);
}

#[test]
fn detect_mode_reports_drift_without_changes() {
    let desired = desired_prod()
        .policy("k3s-infrastructure", |p| p.mode = Mode::Detect)
        .secret("k3s-infrastructure/prod:/#TOKEN", CANARY)
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#TOKEN", "old-value", true)
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    assert!(plan.is_empty());
    assert!(plan.has_changes());
    let rendered = render_all(&plan);
    assert_no_value(&rendered);
    insta::assert_snapshot!(rendered);
}

#[test]
fn an_empty_plan_renders_in_every_format() {
    let desired = desired_prod()
        .secret("k3s-infrastructure/prod:/#TOKEN", CANARY)
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#TOKEN", CANARY, true)
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    assert!(plan.is_empty());
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn the_observed_fingerprint_follows_versions_not_values() {
    let live = |version: u64, value: &str| {
        live_prod()
            .secret("k3s-infrastructure/prod:/#TOKEN", value, true)
            .with_secret("k3s-infrastructure/prod:/#TOKEN", |s| s.version = version)
            .build()
    };
    use infisical_gitops::plan::fingerprint::observed;
    assert_eq!(observed(&live(1, "a")), observed(&live(1, "b")));
    assert_ne!(observed(&live(1, "a")), observed(&live(2, "a")));
}

/// A plan with nothing to change but unresolved secrets: three stopped by one locked vault and
/// one with its own reason.
fn locked_vault_plan() -> Plan {
    use infisical_gitops::plan::{Unresolved, UnresolvedSecret};
    let locked = |address: &str, reference: &str, declared: &str| {
        UnresolvedSecret {
        address: address.parse().unwrap(),
        reason: Unresolved {
            code: "vault-locked".to_string(),
            message: format!("cannot read {reference} (declared at {declared})"),
            cause: Some(
                "the bitwarden vault is locked; unlock: `bw unlock`, then restart `bw serve` with BW_SESSION, or POST /unlock"
                    .to_string(),
            ),
        },
    }
    };
    Plan {
        unresolved: vec![
            locked(
                "k3s-infrastructure/prod:/databases#POSTGRES_PASSWORD",
                "bitwarden item 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01 password",
                "secrets/databases.yaml:15:12",
            ),
            locked(
                "k3s-infrastructure/prod:/databases#POSTGRES_USER",
                "bitwarden item 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01 username",
                "secrets/databases.yaml:11:12",
            ),
            UnresolvedSecret {
                address: "k3s-infrastructure/prod:/mail#SMTP_PASSWORD".parse().unwrap(),
                reason: Unresolved {
                    code: "not-found".to_string(),
                    message: "cannot read bitwarden item 00000000-0000-4000-8000-00000000dead password: no bitwarden item has id 00000000-0000-4000-8000-00000000dead (declared at secrets/mail.yaml:7:12)".to_string(),
                    cause: None,
                },
            },
            locked(
                "k3s-infrastructure/prod:/redis#REDIS_PASSWORD",
                "bitwarden item 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c02 password",
                "secrets/redis.yaml:9:12",
            ),
        ],
        observed: "sha256:0".to_string(),
        ..Plan::default()
    }
}

#[test]
fn unresolved_secrets_lead_every_rendering_and_a_locked_vault_is_one_headline() {
    let plan = locked_vault_plan();
    let rendered = render_all(&plan);
    assert!(!rendered.contains("Infisical matches"), "{rendered}");
    let text = text::render(&plan, text::TextOptions::default());
    assert!(text.starts_with("4 secrets not resolved, not written:\n"));
    assert_eq!(text.matches("the bitwarden vault is locked").count(), 1);
    assert_eq!(
        markdown::render(&plan)
            .matches("the bitwarden vault is locked")
            .count(),
        1
    );
    insta::assert_snapshot!(rendered);
    // The cause survives a saved plan.
    assert_eq!(json::parse(&json::render(&plan)).unwrap(), plan);

    let one = Plan {
        unresolved: plan.unresolved[2..3].to_vec(),
        ..plan.clone()
    };
    assert_eq!(
        one.verdict(),
        "1 secret not resolved, not written. No changes to apply."
    );
}

#[test]
fn non_sensitive_literals_are_shown_and_sensitive_values_never() {
    let desired = DesiredBuilder::new()
        .project("k3s-infrastructure", &["prod"])
        .literal("k3s-infrastructure/prod:/#POSTGRES_HOST", "postgres.local")
        .literal("k3s-infrastructure/prod:/#POSTGRES_PORT", "5432")
        .literal("k3s-infrastructure/prod:/#LOG_FORMAT", "line one\nline two")
        .secret("k3s-infrastructure/prod:/#POSTGRES_PASSWORD", CANARY)
        .build();
    let live = LiveBuilder::new()
        .project("k3s-infrastructure", true, &["prod"])
        // Someone set the port in the UI: the live value is never shown, only the new one.
        .secret("k3s-infrastructure/prod:/#POSTGRES_PORT", "old-value", true)
        .build();
    let plan = plan(&desired, &live, &PlanPolicy::default());
    let rendered = render_all(&plan);
    assert_no_value(&rendered);
    let text = text::render(&plan, text::TextOptions::default());
    assert!(text.contains(r#"+ value  = "postgres.local""#), "{text}");
    assert!(
        text.contains(r#"~ value = (not shown) -> "5432""#),
        "{text}"
    );
    assert!(
        text.contains(r#"+ value  = "line one\nline two""#),
        "{text}"
    );
    assert!(text.contains("+ value  = (sensitive value)"), "{text}");
    let markdown = markdown::render(&plan);
    assert!(
        markdown.contains(r#"value: "postgres.local""#),
        "{markdown}"
    );
    let document: serde_json::Value = serde_json::from_str(&json::render(&plan)).unwrap();
    let value_of = |address: &str| {
        document["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .unwrap()["fields"][0]["change"]
            .clone()
    };
    assert_eq!(
        value_of("k3s-infrastructure/prod:/#POSTGRES_HOST"),
        serde_json::json!({"kind": "literal", "value": "postgres.local"})
    );
    assert_eq!(
        value_of("k3s-infrastructure/prod:/#POSTGRES_PASSWORD"),
        serde_json::json!({"kind": "sensitive"})
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn a_backed_up_secret_to_create_needs_a_backup_store() {
    let desired = || {
        DesiredBuilder::new()
            .project("k3s-infrastructure", &["prod"])
            .backed_up("k3s-infrastructure/prod:/#ENCRYPTION_KEY")
            .backed_up("k3s-infrastructure/prod:/#EXISTING_KEY")
    };
    let live = LiveBuilder::new()
        .project("k3s-infrastructure", true, &["prod"])
        .secret("k3s-infrastructure/prod:/#EXISTING_KEY", "old-value", true)
        .build();
    let without = plan(&desired().build(), &live, &PlanPolicy::default());
    assert!(!without.is_applicable());
    // Only the secret to create needs the backup; the existing one is never regenerated.
    insta::assert_snapshot!(text::render(&without, Default::default()), @r"
    Errors (apply refuses this plan):
      - [backup-unavailable] secret `k3s-infrastructure/prod:/#ENCRYPTION_KEY` is generated with `backupTo: bitwarden`, but no writable bitwarden vault is configured for the backup
        help: run `bw serve` and pass --bitwarden-url (an export file from --bitwarden-export is read-only); or drop `backupTo`

    No changes to apply.
    ");

    let with = plan(
        &desired().build(),
        &live,
        &PlanPolicy {
            generated_backup: true,
            ..PlanPolicy::default()
        },
    );
    assert!(with.is_applicable());
    assert_eq!(order(&with), ["+ k3s-infrastructure/prod:/#ENCRYPTION_KEY"]);

    // A detect-mode project never writes: it reports the missing secret and needs no store.
    let detect = plan(
        &desired()
            .policy("k3s-infrastructure", |p| p.mode = Mode::Detect)
            .build(),
        &live,
        &PlanPolicy::default(),
    );
    assert!(detect.is_applicable());
    assert_eq!(detect.detected.len(), 1);
}

/// A key that would end its code span and table cell and open an HTML comment, a comment and
/// an unresolved reason with newlines and a terminal escape: every rendering keeps them inside
/// their own line, span and cell, so the deletion and its error stay visible.
#[test]
fn hostile_names_and_messages_are_escaped_in_markdown_and_text() {
    let hostile = "k3s-infrastructure/prod:/#AAA`|<!--";
    let desired = desired_prod()
        .policy("k3s-infrastructure", |p| p.prune = true)
        .literal(hostile, "x")
        .with_secret(hostile, |s| {
            s.comment = "fine\n\n<!-- everything below is hidden | `x`".to_string();
        })
        .unresolved("k3s-infrastructure/prod:/#NEW")
        .build();
    let live = live_prod()
        .secret("k3s-infrastructure/prod:/#OLD", "x", true)
        .build();
    let mut plan = plan(&desired, &live, &PlanPolicy::default());
    plan.unresolved[0].reason.message =
        "vault said:\n\n<!-- \u{1b}[2Jforged line\n</details>".to_string();
    let markdown = markdown::render(&plan);
    let text = text::render(&plan, text::TextOptions::default());

    // No raw HTML anywhere: every `<` is escaped or inside a code span.
    for line in markdown.lines() {
        let outside = outside_code_spans(line).replace("<br>", "");
        assert!(
            !outside.replace("\\<", "").contains('<'),
            "raw HTML in {line:?}"
        );
    }
    // Each table row has exactly its six cell separators.
    for row in markdown.lines().filter(|l| l.starts_with("| ")) {
        let separators = row.matches('|').count() - row.matches("\\|").count();
        assert_eq!(separators, 6, "{row}");
    }
    assert!(markdown.contains("`unsafe-deletions`"), "{markdown}");
    assert!(markdown.contains("#OLD`"), "{markdown}");
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(!text.contains("\nforged line"), "{text}");
    insta::assert_snapshot!(format!("{text}\n----- markdown -----\n{markdown}"));
}

/// `line` without its CommonMark code spans (a backtick run up to the next run of the same
/// length; an unmatched run is text).
fn outside_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut index = 0;
    while index < chars.len() {
        if chars[index] == '\\' && index + 1 < chars.len() {
            out.push(chars[index]);
            out.push(chars[index + 1]);
            index += 2;
            continue;
        }
        if chars[index] != '`' {
            out.push(chars[index]);
            index += 1;
            continue;
        }
        let run = chars[index..].iter().take_while(|c| **c == '`').count();
        let mut end = None;
        let mut probe = index + run;
        while probe < chars.len() {
            if chars[probe] == '`' {
                let other = chars[probe..].iter().take_while(|c| **c == '`').count();
                if other == run {
                    end = Some(probe + run);
                    break;
                }
                probe += other;
            } else {
                probe += 1;
            }
        }
        match end {
            Some(end) => index = end,
            None => {
                out.extend(&chars[index..index + run]);
                index += run;
            }
        }
    }
    out
}

/// Imports: a missing one is created at its position, a misplaced one moved, an undeclared one
/// deleted only with prune, and the creates and moves of a folder run by target position.
#[test]
fn imports_are_created_moved_and_pruned_in_position_order() {
    let desired = |prune: bool| {
        DesiredBuilder::new()
            .project("web-apps", &["dev", "prod"])
            .policy("web-apps", |p| p.prune = prune)
            .folder("web-apps/prod:/shared")
            .folder("web-apps/prod:/z-last")
            .imports(
                "web-apps/prod:/web",
                &["prod:/z-last", "prod:/", "dev:/", "prod:/shared"],
            )
            .build()
    };
    let live = LiveBuilder::new()
        .project("web-apps", true, &["dev", "prod"])
        .folder("web-apps/prod:/shared", true)
        .folder("web-apps/prod:/z-last", true)
        .folder("web-apps/prod:/web", true)
        .imports(
            "web-apps/prod:/web",
            &[
                "prod:/",
                "prod:/old",
                "prod:/shared",
                "prod:/z-last",
                "prod:/old",
            ],
        )
        .build();
    let pruned = plan(&desired(true), &live, &PlanPolicy::default());
    assert!(pruned.errors.is_empty(), "{:?}", pruned.errors);
    assert_eq!(
        order(&pruned),
        [
            "~ web-apps/prod:/web<-prod:/z-last",
            "+ web-apps/prod:/web<-dev:/",
            // `/old` still sits before it: deletes run last
            "~ web-apps/prod:/web<-prod:/shared",
            "- web-apps/prod:/web<-prod:/old",
        ]
    );
    let after = infisical_gitops::plan::simulate::simulate(&pruned, &desired(true), &live);
    let again = plan(&desired(true), &after, &PlanPolicy::default());
    assert!(again.changes.is_empty(), "converges: {:?}", again.changes);
    let rendered = render_all(&pruned);
    insta::assert_snapshot!("imports", rendered);

    let kept = plan(&desired(false), &live, &PlanPolicy::default());
    assert_eq!(
        order(&kept),
        [
            "~ web-apps/prod:/web<-prod:/z-last",
            "+ web-apps/prod:/web<-dev:/",
            "~ web-apps/prod:/web<-prod:/shared",
        ]
    );
    assert!(
        kept.warnings.iter().any(|w| w.code == "prune-off"
            && w.message.contains("2 import(s) into `web-apps/prod:/web`")),
        "{:?}",
        kept.warnings
    );
}
