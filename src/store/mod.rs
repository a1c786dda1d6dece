//! Durable state behind one small trait.
//!
//! The engine never sees sled: it reads through [`Store`] and writes by handing over a
//! [`Batch`] — everything one decision changed (incident, timeline entries, indexes,
//! outbox messages, timers, the inbox entry it consumed) — which the store applies in
//! one transaction. A second backend (PostgreSQL for several replicas, DESIGN.md) only
//! has to implement this trait.

mod sled_store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use sled_store::SledStore;

use crate::model::{
    Actor, EntryKind, Inbound, Incident, IncidentId, MessageRef, Platform, ThreadRef, TimelineEntry,
};
use crate::outbox::OutboxItem;

/// The on-disk schema version, kept in the `meta` tree.
pub const SCHEMA_VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be read or written (disk full, I/O error, corrupt file).
    #[error("storage failure: {0}")]
    Backend(String),
    /// A stored record could not be decoded.
    #[error("stored record `{key}` is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    /// The data directory holds a schema this build does not understand.
    #[error("the data directory has schema version {found}, this build understands {expected}")]
    Schema { found: u64, expected: u64 },
    /// A write refused by its own checks (nothing was written).
    #[error("{0}")]
    Conflict(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a platform thread means to us.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ThreadLink {
    /// The thread holds this incident.
    Incident { id: IncidentId },
    /// The classifier let this message through as chatter; a later `investigate`
    /// reply in the thread opens an incident from it.
    Gated { text: String, user: crate::model::Person, at: DateTime<Utc> },
}

/// Durable timers (DESIGN.md: "a restart does not forget a pending escalation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Nobody acknowledged in time: run the next escalation step.
    Escalate,
    /// Gather context and post a plan (scheduled "now" when an incident opens, so a
    /// crash mid-investigation re-runs it after restart).
    Investigate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub incident: IncidentId,
    pub kind: TimerKind,
    pub due: DateTime<Utc>,
}

/// A timeline entry to append; the store assigns its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub incident: IncidentId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub kind: EntryKind,
}

/// Everything one decision changes, applied atomically by [`Store::commit`].
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Incidents to insert or overwrite.
    pub incidents: Vec<Incident>,
    pub entries: Vec<NewEntry>,
    pub threads: Vec<(ThreadRef, ThreadLink)>,
    pub fingerprints: Vec<(String, IncidentId)>,
    pub fingerprints_clear: Vec<String>,
    /// New outbound messages; the store assigns their ids in order.
    pub outbox: Vec<OutboxItem>,
    pub timers: Vec<Timer>,
    pub timers_clear: Vec<(IncidentId, TimerKind)>,
    /// Inbox entries this decision consumed.
    pub inbox_done: Vec<u64>,
    /// Investigation results to cache: (incident, source name, JSON value).
    pub context: Vec<(IncidentId, String, serde_json::Value)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty()
            && self.entries.is_empty()
            && self.threads.is_empty()
            && self.fingerprints.is_empty()
            && self.fingerprints_clear.is_empty()
            && self.outbox.is_empty()
            && self.timers.is_empty()
            && self.timers_clear.is_empty()
            && self.inbox_done.is_empty()
            && self.context.is_empty()
    }

    pub fn entry(&mut self, incident: IncidentId, at: DateTime<Utc>, actor: Actor, kind: EntryKind) {
        self.entries.push(NewEntry { incident, at, actor, kind });
    }
}

/// Result of handing an inbound event to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored in the inbox under this sequence number; safe to acknowledge.
    New(u64),
    /// Seen before (within the dedup TTL): acknowledge and drop.
    Duplicate,
}

/// Outcome of a sent outbox message, applied atomically: the entry leaves the outbox,
/// the platform's message reference is remembered under the idempotency key, and the
/// incident learns where its card / progress message / thread is.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub outbox_id: u64,
    pub key: String,
    pub message: Option<MessageRef>,
    /// Incident fields to update with the posted message.
    pub binding: Option<(IncidentId, crate::outbox::PostRole)>,
    pub keep_until: DateTime<Utc>,
}

pub trait Store: Send + Sync + 'static {
    /// Reserves the next incident id. (An id whose commit then fails is skipped.)
    fn next_incident_id(&self) -> StoreResult<IncidentId>;
    fn incident(&self, id: IncidentId) -> StoreResult<Option<Incident>>;
    /// Every incident, oldest first.
    fn incidents(&self) -> StoreResult<Vec<Incident>>;
    fn timeline(&self, id: IncidentId) -> StoreResult<Vec<TimelineEntry>>;
    fn thread(&self, thread: &ThreadRef) -> StoreResult<Option<ThreadLink>>;
    /// The active incident an alert fingerprint belongs to.
    fn fingerprint(&self, fingerprint: &str) -> StoreResult<Option<IncidentId>>;
    /// Applies a batch in one transaction: all of it or none of it.
    fn commit(&self, batch: Batch) -> StoreResult<()>;

    /// Stores an inbound event unless `dedup_keys` were seen before; all keys are then
    /// remembered until `expires`.
    fn accept(&self, dedup_keys: &[String], expires: DateTime<Utc>, event: &Inbound)
        -> StoreResult<Accepted>;
    /// Inbox entries not yet consumed (for replay after a restart), in arrival order.
    fn inbox(&self) -> StoreResult<Vec<(u64, Inbound)>>;
    /// Remembers a key until `expires`; returns false when it was already there.
    fn remember(&self, key: &str, expires: DateTime<Utc>) -> StoreResult<bool>;
    /// Removes expired dedup keys and sent-message records; returns how many.
    fn sweep(&self, now: DateTime<Utc>) -> StoreResult<usize>;

    /// Outbox messages waiting to be sent, in order.
    fn outbox(&self) -> StoreResult<Vec<OutboxItem>>;
    /// Rewrites one outbox entry (attempts, next try, last error, dead letter).
    fn outbox_update(&self, item: &OutboxItem) -> StoreResult<()>;
    /// Records a delivery (see [`Delivered`]).
    fn delivered(&self, delivery: Delivered) -> StoreResult<()>;
    /// The message an idempotency key produced, if it was already delivered.
    fn sent(&self, key: &str) -> StoreResult<Option<MessageRef>>;

    /// Timers due at or before `now`.
    fn due_timers(&self, now: DateTime<Utc>) -> StoreResult<Vec<Timer>>;
    /// Every pending timer.
    fn timers(&self) -> StoreResult<Vec<Timer>>;
    /// The earliest pending timer.
    fn next_timer(&self) -> StoreResult<Option<DateTime<Utc>>>;

    /// Cached investigation results of an incident: (source name, value).
    fn context(&self, id: IncidentId) -> StoreResult<Vec<(String, serde_json::Value)>>;

    /// Makes every committed write durable on disk.
    fn flush(&self) -> StoreResult<()>;
    /// Names of the platforms with messages waiting, for readiness and metrics.
    fn outbox_depth(&self) -> StoreResult<Vec<(Platform, usize)>> {
        let mut counts = std::collections::BTreeMap::new();
        for item in self.outbox()? {
            if !item.dead {
                *counts.entry(item.platform).or_insert(0) += 1;
            }
        }
        Ok(counts.into_iter().collect())
    }
}
