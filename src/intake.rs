//! Intake: dedup → inbox → ordered dispatch (DESIGN.md "the flow of one event").
//!
//! An adapter hands every verified event to [`Intake::submit`], which stores it in the
//! inbox in the same transaction that records its dedup keys, and only then returns —
//! so the adapter acknowledges to the platform after the event is durable. The event
//! is then queued for the router. Events of one conversation (thread, or incident for
//! button presses) go to the same worker and are handled in order; different
//! conversations run concurrently on other workers. Queues are bounded: a full queue
//! slows the adapter down instead of growing memory.
//!
//! After a crash, [`Intake::replay`] re-queues what the inbox still holds.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::model::Inbound;
use crate::store::{Accepted, Store, StoreError};

/// Workers that handle events (one conversation always maps to the same one).
const WORKERS: usize = 8;
/// Events queued per worker before `submit` waits.
const QUEUE: usize = 256;

/// Why an event could not be taken in; the adapter must not acknowledge it.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("warroom is shutting down")]
    ShuttingDown,
}

/// Handles one stored event; implemented by the engine's router.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, seq: u64, event: Inbound);
}

#[async_trait::async_trait]
impl Handler for crate::engine::Engine {
    async fn handle(&self, seq: u64, event: Inbound) {
        crate::engine::Engine::handle(self, seq, event).await
    }
}

/// Which worker handles a conversation: always the same one, so its events stay in order.
fn worker_for(conversation: &str, workers: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    conversation.hash(&mut hasher);
    (hasher.finish() as usize) % workers
}

/// An event [`Intake::store`] took in (or recognised as a repeat), waiting for
/// [`Intake::queue`].
#[derive(Debug)]
#[must_use = "queue it, or it is only handled after the next start"]
pub struct Stored {
    accepted: Accepted,
    event: Inbound,
}

impl Stored {
    pub fn accepted(&self) -> Accepted {
        self.accepted
    }
}

/// The `out` side of every platform's inbound loop.
#[derive(Clone)]
pub struct Intake {
    store: Arc<dyn Store>,
    ttl: chrono::Duration,
    queues: Arc<Vec<mpsc::Sender<(u64, Inbound)>>>,
}

impl Intake {
    /// Starts the workers on `tracker`; they stop when `shutdown` is cancelled, after
    /// finishing the event in hand (the rest stays in the inbox for the next start).
    pub fn start(
        store: Arc<dyn Store>,
        ttl: chrono::Duration,
        handler: Arc<dyn Handler>,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let mut queues = Vec::with_capacity(WORKERS);
        for _ in 0..WORKERS {
            let (tx, mut rx) = mpsc::channel::<(u64, Inbound)>(QUEUE);
            queues.push(tx);
            let handler = handler.clone();
            let shutdown = shutdown.clone();
            tracker.spawn(async move {
                loop {
                    let next = tokio::select! {
                        biased;
                        _ = shutdown.cancelled() => None,
                        next = rx.recv() => next,
                    };
                    let Some((seq, event)) = next else { break };
                    handler.handle(seq, event).await;
                }
            });
        }
        Self { store, ttl, queues: Arc::new(queues) }
    }

    /// Stores `event` unless one of `dedup_keys` was seen (default: its platform event
    /// id), then queues it. `Ok(Duplicate)` is also safe to acknowledge.
    pub async fn submit(&self, event: Inbound, dedup_keys: Vec<String>) -> Result<Accepted, IntakeError> {
        let stored = self.store(event, dedup_keys).await?;
        self.queue(stored).await
    }

    /// The first half of [`Self::submit`]: once this returned, the event is durable and
    /// may be acknowledged, before [`Self::queue`] waits for room in a worker's queue.
    /// Platforms with a deadline for their acknowledgement (Discord's three seconds)
    /// answer in between. An event stored but never queued is handled after the next
    /// start ([`Self::replay`]).
    pub async fn store(&self, event: Inbound, dedup_keys: Vec<String>) -> Result<Stored, IntakeError> {
        let keys = if dedup_keys.is_empty() {
            vec![format!("{}:event:{}", event.platform, event.event_id)]
        } else {
            dedup_keys
        };
        let store = self.store.clone();
        let expires = Utc::now() + self.ttl;
        let stored = event.clone();
        // sled calls are quick, but the flush is an fsync: keep both off the runtime.
        let accepted = tokio::task::spawn_blocking(move || -> Result<Accepted, StoreError> {
            let accepted = store.accept(&keys, expires, &stored)?;
            if let Accepted::New(_) = accepted {
                store.flush()?;
            }
            Ok(accepted)
        })
        .await
        .map_err(|_| IntakeError::ShuttingDown)??;
        if accepted == Accepted::Duplicate {
            tracing::debug!(platform = %event.platform, event = %event.event_id, "duplicate delivery dropped");
        }
        Ok(Stored { accepted, event })
    }

    /// The second half of [`Self::submit`]: hands a stored event to its worker (waiting
    /// while that worker's queue is full). A duplicate is dropped here.
    pub async fn queue(&self, stored: Stored) -> Result<Accepted, IntakeError> {
        if let Accepted::New(seq) = stored.accepted {
            self.dispatch(seq, stored.event).await?;
        }
        Ok(stored.accepted)
    }

    async fn dispatch(&self, seq: u64, event: Inbound) -> Result<(), IntakeError> {
        let worker = worker_for(&event.conversation(), self.queues.len());
        self.queues[worker].send((seq, event)).await.map_err(|_| IntakeError::ShuttingDown)
    }

    /// Waits until everything already submitted has been handled and `platform`'s
    /// messages are sent (inbox empty, outbox empty, no investigation running), or until
    /// `deadline`. The console uses it so a scripted session reads like a conversation.
    pub async fn settle(&self, platform: crate::model::Platform, deadline: std::time::Duration) {
        let until = tokio::time::Instant::now() + deadline;
        // Several quiet polls in a row: one step's messages can cause the next step.
        let mut quiet = 0;
        while tokio::time::Instant::now() < until && quiet < 3 {
            let busy = self.store.inbox().map(|i| !i.is_empty()).unwrap_or(false)
                || self
                    .store
                    .outbox()
                    .map(|o| o.iter().any(|i| i.platform == platform && !i.dead))
                    .unwrap_or(false)
                || self
                    .store
                    .timers()
                    .map(|t| {
                        t.iter()
                            .any(|t| t.kind == crate::store::TimerKind::Investigate || t.due <= Utc::now())
                    })
                    .unwrap_or(false);
            quiet = if busy { 0 } else { quiet + 1 };
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Re-queues events stored but not handled before the last stop.
    pub async fn replay(&self) -> Result<usize, IntakeError> {
        let pending = self.store.inbox()?;
        let count = pending.len();
        for (seq, event) in pending {
            self.dispatch(seq, event).await?;
        }
        if count > 0 {
            tracing::info!(count, "replaying events received before the last stop");
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InboundKind, Person, Platform};
    use crate::store::{Batch, SledStore};
    use std::sync::Mutex;
    use tokio::sync::Notify;

    /// Records the order events are handled in; holds events of thread "slow" until released.
    struct Recorder {
        store: Arc<dyn Store>,
        seen: Mutex<Vec<String>>,
        release: Notify,
        changed: Notify,
    }

    #[async_trait::async_trait]
    impl Handler for Recorder {
        async fn handle(&self, seq: u64, event: Inbound) {
            if event.thread.as_deref() == Some("slow") && event.event_id == "slow-1" {
                self.release.notified().await;
            }
            self.seen.lock().unwrap().push(event.event_id.clone());
            let mut done = Batch::default();
            done.inbox_done.push(seq);
            self.store.commit(done).unwrap();
            self.changed.notify_waiters();
        }
    }

    fn event(id: &str, thread: &str) -> Inbound {
        Inbound {
            platform: Platform::Console,
            event_id: id.into(),
            channel: "c".into(),
            thread: Some(thread.into()),
            message_id: Some(id.into()),
            user: Person::new("console", "u", None),
            kind: InboundKind::ThreadReply { text: "x".into() },
            reply: Default::default(),
            received_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn one_thread_in_order_other_threads_meanwhile() {
        let store: Arc<dyn Store> = Arc::new(SledStore::temporary().unwrap());
        let recorder = Arc::new(Recorder {
            store: store.clone(),
            seen: Mutex::new(vec![]),
            release: Notify::new(),
            changed: Notify::new(),
        });
        let tracker = TaskTracker::new();
        let intake = Intake::start(
            store.clone(),
            chrono::Duration::hours(1),
            recorder.clone(),
            &tracker,
            CancellationToken::new(),
        );
        // A thread that lands on another worker than "slow".
        let slow = worker_for(&event("x", "slow").conversation(), WORKERS);
        let fast = (0..)
            .map(|n| format!("t{n}"))
            .find(|t| worker_for(&event("x", t).conversation(), WORKERS) != slow)
            .unwrap();

        intake.submit(event("slow-1", "slow"), vec![]).await.unwrap();
        intake.submit(event("slow-2", "slow"), vec![]).await.unwrap();
        intake.submit(event("fast-1", &fast), vec![]).await.unwrap();
        // The other thread is handled while the first event of "slow" is still in hand…
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while !recorder.seen.lock().unwrap().contains(&"fast-1".to_string()) {
            assert!(tokio::time::Instant::now() < until, "the other thread was held up");
            let _ =
                tokio::time::timeout(std::time::Duration::from_millis(50), recorder.changed.notified()).await;
        }
        assert_eq!(*recorder.seen.lock().unwrap(), vec!["fast-1"]);
        // …and "slow" continues in order once released.
        recorder.release.notify_one();
        while recorder.seen.lock().unwrap().len() < 3 {
            assert!(tokio::time::Instant::now() < until, "slow thread did not finish");
            let _ =
                tokio::time::timeout(std::time::Duration::from_millis(50), recorder.changed.notified()).await;
        }
        assert_eq!(*recorder.seen.lock().unwrap(), vec!["fast-1", "slow-1", "slow-2"]);
        assert!(store.inbox().unwrap().is_empty());
        // A redelivery is acknowledged but not handled again.
        assert_eq!(intake.submit(event("slow-1", "slow"), vec![]).await.unwrap(), Accepted::Duplicate);
    }
}
