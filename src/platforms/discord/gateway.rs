//! The gateway connection: serenity's `Client` with one `EventHandler`.
//!
//! serenity does the protocol — HELLO, IDENTIFY, heartbeats, op 7 reconnect and RESUME,
//! op 9 re-identify (<https://discord.com/developers/docs/events/gateway>) — and calls
//! the handler in a task of its own per event. Events replayed after a resume are
//! dropped by intake (dedup keys name the message or interaction).
//!
//! Those tasks may run in any order: tokio runs the task spawned last first (its LIFO
//! slot), and a task that waits for a lookup lets the next one pass. So the handler only
//! files each event under its channel ([`Gate::file`]); one drain per busy channel takes
//! them out in the order Discord created them — message and interaction ids are
//! snowflakes, increasing with time — after a short [`SETTLE`] for the rest of a burst
//! to arrive, and hands them on one at a time. Two notes in a thread are noted in the
//! order they were written, and Acknowledge then Resolve is never applied the other way
//! round. Different channels drain concurrently.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serenity::all::{Context, EventHandler, GatewayIntents, Interaction, Message, Ready, ResumedEvent};
use tokio_util::task::TaskTracker;

use super::{wire, Discord};
use crate::intake::{Intake, Stored};

/// How long a channel's first event waits for events serenity's other tasks may still
/// be carrying from the same burst. They were spawned microseconds apart; this is
/// generous and still far inside Discord's three seconds for an interaction.
pub const SETTLE: Duration = Duration::from_millis(50);

/// What the bot listens to. `MESSAGE_CONTENT` is privileged (enable it in the developer
/// portal): without it, alert-channel messages from integrations arrive empty.
/// <https://discord.com/developers/docs/events/gateway#gateway-intents>
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES
}

/// A gateway event the adapter acts on.
pub enum Event {
    Message(Box<Message>),
    Interaction(Box<Interaction>),
}

impl Event {
    /// The channel (or thread) it happened in: the unit of order.
    fn channel(&self) -> u64 {
        match self {
            Self::Message(m) => m.channel_id.get(),
            Self::Interaction(i) => wire::interaction_channel(i).unwrap_or(0),
        }
    }

    /// Its snowflake: Discord's order of creation.
    fn id(&self) -> u64 {
        match self {
            Self::Message(m) => m.id.get(),
            Self::Interaction(i) => i.id().get(),
        }
    }
}

/// Lets handler calls reach intake until the adapter stops, keeps each channel's events
/// in order, and lets the adapter wait for the events in hand. serenity's tasks outlive
/// `Client::start` for a moment and keep the handler; without the gate they would keep
/// intake (and the database) open after shutdown.
#[derive(Clone)]
pub struct Gate {
    discord: Arc<Discord>,
    out: Arc<Mutex<Option<Intake>>>,
    /// Channel → its events not yet handed on, by id. A channel is present while its
    /// drain runs.
    channels: Arc<Mutex<HashMap<u64, BTreeMap<u64, Event>>>>,
    /// Channel → its events stored (and answered) but not yet queued for handling, in
    /// order. A channel is present while its queuer runs. Storing never waits for a
    /// full worker queue: an event is durable as soon as it arrives.
    stored: Arc<Mutex<HashMap<u64, VecDeque<Stored>>>>,
    calls: TaskTracker,
}

impl Gate {
    pub fn open(discord: Arc<Discord>, out: Intake) -> Self {
        Self {
            discord,
            out: Arc::new(Mutex::new(Some(out))),
            channels: Arc::new(Mutex::new(HashMap::new())),
            stored: Arc::new(Mutex::new(HashMap::new())),
            calls: TaskTracker::new(),
        }
    }

    /// Files `event` under its channel and starts the channel's drain if none runs.
    /// Synchronous, so nothing can overtake it between serenity's call and the filing.
    pub fn file(&self, event: Event) {
        let out = self.out.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(out) = out else {
            // Shutting down: Discord will not send it again.
            if let Event::Message(m) = &event {
                self.discord.lost_message(m.id.get(), "warroom is shutting down");
            }
            return;
        };
        let channel = event.channel();
        let start = {
            let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
            let start = !channels.contains_key(&channel);
            channels.entry(channel).or_default().insert(event.id(), event);
            start
        };
        if start {
            self.calls.spawn(self.clone().drain(channel, out));
        }
    }

    /// Hands on a channel's events, smallest id first, until none are left.
    async fn drain(self, channel: u64, out: Intake) {
        tokio::time::sleep(SETTLE).await;
        let mut last = 0;
        loop {
            let next = {
                let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
                let Some(queue) = channels.get_mut(&channel) else { return };
                match queue.pop_first() {
                    Some((_, event)) => event,
                    None => {
                        // Under the same lock `file` checks: a later event starts a new drain.
                        channels.remove(&channel);
                        return;
                    }
                }
            };
            if next.id() < last {
                tracing::debug!(
                    channel,
                    event = next.id(),
                    "discord: an event arrived after a later one was handled"
                );
            }
            last = last.max(next.id());
            let stored = match next {
                Event::Message(message) => self.discord.on_message(&message, &out).await,
                Event::Interaction(interaction) => {
                    self.discord.on_gateway_interaction(&interaction, &out).await
                }
            };
            if let Some(stored) = stored {
                self.hand_on(channel, stored, &out);
            }
        }
    }

    /// Queues a stored event behind the channel's earlier ones, starting the channel's
    /// queuer if none runs.
    fn hand_on(&self, channel: u64, stored: Stored, out: &Intake) {
        let start = {
            let mut queues = self.stored.lock().unwrap_or_else(|p| p.into_inner());
            let start = !queues.contains_key(&channel);
            queues.entry(channel).or_default().push_back(stored);
            start
        };
        if start {
            self.calls.spawn(self.clone().queue(channel, out.clone()));
        }
    }

    /// Hands a channel's stored events to intake's workers in order, waiting while a
    /// worker's queue is full; ends when none are left.
    async fn queue(self, channel: u64, out: Intake) {
        loop {
            let next = {
                let mut queues = self.stored.lock().unwrap_or_else(|p| p.into_inner());
                let Some(queue) = queues.get_mut(&channel) else { return };
                match queue.pop_front() {
                    Some(stored) => stored,
                    None => {
                        queues.remove(&channel);
                        return;
                    }
                }
            };
            if let Err(e) = out.queue(next).await {
                // Stored: handled after the next start.
                tracing::debug!(channel, error = %e, "discord: a stored event was not queued");
            }
        }
    }

    /// Stops new events and waits (at most `grace`) for those in hand.
    pub async fn close(&self, grace: Duration) {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.calls.close();
        if tokio::time::timeout(grace, self.calls.wait()).await.is_err() {
            tracing::warn!("discord: gateway events still in hand after {grace:?}; leaving them");
            // Those not yet stored are lost (stored ones are handled after the restart).
            let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
            for event in channels.values().flat_map(|queue| queue.values()) {
                if let Event::Message(m) = event {
                    self.discord.lost_message(m.id.get(), "warroom stopped before it was stored");
                }
            }
        }
    }
}

/// Hands gateway events to the adapter.
pub struct Handler {
    pub discord: Arc<Discord>,
    pub gate: Gate,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        self.discord.set_bot_id(ready.user.id.get());
        tracing::info!(user = %ready.user.name, id = %ready.user.id, guilds = ready.guilds.len(), "discord: gateway ready");
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!("discord: gateway session resumed");
    }

    async fn message(&self, _ctx: Context, message: Message) {
        self.gate.file(Event::Message(Box::new(message)));
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        self.gate.file(Event::Interaction(Box::new(interaction)));
    }
}
