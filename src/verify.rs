//! Request authentication: bearer tokens, HMAC signatures, Ed25519 (platform-facts §6).
//!
//! Every check runs on the raw body before any parsing and compares in constant time.
//! Each returns a [`Denied`] whose reason is safe to show the caller (HTTP 401).

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How far a signed timestamp may be from our clock (Slack's rule; we use it everywhere).
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Why a request was not authenticated. The text is shown to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub &'static str);

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `hex(HMAC-SHA256(secret, parts…))`.
pub fn hmac_sha256_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(secret, parts))
}

fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length; an empty result would simply never match.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return Vec::new();
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Checks `provided_hex` against `HMAC(secret, parts…)` in constant time.
fn verify_hmac_hex(secret: &[u8], parts: &[&[u8]], provided_hex: &str) -> bool {
    let Ok(provided) = hex::decode(provided_hex.trim()) else {
        return false;
    };
    constant_time_eq(&hmac_sha256(secret, parts), &provided)
}

/// `Authorization: Bearer <token>`.
pub fn bearer(header: Option<&str>, token: &str) -> Result<(), Denied> {
    let Some(value) = header else {
        return Err(Denied("missing Authorization: Bearer token"));
    };
    let provided = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).unwrap_or("");
    if constant_time_eq(provided.trim().as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(Denied("wrong bearer token"))
    }
}

fn fresh(timestamp: Option<&str>, now: DateTime<Utc>) -> Result<(), Denied> {
    let ts: i64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or(Denied("missing or malformed signature timestamp"))?;
    if (now.timestamp() - ts).abs() > REPLAY_WINDOW_SECS {
        return Err(Denied("stale signature timestamp (more than 5 minutes from our clock)"));
    }
    Ok(())
}

/// `/webhooks/generic`: `X-Warroom-Signature: sha256=hex(HMAC(secret, timestamp + "." + body))`
/// with `X-Warroom-Timestamp` within five minutes.
pub fn generic(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Denied> {
    let sig = signature.ok_or(Denied("missing X-Warroom-Signature"))?;
    let hex =
        sig.trim().strip_prefix("sha256=").ok_or(Denied("X-Warroom-Signature must start with sha256="))?;
    fresh(timestamp, now)?;
    let ts = timestamp.unwrap_or_default().trim();
    if verify_hmac_hex(secret.as_bytes(), &[ts.as_bytes(), b".", body], hex) {
        Ok(())
    } else {
        Err(Denied("bad signature"))
    }
}

/// Signs a generic-webhook body (for tests, scripts and the README).
pub fn sign_generic(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &[timestamp.to_string().as_bytes(), b".", body]))
}

/// Grafana's optional HMAC: `hex(HMAC(secret, [timestamp + ":"] + body))`, no prefix.
/// When Grafana sends a timestamp header it must be fresh.
pub fn grafana(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Denied> {
    let sig = signature.ok_or(Denied("missing X-Grafana-Alerting-Signature"))?;
    let ok = match timestamp {
        Some(ts) => {
            fresh(Some(ts), now)?;
            verify_hmac_hex(secret.as_bytes(), &[ts.trim().as_bytes(), b":", body], sig)
        }
        None => verify_hmac_hex(secret.as_bytes(), &[body], sig),
    };
    if ok {
        Ok(())
    } else {
        Err(Denied("bad signature"))
    }
}

/// Slack: `X-Slack-Signature: v0=hex(HMAC(secret, "v0:" + ts + ":" + body))`, five-minute window.
/// <https://docs.slack.dev/authentication/verifying-requests-from-slack>
pub fn slack(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Denied> {
    let sig = signature.ok_or(Denied("missing X-Slack-Signature"))?;
    let hex = sig.trim().strip_prefix("v0=").ok_or(Denied("X-Slack-Signature must start with v0="))?;
    fresh(timestamp, now)?;
    let ts = timestamp.unwrap_or_default().trim();
    if verify_hmac_hex(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body], hex) {
        Ok(())
    } else {
        Err(Denied("bad signature"))
    }
}

/// Signs a Slack request the way Slack does (tests and fakes).
pub fn sign_slack(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v0={}",
        hmac_sha256_hex(secret.as_bytes(), &[b"v0:", timestamp.to_string().as_bytes(), b":", body])
    )
}

/// Discord interactions: Ed25519 over `timestamp ‖ body` with the application's public
/// key; we also refuse timestamps older than five minutes (replay).
/// <https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers>
pub fn discord(
    public_key: &ed25519_dalek::VerifyingKey,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Denied> {
    let sig_hex = signature.ok_or(Denied("missing X-Signature-Ed25519"))?;
    fresh(timestamp, now)?;
    let bytes: [u8; 64] = hex::decode(sig_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Denied("malformed X-Signature-Ed25519"))?;
    let signature = ed25519_dalek::Signature::from_bytes(&bytes);
    let mut message = timestamp.unwrap_or_default().trim().as_bytes().to_vec();
    message.extend_from_slice(body);
    public_key.verify_strict(&message, &signature).map_err(|_| Denied("bad signature"))
}

/// Telegram webhook: `X-Telegram-Bot-Api-Secret-Token` equals the configured secret.
pub fn telegram(secret: &str, header: Option<&str>) -> Result<(), Denied> {
    match header {
        Some(value) if constant_time_eq(value.as_bytes(), secret.as_bytes()) => Ok(()),
        Some(_) => Err(Denied("wrong X-Telegram-Bot-Api-Secret-Token")),
        None => Err(Denied("missing X-Telegram-Bot-Api-Secret-Token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn generic_signatures_check_secret_body_and_freshness() {
        let body = br#"{"title":"x"}"#;
        let ts = now().timestamp();
        let sig = sign_generic("s3cret", ts, body);
        let t = ts.to_string();
        assert_eq!(generic("s3cret", Some(&t), Some(&sig), body, now()), Ok(()));
        assert_eq!(generic("other", Some(&t), Some(&sig), body, now()), Err(Denied("bad signature")));
        assert_eq!(generic("s3cret", Some(&t), Some(&sig), b"{}", now()), Err(Denied("bad signature")));
        let old = (ts - 301).to_string();
        let stale = sign_generic("s3cret", ts - 301, body);
        assert!(generic("s3cret", Some(&old), Some(&stale), body, now()).unwrap_err().0.contains("stale"));
        assert!(generic("s3cret", None, Some(&sig), body, now()).is_err());
        assert!(generic("s3cret", Some(&t), Some("deadbeef"), body, now())
            .unwrap_err()
            .0
            .contains("sha256="));
        assert!(generic("s3cret", Some(&t), Some("sha256=zz"), body, now()).is_err());
    }

    #[test]
    fn slack_signature_matches_the_documented_example() {
        // The example from Slack's "Verifying requests" page.
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let ts = "1531420618";
        let at = DateTime::from_timestamp(1_531_420_618, 0).unwrap();
        let sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(slack(secret, Some(ts), Some(sig), body, at), Ok(()));
        assert_eq!(sign_slack(secret, 1_531_420_618, body), sig);
        assert!(slack(secret, Some(ts), Some(sig), body, now()).is_err(), "stale");
    }

    #[test]
    fn discord_ed25519_and_replay_window() {
        use ed25519_dalek::{Signer, SigningKey};
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let ts = now().timestamp().to_string();
        let body = br#"{"type":1}"#;
        let mut msg = ts.as_bytes().to_vec();
        msg.extend_from_slice(body);
        let sig = hex::encode(key.sign(&msg).to_bytes());
        let public = key.verifying_key();
        assert_eq!(discord(&public, Some(&ts), Some(&sig), body, now()), Ok(()));
        assert!(discord(&public, Some(&ts), Some(&sig), br#"{"type":2}"#, now()).is_err());
        let later = now() + chrono::Duration::seconds(301);
        assert!(discord(&public, Some(&ts), Some(&sig), body, later).unwrap_err().0.contains("stale"));
        assert!(discord(&public, Some(&ts), Some("00"), body, now()).is_err());
    }

    #[test]
    fn bearer_and_telegram_secrets() {
        assert_eq!(bearer(Some("Bearer abc"), "abc"), Ok(()));
        assert!(bearer(Some("Bearer abd"), "abc").is_err());
        assert!(bearer(Some("abc"), "abc").is_err());
        assert!(bearer(None, "abc").is_err());
        assert_eq!(telegram("t0k", Some("t0k")), Ok(()));
        assert!(telegram("t0k", Some("t0K")).is_err());
        assert!(telegram("t0k", None).is_err());
    }

    #[test]
    fn grafana_hmac_with_and_without_timestamp() {
        let body = b"{}";
        let sig = hmac_sha256_hex(b"g", &[body]);
        assert_eq!(grafana("g", None, Some(&sig), body, now()), Ok(()));
        let ts = now().timestamp().to_string();
        let sig_ts = hmac_sha256_hex(b"g", &[ts.as_bytes(), b":", body]);
        assert_eq!(grafana("g", Some(&ts), Some(&sig_ts), body, now()), Ok(()));
        assert!(grafana("g", Some(&ts), Some(&sig), body, now()).is_err());
    }
}
