//! The router: where every chat event lands after intake.
//!
//! | event | handled by |
//! |---|---|
//! | @mention (or alert-channel message) | [`Engine::on_mention`]: note in an incident thread, else classify → open or hint |
//! | thread reply | [`Engine::on_thread_reply`]: note, or `investigate` after a hint |
//! | `/incident …` | [`Engine::on_command`] (grammar in `commands.rs`) |
//! | button press | [`Engine::on_action`]: authorise, then the lifecycle |
//!
//! Each handler finishes by committing the inbox entry it consumed together with what
//! it decided, so an event is handled exactly once even across a crash.

use chrono::{DateTime, Utc};

use super::commands::{self, Command, USAGE};
use super::{cards, push, Change, Engine, EngineError, NewIncident};
use crate::classify::{self, Context};
use crate::model::{
    ActionKind, Actor, EntryKind, Inbound, InboundKind, IncidentId, Severity, Status, ThreadRef,
};
use crate::outbox::{OutboxOp, Target};
use crate::store::{Batch, ThreadLink};

/// Longest title taken from a chat message.
const TITLE_CHARS: usize = 120;

impl Engine {
    /// Handles one stored inbound event (inbox entry `seq`).
    pub async fn handle(&self, seq: u64, event: Inbound) {
        let now = Utc::now();
        let result = match event.kind.clone() {
            InboundKind::Mention { text, alert_channel, from_integration } => {
                self.on_mention(seq, &event, &text, alert_channel, from_integration, now).await
            }
            InboundKind::ThreadReply { text } => self.on_thread_reply(seq, &event, &text, now),
            InboundKind::Command { text } => self.on_command(seq, &event, &text, now),
            InboundKind::Action { action, incident } => self.on_action(seq, &event, action, incident, now),
        };
        if let Err(error) = result {
            // Only storage failures get here (user errors become replies). The event
            // stays in the inbox and is retried on the next start.
            tracing::error!(platform = %event.platform, event = %event.event_id, %error, "could not handle event");
        }
    }

    fn cause(event: &Inbound) -> String {
        format!("in:{}:{}", event.platform, event.event_id)
    }

    fn consumed(seq: u64) -> Batch {
        let mut batch = Batch::default();
        batch.inbox_done.push(seq);
        batch
    }

    /// Queues an answer to the person behind `event`.
    fn reply(&self, batch: &mut Batch, event: &Inbound, text: &str, quiet: bool, now: DateTime<Utc>) {
        push(
            batch,
            &Self::cause(event),
            event.platform,
            None,
            OutboxOp::Reply {
                channel: event.channel.clone(),
                thread: event.thread.clone(),
                user: event.user.id.clone(),
                handle: event.reply.clone(),
                text: text.to_string(),
                quiet,
            },
            now,
        );
    }

    fn thread_link(&self, event: &Inbound) -> Result<Option<(ThreadRef, ThreadLink)>, EngineError> {
        let Some(thread) = &event.thread else { return Ok(None) };
        let thread = ThreadRef::new(event.platform, event.channel.clone(), thread.clone());
        Ok(self.store.thread(&thread)?.map(|link| (thread, link)))
    }

    /// Adds a note from a chat message and links the message into the thread (Telegram
    /// threads are reply chains: a reply to this message belongs to the incident too).
    fn note_from_chat(
        &self,
        seq: u64,
        event: &Inbound,
        id: IncidentId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let mut batch = Self::consumed(seq);
        if let Some(message) = &event.message_id {
            batch.threads.push((
                ThreadRef::new(event.platform, event.channel.clone(), message.clone()),
                ThreadLink::Incident { id },
            ));
        }
        let actor = Actor::Human(event.user.clone());
        match self.note(id, &strip_mentions(text), &actor, now, batch) {
            Ok(_) | Err(EngineError::Refused(_)) | Err(EngineError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn on_mention(
        &self,
        seq: u64,
        event: &Inbound,
        text: &str,
        alert_channel: bool,
        from_integration: bool,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        match self.thread_link(event)? {
            Some((_, ThreadLink::Incident { id })) => return self.note_from_chat(seq, event, id, text, now),
            Some((thread, ThreadLink::Gated { text: original, user, .. })) if classify::is_forced(text) => {
                let report = Report {
                    text: original,
                    reporter: Some(user),
                    thread,
                    classified: forced_entry(),
                    usage: Default::default(),
                };
                return self.open_from_chat(seq, event, report, now);
            }
            _ => {}
        }
        let ctx = Context { alert_channel, from_bot_or_integration: from_integration };
        let verdict = self.classifier.classify(&strip_mentions(text), &ctx).await;
        let Some(thread) = event.thread_ref() else {
            return Err(EngineError::Invalid("a mention without a message id cannot start a thread".into()));
        };
        let entry = EntryKind::Classified {
            class: verdict.class.as_str().to_string(),
            confidence: verdict.confidence,
            tier: verdict.tier.as_str().to_string(),
            reasons: verdict.reasons.iter().map(|r| r.to_string()).collect(),
        };
        if verdict.investigate() {
            // The classifier's LLM call is billed to the incident it opens.
            let report = Report {
                text: text.to_string(),
                reporter: None,
                thread,
                classified: entry,
                usage: verdict.usage.unwrap_or_default(),
            };
            return self.open_from_chat(seq, event, report, now);
        }
        // Nothing to bill it to: the LLM's cost goes in the log line.
        let usage = verdict.usage.unwrap_or_default();
        tracing::info!(platform = %event.platform, channel = %event.channel, verdict = %verdict.summary(),
            llm_input_tokens = usage.input_tokens, llm_output_tokens = usage.output_tokens,
            llm_cost_usd = usage.cost_usd, "message gated as chatter");
        let mut batch = Self::consumed(seq);
        batch.threads.push((
            thread.clone(),
            ThreadLink::Gated { text: text.to_string(), user: event.user.clone(), at: now },
        ));
        // A message in an alert channel that is not an alert gets no reply: those
        // channels are busy and the hint would be noise.
        if !alert_channel {
            push(
                &mut batch,
                &Self::cause(event),
                event.platform,
                None,
                OutboxOp::Post {
                    to: Target::Channel {
                        channel: thread.channel.clone(),
                        thread: Some(thread.thread.clone()),
                    },
                    message: cards::gated_hint(&verdict.summary()),
                    role: crate::outbox::PostRole::Message,
                },
                now,
            );
        }
        self.commit(batch)?;
        Ok(())
    }

    fn open_from_chat(
        &self,
        seq: u64,
        event: &Inbound,
        report: Report,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let Report { text, reporter, thread, classified, usage } = report;
        let text = text.as_str();
        let title = title_from_text(text);
        let new = NewIncident {
            title: if title.is_empty() { "Reported in chat".to_string() } else { title },
            description: crate::model::truncate_chars(&strip_mentions(text), 4000),
            severity: guess_severity(text),
            severity_confirmed: false,
            source: event.platform.into(),
            fingerprint: None,
            labels: Default::default(),
            thread: Some(thread),
            post_to: Vec::new(),
            classified: Some(classified),
            usage,
        };
        let actor = Actor::Human(reporter.unwrap_or_else(|| event.user.clone()));
        self.open_with(new, actor, &Self::cause(event), now, Self::consumed(seq))?;
        Ok(())
    }

    fn on_thread_reply(
        &self,
        seq: u64,
        event: &Inbound,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        match self.thread_link(event)? {
            Some((_, ThreadLink::Incident { id })) => self.note_from_chat(seq, event, id, text, now),
            Some((thread, ThreadLink::Gated { text: original, user, .. })) if classify::is_forced(text) => {
                let report = Report {
                    text: original,
                    reporter: Some(user),
                    thread,
                    classified: forced_entry(),
                    usage: Default::default(),
                };
                self.open_from_chat(seq, event, report, now)
            }
            // Conversations that are not ours: stay quiet.
            _ => Ok(self.commit(Self::consumed(seq))?),
        }
    }

    fn authorised(&self, event: &Inbound) -> bool {
        let responders = &self.config.auth.responders;
        responders.is_empty()
            || responders.iter().any(|r| *r == format!("{}:{}", event.platform, event.user.id))
    }

    fn on_action(
        &self,
        seq: u64,
        event: &Inbound,
        action: ActionKind,
        id: IncidentId,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let mut batch = Self::consumed(seq);
        if !self.authorised(event) {
            let reason = EngineError::Forbidden(action.label().to_lowercase()).to_string();
            self.reply(&mut batch, event, &reason, false, now);
            return Ok(self.commit(batch)?);
        }
        if action == ActionKind::Refresh {
            let text = self.request_refresh(id);
            self.reply(&mut batch, event, &text, true, now);
            return Ok(self.commit(batch)?);
        }
        let change = match action {
            ActionKind::Ack => Change::Acknowledge,
            ActionKind::Escalate => Change::Escalate { who: Vec::new() },
            ActionKind::Mitigate => Change::SetStatus(Status::Mitigated),
            ActionKind::Resolve => Change::SetStatus(Status::Resolved),
            ActionKind::Reopen => Change::SetStatus(Status::Open),
            ActionKind::Refresh => unreachable!("handled above"),
        };
        let actor = Actor::Human(event.user.clone());
        let _guard = self.lock();
        match self.prepare_change(&mut batch, id, change, &actor, &Self::cause(event), now) {
            Ok(incident) => {
                let text = format!("{} #{}: {}", action.label(), id, incident.status.label());
                self.reply(&mut batch, event, &text, true, now);
            }
            Err(e @ (EngineError::Refused(_) | EngineError::NotFound(_))) => {
                self.reply(&mut batch, event, &format!("⚠️ {}", e.user_message()), false, now);
            }
            Err(e) => return Err(e),
        }
        self.commit(batch)?;
        Ok(())
    }

    /// Queues a fresh investigation; returns the line to show.
    fn request_refresh(&self, id: IncidentId) -> String {
        match (self.store.incident(id), self.investigations.get()) {
            (Ok(Some(_)), Some(tx))
                if tx.send(crate::investigate::Request { incident: id, refresh: true }).is_ok() =>
            {
                format!("🔄 Gathering context for #{id} again.")
            }
            (Ok(Some(_)), _) => {
                "Investigation is turned off in this warroom (investigate.enabled).".to_string()
            }
            (Ok(None), _) => format!("incident #{id} does not exist"),
            (Err(_), _) => {
                "An internal error occurred; the operators have the details in the log.".to_string()
            }
        }
    }

    fn on_command(
        &self,
        seq: u64,
        event: &Inbound,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let mut batch = Self::consumed(seq);
        let command = match commands::parse(text) {
            Ok(c) => c,
            Err(usage) => {
                self.reply(&mut batch, event, &usage, false, now);
                return Ok(self.commit(batch)?);
            }
        };
        let actor = Actor::Human(event.user.clone());
        let cause = Self::cause(event);
        let change = match &command {
            Command::Open { severity, title } => {
                let (thread, post_to) =
                    match event.thread_ref().filter(|_| event.message_id.is_some() || event.thread.is_some())
                    {
                        Some(thread) => (Some(thread), Vec::new()),
                        None => (None, vec![(event.platform, event.channel.clone())]),
                    };
                let new = NewIncident {
                    title: title.clone(),
                    description: String::new(),
                    severity: severity.unwrap_or(Severity::Medium),
                    severity_confirmed: severity.is_some(),
                    source: event.platform.into(),
                    fingerprint: None,
                    labels: Default::default(),
                    thread,
                    post_to,
                    classified: None,
                    usage: Default::default(),
                };
                let text = {
                    let _guard = self.lock();
                    let incident = self.prepare_open(&mut batch, new, actor, &cause, now)?;
                    let text = format!("Opened #{} ({}): {}", incident.id, incident.severity, incident.title);
                    self.reply(&mut batch, event, &text, true, now);
                    self.commit(batch)?;
                    self.after_open(&incident);
                    text
                };
                tracing::debug!("{text}");
                return Ok(());
            }
            Command::List | Command::Status { id: None } => {
                let text = cards::incident_list(&self.store.incidents()?, now);
                self.reply(&mut batch, event, &text, false, now);
                return Ok(self.commit(batch)?);
            }
            Command::Status { id: Some(id) } => {
                let text = match self.store.incident(*id)? {
                    Some(incident) => cards::incident_status(&incident, &self.store.timeline(*id)?, now),
                    None => format!("incident #{id} does not exist"),
                };
                self.reply(&mut batch, event, &text, false, now);
                return Ok(self.commit(batch)?);
            }
            Command::Help => {
                self.reply(&mut batch, event, USAGE, false, now);
                return Ok(self.commit(batch)?);
            }
            Command::Refresh(id) => {
                let text = self.request_refresh(*id);
                self.reply(&mut batch, event, &text, false, now);
                return Ok(self.commit(batch)?);
            }
            Command::Ack(id) => (*id, Change::Acknowledge, "acknowledged"),
            Command::Escalate(id) => (*id, Change::Escalate { who: Vec::new() }, "escalated"),
            Command::Mitigate(id) => (*id, Change::SetStatus(Status::Mitigated), "marked mitigated"),
            Command::Resolve(id) => (*id, Change::SetStatus(Status::Resolved), "resolved"),
            Command::Reopen(id) => (*id, Change::SetStatus(Status::Open), "reopened"),
            Command::Severity(id, sev) => (*id, Change::SetSeverity(*sev), "severity set"),
            Command::Note(id, text) => (*id, Change::Note(text.clone()), "noted"),
        };
        let (id, change, done) = change;
        if !matches!(change, Change::Note(_)) && !self.authorised(event) {
            let reason =
                EngineError::Forbidden(done.split(' ').next().unwrap_or("do that").to_string()).to_string();
            self.reply(&mut batch, event, &reason, false, now);
            return Ok(self.commit(batch)?);
        }
        let _guard = self.lock();
        match self.prepare_change(&mut batch, id, change, &actor, &cause, now) {
            Ok(incident) => {
                let text = format!("#{id} {done} ({}).", incident.status.label());
                self.reply(&mut batch, event, &text, false, now);
            }
            Err(e @ (EngineError::Refused(_) | EngineError::NotFound(_) | EngineError::Invalid(_))) => {
                self.reply(&mut batch, event, &format!("⚠️ {}", e.user_message()), false, now);
            }
            Err(e) => return Err(e),
        }
        self.commit(batch)?;
        Ok(())
    }
}

/// A message that will become an incident.
struct Report {
    text: String,
    /// Who wrote it, when not the sender of the current event (an `investigate` reply
    /// opens the incident reported by the gated message's author).
    reporter: Option<crate::model::Person>,
    thread: ThreadRef,
    classified: EntryKind,
    /// What classifying it cost (an LLM call), billed to the incident.
    usage: crate::model::Usage,
}

fn forced_entry() -> EntryKind {
    EntryKind::Classified {
        class: "alert".into(),
        confidence: 1.0,
        tier: "override".into(),
        reasons: vec!["forced_investigate".into()],
    }
}

/// Removes platform mention markup (`<@U123>`, `<@!123>`, `@warroom`) from chat text.
pub fn strip_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace()
        .filter(|w| {
            !(w.starts_with('@') && w.len() > 1 && w[1..].chars().all(|c| c.is_alphanumeric() || c == '_'))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first meaningful line of a message, without mentions, as an incident title.
pub fn title_from_text(text: &str) -> String {
    let line = text
        .lines()
        .map(strip_mentions)
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '*' || c == '_' || c == '`').to_string())
        .find(|l| {
            !l.is_empty() && !l.eq_ignore_ascii_case("investigate") && !l.eq_ignore_ascii_case("/investigate")
        })
        .unwrap_or_default();
    crate::model::truncate_chars(&line, TITLE_CHARS)
}

/// A first guess at severity from the words people use; the bot's high/critical
/// guesses stay unconfirmed until a human confirms.
pub fn guess_severity(text: &str) -> Severity {
    let t = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&[
        "sev1",
        "sev-1",
        "sev 1",
        "p0",
        "[p1]",
        "critical",
        "outage",
        "everyone",
        "all customers",
        "data loss",
    ]) {
        Severity::Critical
    } else if has(&[
        "sev2", "sev-2", "[p2]", "down", "5xx", "500", "502", "503", "504", "failing", "can't", "cannot",
        "error",
    ]) {
        Severity::High
    } else {
        // "slow", "latency", "degraded", and everything else.
        Severity::Medium
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_stripped_from_titles() {
        assert_eq!(strip_mentions("<@U0BOT> checkout is down <@U2|bob>"), "checkout is down");
        assert_eq!(strip_mentions("@warroom db on fire"), "db on fire");
        assert_eq!(
            title_from_text("<@U0BOT>\n\n*payments 502s* since 02:00\nmore"),
            "payments 502s* since 02:00"
        );
        assert_eq!(title_from_text("<@U0BOT> investigate\nthe queue is stuck"), "the queue is stuck");
    }

    #[test]
    fn severity_guesses_are_conservative() {
        assert_eq!(guess_severity("checkout is throwing 500s for everyone"), Severity::Critical);
        assert_eq!(guess_severity("api returning 502 on /login"), Severity::High);
        assert_eq!(guess_severity("search feels slow"), Severity::Medium);
    }
}
