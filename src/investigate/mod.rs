//! The investigator: when an incident opens (or someone asks for a refresh), gather
//! context from every configured source at once and post a response plan.
//!
//! 1. One "Investigating…" message appears in the incident's thread(s).
//! 2. All sources run concurrently, each under its own timeout, the whole under
//!    `investigate.deadline_secs`. Each finished source edits the progress message in
//!    place (✓ ✗ ⏱), adds a timeline entry and caches its result in sled. A source that
//!    is still running when the sources' share of the deadline is over is marked
//!    timed out; it never holds up the others.
//! 3. The plan: written by the LLM from the incident and the (trimmed, redacted)
//!    sources, in the time that is left; or built by rules from the runbook, past
//!    incidents and source results when there is no LLM or it fails. It is posted as a
//!    new message, and its cost is added to the incident's running total.
//!
//! A refresh re-runs the sources and posts what changed instead of a new plan.
//! Investigations are durable: the engine's `Investigate` timer re-runs one that a
//! crash interrupted; this module clears the timer when it is done.

pub mod plan;
pub mod report;
pub mod runbooks;
pub mod sources;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::SourceConfig;
use crate::engine::Engine;
use crate::llm::LlmClient;
use crate::model::{Actor, EntryKind, FetchStatus, Incident, IncidentId};
use crate::platforms::Platforms;
use crate::store::{Batch, TimerKind};
use plan::Author;
use report::Progress;
use sources::{ContextSource, Fetched};

/// What the engine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub incident: IncidentId,
    /// Re-run and report what changed (instead of a first investigation with a plan).
    pub refresh: bool,
}

/// One source's result, as reported and cached.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub source: String,
    /// The source type (`runbooks`, `http`, …), for the rule-based plan.
    pub kind: String,
    pub status: FetchStatus,
    pub elapsed_ms: u64,
    /// Output for people and the LLM, trimmed to `max_source_chars`.
    pub text: String,
    /// Structured output for the rule-based plan.
    pub data: Value,
    /// Why it failed, or what it had to say when it found nothing.
    pub note: String,
}

impl Chunk {
    fn to_cache(&self) -> Value {
        serde_json::json!({"status": self.status, "elapsed_ms": self.elapsed_ms, "text": self.text, "note": self.note, "at": Utc::now()})
    }
}

/// Aborts the tasks it holds when dropped.
struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A cached result as one comparable line: status, then the text or the note.
fn cached_summary(cached: &Value) -> String {
    let status = cached["status"].as_str().unwrap_or("");
    let text = cached["text"].as_str().filter(|t| !t.is_empty()).or(cached["note"].as_str()).unwrap_or("");
    format!("{status}: {text}")
}

/// Cuts `text` to `max` characters, saying so.
fn trim(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}\n… (trimmed: {} more characters)", count - max)
}

struct Investigator {
    engine: Arc<Engine>,
    sources: Vec<(Arc<dyn ContextSource>, String)>,
    llm: Option<Arc<dyn LlmClient>>,
    prompt: String,
    /// Incidents being investigated right now, with what was asked for meanwhile.
    running: Mutex<HashMap<IncidentId, Queued>>,
}

/// Requests that arrived while an incident's investigation ran; they run after it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Queued {
    /// The run in progress is a refresh.
    running_refresh: bool,
    /// The first investigation (with its plan) was asked for during a refresh.
    first: bool,
    /// Someone asked for a refresh.
    refresh: bool,
}

impl Queued {
    /// Takes what a request adds to a busy incident; false = nothing (a duplicate of
    /// the run in progress).
    fn add(&mut self, request: Request) -> bool {
        let before = *self;
        if request.refresh {
            self.refresh = true;
        } else if self.running_refresh {
            self.first = true;
        }
        *self != before
    }

    /// What runs next, if anything: a plan before a refresh (right after a first
    /// investigation, a refresh would say nothing new).
    fn next(&mut self, incident: IncidentId) -> Option<Request> {
        let next = if self.first {
            Some(Request { incident, refresh: false })
        } else if self.refresh {
            Some(Request { incident, refresh: true })
        } else {
            None
        };
        *self = Queued { running_refresh: next.is_some_and(|r| r.refresh), first: false, refresh: false };
        next
    }
}

/// Starts the investigator if `investigate.enabled`; it takes requests from the engine.
pub fn start(
    engine: &Arc<Engine>,
    platforms: &Platforms,
    llm: Option<Arc<dyn LlmClient>>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let config = &engine.config.investigate;
    if !config.enabled {
        tracing::info!("investigation is off (investigate.enabled = false)");
        return Ok(());
    }
    let built = sources::build(&config.sources, engine.store.clone(), platforms.clone())?;
    let kinds = config.sources.iter().map(kind_of);
    let investigator = Arc::new(Investigator {
        engine: engine.clone(),
        sources: built.into_iter().zip(kinds).collect(),
        llm,
        prompt: crate::app::load_prompt(&config.prompt, plan::BUILTIN_PROMPT),
        running: Mutex::new(HashMap::new()),
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
    engine.set_investigations(tx);
    // Investigations a stop or a crash interrupted: their timers (leases) would only
    // fire a minute or more from now; the people waiting for a plan should not wait.
    let resumed = engine.resume_investigations(Utc::now())?;
    if resumed > 0 {
        tracing::info!(count = resumed, "resuming interrupted investigations");
    }
    let tasks = tracker.clone();
    tracker.spawn(async move {
        loop {
            let request = tokio::select! {
                _ = shutdown.cancelled() => return,
                request = rx.recv() => match request {
                    Some(r) => r,
                    None => return,
                },
            };
            let investigator = investigator.clone();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                let id = request.incident;
                {
                    let mut running = investigator.running.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(queued) = running.get_mut(&id) {
                        if queued.add(request) {
                            tracing::info!(
                                incident = id,
                                refresh = request.refresh,
                                "investigation running; this request follows it"
                            );
                        }
                        return;
                    }
                    running.insert(id, Queued { running_refresh: request.refresh, ..Queued::default() });
                }
                let mut request = request;
                loop {
                    tokio::select! {
                        // Shutdown abandons the run; its timer resumes it after the restart.
                        _ = stop.cancelled() => break,
                        result = investigator.run(request) => if let Err(e) = result {
                            tracing::error!(incident = id, error = %e, "investigation failed");
                        },
                    }
                    let next = investigator
                        .running
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_mut(&id)
                        .and_then(|q| q.next(id));
                    match next {
                        Some(next) => request = next,
                        None => break,
                    }
                }
                investigator.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            });
        }
    });
    Ok(())
}

fn kind_of(config: &SourceConfig) -> String {
    match config {
        SourceConfig::Runbooks { .. } => "runbooks",
        SourceConfig::PastIncidents { .. } => "past_incidents",
        SourceConfig::Http { .. } => "http",
        SourceConfig::Prometheus { .. } => "prometheus",
        SourceConfig::ChannelHistory { .. } => "channel_history",
        SourceConfig::Deploys { .. } => "deploys",
    }
    .to_string()
}

impl Investigator {
    async fn run(&self, request: Request) -> Result<(), crate::engine::EngineError> {
        let config = &self.engine.config.investigate;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(config.deadline_secs);
        let id = request.incident;
        let Some(incident) = self.engine.store.incident(id)? else {
            return self.finish(request, Batch::default());
        };
        if !incident.status.is_active() && !request.refresh {
            return self.finish(request, Batch::default());
        }
        // A first investigation keeps the same keys across a crash-and-rerun, so its
        // progress message is not posted twice; each refresh gets its own.
        let cause = if request.refresh {
            format!("inv:{id}:refresh:{:x}", fastrand::u64(..))
        } else {
            format!("inv:{id}")
        };
        // What each source said last time: its status and its text (or, when it found
        // nothing or failed, why), so "timed out" → "failed" counts as a change too.
        let previous: BTreeMap<String, String> = if request.refresh {
            self.engine.store.context(id)?.into_iter().map(|(name, v)| (name, cached_summary(&v))).collect()
        } else {
            BTreeMap::new()
        };

        let names: Vec<String> = self.sources.iter().map(|(s, _)| s.name().to_string()).collect();
        let mut done: Vec<Option<Chunk>> = vec![None; self.sources.len()];
        let lines = |done: &[Option<Chunk>]| -> crate::model::RichMessage {
            let progress: Vec<Progress<'_>> = done
                .iter()
                .zip(&names)
                .map(|(d, name)| match d {
                    Some(chunk) => Progress::Done(chunk),
                    None => Progress::Pending(name),
                })
                .collect();
            report::progress(&incident, &progress, request.refresh)
        };
        let mut batch = Batch::default();
        self.engine.progress(&mut batch, &cause, &incident, lines(&done), true, Utc::now());
        self.engine.commit(batch)?;

        // Sources get the deadline minus the time the plan needs.
        let plan_budget = match &self.llm {
            Some(_) if !request.refresh => {
                Duration::from_secs(config.deadline_secs / 3).max(Duration::from_secs(1))
            }
            _ => Duration::from_millis(300),
        };
        let sources_deadline = deadline.checked_sub(plan_budget).unwrap_or(started);
        let default_timeout = Duration::from_secs(config.source_timeout_secs);
        // Each source in its own task: one that hogs its thread cannot hold up the
        // others, nor this loop's deadline. The tasks are aborted once we are done.
        let tasks: Vec<tokio::task::JoinHandle<_>> = self
            .sources
            .iter()
            .map(|(source, _)| {
                let source = source.clone();
                let incident = incident.clone();
                let timeout = source.timeout().unwrap_or(default_timeout);
                tokio::spawn(async move {
                    let start = Instant::now();
                    let result = tokio::time::timeout(timeout, source.fetch(&incident)).await;
                    (result.map_err(|_| timeout), start.elapsed())
                })
            })
            .collect();
        // Aborted however `run` ends: done, an error, or dropped at shutdown.
        let _aborts = AbortOnDrop(tasks.iter().map(|t| t.abort_handle()).collect());
        let mut running: FuturesUnordered<_> = tasks
            .into_iter()
            .enumerate()
            .map(|(i, task)| async move {
                match task.await {
                    Ok((result, elapsed)) => (i, result.map(Some), elapsed),
                    // The source panicked: report it as failed, not as a crash.
                    Err(_) => (i, Ok(None), Duration::ZERO),
                }
            })
            .collect();
        let max_chars = config.max_source_chars;
        let sleep = tokio::time::sleep_until(sources_deadline);
        tokio::pin!(sleep);
        loop {
            let (i, result, elapsed) = tokio::select! {
                next = running.next() => match next {
                    Some(r) => r,
                    None => break,
                },
                _ = &mut sleep => break,
            };
            let (name, kind) = (names[i].clone(), self.sources[i].1.clone());
            let ms = elapsed.as_millis() as u64;
            let empty = |status: FetchStatus, note: String| Chunk {
                source: name.clone(),
                kind: kind.clone(),
                status,
                elapsed_ms: ms,
                text: String::new(),
                data: Value::Null,
                note,
            };
            let chunk = match result {
                Ok(None) => empty(FetchStatus::Failed, "the source crashed (see the log)".into()),
                Ok(Some(Fetched::Found { text, data })) => {
                    Chunk { text: trim(&text, max_chars), data, ..empty(FetchStatus::Ok, String::new()) }
                }
                Ok(Some(Fetched::Nothing(note))) => empty(FetchStatus::Ok, note),
                Ok(Some(Fetched::Failed(note))) => empty(FetchStatus::Failed, note),
                Ok(Some(Fetched::Disabled(note))) => empty(FetchStatus::Disabled, note),
                Err(timeout) => {
                    empty(FetchStatus::TimedOut, format!("no answer within {} s", timeout.as_secs_f64()))
                }
            };
            done[i] = Some(chunk);
            self.record(id, &cause, &incident, done[i].as_ref(), lines(&done))?;
        }
        // Whatever is still running has run out of time.
        for i in 0..done.len() {
            if done[i].is_none() {
                done[i] = Some(Chunk {
                    source: names[i].clone(),
                    kind: self.sources[i].1.clone(),
                    status: FetchStatus::TimedOut,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                    text: String::new(),
                    data: Value::Null,
                    note: "still running at the investigation's deadline".into(),
                });
                self.record(id, &cause, &incident, done[i].as_ref(), lines(&done))?;
            }
        }
        drop(running);
        let chunks: Vec<Chunk> = done.into_iter().flatten().collect();

        let mut batch = Batch::default();
        let now = Utc::now();
        if request.refresh {
            let changed: Vec<(&Chunk, Option<String>)> = chunks
                .iter()
                .filter(|c| {
                    previous.get(&c.source).is_none_or(|before| *before != cached_summary(&c.to_cache()))
                })
                .map(|c| (c, previous.get(&c.source).cloned()))
                .collect();
            let message = report::refresh_message(&incident, &changed, started.elapsed());
            self.engine.post_in_threads(&mut batch, &format!("{cause}:changes"), &incident, message, now);
            return self.finish(request, batch);
        }

        let (plan, author) = match &self.llm {
            Some(llm) => {
                let left = deadline
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(Duration::from_millis(200));
                if left < Duration::from_millis(500) {
                    (
                        plan::rule_based(&incident, &chunks),
                        Author::Rules { reason: "no time left for the LLM".into(), spent: None },
                    )
                } else {
                    match plan::ask(llm.as_ref(), &self.prompt, &incident, &chunks, max_chars, left).await {
                        Ok(answer) => answer,
                        Err((reason, usage)) => {
                            tracing::warn!(
                                incident = id,
                                reason,
                                "LLM plan failed; posting the rule-based plan"
                            );
                            if let Some(usage) = usage {
                                // A garbled answer still cost tokens.
                                batch.entry(
                                    id,
                                    now,
                                    Actor::Bot,
                                    EntryKind::PlanPosted {
                                        model: Some(llm.model().to_string()),
                                        input_tokens: usage.input_tokens,
                                        output_tokens: usage.output_tokens,
                                        cost_usd: usage.cost_usd,
                                        ai_written: false,
                                    },
                                );
                                self.engine.add_usage(id, usage)?;
                            }
                            (
                                plan::rule_based(&incident, &chunks),
                                Author::Rules { reason: format!("the LLM failed: {reason}"), spent: usage },
                            )
                        }
                    }
                }
            }
            None => (
                plan::rule_based(&incident, &chunks),
                Author::Rules { reason: "no LLM configured".into(), spent: None },
            ),
        };
        let message = report::plan_message(&incident, &plan, &author, &chunks, started.elapsed());
        self.engine.post_in_threads(&mut batch, &format!("{cause}:plan"), &incident, message, now);
        let entry = match &author {
            Author::Llm { model, usage } => {
                self.engine.add_usage(id, *usage)?;
                EntryKind::PlanPosted {
                    model: Some(model.clone()),
                    input_tokens: usage.input_tokens,
                    output_tokens: usage.output_tokens,
                    cost_usd: usage.cost_usd,
                    ai_written: true,
                }
            }
            Author::Rules { .. } => EntryKind::PlanPosted {
                model: None,
                input_tokens: 0,
                output_tokens: 0,
                cost_usd: 0.0,
                ai_written: false,
            },
        };
        batch.entry(id, now, Actor::Bot, entry);
        tracing::info!(
            incident = id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            ai = matches!(author, Author::Llm { .. }),
            "plan posted"
        );
        self.finish(request, batch)
    }

    /// One source finished: timeline entry, cache, progress edit.
    fn record(
        &self,
        id: IncidentId,
        cause: &str,
        incident: &Incident,
        chunk: Option<&Chunk>,
        progress: crate::model::RichMessage,
    ) -> Result<(), crate::engine::EngineError> {
        let Some(chunk) = chunk else { return Ok(()) };
        let now = Utc::now();
        let mut batch = Batch::default();
        batch.entry(
            id,
            now,
            Actor::Bot,
            EntryKind::ContextFetched {
                source: chunk.source.clone(),
                status: chunk.status,
                ms: chunk.elapsed_ms,
            },
        );
        batch.context.push((id, chunk.source.clone(), chunk.to_cache()));
        self.engine.progress(
            &mut batch,
            &format!("{cause}:{}", chunk.source),
            incident,
            progress,
            false,
            now,
        );
        self.engine.commit(batch)?;
        Ok(())
    }

    /// Commits the last batch; a first investigation also clears its durable timer. A
    /// refresh leaves it: a first investigation queued behind the refresh still needs
    /// it to survive a crash.
    fn finish(&self, request: Request, mut batch: Batch) -> Result<(), crate::engine::EngineError> {
        if !request.refresh {
            batch.timers_clear.push((request.incident, TimerKind::Investigate));
        }
        // Locked, so a timer lease being written at this moment sees the timer gone.
        self.engine.commit_locked(batch)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_during_a_run_follow_it_plan_first() {
        let first = Request { incident: 1, refresh: false };
        let refresh = Request { incident: 1, refresh: true };
        // During a first investigation: a duplicate is dropped, a refresh follows.
        let mut q = Queued::default();
        assert!(!q.add(first));
        assert!(q.add(refresh));
        assert!(!q.add(refresh), "one refresh is enough");
        assert_eq!(q.next(1), Some(refresh));
        assert_eq!(q.next(1), None);
        // During a refresh: the first investigation (the plan) is not lost.
        let mut q = Queued { running_refresh: true, ..Queued::default() };
        assert!(q.add(first));
        assert!(q.add(refresh));
        assert_eq!(q.next(1), Some(first), "the plan first; a refresh right after it would say nothing");
        assert_eq!(q.next(1), None);
    }

    #[test]
    fn trimming_says_how_much_was_cut() {
        assert_eq!(trim("short", 10), "short");
        let cut = trim(&"x".repeat(50), 10);
        assert!(cut.starts_with("xxxxxxxxxx\n…") && cut.contains("40 more characters"), "{cut}");
    }
}
