//! The incident engine: turns decisions into durable state.
//!
//! [`lifecycle`] is the pure core (incident + change + actor + now → outcome). This
//! module is its shell: it reads the store, asks the core, and commits the outcome —
//! incident, timeline entries, indexes, outbox messages, timers — as one [`Batch`].
//! [`router`] feeds it chat events, `http::webhooks` feeds it alerts.
//!
//! Decisions are serialised by one short lock around read → decide → commit (the slow
//! work — classification, investigation, sending — happens outside it), so two
//! deliveries of the same alert can never open two incidents.

pub mod cards;
pub mod commands;
pub mod lifecycle;
pub mod router;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, Notify};

use crate::alerts::Alert;
use crate::classify::Classifier;
use crate::config::Config;
use crate::model::{
    Actor, Button, EntryKind, Incident, IncidentId, Platform, RichMessage, Severity, Source, ThreadRef,
};
use crate::outbox::{Edit, OutboxItem, OutboxOp, OutboxSignal, PostRole, Target};
use crate::store::{Batch, Store, StoreError, ThreadLink, Timer, TimerKind};

pub use lifecycle::{Change, Effect, Refusal};

/// Why the engine did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("incident #{0} does not exist")]
    NotFound(IncidentId),
    /// The lifecycle refused (the text is for the person who asked).
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// The request itself is malformed (the text says how).
    #[error("{0}")]
    Invalid(String),
    /// The person may not do this (auth.responders).
    #[error("you are not on the responders list, so you cannot {0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// The line a person sees in chat: internal failures are not spelled out there.
    pub fn user_message(&self) -> String {
        match self {
            Self::Store(_) => {
                "An internal error occurred; the operators have the details in the log.".to_string()
            }
            other => other.to_string(),
        }
    }
}

/// Where webhook alerts are posted on each enabled platform.
#[derive(Debug, Clone, Default)]
pub struct AlertRoutes {
    routes: Vec<AlertRoute>,
}

#[derive(Debug, Clone)]
struct AlertRoute {
    platform: Platform,
    default: String,
    by_severity: BTreeMap<Severity, String>,
}

impl AlertRoutes {
    /// Adds a platform's alert channel (empty = none) and per-severity overrides.
    pub fn add(&mut self, platform: Platform, default: &str, by_severity: &BTreeMap<Severity, String>) {
        let by_severity: BTreeMap<Severity, String> = by_severity
            .iter()
            .filter(|(_, c)| !c.trim().is_empty())
            .map(|(s, c)| (*s, c.trim().to_string()))
            .collect();
        if default.trim().is_empty() && by_severity.is_empty() {
            return;
        }
        self.routes.push(AlertRoute { platform, default: default.trim().to_string(), by_severity });
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The (platform, channel) pairs an alert of `severity` goes to.
    pub fn for_severity(&self, severity: Severity) -> Vec<(Platform, String)> {
        self.routes
            .iter()
            .filter_map(|r| {
                let channel = r.by_severity.get(&severity).unwrap_or(&r.default);
                (!channel.is_empty()).then(|| (r.platform, channel.clone()))
            })
            .collect()
    }
}

/// Everything needed to open an incident.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub title: String,
    pub description: String,
    pub severity: Severity,
    /// Whether a human chose this severity.
    pub severity_confirmed: bool,
    pub source: Source,
    pub fingerprint: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The thread it was reported in; the card is posted there.
    pub thread: Option<ThreadRef>,
    /// Otherwise the card is posted at the top of these channels, each starting a thread.
    pub post_to: Vec<(Platform, String)>,
    /// How the classifier decided, for the timeline.
    pub classified: Option<EntryKind>,
    /// What deciding to open it already cost (the classifier's LLM call): the first
    /// entry of the incident's running total, committed with it.
    pub usage: crate::model::Usage,
}

/// What one alert webhook call did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct IngestReport {
    pub opened: Vec<IncidentId>,
    pub repeated: Vec<IncidentId>,
    pub cleared: Vec<IncidentId>,
    /// Resolved alerts we had no open incident for.
    pub ignored: usize,
    /// Alerts left out of an oversized notification (see [`crate::alerts::Notification`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The engine and its dependencies.
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub classifier: Arc<Classifier>,
    routes: AlertRoutes,
    outbox: OutboxSignal,
    timers: Arc<Notify>,
    /// Serialises read → decide → commit.
    write: Mutex<()>,
    /// Where opened incidents are queued for investigation (set by the app when the
    /// investigator runs).
    investigations: OnceLock<mpsc::UnboundedSender<crate::investigate::Request>>,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        config: Arc<Config>,
        classifier: Arc<Classifier>,
        routes: AlertRoutes,
        outbox: OutboxSignal,
    ) -> Self {
        Self {
            store,
            config,
            classifier,
            routes,
            outbox,
            timers: Arc::new(Notify::new()),
            write: Mutex::new(()),
            investigations: OnceLock::new(),
        }
    }

    /// Where webhook alerts are posted.
    pub fn alert_routes(&self) -> &AlertRoutes {
        &self.routes
    }

    /// Wakes the timer worker when a timer was scheduled.
    pub fn timer_signal(&self) -> Arc<Notify> {
        self.timers.clone()
    }

    pub fn outbox_signal(&self) -> OutboxSignal {
        self.outbox.clone()
    }

    /// Connects the investigator: opened incidents are sent here.
    pub fn set_investigations(&self, tx: mpsc::UnboundedSender<crate::investigate::Request>) {
        let _ = self.investigations.set(tx);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // A panic while holding the lock cannot leave sled half-written (commits are
        // transactions), so a poisoned lock is safe to keep using.
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Commits and wakes the workers that have new work.
    pub fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let wake_outbox = !batch.outbox.is_empty();
        let wake_timers = !batch.timers.is_empty();
        self.store.commit(batch)?;
        if wake_outbox {
            self.outbox.wake();
        }
        if wake_timers {
            self.timers.notify_one();
        }
        Ok(())
    }

    pub fn incident(&self, id: IncidentId) -> Result<Incident, EngineError> {
        self.store.incident(id)?.ok_or(EngineError::NotFound(id))
    }

    // -----------------------------------------------------------------------
    // Opening
    // -----------------------------------------------------------------------

    /// Opens an incident; `cause` makes the outbox keys idempotent.
    pub fn open(
        &self,
        new: NewIncident,
        actor: Actor,
        cause: &str,
        now: DateTime<Utc>,
    ) -> Result<Incident, EngineError> {
        self.open_with(new, actor, cause, now, Batch::default())
    }

    /// Opens an incident, committing `batch` (e.g. an inbox entry) with it.
    pub fn open_with(
        &self,
        new: NewIncident,
        actor: Actor,
        cause: &str,
        now: DateTime<Utc>,
        mut batch: Batch,
    ) -> Result<Incident, EngineError> {
        let _guard = self.lock();
        let incident = self.prepare_open(&mut batch, new, actor, cause, now)?;
        self.commit(batch)?;
        self.after_open(&incident);
        Ok(incident)
    }

    fn prepare_open(
        &self,
        batch: &mut Batch,
        new: NewIncident,
        actor: Actor,
        cause: &str,
        now: DateTime<Utc>,
    ) -> Result<Incident, EngineError> {
        let title = new.title.trim();
        if title.is_empty() {
            return Err(EngineError::Invalid("an incident needs a title".into()));
        }
        let id = self.store.next_incident_id()?;
        let mut platforms: Vec<Platform> = Vec::new();
        if let Some(t) = &new.thread {
            platforms.push(t.platform);
        }
        for (p, _) in &new.post_to {
            if !platforms.contains(p) {
                platforms.push(*p);
            }
        }
        let severity_confirmed =
            new.severity_confirmed || !matches!(new.severity, Severity::High | Severity::Critical);
        let mut incident = Incident::new(
            id,
            crate::model::truncate_chars(title, 200),
            new.severity,
            new.source,
            actor.clone(),
            now,
        );
        incident.description = new.description.trim().to_string();
        incident.severity_confirmed = severity_confirmed;
        incident.fingerprint = new.fingerprint.clone();
        incident.threads = new.thread.iter().cloned().collect();
        incident.platforms = platforms;
        incident.labels = new.labels;
        incident.llm_usage = new.usage;
        batch.incidents.push(incident.clone());
        batch.entry(
            id,
            now,
            actor,
            EntryKind::Created {
                source: incident.source,
                title: incident.title.clone(),
                severity: incident.severity,
            },
        );
        if let Some(classified) = new.classified {
            batch.entry(id, now, Actor::Bot, classified);
        }
        if let Some(fp) = &new.fingerprint {
            batch.fingerprints.push((fp.clone(), id));
        }
        let card = cards::incident_card(&incident);
        if let Some(thread) = &new.thread {
            batch.threads.push((thread.clone(), ThreadLink::Incident { id }));
            push(
                batch,
                cause,
                thread.platform,
                Some(id),
                OutboxOp::Post {
                    to: Target::Channel {
                        channel: thread.channel.clone(),
                        thread: Some(thread.thread.clone()),
                    },
                    message: card.clone(),
                    role: PostRole::Card,
                },
                now,
            );
        }
        for (platform, channel) in &new.post_to {
            push(
                batch,
                cause,
                *platform,
                Some(id),
                OutboxOp::Post {
                    to: Target::Channel { channel: channel.clone(), thread: None },
                    message: card.clone(),
                    role: PostRole::Card,
                },
                now,
            );
        }
        let page = &self.config.escalation.page;
        if !page.is_empty() {
            batch.entry(id, now, Actor::Bot, EntryKind::Paged { who: page.clone() });
            self.page(
                batch,
                cause,
                &incident,
                &format!("📟 Paging for #{id}: {}", incident.title),
                page,
                now,
            );
        }
        self.schedule_escalation(batch, &incident, now);
        if self.config.investigate.enabled {
            batch.timers.push(Timer { incident: id, kind: TimerKind::Investigate, due: now });
        }
        Ok(incident)
    }

    fn after_open(&self, incident: &Incident) {
        tracing::info!(
            incident = incident.id,
            severity = %incident.severity,
            source = %incident.source,
            "incident opened: {}",
            incident.title
        );
    }

    // -----------------------------------------------------------------------
    // Changes
    // -----------------------------------------------------------------------

    /// Applies a lifecycle change by `actor`.
    pub fn change(
        &self,
        id: IncidentId,
        change: Change,
        actor: &Actor,
        cause: &str,
        now: DateTime<Utc>,
    ) -> Result<Incident, EngineError> {
        self.change_with(id, change, actor, cause, now, Batch::default())
    }

    /// Applies a change, committing `batch` with it (even when the change is refused,
    /// so a refused button press still consumes its inbox entry).
    pub fn change_with(
        &self,
        id: IncidentId,
        change: Change,
        actor: &Actor,
        cause: &str,
        now: DateTime<Utc>,
        mut batch: Batch,
    ) -> Result<Incident, EngineError> {
        let _guard = self.lock();
        let result = self.prepare_change(&mut batch, id, change, actor, cause, now);
        self.commit(batch)?;
        result
    }

    fn prepare_change(
        &self,
        batch: &mut Batch,
        id: IncidentId,
        change: Change,
        actor: &Actor,
        cause: &str,
        now: DateTime<Utc>,
    ) -> Result<Incident, EngineError> {
        let current = self.incident_in(batch, id)?;
        let change = match change {
            // The escalation policy decides who the next step pages.
            Change::Escalate { who } if who.is_empty() => {
                Change::Escalate { who: self.escalation_targets(&current) }
            }
            other => other,
        };
        let outcome = lifecycle::apply(&current, change, actor, now)?;
        let incident = outcome.incident;
        for entry in outcome.entries {
            batch.entry(id, now, actor.clone(), entry);
        }
        for effect in outcome.effects {
            match effect {
                Effect::RefreshCard => self.refresh_cards(batch, cause, &incident, now),
                Effect::Say(line) => self.say(batch, cause, &incident, &line, now),
                Effect::Page { line, who } => self.page(batch, cause, &incident, &line, &who, now),
                Effect::AskToResolve => {
                    let message = cards::ask_to_resolve(&incident);
                    self.post_in_threads(batch, cause, &incident, message, now);
                }
                Effect::StopEscalation => batch.timers_clear.push((id, TimerKind::Escalate)),
                Effect::ScheduleEscalation => self.schedule_escalation(batch, &incident, now),
                Effect::ReleaseFingerprint => {
                    if let Some(fp) = &incident.fingerprint {
                        if self.store.fingerprint(fp)? == Some(id) {
                            batch.fingerprints_clear.push(fp.clone());
                        }
                    }
                }
                Effect::ClaimFingerprint => {
                    if let Some(fp) = &incident.fingerprint {
                        match self.store.fingerprint(fp)? {
                            None => batch.fingerprints.push((fp.clone(), id)),
                            Some(other) if other != id => {
                                tracing::info!(
                                    incident = id,
                                    other,
                                    "reopened incident's alert already belongs to another incident"
                                )
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        batch.incidents.retain(|i| i.id != id);
        batch.incidents.push(incident.clone());
        Ok(incident)
    }

    /// The incident as this batch will leave it.
    fn incident_in(&self, batch: &Batch, id: IncidentId) -> Result<Incident, EngineError> {
        if let Some(i) = batch.incidents.iter().rev().find(|i| i.id == id) {
            return Ok(i.clone());
        }
        self.incident(id)
    }

    /// Commits under the decision lock: for writers outside the engine (the
    /// investigator) whose batch must not interleave with a decision in flight.
    pub fn commit_locked(&self, batch: Batch) -> Result<(), StoreError> {
        let _guard = self.lock();
        self.commit(batch)
    }

    /// Adds an LLM call's tokens and cost to the incident's running total.
    pub fn add_usage(&self, id: IncidentId, usage: crate::model::Usage) -> Result<(), EngineError> {
        let _guard = self.lock();
        let mut incident = self.incident(id)?;
        incident.llm_usage.add(usage);
        let mut batch = Batch::default();
        batch.incidents.push(incident);
        self.commit(batch)?;
        Ok(())
    }

    /// Appends a timeline note and remembers the message as part of the thread.
    pub fn note(
        &self,
        id: IncidentId,
        text: &str,
        actor: &Actor,
        now: DateTime<Utc>,
        batch: Batch,
    ) -> Result<Incident, EngineError> {
        self.change_with(id, Change::Note(text.to_string()), actor, "note", now, batch)
    }

    fn escalation_targets(&self, incident: &Incident) -> Vec<String> {
        let steps = &self.config.escalation.steps;
        let step = incident.escalation_step as usize;
        steps.get(step).or_else(|| steps.last()).map(|s| s.notify.clone()).unwrap_or_default()
    }

    fn schedule_escalation(&self, batch: &mut Batch, incident: &Incident, now: DateTime<Utc>) {
        let steps = &self.config.escalation.steps;
        match steps.get(incident.escalation_step as usize) {
            Some(step) if incident.status.is_active() && incident.acked_by.is_none() => {
                let minutes = i64::try_from(step.after_mins).unwrap_or(i64::MAX / 120_000);
                batch.timers.push(Timer {
                    incident: incident.id,
                    kind: TimerKind::Escalate,
                    due: now + chrono::Duration::minutes(minutes),
                });
            }
            _ => batch.timers_clear.push((incident.id, TimerKind::Escalate)),
        }
    }

    // -----------------------------------------------------------------------
    // Outbound helpers
    // -----------------------------------------------------------------------

    /// Posts a short line in every thread of the incident.
    pub fn say(&self, batch: &mut Batch, cause: &str, incident: &Incident, line: &str, now: DateTime<Utc>) {
        self.post_in_threads(batch, cause, incident, RichMessage::text(line), now);
    }

    /// Posts a line that notifies `who` (mentions from the config, rendered as written).
    pub fn page(
        &self,
        batch: &mut Batch,
        cause: &str,
        incident: &Incident,
        line: &str,
        who: &[String],
        now: DateTime<Utc>,
    ) {
        let message = RichMessage { mentions: who.to_vec(), ..RichMessage::text(line) };
        self.post_in_threads(batch, cause, incident, message, now);
    }

    pub fn post_in_threads(
        &self,
        batch: &mut Batch,
        cause: &str,
        incident: &Incident,
        message: RichMessage,
        now: DateTime<Utc>,
    ) {
        self.post_with_role(batch, cause, incident, message, PostRole::Message, now);
    }

    pub fn post_with_role(
        &self,
        batch: &mut Batch,
        cause: &str,
        incident: &Incident,
        message: RichMessage,
        role: PostRole,
        now: DateTime<Utc>,
    ) {
        for platform in &incident.platforms {
            push(
                batch,
                cause,
                *platform,
                Some(incident.id),
                OutboxOp::Post { to: Target::IncidentThread, message: message.clone(), role },
                now,
            );
        }
    }

    /// Re-renders the incident's cards in place.
    pub fn refresh_cards(&self, batch: &mut Batch, cause: &str, incident: &Incident, now: DateTime<Utc>) {
        let card = cards::incident_card(incident);
        for platform in &incident.platforms {
            push(
                batch,
                cause,
                *platform,
                Some(incident.id),
                OutboxOp::Update { edit: Edit::Card, message: card.clone() },
                now,
            );
        }
    }

    /// Edits (or first posts) the incident's progress message.
    pub fn progress(
        &self,
        batch: &mut Batch,
        cause: &str,
        incident: &Incident,
        message: RichMessage,
        first: bool,
        now: DateTime<Utc>,
    ) {
        if first {
            self.post_with_role(batch, cause, incident, message, PostRole::Progress, now);
        } else {
            for platform in &incident.platforms {
                push(
                    batch,
                    cause,
                    *platform,
                    Some(incident.id),
                    OutboxOp::Update { edit: Edit::Progress, message: message.clone() },
                    now,
                );
            }
        }
    }

    // -----------------------------------------------------------------------
    // Alerts
    // -----------------------------------------------------------------------

    /// Applies one webhook call's alerts atomically: firing alerts open an incident or
    /// repeat on the open one; resolved alerts note "cleared" and ask a human.
    pub fn ingest(
        &self,
        alerts: Vec<Alert>,
        cause: &str,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, EngineError> {
        let _guard = self.lock();
        let mut batch = Batch::default();
        let mut report = IngestReport::default();
        let mut opened_now: BTreeMap<String, IncidentId> = BTreeMap::new();
        for (n, alert) in alerts.into_iter().enumerate() {
            let cause = format!("{cause}:{n}");
            let existing = match opened_now.get(&alert.fingerprint) {
                Some(id) => Some(*id),
                None => self.store.fingerprint(&alert.fingerprint)?,
            };
            match (alert.firing, existing) {
                (true, Some(id)) => {
                    // A firing after a clearing posts a line: key it by that clearing, so
                    // it cannot collide with what an earlier, byte-identical payload posted.
                    let cause = match self.incident_in(&batch, id)?.alert_cleared_at {
                        Some(cleared) => format!("{cause}:refire:{}", cleared.timestamp_millis()),
                        None => cause,
                    };
                    self.prepare_change(
                        &mut batch,
                        id,
                        Change::AlertRepeated { fingerprint: Some(alert.fingerprint.clone()) },
                        &Actor::Bot,
                        &cause,
                        now,
                    )?;
                    report.repeated.push(id);
                }
                (true, None) => {
                    let severity = alert.severity.unwrap_or(self.config.webhooks.default_severity);
                    let mut description = alert.description.clone();
                    for (name, url) in &alert.links {
                        description.push_str(&format!("\n{name}: {url}"));
                    }
                    let new = NewIncident {
                        title: alert.title.clone(),
                        description,
                        severity,
                        severity_confirmed: false,
                        source: alert.source,
                        fingerprint: Some(alert.fingerprint.clone()),
                        labels: alert.labels.clone(),
                        thread: None,
                        post_to: self.routes.for_severity(severity),
                        classified: None,
                        usage: Default::default(),
                    };
                    let incident = self.prepare_open(&mut batch, new, Actor::Bot, &cause, now)?;
                    opened_now.insert(alert.fingerprint.clone(), incident.id);
                    report.opened.push(incident.id);
                }
                (false, Some(id)) => {
                    self.prepare_change(
                        &mut batch,
                        id,
                        Change::AlertCleared { fingerprint: Some(alert.fingerprint.clone()) },
                        &Actor::Bot,
                        &cause,
                        now,
                    )?;
                    report.cleared.push(id);
                }
                (false, None) => report.ignored += 1,
            }
        }
        let opened: Vec<Incident> =
            batch.incidents.iter().filter(|i| report.opened.contains(&i.id)).cloned().collect();
        self.commit(batch)?;
        for incident in &opened {
            self.after_open(incident);
        }
        Ok(report)
    }

    // -----------------------------------------------------------------------
    // Timers
    // -----------------------------------------------------------------------

    /// Fires every timer due at `now`. Escalations are applied here; investigations
    /// are handed to the investigator (and re-armed as a lease, so a crash mid-way
    /// re-runs them after restart).
    pub fn fire_due_timers(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let due = self.store.due_timers(now)?;
        let count = due.len();
        for timer in due {
            match timer.kind {
                TimerKind::Escalate => self.escalate_on_timer(timer.incident, now)?,
                TimerKind::Investigate => {
                    // The lease goes in before the request goes out: a quick run that
                    // finishes (and clears the timer) at once must not be followed by
                    // this lease re-creating it, which would run it all again later.
                    let clear = || {
                        let mut batch = Batch::default();
                        batch.timers_clear.push((timer.incident, TimerKind::Investigate));
                        self.store.commit(batch)
                    };
                    let Some(tx) = self.investigations.get() else {
                        clear()?;
                        continue;
                    };
                    let mut batch = Batch::default();
                    let lease = self.config.investigate.deadline_secs as i64 + 60;
                    batch.timers.push(Timer {
                        incident: timer.incident,
                        kind: TimerKind::Investigate,
                        due: now + chrono::Duration::seconds(lease),
                    });
                    {
                        // Under the lock the investigator's last commit takes too: a run
                        // that finished since `due` was read has cleared the timer, and
                        // must not get it back.
                        let _guard = self.lock();
                        let still_due = self.store.timers()?.iter().any(|t| {
                            t.incident == timer.incident && t.kind == TimerKind::Investigate && t.due <= now
                        });
                        if !still_due {
                            continue;
                        }
                        self.store.commit(batch)?;
                    }
                    let request = crate::investigate::Request { incident: timer.incident, refresh: false };
                    if tx.send(request).is_err() {
                        clear()?;
                    }
                }
            }
        }
        Ok(count)
    }

    fn escalate_on_timer(&self, id: IncidentId, now: DateTime<Utc>) -> Result<(), EngineError> {
        let _guard = self.lock();
        let mut batch = Batch::default();
        batch.timers_clear.push((id, TimerKind::Escalate));
        let Some(incident) = self.store.incident(id)? else {
            self.commit(batch)?;
            return Ok(());
        };
        if incident.status.is_active() && incident.acked_by.is_none() {
            let cause = format!("timer:{id}:escalate:{}", incident.escalation_step);
            match self.prepare_change(
                &mut batch,
                id,
                Change::Escalate { who: Vec::new() },
                &Actor::Bot,
                &cause,
                now,
            ) {
                Ok(_) | Err(EngineError::Refused(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.commit(batch)?;
        Ok(())
    }

    /// Makes every pending investigation due at `now` (they were interrupted by a stop
    /// or a crash, and their lease would only fire later). Returns how many.
    pub fn resume_investigations(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let _guard = self.lock();
        let mut batch = Batch::default();
        for timer in self.store.timers()? {
            if timer.kind == TimerKind::Investigate && timer.due > now {
                batch.timers.push(Timer { due: now, ..timer });
            }
        }
        let count = batch.timers.len();
        self.commit(batch)?;
        Ok(count)
    }

    /// When the next timer is due.
    pub fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.store.next_timer()
    }
}

/// Queues an outbox item with a key derived from its cause, incident and position, so
/// replaying the cause cannot post it twice while a new incident never collides.
fn push(
    batch: &mut Batch,
    cause: &str,
    platform: Platform,
    incident: Option<IncidentId>,
    op: OutboxOp,
    now: DateTime<Utc>,
) {
    let key = match incident {
        Some(id) => format!("{cause}:#{id}:{}", batch.outbox.len()),
        None => format!("{cause}:{}", batch.outbox.len()),
    };
    batch.outbox.push(OutboxItem::new(key, platform, incident, op, now));
}

/// A message with one button, for answers that offer the next step.
pub fn with_button(message: RichMessage, button: Button) -> RichMessage {
    RichMessage { buttons: vec![button], ..message }
}
