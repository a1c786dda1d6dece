//! The sled backend: one database, a tree per concern (DESIGN.md "Storage").
//!
//! Keys that must scan in order are big-endian integers; values are JSON so a person
//! can inspect a data directory with a few lines of code.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use super::{
    Accepted, Batch, Delivered, Store, StoreError, StoreResult, ThreadLink, Timer, TimerKind, SCHEMA_VERSION,
};
use crate::model::{Inbound, Incident, IncidentId, MessageRef, ThreadRef, TimelineEntry};
use crate::outbox::{OutboxItem, PostRole, Target};

const META_SCHEMA: &[u8] = b"schema_version";
const META_INCIDENT_SEQ: &[u8] = b"incident_seq";
const META_OUTBOX_SEQ: &[u8] = b"outbox_seq";
const META_INBOX_SEQ: &[u8] = b"inbox_seq";

/// Tree indexes inside a transaction over [`SledStore::all_trees`].
const INCIDENTS: usize = 0;
const TIMELINE: usize = 1;
const THREADS: usize = 2;
const FINGERPRINTS: usize = 3;
// 4: dedup (written by `accept` through its own transaction)
const OUTBOX: usize = 5;
const TIMERS: usize = 6;
const META: usize = 7;
const INBOX: usize = 8;
const SENT: usize = 9;
const CONTEXT: usize = 10;

pub struct SledStore {
    db: sled::Db,
    incidents: sled::Tree,
    /// key: incident id (BE) ‖ seq (BE)
    timeline: sled::Tree,
    /// key: ThreadRef::key()
    threads: sled::Tree,
    /// key: fingerprint → incident id (BE), while the incident is active
    fingerprints: sled::Tree,
    /// key → expiry (unix millis, BE)
    dedup: sled::Tree,
    /// key: outbox id (BE)
    outbox: sled::Tree,
    /// key: incident id (BE) ‖ kind byte → due time
    timers: sled::Tree,
    meta: sled::Tree,
    /// key: inbox seq (BE) → Inbound, until the event was handled
    inbox: sled::Tree,
    /// idempotency key → (message ref, keep until)
    sent: sled::Tree,
    /// incident id (BE) ‖ source name → cached investigation result
    context: sled::Tree,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Backend(format!("cannot encode record: {e}")))
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

fn read_be(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[8 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    u64::from_be_bytes(buf)
}

fn timeline_key(id: IncidentId, seq: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&be(id));
    k[8..].copy_from_slice(&be(seq));
    k
}

fn timer_key(id: IncidentId, kind: TimerKind) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[..8].copy_from_slice(&be(id));
    k[8] = match kind {
        TimerKind::Escalate => 1,
        TimerKind::Investigate => 2,
    };
    k
}

fn context_key(id: IncidentId, source: &str) -> Vec<u8> {
    let mut k = be(id).to_vec();
    k.extend_from_slice(source.as_bytes());
    k
}

fn millis(t: DateTime<Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

fn tx_encode<T: Serialize>(value: &T) -> TxResult<Vec<u8>> {
    encode(value).map_err(abort)
}

/// Reads and bumps a counter in `meta` inside a transaction.
fn tx_next(meta: &TransactionalTree, key: &[u8]) -> TxResult<u64> {
    let current = meta.get(key)?.map(|v| read_be(&v)).unwrap_or(0);
    let next = current + 1;
    meta.insert(key, &be(next))?;
    Ok(next)
}

fn unwrap_tx<T>(r: Result<T, TransactionError<StoreError>>) -> StoreResult<T> {
    match r {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(backend(e)),
    }
}

impl SledStore {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(path).map_err(|e| {
            StoreError::Backend(format!("cannot create data directory {}: {e}", path.display()))
        })?;
        // sled releases its file lock from background work after the last handle is
        // dropped, so a reopen in the same process (a restart in tests) may find it held
        // for a while on a loaded machine. Another process keeps it: give up after ten
        // seconds with a message that says so.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match sled::Config::new().path(path).open() {
                Ok(db) => return Self::from_db(db),
                // sled wraps the lock failure as ErrorKind::Other with this text.
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(StoreError::Backend(format!(
                        "cannot open the database in {} ({e}); is another warroom using it?",
                        path.display()
                    )))
                }
            }
        }
    }

    /// An in-memory database that disappears on drop, for tests and `warroom classify`.
    pub fn temporary() -> StoreResult<Self> {
        let db = sled::Config::new().temporary(true).open().map_err(backend)?;
        Self::from_db(db)
    }

    fn from_db(db: sled::Db) -> StoreResult<Self> {
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        let store = Self {
            incidents: tree("incidents")?,
            timeline: tree("timeline")?,
            threads: tree("threads")?,
            fingerprints: tree("fingerprints")?,
            dedup: tree("dedup")?,
            outbox: tree("outbox")?,
            timers: tree("timers")?,
            meta: tree("meta")?,
            inbox: tree("inbox")?,
            sent: tree("sent")?,
            context: tree("context")?,
            db,
        };
        match store.meta.get(META_SCHEMA).map_err(backend)? {
            None => {
                store.meta.insert(META_SCHEMA, &be(SCHEMA_VERSION)).map_err(backend)?;
            }
            Some(v) if read_be(&v) == SCHEMA_VERSION => {}
            Some(v) => return Err(StoreError::Schema { found: read_be(&v), expected: SCHEMA_VERSION }),
        }
        Ok(store)
    }

    fn all_trees(&self) -> [&sled::Tree; 11] {
        [
            &self.incidents,
            &self.timeline,
            &self.threads,
            &self.fingerprints,
            &self.dedup,
            &self.outbox,
            &self.timers,
            &self.meta,
            &self.inbox,
            &self.sent,
            &self.context,
        ]
    }

    /// Runs `f` in one transaction over every tree.
    fn transaction<T>(&self, f: impl Fn(&[TransactionalTree]) -> TxResult<T>) -> StoreResult<T> {
        let trees = self.all_trees();
        unwrap_tx(trees[..].transaction(|t: &Vec<TransactionalTree>| f(t)))
    }

    fn apply_batch(t: &[TransactionalTree], batch: &Batch) -> TxResult<()> {
        for incident in &batch.incidents {
            t[INCIDENTS].insert(&be(incident.id), tx_encode(incident)?)?;
        }
        for entry in &batch.entries {
            let seq_key = format!("timeline_seq/{}", entry.incident);
            let seq = tx_next(&t[META], seq_key.as_bytes())?;
            let record =
                TimelineEntry { seq, at: entry.at, actor: entry.actor.clone(), kind: entry.kind.clone() };
            t[TIMELINE].insert(&timeline_key(entry.incident, seq), tx_encode(&record)?)?;
        }
        for (thread, link) in &batch.threads {
            t[THREADS].insert(thread.key().as_bytes(), tx_encode(link)?)?;
        }
        for fp in &batch.fingerprints_clear {
            t[FINGERPRINTS].remove(fp.as_bytes())?;
        }
        for (fp, id) in &batch.fingerprints {
            t[FINGERPRINTS].insert(fp.as_bytes(), &be(*id))?;
        }
        for item in &batch.outbox {
            let id = tx_next(&t[META], META_OUTBOX_SEQ)?;
            let item = OutboxItem { id, ..item.clone() };
            t[OUTBOX].insert(&be(id), tx_encode(&item)?)?;
        }
        for (id, kind) in &batch.timers_clear {
            t[TIMERS].remove(&timer_key(*id, *kind))?;
        }
        for timer in &batch.timers {
            t[TIMERS].insert(&timer_key(timer.incident, timer.kind), tx_encode(timer)?)?;
        }
        #[cfg(test)]
        if tests::FAIL_MID_BATCH.with(|f| f.get()) {
            return Err(abort(StoreError::Backend("injected failure halfway through a batch".into())));
        }
        for seq in &batch.inbox_done {
            t[INBOX].remove(&be(*seq))?;
        }
        for (id, source, value) in &batch.context {
            t[CONTEXT].insert(context_key(*id, source), tx_encode(value)?)?;
        }
        Ok(())
    }

    fn scan<T: DeserializeOwned>(tree: &sled::Tree) -> StoreResult<Vec<T>> {
        tree.iter()
            .map(|kv| {
                let (k, v) = kv.map_err(backend)?;
                decode(&k, &v)
            })
            .collect()
    }

    /// The bookkeeping of a delivered outbox entry, in one transaction.
    fn record_delivery(&self, d: Delivered) -> StoreResult<()> {
        self.transaction(|t| {
            let Some(raw) = t[OUTBOX].remove(&be(d.outbox_id))? else {
                return Ok(()); // already finished
            };
            let item: OutboxItem = decode(&be(d.outbox_id), &raw).map_err(abort)?;
            let Some(message) = &d.message else {
                return Ok(());
            };
            t[SENT].insert(d.key.as_bytes(), tx_encode(&(message, d.keep_until))?)?;
            let Some((id, role)) = d.binding else {
                return Ok(());
            };
            let Some(raw) = t[INCIDENTS].get(be(id))? else {
                return Ok(());
            };
            let mut incident: Incident = decode(&be(id), &raw).map_err(abort)?;
            match role {
                PostRole::Card => {
                    if !incident.cards.contains(message) {
                        incident.cards.push(message.clone());
                    }
                    // A card posted at the top of a channel starts the incident's thread
                    // there. Bound under the channel the platform answered with: the
                    // configured one may be a name (Slack "#alerts"), replies carry the id.
                    if let crate::outbox::OutboxOp::Post {
                        to: Target::Channel { thread: None, .. }, ..
                    } = &item.op
                    {
                        let thread =
                            ThreadRef::new(message.platform, message.channel.clone(), message.id.clone());
                        if !incident.threads.contains(&thread) {
                            incident.threads.push(thread.clone());
                        }
                        t[THREADS]
                            .insert(thread.key().as_bytes(), tx_encode(&ThreadLink::Incident { id })?)?;
                    }
                }
                PostRole::Progress => {
                    incident.progress.retain(|m| m.platform != message.platform);
                    incident.progress.push(message.clone());
                }
                PostRole::Message => {}
            }
            // Replies to any message the bot posted for an incident belong to it
            // (Telegram threads are reply chains).
            if let Some(thread) = incident.threads.iter().find(|t| t.platform == message.platform) {
                let link = ThreadRef::new(message.platform, thread.channel.clone(), message.id.clone());
                if t[THREADS].get(link.key().as_bytes())?.is_none() {
                    t[THREADS].insert(link.key().as_bytes(), tx_encode(&ThreadLink::Incident { id })?)?;
                }
            }
            t[INCIDENTS].insert(&be(id), tx_encode(&incident)?)?;
            Ok(())
        })
    }
}

impl Store for SledStore {
    fn next_incident_id(&self) -> StoreResult<IncidentId> {
        let next = self
            .meta
            .update_and_fetch(META_INCIDENT_SEQ, |old| Some(be(old.map(read_be).unwrap_or(0) + 1).to_vec()))
            .map_err(backend)?;
        Ok(next.map(|v| read_be(&v)).unwrap_or(1))
    }

    fn incident(&self, id: IncidentId) -> StoreResult<Option<Incident>> {
        let key = be(id);
        self.incidents.get(key).map_err(backend)?.map(|v| decode(&key, &v)).transpose()
    }

    fn incidents(&self) -> StoreResult<Vec<Incident>> {
        Self::scan(&self.incidents)
    }

    fn timeline(&self, id: IncidentId) -> StoreResult<Vec<TimelineEntry>> {
        self.timeline
            .scan_prefix(be(id))
            .map(|kv| {
                let (k, v) = kv.map_err(backend)?;
                decode(&k, &v)
            })
            .collect()
    }

    fn thread(&self, thread: &ThreadRef) -> StoreResult<Option<ThreadLink>> {
        let key = thread.key();
        self.threads.get(key.as_bytes()).map_err(backend)?.map(|v| decode(key.as_bytes(), &v)).transpose()
    }

    fn fingerprint(&self, fingerprint: &str) -> StoreResult<Option<IncidentId>> {
        Ok(self.fingerprints.get(fingerprint.as_bytes()).map_err(backend)?.map(|v| read_be(&v)))
    }

    fn commit(&self, batch: Batch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.transaction(|t| Self::apply_batch(t, &batch))
    }

    fn accept(
        &self,
        dedup_keys: &[String],
        expires: DateTime<Utc>,
        event: &Inbound,
    ) -> StoreResult<Accepted> {
        let now = millis(Utc::now());
        let expiry = be(millis(expires));
        let record = encode(event)?;
        let trees = (&self.dedup, &self.inbox, &self.meta);
        unwrap_tx(trees.transaction(|(dedup, inbox, meta)| {
            for key in dedup_keys {
                if let Some(v) = dedup.get(key.as_bytes())? {
                    if read_be(&v) > now {
                        return Ok(Accepted::Duplicate);
                    }
                }
            }
            for key in dedup_keys {
                dedup.insert(key.as_bytes(), &expiry)?;
            }
            let seq = tx_next(meta, META_INBOX_SEQ)?;
            inbox.insert(&be(seq), record.clone())?;
            Ok(Accepted::New(seq))
        }))
    }

    fn inbox(&self) -> StoreResult<Vec<(u64, Inbound)>> {
        self.inbox
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(backend)?;
                Ok((read_be(&k), decode(&k, &v)?))
            })
            .collect()
    }

    fn remember(&self, key: &str, expires: DateTime<Utc>) -> StoreResult<bool> {
        let now = millis(Utc::now());
        let expiry = be(millis(expires));
        let previous = self
            .dedup
            .fetch_and_update(key.as_bytes(), |old| match old {
                Some(v) if read_be(v) > now => Some(v.to_vec()),
                _ => Some(expiry.to_vec()),
            })
            .map_err(backend)?;
        Ok(!matches!(previous, Some(v) if read_be(&v) > now))
    }

    fn sweep(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let now = millis(now);
        let mut removed = 0;
        for kv in self.dedup.iter() {
            let (k, v) = kv.map_err(backend)?;
            if read_be(&v) <= now
                && self.dedup.compare_and_swap(&k, Some(&v), None as Option<&[u8]>).map_err(backend)?.is_ok()
            {
                removed += 1;
            }
        }
        for kv in self.sent.iter() {
            let (k, v) = kv.map_err(backend)?;
            // An unreadable record cannot prevent a repost anyway: drop it rather than
            // let it stop every later sweep.
            let expired = match decode::<(MessageRef, DateTime<Utc>)>(&k, &v) {
                Ok((_, until)) => millis(until) <= now,
                Err(e) => {
                    tracing::warn!(error = %e, "dropping an unreadable sent record");
                    true
                }
            };
            if expired {
                self.sent.remove(&k).map_err(backend)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn outbox(&self) -> StoreResult<Vec<OutboxItem>> {
        Self::scan(&self.outbox)
    }

    fn outbox_update(&self, item: &OutboxItem) -> StoreResult<()> {
        let key = be(item.id);
        // Only rewrite an entry that is still there (it may have been delivered meanwhile).
        let value = encode(item)?;
        self.outbox.fetch_and_update(key, |old| old.map(|_| value.clone())).map_err(backend)?;
        Ok(())
    }

    fn delivered(&self, d: Delivered) -> StoreResult<()> {
        self.record_delivery(d)?;
        // The sent record is what stops a repost after a crash: make it durable now,
        // not at sled's next periodic flush.
        self.flush()
    }

    fn sent(&self, key: &str) -> StoreResult<Option<MessageRef>> {
        match self.sent.get(key.as_bytes()).map_err(backend)? {
            Some(v) => {
                let (message, _): (MessageRef, DateTime<Utc>) = decode(key.as_bytes(), &v)?;
                Ok(Some(message))
            }
            None => Ok(None),
        }
    }
    fn due_timers(&self, now: DateTime<Utc>) -> StoreResult<Vec<Timer>> {
        let mut due: Vec<Timer> =
            Self::scan::<Timer>(&self.timers)?.into_iter().filter(|t| t.due <= now).collect();
        due.sort_by_key(|t| t.due);
        Ok(due)
    }

    fn timers(&self) -> StoreResult<Vec<Timer>> {
        Self::scan(&self.timers)
    }

    fn next_timer(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(Self::scan::<Timer>(&self.timers)?.into_iter().map(|t| t.due).min())
    }

    fn context(&self, id: IncidentId) -> StoreResult<Vec<(String, serde_json::Value)>> {
        self.context
            .scan_prefix(be(id))
            .map(|kv| {
                let (k, v) = kv.map_err(backend)?;
                let name = String::from_utf8_lossy(&k[8..]).into_owned();
                Ok((name, decode(&k, &v)?))
            })
            .collect()
    }

    fn flush(&self) -> StoreResult<()> {
        self.db.flush().map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RichMessage;
    use crate::model::{Actor, EntryKind, Platform, Severity, Source};
    use crate::outbox::OutboxOp;

    fn incident(id: IncidentId) -> Incident {
        let mut incident =
            Incident::new(id, format!("incident {id}"), Severity::High, Source::Api, Actor::Bot, Utc::now());
        incident.fingerprint = Some(format!("fp{id}"));
        incident
    }

    thread_local! {
        /// Makes `apply_batch` fail after most of a batch was written (sled runs the
        /// transaction closure on the calling thread).
        pub static FAIL_MID_BATCH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    fn opening(store: &SledStore) -> Batch {
        let id = store.next_incident_id().unwrap();
        let mut batch = Batch::default();
        batch.incidents.push(incident(id));
        batch.entry(id, Utc::now(), Actor::Bot, EntryKind::Note { text: "first".into() });
        batch.entry(id, Utc::now(), Actor::Bot, EntryKind::Note { text: "second".into() });
        batch.fingerprints.push((format!("fp{id}"), id));
        batch
            .threads
            .push((ThreadRef::new(Platform::Slack, "C1", format!("{id}.0")), ThreadLink::Incident { id }));
        batch.outbox.push(OutboxItem::new(
            format!("open:{id}"),
            Platform::Slack,
            Some(id),
            OutboxOp::Post {
                to: Target::IncidentThread,
                message: RichMessage::text("hi"),
                role: PostRole::Card,
            },
            Utc::now(),
        ));
        batch.timers.push(Timer { incident: id, kind: TimerKind::Escalate, due: Utc::now() });
        batch
    }

    #[test]
    fn everything_survives_close_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.commit(opening(&store)).unwrap();
            store.commit(opening(&store)).unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        let all = store.incidents().unwrap();
        assert_eq!(all.iter().map(|i| i.id).collect::<Vec<_>>(), vec![1, 2]);
        let timeline = store.timeline(2).unwrap();
        assert_eq!(timeline.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(timeline[1].kind, EntryKind::Note { text: "second".into() });
        assert_eq!(store.fingerprint("fp1").unwrap(), Some(1));
        assert_eq!(
            store.thread(&ThreadRef::new(Platform::Slack, "C1", "2.0")).unwrap(),
            Some(ThreadLink::Incident { id: 2 })
        );
        assert_eq!(store.outbox().unwrap().iter().map(|o| o.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(store.due_timers(Utc::now()).unwrap().len(), 2);
        assert_eq!(store.next_incident_id().unwrap(), 3, "the id counter survives too");
    }

    #[test]
    fn a_failed_transaction_leaves_no_partial_state() {
        let store = SledStore::temporary().unwrap();
        let batch = opening(&store);
        // An incident that cannot be written: poison the transaction halfway through by
        // making the delivered() bookkeeping see a corrupt record instead.
        store.incidents.insert(be(99), b"not json".to_vec()).unwrap();
        store
            .outbox
            .insert(
                be(500),
                encode(&OutboxItem::new(
                    "x",
                    Platform::Slack,
                    Some(99),
                    OutboxOp::Post {
                        to: Target::IncidentThread,
                        message: RichMessage::default(),
                        role: PostRole::Card,
                    },
                    Utc::now(),
                ))
                .unwrap(),
            )
            .unwrap();
        let err = store.delivered(Delivered {
            outbox_id: 500,
            key: "x".into(),
            message: Some(MessageRef { platform: Platform::Slack, channel: "C".into(), id: "1".into() }),
            binding: Some((99, PostRole::Card)),
            keep_until: Utc::now(),
        });
        assert!(matches!(err, Err(StoreError::Corrupt { .. })), "{err:?}");
        assert!(store.outbox.get(be(500)).unwrap().is_some(), "the outbox entry is still there");
        assert!(store.sent("x").unwrap().is_none(), "no sent record was half-written");

        // A batch that fails halfway (after incidents, timeline, indexes, outbox and
        // timers were written inside the transaction) leaves none of it behind.
        let empty = |store: &SledStore| {
            store.incident(1).unwrap().is_none()
                && store.timeline(1).unwrap().is_empty()
                && store.fingerprint("fp1").unwrap().is_none()
                && store.thread(&ThreadRef::new(Platform::Slack, "C1", "1.0")).unwrap().is_none()
                && store.outbox().unwrap().len() == 1 // only the entry planted above
                && store.due_timers(Utc::now()).unwrap().is_empty()
        };
        FAIL_MID_BATCH.with(|f| f.set(true));
        let err = store.commit(batch.clone());
        FAIL_MID_BATCH.with(|f| f.set(false));
        assert!(matches!(err, Err(StoreError::Backend(_))), "{err:?}");
        assert!(empty(&store), "nothing of the failed batch was written");
        store.commit(batch).unwrap();
        assert_eq!(store.timeline(1).unwrap().len(), 2);
        assert!(store.fingerprint("fp1").unwrap().is_some());
    }

    #[test]
    fn dedup_keys_expire_and_are_swept() {
        let store = SledStore::temporary().unwrap();
        let past = Utc::now() - chrono::Duration::seconds(1);
        let future = Utc::now() + chrono::Duration::hours(1);
        assert!(store.remember("old", past).unwrap());
        assert!(store.remember("old", future).unwrap(), "an expired key counts as new");
        assert!(!store.remember("old", future).unwrap(), "a live key is a duplicate");
        assert!(store.remember("stale", past).unwrap());
        let swept = store.sweep(Utc::now()).unwrap();
        assert_eq!(swept, 1);
        assert!(store.dedup.get("stale").unwrap().is_none());
        assert!(store.dedup.get("old").unwrap().is_some());
    }

    #[test]
    fn accept_stores_once_per_dedup_key() {
        let store = SledStore::temporary().unwrap();
        let event = Inbound {
            platform: Platform::Slack,
            event_id: "Ev1".into(),
            channel: "C1".into(),
            thread: None,
            message_id: Some("1.0".into()),
            user: crate::model::Person::new("slack", "U1", None),
            kind: crate::model::InboundKind::Mention {
                text: "db down".into(),
                alert_channel: false,
                from_integration: false,
            },
            reply: Default::default(),
            received_at: Utc::now(),
        };
        let later = Utc::now() + chrono::Duration::hours(1);
        let keys = vec!["slack:event:Ev1".to_string(), "slack:msg:C1:1.0".to_string()];
        assert_eq!(store.accept(&keys, later, &event).unwrap(), Accepted::New(1));
        assert_eq!(store.accept(&keys, later, &event).unwrap(), Accepted::Duplicate);
        // The same message delivered under another event id (app_mention + message) too.
        let other = vec!["slack:event:Ev2".to_string(), "slack:msg:C1:1.0".to_string()];
        assert_eq!(store.accept(&other, later, &event).unwrap(), Accepted::Duplicate);
        assert_eq!(store.inbox().unwrap().len(), 1);
        let mut done = Batch::default();
        done.inbox_done.push(1);
        store.commit(done).unwrap();
        assert!(store.inbox().unwrap().is_empty());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.meta.insert(META_SCHEMA, &be(SCHEMA_VERSION + 1)).unwrap();
            store.flush().unwrap();
        }
        match SledStore::open(dir.path()) {
            Err(StoreError::Schema { found, expected }) => {
                assert_eq!((found, expected), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
            }
            Err(other) => panic!("expected a schema error, got {other}"),
            Ok(_) => panic!("a newer schema was accepted"),
        }
    }
}
