//! Wiring and lifecycle: build every component from a validated [`Config`], start the
//! tasks, and shut down in order (STYLE rule 6):
//!
//! cancel → adapters stop reading, HTTP stops accepting → workers finish the event in
//! hand → outbox makes a last pass → sled flush → exit, all within `server.grace_secs`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::classify::Classifier;
use crate::config::Config;
use crate::engine::{AlertRoutes, Engine};
use crate::intake::Intake;
use crate::outbox::{OutboxSignal, OutboxWorker};
use crate::platforms::{ChatPlatform, InboundContext, Platforms};
use crate::store::{SledStore, Store};

/// What each enabled chat platform is doing, for `/readyz` and `/metrics`: a platform
/// whose connection failed for good (a refused token, a disallowed intent) must be
/// visible to the operator, not only as one log line.
#[derive(Default)]
pub struct PlatformHealth {
    platforms: Platforms,
    /// Inbound loops that ended with an error (nothing is received until a restart).
    ended: std::sync::Mutex<std::collections::BTreeMap<crate::model::Platform, String>>,
}

/// One platform's state in [`PlatformHealth::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformState {
    pub platform: crate::model::Platform,
    /// Why it stopped receiving, if it did.
    pub failed: Option<String>,
    /// Events it received but could not store (lost: the platform will not resend them).
    pub lost_events: u64,
}

impl PlatformHealth {
    pub fn new(platforms: Platforms) -> Self {
        Self { platforms, ended: Default::default() }
    }

    pub fn failed(&self, platform: crate::model::Platform, reason: String) {
        self.ended.lock().unwrap_or_else(|p| p.into_inner()).insert(platform, reason);
    }

    /// Every enabled platform, what it reports itself and how its inbound loop ended.
    pub fn snapshot(&self) -> Vec<PlatformState> {
        let ended = self.ended.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.platforms
            .all()
            .iter()
            .map(|p| {
                let health = p.health();
                PlatformState {
                    platform: p.platform(),
                    failed: health.failed.or_else(|| ended.get(&p.platform()).cloned()),
                    lost_events: health.lost_events,
                }
            })
            .collect()
    }
}

/// How the process is run.
pub struct Options {
    pub config: Config,
    /// Bind the HTTP server (false for `warroom console`).
    pub http: bool,
    /// Use an in-memory database instead of `storage.path`.
    pub temporary_store: bool,
    /// Platforms built by the caller (the console), added to those from the config.
    pub extra_platforms: Vec<Arc<dyn ChatPlatform>>,
}

/// A started daemon.
pub struct Running {
    /// Where the HTTP server listens (with port 0 resolved).
    pub addr: Option<SocketAddr>,
    pub engine: Arc<Engine>,
    pub platforms: Platforms,
    pub intake: Intake,
    pub health: Arc<PlatformHealth>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    ready: Arc<AtomicBool>,
    grace: Duration,
    /// Tasks that end on their own (the console's stdin loop) cancel this.
    pub inbound_done: CancellationToken,
}

/// Builds everything and starts the tasks. The config must already be validated.
pub async fn start(options: Options) -> anyhow::Result<Running> {
    let Options { config, http, temporary_store, extra_platforms } = options;
    let config = Arc::new(config);
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();

    let store: Arc<dyn Store> = if temporary_store {
        Arc::new(SledStore::temporary()?)
    } else {
        Arc::new(SledStore::open(&config.storage.path)?)
    };
    tracing::info!(path = %config.storage.path.display(), temporary = temporary_store, "storage open");

    // Claim the port before any worker starts: if it is taken, nothing has been sent
    // (no escalation fired, no message posted) when we exit.
    let listener = if http {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {} (server.listen)", config.server.listen))?;
        Some(listener)
    } else {
        None
    };

    let secrets = config.secrets();
    let llm = crate::llm::from_config(&config.llm, crate::llm::redact::Redactor::new(secrets));
    match &llm {
        Some(client) => tracing::info!(model = client.model(), "LLM configured"),
        None => tracing::info!("no LLM configured: heuristics gate messages and plans are rule-based"),
    }
    let classify_prompt = load_prompt(&config.classifier.prompt, crate::classify::BUILTIN_PROMPT);
    let classifier = Arc::new(Classifier::new(
        &config.classifier,
        if config.classifier.llm { llm.clone() } else { None },
        classify_prompt,
    ));

    // Platforms: those with credentials, plus the caller's.
    let mut platforms = Platforms::default();
    for p in crate::platforms::from_config(&config)?.into_iter().chain(extra_platforms) {
        platforms.add(p);
    }
    let mut routes = AlertRoutes::default();
    for platform in platforms.all() {
        if let Some(route) = platform.alert_route() {
            routes.add(platform.platform(), &route.default, &route.by_severity);
        }
    }

    let chat_enabled = platforms.all().iter().any(|p| p.platform() != crate::model::Platform::Console);
    if routes.is_empty() && chat_enabled && http {
        tracing::warn!("webhook alerts open incidents but are posted nowhere: set slack.alert_channel, discord.notify_channel or telegram.alert_chat");
    }

    let outbox_signal = OutboxSignal::default();
    let engine =
        Arc::new(Engine::new(store.clone(), config.clone(), classifier, routes, outbox_signal.clone()));

    let intake = Intake::start(
        store.clone(),
        chrono::Duration::hours(config.storage.dedup_ttl_hours as i64),
        engine.clone(),
        &tracker,
        shutdown.clone(),
    );

    crate::investigate::start(&engine, &platforms, llm.clone(), &tracker, shutdown.clone())?;

    for platform in platforms.all() {
        tracker.spawn(
            OutboxWorker {
                store: store.clone(),
                platform: platform.clone(),
                config: config.outbox.clone(),
                signal: outbox_signal.clone(),
                pace: platform.needs_pacing(),
            }
            .run(shutdown.clone()),
        );
    }
    spawn_timers(&tracker, engine.clone(), shutdown.clone());
    spawn_sweeper(&tracker, store.clone(), shutdown.clone());

    // Events stored before the last stop go first, before the HTTP routes can store new
    // ones (which replay would otherwise hand on a second time).
    intake.replay().await?;

    let ready = Arc::new(AtomicBool::new(false));
    let health = Arc::new(PlatformHealth::new(platforms.clone()));
    let addr = if let Some(listener) = listener {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() && !config.webhooks.token.is_set() {
            tracing::warn!(%addr, "listening on a non-loopback address without webhooks.token: anyone who can reach this port can open incidents");
        }
        let state =
            crate::http::HttpState { engine: engine.clone(), ready: ready.clone(), health: health.clone() };
        let platform_routes =
            platforms.all().iter().filter_map(|p| p.clone().http_routes(intake.clone())).collect();
        let app = crate::http::router(state, platform_routes);
        let stop = shutdown.clone();
        tracker.spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(e) = server.await {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        tracing::info!(%addr, "HTTP server listening");
        Some(addr)
    } else {
        None
    };

    let inbound_done = CancellationToken::new();
    for platform in platforms.all() {
        let ctx = InboundContext { shutdown: shutdown.clone(), out: intake.clone() };
        let platform = platform.clone();
        let done = inbound_done.clone();
        let stop = shutdown.clone();
        let health = health.clone();
        tracker.spawn(async move {
            let name = platform.platform();
            match platform.run(ctx).await {
                Ok(()) => tracing::debug!(platform = %name, "inbound loop ended"),
                Err(e) if stop.is_cancelled() => {
                    tracing::debug!(platform = %name, error = %e, "inbound loop ended during shutdown")
                }
                Err(e) => {
                    let reason = format!("{e:#}");
                    tracing::error!(platform = %name, error = %reason, "inbound loop failed: {name} receives nothing until warroom restarts");
                    health.failed(name, reason);
                }
            }
            done.cancel();
        });
    }
    tracker.close();
    ready.store(true, Ordering::SeqCst);
    tracing::info!("ready");
    Ok(Running {
        addr,
        engine,
        platforms,
        intake,
        health,
        shutdown,
        tracker,
        ready,
        grace: Duration::from_secs(config.server.grace_secs),
        inbound_done,
    })
}

impl Running {
    /// The token that stops everything.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops in order within the grace period and flushes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.ready.store(false, Ordering::SeqCst);
        self.shutdown.cancel();
        if tokio::time::timeout(self.grace, self.tracker.wait()).await.is_err() {
            tracing::warn!(
                grace_secs = self.grace.as_secs(),
                "shutdown grace period over; abandoning unfinished work (it is still stored)"
            );
        }
        self.engine.store.flush().context("final flush of the database")?;
        tracing::info!("stopped");
        Ok(())
    }

    /// Waits until the console's work is done (see [`Intake::settle`]).
    pub async fn drain(&self, deadline: Duration) {
        self.intake.settle(crate::model::Platform::Console, deadline).await;
    }
}

/// Fires timers when they are due (escalations, investigations).
fn spawn_timers(tracker: &TaskTracker, engine: Arc<Engine>, shutdown: CancellationToken) {
    let signal = engine.timer_signal();
    tracker.spawn(async move {
        loop {
            if let Err(e) = engine.fire_due_timers(Utc::now()) {
                tracing::error!(error = %e, "timers failed");
            }
            let wait = match engine.next_timer() {
                Ok(Some(due)) => {
                    (due - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(Duration::from_secs(60))
                }
                _ => Duration::from_secs(60),
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = signal.notified() => {}
                _ = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
            }
        }
    });
}

/// Removes expired dedup keys and sent records every ten minutes.
fn spawn_sweeper(tracker: &TaskTracker, store: Arc<dyn Store>, shutdown: CancellationToken) {
    tracker.spawn(async move {
        loop {
            match store.sweep(Utc::now()) {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "swept expired dedup keys"),
                Err(e) => tracing::warn!(error = %e, "dedup sweep failed"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            }
        }
    });
}

/// The prompt template at `path`, or the built-in copy when no override is set. The
/// config check already refused an override it could not read; should the file vanish
/// since, the built-in copy serves, loudly.
pub fn load_prompt(path: &std::path::Path, builtin: &str) -> String {
    if path.as_os_str().is_empty() {
        return builtin.to_string();
    }
    match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "prompt override not readable; using the built-in copy");
            builtin.to_string()
        }
    }
}

/// Listens for SIGINT and SIGTERM from the moment it is called (not from the first
/// poll): a stop asked for while warroom is still starting is not lost, and does not
/// kill the process before the database is flushed. The future ends on the first.
pub fn signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
        async move {
            match streams {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                (int, term) => {
                    let e = int.err().or(term.err()).map(|e| e.to_string()).unwrap_or_default();
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops warroom");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
