//! `config.toml` → a typed, validated [`Config`].
//!
//! Loading happens before anything opens (STYLE rule 7): `${VAR}` and `${VAR:-default}`
//! are substituted from the environment, unknown keys and wrong types are rejected by
//! serde (`deny_unknown_fields`), then [`Config::validate`] checks values. Every error
//! names the key, and the line where the parser knows it.
//!
//! The repository's `config.toml` is the documented default and is embedded in the
//! binary, so `warroom run` works on a fresh machine with no file at all.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::model::Severity;

/// The shipped, documented defaults (the repository's `config.toml`).
pub const EMBEDDED_DEFAULT: &str = include_str!("../config.toml");

/// A secret from the environment. It never prints: `Debug` and `Display` show `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_set(&self) -> bool {
        !self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() { "Secret(***)" } else { "Secret(unset)" })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(String::deserialize(d)?))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub api: ApiConfig,
    pub webhooks: WebhooksConfig,
    pub classifier: ClassifierConfig,
    pub llm: LlmConfig,
    pub investigate: InvestigateConfig,
    pub escalation: EscalationConfig,
    pub auth: AuthConfig,
    pub outbox: OutboxConfig,
    pub slack: Option<SlackConfig>,
    pub discord: Option<DiscordConfig>,
    pub telegram: Option<TelegramConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Where the HTTP server (webhooks, API, platform callbacks) listens.
    pub listen: SocketAddr,
    /// How long shutdown may take before in-flight work is abandoned.
    pub grace_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 8080)), grace_secs: 10 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The sled database directory.
    pub path: PathBuf,
    /// How long delivery ids are remembered to drop redeliveries.
    pub dedup_ttl_hours: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { path: PathBuf::from("./data"), dedup_ttl_hours: 72 }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Bearer token for the write endpoints; unset = they refuse every call.
    pub token: Secret,
    /// Base URL the `warroom incidents` CLI talks to; default `http://<server.listen>`.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Optional bearer token Alertmanager/Grafana must send.
    pub token: Secret,
    /// HMAC secret of `/webhooks/generic`; unset = that endpoint refuses every call.
    pub generic_secret: Secret,
    /// Grafana's optional HMAC signing secret (`hmacConfig.secret`).
    pub grafana_hmac_secret: Secret,
    /// Request body cap for every webhook, in KiB.
    pub max_body_kib: usize,
    /// Severity for alerts that carry none.
    pub default_severity: Severity,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            token: Secret::default(),
            generic_secret: Secret::default(),
            grafana_hmac_secret: Secret::default(),
            max_body_kib: 1024,
            default_severity: Severity::High,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierConfig {
    /// false = every mention is investigated.
    pub enabled: bool,
    /// Ask the LLM about messages the heuristics find ambiguous.
    pub llm: bool,
    pub llm_timeout_secs: u64,
    /// An override of the LLM tier's prompt template; empty = the built-in copy of
    /// `prompts/classify.md`. A path that cannot be read is a config error (checked
    /// at load, so `warroom check` and startup both refuse it with exit 64) rather
    /// than a silent fallback to the built-in prompt.
    pub prompt: PathBuf,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self { enabled: true, llm: true, llm_timeout_secs: 5, prompt: PathBuf::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    Anthropic,
    Openai,
    #[default]
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    pub provider: LlmProvider,
    /// Empty = the provider's public endpoint.
    pub base_url: String,
    pub model: String,
    pub api_key: Secret,
    pub timeout_secs: u64,
    pub max_tokens: u32,
    pub input_price_per_mtok: f64,
    pub output_price_per_mtok: f64,
    /// How many times a 429/529/5xx is retried.
    pub max_retries: u32,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            provider: LlmProvider::None,
            base_url: String::new(),
            model: String::new(),
            api_key: Secret::default(),
            timeout_secs: 30,
            max_tokens: 1024,
            input_price_per_mtok: 0.0,
            output_price_per_mtok: 0.0,
            max_retries: 2,
        }
    }
}

impl LlmConfig {
    pub fn is_configured(&self) -> bool {
        self.provider != LlmProvider::None
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvestigateConfig {
    /// false = incidents open without gathering context or posting a plan.
    pub enabled: bool,
    /// Every source's own timeout, unless it sets one.
    pub source_timeout_secs: u64,
    /// The whole investigation (sources + plan) must finish within this.
    pub deadline_secs: u64,
    /// Each source's output is trimmed to this many characters before the LLM sees it.
    pub max_source_chars: usize,
    /// An override of the plan's prompt template; empty = the built-in copy of
    /// `prompts/plan.md`. A path that cannot be read is a config error, like
    /// `classifier.prompt`.
    pub prompt: PathBuf,
    pub sources: Vec<SourceConfig>,
}

impl Default for InvestigateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            source_timeout_secs: 8,
            deadline_secs: 30,
            max_source_chars: 4000,
            prompt: PathBuf::new(),
            sources: vec![
                SourceConfig::Runbooks { name: None, dir: PathBuf::from("runbooks"), timeout_secs: None },
                SourceConfig::PastIncidents { name: None, limit: 3, timeout_secs: None },
            ],
        }
    }
}

/// One context source (DESIGN.md "investigator").
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    Runbooks {
        name: Option<String>,
        dir: PathBuf,
        timeout_secs: Option<u64>,
    },
    PastIncidents {
        name: Option<String>,
        #[serde(default = "default_past_limit")]
        limit: usize,
        timeout_secs: Option<u64>,
    },
    Http {
        name: Option<String>,
        /// `{{label}}`, `{{title}}`, `{{severity}}` are filled from the incident.
        url: String,
        /// Dotted path into a JSON answer (`status.indicator`); empty = trimmed body.
        #[serde(default)]
        json_path: String,
        /// Request headers (e.g. `Authorization`); values are secrets: never logged,
        /// redacted from what reaches the LLM.
        #[serde(default)]
        headers: BTreeMap<String, Secret>,
        timeout_secs: Option<u64>,
    },
    Prometheus {
        name: Option<String>,
        base_url: String,
        /// name → PromQL, templated like `http.url`.
        queries: BTreeMap<String, String>,
        #[serde(default)]
        headers: BTreeMap<String, Secret>,
        timeout_secs: Option<u64>,
    },
    ChannelHistory {
        name: Option<String>,
        #[serde(default = "default_history_limit")]
        limit: usize,
        timeout_secs: Option<u64>,
    },
    Deploys {
        name: Option<String>,
        url: String,
        #[serde(default)]
        headers: BTreeMap<String, Secret>,
        #[serde(default = "default_deploys_limit")]
        limit: usize,
        timeout_secs: Option<u64>,
    },
}

fn default_past_limit() -> usize {
    3
}
fn default_history_limit() -> usize {
    20
}
fn default_deploys_limit() -> usize {
    5
}

impl SourceConfig {
    /// The name shown in progress messages and the timeline.
    pub fn name(&self) -> String {
        let (name, kind) = match self {
            Self::Runbooks { name, .. } => (name, "runbooks"),
            Self::PastIncidents { name, .. } => (name, "past_incidents"),
            Self::Http { name, .. } => (name, "http"),
            Self::Prometheus { name, .. } => (name, "prometheus"),
            Self::ChannelHistory { name, .. } => (name, "channel_history"),
            Self::Deploys { name, .. } => (name, "deploys"),
        };
        name.clone().unwrap_or_else(|| kind.to_string())
    }

    pub fn timeout_secs(&self) -> Option<u64> {
        match self {
            Self::Runbooks { timeout_secs, .. }
            | Self::PastIncidents { timeout_secs, .. }
            | Self::Http { timeout_secs, .. }
            | Self::Prometheus { timeout_secs, .. }
            | Self::ChannelHistory { timeout_secs, .. }
            | Self::Deploys { timeout_secs, .. } => *timeout_secs,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationConfig {
    /// Who is paged when an incident opens (mentions in the platform's syntax, e.g. `<@U123>`).
    pub page: Vec<String>,
    /// Steps that fire one after another while nobody acknowledges.
    pub steps: Vec<EscalationStep>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// Minutes after the previous step (or the opening) without acknowledgement.
    pub after_mins: u64,
    pub notify: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Who may press lifecycle buttons and run write commands, as `platform:user_id`
    /// (`slack:U123`, `discord:42`, `telegram:1001`). Empty = anyone who can see the card.
    pub responders: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// First retry delay after a 5xx/transport error; doubles up to `max_backoff_secs`.
    pub initial_backoff_ms: u64,
    pub max_backoff_secs: u64,
    /// Messages a channel may receive in a burst before pacing kicks in (Slack, console).
    pub channel_burst: u32,
    /// Steady pace per channel after the burst, in milliseconds per message.
    pub channel_interval_ms: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self { initial_backoff_ms: 500, max_backoff_secs: 300, channel_burst: 5, channel_interval_ms: 1000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SlackMode {
    #[default]
    Socket,
    Http,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    pub bot_token: Secret,
    pub app_token: Secret,
    pub signing_secret: Secret,
    pub mode: SlackMode,
    pub api_url: String,
    /// Default channel for webhook alerts.
    pub alert_channel: String,
    /// Per-severity override of `alert_channel`.
    pub severity_channels: BTreeMap<Severity, String>,
    /// Socket-mode connections kept open (Slack allows up to 10; two survive a refresh).
    pub socket_connections: u32,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            bot_token: Secret::default(),
            app_token: Secret::default(),
            signing_secret: Secret::default(),
            mode: SlackMode::Socket,
            api_url: "https://slack.com/api".to_string(),
            alert_channel: String::new(),
            severity_channels: BTreeMap::new(),
            socket_connections: 2,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    pub token: Secret,
    pub application_id: String,
    /// Hex ed25519 public key of the application, for `/discord/interactions`.
    pub public_key: String,
    pub api_url: String,
    pub guild_id: String,
    /// Channels whose every message is classified.
    pub alert_channels: Vec<String>,
    /// Where webhook alerts are posted (a thread is opened on each).
    pub notify_channel: String,
    /// Connect to the gateway (false = HTTP interactions only).
    pub gateway: bool,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            token: Secret::default(),
            application_id: String::new(),
            public_key: String::new(),
            api_url: "https://discord.com".to_string(),
            guild_id: String::new(),
            alert_channels: Vec::new(),
            notify_channel: String::new(),
            gateway: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    #[default]
    Polling,
    Webhook,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    pub token: Secret,
    pub api_url: String,
    pub mode: TelegramMode,
    pub webhook_secret: Secret,
    /// Chat for webhook alerts.
    pub alert_chat: String,
    /// Per-severity override of `alert_chat`.
    pub severity_chats: BTreeMap<Severity, String>,
    /// Only these chats are served (empty = any chat the bot is in).
    pub allowed_chats: Vec<String>,
    /// Long-poll timeout; teloxide's HTTP client gives up after 17 s, so keep it below.
    pub poll_timeout_secs: u32,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            token: Secret::default(),
            api_url: "https://api.telegram.org".to_string(),
            mode: TelegramMode::Polling,
            webhook_secret: Secret::default(),
            alert_chat: String::new(),
            severity_chats: BTreeMap::new(),
            allowed_chats: Vec::new(),
            poll_timeout_secs: 10,
        }
    }
}

/// Every reason a config was refused, each naming its key.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub origin: String,
    pub errors: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {e}", self.origin)?;
        }
        Ok(())
    }
}

impl Config {
    /// Loads `path`, or `./config.toml` when it exists, or the embedded default.
    /// Returns the config and where it came from.
    pub fn load(path: Option<&Path>) -> Result<(Config, String), ConfigError> {
        let (text, origin) = match path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(t) => (t, p.display().to_string()),
                Err(e) => {
                    return Err(ConfigError {
                        origin: p.display().to_string(),
                        errors: vec![format!("cannot read the file: {e}")],
                    })
                }
            },
            None if Path::new("config.toml").exists() => match std::fs::read_to_string("config.toml") {
                Ok(t) => (t, "config.toml".to_string()),
                Err(e) => {
                    return Err(ConfigError {
                        origin: "config.toml".into(),
                        errors: vec![format!("cannot read the file: {e}")],
                    })
                }
            },
            None => (EMBEDDED_DEFAULT.to_string(), "<embedded default config>".to_string()),
        };
        let config = Self::parse(&text, &origin, &|name| std::env::var(name).ok())?;
        Ok((config, origin))
    }

    /// Substitutes the environment, parses and validates.
    pub fn parse(
        text: &str,
        origin: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let fail = |errors| ConfigError { origin: origin.to_string(), errors };
        let text = substitute_env(text, env).map_err(|e| fail(vec![e]))?;
        let config: Config = toml::from_str(&text).map_err(|e| fail(vec![describe_toml_error(&text, &e)]))?;
        let errors = config.validate();
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(fail(errors))
        }
    }

    /// Value checks serde cannot express. Each message starts with the key.
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, msg: String| {
            if !ok {
                errors.push(msg);
            }
        };
        check(self.server.grace_secs > 0, "server.grace_secs: must be at least 1".into());
        check(!self.storage.path.as_os_str().is_empty(), "storage.path: must name a directory".into());
        check(self.storage.dedup_ttl_hours > 0, "storage.dedup_ttl_hours: must be at least 1".into());
        check(
            (1..=64 * 1024).contains(&self.webhooks.max_body_kib),
            "webhooks.max_body_kib: must be between 1 and 65536".into(),
        );
        if let Some(url) = &self.api.url {
            check(
                url.starts_with("http://") || url.starts_with("https://"),
                format!("api.url: `{url}` is not an http(s) URL"),
            );
        }
        check(
            (1..=120).contains(&self.classifier.llm_timeout_secs),
            "classifier.llm_timeout_secs: must be between 1 and 120".into(),
        );
        for (key, prompt) in
            [("classifier.prompt", &self.classifier.prompt), ("investigate.prompt", &self.investigate.prompt)]
        {
            if !prompt.as_os_str().is_empty() {
                let path = prompt.display();
                match std::fs::read_to_string(prompt) {
                    Ok(text) => check(!text.trim().is_empty(), format!("{key}: `{path}` is empty")),
                    Err(e) => check(false, format!("{key}: cannot read `{path}`: {e}")),
                }
            }
        }
        if self.llm.is_configured() {
            check(!self.llm.model.trim().is_empty(), "llm.model: required when llm.provider is set".into());
            check(self.llm.max_tokens > 0, "llm.max_tokens: must be at least 1".into());
            check(self.llm.timeout_secs > 0, "llm.timeout_secs: must be at least 1".into());
            check(
                self.llm.input_price_per_mtok >= 0.0 && self.llm.output_price_per_mtok >= 0.0,
                "llm.input_price_per_mtok / llm.output_price_per_mtok: must not be negative".into(),
            );
            if !self.llm.base_url.is_empty() {
                check(
                    self.llm.base_url.starts_with("http://") || self.llm.base_url.starts_with("https://"),
                    format!("llm.base_url: `{}` is not an http(s) URL", self.llm.base_url),
                );
            }
        }
        check(
            self.investigate.source_timeout_secs > 0,
            "investigate.source_timeout_secs: must be at least 1".into(),
        );
        check(self.investigate.deadline_secs > 0, "investigate.deadline_secs: must be at least 1".into());
        check(
            self.investigate.max_source_chars >= 200,
            "investigate.max_source_chars: must be at least 200".into(),
        );
        let mut names = std::collections::BTreeSet::new();
        for (i, source) in self.investigate.sources.iter().enumerate() {
            let key = format!("investigate.sources[{i}]");
            check(names.insert(source.name()), format!("{key}.name: `{}` is used twice", source.name()));
            match source {
                SourceConfig::Http { url, .. } | SourceConfig::Deploys { url, .. } => {
                    check(
                        url.starts_with("http://") || url.starts_with("https://"),
                        format!("{key}.url: `{url}` is not an http(s) URL"),
                    );
                    check(
                        !authority_is_templated(url),
                        format!("{key}.url: `{{{{…}}}}` placeholders may only follow the host: an alert's labels must not choose where warroom connects"),
                    );
                }
                SourceConfig::Prometheus { base_url, queries, .. } => {
                    check(
                        base_url.starts_with("http://") || base_url.starts_with("https://"),
                        format!("{key}.base_url: `{base_url}` is not an http(s) URL"),
                    );
                    check(
                        !base_url.contains("{{"),
                        format!("{key}.base_url: placeholders are not allowed here (template the queries)"),
                    );
                    check(!queries.is_empty(), format!("{key}.queries: give at least one query"));
                }
                _ => {}
            }
        }
        for (i, step) in self.escalation.steps.iter().enumerate() {
            check(step.after_mins > 0, format!("escalation.steps[{i}].after_mins: must be at least 1"));
            check(!step.notify.is_empty(), format!("escalation.steps[{i}].notify: name at least one person"));
        }
        for (i, r) in self.auth.responders.iter().enumerate() {
            check(
                r.split_once(':').is_some_and(|(p, id)| !p.is_empty() && !id.is_empty()),
                format!("auth.responders[{i}]: `{r}` must look like `platform:user_id`"),
            );
        }
        check(self.outbox.initial_backoff_ms > 0, "outbox.initial_backoff_ms: must be at least 1".into());
        check(self.outbox.max_backoff_secs > 0, "outbox.max_backoff_secs: must be at least 1".into());
        check(self.outbox.channel_burst > 0, "outbox.channel_burst: must be at least 1".into());
        if let Some(slack) = &self.slack {
            check(
                slack.api_url.starts_with("http://") || slack.api_url.starts_with("https://"),
                format!("slack.api_url: `{}` is not an http(s) URL", slack.api_url),
            );
            check(!slack.api_url.ends_with('/'), "slack.api_url: drop the trailing `/`".into());
            check(
                (1..=10).contains(&slack.socket_connections),
                "slack.socket_connections: must be between 1 and 10".into(),
            );
            if slack.bot_token.is_set() {
                match slack.mode {
                    SlackMode::Socket => check(
                        slack.app_token.is_set(),
                        "slack.app_token: socket mode needs an app-level token (xapp-…)".into(),
                    ),
                    SlackMode::Http => check(
                        slack.signing_secret.is_set(),
                        "slack.signing_secret: HTTP mode needs the signing secret".into(),
                    ),
                }
            }
        }
        if let Some(discord) = &self.discord {
            // serenity appends `/api/v10/...` to this base, and only the exact production
            // base keeps its rate limiter on: a path or query here would silently be
            // treated as a proxy.
            let base = url::Url::parse(discord.api_url.trim()).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
                    && u.path() == "/"
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty()
                    && u.password().is_none()
            });
            check(
                base.is_some(),
                format!(
                    "discord.api_url: `{}` must be a scheme and host only, like https://discord.com (no path)",
                    discord.api_url
                ),
            );
            if !discord.public_key.is_empty() {
                check(
                    discord.public_key.len() == 64 && hex::decode(&discord.public_key).is_ok(),
                    "discord.public_key: must be the 64-hex-digit application public key".into(),
                );
            }
            for (key, value) in
                [("discord.application_id", &discord.application_id), ("discord.guild_id", &discord.guild_id)]
            {
                check(
                    value.is_empty() || value.parse::<u64>().is_ok(),
                    format!("{key}: `{value}` is not a Discord id (digits)"),
                );
            }
            for (i, c) in discord.alert_channels.iter().enumerate() {
                check(
                    c.parse::<u64>().is_ok(),
                    format!("discord.alert_channels[{i}]: `{c}` is not a channel id"),
                );
            }
            if discord.token.is_set() {
                check(
                    !discord.application_id.is_empty(),
                    "discord.application_id: required with a token (slash commands are registered under it)"
                        .into(),
                );
            }
        }
        if let Some(tg) = &self.telegram {
            check(
                tg.api_url.starts_with("http://") || tg.api_url.starts_with("https://"),
                format!("telegram.api_url: `{}` is not an http(s) URL", tg.api_url),
            );
            check(
                (1..=16).contains(&tg.poll_timeout_secs),
                "telegram.poll_timeout_secs: must be between 1 and 16 (teloxide's client gives up after 17 s)".into(),
            );
            if tg.token.is_set() && tg.mode == TelegramMode::Webhook {
                let s = tg.webhook_secret.expose();
                check(
                    (1..=256).contains(&s.len())
                        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                    "telegram.webhook_secret: webhook mode needs 1-256 characters of A-Z a-z 0-9 _ -".into(),
                );
            }
            for (i, c) in tg.allowed_chats.iter().enumerate() {
                check(
                    c.parse::<i64>().is_ok(),
                    format!("telegram.allowed_chats[{i}]: `{c}` is not a chat id"),
                );
            }
            // Alerts are posted with these as `chat_id`, which must be the number (groups
            // are negative, like -1001234567890); a mistake would only show as dead
            // letters when the first alert fires.
            let chat_id = |c: &str| c.trim().parse::<i64>().is_ok_and(|id| id != 0);
            check(
                tg.alert_chat.trim().is_empty() || chat_id(&tg.alert_chat),
                format!(
                    "telegram.alert_chat: `{}` is not a chat id (a number like -1001234567890)",
                    tg.alert_chat
                ),
            );
            for (severity, c) in &tg.severity_chats {
                check(
                    chat_id(c),
                    format!(
                        "telegram.severity_chats.{severity}: `{c}` is not a chat id (a number like -1001234567890)"
                    ),
                );
            }
        }
        errors
    }

    /// The URL the CLI uses to reach a running daemon.
    pub fn api_url(&self) -> String {
        self.api.url.clone().unwrap_or_else(|| format!("http://{}", self.server.listen))
    }

    /// Every configured secret, for literal redaction before text goes to an LLM or a log.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = vec![
            self.api.token.expose().to_string(),
            self.webhooks.token.expose().to_string(),
            self.webhooks.generic_secret.expose().to_string(),
            self.webhooks.grafana_hmac_secret.expose().to_string(),
            self.llm.api_key.expose().to_string(),
        ];
        if let Some(s) = &self.slack {
            out.extend(
                [s.bot_token.expose(), s.app_token.expose(), s.signing_secret.expose()].map(str::to_string),
            );
        }
        if let Some(d) = &self.discord {
            out.push(d.token.expose().to_string());
        }
        if let Some(t) = &self.telegram {
            out.extend([t.token.expose(), t.webhook_secret.expose()].map(str::to_string));
        }
        for source in &self.investigate.sources {
            if let SourceConfig::Http { headers, .. }
            | SourceConfig::Prometheus { headers, .. }
            | SourceConfig::Deploys { headers, .. } = source
            {
                for value in headers.values() {
                    out.push(value.expose().to_string());
                    // `Bearer xyz`: the token alone may show up elsewhere too.
                    if let Some((_, token)) = value.expose().split_once(' ') {
                        out.push(token.trim().to_string());
                    }
                }
            }
        }
        out.retain(|s| s.trim().len() >= 6);
        out
    }
}

/// Whether a URL template has a placeholder before its path (in the scheme, host or
/// port), where a label value would pick the server warroom connects to.
fn authority_is_templated(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    url.split("://").next().is_some_and(|scheme| scheme.contains("{{")) || authority.contains("{{")
}

/// Replaces `${VAR}` and `${VAR:-default}` with values from `env`. An unset variable
/// without a default becomes empty (so an unset token disables its platform); `$${`
/// writes a literal `${`. Comments are left alone. Values are escaped for TOML basic
/// strings, so a secret with a quote or backslash cannot break the file.
pub fn substitute_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let (code, comment) = line.split_at(comment_start(line));
        out.push_str(&substitute_line(code, index + 1, env)?);
        out.push_str(comment);
    }
    Ok(out)
}

/// Byte offset of a line's `#` comment (outside any string), or the line's length.
fn comment_start(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return i,
            _ => {}
        }
        escaped = false;
    }
    line.len()
}

fn substitute_line(code: &str, line: usize, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(code.len());
    // Which string the scan is in decides how a value is written: escaped inside
    // "basic" strings, as is inside 'literal' strings (which have no escapes, so a
    // value that would end or break one is refused) and outside strings.
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut chars = code.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '$' && code[i..].starts_with("$${") {
            out.push_str("${");
            chars.next();
            chars.next();
            escaped = false;
            continue;
        }
        if c == '$' && code[i..].starts_with("${") {
            let after = &code[i..];
            let Some(end) = after.find('}') else {
                return Err(format!("line {line}: `${{` without a closing `}}`"));
            };
            let inner = &after[2..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("line {line}: `${{{inner}}}` is not a valid variable reference"));
            }
            let value = match env(name) {
                Some(v) if !v.is_empty() => v,
                _ => {
                    // A default is part of the file: the author already wrote it for
                    // the string it stands in.
                    out.push_str(default.unwrap_or(""));
                    skip_reference(&mut chars, i + end);
                    escaped = false;
                    continue;
                }
            };
            match quote {
                Some('"') => {
                    for c in value.chars() {
                        match c {
                            '"' => out.push_str("\\\""),
                            '\\' => out.push_str("\\\\"),
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            '\t' => out.push_str("\\t"),
                            c => out.push(c),
                        }
                    }
                }
                Some(_) if value.contains(['\'', '\n', '\r']) => {
                    return Err(format!(
                        "line {line}: the value of `${{{name}}}` contains a quote or a line break, which a '…' string cannot hold; use a \"…\" string"
                    ));
                }
                _ => out.push_str(&value),
            }
            skip_reference(&mut chars, i + end);
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                out.push(c);
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            _ => {}
        }
        escaped = false;
        out.push(c);
    }
    Ok(out)
}

/// Moves `chars` past a `${…}` reference whose `}` is at byte `end`.
fn skip_reference(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, end: usize) {
    while chars.peek().is_some_and(|(j, _)| *j <= end) {
        chars.next();
    }
}

/// Turns a toml/serde error into `line N: section.key: message`.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().to_string();
    let Some(span) = err.span() else {
        return message;
    };
    let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    // Name the key: the table header above the error plus the key on the error's line.
    let section = text.lines().take(line_no).collect::<Vec<_>>().iter().rev().find_map(|l| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']')).then(|| l.trim_matches(|c| c == '[' || c == ']').to_string())
    });
    let key = line.split('=').next().map(str::trim).filter(|k| !k.is_empty() && !k.starts_with('['));
    let name = match (section, key) {
        (Some(s), Some(k)) => format!("{s}.{k}"),
        (None, Some(k)) => k.to_string(),
        (Some(s), None) => s,
        (None, None) => String::new(),
    };
    if name.is_empty() {
        format!("line {line_no}: {message}")
    } else {
        format!("line {line_no}: {name}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "test.toml", &env(&[]))
    }

    #[test]
    fn the_shipped_config_is_valid_without_any_environment() {
        let config = parse(EMBEDDED_DEFAULT).expect("embedded config.toml must be valid");
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.storage.path, PathBuf::from("./data"));
        assert!(!config.slack.as_ref().unwrap().bot_token.is_set());
        assert!(!config.llm.is_configured());
    }

    #[test]
    fn a_classifier_prompt_override_must_be_readable() {
        assert!(parse("").unwrap().classifier.prompt.as_os_str().is_empty(), "unset = built-in prompt");
        let msg = parse("[classifier]\nprompt = \"/nonexistent/classify.md\"\n").unwrap_err().to_string();
        assert!(msg.contains("classifier.prompt") && msg.contains("/nonexistent/classify.md"), "{msg}");
        let msg = parse("[investigate]\nprompt = \"/nonexistent/plan.md\"\n").unwrap_err().to_string();
        assert!(msg.contains("investigate.prompt"), "{msg}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.md");
        std::fs::write(&empty, " \n").unwrap();
        let msg = parse(&format!("[classifier]\nprompt = {:?}\n", empty)).unwrap_err().to_string();
        assert!(msg.contains("classifier.prompt") && msg.contains("is empty"), "{msg}");
        let good = dir.path().join("classify.md");
        std::fs::write(&good, "You classify messages.").unwrap();
        assert_eq!(parse(&format!("[classifier]\nprompt = {:?}\n", good)).unwrap().classifier.prompt, good);
    }

    #[test]
    fn env_substitution_with_defaults_and_escaping() {
        let e = env(&[("TOKEN", "xoxb-1\"2\\3"), ("EMPTY", "")]);
        let out = substitute_env("# ${NOT} a var\na = \"${TOKEN}\" # ${X}\nb = \"${MISSING:-x:y}\"\nc = \"${EMPTY:-d}\"\nd = \"$${LIT}\"", &e).unwrap();
        assert_eq!(
            out,
            "# ${NOT} a var\na = \"xoxb-1\\\"2\\\\3\" # ${X}\nb = \"x:y\"\nc = \"d\"\nd = \"${LIT}\""
        );
        let config = Config::parse("[api]\ntoken = \"${TOKEN}\"\n", "t", &e).unwrap();
        assert_eq!(config.api.token.expose(), "xoxb-1\"2\\3");
        assert!(substitute_env("a = \"${BROKEN\"", &e).unwrap_err().contains("line 1"));
        assert!(substitute_env("\n\na = \"${bad name}\"", &e).unwrap_err().contains("line 3"));
    }

    #[test]
    fn env_values_in_literal_strings_are_written_as_they_are() {
        let e = env(&[("PW", "p\\w"), ("QUOTED", "it's"), ("PORT", "8080")]);
        let config = Config::parse("[api]\ntoken = '${PW}'\n", "t", &e).unwrap();
        assert_eq!(config.api.token.expose(), "p\\w", "no escaping inside '…'");
        let err = substitute_env("[api]\ntoken = '${QUOTED}'", &e).unwrap_err();
        assert!(err.contains("line 2") && err.contains("use a \"…\" string"), "{err}");
        // A reference after a string on the same line is outside it.
        assert_eq!(substitute_env("a = ['x', \"${QUOTED}\"]", &e).unwrap(), "a = ['x', \"it's\"]");
        assert_eq!(substitute_env("n = ${PORT}", &e).unwrap(), "n = 8080");
        // A default is written as it stands in the file, not escaped a second time.
        let config = Config::parse("[storage]\npath = \"${UNSET:-C:\\\\data}\"\n", "t", &e).unwrap();
        assert_eq!(config.storage.path, std::path::PathBuf::from("C:\\data"));
    }

    #[test]
    fn a_misspelled_key_is_named_with_its_line() {
        let err = parse("[server]\nlisten = \"127.0.0.1:9000\"\nlistne = \"x\"\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("server.listne"), "{msg}");
        assert!(msg.contains("unknown field"), "{msg}");
    }

    #[test]
    fn an_unknown_section_and_a_wrong_type_are_named() {
        let msg = parse("[slakc]\nbot_token = \"x\"\n").unwrap_err().to_string();
        assert!(msg.contains("slakc"), "{msg}");
        let msg = parse("[server]\ngrace_secs = \"ten\"\n").unwrap_err().to_string();
        assert!(msg.contains("server.grace_secs") && msg.contains("line 2"), "{msg}");
        let msg = parse("[server]\nlisten = \"not an address\"\n").unwrap_err().to_string();
        assert!(msg.contains("server.listen"), "{msg}");
        let msg = parse("[slack]\nmode = \"carrier-pigeon\"\n").unwrap_err().to_string();
        assert!(msg.contains("slack.mode"), "{msg}");
    }

    #[test]
    fn invalid_values_are_each_reported_by_key() {
        let err = parse(
            "[llm]\nprovider = \"anthropic\"\n[classifier]\nllm_timeout_secs = 0\n\
             [telegram]\ntoken = \"1:abc\"\nmode = \"webhook\"\nwebhook_secret = \"has space\"\n\
             [auth]\nresponders = [\"alice\"]\n[[escalation.steps]]\nafter_mins = 0\nnotify = []\n",
        )
        .unwrap_err();
        let all = err.errors.join("\n");
        for key in [
            "llm.model",
            "classifier.llm_timeout_secs",
            "telegram.webhook_secret",
            "auth.responders[0]",
            "escalation.steps[0].after_mins",
            "escalation.steps[0].notify",
        ] {
            assert!(all.contains(key), "missing {key} in:\n{all}");
        }
    }

    #[test]
    fn telegram_alert_chats_must_be_chat_ids() {
        let err = parse(
            "[telegram]\nalert_chat = \"#ops\"\n[telegram.severity_chats]\ncritical = \"@oncall\"\nlow = \"-1001\"\n",
        )
        .unwrap_err();
        let all = err.errors.join("\n");
        for key in ["telegram.alert_chat: `#ops`", "telegram.severity_chats.critical: `@oncall`"] {
            assert!(all.contains(key), "missing {key} in:\n{all}");
        }
        assert!(!all.contains("severity_chats.low"), "{all}");
        assert!(parse("[telegram]\nalert_chat = \"-1001\"\n").is_ok());
    }

    #[test]
    fn sources_are_typed_and_unknown_source_keys_rejected() {
        let config = parse(
            "[investigate]\n[[investigate.sources]]\ntype = \"http\"\nname = \"health\"\nurl = \"http://127.0.0.1:1/h\"\njson_path = \"status\"\n",
        )
        .unwrap();
        assert_eq!(config.investigate.sources.len(), 1);
        assert_eq!(config.investigate.sources[0].name(), "health");
        let msg = parse("[[investigate.sources]]\ntype = \"http\"\nurl = \"http://x\"\nurll = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("urll"), "{msg}");
        let msg = parse("[[investigate.sources]]\ntype = \"ouija\"\n").unwrap_err().to_string();
        assert!(msg.contains("ouija"), "{msg}");
        // Labels may fill in a path or a query, never the host.
        let msg = parse("[[investigate.sources]]\ntype = \"http\"\nurl = \"http://{{instance}}/health\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("investigate.sources[0].url") && msg.contains("only follow the host"), "{msg}");
        assert!(parse("[[investigate.sources]]\ntype = \"http\"\nurl = \"https://status.example.com/{{service}}?q={{title}}\"\n").is_ok());
        // Header values are secrets: redacted, and never printed.
        let config = parse("[[investigate.sources]]\ntype = \"deploys\"\nurl = \"https://api.example.com/d\"\nheaders = { Authorization = \"Bearer ghp_supersecret\" }\n").unwrap();
        assert!(config.secrets().contains(&"ghp_supersecret".to_string()));
        assert!(!format!("{config:?}").contains("ghp_supersecret"));
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("xoxb-very-secret");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("very"));
        let config = Config::parse(
            "[slack]\nbot_token = \"${T}\"\napp_token = \"xapp-1-A1-1-x\"\n",
            "t",
            &env(&[("T", "xoxb-123456")]),
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("xoxb-123456"));
        assert!(config.secrets().contains(&"xoxb-123456".to_string()));
    }

    #[test]
    fn the_discord_base_url_is_a_scheme_and_a_host() {
        for good in ["https://discord.com", "https://discord.com/", "http://127.0.0.1:8081"] {
            assert!(parse(&format!("[discord]\napi_url = \"{good}\"\n")).is_ok(), "{good}");
        }
        for bad in
            ["discord.com", "https://discord.com/api/v10", "https://discord.com?x=1", "ftp://discord.com"]
        {
            let err = parse(&format!("[discord]\napi_url = \"{bad}\"\n")).unwrap_err();
            assert!(err.errors.iter().any(|e| e.starts_with("discord.api_url:")), "{bad}: {err}");
        }
    }
}
