//! The gateway connection: serenity's `Client` with one `EventHandler`.
//!
//! serenity does the protocol — HELLO, IDENTIFY, heartbeats, op 7 reconnect and RESUME,
//! op 9 re-identify (<https://discord.com/developers/docs/events/gateway>) — and calls
//! the handler in a task of its own per event, so a handler that waits for the store
//! never stalls the connection. Events replayed after a resume are dropped by intake
//! (dedup keys name the message or interaction).

use std::sync::Arc;

use serenity::all::{Context, EventHandler, GatewayIntents, Interaction, Message, Ready, ResumedEvent};

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

/// Hands gateway events to the adapter.
pub struct Handler {
    pub discord: Arc<Discord>,
    pub out: Intake,
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
        self.discord.on_message(&message, &self.out).await;
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        self.discord.on_gateway_interaction(&interaction, &self.out).await;
    }
}
