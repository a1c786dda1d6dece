//! The messages the engine posts, as platform-neutral [`RichMessage`]s. Templates are
//! data-shaped functions: one place to change what people see.

use chrono::{DateTime, Utc};

use crate::model::{truncate_chars, ActionKind, Button, Incident, RichMessage, Status, TimelineEntry};

use super::lifecycle::humanize;

/// Longest description shown on a card; the full text is in the API.
const CARD_DESCRIPTION_CHARS: usize = 1500;

/// The incident card: edited in place on every change.
pub fn incident_card(incident: &Incident) -> RichMessage {
    let mut card = RichMessage {
        title: format!("#{} · {}", incident.id, incident.title),
        severity: Some(incident.severity),
        status: Some(incident.status),
        ..Default::default()
    };
    let severity = if incident.severity_confirmed {
        format!("{} {}", incident.severity.emoji(), incident.severity)
    } else {
        format!("{} {} (unconfirmed)", incident.severity.emoji(), incident.severity)
    };
    card = card
        .with_field("Severity", severity)
        .with_field("Status", incident.status.label())
        .with_field("Source", incident.source.as_str())
        .with_field("Reported by", incident.created_by.display());
    if let Some(by) = &incident.acked_by {
        card = card.with_field("Acknowledged by", by.display());
    }
    if let Some(by) = &incident.mitigated_by {
        card = card.with_field("Mitigated by", by.display());
    }
    if let Some(by) = &incident.resolved_by {
        card = card.with_field("Resolved by", by.display());
    }
    if incident.llm_usage.input_tokens + incident.llm_usage.output_tokens > 0 {
        let u = incident.llm_usage;
        card = card.with_field(
            "LLM spend",
            format!("{} tokens · ${:.4}", u.input_tokens + u.output_tokens, u.cost_usd),
        );
    }
    if incident.fingerprint.is_some() && incident.status != Status::Resolved {
        let alert = match incident.alert_cleared_at {
            Some(at) => format!("✅ cleared at {}", at.format("%H:%M UTC")),
            None => "🔥 firing".to_string(),
        };
        card = card.with_field("Alert", alert);
    }
    if incident.escalation_step > 0 {
        card = card.with_field("Escalation", format!("step {}", incident.escalation_step));
    }
    if !incident.description.trim().is_empty() {
        card = card.with_section(None, truncate_chars(incident.description.trim(), CARD_DESCRIPTION_CHARS));
    }
    if !incident.labels.is_empty() {
        let labels: Vec<String> = incident.labels.iter().take(12).map(|(k, v)| format!("{k}={v}")).collect();
        card = card.with_section(Some("Labels"), truncate_chars(&labels.join("  "), 900));
    }
    card.buttons = if incident.status == Status::Resolved {
        vec![Button { action: ActionKind::Reopen, incident: incident.id }]
    } else {
        Button::lifecycle(incident.id)
    };
    card.footer = Some(format!(
        "opened {} · only a human can mark mitigated or resolved",
        incident.created_at.format("%Y-%m-%d %H:%M UTC")
    ));
    card
}

/// The one line a gated message gets: why, and how to override.
pub fn gated_hint(summary: &str) -> RichMessage {
    RichMessage::text(format!(
        "🤫 Not opening an incident: this looks like {summary}. Reply `investigate` in this thread to open one anyway."
    ))
}

/// Asked after an alert source says the alert stopped firing.
pub fn ask_to_resolve(incident: &Incident) -> RichMessage {
    RichMessage {
        buttons: vec![Button { action: ActionKind::Resolve, incident: incident.id }],
        ..RichMessage::text(format!(
            "🟢 The alert behind #{} cleared. If the incident is over, a human can resolve it.",
            incident.id
        ))
    }
}

/// One line per incident for `/incident list`.
pub fn list_line(incident: &Incident, now: DateTime<Utc>) -> String {
    let who = incident.acked_by.as_ref().map(|a| format!(", {}", a.display())).unwrap_or_default();
    format!(
        "#{} {} {} · {} · {} ({} ago{who})",
        incident.id,
        incident.severity.emoji(),
        incident.severity,
        incident.status.label(),
        truncate_chars(&incident.title, 120),
        humanize(now - incident.created_at),
    )
}

/// `/incident list`: active incidents, worst first.
pub fn incident_list(incidents: &[Incident], now: DateTime<Utc>) -> String {
    let mut active: Vec<&Incident> = incidents.iter().filter(|i| i.status.is_active()).collect();
    if active.is_empty() {
        return "No open incidents. 🌙".to_string();
    }
    active.sort_by_key(|i| (i.severity, std::cmp::Reverse(i.id)));
    let mut out = format!("{} open incident{}:", active.len(), if active.len() == 1 { "" } else { "s" });
    for incident in active.iter().take(25) {
        out.push('\n');
        out.push_str(&list_line(incident, now));
    }
    if active.len() > 25 {
        out.push_str(&format!("\n… and {} more", active.len() - 25));
    }
    out
}

/// `/incident status N`: the incident and its last timeline entries.
pub fn incident_status(incident: &Incident, timeline: &[TimelineEntry], now: DateTime<Utc>) -> String {
    let mut out = list_line(incident, now);
    if !timeline.is_empty() {
        out.push_str("\n  (times in UTC)");
    }
    for entry in timeline.iter().rev().take(8).collect::<Vec<_>>().into_iter().rev() {
        out.push_str(&format!(
            "\n  {} {} — {}",
            entry.at.format("%H:%M"),
            entry.actor.display(),
            truncate_chars(&entry.kind.describe(), 200)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, Person, Severity, Source};

    fn incident() -> Incident {
        let t = DateTime::parse_from_rfc3339("2026-11-23T02:00:00Z").unwrap().with_timezone(&Utc);
        let alice = Actor::Human(Person::new("slack", "U1", Some("alice".into())));
        let mut incident = Incident::new(42, "checkout 502s", Severity::High, Source::Slack, alice, t);
        incident.description = "p99 latency 9s, 30% 502".into();
        incident.labels = [("service".to_string(), "checkout".to_string())].into();
        incident
    }

    #[test]
    fn a_card_shows_what_a_responder_needs_and_the_four_buttons() {
        let card = incident_card(&incident());
        assert_eq!(
            card.plain_text(),
            "🟠 #42 · checkout 502s [OPEN]\nSeverity: 🟠 high (unconfirmed)\nStatus: OPEN\nSource: slack\n\
             Reported by: alice\np99 latency 9s, 30% 502\nLabels\nservice=checkout\n\
             opened 2026-11-23 02:00 UTC · only a human can mark mitigated or resolved"
        );
        let actions: Vec<_> = card.buttons.iter().map(|b| b.action).collect();
        assert_eq!(
            actions,
            vec![ActionKind::Ack, ActionKind::Escalate, ActionKind::Mitigate, ActionKind::Resolve]
        );
        let mut resolved = incident();
        resolved.status = Status::Resolved;
        assert_eq!(
            incident_card(&resolved).buttons,
            vec![Button { action: ActionKind::Reopen, incident: 42 }]
        );
    }

    #[test]
    fn the_list_puts_the_worst_first_and_skips_resolved() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T02:30:00Z").unwrap().with_timezone(&Utc);
        let mut low = incident();
        low.id = 1;
        low.severity = Severity::Low;
        let mut done = incident();
        done.id = 2;
        done.status = Status::Resolved;
        let text = incident_list(&[low, done, incident()], now);
        assert_eq!(
            text,
            "2 open incidents:\n#42 🟠 high · OPEN · checkout 502s (30 min ago)\n#1 🔵 low · OPEN · checkout 502s (30 min ago)"
        );
        assert_eq!(incident_list(&[], now), "No open incidents. 🌙");
    }
}
