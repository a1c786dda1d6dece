//! # warroom
//!
//! One long-running daemon that turns Slack, Discord and Telegram into an incident war
//! room: it takes alerts from monitoring webhooks and @mentions from chat, decides which
//! are real, opens one incident per thread, gathers context, posts a plan, pages and
//! escalates, and keeps every incident's lifecycle in an embedded sled database.
//!
//! # Layout
//!
//! The modules follow the flow of one event (`../shared/DESIGN.md`):
//!
//! ```text
//! platforms/  ──▶ intake ──▶ engine::router ──▶ classify ──▶ engine ──▶ investigate
//! http/webhooks ─────────────▶ alerts ────────────────────────┘    │
//!                                                                 ▼
//!                                              store (sled) ◀── outbox ──▶ platforms/
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | `config.toml` → typed [`config::Config`], `${ENV}` substitution, validation naming the key |
//! | [`model`] | [`model::Incident`], lifecycle enums, timeline entries, [`model::Inbound`], [`model::RichMessage`] |
//! | [`platforms`] | the [`platforms::ChatPlatform`] trait and the adapters (console, Slack, Discord, Telegram): verify, parse, render, send |
//! | [`intake`] | dedup + durable inbox + ordered dispatch: the step between an adapter and the router |
//! | [`alerts`] | Alertmanager / Grafana / generic webhook payloads → [`alerts::Alert`] |
//! | [`classify`] | alert-or-chatter gate: heuristics first, LLM for the ambiguous, fail open |
//! | [`engine`] | the lifecycle state machine (pure), the router, `/incident` commands, cards, timers |
//! | [`investigate`] | context sources in parallel, each with a deadline → plan → report |
//! | [`llm`] | Anthropic and OpenAI-compatible clients, redaction, token and cost accounting |
//! | [`outbox`] | persisted outbound queue: ordering, pacing, retries, idempotency |
//! | [`store`] | the [`store::Store`] trait and its sled backend |
//! | [`http`] | axum: webhooks, incident API, health, metrics, platform callbacks |
//! | [`verify`] | bearer, HMAC and Ed25519 request verification |
//! | [`app`] | wiring, startup order, shutdown |
//!
//! Where is a Slack button click handled? `platforms/slack` turns it into
//! `InboundKind::Action`, `intake` stores it, `engine::router::on_action` applies it.

pub mod alerts;
pub mod app;
pub mod classify;
pub mod config;
pub mod engine;
pub mod http;
pub mod intake;
pub mod investigate;
pub mod llm;
pub mod model;
pub mod outbox;
pub mod platforms;
pub mod store;
pub mod verify;
