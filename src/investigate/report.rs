//! What the investigation looks like in chat: the live progress message, the plan, and
//! what a refresh found changed. Plain [`RichMessage`]s; platforms render and escape.

use std::time::Duration;

use super::plan::{Author, Plan};
use super::Chunk;
use crate::model::{truncate_chars, ActionKind, Button, FetchStatus, Incident, RichMessage};

/// A source's line while the investigation runs.
pub enum Progress<'a> {
    Pending(&'a str),
    Done(&'a Chunk),
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn chunk_line(chunk: &Chunk) -> String {
    let detail = match chunk.status {
        FetchStatus::Ok if chunk.text.trim().is_empty() => chunk.note.clone(),
        FetchStatus::Ok => truncate_chars(chunk.text.lines().next().unwrap_or("").trim(), 90),
        _ => chunk.note.clone(),
    };
    let detail = if detail.is_empty() { String::new() } else { format!(" — {detail}") };
    format!("{} {} ({} ms){detail}", chunk.status.mark(), chunk.source, chunk.elapsed_ms)
}

/// "🔎 Investigating #42…" with one line per source.
pub fn progress(incident: &Incident, lines: &[Progress<'_>], refresh: bool) -> RichMessage {
    let done = lines.iter().filter(|l| matches!(l, Progress::Done(_))).count();
    let verb = if refresh { "Refreshing context for" } else { "Investigating" };
    let title = if done == lines.len() {
        format!("🔎 Context for #{} gathered ({done}/{} sources)", incident.id, lines.len())
    } else {
        format!("🔎 {verb} #{}… ({done}/{} sources)", incident.id, lines.len())
    };
    let body: Vec<String> = lines
        .iter()
        .map(|l| match l {
            Progress::Pending(name) => format!("… {name}"),
            Progress::Done(chunk) => chunk_line(chunk),
        })
        .collect();
    RichMessage { title, ..Default::default() }.with_section(None, body.join("\n"))
}

fn bullets(items: &[String]) -> String {
    items.iter().map(|i| format!("• {i}")).collect::<Vec<_>>().join("\n")
}

/// The plan, with a footer that says where it came from and what it cost.
pub fn plan_message(
    incident: &Incident,
    plan: &Plan,
    author: &Author,
    chunks: &[Chunk],
    elapsed: Duration,
) -> RichMessage {
    let title = match author {
        Author::Llm { .. } => format!("📋 Response plan for #{}", incident.id),
        Author::Rules { .. } => format!("📋 Response plan for #{} (rule-based, not AI-written)", incident.id),
    };
    let mut message = RichMessage { title, ..Default::default() }
        .with_section(Some("Severity assessment"), plan.severity_assessment.clone());
    for (heading, items) in [
        ("Probable causes", &plan.probable_causes),
        ("Immediate actions", &plan.immediate_actions),
        ("Watch points", &plan.watch_points),
        ("Escalation triggers", &plan.escalation_triggers),
    ] {
        if !items.is_empty() {
            message = message.with_section(Some(heading), bullets(items));
        }
    }
    let sources: Vec<String> = chunks.iter().map(|c| format!("{} {}", c.source, c.status.mark())).collect();
    let who = match author {
        Author::Llm { model, usage } => format!(
            "written by {model} · {} in / {} out tokens · ${:.4}",
            usage.input_tokens, usage.output_tokens, usage.cost_usd
        ),
        Author::Rules { reason, spent: None } => format!("rule-based ({reason})"),
        Author::Rules { reason, spent: Some(usage) } => format!(
            "rule-based ({reason}; the LLM call cost {} in / {} out tokens · ${:.4})",
            usage.input_tokens, usage.output_tokens, usage.cost_usd
        ),
    };
    message.footer = Some(format!(
        "sources: {} · {who} · {} · only humans act on it",
        if sources.is_empty() { "none".to_string() } else { sources.join(", ") },
        seconds(elapsed)
    ));
    // Sources change as the incident goes on (metrics, deploys, the thread itself).
    message.buttons = vec![Button { action: ActionKind::Refresh, incident: incident.id }];
    message
}

/// After a refresh: which sources say something new.
pub fn refresh_message(
    incident: &Incident,
    changed: &[(&Chunk, Option<String>)],
    elapsed: Duration,
) -> RichMessage {
    if changed.is_empty() {
        return RichMessage::text(format!(
            "🔄 Refreshed context for #{}: nothing changed ({}).",
            incident.id,
            seconds(elapsed)
        ));
    }
    let mut message = RichMessage {
        title: format!(
            "🔄 What changed for #{} ({} source{})",
            incident.id,
            changed.len(),
            if changed.len() == 1 { "" } else { "s" }
        ),
        ..Default::default()
    };
    for (chunk, before) in changed {
        let now = if chunk.status == FetchStatus::Ok {
            truncate_chars(chunk.text.trim(), 600)
        } else {
            format!("{} ({})", chunk.status.as_str(), chunk.note)
        };
        let body = match before {
            Some(old) => format!("now: {now}\nbefore: {}", truncate_chars(old.trim(), 300)),
            None => format!("now: {now}"),
        };
        message = message.with_section(Some(&format!("{} {}", chunk.status.mark(), chunk.source)), body);
    }
    message.footer = Some(format!("refreshed in {}", seconds(elapsed)));
    message.buttons = vec![Button { action: ActionKind::Refresh, incident: incident.id }];
    message
}
