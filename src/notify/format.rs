//! The request bodies of each format, from a [`Notification`]. Pure.
//!
//! Every string in a notification is already one line with visible escapes; here each format
//! escapes what its renderer would read as markup:
//!
//! | format | body | escaping |
//! |---|---|---|
//! | `slack` | `{"text": …}` (Slack incoming webhooks and compatible servers) | `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;` (no links, mentions or channel pings can be forged; `link_names` stays off) |
//! | `discord` | one embed, `allowed_mentions: {"parse": []}` | Markdown characters and `<`, `@` behind a backslash; no mention can ping |
//! | `teams` | a `message` with one Adaptive Card 1.4 attachment (Teams Workflows and incoming webhooks) | foreign text only in `TextRun`s, which render no Markdown; `{{` split so no date function runs |
//! | `json` | the notification as JSON | by `serde_json` |

use serde_json::{Value, json};

use super::NotifyFormat;
use super::detect::EventSeverity;
use super::message::{Notification, cut};

/// The name in chat messages.
const NAME: &str = "infisical-gitops";

/// The body for `format`.
pub(crate) fn render(format: NotifyFormat, notification: &Notification) -> Value {
    match format {
        NotifyFormat::Slack => slack(notification),
        NotifyFormat::Discord => discord(notification),
        NotifyFormat::Teams => teams(notification),
        NotifyFormat::Json => json(notification),
    }
}

/// The lines every chat format shows after the title: (label, text), foreign text unescaped.
fn facts(n: &Notification) -> Vec<(&'static str, String)> {
    let mut facts = vec![("Source", n.source.clone())];
    if let Some(revision) = &n.revision {
        facts.push(("Revision", revision.clone()));
    }
    if let Some(refused) = &n.refused_revision {
        facts.push(("Still refused", refused.clone()));
    }
    facts.push((
        "Outcome",
        format!("{} (trigger: {})", n.outcome.as_str(), n.trigger.as_str()),
    ));
    facts
}

fn error_lines(n: &Notification) -> Vec<String> {
    let mut lines = n.errors.clone();
    if n.more_errors > 0 {
        lines.push(format!("… and {} more (see /status)", n.more_errors));
    }
    lines
}

fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(n: &Notification) -> Value {
    let icon = match n.severity {
        EventSeverity::Error => ":red_circle:",
        EventSeverity::Warning => ":warning:",
        EventSeverity::Resolved => ":white_check_mark:",
    };
    let mut text = format!("{icon} *{NAME}: {}*", slack_escape(&n.title));
    for (label, value) in facts(n) {
        text.push_str(&format!("\n{label}: {}", slack_escape(&value)));
    }
    if let Some(url) = &n.commit_url {
        text.push_str(&format!("\n<{url}|View the commit>"));
    }
    for line in error_lines(n) {
        text.push_str(&format!("\n• {}", slack_escape(&line)));
    }
    json!({ "text": text })
}

/// Discord Markdown escaped: formatting, headings, quotes, lists, masked links, spoilers,
/// mentions and custom emoji all need one of these characters.
fn discord_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '~'
                | '`'
                | '|'
                | '>'
                | '<'
                | '#'
                | '-'
                | '['
                | ']'
                | '('
                | ')'
                | '@'
                | ':'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn discord(n: &Notification) -> Value {
    let color = match n.severity {
        EventSeverity::Error => 0x00d7_3a49,
        EventSeverity::Warning => 0x00db_ab09,
        EventSeverity::Resolved => 0x0028_a745,
    };
    let mut description = String::new();
    for (label, value) in facts(n) {
        description.push_str(&format!("**{label}:** {}\n", discord_escape(&value)));
    }
    for line in error_lines(n) {
        description.push_str(&format!("• {}\n", discord_escape(&line)));
    }
    let mut embed = json!({
        "title": cut(&discord_escape(&n.title), 256),
        "description": cut(description.trim_end(), 4096),
        "color": color,
        "timestamp": n.at,
    });
    if let Some(url) = &n.commit_url {
        embed["url"] = json!(url);
    }
    json!({
        "username": NAME,
        "embeds": [embed],
        "allowed_mentions": { "parse": [] },
    })
}

/// Text for a `TextRun` (no Markdown is rendered there): only the `{{…}}` date and time
/// functions need breaking up.
fn teams_text(text: &str) -> String {
    text.replace("{{", "{\u{a0}{")
}

fn teams(n: &Notification) -> Value {
    let color = match n.severity {
        EventSeverity::Error => "Attention",
        EventSeverity::Warning => "Warning",
        EventSeverity::Resolved => "Good",
    };
    let run = |text: String| json!({ "type": "RichTextBlock", "inlines": [ { "type": "TextRun", "text": teams_text(&text) } ] });
    let mut body = vec![json!({
        "type": "RichTextBlock",
        "inlines": [{
            "type": "TextRun",
            "text": teams_text(&format!("{NAME}: {}", n.title)),
            "weight": "Bolder",
            "size": "Medium",
            "color": color,
        }],
    })];
    for (label, value) in facts(n) {
        body.push(run(format!("{label}: {value}")));
    }
    for line in error_lines(n) {
        body.push(json!({
            "type": "RichTextBlock",
            "inlines": [{ "type": "TextRun", "text": teams_text(&line), "fontType": "Monospace" }],
        }));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(url) = &n.commit_url {
        card["actions"] =
            json!([{ "type": "Action.OpenUrl", "title": "View the commit", "url": url }]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

fn json(n: &Notification) -> Value {
    let mut value = serde_json::to_value(n).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("kind".into(), json!("infisical-gitops.notification"));
        map.insert("version".into(), json!(1));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::{ReconcileOutcome, ReconcileRecord, Trigger};
    use crate::notify::detect::Event;

    fn hostile() -> Notification {
        let mut record = ReconcileRecord::started(Trigger::Poll);
        record.outcome = ReconcileOutcome::Failed;
        record.revision = Some("0123456789abcdef".into());
        record.errors = vec![
            "api/prod:/#<!channel> <@U1|x> &amp; [click](https://evil.example) @everyone **b** {{DATE(2017-02-14T06:08:00Z)}}".into(),
        ];
        Notification::new(
            Event::ReconcileFailed,
            &record,
            "<https://evil|x>",
            None,
            None,
        )
    }

    #[test]
    fn slack_cannot_be_given_links_or_mentions() {
        let body = render(NotifyFormat::Slack, &hostile());
        let text = body["text"].as_str().unwrap();
        assert!(!text.contains('<'), "{text}");
        assert!(!text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        assert!(text.contains("&amp;amp;"), "{text}");
    }

    #[test]
    fn discord_escapes_markdown_and_never_pings() {
        let body = render(NotifyFormat::Discord, &hostile());
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
        let description = body["embeds"][0]["description"].as_str().unwrap();
        assert!(
            description.contains("\\[click\\]\\(https\\:"),
            "{description}"
        );
        assert!(description.contains("\\@everyone"), "{description}");
        assert!(description.contains("\\<\\@U1\\|x\\>"), "{description}");
        assert!(description.contains("\\*\\*b\\*\\*"), "{description}");
    }

    #[test]
    fn teams_puts_foreign_text_in_text_runs_only() {
        let body = render(NotifyFormat::Teams, &hostile());
        let card = &body["attachments"][0]["content"];
        assert_eq!(card["version"], "1.4");
        for block in card["body"].as_array().unwrap() {
            assert_eq!(block["type"], "RichTextBlock");
            for inline in block["inlines"].as_array().unwrap() {
                assert_eq!(inline["type"], "TextRun");
                assert!(!inline["text"].as_str().unwrap().contains("{{"));
            }
        }
    }
}
