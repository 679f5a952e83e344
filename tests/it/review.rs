//! The review client against GitLab and GitHub doubles: one plan comment per request found
//! again across pages and updated in place, commit statuses, and clear errors.

use infisical_gitops::propose::review::{
    self, CommentWrite, CommitId, CommitStatus, PLAN_MARKER, Review, StatusContext, StatusState,
};
use infisical_gitops::propose::{ForgeConfig, ForgeKind};
use secrecy::SecretString;

use super::forge_double::{BOT, FORGE_TOKEN, ForgeDouble, Kind};

pub(crate) const SHA: &str = "3f786850e387550fdab836ed7e6dc881de23001b";

pub(crate) fn config(double: &ForgeDouble, token: &str) -> ForgeConfig {
    match double.kind() {
        Kind::GitLab => ForgeConfig {
            kind: ForgeKind::GitLab,
            api_url: format!("{}/api/v4", double.url),
            project: "infra/secrets".to_string(),
            token: SecretString::from(token),
        },
        Kind::GitHub => ForgeConfig {
            kind: ForgeKind::GitHub,
            api_url: double.url.clone(),
            project: "acme/secrets".to_string(),
            token: SecretString::from(token),
        },
    }
}

fn status(state: StatusState, description: &str) -> CommitStatus {
    CommitStatus {
        context: StatusContext::Plan,
        state,
        description: description.to_string(),
        target_url: Some("https://ci.example.invalid/jobs/1".to_string()),
    }
}

/// Request 17 with 120 comments by others, then (on `with_ours`) our marked one on page 3.
async fn busy_request(kind: Kind) -> (ForgeDouble, std::sync::Arc<dyn Review>) {
    let double = ForgeDouble::start(kind).await;
    {
        let mut forge = double.lock();
        forge.open(17, 120);
        forge.commits.insert(SHA.to_string());
    }
    let client = review::from_config(&config(&double, FORGE_TOKEN)).unwrap();
    (double, client)
}

async fn one_comment_updated_in_place(kind: Kind) {
    let (double, client) = busy_request(kind).await;
    // Someone else's comment carrying the marker is never taken for ours.
    let spoof = double
        .lock()
        .add(17, "mallory", &format!("{PLAN_MARKER}\nall good, merge it"));
    let first = client
        .upsert_plan_comment(17, "### infisical-gitops plan\n\nfirst\n")
        .await
        .unwrap();
    assert_eq!(first.write, CommentWrite::Created);
    for push in ["second", "third"] {
        let again = client
            .upsert_plan_comment(17, &format!("### infisical-gitops plan\n\n{push}\n"))
            .await
            .unwrap();
        assert_eq!(again.write, CommentWrite::Updated);
        assert_eq!(again.id, first.id);
    }
    let forge = double.lock();
    let ours: Vec<_> = forge
        .plan_comments(17)
        .into_iter()
        .filter(|c| c.author == BOT)
        .collect();
    assert_eq!(ours.len(), 1, "one comment");
    assert_eq!(
        ours[0].body,
        format!("{PLAN_MARKER}\n### infisical-gitops plan\n\nthird\n")
    );
    let mallory = forge.comments[&17].iter().find(|c| c.id == spoof).unwrap();
    assert!(mallory.body.ends_with("all good, merge it"), "untouched");
    // The search went through every page (122 comments, 50 a page).
    let listed = forge
        .requests
        .iter()
        .filter(|r| r.starts_with("GET") && r.contains("/17/comments") || r.contains("/17/notes?"))
        .count();
    assert!(listed >= 3, "{:#?}", forge.requests);
}

#[tokio::test]
async fn gitlab_keeps_one_plan_note_found_across_pages() {
    one_comment_updated_in_place(Kind::GitLab).await;
}

#[tokio::test]
async fn github_keeps_one_plan_comment_found_across_link_pages() {
    one_comment_updated_in_place(Kind::GitHub).await;
}

#[tokio::test]
async fn a_ci_job_token_cannot_be_fooled_into_editing_a_spoofed_comment() {
    for kind in [Kind::GitLab, Kind::GitHub] {
        let (double, client) = busy_request(kind).await;
        double.lock().identity_refused = true;
        double
            .lock()
            .add(17, "mallory", &format!("{PLAN_MARKER}\nspoofed"));
        // The spoofed comment is tried, refused (403), and our own is written.
        let written = client.upsert_plan_comment(17, "plan\n").await.unwrap();
        assert_eq!(written.write, CommentWrite::Created);
        let forge = double.lock();
        let plans = forge.plan_comments(17);
        assert_eq!(plans.len(), 2);
        assert!(
            plans
                .iter()
                .any(|c| c.author == "mallory" && c.body.ends_with("spoofed"))
        );
    }
}

async fn statuses(kind: Kind) -> Vec<(String, String, String)> {
    let (double, client) = busy_request(kind).await;
    let commit = CommitId::parse(SHA).unwrap();
    client
        .set_status(&commit, &status(StatusState::Pending, "planning"))
        .await
        .unwrap();
    // The same state twice (GitLab refuses the transition; that is fine).
    client
        .set_status(&commit, &status(StatusState::Pending, "planning"))
        .await
        .unwrap();
    let long = format!("plan: 1 to add\n\u{1b}[31m{}", "x".repeat(400));
    client
        .set_status(&commit, &status(StatusState::Success, &long))
        .await
        .unwrap();
    client
        .set_status(
            &commit,
            &CommitStatus {
                context: StatusContext::Apply,
                state: StatusState::Failed,
                description: "2 secrets not resolved".to_string(),
                target_url: None,
            },
        )
        .await
        .unwrap();
    let forge = double.lock();
    for status in &forge.statuses {
        assert_eq!(status.sha, SHA);
        assert!(!status.description.contains('\n') && !status.description.contains('\u{1b}'));
    }
    assert_eq!(
        forge.statuses[0].target_url.as_deref(),
        Some("https://ci.example.invalid/jobs/1")
    );
    forge
        .statuses
        .iter()
        .map(|s| {
            (
                s.context.clone(),
                s.state.clone(),
                s.description.chars().count().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn statuses_use_each_forge_s_states_and_bounds() {
    let gitlab = statuses(Kind::GitLab).await;
    let github = statuses(Kind::GitHub).await;
    insta::assert_debug_snapshot!("review_statuses", (gitlab, github));
}

#[tokio::test]
async fn forge_failures_are_clear_and_never_show_the_token() {
    let mut messages = Vec::new();
    for kind in [Kind::GitLab, Kind::GitHub] {
        for fail in [401, 404, 503] {
            let (double, client) = busy_request(kind).await;
            if fail == 401 {
                let wrong = review::from_config(&config(&double, "wrong-token")).unwrap();
                let error = wrong.upsert_plan_comment(17, "plan").await.unwrap_err();
                messages.push(format!("{kind:?} comment {fail}: {error}"));
                continue;
            }
            double.lock().fail_with = Some(fail);
            let error = client.upsert_plan_comment(17, "plan").await.unwrap_err();
            messages.push(format!("{kind:?} comment {fail}: {error}"));
            let error = client
                .set_status(
                    &CommitId::parse(SHA).unwrap(),
                    &status(StatusState::Pending, "planning"),
                )
                .await
                .unwrap_err();
            messages.push(format!("{kind:?} status {fail}: {error}"));
        }
        // An unknown request, an unknown commit.
        let (_double, client) = busy_request(kind).await;
        let error = client.upsert_plan_comment(404, "plan").await.unwrap_err();
        messages.push(format!("{kind:?} unknown request: {error}"));
        let error = client
            .set_status(
                &CommitId::parse(&"0".repeat(40)).unwrap(),
                &status(StatusState::Pending, "planning"),
            )
            .await
            .unwrap_err();
        messages.push(format!("{kind:?} unknown commit: {error}"));
    }
    let text = messages.join("\n");
    assert!(!text.contains(FORGE_TOKEN));
    insta::assert_snapshot!("review_forge_failures", text);
}

#[tokio::test]
async fn a_next_page_outside_the_api_is_not_followed() {
    let (double, client) = busy_request(Kind::GitHub).await;
    double.lock().forged_next_link = Some("http://127.0.0.2:9/steal?page=2".to_string());
    let error = client.upsert_plan_comment(17, "plan").await.unwrap_err();
    assert!(
        error.to_string().contains("outside the configured API URL"),
        "{error}"
    );
    let forge = double.lock();
    assert_eq!(
        forge
            .requests
            .iter()
            .filter(|r| r.contains("comments"))
            .count(),
        1,
        "{:#?}",
        forge.requests
    );
}

#[tokio::test]
async fn a_bad_status_link_is_refused_before_any_call() {
    let (double, client) = busy_request(Kind::GitLab).await;
    let mut bad = status(StatusState::Pending, "planning");
    bad.target_url = Some("javascript:alert(1)".to_string());
    let error = client
        .set_status(&CommitId::parse(SHA).unwrap(), &bad)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("http:// or https://"), "{error}");
    assert!(double.lock().statuses.is_empty());
}
