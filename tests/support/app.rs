//! Runs warroom in-process (the real `app::start`) with a config written by the test.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use warroom::app::{self, Options, Running};
use warroom::config::Config;
use warroom::model::{Incident, IncidentId, TimelineEntry};
use warroom::store::Store;

/// A running warroom and the directory its data lives in.
pub struct TestApp {
    pub running: Option<Running>,
    pub data_dir: PathBuf,
    config_text: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// Starts warroom with `config_text` (a whole config.toml). The server always
    /// listens on 127.0.0.1:0 with a fresh data directory. Unless the text has its own
    /// `[investigate]` / `[outbox]` table, investigation is off and the outbox neither
    /// paces nor waits long between retries, so tests see only what they are about.
    pub async fn start(config_text: &str) -> TestApp {
        super::logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let mut app =
            TestApp { running: None, data_dir, config_text: config_text.to_string(), _dir: Some(dir) };
        app.boot().await;
        app
    }

    async fn boot(&mut self) {
        let mut config = Config::parse(&self.config_text, "test config", &|name| std::env::var(name).ok())
            .unwrap_or_else(|e| panic!("test config is invalid:\n{e}"));
        config.storage.path = self.data_dir.clone();
        config.server.listen = "127.0.0.1:0".parse().expect("loopback address");
        config.server.grace_secs = 5;
        if !self.config_text.contains("[investigate]") {
            config.investigate.enabled = false;
        }
        if !self.config_text.contains("[outbox]") {
            config.outbox.initial_backoff_ms = 50;
            config.outbox.max_backoff_secs = 1;
            config.outbox.channel_interval_ms = 0;
        }
        let running =
            app::start(Options { config, http: true, temporary_store: false, extra_platforms: Vec::new() })
                .await
                .expect("warroom starts");
        self.running = Some(running);
    }

    /// Stops (graceful, as on SIGTERM) and starts again on the same data directory.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.boot().await;
    }

    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("clean stop");
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("app is running")
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.running().engine.store.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running().addr.expect("http enabled"))
    }

    /// Posts an Alertmanager notification to `/webhooks/alertmanager`; the HTTP status.
    pub async fn alertmanager(&self, body: impl Into<reqwest::Body>) -> u16 {
        let client = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
        let response = client.post(self.url("/webhooks/alertmanager")).body(body).send().await;
        response.expect("warroom answers").status().as_u16()
    }

    pub fn incidents(&self) -> Vec<Incident> {
        self.store().incidents().expect("store readable")
    }

    pub fn timeline(&self, id: IncidentId) -> Vec<TimelineEntry> {
        self.store().timeline(id).expect("store readable")
    }

    /// Waits (up to 10 s) until `n` incidents exist.
    pub async fn wait_incidents(&self, n: usize) -> Vec<Incident> {
        super::eventually(Duration::from_secs(10), &format!("{n} incident(s)"), || async {
            let all = self.incidents();
            (all.len() >= n).then_some(all)
        })
        .await
    }

    /// Waits until the inbox and outbox are empty (everything handled and sent).
    pub async fn settle(&self) {
        super::eventually(Duration::from_secs(10), "inbox and outbox to drain", || async {
            let store = self.store();
            let idle = store.inbox().map(|i| i.is_empty()).unwrap_or(false)
                && store.outbox().map(|o| o.iter().all(|i| i.dead)).unwrap_or(false);
            idle.then_some(())
        })
        .await
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown_token().cancel();
        }
    }
}
