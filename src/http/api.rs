//! The incident API: list, show, open, change status, add notes.
//!
//! Writes need `api.token` and refuse every call while it is unset; once it is set,
//! reads need it too. The caller names the human it acts for (`"actor": "alice"`);
//! `{"type": "bot"}` acts as the bot, which the delegation rules then constrain.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ApiError, HttpState};
use crate::engine::{Change, NewIncident};
use crate::model::{Actor, Incident, IncidentId, Person, Severity, Source, Status, TimelineEntry};
use crate::verify;

fn authorise(state: &HttpState, headers: &HeaderMap, write: bool) -> Result<(), ApiError> {
    let token = &state.engine.config.api.token;
    if !token.is_set() {
        return if write {
            Err(ApiError::unauthorized("the API is read-only until api.token is set"))
        } else {
            Ok(())
        };
    }
    let header = headers.get("authorization").and_then(|v| v.to_str().ok());
    verify::bearer(header, token.expose()).map_err(|d| ApiError::unauthorized(d.0))
}

fn json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// One line of `GET /api/incidents`.
#[derive(Serialize)]
pub struct Summary {
    id: IncidentId,
    title: String,
    severity: Severity,
    status: Status,
    source: Source,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Incident> for Summary {
    fn from(i: &Incident) -> Self {
        Self {
            id: i.id,
            title: i.title.clone(),
            severity: i.severity,
            status: i.status,
            source: i.source,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    severity: Option<String>,
    source: Option<String>,
    q: Option<String>,
    limit: Option<usize>,
}

pub async fn list(
    State(state): State<HttpState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Summary>>, ApiError> {
    authorise(&state, &headers, false)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status: Option<Status> =
        query.status.as_deref().map(str::parse).transpose().map_err(ApiError::bad_request)?;
    let severity: Option<Severity> =
        query.severity.as_deref().map(str::parse).transpose().map_err(ApiError::bad_request)?;
    let source: Option<Source> =
        query.source.as_deref().map(str::parse).transpose().map_err(ApiError::bad_request)?;
    let q = query.q.as_deref().map(str::to_lowercase).filter(|q| !q.trim().is_empty());
    let mut incidents = state.engine.store.incidents()?;
    incidents.retain(|i| {
        status.is_none_or(|s| i.status == s)
            && severity.is_none_or(|s| i.severity == s)
            && source.is_none_or(|s| i.source == s)
            && q.as_deref().is_none_or(|q| {
                i.title.to_lowercase().contains(q) || i.description.to_lowercase().contains(q)
            })
    });
    incidents.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    incidents.truncate(query.limit.unwrap_or(500).min(5000));
    Ok(Json(incidents.iter().map(Summary::from).collect()))
}

#[derive(Serialize)]
pub struct Detail {
    incident: Incident,
    timeline: Vec<TimelineEntry>,
}

pub async fn show(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Detail>, ApiError> {
    authorise(&state, &headers, false)?;
    let id = parse_id(&id)?;
    let incident = state.engine.incident(id)?;
    let timeline = state.engine.store.timeline(id)?;
    Ok(Json(Detail { incident, timeline }))
}

fn parse_id(s: &str) -> Result<IncidentId, ApiError> {
    s.trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::bad_request(format!("`{s}` is not an incident number")))
}

/// Who the API caller acts for: a name (a human) or `{"type":"bot"}` /
/// `{"type":"human","id":"alice","name":"Alice"}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ActorSpec {
    Name(String),
    Object {
        #[serde(rename = "type")]
        kind: String,
        id: Option<String>,
        name: Option<String>,
    },
}

impl ActorSpec {
    fn into_actor(self) -> Result<Actor, ApiError> {
        match self {
            Self::Name(name) if !name.trim().is_empty() => Ok(Actor::Human(Person::new("api", name.trim(), None))),
            Self::Object { kind, .. } if kind == "bot" => Ok(Actor::Bot),
            Self::Object { kind, id: Some(id), name } if kind == "human" && !id.trim().is_empty() => {
                Ok(Actor::Human(Person::new("api", id.trim(), name)))
            }
            _ => Err(ApiError::bad_request(
                "actor: name the person you act for (\"alice\" or {\"type\":\"human\",\"id\":\"alice\"}), or {\"type\":\"bot\"}",
            )),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    actor: ActorSpec,
}

pub async fn create(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let body = body?;
    authorise(&state, &headers, true)?;
    let req: CreateBody = json(&body)?;
    let actor = req.actor.into_actor()?;
    let severity = req.severity.unwrap_or(Severity::Medium);
    let engine = state.engine.clone();
    let new = NewIncident {
        title: req.title,
        description: req.description,
        severity,
        severity_confirmed: actor.is_human() && req.severity.is_some(),
        source: Source::Api,
        fingerprint: None,
        labels: req.labels,
        thread: None,
        post_to: engine.alert_routes().for_severity(severity),
        classified: None,
        usage: Default::default(),
    };
    let cause = format!("api:{:016x}", fastrand::u64(..));
    let incident = blocking(move || {
        let incident = engine.open(new, actor, &cause, Utc::now())?;
        engine.store.flush()?;
        Ok(incident)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(incident)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: Status,
    actor: ActorSpec,
}

pub async fn set_status(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Incident>, ApiError> {
    let body = body?;
    authorise(&state, &headers, true)?;
    let id = parse_id(&id)?;
    let req: StatusBody = json(&body)?;
    let actor = req.actor.into_actor()?;
    apply(&state, id, Change::SetStatus(req.status), actor).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
    actor: ActorSpec,
}

pub async fn add_note(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Incident>, ApiError> {
    let body = body?;
    authorise(&state, &headers, true)?;
    let id = parse_id(&id)?;
    let req: NoteBody = json(&body)?;
    let actor = req.actor.into_actor()?;
    apply(&state, id, Change::Note(req.text), actor).await
}

async fn apply(
    state: &HttpState,
    id: IncidentId,
    change: Change,
    actor: Actor,
) -> Result<Json<Incident>, ApiError> {
    let engine = state.engine.clone();
    let cause = format!("api:{:016x}", fastrand::u64(..));
    let incident = blocking(move || {
        let incident = engine.change(id, change, &actor, &cause, Utc::now())?;
        engine.store.flush()?;
        Ok(incident)
    })
    .await?;
    Ok(Json(incident))
}

/// Outbox entries (pending and dead letters), for operators.
pub async fn outbox(
    State(state): State<HttpState>,
    headers: HeaderMap,
) -> Result<Json<Vec<crate::outbox::OutboxItem>>, ApiError> {
    authorise(&state, &headers, false)?;
    Ok(Json(state.engine.store.outbox()?))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("task failed: {e}")))?
}
