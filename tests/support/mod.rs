//! Shared test support: fakes of the platforms and helpers to run warroom.
//! Each test binary uses a part of it.
#![allow(dead_code)]

pub mod app;
pub mod daemon;
pub mod discord;
pub mod llm;
pub mod slack;
pub mod sources;
pub mod store;
pub mod telegram;

use std::time::Duration;

/// Shows warroom's logs in a test's output when RUST_LOG is set.
pub fn logs() {
    if std::env::var("RUST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `deadline`.
/// Tests wait for events this way instead of sleeping for a guessed time.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > until {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
