//! Monitoring webhooks → [`Alert`]s: the edge translation for Alertmanager, Grafana
//! and our signed generic format (platform-facts §4). Pure functions, table-tested.
//!
//! Payloads are untrusted: fields are capped in length and count before they reach a
//! card, a prompt or the store.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::model::{truncate_chars, Severity, Source};

/// Caps on untrusted alert content.
pub const MAX_ALERTS: usize = 500;
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 4000;
const MAX_LABELS: usize = 40;
const MAX_LABEL: usize = 256;

/// Labels that identify *where* an alert fires, used to build a title when the alert
/// has no `summary`.
const KEY_LABELS: [&str; 8] =
    ["service", "job", "instance", "namespace", "pod", "deployment", "cluster", "host"];

/// One alert, whatever sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub source: Source,
    /// Stable identity of the alert across repeats, namespaced by source.
    pub fingerprint: String,
    pub firing: bool,
    pub title: String,
    pub description: String,
    /// `None` when the alert carried no (recognisable) severity.
    pub severity: Option<Severity>,
    pub labels: BTreeMap<String, String>,
    /// Links worth a click: generator, runbook, dashboard, panel, silence.
    pub links: Vec<(String, String)>,
}

/// The alerts of one Alertmanager/Grafana notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub alerts: Vec<Alert>,
    /// Alerts left out: past [`MAX_ALERTS`] here (resolved ones first, so no firing
    /// alert is dropped while a resolved one is kept), plus Alertmanager's own
    /// `truncatedAlerts` (its `max_alerts`).
    pub dropped: usize,
}

/// A payload we refuse, with the reason shown to the sender (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadPayload(pub String);

#[derive(Deserialize)]
struct AmPayload {
    #[serde(default)]
    version: Option<String>,
    alerts: Vec<AmAlert>,
    #[serde(default, rename = "commonAnnotations")]
    common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "truncatedAlerts")]
    truncated_alerts: usize,
    // Grafana's extra fields (version "1").
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct AmAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default, rename = "dashboardURL")]
    dashboard_url: Option<String>,
    #[serde(default, rename = "panelURL")]
    panel_url: Option<String>,
    #[serde(default, rename = "silenceURL")]
    silence_url: Option<String>,
    #[serde(default, rename = "valueString")]
    value_string: Option<String>,
}

fn json_error(kind: &str, e: serde_json::Error) -> BadPayload {
    BadPayload(format!("invalid {kind} payload: {e}"))
}

/// Parses an Alertmanager webhook (version 4).
pub fn parse_alertmanager(body: &[u8]) -> Result<Notification, BadPayload> {
    let payload: AmPayload = serde_json::from_slice(body).map_err(|e| json_error("Alertmanager", e))?;
    if let Some(v) = &payload.version {
        if v != "4" {
            return Err(BadPayload(format!(
                "unsupported Alertmanager webhook version `{v}` (expected \"4\")"
            )));
        }
    }
    convert(payload, Source::Alertmanager)
}

/// Parses a Grafana unified-alerting webhook (Alertmanager fields plus Grafana's).
pub fn parse_grafana(body: &[u8]) -> Result<Notification, BadPayload> {
    let payload: AmPayload = serde_json::from_slice(body).map_err(|e| json_error("Grafana", e))?;
    convert(payload, Source::Grafana)
}

fn convert(mut payload: AmPayload, source: Source) -> Result<Notification, BadPayload> {
    if payload.alerts.is_empty() {
        return Err(BadPayload("`alerts` is empty: nothing to do".into()));
    }
    // An alert storm is no reason to refuse the lot (Alertmanager never retries a
    // 4xx, so a refusal would lose every page in it): keep the firing alerts first.
    let mut dropped = payload.truncated_alerts;
    if payload.alerts.len() > MAX_ALERTS {
        payload.alerts.sort_by_key(|a| !matches!(a.status.as_str(), "firing" | "alerting"));
        dropped += payload.alerts.len() - MAX_ALERTS;
        payload.alerts.truncate(MAX_ALERTS);
    }
    let _ = payload.title; // Grafana's group title: the per-alert summary is more specific.
    let alerts = payload
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let firing = match a.status.as_str() {
                "firing" | "alerting" => true,
                "resolved" | "ok" => false,
                other => {
                    return Err(BadPayload(format!(
                        "alerts[{i}].status: `{}` is not firing or resolved",
                        truncate_chars(other, 40)
                    )))
                }
            };
            let labels = cap_labels(a.labels);
            let annotation = |key: &str| {
                a.annotations
                    .get(key)
                    .or_else(|| payload.common_annotations.get(key))
                    .map(|s| s.trim().to_string())
            };
            let title =
                annotation("summary").filter(|s| !s.is_empty()).unwrap_or_else(|| title_from_labels(&labels));
            let mut description =
                annotation("description").or_else(|| annotation("message")).unwrap_or_default();
            if let Some(values) = a.value_string.filter(|v| !v.trim().is_empty()) {
                if !description.is_empty() {
                    description.push('\n');
                }
                description.push_str(&format!("Values: {}", values.trim()));
            }
            let fingerprint = match a.fingerprint.filter(|f| !f.trim().is_empty()) {
                Some(fp) => truncate_chars(fp.trim(), 128),
                None => hash_labels(&labels),
            };
            let mut links = Vec::new();
            for (name, url) in [
                ("runbook", annotation("runbook_url")),
                ("source", a.generator_url),
                ("dashboard", a.dashboard_url),
                ("panel", a.panel_url),
                ("silence", a.silence_url),
            ] {
                if let Some(url) = url.filter(|u| u.starts_with("http://") || u.starts_with("https://")) {
                    links.push((name.to_string(), truncate_chars(&url, 500)));
                }
            }
            Ok(Alert {
                source,
                fingerprint: format!("{source}:{fingerprint}"),
                firing,
                title: truncate_chars(&title, MAX_TITLE),
                description: truncate_chars(&description, MAX_DESCRIPTION),
                severity: labels.get("severity").and_then(|s| Severity::from_alert_label(s)),
                labels,
                links,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Notification { alerts, dropped })
}

/// Our own minimal format, for scripts and tools without a native integration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericPayload {
    title: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// "firing" (default) or "resolved".
    #[serde(default)]
    status: Option<String>,
}

/// Parses `/webhooks/generic`: `{title, severity?, description?, fingerprint?, labels?, status?}`.
pub fn parse_generic(body: &[u8]) -> Result<Alert, BadPayload> {
    let p: GenericPayload = serde_json::from_slice(body).map_err(|e| json_error("generic webhook", e))?;
    if p.title.trim().is_empty() {
        return Err(BadPayload("title: must not be empty".into()));
    }
    let severity = match p.severity.as_deref() {
        None => None,
        Some(s) => Some(Severity::from_alert_label(s).ok_or_else(|| {
            BadPayload(format!("severity: `{}` is not critical, high, medium or low", truncate_chars(s, 40)))
        })?),
    };
    let firing = match p.status.as_deref() {
        None | Some("firing") => true,
        Some("resolved") => false,
        Some(other) => {
            return Err(BadPayload(format!(
                "status: `{}` is not firing or resolved",
                truncate_chars(other, 40)
            )))
        }
    };
    let labels = cap_labels(p.labels);
    let fingerprint = match p.fingerprint.filter(|f| !f.trim().is_empty()) {
        Some(fp) => truncate_chars(fp.trim(), 128),
        None => {
            // Same title and labels = same alert, so a re-sent alert repeats instead of
            // opening a second incident.
            let mut with_title = labels.clone();
            with_title.insert("\u{0}title".into(), p.title.trim().to_string());
            hash_labels(&with_title)
        }
    };
    Ok(Alert {
        source: Source::Webhook,
        fingerprint: format!("webhook:{fingerprint}"),
        firing,
        title: truncate_chars(p.title.trim(), MAX_TITLE),
        description: truncate_chars(p.description.trim(), MAX_DESCRIPTION),
        severity,
        labels,
        links: Vec::new(),
    })
}

fn cap_labels(labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .into_iter()
        .take(MAX_LABELS)
        .map(|(k, v)| (truncate_chars(&k, 64), truncate_chars(&v, MAX_LABEL)))
        .collect()
}

/// `alertname` plus the labels that say where: "HighErrorRate (api, prod)".
fn title_from_labels(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("alertname").map(String::as_str).unwrap_or("Alert");
    let places: Vec<&str> = KEY_LABELS
        .iter()
        .filter_map(|k| labels.get(*k).map(String::as_str))
        .filter(|v| !v.is_empty())
        .take(3)
        .collect();
    if places.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({})", places.join(", "))
    }
}

fn hash_labels(labels: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in labels {
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(v.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_FIRING: &str = include_str!("../tests/fixtures/alertmanager-firing.json");

    #[test]
    fn alertmanager_firing_alerts_become_alerts() {
        let parsed = parse_alertmanager(TWO_FIRING.as_bytes()).unwrap();
        assert_eq!(parsed.dropped, 0);
        let alerts = parsed.alerts;
        assert_eq!(alerts.len(), 2);
        let a = &alerts[0];
        assert!(a.firing);
        assert_eq!(a.source, Source::Alertmanager);
        assert_eq!(a.fingerprint, "alertmanager:5f1b2c3d4e5f6a7b");
        assert_eq!(a.title, "Disk almost full on prod-db-01");
        assert_eq!(a.severity, Some(Severity::Critical));
        assert!(a.description.contains("/var/lib/postgresql"));
        assert!(a.links.iter().any(|(n, _)| n == "runbook"));
        // No summary: the title is built from alertname and where it fires.
        assert_eq!(alerts[1].title, "HighErrorRate (checkout, api, prod-eu)");
        assert_eq!(alerts[1].severity, Some(Severity::Medium));
    }

    #[test]
    fn bad_alertmanager_payloads_say_what_is_wrong() {
        let cases: [(&str, &str); 5] = [
            ("{", "invalid Alertmanager payload"),
            ("{\"version\":\"4\"}", "missing field `alerts`"),
            ("{\"version\":\"4\",\"alerts\":[]}", "`alerts` is empty"),
            (
                "{\"version\":\"3\",\"alerts\":[{\"status\":\"firing\"}]}",
                "unsupported Alertmanager webhook version",
            ),
            ("{\"alerts\":[{\"status\":\"exploding\",\"labels\":{}}]}", "alerts[0].status"),
        ];
        for (body, expected) in cases {
            let err = parse_alertmanager(body.as_bytes()).unwrap_err();
            assert!(err.0.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn a_missing_fingerprint_is_derived_from_the_labels() {
        let body = r#"{"alerts":[{"status":"firing","labels":{"alertname":"X","pod":"p1"}},
                                {"status":"firing","labels":{"pod":"p1","alertname":"X"}},
                                {"status":"firing","labels":{"alertname":"X","pod":"p2"}}]}"#;
        let alerts = parse_alertmanager(body.as_bytes()).unwrap().alerts;
        assert_eq!(alerts[0].fingerprint, alerts[1].fingerprint);
        assert_ne!(alerts[0].fingerprint, alerts[2].fingerprint);
    }

    #[test]
    fn grafana_payloads_carry_values_and_links() {
        let body = r#"{"receiver":"warroom","status":"firing","orgId":1,"version":"1","title":"[FIRING:1] CPU",
            "state":"alerting","message":"…","alerts":[{"status":"firing","labels":{"alertname":"HighCPU","instance":"web-3","severity":"warning"},
            "annotations":{"summary":"CPU above 90% on web-3"},"fingerprint":"aa11","valueString":"[ var='A' value=97.3 ]",
            "dashboardURL":"https://grafana.example.com/d/x","panelURL":"https://grafana.example.com/d/x?viewPanel=2","silenceURL":"https://grafana.example.com/alerting/silence/new"}]}"#;
        let alerts = parse_grafana(body.as_bytes()).unwrap().alerts;
        assert_eq!(alerts[0].fingerprint, "grafana:aa11");
        assert_eq!(alerts[0].title, "CPU above 90% on web-3");
        assert!(alerts[0].description.contains("value=97.3"));
        assert_eq!(alerts[0].links.len(), 3);
    }

    #[test]
    fn generic_payloads_are_strict_and_repeat_by_title() {
        let a =
            parse_generic(br#"{"title":"Backups failing","severity":"critical","labels":{"job":"backup"}}"#)
                .unwrap();
        let b =
            parse_generic(br#"{"title":"Backups failing","severity":"critical","labels":{"job":"backup"}}"#)
                .unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.severity, Some(Severity::Critical));
        let explicit = parse_generic(br#"{"title":"x","fingerprint":"abc","status":"resolved"}"#).unwrap();
        assert_eq!(explicit.fingerprint, "webhook:abc");
        assert!(!explicit.firing);
        for (body, expected) in [
            (r#"{"severity":"high"}"#, "missing field `title`"),
            (r#"{"title":"  "}"#, "title: must not be empty"),
            (r#"{"title":"x","severity":"apocalyptic"}"#, "severity: `apocalyptic`"),
            (r#"{"title":"x","colour":"red"}"#, "unknown field `colour`"),
            (r#"{"title":"x","status":"maybe"}"#, "status: `maybe`"),
        ] {
            let err = parse_generic(body.as_bytes()).unwrap_err();
            assert!(err.0.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn an_alert_storm_keeps_every_firing_alert_it_can() {
        let alert = |status: &str, n: usize| {
            format!(r#"{{"status":"{status}","labels":{{"alertname":"A{n}"}},"fingerprint":"{status}{n}"}}"#)
        };
        let mut alerts: Vec<String> = (0..300).map(|n| alert("resolved", n)).collect();
        alerts.extend((0..400).map(|n| alert("firing", n)));
        let body = format!(r#"{{"version":"4","truncatedAlerts":7,"alerts":[{}]}}"#, alerts.join(","));
        let parsed = parse_alertmanager(body.as_bytes()).unwrap();
        assert_eq!(parsed.alerts.len(), MAX_ALERTS);
        assert_eq!(parsed.alerts.iter().filter(|a| a.firing).count(), 400, "no firing alert is dropped");
        assert_eq!(parsed.dropped, 700 - MAX_ALERTS + 7);
    }

    #[test]
    fn untrusted_sizes_are_capped() {
        let long = "x".repeat(10_000);
        let body = format!(r#"{{"title":"{long}","description":"{long}"}}"#);
        let a = parse_generic(body.as_bytes()).unwrap();
        assert_eq!(a.title.chars().count(), MAX_TITLE);
        assert_eq!(a.description.chars().count(), MAX_DESCRIPTION);
    }
}
