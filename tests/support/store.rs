//! A store that refuses to take in events on demand (a full disk, an I/O error), so
//! tests can show that an event that could not be stored is not acknowledged and is not
//! lost. Everything else goes to a real in-memory sled store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use warroom::model::{Inbound, Incident, IncidentId, MessageRef, ThreadRef, TimelineEntry};
use warroom::outbox::OutboxItem;
use warroom::store::{
    Accepted, Batch, Delivered, SledStore, Store, StoreError, StoreResult, ThreadLink, Timer,
};

/// [`SledStore::temporary`] whose next `accept` calls fail.
pub struct FlakyStore {
    inner: SledStore,
    /// How many more `accept` calls fail.
    failing: AtomicUsize,
    /// The event ids of every `accept` call, failed or not, in order.
    pub offered: Mutex<Vec<String>>,
}

impl FlakyStore {
    pub fn new() -> Arc<FlakyStore> {
        Arc::new(FlakyStore {
            inner: SledStore::temporary().expect("temporary sled"),
            failing: AtomicUsize::new(0),
            offered: Mutex::new(Vec::new()),
        })
    }

    /// The next `n` events offered are refused.
    pub fn fail_next_accepts(&self, n: usize) {
        self.failing.store(n, Ordering::SeqCst);
    }

    pub fn offered(&self) -> Vec<String> {
        self.offered.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Store for FlakyStore {
    fn next_incident_id(&self) -> StoreResult<IncidentId> {
        self.inner.next_incident_id()
    }
    fn incident(&self, id: IncidentId) -> StoreResult<Option<Incident>> {
        self.inner.incident(id)
    }
    fn incidents(&self) -> StoreResult<Vec<Incident>> {
        self.inner.incidents()
    }
    fn timeline(&self, id: IncidentId) -> StoreResult<Vec<TimelineEntry>> {
        self.inner.timeline(id)
    }
    fn thread(&self, thread: &ThreadRef) -> StoreResult<Option<ThreadLink>> {
        self.inner.thread(thread)
    }
    fn fingerprint(&self, fingerprint: &str) -> StoreResult<Option<IncidentId>> {
        self.inner.fingerprint(fingerprint)
    }
    fn commit(&self, batch: Batch) -> StoreResult<()> {
        self.inner.commit(batch)
    }
    fn accept(&self, keys: &[String], expires: DateTime<Utc>, event: &Inbound) -> StoreResult<Accepted> {
        self.offered.lock().unwrap_or_else(|p| p.into_inner()).push(event.event_id.clone());
        let refuse =
            self.failing.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if refuse {
            return Err(StoreError::Backend("No space left on device (injected)".into()));
        }
        self.inner.accept(keys, expires, event)
    }
    fn inbox(&self) -> StoreResult<Vec<(u64, Inbound)>> {
        self.inner.inbox()
    }
    fn remember(&self, key: &str, expires: DateTime<Utc>) -> StoreResult<bool> {
        self.inner.remember(key, expires)
    }
    fn sweep(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        self.inner.sweep(now)
    }
    fn outbox(&self) -> StoreResult<Vec<OutboxItem>> {
        self.inner.outbox()
    }
    fn outbox_update(&self, item: &OutboxItem) -> StoreResult<()> {
        self.inner.outbox_update(item)
    }
    fn delivered(&self, delivery: Delivered) -> StoreResult<()> {
        self.inner.delivered(delivery)
    }
    fn sent(&self, key: &str) -> StoreResult<Option<MessageRef>> {
        self.inner.sent(key)
    }
    fn due_timers(&self, now: DateTime<Utc>) -> StoreResult<Vec<Timer>> {
        self.inner.due_timers(now)
    }
    fn timers(&self) -> StoreResult<Vec<Timer>> {
        self.inner.timers()
    }
    fn next_timer(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.inner.next_timer()
    }
    fn context(&self, id: IncidentId) -> StoreResult<Vec<(String, serde_json::Value)>> {
        self.inner.context(id)
    }
    fn flush(&self) -> StoreResult<()> {
        self.inner.flush()
    }
}

/// Records the events intake hands on, in order, and marks each handled.
pub struct Handled {
    store: Arc<dyn Store>,
    pub events: Mutex<Vec<Inbound>>,
}

impl Handled {
    pub fn new(store: Arc<dyn Store>) -> Arc<Handled> {
        Arc::new(Handled { store, events: Mutex::new(Vec::new()) })
    }

    pub fn events(&self) -> Vec<Inbound> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl warroom::intake::Handler for Handled {
    async fn handle(&self, seq: u64, event: Inbound) {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
        let mut done = Batch::default();
        done.inbox_done.push(seq);
        let _ = self.store.commit(done);
    }
}
