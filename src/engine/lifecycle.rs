//! The incident state machine: a pure function of (incident, change, actor, now).
//!
//! ```text
//!            ┌──────────── human ────────────┐
//!   OPEN ──▶ INVESTIGATING ──▶ MITIGATED ──▶ RESOLVED
//!     │  human skips forward ───────────────▲   │
//!     └──────────────────────────────────────┘   │
//!   OPEN ◀──────────── reopen (human) ───────────┘
//!   INVESTIGATING ◀─── relapse (human) ── MITIGATED
//! ```
//!
//! Delegation boundary (DESIGN.md): the bot may acknowledge receipt, page and escalate;
//! only a human may declare MITIGATED or RESOLVED, reopen, or confirm a severity. Every
//! accepted change yields timeline entries and effects; a refused one yields a
//! [`Refusal`] whose text can be shown to the person as is.

use chrono::{DateTime, Utc};

use crate::model::{Actor, EntryKind, Incident, Severity, Status};

/// What someone wants to do to an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// "I'm on it": records who, and moves OPEN → INVESTIGATING.
    Acknowledge,
    SetStatus(Status),
    SetSeverity(Severity),
    /// Page the next escalation step; `who` comes from the escalation policy.
    Escalate {
        who: Vec<String>,
    },
    Note(String),
    /// The same alert fired again.
    AlertRepeated {
        fingerprint: Option<String>,
    },
    /// The alert source says it stopped firing. The incident stays as it is.
    AlertCleared {
        fingerprint: Option<String>,
    },
}

/// Side effects the caller turns into outbox messages and timers.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Re-render the incident card in place.
    RefreshCard,
    /// Post a short line in the incident's thread(s).
    Say(String),
    /// Post a line that notifies these people (mentions from the escalation policy).
    Page { line: String, who: Vec<String> },
    /// Ask a human to resolve (after an alert cleared), with a Resolve button.
    AskToResolve,
    /// Stop the escalation timer (acknowledged, mitigated or resolved).
    StopEscalation,
    /// Start (or restart) the escalation timer from the current step.
    ScheduleEscalation,
    /// The incident is no longer active: its alert fingerprint may open a new one.
    ReleaseFingerprint,
    /// The incident is active again: claim its fingerprint back.
    ClaimFingerprint,
}

/// The result of an accepted change.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub incident: Incident,
    pub entries: Vec<EntryKind>,
    pub effects: Vec<Effect>,
}

/// Why a change was refused, in words for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("only a human can mark an incident {0}")]
    HumansOnly(Status),
    #[error("only a human can {0}")]
    HumansOnlyAction(&'static str),
    #[error("incident #{id} is already {status}")]
    AlreadyInStatus { id: u64, status: Status },
    #[error("incident #{id} cannot go from {from} to {to}{hint}")]
    NotAllowed { id: u64, from: Status, to: Status, hint: &'static str },
    #[error("incident #{id} was already acknowledged by {by}")]
    AlreadyAcknowledged { id: u64, by: String },
    #[error("incident #{id} is resolved; reopen it first")]
    Resolved { id: u64 },
    #[error("a note needs some text")]
    EmptyNote,
}

/// Which status moves exist at all, and who may make them.
fn transition_allowed(from: Status, to: Status, actor: &Actor) -> Result<(), Refusal> {
    use Status::*;
    let human = actor.is_human();
    match (from, to) {
        (Open, Investigating) => Ok(()),
        (Open | Investigating, Mitigated) | (Open | Investigating | Mitigated, Resolved) if human => Ok(()),
        (Open | Investigating, Mitigated) | (Open | Investigating | Mitigated, Resolved) => {
            Err(Refusal::HumansOnly(to))
        }
        // A mitigation that did not hold.
        (Mitigated, Investigating) if human => Ok(()),
        (Mitigated, Investigating) => Err(Refusal::HumansOnlyAction("reopen an investigation")),
        (Resolved, Open) if human => Ok(()),
        (Resolved, Open) => Err(Refusal::HumansOnlyAction("reopen an incident")),
        _ => Err(Refusal::NotAllowed {
            id: 0,
            from,
            to,
            hint: match (from, to) {
                (Resolved, _) => " (reopen it first)",
                (_, Open) => " (only a resolved incident can be reopened)",
                _ => "",
            },
        }),
    }
}

/// Applies `change` by `actor` at `now`.
pub fn apply(
    incident: &Incident,
    change: Change,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Outcome, Refusal> {
    let mut next = incident.clone();
    let mut entries = Vec::new();
    let mut effects = Vec::new();
    let id = incident.id;
    match change {
        Change::Acknowledge => {
            // Acknowledging a page means "a person is on it": it stops escalation, so
            // the bot may never do it (it only acknowledges receipt, in words).
            if !actor.is_human() {
                return Err(Refusal::HumansOnlyAction("acknowledge an incident"));
            }
            if incident.status == Status::Resolved {
                return Err(Refusal::Resolved { id });
            }
            if let Some(by) = &incident.acked_by {
                return Err(Refusal::AlreadyAcknowledged { id, by: by.display() });
            }
            next.acked_at = Some(now);
            next.acked_by = Some(actor.clone());
            entries.push(EntryKind::Acknowledged);
            if incident.status == Status::Open {
                next.status = Status::Investigating;
                entries.push(EntryKind::StatusChanged { from: Status::Open, to: Status::Investigating });
            }
            effects.extend([
                Effect::StopEscalation,
                Effect::RefreshCard,
                Effect::Say(format!("👀 #{id} acknowledged by {}.", actor.display())),
            ]);
        }
        Change::SetStatus(to) => {
            // The delegation boundary comes first: the bot asking to resolve hears
            // "only a human can", whatever the incident's status.
            if !actor.is_human() && matches!(to, Status::Mitigated | Status::Resolved) {
                return Err(Refusal::HumansOnly(to));
            }
            if incident.status == to {
                return Err(Refusal::AlreadyInStatus { id, status: to });
            }
            transition_allowed(incident.status, to, actor).map_err(|r| match r {
                Refusal::NotAllowed { from, to, hint, .. } => Refusal::NotAllowed { id, from, to, hint },
                other => other,
            })?;
            next.status = to;
            entries.push(EntryKind::StatusChanged { from: incident.status, to });
            match to {
                Status::Investigating => {
                    // A person who starts investigating has acknowledged; the bot
                    // starting does not count (escalation keeps running).
                    if next.acked_by.is_none() && actor.is_human() {
                        next.acked_at = Some(now);
                        next.acked_by = Some(actor.clone());
                        entries.push(EntryKind::Acknowledged);
                        effects.push(Effect::StopEscalation);
                    }
                    let what = if incident.status == Status::Mitigated {
                        "investigation reopened"
                    } else {
                        "investigating"
                    };
                    effects.push(Effect::Say(format!("🔎 #{id} {what} ({}).", actor.display())));
                }
                Status::Mitigated => {
                    next.mitigated_at = Some(now);
                    next.mitigated_by = Some(actor.clone());
                    effects.extend([
                        Effect::StopEscalation,
                        Effect::Say(format!("🩹 #{id} mitigated ({}).", actor.display())),
                    ]);
                }
                Status::Resolved => {
                    next.resolved_at = Some(now);
                    next.resolved_by = Some(actor.clone());
                    let took = humanize(now - incident.created_at);
                    effects.extend([
                        Effect::StopEscalation,
                        Effect::ReleaseFingerprint,
                        Effect::Say(format!("✅ #{id} resolved by {} after {took}.", actor.display())),
                    ]);
                }
                Status::Open => {
                    // Reopened: a fresh start for acknowledgement and escalation.
                    next.resolved_at = None;
                    next.resolved_by = None;
                    next.mitigated_at = None;
                    next.mitigated_by = None;
                    next.acked_at = None;
                    next.acked_by = None;
                    next.escalation_step = 0;
                    effects.extend([
                        Effect::ClaimFingerprint,
                        Effect::ScheduleEscalation,
                        Effect::Say(format!("♻️ #{id} reopened by {}.", actor.display())),
                    ]);
                }
            }
            effects.push(Effect::RefreshCard);
        }
        Change::SetSeverity(to) => {
            if !actor.is_human() {
                // The bot may propose; a bot-set high/critical stays unconfirmed.
                if incident.severity == to {
                    return Err(Refusal::HumansOnlyAction("confirm a severity"));
                }
                next.severity = to;
                next.severity_confirmed = !matches!(to, Severity::High | Severity::Critical);
            } else {
                if incident.severity == to && incident.severity_confirmed {
                    return Err(Refusal::NotAllowed {
                        id,
                        from: incident.status,
                        to: incident.status,
                        hint: " (severity unchanged)",
                    });
                }
                next.severity = to;
                next.severity_confirmed = true;
            }
            entries.push(EntryKind::SeverityChanged {
                from: incident.severity,
                to,
                confirmed: next.severity_confirmed,
            });
            effects.extend([
                Effect::RefreshCard,
                Effect::Say(if incident.severity == to {
                    format!("{} {} confirmed severity {to} for #{id}.", to.emoji(), actor.display())
                } else {
                    format!("{} {} set severity of #{id} to {to}.", to.emoji(), actor.display())
                }),
            ]);
        }
        Change::Escalate { who } => {
            if incident.status == Status::Resolved {
                return Err(Refusal::Resolved { id });
            }
            next.escalation_step += 1;
            let step = next.escalation_step;
            let effect = if who.is_empty() {
                Effect::Say(format!(
                    "📣 {} escalated #{id} (step {step}); no escalation policy is configured — page someone by hand.",
                    actor.display()
                ))
            } else {
                Effect::Page {
                    line: format!("📣 {} escalated #{id} (step {step}).", actor.display()),
                    who: who.clone(),
                }
            };
            entries.push(EntryKind::Escalated { step, who });
            effects.extend([Effect::RefreshCard, effect]);
            if next.acked_by.is_none() {
                effects.push(Effect::ScheduleEscalation);
            }
        }
        Change::Note(text) => {
            let text = text.trim().to_string();
            if text.is_empty() {
                return Err(Refusal::EmptyNote);
            }
            entries.push(EntryKind::Note { text });
        }
        Change::AlertRepeated { fingerprint } => {
            entries.push(EntryKind::AlertRepeated { fingerprint });
            // Alertmanager re-sends a firing alert every `repeat_interval`: that is
            // no news. An alert that had cleared and fires again is: whoever was
            // about to press Resolve on "the alert cleared" must hear it.
            if let Some(cleared) = incident.alert_cleared_at {
                next.alert_cleared_at = None;
                let ago = humanize(now - cleared);
                let line = match incident.status {
                    Status::Mitigated => format!(
                        "🔁 The alert for #{id} is firing again ({ago} after it cleared), although #{id} is marked mitigated."
                    ),
                    _ => format!("🔁 The alert for #{id} is firing again ({ago} after it cleared)."),
                };
                effects.extend([Effect::RefreshCard, Effect::Say(line)]);
            }
        }
        Change::AlertCleared { fingerprint } => {
            entries.push(EntryKind::AlertCleared { fingerprint });
            // Ask once per clearing: a re-sent "resolved" notification is no news.
            if incident.alert_cleared_at.is_none() {
                next.alert_cleared_at = Some(now);
                if incident.status != Status::Resolved {
                    effects.extend([Effect::RefreshCard, Effect::AskToResolve]);
                }
            }
        }
    }
    next.updated_at = now;
    Ok(Outcome { incident: next, entries, effects })
}

/// "3 min", "2 h 5 min", "1 d 4 h" — durations as people say them.
pub fn humanize(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86400 => {
            let (h, m) = (s / 3600, (s % 3600) / 60);
            if m == 0 {
                format!("{h} h")
            } else {
                format!("{h} h {m} min")
            }
        }
        s => {
            let (d, h) = (s / 86400, (s % 86400) / 3600);
            if h == 0 {
                format!("{d} d")
            } else {
                format!("{d} d {h} h")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Person, Source};

    fn alice() -> Actor {
        Actor::Human(Person::new("slack", "U1", Some("alice".into())))
    }

    fn incident(status: Status) -> Incident {
        let t = DateTime::parse_from_rfc3339("2026-11-23T02:00:00Z").unwrap().with_timezone(&Utc);
        let mut incident = Incident::new(7, "db down", Severity::High, Source::Alertmanager, Actor::Bot, t);
        incident.status = status;
        incident.fingerprint = Some("abc".into());
        incident
    }

    fn later() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T02:42:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_status_move_by_a_human_and_by_the_bot() {
        use Status::*;
        // (from, to, human allowed, bot allowed)
        let table = [
            // The bot may start investigating (gathering context), nothing more.
            (Open, Investigating, true, true),
            (Open, Mitigated, true, false),
            (Open, Resolved, true, false),
            (Investigating, Open, false, false),
            (Investigating, Mitigated, true, false),
            (Investigating, Resolved, true, false),
            (Mitigated, Open, false, false),
            (Mitigated, Investigating, true, false),
            (Mitigated, Resolved, true, false),
            (Resolved, Open, true, false),
            (Resolved, Investigating, false, false),
            (Resolved, Mitigated, false, false),
        ];
        for (from, to, human_ok, bot_ok) in table {
            for (actor, ok) in [(alice(), human_ok), (Actor::Bot, bot_ok)] {
                let result = apply(&incident(from), Change::SetStatus(to), &actor, later());
                assert_eq!(result.is_ok(), ok, "{from} → {to} by {actor}: {result:?}");
                if let Ok(out) = result {
                    assert_eq!(out.incident.status, to);
                    assert_eq!(out.entries[0], EntryKind::StatusChanged { from, to });
                    assert!(out.effects.contains(&Effect::RefreshCard));
                    assert_eq!(out.incident.updated_at, later());
                }
            }
        }
        for status in Status::ALL {
            let err = apply(&incident(status), Change::SetStatus(status), &alice(), later()).unwrap_err();
            assert_eq!(err, Refusal::AlreadyInStatus { id: 7, status });
        }
        // The bot hears the delegation rule even where the move would be a no-op.
        let err =
            apply(&incident(Status::Resolved), Change::SetStatus(Status::Resolved), &Actor::Bot, later())
                .unwrap_err();
        assert_eq!(err, Refusal::HumansOnly(Status::Resolved));
    }

    #[test]
    fn the_bot_can_never_mitigate_or_resolve() {
        let err = apply(
            &incident(Status::Investigating),
            Change::SetStatus(Status::Resolved),
            &Actor::Bot,
            later(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "only a human can mark an incident resolved");
        let err = apply(&incident(Status::Open), Change::SetStatus(Status::Mitigated), &Actor::Bot, later())
            .unwrap_err();
        assert_eq!(err.to_string(), "only a human can mark an incident mitigated");
    }

    #[test]
    fn rejected_moves_explain_themselves() {
        let err = apply(&incident(Status::Resolved), Change::SetStatus(Status::Mitigated), &alice(), later())
            .unwrap_err();
        assert_eq!(err.to_string(), "incident #7 cannot go from resolved to mitigated (reopen it first)");
        let err = apply(&incident(Status::Investigating), Change::SetStatus(Status::Open), &alice(), later())
            .unwrap_err();
        assert!(err.to_string().contains("only a resolved incident can be reopened"), "{err}");
    }

    #[test]
    fn acknowledge_records_who_and_starts_investigating() {
        let out = apply(&incident(Status::Open), Change::Acknowledge, &alice(), later()).unwrap();
        assert_eq!(out.incident.status, Status::Investigating);
        assert_eq!(out.incident.acked_by, Some(alice()));
        assert_eq!(out.incident.acked_at, Some(later()));
        assert_eq!(
            out.entries,
            vec![
                EntryKind::Acknowledged,
                EntryKind::StatusChanged { from: Status::Open, to: Status::Investigating }
            ]
        );
        assert!(out.effects.contains(&Effect::StopEscalation));
        let again = apply(&out.incident, Change::Acknowledge, &alice(), later()).unwrap_err();
        assert_eq!(again.to_string(), "incident #7 was already acknowledged by alice");
        let resolved =
            apply(&incident(Status::Resolved), Change::Acknowledge, &alice(), later()).unwrap_err();
        assert_eq!(resolved, Refusal::Resolved { id: 7 });
    }

    #[test]
    fn resolve_releases_the_fingerprint_and_reopen_claims_it_back() {
        let out =
            apply(&incident(Status::Investigating), Change::SetStatus(Status::Resolved), &alice(), later())
                .unwrap();
        assert!(out.effects.contains(&Effect::ReleaseFingerprint));
        assert_eq!(out.incident.resolved_by, Some(alice()));
        assert!(out.effects.contains(&Effect::Say("✅ #7 resolved by alice after 42 min.".into())));
        let reopened = apply(&out.incident, Change::SetStatus(Status::Open), &alice(), later()).unwrap();
        assert!(reopened.effects.contains(&Effect::ClaimFingerprint));
        assert!(reopened.effects.contains(&Effect::ScheduleEscalation));
        assert_eq!(reopened.incident.resolved_by, None);
        assert_eq!(reopened.incident.acked_by, None);
    }

    #[test]
    fn a_cleared_alert_asks_a_human_and_changes_nothing() {
        let before = incident(Status::Investigating);
        let out =
            apply(&before, Change::AlertCleared { fingerprint: Some("abc".into()) }, &Actor::Bot, later())
                .unwrap();
        assert_eq!(out.incident.status, Status::Investigating);
        assert_eq!(out.effects, vec![Effect::RefreshCard, Effect::AskToResolve]);
        assert_eq!(out.entries, vec![EntryKind::AlertCleared { fingerprint: Some("abc".into()) }]);
        assert_eq!(out.incident.alert_cleared_at, Some(later()));
        // The same "resolved" notification again: noted, not asked twice.
        let again =
            apply(&out.incident, Change::AlertCleared { fingerprint: None }, &Actor::Bot, later()).unwrap();
        assert!(again.effects.is_empty(), "{:?}", again.effects);
    }

    #[test]
    fn an_alert_that_fires_again_after_clearing_is_said_out_loud() {
        let firing = incident(Status::Investigating);
        // A plain repeat (Alertmanager's repeat_interval) stays on the timeline only.
        let repeat =
            apply(&firing, Change::AlertRepeated { fingerprint: None }, &Actor::Bot, later()).unwrap();
        assert!(repeat.effects.is_empty());
        let cleared = apply(&firing, Change::AlertCleared { fingerprint: None }, &Actor::Bot, later())
            .unwrap()
            .incident;
        let mut mitigated = cleared.clone();
        mitigated.status = Status::Mitigated;
        let refire = apply(
            &mitigated,
            Change::AlertRepeated { fingerprint: None },
            &Actor::Bot,
            later() + chrono::Duration::minutes(3),
        )
        .unwrap();
        assert_eq!(refire.incident.alert_cleared_at, None);
        assert_eq!(refire.incident.status, Status::Mitigated, "the bot never changes the status");
        assert_eq!(
            refire.effects,
            vec![
                Effect::RefreshCard,
                Effect::Say(
                    "🔁 The alert for #7 is firing again (3 min after it cleared), although #7 is marked mitigated."
                        .into()
                )
            ]
        );
    }

    #[test]
    fn the_bot_cannot_acknowledge_or_silence_escalation() {
        let err = apply(&incident(Status::Open), Change::Acknowledge, &Actor::Bot, later()).unwrap_err();
        assert_eq!(err.to_string(), "only a human can acknowledge an incident");
        let out =
            apply(&incident(Status::Open), Change::SetStatus(Status::Investigating), &Actor::Bot, later())
                .unwrap();
        assert_eq!(out.incident.acked_by, None);
        assert!(!out.effects.contains(&Effect::StopEscalation));
    }

    #[test]
    fn bot_set_high_severity_stays_unconfirmed_until_a_human_confirms() {
        let mut low = incident(Status::Open);
        low.severity = Severity::Low;
        let out = apply(&low, Change::SetSeverity(Severity::Critical), &Actor::Bot, later()).unwrap();
        assert!(!out.incident.severity_confirmed);
        let confirmed =
            apply(&out.incident, Change::SetSeverity(Severity::Critical), &alice(), later()).unwrap();
        assert!(confirmed.incident.severity_confirmed);
        assert_eq!(
            confirmed.entries,
            vec![EntryKind::SeverityChanged {
                from: Severity::Critical,
                to: Severity::Critical,
                confirmed: true
            }]
        );
        assert!(apply(&confirmed.incident, Change::SetSeverity(Severity::Critical), &Actor::Bot, later())
            .is_err());
    }

    #[test]
    fn escalation_counts_steps_and_keeps_the_timer_while_unacknowledged() {
        let out = apply(
            &incident(Status::Open),
            Change::Escalate { who: vec!["<@U2>".into()] },
            &Actor::Bot,
            later(),
        )
        .unwrap();
        assert_eq!(out.incident.escalation_step, 1);
        assert!(out.effects.contains(&Effect::ScheduleEscalation));
        assert_eq!(out.entries, vec![EntryKind::Escalated { step: 1, who: vec!["<@U2>".into()] }]);
        let acked = apply(&incident(Status::Open), Change::Acknowledge, &alice(), later()).unwrap().incident;
        let out = apply(&acked, Change::Escalate { who: vec![] }, &alice(), later()).unwrap();
        assert!(!out.effects.contains(&Effect::ScheduleEscalation));
        assert!(matches!(&out.effects[1], Effect::Say(s) if s.contains("no escalation policy")));
        let paged =
            apply(&incident(Status::Open), Change::Escalate { who: vec!["<@U2>".into()] }, &alice(), later())
                .unwrap();
        assert_eq!(
            paged.effects[1],
            Effect::Page { line: "📣 alice escalated #7 (step 1).".into(), who: vec!["<@U2>".into()] }
        );
    }

    #[test]
    fn notes_need_text() {
        assert_eq!(
            apply(&incident(Status::Open), Change::Note("  ".into()), &alice(), later()),
            Err(Refusal::EmptyNote)
        );
        let out =
            apply(&incident(Status::Open), Change::Note(" rolled back ".into()), &alice(), later()).unwrap();
        assert_eq!(out.entries, vec![EntryKind::Note { text: "rolled back".into() }]);
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(humanize(chrono::Duration::seconds(59)), "59 s");
        assert_eq!(humanize(chrono::Duration::minutes(42)), "42 min");
        assert_eq!(humanize(chrono::Duration::minutes(125)), "2 h 5 min");
        assert_eq!(humanize(chrono::Duration::hours(28)), "1 d 4 h");
    }
}
