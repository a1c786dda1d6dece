//! The domain: incidents, their lifecycle and timeline, and the platform-neutral
//! shapes of what comes in (`Inbound`) and what goes out (`RichMessage`).
//!
//! Nothing in this module knows about Slack, Discord or Telegram: adapters translate
//! their wire types into these at the edge (see `platforms/`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Incident ids are small sequential numbers so people can say "#42" out loud.
pub type IncidentId = u64;

/// How bad it is. Ordered from worst to mildest so `min()` picks the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Critical, Self::High, Self::Medium, Self::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }

    /// A coloured marker that reads the same on every platform.
    pub fn emoji(self) -> &'static str {
        match self {
            Self::Critical => "🔴",
            Self::High => "🟠",
            Self::Medium => "🟡",
            Self::Low => "🔵",
        }
    }

    /// RGB colour for platforms with coloured cards (Discord embeds, Slack attachments).
    pub fn color(self) -> u32 {
        match self {
            Self::Critical => 0xD32F2F,
            Self::High => 0xF57C00,
            Self::Medium => 0xFBC02D,
            Self::Low => 0x1976D2,
        }
    }

    /// Maps the free-form severity words monitoring tools use onto our four levels.
    /// Unknown words give `None` so the caller can pick its own default.
    pub fn from_alert_label(value: &str) -> Option<Severity> {
        match value.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "fatal" | "emergency" | "page" | "p0" | "p1" | "sev1" | "sev0"
            | "disaster" => Some(Self::Critical),
            "high" | "error" | "major" | "p2" | "sev2" => Some(Self::High),
            "medium" | "warning" | "warn" | "moderate" | "p3" | "sev3" | "average" => Some(Self::Medium),
            "low" | "info" | "informational" | "minor" | "notice" | "none" | "p4" | "p5" | "sev4" => {
                Some(Self::Low)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Ok(Self::Critical),
            "high" => Ok(Self::High),
            "medium" => Ok(Self::Medium),
            "low" => Ok(Self::Low),
            other => Err(format!("unknown severity `{other}` (expected critical, high, medium or low)")),
        }
    }
}

/// Where an incident is in its lifecycle. See `engine::lifecycle` for the allowed moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Investigating,
    Mitigated,
    Resolved,
}

impl Status {
    pub const ALL: [Status; 4] = [Self::Open, Self::Investigating, Self::Mitigated, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Investigating => "investigating",
            Self::Mitigated => "mitigated",
            Self::Resolved => "resolved",
        }
    }

    /// Human label used on cards.
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Investigating => "INVESTIGATING",
            Self::Mitigated => "MITIGATED",
            Self::Resolved => "RESOLVED",
        }
    }

    pub fn is_active(self) -> bool {
        self != Self::Resolved
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "investigating" => Ok(Self::Investigating),
            "mitigated" => Ok(Self::Mitigated),
            "resolved" => Ok(Self::Resolved),
            other => {
                Err(format!("unknown status `{other}` (expected open, investigating, mitigated or resolved)"))
            }
        }
    }
}

/// Where an incident came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Slack,
    Discord,
    Telegram,
    Alertmanager,
    Grafana,
    Webhook,
    Api,
    Console,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Telegram => "telegram",
            Self::Alertmanager => "alertmanager",
            Self::Grafana => "grafana",
            Self::Webhook => "webhook",
            Self::Api => "api",
            Self::Console => "console",
        }
    }
}

impl From<Platform> for Source {
    fn from(p: Platform) -> Self {
        match p {
            Platform::Slack => Self::Slack,
            Platform::Discord => Self::Discord,
            Platform::Telegram => Self::Telegram,
            Platform::Console => Self::Console,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "slack" => Self::Slack,
            "discord" => Self::Discord,
            "telegram" => Self::Telegram,
            "alertmanager" => Self::Alertmanager,
            "grafana" => Self::Grafana,
            "webhook" => Self::Webhook,
            "api" => Self::Api,
            "console" => Self::Console,
            other => return Err(format!("unknown source `{other}`")),
        })
    }
}

/// A chat platform warroom talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Slack,
    Discord,
    Telegram,
    Console,
}

impl Platform {
    pub const ALL: [Platform; 4] = [Self::Slack, Self::Discord, Self::Telegram, Self::Console];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Telegram => "telegram",
            Self::Console => "console",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A conversation an incident lives in: Slack `thread_ts`, a Discord thread channel,
/// the Telegram reply chain rooted at the bot's incident message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ThreadRef {
    pub platform: Platform,
    /// Channel / chat id as the platform spells it.
    pub channel: String,
    /// The root of the thread (Slack parent `ts`, Discord thread channel id,
    /// Telegram root message id).
    pub thread: String,
}

impl ThreadRef {
    pub fn new(platform: Platform, channel: impl Into<String>, thread: impl Into<String>) -> Self {
        Self { platform, channel: channel.into(), thread: thread.into() }
    }

    /// Stable string used as a storage and ordering key.
    pub fn key(&self) -> String {
        format!("{}:{}:{}", self.platform, self.channel, self.thread)
    }
}

/// A message the bot posted, so it can be edited later (`chat.update`, PATCH, `editMessageText`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    pub platform: Platform,
    pub channel: String,
    pub id: String,
}

/// A person as a platform knows them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Platform user id (`U123`, a Discord snowflake, a Telegram user id) or an API caller name.
    pub id: String,
    /// Display name when the platform told us one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which platform (or `api`, `console`) vouches for this identity.
    pub via: String,
}

impl Person {
    pub fn new(via: impl Into<String>, id: impl Into<String>, name: Option<String>) -> Self {
        Self { id: id.into(), name, via: via.into() }
    }

    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// Who did something. The delegation boundary hangs on this distinction:
/// only a `Human` may declare an incident mitigated or resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Actor {
    Human(Person),
    Bot,
}

impl Actor {
    pub fn is_human(&self) -> bool {
        matches!(self, Self::Human(_))
    }

    pub fn display(&self) -> String {
        match self {
            Self::Human(p) => p.display().to_string(),
            Self::Bot => "warroom".to_string(),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Token and cost totals of LLM calls made for an incident.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// One incident: the unit of work a thread is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub severity: Severity,
    /// False while a high/critical severity was set by the bot and no human confirmed it.
    pub severity_confirmed: bool,
    pub status: Status,
    pub source: Source,
    /// Alert fingerprint (Alertmanager/Grafana/webhook) that maps repeats onto this incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The conversations that hold the incident: the thread it was reported in, or the
    /// thread opened on its card in each alert channel it was posted to. The first is
    /// the primary one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<ThreadRef>,
    /// The bot's incident cards (one per thread), edited in place on every change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<MessageRef>,
    /// The "Investigating…" progress messages, edited as context sources finish.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub progress: Vec<MessageRef>,
    /// The chat platforms the incident is discussed on (its thread, or the alert
    /// channels its card was posted to): where updates and thread messages fan out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigated_by: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<Actor>,
    /// When the alert behind the incident last cleared, while it has not fired again:
    /// the card says so, a re-sent "resolved" does not ask twice, and a new firing is
    /// announced instead of passing silently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_cleared_at: Option<DateTime<Utc>>,
    /// How many escalation steps have fired (0 = only the first responders were paged).
    #[serde(default)]
    pub escalation_step: u32,
    /// Running total of LLM tokens and cost spent on this incident.
    #[serde(default)]
    pub llm_usage: Usage,
}

impl Incident {
    /// A freshly opened incident: OPEN, nobody acknowledged, no thread yet.
    pub fn new(
        id: IncidentId,
        title: impl Into<String>,
        severity: Severity,
        source: Source,
        created_by: Actor,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            title: title.into(),
            description: String::new(),
            severity,
            severity_confirmed: !matches!(severity, Severity::High | Severity::Critical),
            status: Status::Open,
            source,
            fingerprint: None,
            threads: Vec::new(),
            cards: Vec::new(),
            progress: Vec::new(),
            platforms: Vec::new(),
            labels: BTreeMap::new(),
            created_at: now,
            updated_at: now,
            created_by,
            acked_at: None,
            acked_by: None,
            mitigated_at: None,
            mitigated_by: None,
            resolved_at: None,
            resolved_by: None,
            alert_cleared_at: None,
            escalation_step: 0,
            llm_usage: Usage::default(),
        }
    }
}

/// What happened, as one append-only line of an incident's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Position in the incident's timeline, from 1.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// Outcome of fetching one context source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchStatus {
    Ok,
    Failed,
    TimedOut,
    Disabled,
}

impl FetchStatus {
    pub fn mark(self) -> &'static str {
        match self {
            Self::Ok => "✓",
            Self::Failed => "✗",
            Self::TimedOut => "⏱",
            Self::Disabled => "–",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::TimedOut => "timed out",
            Self::Disabled => "disabled",
        }
    }
}

/// The kinds of timeline entries (DESIGN.md "Timeline").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    Created {
        source: Source,
        title: String,
        severity: Severity,
    },
    Classified {
        class: String,
        confidence: f32,
        tier: String,
        reasons: Vec<String>,
    },
    ContextFetched {
        source: String,
        status: FetchStatus,
        ms: u64,
    },
    PlanPosted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        input_tokens: u64,
        output_tokens: u64,
        cost_usd: f64,
        ai_written: bool,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
        confirmed: bool,
    },
    Acknowledged,
    Paged {
        who: Vec<String>,
    },
    Escalated {
        step: u32,
        who: Vec<String>,
    },
    Note {
        text: String,
    },
    AlertRepeated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
    AlertCleared {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
}

impl EntryKind {
    /// One line for chat and the CLI.
    pub fn describe(&self) -> String {
        match self {
            Self::Created { source, title, severity } => {
                format!("opened from {source}: {title} ({severity})")
            }
            Self::Classified { class, confidence, tier, reasons } => {
                format!("classified {class} ({tier}, {confidence:.2}): {}", reasons.join(", "))
            }
            Self::ContextFetched { source, status, ms } => {
                format!("context {} {source}: {} in {ms} ms", status.mark(), status.as_str())
            }
            Self::PlanPosted { model, input_tokens, output_tokens, cost_usd, ai_written } => {
                if *ai_written {
                    format!(
                        "plan posted by {} ({input_tokens} in / {output_tokens} out tokens, ${cost_usd:.4})",
                        model.as_deref().unwrap_or("llm")
                    )
                } else {
                    "rule-based plan posted (not AI-written)".to_string()
                }
            }
            Self::StatusChanged { from, to } => format!("status {from} → {to}"),
            Self::SeverityChanged { from, to, confirmed } => {
                format!("severity {from} → {to}{}", if *confirmed { "" } else { " (unconfirmed)" })
            }
            Self::Acknowledged => "acknowledged".to_string(),
            Self::Paged { who } => format!("paged {}", who.join(", ")),
            Self::Escalated { step, who } => {
                if who.is_empty() {
                    format!("escalated (step {step})")
                } else {
                    format!("escalated (step {step}) to {}", who.join(", "))
                }
            }
            Self::Note { text } => format!("note: {text}"),
            Self::AlertRepeated { .. } => "alert fired again".to_string(),
            Self::AlertCleared { .. } => {
                "alert cleared (incident left open for a human to resolve)".to_string()
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Inbound: one enum for every platform.
// ---------------------------------------------------------------------------

/// Buttons (and their slash-command twins) a human can press on an incident card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Ack,
    Escalate,
    Mitigate,
    Resolve,
    Reopen,
    Refresh,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Escalate => "escalate",
            Self::Mitigate => "mitigate",
            Self::Resolve => "resolve",
            Self::Reopen => "reopen",
            Self::Refresh => "refresh",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Ack => "Acknowledge",
            Self::Escalate => "Escalate",
            Self::Mitigate => "Mitigated",
            Self::Resolve => "Resolve",
            Self::Reopen => "Reopen",
            Self::Refresh => "Refresh",
        }
    }

    /// Button payload: `ack:42`. Short enough for Telegram's 64-byte `callback_data`.
    pub fn encode(self, id: IncidentId) -> String {
        format!("{}:{id}", self.as_str())
    }

    /// Parses a button payload. Payloads are untrusted pointers into our own state:
    /// the caller re-checks the incident and the presser before acting.
    pub fn decode(data: &str) -> Option<(ActionKind, IncidentId)> {
        let (kind, id) = data.split_once(':')?;
        let id: IncidentId = id.trim().trim_start_matches('#').parse().ok()?;
        let kind = match kind {
            "ack" => Self::Ack,
            "escalate" => Self::Escalate,
            "mitigate" => Self::Mitigate,
            "resolve" => Self::Resolve,
            "reopen" => Self::Reopen,
            "refresh" => Self::Refresh,
            _ => return None,
        };
        Some((kind, id))
    }
}

/// How to answer the person behind an inbound event privately or in place:
/// a Slack `response_url`, a Discord interaction token, a Telegram callback query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReplyHandle {
    /// Slack `response_url`; Discord interaction token; Telegram callback query id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Discord interaction id (needed with the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
}

/// What an inbound event asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboundKind {
    /// A message addressed to the bot (an @mention, or any message in an alert channel).
    Mention {
        text: String,
        /// Posted in a channel whose every message is classified (not an @mention).
        #[serde(default)]
        alert_channel: bool,
        /// Posted by an integration or webhook rather than a person.
        #[serde(default)]
        from_integration: bool,
    },
    /// A human message inside a thread the bot may care about.
    ThreadReply { text: String },
    /// A slash command; `text` is what follows the command name (`open high db down`).
    Command { text: String },
    /// A button press.
    Action { action: ActionKind, incident: IncidentId },
}

/// One event from any platform, after verification and translation at the edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbound {
    pub platform: Platform,
    /// The platform's id for this delivery (`event_id`, Discord message/interaction id,
    /// Telegram `update_id`), used for dedup.
    pub event_id: String,
    pub channel: String,
    /// The thread the event happened in, if it was inside one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// The id of the message that carried the event (so the bot can start a thread on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub user: Person,
    pub kind: InboundKind,
    #[serde(default)]
    pub reply: ReplyHandle,
    pub received_at: DateTime<Utc>,
}

impl Inbound {
    /// The conversation this event belongs to; events with the same key run in order.
    pub fn conversation(&self) -> String {
        let thread = self.thread.as_deref().or(self.message_id.as_deref()).unwrap_or("");
        match &self.kind {
            // Button presses and commands about one incident are ordered with that incident.
            InboundKind::Action { incident, .. } => format!("incident:{incident}"),
            _ => format!("{}:{}:{}", self.platform, self.channel, thread),
        }
    }

    /// The thread this event would open or continue.
    pub fn thread_ref(&self) -> Option<ThreadRef> {
        let thread = self.thread.clone().or_else(|| self.message_id.clone())?;
        Some(ThreadRef::new(self.platform, self.channel.clone(), thread))
    }
}

// ---------------------------------------------------------------------------
// Outbound: a platform-neutral rich message each adapter renders its own way.
// ---------------------------------------------------------------------------

/// A block of text with an optional heading. Bodies are plain text: renderers escape
/// them for their platform, so untrusted text can never ping @everyone or spoof links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    pub body: String,
}

/// A button on a card; pressing it yields `InboundKind::Action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub action: ActionKind,
    pub incident: IncidentId,
}

impl Button {
    /// The four lifecycle buttons every incident card carries.
    pub fn lifecycle(incident: IncidentId) -> Vec<Button> {
        [ActionKind::Ack, ActionKind::Escalate, ActionKind::Mitigate, ActionKind::Resolve]
            .into_iter()
            .map(|action| Button { action, incident })
            .collect()
    }
}

/// What the bot says, before any platform dialect.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RichMessage {
    /// Bold first line; empty for a plain one-line message.
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
    /// Short key/value facts shown side by side where the platform can.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    /// People to notify, from the operator's config (never from chat or alert text), in
    /// each platform's own syntax (`<@U123>`, `<@80351110224678912>`, `@alice`); an entry
    /// may start with `slack:`, `discord:` or `telegram:` to reach only that platform.
    /// Renderers put these in as written — the one part of a message that is not
    /// escaped, so a page really pings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
}

/// The mentions of `message` meant for `platform`, without their platform prefix.
///
/// An entry without a prefix goes to the platforms whose syntax it is written in
/// (`<@U123>` is Slack's, `<@80351110224678912>` Discord's, `@alice` Telegram's and the
/// console's): written into another platform's message it would ping nobody, and
/// Telegram would refuse the whole message as bad HTML — the page would not arrive.
pub fn mentions_for(mentions: &[String], platform: Platform) -> Vec<&str> {
    mentions
        .iter()
        .filter_map(|m| {
            let m = m.trim();
            match m.split_once(':') {
                Some((p, rest)) if matches!(p, "slack" | "discord" | "telegram" | "console") => {
                    (p == platform.as_str()).then_some(rest.trim())
                }
                _ => mention_fits(m, platform).then_some(m),
            }
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// Whether `mention` is written in `platform`'s mention syntax.
fn mention_fits(mention: &str, platform: Platform) -> bool {
    let inner = mention.strip_prefix('<').and_then(|m| m.strip_suffix('>'));
    let snowflake = |id: &str| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit());
    match platform {
        // <@U123>, <@W123>, <!subteam^S123>, <!here>, <!channel>
        Platform::Slack => inner.is_some_and(|i| {
            i.strip_prefix('@').is_some_and(|id| !snowflake(id) && !id.starts_with('&') && !id.is_empty())
                || i.starts_with('!')
        }),
        // <@123>, <@!123>, <@&456>
        Platform::Discord => inner
            .and_then(|i| i.strip_prefix('@'))
            .is_some_and(|id| snowflake(id.trim_start_matches(['!', '&']))),
        // @alice, or an HTML link to a user without a username
        Platform::Telegram | Platform::Console => {
            mention.starts_with('@') || mention.starts_with("<a href=\"tg://user?id=")
        }
    }
}

impl RichMessage {
    /// A one-line message.
    pub fn text(text: impl Into<String>) -> Self {
        Self { sections: vec![Section { heading: None, body: text.into() }], ..Default::default() }
    }

    pub fn with_section(mut self, heading: Option<&str>, body: impl Into<String>) -> Self {
        self.sections.push(Section { heading: heading.map(str::to_string), body: body.into() });
        self
    }

    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// Plain-text rendering: the fallback `text` of Slack messages, notifications,
    /// the console, logs.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        if !self.mentions.is_empty() {
            out.push_str(&self.mentions.join(" "));
            out.push('\n');
        }
        if !self.title.is_empty() {
            if let Some(sev) = self.severity {
                out.push_str(sev.emoji());
                out.push(' ');
            }
            out.push_str(&self.title);
            if let Some(status) = self.status {
                out.push_str(" [");
                out.push_str(status.label());
                out.push(']');
            }
            out.push('\n');
        }
        for (name, value) in &self.fields {
            out.push_str(&format!("{name}: {value}\n"));
        }
        for section in &self.sections {
            if let Some(h) = &section.heading {
                out.push_str(h);
                out.push('\n');
            }
            out.push_str(&section.body);
            out.push('\n');
        }
        if let Some(footer) = &self.footer {
            out.push_str(footer);
            out.push('\n');
        }
        out.trim_end().to_string()
    }
}

/// Cuts `s` to at most `max` characters (not bytes), marking the cut with `…`.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(1);
    let mut out: String = s.chars().take(keep).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_payload_round_trips_and_rejects_forgeries() {
        assert_eq!(ActionKind::decode(&ActionKind::Ack.encode(42)), Some((ActionKind::Ack, 42)));
        assert_eq!(ActionKind::decode("resolve:#7"), Some((ActionKind::Resolve, 7)));
        assert_eq!(ActionKind::decode("drop_tables:1"), None);
        assert_eq!(ActionKind::decode("ack:-1"), None);
        assert_eq!(ActionKind::decode("ack"), None);
    }

    #[test]
    fn alert_severity_words_map_onto_four_levels() {
        assert_eq!(Severity::from_alert_label("CRITICAL"), Some(Severity::Critical));
        assert_eq!(Severity::from_alert_label("warning"), Some(Severity::Medium));
        assert_eq!(Severity::from_alert_label("info"), Some(Severity::Low));
        assert_eq!(Severity::from_alert_label("page"), Some(Severity::Critical));
        assert_eq!(Severity::from_alert_label("whatever"), None);
    }

    #[test]
    fn mentions_are_picked_per_platform() {
        let m = vec![
            "<@U1>".to_string(),
            "slack:<!subteam^S1>".into(),
            "discord:<@42>".into(),
            "telegram:@alice".into(),
        ];
        assert_eq!(mentions_for(&m, Platform::Slack), vec!["<@U1>", "<!subteam^S1>"]);
        assert_eq!(mentions_for(&m, Platform::Discord), vec!["<@42>"]);
        assert_eq!(mentions_for(&m, Platform::Telegram), vec!["@alice"]);
        // Unprefixed entries go where their syntax belongs: a Slack mention in Telegram's
        // HTML would make Telegram refuse the page.
        let unprefixed: Vec<String> = [
            "<@U0ONCALL>",
            "<!here>",
            "<@80351110224678912>",
            "<@&555>",
            "@oncall_bob",
            "<a href=\"tg://user?id=42\">Ann</a>",
        ]
        .map(String::from)
        .into();
        assert_eq!(mentions_for(&unprefixed, Platform::Slack), vec!["<@U0ONCALL>", "<!here>"]);
        assert_eq!(mentions_for(&unprefixed, Platform::Discord), vec!["<@80351110224678912>", "<@&555>"]);
        assert_eq!(
            mentions_for(&unprefixed, Platform::Telegram),
            vec!["@oncall_bob", "<a href=\"tg://user?id=42\">Ann</a>"]
        );
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 10), "héllo");
        assert_eq!(truncate_chars("日本語のテキスト", 4), "日本語…");
    }
}
