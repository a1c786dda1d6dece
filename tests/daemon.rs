//! The daemon's spine, end to end: the real `warroom` binary with a temp data dir,
//! alert webhooks in, the incident API, restarts, signals, and `warroom check`.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use support::daemon::{write_config, Daemon};

const TOKEN: &str = "test-api-token-123";
const SECRET: &str = "generic-hmac-secret";

const FIRING: &str = include_str!("fixtures/alertmanager-firing.json");
const RESOLVED: &str = include_str!("fixtures/alertmanager-resolved.json");

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            r#"
[api]
token = "${{TEST_API_TOKEN}}"
[webhooks]
generic_secret = "{SECRET}"
max_body_kib = 64
[investigate]
enabled = false
"#
        ),
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

async fn post(daemon: &Daemon, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = client().post(daemon.url(path)).body(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn api(daemon: &Daemon, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = client().request(method, daemon.url(path)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn incidents(daemon: &Daemon) -> Vec<Value> {
    let (status, body) = api(daemon, reqwest::Method::GET, "/api/incidents", None).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

async fn timeline_kinds(daemon: &Daemon, id: u64) -> Vec<String> {
    let (status, body) = api(daemon, reqwest::Method::GET, &format!("/api/incidents/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    body["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect()
}

/// Everything the store holds that a bad request could have touched.
async fn snapshot(daemon: &Daemon) -> Vec<(u64, String, usize)> {
    let mut out = Vec::new();
    for incident in incidents(daemon).await {
        let id = incident["id"].as_u64().unwrap();
        out.push((
            id,
            incident["status"].as_str().unwrap().to_string(),
            timeline_kinds(daemon, id).await.len(),
        ));
    }
    out
}

#[tokio::test]
async fn alerts_open_repeat_clear_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let data = dir.path().join("data");
    let env = [("TEST_API_TOKEN", TOKEN)];
    let daemon = Daemon::start(&config, &data, &env);

    // Alertmanager fires two alerts: two incidents.
    let (status, report) = post(&daemon, "/webhooks/alertmanager", FIRING).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["opened"], json!([1, 2]));
    let list = incidents(&daemon).await;
    assert_eq!(list.len(), 2);
    let disk = list.iter().find(|i| i["id"] == 1).unwrap();
    assert_eq!(disk["title"], "Disk almost full on prod-db-01");
    assert_eq!(disk["severity"], "critical");
    assert_eq!(disk["status"], "open");
    assert_eq!(disk["source"], "alertmanager");
    assert!(disk["created_at"].as_str().unwrap().ends_with('Z'), "RFC 3339 in UTC");

    // Alertmanager repeats itself: still two incidents, each with a "repeated" entry.
    let (_, report) = post(&daemon, "/webhooks/alertmanager", FIRING).await;
    assert_eq!(report["opened"], json!([]));
    assert_eq!(report["repeated"], json!([1, 2]));
    assert_eq!(incidents(&daemon).await.len(), 2);
    for id in [1, 2] {
        assert_eq!(timeline_kinds(&daemon, id).await, vec!["created", "alert_repeated"]);
    }

    // The alerts clear: a timeline entry, but the bot resolves nothing.
    let (_, report) = post(&daemon, "/webhooks/alertmanager", RESOLVED).await;
    assert_eq!(report["cleared"], json!([1, 2]));
    for incident in incidents(&daemon).await {
        assert_eq!(incident["status"], "open");
    }
    assert_eq!(timeline_kinds(&daemon, 1).await, vec!["created", "alert_repeated", "alert_cleared"]);

    // The bot may not resolve; alice may. Without the token nobody may.
    let bot = json!({"status": "resolved", "actor": {"type": "bot"}});
    let (status, body) = api(&daemon, reqwest::Method::POST, "/api/incidents/1/status", Some(bot)).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "only a human can mark an incident resolved");
    let (status, _) =
        post(&daemon, "/api/incidents/1/status", json!({"status":"resolved","actor":"alice"}).to_string())
            .await;
    assert_eq!(status, 401, "no bearer token");
    let alice = json!({"status": "resolved", "actor": "alice"});
    let (status, body) =
        api(&daemon, reqwest::Method::POST, "/api/incidents/1/status", Some(alice.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "resolved");
    assert_eq!(body["resolved_by"]["id"], "alice");
    let (status, body) = api(&daemon, reqwest::Method::POST, "/api/incidents/1/status", Some(alice)).await;
    assert_eq!(status, 409, "already resolved: {body}");
    let (_, detail) = api(&daemon, reqwest::Method::GET, "/api/incidents/1", None).await;
    let last = detail["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "status_changed");
    assert_eq!(last["to"], "resolved");
    assert_eq!(last["actor"]["type"], "human");

    // The CLI reads the same API.
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["incidents", "list", "--server", &daemon.base, "--token", TOKEN])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}{}", String::from_utf8_lossy(&out.stderr));
    assert!(table.contains("Disk almost full on prod-db-01") && table.contains("resolved"), "{table}");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
            .args(args)
            .args(["--server", &daemon.base])
            .env("WARROOM_API_TOKEN", TOKEN)
            .current_dir(dir.path()) // where ./config.toml is the test's own
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let open: Value =
        serde_json::from_str(&cli(&["incidents", "list", "--status", "open", "--json"])).unwrap();
    assert_eq!(open.as_array().map(|a| a.iter().map(|i| i["id"].clone()).collect()), Some(vec![json!(2)]));
    let shown = cli(&["incidents", "show", "#1"]);
    assert!(shown.contains("#1 Disk almost full on prod-db-01"), "{shown}");
    assert!(shown.contains("alert cleared") && shown.contains("status open → resolved"), "{shown}");

    // SIGINT (Ctrl-C): a clean exit. Then a restart on the same data directory.
    let before = snapshot(&daemon).await;
    assert!(daemon.signal("INT").success(), "exit 0 on SIGINT");
    let daemon = Daemon::start(&config, &data, &env);
    assert_eq!(snapshot(&daemon).await, before, "everything survived the restart");

    // The index survived too: #2 is still open, so it repeats; #1 was resolved, so the
    // disk alert firing again opens a new incident.
    let (_, report) = post(&daemon, "/webhooks/alertmanager", FIRING).await;
    assert_eq!(report["opened"], json!([3]));
    assert_eq!(report["repeated"], json!([2]));
    assert!(daemon.terminate().success());
}

#[tokio::test]
async fn bad_requests_get_a_reason_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&config(dir.path()), &dir.path().join("data"), &[("TEST_API_TOKEN", TOKEN)]);
    post(&daemon, "/webhooks/alertmanager", FIRING).await;
    let before = snapshot(&daemon).await;

    // Malformed JSON and missing fields: 400 saying what is wrong.
    let (status, body) = post(&daemon, "/webhooks/alertmanager", "{\"version\":\"4\",").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("invalid Alertmanager payload"), "{body}");
    let (status, body) =
        post(&daemon, "/webhooks/alertmanager", r#"{"version":"4","alerts":[{"labels":{}}]}"#).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("missing field `status`"), "{body}");

    // Signed generic webhook: bad signature, stale timestamp, no signature → 401.
    let alert = include_str!("fixtures/generic-alert.json");
    let now = chrono::Utc::now().timestamp();
    let send = |ts: i64, sig: Option<String>| {
        let mut request = client()
            .post(daemon.url("/webhooks/generic"))
            .header("X-Warroom-Timestamp", ts.to_string())
            .body(alert);
        if let Some(sig) = sig {
            request = request.header("X-Warroom-Signature", sig);
        }
        request.send()
    };
    let response =
        send(now, Some(warroom::verify::sign_generic("wrong-secret", now, alert.as_bytes()))).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "bad signature");
    let stale = now - 600;
    let response =
        send(stale, Some(warroom::verify::sign_generic(SECRET, stale, alert.as_bytes()))).await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("stale"));
    assert_eq!(send(now, None).await.unwrap().status(), 401);

    // Over max_body_kib (64 KiB here): 413.
    let huge = format!("{{\"version\":\"4\",\"alerts\":[],\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let (status, body) = post(&daemon, "/webhooks/alertmanager", huge).await;
    assert_eq!(status, 413);
    assert!(body["error"].as_str().unwrap().contains("too large"), "{body}");

    // Unknown endpoint and unknown incident.
    let (status, _) = post(&daemon, "/webhooks/nagios", "{}").await;
    assert_eq!(status, 404);
    let (status, body) = api(&daemon, reqwest::Method::GET, "/api/incidents/99", None).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (404, "incident #99 does not exist"));

    assert_eq!(snapshot(&daemon).await, before, "no rejected request touched the store");

    // And a correctly signed one goes through.
    let response =
        send(now, Some(warroom::verify::sign_generic(SECRET, now, alert.as_bytes()))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["opened"], json!([3]));
    let (status, body) =
        api(&daemon, reqwest::Method::GET, "/api/incidents?source=webhook&q=backup", None).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body[0]["title"], "Nightly backup failed");
}

/// An alert storm is not refused (Alertmanager would drop the lot); odd requests get
/// JSON reasons; the bot starting an investigation does not count as acknowledging.
#[tokio::test]
async fn storms_odd_requests_and_what_the_bot_may_not_do() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&config(dir.path()), &dir.path().join("data"), &[("TEST_API_TOKEN", TOKEN)]);
    let alerts: Vec<Value> = (0..520)
        .map(|n| {
            json!({"status": if n < 40 { "resolved" } else { "firing" }, "labels": {"alertname": format!("Node{n}Down")},
                   "annotations": {"summary": format!("node-{n} is down")}, "fingerprint": format!("fp{n}")})
        })
        .collect();
    let storm = json!({"version": "4", "status": "firing", "alerts": alerts}).to_string();
    let (status, report) = post(&daemon, "/webhooks/alertmanager", storm).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["opened"].as_array().unwrap().len(), 480, "every firing alert opened");
    assert_eq!(report["dropped"], 20, "resolved ones were left out first");

    let (status, body) = api(&daemon, reqwest::Method::GET, "/api/incidents?limit=lots", None).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
    let (status, body) = api(&daemon, reqwest::Method::DELETE, "/api/incidents/1", None).await;
    assert_eq!(status, 405);
    assert!(body["error"].as_str().unwrap().contains("DELETE"), "{body}");

    let bot = json!({"status": "investigating", "actor": {"type": "bot"}});
    let (status, body) = api(&daemon, reqwest::Method::POST, "/api/incidents/1/status", Some(bot)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "investigating");
    assert_eq!(body.get("acked_by"), None, "the bot is nobody's acknowledgement: escalation goes on");
}

#[tokio::test]
async fn health_and_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&config(dir.path()), &dir.path().join("data"), &[]);
    assert_eq!(client().get(daemon.url("/healthz")).send().await.unwrap().status(), 200);
    let ready = client().get(daemon.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap(), json!({"ready": true, "platforms": {}}));
    let metrics = client().get(daemon.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("warroom_incidents{status=\"open\"} 0"), "{metrics}");
    // Without api.token, reads work and writes are refused.
    let (status, body) =
        post(&daemon, "/api/incidents", json!({"title":"x","actor":"alice"}).to_string()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "the API is read-only until api.token is set");
}

#[test]
fn check_accepts_the_shipped_config_and_names_a_misspelled_key() {
    let shipped = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["check", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml")])
        .output()
        .unwrap();
    assert_eq!(shipped.status.code(), Some(0), "{}", String::from_utf8_lossy(&shipped.stderr));

    let dir = tempfile::tempdir().unwrap();
    let bad =
        write_config(dir.path(), "[server]\nlisten = \"127.0.0.1:8080\"\n\n[storage]\npaht = \"./data\"\n");
    let out =
        Command::new(env!("CARGO_BIN_EXE_warroom")).args(["check", "--config"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("storage.paht") && stderr.contains("line 5"), "{stderr}");

    // `run` refuses the same file before binding anything.
    let out =
        Command::new(env!("CARGO_BIN_EXE_warroom")).args(["run", "--config"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn the_console_runs_the_same_incident_flow_from_a_script() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["console", "--user", "alice", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml")])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let script = "@warroom thanks!\n\
                  @warroom checkout is throwing 500s for everyone\n\
                  1\n\
                  t3: rolled back to v41\n\
                  /incident status 1\n\
                  4\n\
                  /incident list\n";
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // The chatter gets a hint, the alert a card with numbered buttons.
    assert!(stdout.contains("Not opening an incident"), "{stdout}");
    assert!(stdout.contains("#1 · checkout is throwing 500s for everyone [OPEN]"), "{stdout}");
    assert!(
        stdout.contains("[1] Acknowledge #1  [2] Escalate #1  [3] Mitigated #1  [4] Resolve #1"),
        "{stdout}"
    );
    // Pressing [1] edits the card in place and says so in the thread.
    assert!(stdout.contains("edited message") && stdout.contains("[INVESTIGATING]"), "{stdout}");
    assert!(stdout.contains("#1 acknowledged by alice"), "{stdout}");
    // The reply became a note, visible in the status.
    assert!(stdout.contains("note: rolled back to v41"), "{stdout}");
    // Pressing [4] (Resolve on the first card) resolves; the list is then empty.
    assert!(stdout.contains("[RESOLVED]") && stdout.contains("resolved by alice"), "{stdout}");
    assert!(stdout.contains("No open incidents"), "{stdout}");
}

/// Escalation timers are durable: nobody acknowledges, the steps fire one after
/// another, a restart in between forgets nothing, and an acknowledgement stops them.
#[tokio::test]
async fn unacknowledged_incidents_escalate_step_by_step_across_a_restart() {
    use support::app::TestApp;
    use warroom::engine::{Change, NewIncident};
    use warroom::model::{Actor, Person, Severity, Source};

    let mut app = TestApp::start(
        r#"
[escalation]
page = ["@oncall"]
[[escalation.steps]]
after_mins = 5
notify = ["@secondary"]
[[escalation.steps]]
after_mins = 10
notify = ["@manager"]
"#,
    )
    .await;
    let opened = chrono::Utc::now();
    let new = NewIncident {
        title: "payments down".into(),
        description: String::new(),
        severity: Severity::Critical,
        severity_confirmed: false,
        source: Source::Api,
        fingerprint: None,
        labels: Default::default(),
        thread: None,
        post_to: Vec::new(),
        classified: None,
        usage: Default::default(),
    };
    let engine = app.running().engine.clone();
    let incident = engine.open(new, Actor::Bot, "test", opened).unwrap();
    let escalations = |app: &TestApp| -> Vec<(u32, Vec<String>)> {
        app.timeline(incident.id)
            .into_iter()
            .filter_map(|e| match e.kind {
                warroom::model::EntryKind::Escalated { step, who } => Some((step, who)),
                _ => None,
            })
            .collect()
    };
    assert!(app
        .timeline(incident.id)
        .iter()
        .any(|e| e.kind == warroom::model::EntryKind::Paged { who: vec!["@oncall".into()] }));

    // Four minutes in: nothing yet. Five: the first step.
    engine.fire_due_timers(opened + chrono::Duration::minutes(4)).unwrap();
    assert!(escalations(&app).is_empty());
    engine.fire_due_timers(opened + chrono::Duration::minutes(5)).unwrap();
    assert_eq!(escalations(&app), vec![(1, vec!["@secondary".to_string()])]);

    // warroom restarts; the second step is still due ten minutes after the first.
    drop(engine); // the database is opened once per process
    app.restart().await;
    let engine = app.running().engine.clone();
    engine.fire_due_timers(opened + chrono::Duration::minutes(14)).unwrap();
    assert_eq!(escalations(&app).len(), 1);
    engine.fire_due_timers(opened + chrono::Duration::minutes(15)).unwrap();
    assert_eq!(
        escalations(&app),
        vec![(1, vec!["@secondary".to_string()]), (2, vec!["@manager".to_string()])]
    );

    // The policy is exhausted; and an acknowledgement stops escalation anyway.
    let alice = Actor::Human(Person::new("api", "alice", None));
    engine
        .change(incident.id, Change::Acknowledge, &alice, "test", opened + chrono::Duration::minutes(16))
        .unwrap();
    engine.fire_due_timers(opened + chrono::Duration::hours(5)).unwrap();
    assert_eq!(escalations(&app).len(), 2);
    assert!(app.store().timers().unwrap().iter().all(|t| t.kind != warroom::store::TimerKind::Escalate));
}

/// Alertmanager and Grafana can send a bearer token; Grafana can also sign.
#[tokio::test]
async fn webhook_tokens_and_grafana_signatures() {
    use support::app::TestApp;
    let app = TestApp::start(
        r#"
[webhooks]
token = "am-token-123"
grafana_hmac_secret = "grafana-secret"
"#,
    )
    .await;
    let firing = include_str!("fixtures/alertmanager-firing.json");
    let grafana = include_str!("fixtures/grafana-firing.json");
    let c = client();
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(c.post(app.url("/webhooks/alertmanager")).body(firing).send().await.unwrap()), 401);
    assert_eq!(
        status(
            c.post(app.url("/webhooks/alertmanager")).bearer_auth("wrong").body(firing).send().await.unwrap()
        ),
        401
    );
    assert!(app.incidents().is_empty());
    assert_eq!(
        status(
            c.post(app.url("/webhooks/alertmanager"))
                .bearer_auth("am-token-123")
                .body(firing)
                .send()
                .await
                .unwrap()
        ),
        200
    );
    assert_eq!(app.incidents().len(), 2);

    // Grafana: token and a valid signature over the raw body.
    let sig = warroom::verify::hmac_sha256_hex(b"grafana-secret", &[grafana.as_bytes()]);
    let unsigned =
        c.post(app.url("/webhooks/grafana")).bearer_auth("am-token-123").body(grafana).send().await.unwrap();
    assert_eq!(status(unsigned), 401);
    let signed = c
        .post(app.url("/webhooks/grafana"))
        .bearer_auth("am-token-123")
        .header("X-Grafana-Alerting-Signature", sig)
        .body(grafana)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    assert_eq!(signed.json::<Value>().await.unwrap()["opened"], json!([3]));
    let incident = app.store().incident(3).unwrap().unwrap();
    assert_eq!(incident.title, "CPU above 90% on web-3");
    assert_eq!(incident.source, warroom::model::Source::Grafana);
    assert!(
        incident.description.contains("value=97.3")
            && incident.description.contains("dashboard: https://grafana.example.com/d/node")
    );
}

/// Tokens never reach the logs, even when every platform is failing and logging about it.
#[test]
fn tokens_stay_out_of_the_logs_when_platforms_fail() {
    let dir = tempfile::tempdir().unwrap();
    // Ports nothing listens on: every platform call fails and gets logged.
    let closed = |_: ()| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (slack, telegram, discord) = (closed(()), closed(()), closed(()));
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[slack]
bot_token = "${{T_SLACK}}"
app_token = "${{T_SLACK_APP}}"
api_url = "{slack}/api"
[telegram]
token = "${{T_TELEGRAM}}"
api_url = "{telegram}"
[discord]
token = "${{T_DISCORD}}"
application_id = "700"
api_url = "{discord}"
[api]
token = "${{T_API}}"
"#
        ),
    );
    let secrets = [
        ("T_SLACK", "xoxb-1111111111-2222222222-SECRETSLACKTOKEN"),
        ("T_SLACK_APP", "xapp-1-A1111111-3333333333-secretapptoken"),
        ("T_TELEGRAM", "123456789:AAEhBP0av28dHs8i7yDaqYpc0cxTGT8khYc"),
        ("T_DISCORD", "MTAxMTExMTExMTExMTExMTEx.GSECRT.discordtokensecretvalue123"),
        ("T_API", "api-token-secret-value-42"),
    ];
    let daemon = Daemon::start(&config, &dir.path().join("data"), &secrets);
    // Wait until each platform has logged a failure (they retry with backoff).
    let mut logs = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        logs.extend(daemon.drain_logs());
        let text = logs.join("\n");
        if text.contains("slack")
            && text.contains("telegram")
            && text.contains("discord")
            && text.matches("WARN").count() + text.matches("ERROR").count() >= 3
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = daemon.terminate();
    let text = logs.join("\n");
    if std::env::var("SHOW_LOGS").is_ok() {
        eprintln!("{text}");
    }
    assert!(status.success());
    assert!(text.contains("WARN") || text.contains("ERROR"), "the platforms' failures were logged:\n{text}");
    for (name, secret) in secrets {
        assert!(!text.contains(secret), "{name} leaked into the logs:\n{text}");
        // Not even a recognisable piece of it.
        assert!(
            !text.contains(&secret[secret.len() - 12..]),
            "{name} leaked (in part) into the logs:\n{text}"
        );
    }
}
