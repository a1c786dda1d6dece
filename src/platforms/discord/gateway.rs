//! The gateway connection: serenity's `Client` with one `EventHandler`.
//!
//! serenity does the protocol — HELLO, IDENTIFY, heartbeats, op 7 reconnect and RESUME,
//! op 9 re-identify (<https://discord.com/developers/docs/events/gateway>) — and calls
//! the handler in a task of its own per event, so a handler that waits for the store
//! never stalls the connection. Events replayed after a resume are dropped by intake
//! (dedup keys name the message or interaction).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serenity::all::{Context, EventHandler, GatewayIntents, Interaction, Message, Ready, ResumedEvent};
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;

use super::Discord;
use crate::intake::Intake;

/// What the bot listens to. `MESSAGE_CONTENT` is privileged (enable it in the developer
/// portal): without it, alert-channel messages from integrations arrive empty.
/// <https://discord.com/developers/docs/events/gateway#gateway-intents>
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES
}

/// Lets handler calls reach intake until the adapter stops, and lets the adapter wait
/// for the calls in hand. serenity's tasks outlive `Client::start` for a moment and
/// keep the handler; without the gate they would keep intake (and the database) open
/// after shutdown.
#[derive(Clone)]
pub struct Gate {
    out: Arc<Mutex<Option<Intake>>>,
    calls: TaskTracker,
}

impl Gate {
    pub fn open(out: Intake) -> Self {
        Self { out: Arc::new(Mutex::new(Some(out))), calls: TaskTracker::new() }
    }

    /// Intake for one handler call, counted until the token drops; `None` once closed.
    fn enter(&self) -> Option<(Intake, TaskTrackerToken)> {
        let out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.clone().map(|out| (out, self.calls.token()))
    }

    /// Stops new calls and waits (at most `grace`) for those in hand.
    pub async fn close(&self, grace: Duration) {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.calls.close();
        if tokio::time::timeout(grace, self.calls.wait()).await.is_err() {
            tracing::warn!("discord: gateway events still in hand after {grace:?}; leaving them");
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
        let Some((out, _call)) = self.gate.enter() else { return };
        self.discord.on_message(&message, &out).await;
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let Some((out, _call)) = self.gate.enter() else { return };
        self.discord.on_gateway_interaction(&interaction, &out).await;
    }
}
