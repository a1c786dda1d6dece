//! Slack, end to end: the real slack-morphism client (socket mode and Web API) against
//! a fake Slack on 127.0.0.1. Each test reads as what people in #ops would see.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::app::TestApp;
use support::slack::{app_mention, thread_message, FakeSlack, Fault, BOT_USER};
use warroom::model::{Actor, EntryKind, Source, Status};

const OPS: &str = "C0OPS";
const ALERTS: &str = "C0ALERTS";

async fn start(fake: &FakeSlack, extra: &str) -> TestApp {
    let app = TestApp::start(&format!(
        r#"
[slack]
bot_token = "xoxb-1234567890-test"
app_token = "xapp-1-A1-1-test"
api_url = "{}"
alert_channel = "{ALERTS}"
socket_connections = 1
{extra}
"#,
        fake.api_url
    ))
    .await;
    fake.wait_connections(1).await;
    app
}

#[tokio::test]
async fn an_alert_mention_opens_one_incident_with_a_card_in_its_thread() {
    let fake = FakeSlack::start().await;
    fake.add_person("U1", "alice");
    let app = start(&fake, "").await;

    // alice mentions the bot in #ops.
    let mention = app_mention(
        "U1",
        OPS,
        "1700000000.000100",
        None,
        &format!("<@{BOT_USER}> checkout is throwing 500s for everyone"),
    );
    let envelope = fake.deliver_event("env-1", "Ev1", mention.clone());
    fake.wait_ack(&envelope).await;

    // One reply appears in the thread: the incident card with the four buttons.
    let card = fake.wait("the incident card", |v| v.card_in(OPS, "1700000000.000100").cloned()).await;
    assert_eq!(card.buttons(), vec!["ack:1", "escalate:1", "mitigate:1", "resolve:1"]);
    let text = card.visible();
    assert!(text.contains("#1 · checkout is throwing 500s for everyone"), "{text}");
    assert!(text.contains("OPEN") && text.contains("Reported by*\nalice"), "the reporter by name: {text}");
    let incidents = app.wait_incidents(1).await;
    assert_eq!(incidents[0].source, Source::Slack);
    assert_eq!(incidents[0].threads[0].thread, "1700000000.000100");

    // Slack delivers the same envelope again (and the same message as a `message`
    // event): nothing new happens.
    let again = fake.deliver_event("env-1b", "Ev1", mention);
    fake.wait_ack(&again).await;
    let twin = fake.deliver_event(
        "env-1c",
        "Ev1-message",
        thread_message(
            "U1",
            OPS,
            "1700000000.000100",
            "1700000000.000100",
            "<@U0BOT> checkout is throwing 500s for everyone",
        ),
    );
    fake.wait_ack(&twin).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 1);
    assert_eq!(fake.view().calls_to("chat.postMessage").len(), 1, "exactly one reply");

    // A human reply in the thread becomes a timeline note.
    let reply = fake.deliver_event(
        "env-2",
        "Ev2",
        thread_message("U2", OPS, "1700000000.000300", "1700000000.000100", "rolled back checkout to v41"),
    );
    fake.wait_ack(&reply).await;
    app.settle().await;
    let timeline = app.timeline(1);
    assert!(timeline
        .iter()
        .any(|e| e.kind == EntryKind::Note { text: "rolled back checkout to v41".into() }));
}

#[tokio::test]
async fn chatter_gets_a_hint_and_investigate_opens_it_anyway() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;

    let thanks = fake.deliver_event(
        "env-1",
        "Ev1",
        app_mention("U1", OPS, "1700000000.000100", None, "<@U0BOT> thanks!"),
    );
    fake.wait_ack(&thanks).await;
    let hint =
        fake.wait("the hint", |v| v.thread(OPS, "1700000000.000100").first().map(|m| m.visible())).await;
    assert!(hint.contains("Not opening an incident") && hint.contains("investigate"), "{hint}");
    app.settle().await;
    assert!(app.incidents().is_empty());

    // bob disagrees: "investigate" in the thread opens it, reported by the original author.
    let override_ = fake.deliver_event(
        "env-2",
        "Ev2",
        thread_message("U2", OPS, "1700000000.000200", "1700000000.000100", "investigate"),
    );
    fake.wait_ack(&override_).await;
    let incidents = app.wait_incidents(1).await;
    assert_eq!(incidents[0].created_by, Actor::Human(warroom::model::Person::new("slack", "U1", None)));
    let classified = app.timeline(1).into_iter().find_map(|e| match e.kind {
        EntryKind::Classified { tier, reasons, .. } => Some((tier, reasons)),
        _ => None,
    });
    assert_eq!(classified, Some(("override".to_string(), vec!["forced_investigate".to_string()])));
}

#[tokio::test]
async fn buttons_move_the_incident_and_the_card_is_updated_in_place() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;
    fake.deliver_event(
        "env-1",
        "Ev1",
        app_mention("U9", OPS, "1700000000.000100", None, "<@U0BOT> payments API is down"),
    );
    let card = fake.wait("the card", |v| v.card_in(OPS, "1700000000.000100").cloned()).await;

    // alice presses Acknowledge.
    let press = fake.press("env-2", "U1", "alice", &card, "ack:1");
    fake.wait_ack(&press).await;
    let updated = fake
        .wait("the card to show INVESTIGATING", |v| {
            v.messages.iter().find(|m| m.ts == card.ts && m.visible().contains("INVESTIGATING")).cloned()
        })
        .await;
    assert!(updated.visible().contains("Acknowledged by") && updated.visible().contains("alice"));
    assert_eq!(updated.edits, 1, "edited in place, not re-posted");
    fake.wait("the thread line", |v| {
        v.thread(OPS, "1700000000.000100")
            .iter()
            .any(|m| m.text.contains("#1 acknowledged by alice"))
            .then_some(())
    })
    .await;
    let incident = app.store().incident(1).unwrap().unwrap();
    assert_eq!(incident.status, Status::Investigating);
    assert_eq!(incident.acked_by.as_ref().map(|a| a.display()), Some("alice".to_string()));

    // Pressing Acknowledge again is refused, with an explanation only alice sees.
    fake.press("env-3", "U1", "alice", &card, "ack:1");
    let refusal = fake.wait("the refusal", |v| v.ephemerals.first().cloned()).await;
    assert_eq!(refusal.user, "U1");
    assert!(refusal.text.contains("already acknowledged by alice"), "{}", refusal.text);

    // alice resolves.
    fake.press("env-4", "U1", "alice", &card, "resolve:1");
    let resolved = fake
        .wait("the card to show RESOLVED", |v| {
            v.messages.iter().find(|m| m.ts == card.ts && m.visible().contains("RESOLVED")).cloned()
        })
        .await;
    assert_eq!(resolved.buttons(), vec!["reopen:1"]);
    app.settle().await;
    let incident = app.store().incident(1).unwrap().unwrap();
    assert_eq!(incident.status, Status::Resolved);
    let steps: Vec<(String, String)> = app
        .timeline(1)
        .into_iter()
        .filter_map(|e| match e.kind {
            EntryKind::StatusChanged { to, .. } => Some((to.to_string(), e.actor.display())),
            EntryKind::Acknowledged => Some(("acknowledged".into(), e.actor.display())),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("acknowledged".to_string(), "alice".to_string()),
            ("investigating".to_string(), "alice".to_string()),
            ("resolved".to_string(), "alice".to_string())
        ]
    );
}

#[tokio::test]
async fn slash_commands_open_and_list() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;

    let open = fake.deliver_slash_command("env-1", "U1", OPS, "open high db down");
    fake.wait_ack(&open).await;
    // The card goes to the top of #ops and starts its own thread.
    let card = fake.wait("the card", |v| v.top_level(OPS).first().cloned().cloned()).await;
    assert!(card.visible().contains("#1 · db down") && card.visible().contains("high"), "{}", card.visible());
    let incident = &app.wait_incidents(1).await[0];
    assert!(incident.severity_confirmed, "a human chose the severity");
    assert!(fake.view().ephemerals.is_empty(), "the card says it all; no extra confirmation");

    fake.deliver_slash_command("env-2", "U1", OPS, "list");
    let list = fake
        .wait("the list", |v| v.ephemerals.iter().find(|e| e.text.contains("open incident")).cloned())
        .await;
    assert!(list.text.contains("#1") && list.text.contains("db down"), "{}", list.text);

    fake.deliver_slash_command("env-3", "U1", OPS, "frobnicate 3");
    let usage =
        fake.wait("the usage", |v| v.ephemerals.iter().find(|e| e.text.contains("Usage")).cloned()).await;
    assert!(usage.text.contains("unrecognized subcommand"), "{}", usage.text);
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_message_arrives_once() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;
    fake.fail_next("chat.postMessage", Fault::RateLimited(1));
    let sent = Instant::now();
    fake.deliver_event(
        "env-1",
        "Ev1",
        app_mention("U1", OPS, "1700000000.000100", None, "<@U0BOT> the queue backlog is growing"),
    );
    fake.wait("the card after the 429", |v| v.card_in(OPS, "1700000000.000100").cloned()).await;
    assert!(sent.elapsed() >= Duration::from_secs(1), "not before Retry-After");
    app.settle().await;
    let view = fake.view();
    assert_eq!(view.calls_to("chat.postMessage").len(), 2, "one refused, one delivered");
    assert_eq!(view.thread(OPS, "1700000000.000100").len(), 1, "it arrived once");
}

#[tokio::test]
async fn a_5xx_is_retried_until_delivered() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;
    fake.fail_next("chat.postMessage", Fault::ServerError);
    fake.fail_next("chat.postMessage", Fault::ServerError);
    fake.deliver_event(
        "env-1",
        "Ev1",
        app_mention("U1", OPS, "1700000000.000100", None, "<@U0BOT> disk full on prod-db-01"),
    );
    fake.wait("the card after two 500s", |v| v.card_in(OPS, "1700000000.000100").cloned()).await;
    app.settle().await;
    assert_eq!(fake.view().thread(OPS, "1700000000.000100").len(), 1);
}

#[tokio::test]
async fn a_socket_disconnect_loses_and_doubles_nothing() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;

    let first = app_mention("U1", OPS, "1700000000.000100", None, "<@U0BOT> api latency is 9s");
    fake.deliver_event("env-1", "Ev1", first.clone());
    fake.wait_ack("env-1").await;
    // Slack refreshes the connection mid-stream.
    fake.disconnect();
    fake.wait_connections(2).await;
    // A new event on the new connection, and Slack redelivering the first one.
    fake.deliver_event(
        "env-2",
        "Ev2",
        app_mention("U2", OPS, "1700000000.000200", None, "<@U0BOT> login is failing for all users"),
    );
    fake.deliver_event("env-1", "Ev1", first);
    fake.wait_ack("env-2").await;
    app.wait_incidents(2).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 2, "nothing lost, nothing doubled");
    assert_eq!(fake.view().calls_to("chat.postMessage").len(), 2);
}

#[tokio::test]
async fn webhook_alerts_open_threads_in_the_alert_channel_and_ask_before_resolving() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;
    let firing = include_str!("fixtures/alertmanager-firing.json");
    assert_eq!(app.alertmanager(firing).await, 200);

    // Two cards at the top of #alerts, each the root of its own thread.
    let cards = fake
        .wait("two cards in #alerts", |v| {
            (v.top_level(ALERTS).len() == 2)
                .then(|| v.top_level(ALERTS).into_iter().cloned().collect::<Vec<_>>())
        })
        .await;
    assert!(cards[0].visible().contains("Disk almost full on prod-db-01"));
    app.settle().await;
    let incident = app.store().incident(1).unwrap().unwrap();
    assert_eq!(incident.threads[0].channel, ALERTS);
    assert_eq!(incident.threads[0].thread, cards[0].ts);

    // The alert clears: the bot asks in the thread, with a Resolve button; it does not resolve.
    let resolved = include_str!("fixtures/alertmanager-resolved.json");
    assert_eq!(app.alertmanager(resolved).await, 200);
    let question = fake
        .wait("the question", |v| {
            v.thread(ALERTS, &cards[0].ts).into_iter().find(|m| m.visible().contains("cleared")).cloned()
        })
        .await;
    assert_eq!(question.buttons(), vec!["resolve:1"]);
    assert_eq!(app.store().incident(1).unwrap().unwrap().status, Status::Open);

    // A human reply in that thread is a note on the incident.
    fake.deliver_event(
        "env-1",
        "Ev1",
        thread_message("U1", ALERTS, "1700000100.900000", &cards[0].ts, "cleaned up WAL files"),
    );
    fake.wait_ack("env-1").await;
    app.settle().await;
    assert!(app
        .timeline(1)
        .iter()
        .any(|e| e.kind == EntryKind::Note { text: "cleaned up WAL files".into() }));
}

mod http_mode {
    use super::*;
    use warroom::verify::sign_slack;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

    async fn start_http(fake: &FakeSlack) -> TestApp {
        TestApp::start(&format!(
            r#"
[slack]
bot_token = "xoxb-1234567890-test"
signing_secret = "{SECRET}"
mode = "http"
api_url = "{}"
"#,
            fake.api_url
        ))
        .await
    }

    async fn send(app: &TestApp, path: &str, body: &str, ts: i64, secret: &str) -> (u16, String) {
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(app.url(path))
            .header("X-Slack-Request-Timestamp", ts.to_string())
            .header("X-Slack-Signature", sign_slack(secret, ts, body.as_bytes()))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    #[tokio::test]
    async fn signed_requests_are_accepted_and_forged_or_stale_ones_refused() {
        let fake = FakeSlack::start().await;
        let app = start_http(&fake).await;
        let now = chrono::Utc::now().timestamp();

        let challenge = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let (status, body) = send(&app, "/slack/events", challenge, now, SECRET).await;
        assert_eq!(status, 200);
        assert!(body.contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"));

        let event = json!({"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1700000000,
            "event": app_mention("U1", OPS, "1700000000.000100", None, "<@U0BOT> search is returning 503s")})
        .to_string();
        let (status, body) = send(&app, "/slack/events", &event, now, "not-the-secret").await;
        assert_eq!((status, body.contains("bad signature")), (401, true), "{body}");
        let (status, body) = send(&app, "/slack/events", &event, now - 301, SECRET).await;
        assert_eq!((status, body.contains("stale")), (401, true), "{body}");
        assert!(app.store().inbox().unwrap().is_empty() && app.incidents().is_empty(), "nothing stored");

        let (status, _) = send(&app, "/slack/events", &event, now, SECRET).await;
        assert_eq!(status, 200);
        fake.wait("the card", |v| v.card_in(OPS, "1700000000.000100").cloned()).await;
        assert_eq!(app.incidents().len(), 1);

        // Slash command and interactivity are form-encoded and signed the same way.
        let form = serde_urlencoded::to_string([
            ("team_id", "T1"),
            ("channel_id", OPS),
            ("user_id", "U1"),
            ("command", "/incident"),
            ("text", "ack 1"),
            ("response_url", &format!("{}/response/1", fake.base)),
            ("trigger_id", "t-1"),
        ])
        .unwrap();
        let (status, _) = send(&app, "/slack/commands", &form, now, SECRET).await;
        assert_eq!(status, 200);
        fake.wait("ack to apply", |v| {
            v.ephemerals.iter().any(|e| e.text.contains("#1 acknowledged")).then_some(())
        })
        .await;
        let (status, _) = send(&app, "/slack/interactivity", &form, now, "wrong").await;
        assert_eq!(status, 401);

        // A signed button press (form field `payload`) resolves, attributed to bob.
        let card = fake.view().card_in(OPS, "1700000000.000100").cloned().unwrap();
        let press = support::slack::block_action(
            "U2",
            "bob",
            &card,
            "resolve:1",
            &format!("{}/response/2", fake.base),
            "press-1",
        );
        let form = serde_urlencoded::to_string([("payload", press.to_string())]).unwrap();
        let (status, _) = send(&app, "/slack/interactivity", &form, now, SECRET).await;
        assert_eq!(status, 200);
        let resolved = support::eventually(Duration::from_secs(10), "the press to apply", || async {
            app.store().incident(1).unwrap().filter(|i| i.status == Status::Resolved)
        })
        .await;
        assert_eq!(resolved.resolved_by.unwrap().display(), "bob");
    }
}

#[tokio::test]
async fn pages_and_escalations_really_mention_the_people_configured() {
    let fake = FakeSlack::start().await;
    let app = start(
        &fake,
        "[escalation]\npage = [\"slack:<@U0ONCALL>\", \"discord:<@42>\"]\n[[escalation.steps]]\nafter_mins = 5\nnotify = [\"<!subteam^S0LEADS>\"]\n",
    )
    .await;
    fake.deliver_event(
        "env-1",
        "Ev1",
        app_mention("U1", OPS, "1700000000.000100", None, "<@U0BOT> <!channel> payments are down"),
    );
    let page = fake
        .wait("the page", |v| {
            v.thread(OPS, "1700000000.000100").into_iter().find(|m| m.text.contains("Paging")).cloned()
        })
        .await;
    // The configured mention is written as is (it pings); the Discord one is not here.
    assert!(page.text.starts_with("<@U0ONCALL> "), "{}", page.text);
    assert!(
        page.visible().contains("<@U0ONCALL>") && !page.visible().contains("<@42>"),
        "{}",
        page.visible()
    );
    // …while text from chat stays escaped: `<!channel>` in the report pings nobody.
    let card = fake.view().card_in(OPS, "1700000000.000100").cloned().unwrap();
    assert!(!card.visible().contains("<!channel>"), "{}", card.visible());

    // Nobody acknowledges: the first escalation step notifies the leads' group.
    let engine = app.running().engine.clone();
    assert_eq!(engine.fire_due_timers(chrono::Utc::now() + chrono::Duration::minutes(6)).unwrap(), 1);
    let escalation = fake
        .wait("the escalation", |v| {
            v.thread(OPS, "1700000000.000100").into_iter().find(|m| m.text.contains("escalated")).cloned()
        })
        .await;
    assert!(escalation.text.starts_with("<!subteam^S0LEADS> "), "{}", escalation.text);
}

/// Operators write channel names; Slack answers with ids. Cards go to the channel for
/// their severity, replies there are notes, and an alert that clears and fires again
/// is said out loud in its thread.
#[tokio::test]
async fn alerts_go_to_named_channels_by_severity_and_a_refire_is_announced() {
    const PAGER: &str = "C0PAGER";
    let fake = FakeSlack::start().await;
    fake.add_channel("#alerts", ALERTS);
    fake.add_channel("#pager", PAGER);
    let app = TestApp::start(&format!(
        r##"
[slack]
bot_token = "xoxb-1234567890-test"
app_token = "xapp-1-A1-1-test"
api_url = "{}"
alert_channel = "#alerts"
socket_connections = 1
[slack.severity_channels]
critical = "#pager"
"##,
        fake.api_url
    ))
    .await;
    fake.wait_connections(1).await;
    let firing = include_str!("fixtures/alertmanager-firing.json");
    assert_eq!(app.alertmanager(firing).await, 200);

    // The critical disk alert pages #pager; the error-rate alert goes to #alerts.
    let disk = fake.wait("the disk card in #pager", |v| v.top_level(PAGER).first().cloned().cloned()).await;
    assert!(disk.visible().contains("Disk almost full") && disk.visible().contains("🔥 firing"));
    let errors =
        fake.wait("the 5xx card in #alerts", |v| v.top_level(ALERTS).first().cloned().cloned()).await;
    assert!(errors.visible().contains("HighErrorRate"));
    app.settle().await;
    assert_eq!(app.store().incident(1).unwrap().unwrap().threads[0].channel, PAGER, "bound under the id");

    // A reply in #pager's thread is a note on #1 (the event carries the channel id).
    fake.deliver_event("env-1", "Ev1", thread_message("U1", PAGER, "1700000100.900000", &disk.ts, "on it"));
    fake.wait_ack("env-1").await;
    app.settle().await;
    assert!(app.timeline(1).iter().any(|e| e.kind == EntryKind::Note { text: "on it".into() }));

    // The disk alert clears: the card says so and a human is asked to resolve.
    let resolved = include_str!("fixtures/alertmanager-resolved.json");
    assert_eq!(app.alertmanager(resolved).await, 200);
    fake.wait("the question", |v| {
        v.thread(PAGER, &disk.ts).into_iter().find(|m| m.visible().contains("cleared")).map(|_| ())
    })
    .await;
    let card = fake
        .wait("the card to say cleared", |v| {
            v.messages.iter().find(|m| m.ts == disk.ts && m.visible().contains("✅ cleared at")).cloned()
        })
        .await;
    assert_eq!(card.buttons().len(), 4, "still open, all four buttons");

    // …and fires again before anyone resolved: whoever was about to press Resolve hears it.
    let refire = firing.replace("2026-11-23T01:58:00Z", "2026-11-23T03:10:00Z");
    assert_eq!(app.alertmanager(refire.clone()).await, 200);
    let line = fake
        .wait("the refire line", |v| {
            v.thread(PAGER, &disk.ts).into_iter().find(|m| m.text.contains("firing again")).cloned()
        })
        .await;
    assert!(line.text.contains("The alert for #1 is firing again"), "{}", line.text);
    app.settle().await;
    // Alertmanager re-sending the same notification later is no news.
    assert_eq!(app.alertmanager(refire).await, 200);
    app.settle().await;
    let lines =
        fake.view().thread(PAGER, &disk.ts).iter().filter(|m| m.text.contains("firing again")).count();
    assert_eq!(lines, 1);
    assert_eq!(app.store().incident(1).unwrap().unwrap().status, Status::Open, "the bot changed nothing");
}

#[tokio::test]
async fn a_mention_inside_an_incident_thread_is_a_note_not_a_new_incident() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;
    fake.deliver_event(
        "env-1",
        "Ev1",
        app_mention("U1", OPS, "1700000000.000100", None, "<@U0BOT> payments are failing for everyone"),
    );
    fake.wait("the card", |v| v.card_in(OPS, "1700000000.000100").cloned()).await;
    // In the thread, bob mentions the bot with more symptoms.
    fake.deliver_event(
        "env-2",
        "Ev2",
        app_mention(
            "U2",
            OPS,
            "1700000000.000500",
            Some("1700000000.000100"),
            "<@U0BOT> also seeing 502s from the gateway",
        ),
    );
    fake.wait_ack("env-2").await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 1, "no second incident");
    assert!(app
        .timeline(1)
        .iter()
        .any(|e| e.kind == EntryKind::Note { text: "also seeing 502s from the gateway".into() }));
}

/// A refused token stops Slack for good: the operator sees it in /readyz and /metrics,
/// not only in one log line.
#[tokio::test]
async fn a_refused_token_shows_in_readyz_and_metrics() {
    let fake = FakeSlack::start().await;
    fake.fail_next("auth.test", Fault::Error("invalid_auth"));
    let app = TestApp::start(&format!(
        "[slack]\nbot_token = \"xoxb-revoked\"\napp_token = \"xapp-1-A1-1-test\"\napi_url = \"{}\"\n",
        fake.api_url
    ))
    .await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let ready = support::eventually(Duration::from_secs(10), "slack to be reported as failed", || async {
        let response = client.get(app.url("/readyz")).send().await.ok()?;
        let body: serde_json::Value = response.json().await.ok()?;
        let failed = body["platforms"]["slack"].as_str().is_some_and(|s| s != "up");
        failed.then_some(body)
    })
    .await;
    assert_eq!(ready["ready"], true, "webhooks still work: warroom stays ready");
    assert!(ready["platforms"]["slack"].as_str().unwrap().contains("slack.bot_token"), "{ready}");
    let metrics = client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("warroom_platform_up{platform=\"slack\"} 0"), "{metrics}");
    assert!(fake.view().calls_to("apps.connections.open").is_empty(), "no socket with a refused token");
}

/// The socket is opened with the app-level token, the Web API called with the bot token.
#[tokio::test]
async fn each_token_goes_where_it_belongs() {
    let fake = FakeSlack::start().await;
    let _app = start(&fake, "").await;
    let view = fake.view();
    let auth = |method: &str| view.calls_to(method).first().and_then(|c| c.auth.clone());
    assert_eq!(auth("apps.connections.open").as_deref(), Some("Bearer xapp-1-A1-1-test"));
    assert_eq!(auth("auth.test").as_deref(), Some("Bearer xoxb-1234567890-test"));
}

/// Slack posted the card but the answer never came back: the retry finds the card by
/// the outbox key in its metadata and does not post it twice.
#[tokio::test]
async fn a_post_whose_answer_was_lost_is_not_posted_twice() {
    let fake = FakeSlack::start().await;
    let app = start(&fake, "").await;
    fake.fail_next("chat.postMessage", Fault::AnswerLost);
    fake.deliver_event(
        "env-1",
        "Ev1",
        app_mention("U1", OPS, "1700000000.000100", None, "<@U0BOT> checkout is throwing 500s for everyone"),
    );
    fake.wait("the card", |v| v.card_in(OPS, "1700000000.000100").cloned()).await;
    app.settle().await;
    let view = fake.view();
    let cards = view.thread(OPS, "1700000000.000100").into_iter().filter(|m| !m.buttons().is_empty()).count();
    assert_eq!(cards, 1, "one card, although its first post looked failed");
    assert!(!view.calls_to("conversations.replies").is_empty(), "the retry looked before posting");
    // The card is known as the incident's card: a button press edits it in place.
    let incident = app.store().incident(1).unwrap().unwrap();
    assert_eq!(incident.cards.len(), 1);
}

/// The same in a long thread: the lost post is among the newest of 250 replies, past
/// the first page Slack answers with.
#[tokio::test]
async fn a_lost_answer_in_a_long_thread_is_still_found() {
    let fake = FakeSlack::start().await;
    fake.add_person("U1", "alice");
    let app = start(&fake, "").await;
    let root = "1700000000.000100";
    fake.deliver_event(
        "env-1",
        "Ev1",
        app_mention("U1", OPS, root, None, "<@U0BOT> checkout is throwing 500s for everyone"),
    );
    let card = fake.wait("the card", |v| v.card_in(OPS, root).cloned()).await;
    app.settle().await;
    for n in 0..250 {
        fake.seed_reply(OPS, root, &format!("still seeing errors ({n})"));
    }
    // alice acknowledges; Slack posts the thread line but the answer is lost.
    fake.fail_next("chat.postMessage", Fault::AnswerLost);
    fake.press("env-2", "U1", "alice", &card, "ack:1");
    fake.wait("the ack line", |v| {
        v.thread(OPS, root).iter().any(|m| m.text.contains("acknowledged by alice")).then_some(())
    })
    .await;
    app.settle().await;
    let view = fake.view();
    let lines = view.thread(OPS, root).iter().filter(|m| m.text.contains("acknowledged by alice")).count();
    assert_eq!(lines, 1, "posted once");
    assert!(view.calls_to("conversations.replies").len() >= 2, "the lookup read past the first page");
}
