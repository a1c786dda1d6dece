//! The persisted outbound queue (DESIGN.md "Durability rule").
//!
//! Every message the bot sends is first written to the `outbox` tree in the same
//! transaction as the decision that caused it. One worker per platform sends entries in
//! order, and only then removes them — together with a record of the platform's message
//! reference under the entry's idempotency key, so an entry is never posted twice.
//!
//! Ordering: entries in the same *lane* (the same incident, or the same channel) go out
//! strictly in order, so a card is posted before it is edited; different lanes do not
//! wait for each other. Pacing: a token bucket per channel keeps under the platforms'
//! "about one message per second per channel" limits; a 429 pauses the platform for its
//! `Retry-After` (only the chat, where the platform's limits are per chat: Telegram); 5xx and transport errors back off exponentially and retry forever (a
//! page is never dropped); a message the platform rejects outright is kept as a dead
//! letter and logged.
//!
//! Answers to interactions that expire (Telegram callback queries, which the client
//! shows as a spinner until answered) go out from a queue of their own
//! ([`ChatPlatform::answers_apart`]): a post held by the platform's throttle, or a 429
//! that pauses posts, must not make the answer miss its window.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::OutboxConfig;
use crate::model::{IncidentId, MessageRef, Platform, ReplyHandle, RichMessage};
use crate::platforms::{ChatPlatform, SendError};
use crate::store::{Delivered, Store};

/// How long a delivered message's idempotency key is remembered.
const SENT_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// Where a post goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A channel, optionally inside a thread.
    Channel {
        channel: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<String>,
    },
    /// The thread(s) of the entry's incident on the entry's platform, looked up when the
    /// entry is sent (the thread may only exist once an earlier entry posted its card).
    IncidentThread,
}

/// What a posted message is to its incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostRole {
    Message,
    /// The incident card, edited in place on every change.
    Card,
    /// The "Investigating…" message, edited as sources finish.
    Progress,
}

/// Which earlier message an update edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Edit {
    /// Every card of the entry's incident on the entry's platform.
    Card,
    /// The incident's progress message on the entry's platform.
    Progress,
    Message {
        message: MessageRef,
    },
}

/// One outbound action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OutboxOp {
    Post {
        to: Target,
        message: RichMessage,
        role: PostRole,
    },
    Update {
        edit: Edit,
        message: RichMessage,
    },
    /// A private (or in-place) answer to the person behind an event: Slack ephemeral,
    /// Discord interaction follow-up, Telegram callback answer or reply.
    Reply {
        channel: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<String>,
        user: String,
        #[serde(default)]
        handle: ReplyHandle,
        text: String,
        /// A mere confirmation: only platforms that must answer every interaction
        /// (Telegram callback queries) deliver it; the others skip it.
        #[serde(default)]
        quiet: bool,
    },
}

/// A persisted outbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Assigned by the store, increasing: the send order.
    pub id: u64,
    /// Idempotency key: derived from what caused the message, so replaying the cause
    /// cannot post it twice.
    pub key: String,
    pub platform: Platform,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentId>,
    pub op: OutboxOp,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub attempts: u32,
    /// Not sent before this time (backoff, Retry-After).
    pub not_before: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The platform refused it for good; kept for the operator, never retried.
    #[serde(default)]
    pub dead: bool,
}

impl OutboxItem {
    pub fn new(
        key: impl Into<String>,
        platform: Platform,
        incident: Option<IncidentId>,
        op: OutboxOp,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: 0,
            key: key.into(),
            platform,
            incident,
            op,
            created_at: now,
            attempts: 0,
            // Due at once, whatever clock the caller decided with.
            not_before: DateTime::<Utc>::UNIX_EPOCH,
            last_error: None,
            dead: false,
        }
    }

    /// Entries in one lane are sent strictly in order.
    pub fn lane(&self) -> String {
        if let Some(id) = self.incident {
            return format!("incident:{id}");
        }
        match &self.op {
            OutboxOp::Post { to: Target::Channel { channel, .. }, .. } | OutboxOp::Reply { channel, .. } => {
                format!("channel:{channel}")
            }
            OutboxOp::Update { edit: Edit::Message { message }, .. } => {
                format!("channel:{}", message.channel)
            }
            _ => "misc".to_string(),
        }
    }
}

/// Wakes the outbox workers when new entries were committed.
///
/// A counter every send loop watches rather than a `Notify` permit: there is a loop per
/// platform and queue, and a wake that arrives while a loop is busy sending must still
/// be seen by that loop (a single stored permit would go to one of them only, and the
/// others would sleep until their timeout).
#[derive(Clone)]
pub struct OutboxSignal(Arc<watch::Sender<u64>>);

impl Default for OutboxSignal {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl OutboxSignal {
    pub fn wake(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Per-channel token bucket.
struct Bucket {
    tokens: f64,
    updated: tokio::time::Instant,
}

struct Pacer {
    burst: f64,
    interval: Duration,
    buckets: HashMap<String, Bucket>,
}

impl Pacer {
    fn new(config: &OutboxConfig) -> Self {
        Self {
            burst: config.channel_burst as f64,
            interval: Duration::from_millis(config.channel_interval_ms),
            buckets: HashMap::new(),
        }
    }

    /// How long to wait before the channel may receive another message (zero = now).
    fn delay(&mut self, channel: &str) -> Duration {
        if self.interval.is_zero() {
            return Duration::ZERO;
        }
        let now = tokio::time::Instant::now();
        let per_sec = 1.0 / self.interval.as_secs_f64();
        let bucket =
            self.buckets.entry(channel.to_string()).or_insert(Bucket { tokens: self.burst, updated: now });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_sec).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec)
        }
    }

    fn take(&mut self, channel: &str) {
        if let Some(b) = self.buckets.get_mut(channel) {
            b.tokens -= 1.0;
        }
    }
}

/// What a 429 paused, and until when.
#[derive(Debug, Default)]
struct Pauses {
    /// Every post of the platform (its limits are platform-wide).
    all: Option<tokio::time::Instant>,
    /// Posts to one channel (the platform limits per chat).
    channels: HashMap<String, tokio::time::Instant>,
}

/// The two send loops of a platform: posts and edits, and the answers that must not wait
/// behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    Posts,
    Answers,
}

/// Sends one platform's outbox entries until shutdown, then makes one last pass.
pub struct OutboxWorker {
    pub store: Arc<dyn Store>,
    pub platform: Arc<dyn ChatPlatform>,
    pub config: OutboxConfig,
    pub signal: OutboxSignal,
    /// Paces per channel on platforms whose client does not (Slack, console).
    pub pace: bool,
}

impl OutboxWorker {
    /// Runs the posts loop and the answers loop side by side, each with its own pause.
    pub async fn run(self, shutdown: CancellationToken) {
        let worker = Arc::new(self);
        tokio::join!(
            worker.clone().run_queue(Queue::Answers, shutdown.clone()),
            worker.run_queue(Queue::Posts, shutdown),
        );
    }

    async fn run_queue(self: Arc<Self>, queue: Queue, shutdown: CancellationToken) {
        let platform = self.platform.platform();
        let mut pacer = Pacer::new(&self.config);
        let mut pauses = Pauses::default();
        let mut wakes = self.signal.subscribe();
        loop {
            // Wakes from here on are for the pass below or the next one.
            wakes.borrow_and_update();
            if shutdown.is_cancelled() {
                // One last pass so messages decided before shutdown go out (bounded by the
                // caller's grace period), then stop.
                let _ = self.pass(queue, &mut pacer, &mut pauses, true).await;
                tracing::debug!(%platform, ?queue, "outbox worker stopped");
                return;
            }
            let next = match self.pass(queue, &mut pacer, &mut pauses, false).await {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(%platform, error = %e, "outbox pass failed");
                    Some(Duration::from_secs(1))
                }
            };
            let wait = next.unwrap_or(Duration::from_secs(30)).max(Duration::from_millis(5));
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::timeout(wait, wakes.changed()) => {}
            }
        }
    }

    /// Which loop sends `item`.
    fn queue_of(&self, item: &OutboxItem) -> Queue {
        match &item.op {
            OutboxOp::Reply { handle, .. } if self.platform.answers_apart(handle) => Queue::Answers,
            _ => Queue::Posts,
        }
    }

    /// Sends every entry of `queue` that is due and first in its lane. Returns how long
    /// until the next entry becomes due.
    async fn pass(
        &self,
        queue: Queue,
        pacer: &mut Pacer,
        pauses: &mut Pauses,
        final_pass: bool,
    ) -> Result<Option<Duration>, crate::store::StoreError> {
        let platform = self.platform.platform();
        let mut next: Option<Duration> = None;
        let mut soonest = |d: Duration| next = Some(next.map_or(d, |n: Duration| n.min(d)));
        let started = tokio::time::Instant::now();
        if let Some(until) = pauses.all {
            if until > started && !final_pass {
                soonest(until - started);
                return Ok(next);
            }
            pauses.all = None;
        }
        pauses.channels.retain(|_, until| *until > started);
        let per_channel = self.platform.rate_limit_scope() == crate::platforms::RateLimitScope::Channel;
        let items: Vec<OutboxItem> = self
            .store
            .outbox()?
            .into_iter()
            .filter(|i| i.platform == platform && !i.dead && self.queue_of(i) == queue)
            .collect();
        // Answers are not messages in a channel: no per-channel pacing for them.
        let pace = self.pace && queue == Queue::Posts;
        let mut blocked_lanes = BTreeSet::new();
        for mut item in items {
            let lane = item.lane();
            if blocked_lanes.contains(&lane) {
                continue; // an earlier entry of this lane is still waiting
            }
            // Until this entry is delivered, later entries of its lane wait.
            blocked_lanes.insert(lane.clone());
            let now = Utc::now();
            if item.not_before > now {
                soonest((item.not_before - now).to_std().unwrap_or_default());
                continue;
            }
            if let Some(existing) = self.store.sent(&item.key)? {
                // Delivered before a crash cut the bookkeeping short: finish it, don't resend.
                tracing::info!(%platform, key = %item.key, "outbox entry already delivered; not sending again");
                self.finish(&item, Some(existing))?;
                blocked_lanes.remove(&lane);
                continue;
            }
            let channel_key = self.pace_key(&item);
            if let Some(until) = pauses.channels.get(&channel_key) {
                if !final_pass {
                    soonest(until.saturating_duration_since(tokio::time::Instant::now()));
                    continue; // that chat is rate limited; others are not
                }
            }
            if pace {
                let delay = pacer.delay(&channel_key);
                if !delay.is_zero() && !final_pass {
                    soonest(delay);
                    continue;
                }
            }
            match self.send(&item).await {
                Ok(message) => {
                    if pace {
                        pacer.take(&channel_key);
                    }
                    self.finish(&item, message)?;
                    // Delivered: the next entry of the lane may go in this same pass.
                    blocked_lanes.remove(&lane);
                }
                Err(SendError::RateLimited(wait)) => {
                    tracing::warn!(%platform, key = %item.key, wait_ms = wait.as_millis() as u64, "rate limited; waiting Retry-After");
                    item.attempts += 1;
                    item.last_error = Some(format!("rate limited for {wait:?}"));
                    item.not_before = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.store.outbox_update(&item)?;
                    soonest(wait);
                    let until = tokio::time::Instant::now() + wait;
                    if per_channel {
                        pauses.channels.insert(channel_key, until);
                    } else {
                        pauses.all = Some(until);
                        break;
                    }
                }
                Err(SendError::Rejected { reason }) => {
                    tracing::error!(%platform, key = %item.key, %reason, "platform rejected a message; kept as a dead letter");
                    item.attempts += 1;
                    item.dead = true;
                    item.last_error = Some(reason);
                    self.store.outbox_update(&item)?;
                    blocked_lanes.remove(&lane);
                }
                Err(err @ (SendError::Transport(_) | SendError::Unauthorized)) => {
                    item.attempts += 1;
                    let backoff = self.backoff(item.attempts);
                    if matches!(err, SendError::Unauthorized) {
                        tracing::error!(%platform, key = %item.key, "the platform refused our token; retrying in {backoff:?}");
                    } else {
                        tracing::warn!(%platform, key = %item.key, error = %err, attempt = item.attempts, "send failed; retrying in {backoff:?}");
                    }
                    item.last_error = Some(err.to_string());
                    item.not_before = Utc::now() + chrono::Duration::from_std(backoff).unwrap_or_default();
                    self.store.outbox_update(&item)?;
                    soonest(backoff);
                }
            }
        }
        Ok(next)
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let base = self.config.initial_backoff_ms.saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
        let capped = base.min(self.config.max_backoff_secs * 1000);
        // ±20 % jitter so many entries do not retry in lockstep.
        let jitter = 0.8 + fastrand::f64() * 0.4;
        Duration::from_millis((capped as f64 * jitter) as u64)
    }

    fn pace_key(&self, item: &OutboxItem) -> String {
        match &item.op {
            OutboxOp::Post { to: Target::Channel { channel, .. }, .. } | OutboxOp::Reply { channel, .. } => {
                channel.clone()
            }
            OutboxOp::Update { edit: Edit::Message { message }, .. } => message.channel.clone(),
            _ => item
                .incident
                .and_then(|id| self.store.incident(id).ok().flatten())
                .and_then(|i| {
                    i.threads.iter().find(|t| t.platform == item.platform).map(|t| t.channel.clone())
                })
                .unwrap_or_default(),
        }
    }

    fn finish(&self, item: &OutboxItem, message: Option<MessageRef>) -> Result<(), crate::store::StoreError> {
        let binding = match (&item.op, item.incident) {
            (OutboxOp::Post { role, .. }, Some(id)) => Some((id, *role)),
            _ => None,
        };
        self.store.delivered(Delivered {
            outbox_id: item.id,
            key: item.key.clone(),
            message,
            binding,
            keep_until: Utc::now() + SENT_RETENTION,
        })
    }

    /// Performs one entry. `Ok(None)` = nothing to send any more (the entry is obsolete).
    async fn send(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        let platform = self.platform.platform();
        match &item.op {
            OutboxOp::Post { to, message, .. } => {
                let (channel, thread) = match to {
                    Target::Channel { channel, thread } => (channel.clone(), thread.clone()),
                    Target::IncidentThread => {
                        let thread = item
                            .incident
                            .and_then(|id| self.store.incident(id).ok().flatten())
                            .and_then(|i| i.threads.into_iter().find(|t| t.platform == platform));
                        match thread {
                            Some(t) => (t.channel, Some(t.thread)),
                            None => {
                                tracing::warn!(%platform, key = %item.key, "incident has no thread on this platform; message skipped");
                                return Ok(None);
                            }
                        }
                    }
                };
                self.platform.post_once(&item.key, &channel, thread.as_deref(), message).await.map(Some)
            }
            OutboxOp::Update { edit, message } => {
                let targets: Vec<MessageRef> = match edit {
                    Edit::Message { message } => vec![message.clone()],
                    Edit::Card | Edit::Progress => {
                        let incident = item.incident.and_then(|id| self.store.incident(id).ok().flatten());
                        let refs = match (incident, edit) {
                            (Some(i), Edit::Card) => i.cards,
                            (Some(i), _) => i.progress,
                            (None, _) => Vec::new(),
                        };
                        refs.into_iter().filter(|r| r.platform == platform).collect()
                    }
                };
                if targets.is_empty() {
                    tracing::warn!(%platform, key = %item.key, "nothing to edit on this platform; update skipped");
                }
                for target in &targets {
                    self.platform.update(target, message).await?;
                }
                Ok(None)
            }
            OutboxOp::Reply { channel, thread, user, handle, text, quiet } => {
                let to = crate::platforms::ReplyTarget {
                    channel: channel.clone(),
                    thread: thread.clone(),
                    user: user.clone(),
                    handle: handle.clone(),
                    quiet: *quiet,
                };
                self.platform.reply(&to, text).await.map(|_| None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, Incident, Severity, Source, ThreadRef};
    use crate::platforms::{InboundContext, ReplyTarget};
    use crate::store::{Batch, SledStore};
    use std::sync::Mutex;

    /// A platform that records what it was asked to do and fails on demand.
    #[derive(Default)]
    struct Recorder {
        sent: Mutex<Vec<String>>,
        failures: Mutex<Vec<SendError>>,
        /// Replies with a token are interaction answers (like Telegram's callback queries).
        answers_apart: bool,
        /// 429s hold up one channel only (like Telegram's per-chat flood control).
        per_channel_limits: bool,
    }

    #[async_trait::async_trait]
    impl ChatPlatform for Recorder {
        fn platform(&self) -> Platform {
            Platform::Console
        }
        async fn run(self: Arc<Self>, _ctx: InboundContext) -> anyhow::Result<()> {
            Ok(())
        }
        async fn post(
            &self,
            channel: &str,
            thread: Option<&str>,
            message: &RichMessage,
        ) -> Result<MessageRef, SendError> {
            if let Some(e) = self.failures.lock().unwrap().pop() {
                return Err(e);
            }
            let mut sent = self.sent.lock().unwrap();
            sent.push(format!("post {channel}/{} {}", thread.unwrap_or("-"), message.plain_text()));
            Ok(MessageRef {
                platform: Platform::Console,
                channel: channel.into(),
                id: format!("m{}", sent.len()),
            })
        }
        async fn update(&self, target: &MessageRef, message: &RichMessage) -> Result<(), SendError> {
            self.sent.lock().unwrap().push(format!("update {} {}", target.id, message.plain_text()));
            Ok(())
        }
        async fn reply(&self, _to: &ReplyTarget, text: &str) -> Result<(), SendError> {
            self.sent.lock().unwrap().push(format!("reply {text}"));
            Ok(())
        }
        fn answers_apart(&self, handle: &ReplyHandle) -> bool {
            self.answers_apart && handle.token.is_some()
        }
        fn rate_limit_scope(&self) -> crate::platforms::RateLimitScope {
            if self.per_channel_limits {
                crate::platforms::RateLimitScope::Channel
            } else {
                crate::platforms::RateLimitScope::Platform
            }
        }
    }

    fn incident(id: u64) -> Incident {
        let mut incident = Incident::new(id, "t", Severity::Low, Source::Console, Actor::Bot, Utc::now());
        incident.threads = vec![ThreadRef::new(Platform::Console, "C", "root")];
        incident.platforms = vec![Platform::Console];
        incident
    }

    fn worker(store: Arc<dyn Store>, platform: Arc<Recorder>) -> OutboxWorker {
        let config = OutboxConfig {
            initial_backoff_ms: 1,
            max_backoff_secs: 1,
            channel_burst: 100,
            channel_interval_ms: 0,
        };
        OutboxWorker { store, platform, config, signal: OutboxSignal::default(), pace: false }
    }

    fn post(key: &str, incident: Option<u64>, to: Target, text: &str, role: PostRole) -> OutboxItem {
        OutboxItem::new(
            key,
            Platform::Console,
            incident,
            OutboxOp::Post { to, message: RichMessage::text(text), role },
            Utc::now(),
        )
    }

    /// Runs passes until only dead letters are left (a poll with a 2 s deadline).
    async fn drain(w: &OutboxWorker) {
        let mut pacer = Pacer::new(&w.config);
        let mut paused = Pauses::default();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while tokio::time::Instant::now() < deadline {
            w.pass(Queue::Posts, &mut pacer, &mut paused, true).await.unwrap();
            if w.store.outbox().unwrap().iter().all(|i| i.dead) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("outbox did not drain: {:?}", w.store.outbox().unwrap());
    }

    #[tokio::test]
    async fn a_card_is_posted_before_it_is_edited_and_the_incident_learns_where() {
        let store: Arc<dyn Store> = Arc::new(SledStore::temporary().unwrap());
        let mut batch = Batch::default();
        batch.incidents.push(incident(1));
        batch.outbox.push(post("k1", Some(1), Target::IncidentThread, "card", PostRole::Card));
        batch.outbox.push(OutboxItem::new(
            "k2",
            Platform::Console,
            Some(1),
            OutboxOp::Update { edit: Edit::Card, message: RichMessage::text("card v2") },
            Utc::now(),
        ));
        store.commit(batch).unwrap();
        let recorder = Arc::new(Recorder::default());
        let w = worker(store.clone(), recorder.clone());
        // One pass: a delivered entry unblocks the next one of its lane right away.
        w.pass(Queue::Posts, &mut Pacer::new(&w.config), &mut Pauses::default(), false).await.unwrap();
        assert_eq!(*recorder.sent.lock().unwrap(), vec!["post C/root card", "update m1 card v2"]);
        let incident = store.incident(1).unwrap().unwrap();
        assert_eq!(
            incident.cards,
            vec![MessageRef { platform: Platform::Console, channel: "C".into(), id: "m1".into() }]
        );
        assert!(store.outbox().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_idempotency_key_is_delivered_once() {
        let store: Arc<dyn Store> = Arc::new(SledStore::temporary().unwrap());
        let recorder = Arc::new(Recorder::default());
        let w = worker(store.clone(), recorder.clone());
        let to = Target::Channel { channel: "C".into(), thread: None };
        for _ in 0..2 {
            // The same cause queued twice (a replayed event): one message.
            let mut batch = Batch::default();
            batch.outbox.push(post("in:console:7:0", None, to.clone(), "hint", PostRole::Message));
            store.commit(batch).unwrap();
            drain(&w).await;
        }
        assert_eq!(recorder.sent.lock().unwrap().len(), 1);
        assert!(store.outbox().unwrap().is_empty());
    }

    #[tokio::test]
    async fn transport_errors_retry_and_rejections_become_dead_letters() {
        let store: Arc<dyn Store> = Arc::new(SledStore::temporary().unwrap());
        let recorder = Arc::new(Recorder::default());
        recorder.failures.lock().unwrap().push(SendError::Transport("reset".into()));
        let mut batch = Batch::default();
        batch.outbox.push(post(
            "a",
            None,
            Target::Channel { channel: "C".into(), thread: None },
            "retried",
            PostRole::Message,
        ));
        store.commit(batch).unwrap();
        drain(&worker(store.clone(), recorder.clone())).await;
        assert_eq!(*recorder.sent.lock().unwrap(), vec!["post C/- retried"]);

        recorder.failures.lock().unwrap().push(SendError::Rejected { reason: "channel_not_found".into() });
        let mut batch = Batch::default();
        batch.outbox.push(post(
            "b",
            None,
            Target::Channel { channel: "C9".into(), thread: None },
            "lost",
            PostRole::Message,
        ));
        batch.outbox.push(post(
            "c",
            None,
            Target::Channel { channel: "C".into(), thread: None },
            "other lane",
            PostRole::Message,
        ));
        store.commit(batch).unwrap();
        drain(&worker(store.clone(), recorder.clone())).await;
        let dead: Vec<OutboxItem> = store.outbox().unwrap();
        assert_eq!(dead.len(), 1);
        assert!(dead[0].dead && dead[0].last_error.as_deref() == Some("channel_not_found"));
        assert!(
            recorder.sent.lock().unwrap().contains(&"post C/- other lane".to_string()),
            "a dead letter blocks nobody"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_allows_a_burst_then_one_per_interval() {
        let config = OutboxConfig { channel_burst: 2, channel_interval_ms: 1000, ..Default::default() };
        let mut pacer = Pacer::new(&config);
        for _ in 0..2 {
            assert_eq!(pacer.delay("C1"), Duration::ZERO);
            pacer.take("C1");
        }
        let wait = pacer.delay("C1");
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(pacer.delay("C2"), Duration::ZERO, "other channels are not held back");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(pacer.delay("C1"), Duration::ZERO);
    }

    #[tokio::test]
    async fn one_pass_sends_a_whole_lane_in_order() {
        let store: Arc<dyn Store> = Arc::new(crate::store::SledStore::temporary().unwrap());
        let mut batch = crate::store::Batch::default();
        for text in ["first", "second"] {
            let to = Target::Channel { channel: "C1".into(), thread: None };
            let op = OutboxOp::Post { to, message: RichMessage::text(text), role: PostRole::Message };
            batch.outbox.push(OutboxItem::new(text, Platform::Console, None, op, Utc::now()));
        }
        store.commit(batch).unwrap();
        let recorder = Arc::new(Recorder::default());
        let worker = worker(store.clone(), recorder.clone());
        worker
            .pass(Queue::Posts, &mut Pacer::new(&worker.config), &mut Pauses::default(), false)
            .await
            .unwrap();
        assert_eq!(*recorder.sent.lock().unwrap(), ["post C1/- first", "post C1/- second"]);
        assert!(store.outbox().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_button_answer_does_not_wait_behind_a_rate_limited_post() {
        let store: Arc<dyn Store> = Arc::new(SledStore::temporary().unwrap());
        let recorder = Arc::new(Recorder { answers_apart: true, ..Default::default() });
        // The platform holds posts for a minute (429 Retry-After: 60).
        recorder.failures.lock().unwrap().push(SendError::RateLimited(Duration::from_secs(60)));
        let mut batch = Batch::default();
        batch.outbox.push(post(
            "status",
            None,
            Target::Channel { channel: "A".into(), thread: None },
            "2 open incidents",
            PostRole::Message,
        ));
        store.commit(batch).unwrap();
        let w = worker(store.clone(), recorder.clone());
        let signal = w.signal.clone();
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(w.run(shutdown.clone()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while store.outbox().unwrap()[0].attempts == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the post was never tried");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        // Someone presses a button in another chat: its answer goes out at once.
        let mut batch = Batch::default();
        batch.outbox.push(OutboxItem::new(
            "answer",
            Platform::Console,
            None,
            OutboxOp::Reply {
                channel: "B".into(),
                thread: None,
                user: "u".into(),
                handle: ReplyHandle { token: Some("cbq-1".into()), interaction_id: None },
                text: "Acknowledge #1: INVESTIGATING".into(),
                quiet: true,
            },
            Utc::now(),
        ));
        store.commit(batch).unwrap();
        signal.wake();
        while !recorder.sent.lock().unwrap().contains(&"reply Acknowledge #1: INVESTIGATING".to_string()) {
            assert!(tokio::time::Instant::now() < deadline, "the answer waited behind the post");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            !recorder.sent.lock().unwrap().iter().any(|s| s.starts_with("post")),
            "the post still waits out its Retry-After"
        );
        shutdown.cancel();
        running.await.unwrap();
    }

    #[tokio::test]
    async fn a_rate_limited_chat_holds_up_only_itself_where_limits_are_per_chat() {
        for per_channel_limits in [true, false] {
            let store: Arc<dyn Store> = Arc::new(SledStore::temporary().unwrap());
            let recorder = Arc::new(Recorder { per_channel_limits, ..Default::default() });
            // The first post (to the busy group A) gets a 429 with Retry-After: 60.
            recorder.failures.lock().unwrap().push(SendError::RateLimited(Duration::from_secs(60)));
            let mut batch = Batch::default();
            // a2 is another incident's (another lane) in the same chat: only the chat's
            // pause holds it back.
            for (key, incident, channel, text) in
                [("a1", None, "A", "busy"), ("a2", Some(2), "A", "busier"), ("b1", None, "B", "page")]
            {
                let to = Target::Channel { channel: channel.into(), thread: None };
                batch.outbox.push(post(key, incident, to, text, PostRole::Message));
            }
            store.commit(batch).unwrap();
            let w = worker(store.clone(), recorder.clone());
            let mut pauses = Pauses::default();
            w.pass(Queue::Posts, &mut Pacer::new(&w.config), &mut pauses, false).await.unwrap();
            let sent = recorder.sent.lock().unwrap().clone();
            if per_channel_limits {
                assert_eq!(sent, ["post B/- page"], "the page to B went out; A's second post waits for A");
                // A later pass still leaves A alone until its Retry-After is over.
                w.pass(Queue::Posts, &mut Pacer::new(&w.config), &mut pauses, false).await.unwrap();
                assert_eq!(recorder.sent.lock().unwrap().len(), 1);
            } else {
                assert!(sent.is_empty(), "platform-wide limits pause everything: {sent:?}");
            }
        }
    }

    #[test]
    fn lanes_keep_one_incident_in_order_and_channels_apart() {
        let now = Utc::now();
        let card = OutboxItem::new(
            "k1",
            Platform::Slack,
            Some(4),
            OutboxOp::Update { edit: Edit::Card, message: RichMessage::default() },
            now,
        );
        let hint = OutboxItem::new(
            "k2",
            Platform::Slack,
            None,
            OutboxOp::Post {
                to: Target::Channel { channel: "C1".into(), thread: None },
                message: RichMessage::default(),
                role: PostRole::Message,
            },
            now,
        );
        assert_eq!(card.lane(), "incident:4");
        assert_eq!(hint.lane(), "channel:C1");
    }
}
