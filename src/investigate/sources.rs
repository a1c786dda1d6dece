//! Context sources: each answers "what do you know about this incident?" on its own,
//! and the investigator runs them all at once, each under its own timeout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::runbooks;
use crate::config::{Secret, SourceConfig};
use crate::model::{truncate_chars, Incident, Platform, Status};
use crate::platforms::Platforms;
use crate::store::Store;

/// What one source returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// Something useful: text for people and the LLM, data for the rule-based plan.
    Found {
        text: String,
        data: Value,
    },
    /// Nothing relevant (still a success).
    Nothing(String),
    Failed(String),
    /// Not applicable here (e.g. no chat history for a webhook-only incident).
    Disabled(String),
}

/// What every source has: the name shown in chat, and its own timeout if it set one.
#[derive(Debug, Clone)]
pub struct Meta {
    pub name: String,
    pub timeout: Option<Duration>,
}

#[async_trait]
pub trait ContextSource: Send + Sync {
    fn meta(&self) -> &Meta;
    async fn fetch(&self, incident: &Incident) -> Fetched;

    fn name(&self) -> &str {
        &self.meta().name
    }
    fn timeout(&self) -> Option<Duration> {
        self.meta().timeout
    }
}

/// Builds the configured sources. Runbooks are indexed here, once.
pub fn build(
    configs: &[SourceConfig],
    store: Arc<dyn Store>,
    platforms: Platforms,
) -> anyhow::Result<Vec<Arc<dyn ContextSource>>> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| anyhow::anyhow!("investigate: cannot build the HTTP client: {e}"))?;
    let mut out: Vec<Arc<dyn ContextSource>> = Vec::new();
    for config in configs {
        let meta = Meta { name: config.name(), timeout: config.timeout_secs().map(Duration::from_secs) };
        let source: Arc<dyn ContextSource> = match config {
            SourceConfig::Runbooks { dir, .. } => {
                let index = runbooks::Index::load(dir).map_err(|e| {
                    anyhow::anyhow!("investigate: cannot read runbooks in {}: {e}", dir.display())
                })?;
                if index.runbooks.is_empty() {
                    // Relative to where warroom runs: an easy one to get wrong under systemd.
                    let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
                    tracing::warn!(dir = %dir.display(), cwd, "no runbooks found: plans will have no runbook steps (check the runbooks source's `dir`)");
                } else {
                    tracing::info!(dir = %dir.display(), count = index.runbooks.len(), "runbooks indexed");
                }
                Arc::new(Runbooks { meta: meta.clone(), index })
            }
            SourceConfig::PastIncidents { limit, .. } => {
                Arc::new(PastIncidents { meta: meta.clone(), store: store.clone(), limit: *limit })
            }
            SourceConfig::Http { url, json_path, headers, .. } => Arc::new(HttpGet {
                meta: meta.clone(),
                http: http.clone(),
                url: url.clone(),
                json_path: json_path.clone(),
                headers: headers.clone(),
            }),
            SourceConfig::Prometheus { base_url, queries, headers, .. } => Arc::new(Prometheus {
                meta: meta.clone(),
                http: http.clone(),
                base_url: base_url.trim_end_matches('/').to_string(),
                queries: queries.clone(),
                headers: headers.clone(),
            }),
            SourceConfig::ChannelHistory { limit, .. } => {
                Arc::new(ChannelHistory { meta: meta.clone(), platforms: platforms.clone(), limit: *limit })
            }
            SourceConfig::Deploys { url, headers, limit, .. } => Arc::new(Deploys {
                meta: meta.clone(),
                http: http.clone(),
                url: url.clone(),
                headers: headers.clone(),
                limit: *limit,
            }),
        };
        out.push(source);
    }
    Ok(out)
}

/// Where a template's values go, which decides how they are made safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// A URL's path or query: values are percent-encoded.
    Url,
    /// A PromQL query, usually inside a `"…"` label matcher: values must be plain
    /// (letters, digits, `_ . : / @ -`), since alert labels are untrusted and a quote
    /// or a regex character would change the query.
    PromQl,
}

/// Fills `{{label}}`, `{{title}}`, `{{severity}}`, `{{id}}` from the incident. A
/// placeholder the incident cannot fill (a label it does not carry, a value unsafe for
/// PromQL) is an error: a query for `instance=""` would answer about nothing.
pub fn template(text: &str, incident: &Incident, fill: Fill) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let key = rest[start + 2..start + end].trim();
        let value = match key {
            "title" => incident.title.clone(),
            "severity" => incident.severity.to_string(),
            "id" => incident.id.to_string(),
            label => incident
                .labels
                .get(label)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| format!("the incident has no `{label}` label"))?,
        };
        match fill {
            // form_urlencoded writes a space as `+`, which only a query decodes.
            Fill::Url => out.push_str(
                &url::form_urlencoded::byte_serialize(value.as_bytes())
                    .collect::<String>()
                    .replace('+', "%20"),
            ),
            Fill::PromQl => {
                let plain = value.chars().all(|c| c.is_alphanumeric() || "_.:/@-".contains(c));
                if !plain {
                    return Err(format!(
                        "`{key}` = `{}` is not a plain value; not put into a PromQL query",
                        truncate_chars(&value, 60)
                    ));
                }
                out.push_str(&value);
            }
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// GETs a URL with headers; the body as text, or why not. Bodies are read up to 2 MiB.
async fn get(
    http: &reqwest::Client,
    url: &str,
    headers: &BTreeMap<String, Secret>,
) -> Result<String, String> {
    let mut request = http.get(url);
    for (k, v) in headers {
        request = request.header(k, v.expose());
    }
    let mut response = request.send().await.map_err(|e| {
        if e.is_connect() {
            "connection failed".to_string()
        } else {
            "request failed".to_string()
        }
    })?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| "body could not be read".to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > 2 * 1024 * 1024 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    if !status.is_success() {
        return Err(format!("HTTP {} {}", status.as_u16(), truncate_chars(text.trim(), 120)));
    }
    Ok(text)
}

/// GETs the URL `template` makes for `incident`: the body, or the source's outcome
/// when there is none (disabled for a label the incident lacks, failed for the GET).
async fn get_templated(
    http: &reqwest::Client,
    template_url: &str,
    incident: &Incident,
    headers: &BTreeMap<String, Secret>,
) -> Result<String, Fetched> {
    let url = template(template_url, incident, Fill::Url).map_err(Fetched::Disabled)?;
    get(http, &url, headers).await.map_err(Fetched::Failed)
}

/// Follows a dotted path (`status.indicator`, `items.0.name`) into JSON.
pub fn json_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').filter(|p| !p.is_empty()).try_fold(value, |v, key| match v {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => v.get(key),
    })
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// --- runbooks -----------------------------------------------------------------------

struct Runbooks {
    meta: Meta,
    index: runbooks::Index,
}

#[async_trait]
impl ContextSource for Runbooks {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    async fn fetch(&self, incident: &Incident) -> Fetched {
        let labels: Vec<&str> = incident.labels.values().map(String::as_str).collect();
        let query = format!("{} {} {}", incident.title, labels.join(" "), incident.description);
        let hits = self.index.search(&query);
        let Some((best, score)) = hits.first() else {
            return Fetched::Nothing(format!("no runbook matches among {}", self.index.runbooks.len()));
        };
        let diagnose = best.steps("diagnose");
        let mitigate = best.steps("mitigate");
        let escalate = best.steps("escalate");
        let mut text = format!("{} ({})\n{}\n", best.title, best.file, best.summary);
        text.push_str("Diagnose:\n");
        for (i, step) in diagnose.iter().enumerate() {
            text.push_str(&format!("{}. {step}\n", i + 1));
        }
        text.push_str("Mitigate:\n");
        for (i, step) in mitigate.iter().enumerate() {
            text.push_str(&format!("{}. {step}\n", i + 1));
        }
        let others: Vec<&str> = hits.iter().skip(1).take(2).map(|(r, _)| r.file.as_str()).collect();
        if !others.is_empty() {
            text.push_str(&format!("Also relevant: {}\n", others.join(", ")));
        }
        Fetched::Found {
            text,
            data: serde_json::json!({
                "file": best.file, "title": best.title, "score": score, "summary": best.summary,
                "symptoms": best.steps("symptoms"), "diagnose": diagnose, "mitigate": mitigate, "escalate": escalate,
            }),
        }
    }
}

// --- past incidents -------------------------------------------------------------------

struct PastIncidents {
    meta: Meta,
    store: Arc<dyn Store>,
    limit: usize,
}

fn similarity(a: &Incident, b: &Incident) -> f32 {
    let words = |i: &Incident| -> std::collections::BTreeSet<String> {
        let mut text = i.title.clone();
        for (k, v) in &i.labels {
            if matches!(k.as_str(), "alertname" | "service" | "job" | "instance" | "namespace") {
                text.push(' ');
                text.push_str(v);
            }
        }
        runbooks::tokens(&text).into_iter().filter(|w| w.len() > 2).collect()
    };
    let (a, b) = (words(a), words(b));
    let shared = a.intersection(&b).count() as f32;
    let union = a.union(&b).count() as f32;
    if union == 0.0 {
        0.0
    } else {
        shared / union
    }
}

#[async_trait]
impl ContextSource for PastIncidents {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    /// Scans every stored incident: blocking work, so it runs off the async workers
    /// (where it could not be interrupted by its timeout and would stall the others).
    async fn fetch(&self, incident: &Incident) -> Fetched {
        let (store, limit, incident) = (self.store.clone(), self.limit, incident.clone());
        tokio::task::spawn_blocking(move || similar_incidents(store.as_ref(), limit, &incident))
            .await
            .unwrap_or_else(|e| Fetched::Failed(format!("the search failed: {e}")))
    }
}

fn similar_incidents(store: &dyn Store, limit: usize, incident: &Incident) -> Fetched {
    let all = match store.incidents() {
        Ok(all) => all,
        Err(e) => return Fetched::Failed(e.to_string()),
    };
    let mut similar: Vec<(f32, Incident)> = all
        .into_iter()
        .filter(|i| i.id != incident.id && i.created_at <= incident.created_at)
        .map(|i| (similarity(incident, &i), i))
        .filter(|(score, _)| *score >= 0.25)
        .collect();
    similar.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.id.cmp(&a.1.id)));
    similar.truncate(limit);
    if similar.is_empty() {
        return Fetched::Nothing("no similar past incidents".into());
    }
    let mut text = String::new();
    let mut data = Vec::new();
    for (score, past) in &similar {
        let outcome = match (past.status, &past.resolved_at, &past.resolved_by) {
            (Status::Resolved, Some(at), Some(by)) => format!(
                "resolved by {} after {}",
                by.display(),
                crate::engine::lifecycle::humanize(*at - past.created_at)
            ),
            (status, _, _) => format!("still {status}"),
        };
        let notes: Vec<String> = store
            .timeline(past.id)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| match e.kind {
                crate::model::EntryKind::Note { text } => Some(text),
                _ => None,
            })
            .collect();
        let last_notes: Vec<String> =
            notes.iter().rev().take(2).rev().map(|n| truncate_chars(n, 160)).collect();
        text.push_str(&format!(
            "#{} {} ({}, {}), {}{}\n",
            past.id,
            past.title,
            past.severity,
            past.created_at.format("%Y-%m-%d"),
            outcome,
            if last_notes.is_empty() {
                String::new()
            } else {
                format!("; notes: {}", last_notes.join(" / "))
            }
        ));
        data.push(serde_json::json!({"id": past.id, "title": past.title, "similarity": score, "outcome": outcome, "notes": last_notes}));
    }
    Fetched::Found { text, data: Value::Array(data) }
}

// --- http ---------------------------------------------------------------------------

struct HttpGet {
    meta: Meta,
    http: reqwest::Client,
    url: String,
    json_path: String,
    headers: BTreeMap<String, Secret>,
}

#[async_trait]
impl ContextSource for HttpGet {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    async fn fetch(&self, incident: &Incident) -> Fetched {
        let body = match get_templated(&self.http, &self.url, incident, &self.headers).await {
            Ok(body) => body,
            Err(why) => return why,
        };
        if self.json_path.is_empty() {
            let text = body.trim().to_string();
            return Fetched::Found { data: Value::String(truncate_chars(&text, 2000)), text };
        }
        let value: Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(_) => return Fetched::Failed("the answer is not JSON".into()),
        };
        match json_path(&value, &self.json_path) {
            Some(found) => {
                Fetched::Found { text: format!("{} = {}", self.json_path, show(found)), data: found.clone() }
            }
            None => Fetched::Failed(format!("no `{}` in the answer", self.json_path)),
        }
    }
}

// --- prometheus ---------------------------------------------------------------------

struct Prometheus {
    meta: Meta,
    http: reqwest::Client,
    base_url: String,
    queries: BTreeMap<String, String>,
    headers: BTreeMap<String, Secret>,
}

/// `metric{a="b"} = 1.23` lines from an instant query's result, at most five.
fn summarize_vector(result: &Value) -> Vec<String> {
    let Some(series) = result.as_array() else { return Vec::new() };
    series
        .iter()
        .take(5)
        .map(|s| {
            let labels: Vec<String> = s["metric"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}=\"{}\"", show(v))).collect())
                .unwrap_or_default();
            let value = s["value"][1].as_str().unwrap_or("?");
            let value = value
                .parse::<f64>()
                .map(|v| format!("{v:.4}").trim_end_matches('0').trim_end_matches('.').to_string())
                .unwrap_or(value.to_string());
            if labels.is_empty() {
                value
            } else {
                format!("{{{}}} = {value}", labels.join(", "))
            }
        })
        .collect()
}

#[async_trait]
impl ContextSource for Prometheus {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    async fn fetch(&self, incident: &Incident) -> Fetched {
        let mut text = String::new();
        let mut data = serde_json::Map::new();
        let mut failures = Vec::new();
        let mut skipped = Vec::new();
        for (name, query) in &self.queries {
            let query = match template(query, incident, Fill::PromQl) {
                Ok(q) => q,
                Err(why) => {
                    skipped.push(format!("{name}: {why}"));
                    continue;
                }
            };
            let url = format!(
                "{}/api/v1/query?query={}",
                self.base_url,
                url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
            );
            match get(&self.http, &url, &self.headers)
                .await
                .and_then(|b| serde_json::from_str::<Value>(&b).map_err(|_| "not JSON".into()))
            {
                Ok(value) if value["status"] == "success" => {
                    let lines = summarize_vector(&value["data"]["result"]);
                    if lines.is_empty() {
                        text.push_str(&format!("{name}: no data\n"));
                    } else {
                        text.push_str(&format!("{name}: {}\n", lines.join("; ")));
                    }
                    data.insert(name.clone(), value["data"]["result"].clone());
                }
                Ok(value) => failures.push(format!("{name}: {}", show(&value["error"]))),
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
        if data.is_empty() && !failures.is_empty() {
            return Fetched::Failed(failures.join("; "));
        }
        if data.is_empty() && !skipped.is_empty() {
            return Fetched::Disabled(skipped.join("; "));
        }
        for f in failures.iter().chain(&skipped) {
            text.push_str(&format!("{f}\n"));
        }
        Fetched::Found { text, data: Value::Object(data) }
    }
}

// --- channel history ------------------------------------------------------------------

struct ChannelHistory {
    meta: Meta,
    platforms: Platforms,
    limit: usize,
}

#[async_trait]
impl ContextSource for ChannelHistory {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    async fn fetch(&self, incident: &Incident) -> Fetched {
        let Some(thread) = incident.threads.first() else {
            return Fetched::Disabled("the incident has no chat thread".into());
        };
        if matches!(thread.platform, Platform::Telegram | Platform::Console) {
            // Telegram's Bot API has no way to read earlier messages.
            return Fetched::Disabled(format!("{} keeps no readable chat history", thread.platform));
        }
        let Some(platform) = self.platforms.get(thread.platform) else {
            return Fetched::Disabled(format!("{} is not connected", thread.platform));
        };
        match platform.history(&thread.channel, Some(&thread.thread), self.limit).await {
            Ok(lines) if lines.is_empty() => Fetched::Nothing("no messages".into()),
            Ok(lines) => {
                let text: String =
                    lines.iter().map(|l| format!("{}: {}\n", l.user, truncate_chars(&l.text, 300))).collect();
                let data = Value::Array(
                    lines
                        .iter()
                        .map(|l| serde_json::json!({"user": l.user, "text": l.text, "at": l.at}))
                        .collect(),
                );
                Fetched::Found { text, data }
            }
            Err(e) => Fetched::Failed(e.to_string()),
        }
    }
}

// --- deploys ------------------------------------------------------------------------

struct Deploys {
    meta: Meta,
    http: reqwest::Client,
    url: String,
    headers: BTreeMap<String, Secret>,
    limit: usize,
}

/// Fields deployment APIs use for when, and for what.
const TIME_FIELDS: &[&str] =
    &["created_at", "deployed_at", "updated_at", "finished_at", "timestamp", "time", "date"];
const WHAT_FIELDS: &[&str] = &["description", "ref", "version", "sha", "environment", "service", "name"];

fn deploy_line(item: &Value, incident_at: DateTime<Utc>) -> Option<(DateTime<Utc>, String, Value)> {
    let at = TIME_FIELDS.iter().find_map(|f| item.get(*f)?.as_str()?.parse::<DateTime<Utc>>().ok())?;
    let what: Vec<String> = WHAT_FIELDS
        .iter()
        .filter_map(|f| item.get(*f).map(|v| format!("{f} {}", truncate_chars(&show(v), 60))))
        .filter(|s| !s.ends_with(" null") && !s.ends_with(' '))
        .take(3)
        .collect();
    let who = item
        .get("creator")
        .and_then(|c| c.get("login"))
        .or_else(|| item.get("user"))
        .or_else(|| item.get("author"))
        .map(show);
    let delta = incident_at - at;
    let when = if delta >= chrono::Duration::zero() {
        format!("{} before the incident", crate::engine::lifecycle::humanize(delta))
    } else {
        format!("{} after the incident opened", crate::engine::lifecycle::humanize(-delta))
    };
    let mut line = format!("{when}: {}", what.join(", "));
    if let Some(who) = who {
        line.push_str(&format!(" by {who}"));
    }
    let data =
        serde_json::json!({"at": at, "minutes_before": delta.num_minutes(), "summary": what.join(", ")});
    Some((at, line, data))
}

#[async_trait]
impl ContextSource for Deploys {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    async fn fetch(&self, incident: &Incident) -> Fetched {
        let body = match get_templated(&self.http, &self.url, incident, &self.headers).await {
            Ok(body) => body,
            Err(why) => return why,
        };
        let value: Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(_) => return Fetched::Failed("the answer is not JSON".into()),
        };
        let items = value
            .as_array()
            .or_else(|| value.get("deployments").and_then(Value::as_array))
            .cloned()
            .unwrap_or_default();
        let mut deploys: Vec<(DateTime<Utc>, String, Value)> =
            items.iter().filter_map(|i| deploy_line(i, incident.created_at)).collect();
        deploys.sort_by_key(|d| std::cmp::Reverse(d.0));
        deploys.truncate(self.limit);
        if deploys.is_empty() {
            return Fetched::Nothing("no deployments found".into());
        }
        let text = deploys.iter().map(|d| format!("{}\n", d.1)).collect();
        Fetched::Found { text, data: Value::Array(deploys.into_iter().map(|d| d.2).collect()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, Severity, Source};

    fn incident() -> Incident {
        let mut i = Incident::new(7, "db down", Severity::High, Source::Alertmanager, Actor::Bot, Utc::now());
        i.labels.insert("instance".into(), "prod-db-01:9100".into());
        i.labels.insert("job".into(), "node \"exporter\"".into());
        i
    }

    #[test]
    fn templates_fill_labels_and_encode_urls() {
        assert_eq!(
            template("http://x/health/{{title}}?host={{instance}}&id={{id}}", &incident(), Fill::Url)
                .unwrap(),
            "http://x/health/db%20down?host=prod-db-01%3A9100&id=7"
        );
        assert_eq!(
            template("http://x/{{missing}}", &incident(), Fill::Url).unwrap_err(),
            "the incident has no `missing` label"
        );
    }

    #[test]
    fn alert_labels_cannot_rewrite_a_promql_query() {
        assert_eq!(
            template("up{instance=\"{{instance}}\"}", &incident(), Fill::PromQl).unwrap(),
            "up{instance=\"prod-db-01:9100\"}"
        );
        // A quote would close the matcher; `.*` in a regex matcher would match all.
        let mut evil = incident();
        evil.labels.insert("job".into(), "x\"} or vector(1) or up{a=\"".into());
        evil.labels.insert("pod".into(), ".*".into());
        assert!(template("up{job=\"{{job}}\"}", &evil, Fill::PromQl)
            .unwrap_err()
            .contains("not a plain value"));
        assert!(template("up{pod=~\"{{pod}}\"}", &evil, Fill::PromQl).is_err());
    }

    #[test]
    fn json_paths_walk_objects_and_arrays() {
        let v = serde_json::json!({"status": {"indicator": "major"}, "items": [{"name": "a"}]});
        assert_eq!(json_path(&v, "status.indicator"), Some(&Value::String("major".into())));
        assert_eq!(json_path(&v, "items.0.name"), Some(&Value::String("a".into())));
        assert_eq!(json_path(&v, "nope.x"), None);
    }

    #[test]
    fn prometheus_vectors_are_summarised() {
        let result = serde_json::json!([{"metric": {"job": "api"}, "value": [1700000000, "0.12345678"]}, {"metric": {}, "value": [1, "3"]}]);
        assert_eq!(summarize_vector(&result), vec!["{job=\"api\"} = 0.1235", "3"]);
    }

    #[test]
    fn deploys_are_shown_relative_to_the_incident() {
        let at = "2026-11-23T02:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let item = serde_json::json!({"created_at": "2026-11-23T01:48:00Z", "ref": "v2.3.1", "environment": "prod", "creator": {"login": "alice"}});
        let (_, line, data) = deploy_line(&item, at).unwrap();
        assert_eq!(line, "12 min before the incident: ref v2.3.1, environment prod by alice");
        assert_eq!(data["minutes_before"], 12);
    }
}
