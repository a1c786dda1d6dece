//! Long polling: `getUpdates` in a loop (<https://core.telegram.org/bots/api#getupdates>).
//!
//! Telegram re-sends every update until a `getUpdates` call with an `offset` past it
//! confirms it. The offset is advanced only after [`Intake::submit`](crate::intake::Intake::submit)
//! stored the update, so a crash re-delivers it and the dedup key
//! `telegram:update:<id>` drops the repeat. On errors the loop backs off (network down,
//! 5xx, 409 "terminated by other getUpdates request", a bad token) and never spins; a
//! 429 waits for its `retry_after`.

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use tokio_util::sync::CancellationToken;

use super::{send_error, Telegram};
use crate::platforms::{InboundContext, SendError};

/// First wait after a failure; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Exponential backoff with jitter, reset by a success.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// How long to wait after `error`: its `retry_after` for a 429, else the next step.
    pub(super) fn next(&mut self, error: &SendError) -> Duration {
        if let SendError::RateLimited(wait) = error {
            return *wait;
        }
        self.failures = self.failures.saturating_add(1);
        let step =
            FIRST_BACKOFF.saturating_mul(1 << self.failures.saturating_sub(1).min(10)).min(MAX_BACKOFF);
        // ±20 % so several instances do not retry in lockstep.
        step.mul_f64(0.8 + fastrand::f64() * 0.4)
    }

    pub(super) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Sleeps unless shutdown comes first; false = shutting down.
pub(super) async fn sleep(wait: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// Polls until `ctx.shutdown`.
pub(super) async fn run(telegram: Arc<Telegram>, ctx: InboundContext) -> anyhow::Result<()> {
    let Some(me) = telegram.start_up(&ctx.shutdown, true).await else { return Ok(()) };
    let mut backoff = Backoff::default();
    // None until the first update: Telegram then sends everything not yet confirmed.
    let mut offset: Option<i32> = None;
    loop {
        let mut request = telegram
            .bot
            .get_updates()
            .timeout(telegram.poll_timeout_secs)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        if let Some(offset) = offset {
            request = request.offset(offset);
        }
        let result = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            result = request.send() => result,
        };
        let error = match result {
            Ok(updates) => {
                backoff.reset();
                let mut stored_all = true;
                for update in updates {
                    if ctx.shutdown.is_cancelled() {
                        // The rest stays unconfirmed: Telegram offers it to the next start.
                        stored_all = false;
                        break;
                    }
                    if let Err(e) = telegram.take(&update, &me, &ctx.out).await {
                        // Not stored, so not confirmed: Telegram sends it again.
                        if !ctx.shutdown.is_cancelled() {
                            tracing::error!(update = update.id.0, error = %e, "telegram: could not store an update");
                        }
                        stored_all = false;
                        break;
                    }
                    let next = i32::try_from(i64::from(update.id.0) + 1).unwrap_or(i32::MAX);
                    offset = Some(offset.map_or(next, |o| o.max(next)));
                }
                if stored_all {
                    continue;
                }
                SendError::Transport("storage refused an update".into())
            }
            Err(e) => {
                let error = send_error(&e);
                match &error {
                    SendError::Rejected { reason } if reason.contains("webhook is active") => {
                        // Someone set a webhook since we started: polling needs it gone.
                        tracing::warn!("telegram: a webhook is set; deleting it to keep polling");
                        if let Err(e) = telegram.bot.delete_webhook().await {
                            tracing::warn!(error = %send_error(&e), "telegram: deleteWebhook failed");
                        }
                    }
                    SendError::Rejected { reason } if reason.contains("terminated by other getUpdates") => {
                        tracing::warn!("telegram: another process is polling with this token (409 Conflict); backing off");
                    }
                    SendError::Unauthorized => {
                        tracing::error!("telegram: the Bot API refused the token (telegram.token); retrying")
                    }
                    other => tracing::warn!(error = %other, "telegram: getUpdates failed"),
                }
                error
            }
        };
        let wait = backoff.next(&error);
        tracing::debug!("telegram: polling again in {wait:?}");
        if !sleep(wait, &ctx.shutdown).await {
            break;
        }
    }
    // Confirm what was stored, so the next start is not offered it again (dedup would
    // drop it anyway). `limit 1` with no wait: whatever it returns stays unconfirmed.
    if let Some(offset) = offset {
        let confirm = telegram.bot.get_updates().offset(offset).limit(1).timeout(0).send();
        if tokio::time::timeout(Duration::from_secs(2), confirm).await.is_err() {
            tracing::debug!("telegram: could not confirm the last updates before stopping");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap_and_honours_retry_after() {
        let mut backoff = Backoff::default();
        let transport = SendError::Transport("down".into());
        let first = backoff.next(&transport);
        assert!(first >= Duration::from_millis(400) && first <= Duration::from_millis(600), "{first:?}");
        for _ in 0..20 {
            assert!(backoff.next(&transport) <= MAX_BACKOFF.mul_f64(1.2));
        }
        assert_eq!(backoff.next(&SendError::RateLimited(Duration::from_secs(7))), Duration::from_secs(7));
        backoff.reset();
        assert!(backoff.next(&transport) <= Duration::from_millis(600));
    }
}
