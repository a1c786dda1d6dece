//! Discord, end to end: the real serenity client (gateway + REST) inside the real
//! warroom against the fake Discord on 127.0.0.1 (`support/discord.rs`).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use support::app::TestApp;
use support::discord::{alice, bob, grafana_webhook, FakeDiscord, Fault, APPLICATION_ID, BOT_ID};
use support::eventually;
use support::store::{FlakyStore, Handled};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warroom::config::{DiscordConfig, Secret};
use warroom::intake::Intake;
use warroom::model::{Actor, EntryKind, Platform, Severity, Status, ThreadRef};
use warroom::platforms::discord::Discord;
use warroom::platforms::{ChatPlatform, InboundContext};

const WAIT: Duration = Duration::from_secs(10);
/// serenity waits up to 5 s between two IDENTIFYs of a shard.
const REIDENTIFY: Duration = Duration::from_secs(25);

/// The alert channel (`discord.alert_channels`).
const ALERTS: &str = "600";
/// A channel where people talk.
const GENERAL: &str = "601";

/// The application's Ed25519 key; the public half goes into `discord.public_key`.
fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

fn public_key_hex() -> String {
    hex::encode(signing_key().verifying_key().to_bytes())
}

/// Logs go to the test's output (shown when it fails); `RUST_LOG` picks the level.
fn logs() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,warroom=info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

async fn start(discord: &FakeDiscord, extra: &str) -> TestApp {
    logs();
    let app = TestApp::start(&discord.config(&format!("alert_channels = [\"{ALERTS}\"]\n{extra}"))).await;
    eventually(WAIT, "the bot to connect to the gateway", || async { discord.is_live().then_some(()) }).await;
    app
}

/// A Grafana alert, as its Discord contact point posts it: a webhook message whose
/// text is in an embed.
fn grafana_alert(discord: &FakeDiscord, title: &str, description: &str) -> Value {
    let mut alert = discord.message_json(ALERTS, &grafana_webhook(), "");
    alert["webhook_id"] = json!("777");
    alert["embeds"] = json!([{"type": "rich", "title": title, "description": description}]);
    alert
}

/// Messages the bot posted in a channel or thread.
fn bot_messages(discord: &FakeDiscord, channel: &str) -> Vec<Value> {
    discord.messages(channel).into_iter().filter(|m| m["author"]["id"] == BOT_ID).collect()
}

/// The incident card the bot posted in `channel` (the message with an embed).
async fn card_in(discord: &FakeDiscord, channel: &str) -> Value {
    eventually(WAIT, &format!("the incident card in {channel}"), || async {
        bot_messages(discord, channel)
            .into_iter()
            .find(|m| m["embeds"].as_array().is_some_and(|e| !e.is_empty()))
    })
    .await
}

fn custom_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| b["custom_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn field<'a>(card: &'a Value, name: &str) -> Option<&'a str> {
    card["embeds"][0]["fields"].as_array()?.iter().find(|f| f["name"] == name)?["value"].as_str()
}

fn notes(app: &TestApp, id: u64) -> Vec<String> {
    app.timeline(id)
        .into_iter()
        .filter_map(|e| match e.kind {
            EntryKind::Note { text } => Some(text),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_in_an_alert_channel_opens_one_incident_in_a_thread_with_four_buttons() {
    let discord = FakeDiscord::start().await;
    let mut app = start(&discord, "").await;

    // No guild configured: /incident is registered globally at start.
    let registered = eventually(WAIT, "/incident registered", || async {
        discord.calls_to("PUT /applications/700/commands").pop()
    })
    .await;
    assert_eq!(registered.body[0]["name"], "incident");
    assert_eq!(registered.authorization, "Bot test-token");

    // Grafana fires into #alerts through its webhook.
    let alert = discord.post(grafana_alert(
        &discord,
        "[FIRING:1] HighErrorRate checkout-api",
        "5xx ratio 31% for 5m",
    ));
    let alert_id = alert["id"].as_str().unwrap().to_string();

    // One incident, living in a thread started on the alert message.
    let incident = app.wait_incidents(1).await.remove(0);
    assert_eq!(incident.title, "[FIRING:1] HighErrorRate checkout-api");
    assert_eq!(incident.threads, vec![ThreadRef::new(Platform::Discord, ALERTS, alert_id.clone())]);
    let card = card_in(&discord, &alert_id).await;
    let thread = discord.thread(&alert_id).expect("a thread on the alert");
    assert_eq!(thread["parent_id"], ALERTS);
    assert_eq!(thread["name"], format!("#{} · [FIRING:1] HighErrorRate checkout-api", incident.id));
    let started = discord.calls_to(&format!("POST /channels/{ALERTS}/messages/{alert_id}/threads"));
    assert_eq!(started[0].body["auto_archive_duration"], 1440);

    // The card: an embed coloured by severity, four buttons, nobody can be pinged.
    let id = incident.id;
    assert_eq!(card["embeds"][0]["color"], incident.severity.color());
    assert_eq!(field(&card, "Status"), Some("OPEN"));
    assert_eq!(
        custom_ids(&card),
        [format!("ack:{id}"), format!("escalate:{id}"), format!("mitigate:{id}"), format!("resolve:{id}")]
    );
    for post in discord.calls_to("POST /channels/*/messages") {
        assert_eq!(post.body["allowed_mentions"], json!({"parse": []}), "{}", post.path);
    }
    eventually(WAIT, "the card to be bound to the incident", || async {
        let i = app.store().incident(id).unwrap().unwrap();
        (i.cards.len() == 1 && i.cards[0].channel == alert_id).then_some(())
    })
    .await;

    // A responder writes in the thread: a timeline note, by her.
    discord.say(&alert_id, &alice(), "rolled back checkout-api to v41");
    eventually(WAIT, "alice's note", || async {
        notes(&app, id).contains(&"rolled back checkout-api to v41".to_string()).then_some(())
    })
    .await;

    // The gateway connection is replaced; Discord replays everything it sent in this
    // session, the alert included: nothing opens twice, nothing is noted twice.
    discord.set_resume_overlap(1000);
    discord.reconnect();
    eventually(WAIT, "a RESUME", || async {
        (!discord.received_op(6).is_empty() && discord.is_live()).then_some(())
    })
    .await;
    discord.post(grafana_alert(&discord, "[FIRING:1] DiskFull db-1", "97% used"));
    app.wait_incidents(2).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 2, "the replayed alert opened nothing");
    assert_eq!(notes(&app, id).len(), 1, "the replayed reply was not noted twice");
    assert_eq!(discord.received_op(2).len(), 1, "resumed, not re-identified");

    // After a restart the bot no longer remembers the thread: it asks Discord.
    app.restart().await;
    eventually(WAIT, "a new gateway session", || async { (discord.received_op(2).len() == 2).then_some(()) })
        .await;
    eventually(WAIT, "the bot to be live", || async { discord.is_live().then_some(()) }).await;
    discord.say(&alert_id, &bob(), "error rate back to 0.1%");
    eventually(WAIT, "bob's note", || async {
        notes(&app, id).contains(&"error rate back to 0.1%".to_string()).then_some(())
    })
    .await;
    assert!(!discord.calls_to(&format!("GET /channels/{alert_id}")).is_empty(), "looked the thread up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_alert_channels_only_mentions_count_and_chatter_is_left_alone() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;

    discord.say(GENERAL, &alice(), "anyone up for lunch?");
    discord.say(ALERTS, &bob(), "thanks!");
    let mention =
        discord.say(GENERAL, &alice(), &format!("<@{BOT_ID}> checkout is throwing 500s for everyone"));
    let incident = app.wait_incidents(1).await.remove(0);
    assert_eq!(incident.title, "checkout is throwing 500s for everyone");
    assert_eq!(incident.severity, Severity::Critical);
    assert!(!incident.severity_confirmed, "a guess by the bot stays unconfirmed");
    assert_eq!(
        incident.created_by,
        Actor::Human(warroom::model::Person::new("discord", "42", Some("alice".into())))
    );
    let thread = mention["id"].as_str().unwrap();
    card_in(&discord, thread).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 1, "neither lunch nor thanks opened anything");
    assert!(bot_messages(&discord, ALERTS).is_empty(), "chatter in an alert channel gets no reply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_press_is_answered_in_time_and_the_card_is_edited_in_place() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    let alert = discord.say(ALERTS, &alice(), "payments-api p99 latency 9s, 30% 502");
    let thread = alert["id"].as_str().unwrap().to_string();
    let id = app.wait_incidents(1).await[0].id;
    let card = card_in(&discord, &thread).await;

    // Bob presses Acknowledge.
    let press = discord.press(&card, &format!("ack:{id}"), &bob());
    let press_id = press["id"].as_str().unwrap().to_string();
    let (delay, answer) =
        eventually(WAIT, "the interaction answer", || async { discord.answer(&press_id) }).await;
    assert_eq!(answer, json!({"type": 6}), "a deferred update");
    assert!(delay < Duration::from_secs(3), "answered within Discord's 3 s ({delay:?})");

    let incident = eventually(WAIT, "the acknowledgement", || async {
        app.store().incident(id).unwrap().filter(|i| i.acked_by.is_some())
    })
    .await;
    assert_eq!(
        incident.acked_by,
        Some(Actor::Human(warroom::model::Person::new("discord", "43", Some("bob".into()))))
    );
    let edited = eventually(WAIT, "the card edited in place", || async {
        let card = discord.message(card["id"].as_str().unwrap())?;
        field(&card, "Acknowledged by").is_some().then_some(card)
    })
    .await;
    assert_eq!(field(&edited, "Acknowledged by"), Some("bob"));
    let edits =
        discord.calls_to(&format!("PATCH /channels/{thread}/messages/{}", card["id"].as_str().unwrap()));
    assert!(edits.iter().all(|e| e.body["allowed_mentions"] == json!({"parse": []})));
    app.settle().await;
    assert!(
        discord.followups(press["token"].as_str().unwrap()).is_empty(),
        "the deferred update was the answer"
    );

    // Resolve: the card loses its lifecycle buttons and offers Reopen.
    discord.press(&card, &format!("resolve:{id}"), &bob());
    let resolved = eventually(WAIT, "the resolved card", || async {
        let card = discord.message(card["id"].as_str().unwrap())?;
        (field(&card, "Status") == Some("RESOLVED")).then_some(card)
    })
    .await;
    assert_eq!(custom_ids(&resolved), [format!("reopen:{id}")]);
    assert_eq!(app.store().incident(id).unwrap().unwrap().status, Status::Resolved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_investigator_reads_a_thread_oldest_first() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    let alert = discord.say(ALERTS, &alice(), "api-gateway 500s");
    let thread = alert["id"].as_str().unwrap().to_string();
    app.wait_incidents(1).await;
    card_in(&discord, &thread).await;
    discord.say(&thread, &bob(), "looking at the deploy from 02:10");
    discord.say(&thread, &alice(), "rolled back");
    let discord_platform = app.running().platforms.get(Platform::Discord).expect("discord enabled");
    let lines = eventually(WAIT, "three messages in the thread", || async {
        discord_platform.history(ALERTS, Some(&thread), 10).await.ok().filter(|l| l.len() == 3)
    })
    .await;
    let said: Vec<(&str, &str)> = lines.iter().map(|l| (l.user.as_str(), l.text.as_str())).collect();
    assert_eq!(said[1..], [("bob", "looking at the deploy from 02:10"), ("alice", "rolled back")]);
    assert_eq!(said[0].0, "warroom", "the card came first");
    let asked = discord.calls_to(&format!("GET /channels/{thread}/messages")).pop().unwrap();
    assert_eq!(asked.query, "limit=10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_press_gets_an_ephemeral_explanation_and_changes_nothing() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "\n[auth]\nresponders = [\"discord:43\"]").await;
    let alert = discord.say(ALERTS, &bob(), "orders-db replication lag 20 min");
    let id = app.wait_incidents(1).await[0].id;
    let card = card_in(&discord, alert["id"].as_str().unwrap()).await;

    let press = discord.press(&card, &format!("resolve:{id}"), &alice());
    let token = press["token"].as_str().unwrap().to_string();
    let followup = eventually(WAIT, "the explanation", || async { discord.followups(&token).pop() }).await;
    assert_eq!(followup["flags"], 64, "only alice sees it");
    assert!(followup["content"].as_str().unwrap().contains("not on the responders list"), "{followup}");
    assert_eq!(followup["allowed_mentions"], json!({"parse": []}));
    let (_, answer) = discord.answer(press["id"].as_str().unwrap()).expect("answered first");
    assert_eq!(answer, json!({"type": 6}));
    assert_eq!(app.store().incident(id).unwrap().unwrap().status, Status::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_incident_open_with_typed_options_then_note_list_and_resolve() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "guild_id = \"500\"").await;
    eventually(WAIT, "guild commands registered", || async {
        discord.calls_to("PUT /applications/700/guilds/500/commands").pop()
    })
    .await;
    // Not global when a guild is set: the global list is emptied, so /incident shows once.
    let global = eventually(WAIT, "global commands cleared", || async {
        discord.calls_to("PUT /applications/700/commands").pop()
    })
    .await;
    assert_eq!(global.body, json!([]));

    // /incident open title:"payments API 502s" severity:critical, in #general.
    let open = discord.slash(
        GENERAL,
        &alice(),
        "open",
        json!([{"name": "title", "type": 3, "value": "payments API 502s"}, {"name": "severity", "type": 3, "value": "critical"}]),
    );
    let (delay, answer) =
        eventually(WAIT, "the answer", || async { discord.answer(open["id"].as_str().unwrap()) }).await;
    assert_eq!(answer, json!({"type": 5, "data": {"flags": 64}}), "deferred, ephemeral");
    assert!(delay < Duration::from_secs(3));
    let incident = app.wait_incidents(1).await.remove(0);
    assert_eq!((incident.title.as_str(), incident.severity), ("payments API 502s", Severity::Critical));
    assert!(incident.severity_confirmed, "a human chose it");
    let followup = eventually(WAIT, "the follow-up", || async {
        discord.followups(open["token"].as_str().unwrap()).pop()
    })
    .await;
    assert_eq!(followup["flags"], 64);
    assert!(followup["content"].as_str().unwrap().starts_with("Opened \\#1 (critical)"), "{followup}");

    // The card went to the top of #general and started the incident's thread.
    let card = card_in(&discord, GENERAL).await;
    let card_id = card["id"].as_str().unwrap().to_string();
    let thread = eventually(WAIT, "the thread on the card", || async { discord.thread(&card_id) }).await;
    assert_eq!(thread["name"], "#1 · payments API 502s");

    // /incident note, then list, then resolve.
    let note = discord.slash(
        &card_id,
        &bob(),
        "note",
        json!([{"name": "id", "type": 4, "value": 1}, {"name": "text", "type": 3, "value": "failing over to eu-west"}]),
    );
    eventually(WAIT, "the note", || async {
        notes(&app, 1).contains(&"failing over to eu-west".into()).then_some(())
    })
    .await;
    eventually(WAIT, "the note's confirmation", || async {
        discord.followups(note["token"].as_str().unwrap()).pop()
    })
    .await;
    let list = discord.slash(GENERAL, &bob(), "list", json!([]));
    let listed =
        eventually(WAIT, "the list", || async { discord.followups(list["token"].as_str().unwrap()).pop() })
            .await;
    assert!(listed["content"].as_str().unwrap().contains("payments API 502s"), "{listed}");
    discord.slash(GENERAL, &alice(), "resolve", json!([{"name": "id", "type": 4, "value": 1}]));
    eventually(WAIT, "resolved", || async {
        (app.store().incident(1).unwrap()?.status == Status::Resolved).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op7_reconnect_mid_stream_resumes_without_losing_or_doubling_events() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    discord.say(ALERTS, &alice(), "checkout 502s");
    app.wait_incidents(1).await;

    // Discord asks the bot to reconnect; two alerts fire while it is away.
    discord.reconnect();
    discord.say(ALERTS, &alice(), "payments latency p99 9s");
    discord.say(ALERTS, &alice(), "search returning 500s");
    eventually(WAIT, "a RESUME", || async {
        (!discord.received_op(6).is_empty() && discord.is_live()).then_some(())
    })
    .await;
    let resume = &discord.received_op(6)[0]["d"];
    assert_eq!(resume["session_id"], "session-1");
    assert_eq!(resume["token"], "Bot test-token");

    app.wait_incidents(3).await;
    app.settle().await;
    let mut titles: Vec<String> = app.incidents().into_iter().map(|i| i.title).collect();
    titles.sort();
    assert_eq!(titles, ["checkout 502s", "payments latency p99 9s", "search returning 500s"]);
    assert_eq!(discord.received_op(2).len(), 1, "one IDENTIFY: the session was resumed");
    assert!(discord.received_op(1).len() + discord.received_op(6).len() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op9_invalid_session_makes_the_bot_identify_again() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    discord.invalidate_session();
    eventually(REIDENTIFY, "a second IDENTIFY", || async {
        (discord.received_op(2).len() == 2 && discord.is_live()).then_some(())
    })
    .await;
    assert_eq!(discord.received_op(2)[1]["d"]["intents"], json!(1 | 1 << 9 | 1 << 12 | 1 << 15));
    discord.say(ALERTS, &alice(), "inventory-api down in eu-west");
    assert_eq!(app.wait_incidents(1).await[0].title, "inventory-api down in eu-west");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_and_heartbeats_are_acknowledged() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    eventually(WAIT, "a heartbeat", || async { (!discord.received_op(1).is_empty()).then_some(()) }).await;
    discord.drop_connection();
    discord.say(ALERTS, &alice(), "queue consumer stuck, 40k messages behind");
    eventually(WAIT, "a RESUME", || async {
        (!discord.received_op(6).is_empty() && discord.is_live()).then_some(())
    })
    .await;
    assert_eq!(app.wait_incidents(1).await[0].title, "queue consumer stuck, 40k messages behind");
    assert_eq!(discord.received_op(2).len(), 1);
    assert!(discord.connections() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_alert_text_is_escaped_and_cut_to_discord_limits() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "notify_channel = \"610\"").await;
    // An alert whose annotations anyone who can fire alerts controls.
    let hostile = format!(
        "@everyone **URGENT** <@&999> [login](https://evil.example) ||spoiler|| db down\n{}",
        "x".repeat(5000)
    );
    let alert = json!({
        "version": "4", "status": "firing", "receiver": "warroom", "groupKey": "{}:{alertname=\"Hostile\"}",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
        "alerts": [{"status": "firing", "labels": {"alertname": "Hostile", "severity": "critical"},
                    "annotations": {"summary": "# @here _db_ down", "description": hostile},
                    "startsAt": "2026-11-23T02:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prom", "fingerprint": "f00d"}],
    });
    assert_eq!(app.alertmanager(alert.to_string()).await, 200);
    app.wait_incidents(1).await;
    let card = card_in(&discord, "610").await;
    let embed = &card["embeds"][0];
    assert_eq!(embed["title"], "\\#1 · \\# @\u{200B}here \\_db\\_ down");
    let description = embed["description"].as_str().unwrap();
    assert!(description.chars().count() <= 4096, "{}", description.chars().count());
    assert!(description.contains("xxx…"), "the long text is cut visibly");
    assert!(
        description.starts_with("@\u{200B}everyone \\*\\*URGENT\\*\\* \\<@&999\\>"),
        "{description:.100}"
    );
    assert!(description.contains("\\[login\\](https://evil.example) \\|\\|spoiler\\|\\|"), "no masked link");
    let total: usize = [&embed["title"], &embed["description"], &embed["footer"]["text"]]
        .iter()
        .map(|v| v.as_str().unwrap_or_default().chars().count())
        .chain(embed["fields"].as_array().unwrap().iter().map(|f| {
            f["name"].as_str().unwrap().chars().count() + f["value"].as_str().unwrap().chars().count()
        }))
        .sum();
    assert!(total <= 6000, "{total}");
    for call in discord.calls().iter().filter(|c| c.path.starts_with("/channels/") && c.method != "GET") {
        if call.path.ends_with("/threads") {
            assert!(call.body["name"].as_str().unwrap().chars().count() <= 100);
            continue;
        }
        assert_eq!(call.body["allowed_mentions"], json!({"parse": []}), "{}", call.route());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_card_is_delivered_once_after_retry_after() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    discord.fail_next("POST /channels/*/messages", 1, Fault::RateLimited(0.6));
    let alert = discord.say(ALERTS, &alice(), "checkout 502s");
    let thread = alert["id"].as_str().unwrap().to_string();
    app.wait_incidents(1).await;
    card_in(&discord, &thread).await;
    app.settle().await;
    let posts = discord.calls_to(&format!("POST /channels/{thread}/messages"));
    assert_eq!(posts.len(), 2, "one 429, one delivery");
    let waited = posts[1].at.duration_since(posts[0].at);
    assert!(waited >= Duration::from_millis(600), "waited retry_after ({waited:?})");
    let cards =
        bot_messages(&discord, &thread).into_iter().filter(|m| !m["embeds"].as_array().unwrap().is_empty());
    assert_eq!(cards.count(), 1, "delivered exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_thread_start_is_retried_without_posting_twice() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    discord.fail_next("POST /channels/*/messages/*/threads", 2, Fault::Status(502));
    let alert = discord.say(ALERTS, &alice(), "ledger-writer crash looping");
    let thread = alert["id"].as_str().unwrap().to_string();
    app.wait_incidents(1).await;
    card_in(&discord, &thread).await;
    app.settle().await;
    assert_eq!(discord.calls_to(&format!("POST /channels/{ALERTS}/messages/{thread}/threads")).len(), 3);
    assert_eq!(bot_messages(&discord, &thread).len(), 1, "the card, once");
    assert!(bot_messages(&discord, ALERTS).is_empty(), "nothing landed in the channel instead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_alerts_are_posted_in_the_notify_channel_with_a_thread() {
    let discord = FakeDiscord::start().await;
    // The notify channel is also an alert channel: the bot must not classify its own card.
    let app = start(&discord, &format!("notify_channel = \"{ALERTS}\"")).await;
    assert_eq!(app.alertmanager(include_str!("fixtures/alertmanager-firing.json")).await, 200);
    let opened = app.wait_incidents(2).await;
    for incident in &opened {
        let card = eventually(WAIT, "a card per alert", || async {
            bot_messages(&discord, ALERTS).into_iter().find(|m| {
                m["embeds"][0]["title"].as_str().is_some_and(|t| t.contains(&format!("{} · ", incident.id)))
            })
        })
        .await;
        let thread =
            eventually(WAIT, "its thread", || async { discord.thread(card["id"].as_str().unwrap()) }).await;
        assert_eq!(thread["parent_id"], ALERTS);
    }
    app.settle().await;
    assert_eq!(app.incidents().len(), 2, "the bot's own cards were not taken for alerts");
}

// ----------------------------------------------------------------- HTTP interactions

fn sign(timestamp: i64, body: &str) -> String {
    let mut message = timestamp.to_string().into_bytes();
    message.extend_from_slice(body.as_bytes());
    hex::encode(signing_key().sign(&message).to_bytes())
}

async fn interact(app: &TestApp, body: &str, timestamp: i64, signature: &str) -> (u16, Value) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(app.url("/discord/interactions"))
        .header("content-type", "application/json")
        .header("x-signature-ed25519", signature)
        .header("x-signature-timestamp", timestamp.to_string())
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn signed(app: &TestApp, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let now = chrono::Utc::now().timestamp();
    interact(app, &body, now, &sign(now, &body)).await
}

async fn http_only(discord: &FakeDiscord) -> TestApp {
    logs();
    TestApp::start(&discord.config(&format!(
        "alert_channels = [\"{ALERTS}\"]\npublic_key = \"{}\"\ngateway = false",
        public_key_hex()
    )))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_interactions_answer_a_signed_ping_and_refuse_bad_or_stale_signatures() {
    let discord = FakeDiscord::start().await;
    let app = http_only(&discord).await;
    let ping = json!({"type": 1, "id": "1", "application_id": "700", "token": "t", "version": 1}).to_string();
    let now = chrono::Utc::now().timestamp();

    assert_eq!(interact(&app, &ping, now, &sign(now, &ping)).await, (200, json!({"type": 1})));

    // Discord sends bad signatures on purpose to check we refuse them.
    let (status, body) = interact(&app, &ping, now, &sign(now, "{\"type\":2}")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("bad signature")));
    let (status, _) = interact(&app, &ping, now, "not-hex").await;
    assert_eq!(status, 401);
    // A correctly signed request replayed ten minutes later.
    let old = now - 600;
    let (status, body) = interact(&app, &ping, old, &sign(old, &ping)).await;
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("stale"), "{body}");

    // gateway = false: no WebSocket, but the command is still registered.
    eventually(WAIT, "/incident registered", || async {
        discord.calls_to("PUT /applications/700/commands").pop()
    })
    .await;
    assert_eq!(discord.connections(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_button_press_over_http_is_deferred_and_changes_the_status() {
    let discord = FakeDiscord::start().await;
    let app = http_only(&discord).await;

    // /incident open over HTTP: stored, then answered in the response body.
    let open = discord.slash_json(
        GENERAL,
        &alice(),
        "open",
        json!([{"name": "severity", "type": 3, "value": "high"}, {"name": "title", "type": 3, "value": "login errors"}]),
    );
    assert_eq!(signed(&app, &open).await, (200, json!({"type": 5, "data": {"flags": 64}})));
    let id = app.wait_incidents(1).await[0].id;
    let card = card_in(&discord, GENERAL).await;
    let followup = eventually(WAIT, "the follow-up", || async {
        discord.followups(open["token"].as_str().unwrap()).pop()
    })
    .await;
    assert!(followup["content"].as_str().unwrap().contains("login errors"));

    // Alice presses Mitigated on the card.
    let started = Instant::now();
    let press = discord.button_json(&card, &format!("mitigate:{id}"), &alice());
    assert_eq!(signed(&app, &press).await, (200, json!({"type": 6})));
    assert!(started.elapsed() < Duration::from_secs(3));
    let incident = eventually(WAIT, "mitigated", || async {
        app.store().incident(id).unwrap().filter(|i| i.status == Status::Mitigated)
    })
    .await;
    assert_eq!(
        incident.mitigated_by,
        Some(Actor::Human(warroom::model::Person::new("discord", "42", Some("alice".into()))))
    );
    eventually(WAIT, "the card edited", || async {
        let card = discord.message(card["id"].as_str().unwrap())?;
        (field(&card, "Status") == Some("MITIGATED")).then_some(())
    })
    .await;

    // The same press delivered twice (Discord retries) is taken once.
    assert_eq!(signed(&app, &press).await, (200, json!({"type": 6})));
    app.settle().await;
    let changes =
        app.timeline(id).into_iter().filter(|e| matches!(e.kind, EntryKind::StatusChanged { .. })).count();
    assert_eq!(changes, 1);
}

// ----------------------------------------------------------------- order, failures, repeats

/// The failure the Discord platform reports to the operator, once it has one.
async fn failure(app: &TestApp) -> String {
    let platform = app.running().platforms.get(Platform::Discord).expect("discord enabled");
    eventually(REIDENTIFY, "discord to report a failure", || async { platform.health().failed }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_messages_and_presses_in_a_thread_are_taken_in_the_order_they_were_made() {
    let discord = FakeDiscord::start().await;
    let mut app = start(&discord, "").await;
    let alert = discord.say(ALERTS, &alice(), "orders-api 502s for everyone");
    let thread = alert["id"].as_str().unwrap().to_string();
    let id = app.wait_incidents(1).await[0].id;
    let card = card_in(&discord, &thread).await;

    // After a restart the bot must look the thread up, and Discord is slow to answer.
    app.restart().await;
    eventually(WAIT, "the bot to be live again", || async {
        (discord.received_op(2).len() == 2 && discord.is_live()).then_some(())
    })
    .await;
    discord.fail_next(&format!("GET /channels/{thread}"), 1, Fault::Delay(400));
    discord.say(&thread, &alice(), "1. paging the DBA");
    discord.say(&thread, &bob(), "2. DBA says replica lag is 40 min");
    discord.say(&thread, &alice(), "3. failing over to the standby");
    let written =
        eventually(WAIT, "three notes", || async { Some(notes(&app, id)).filter(|n| n.len() == 3) }).await;
    assert_eq!(
        written,
        ["1. paging the DBA", "2. DBA says replica lag is 40 min", "3. failing over to the standby"]
    );

    // Bob acknowledges and resolves in quick succession: applied in that order.
    let ack = discord.press(&card, &format!("ack:{id}"), &bob());
    let resolve = discord.press(&card, &format!("resolve:{id}"), &bob());
    eventually(WAIT, "resolved", || async {
        (app.store().incident(id).unwrap()?.status == Status::Resolved).then_some(())
    })
    .await;
    app.settle().await;
    let lifecycle: Vec<String> = app
        .timeline(id)
        .into_iter()
        .filter_map(|e| match e.kind {
            EntryKind::Acknowledged => Some("acknowledged".to_string()),
            EntryKind::StatusChanged { to, .. } => Some(format!("→ {}", to.label())),
            _ => None,
        })
        .collect();
    assert_eq!(lifecycle, ["acknowledged", "→ INVESTIGATING", "→ RESOLVED"]);
    for press in [&ack, &resolve] {
        let (delay, answer) = discord.answer(press["id"].as_str().unwrap()).expect("answered");
        assert_eq!(answer, json!({"type": 6}));
        assert!(delay < Duration::from_secs(3), "{delay:?}");
    }
    assert!(discord.followups(resolve["token"].as_str().unwrap()).is_empty(), "nothing was refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_interaction_answer_is_tried_once_more_within_the_three_seconds() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    let alert = discord.say(ALERTS, &alice(), "payments-api p99 latency 9s, 30% 502");
    let id = app.wait_incidents(1).await[0].id;
    let card = card_in(&discord, alert["id"].as_str().unwrap()).await;

    discord.fail_next("POST /interactions/*/*/callback", 1, Fault::Status(502));
    let press = discord.press(&card, &format!("ack:{id}"), &bob());
    let press_id = press["id"].as_str().unwrap().to_string();
    let (delay, answer) =
        eventually(WAIT, "the interaction answer", || async { discord.answer(&press_id) }).await;
    assert_eq!(answer, json!({"type": 6}));
    assert!(delay < Duration::from_secs(3), "answered within Discord's 3 s ({delay:?})");
    assert_eq!(discord.calls_to(&format!("POST /interactions/{press_id}/*/callback")).len(), 2);
    eventually(WAIT, "the acknowledgement", || async {
        app.store().incident(id).unwrap().filter(|i| i.acked_by.is_some())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_whose_answer_was_lost_is_not_posted_twice() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;
    // Discord creates the card, but the answer never reaches the bot.
    discord.fail_next("POST /channels/*/messages", 1, Fault::LoseAnswer(502));
    let alert = discord.say(ALERTS, &alice(), "ledger-writer crash looping");
    let thread = alert["id"].as_str().unwrap().to_string();
    app.wait_incidents(1).await;
    card_in(&discord, &thread).await;
    app.settle().await;

    let posts = discord.calls_to(&format!("POST /channels/{thread}/messages"));
    assert_eq!(posts.len(), 2, "the lost answer made the outbox try again");
    let nonce = posts[0].body["nonce"].as_str().expect("a nonce").to_string();
    assert!(nonce.len() <= 25, "{nonce}");
    assert_eq!(posts[1].body["nonce"], nonce.as_str(), "the same nonce on the retry");
    assert_eq!(posts[1].body["enforce_nonce"], true);
    let cards: Vec<Value> = bot_messages(&discord, &thread)
        .into_iter()
        .filter(|m| m["embeds"].as_array().is_some_and(|e| !e.is_empty()))
        .collect();
    assert_eq!(cards.len(), 1, "people see one card");
    let bound = app.incidents()[0].cards.clone();
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].id, cards[0]["id"].as_str().unwrap(), "the incident edits the card people see");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_thread_leaves_the_card_out_of_the_channel_unless_threads_cannot_be_there() {
    let discord = FakeDiscord::start().await;
    let app = start(&discord, "").await;

    // A refusal that is not about the place (here: invalid form body): the card waits
    // as a dead letter for the operator rather than landing in the busy alert channel.
    discord.fail_next("POST /channels/*/messages/*/threads", 1, Fault::Code(400, 50035));
    let first = discord.say(ALERTS, &alice(), "checkout 502s");
    app.wait_incidents(1).await;
    eventually(WAIT, "a dead letter", || async {
        app.store().outbox().unwrap().into_iter().find(|i| i.dead)
    })
    .await;
    assert!(bot_messages(&discord, ALERTS).is_empty(), "nothing landed in #alerts");
    assert!(bot_messages(&discord, first["id"].as_str().unwrap()).is_empty());

    // "Cannot execute action on this channel type": no thread can be here, so the card
    // goes in the channel itself.
    discord.fail_next("POST /channels/*/messages/*/threads", 1, Fault::Code(400, 50024));
    discord.say(ALERTS, &alice(), "search returning 500s");
    app.wait_incidents(2).await;
    let card = card_in(&discord, ALERTS).await;
    assert!(card["embeds"][0]["title"].as_str().unwrap().contains("search returning 500s"), "{card}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_on_the_gateway_is_reported_and_named() {
    let discord = FakeDiscord::start().await;
    discord.refuse_identify(4004);
    let app = TestApp::start(&discord.config(&format!("alert_channels = [\"{ALERTS}\"]"))).await;
    let why = failure(&app).await;
    assert!(why.contains("discord.token") && why.contains("4004"), "{why}");
    assert_eq!(app.running().platforms.failures(), [(Platform::Discord, why)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_the_portal_did_not_enable_are_reported_with_what_to_do() {
    let discord = FakeDiscord::start().await;
    discord.refuse_identify(4014);
    let app = TestApp::start(&discord.config(&format!("alert_channels = [\"{ALERTS}\"]"))).await;
    let why = failure(&app).await;
    assert!(why.contains("enable the Message Content Intent in the Developer Portal"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_by_the_rest_api_stops_before_the_gateway() {
    let discord = FakeDiscord::start().await;
    discord.fail_next("GET /users/@me", 1, Fault::Status(401));
    let app = TestApp::start(&discord.config(&format!("alert_channels = [\"{ALERTS}\"]"))).await;
    let why = failure(&app).await;
    assert!(why.contains("discord.token"), "{why}");
    assert_eq!(discord.connections(), 0, "no gateway connection with a refused token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_the_slash_command_is_retried_until_discord_takes_it() {
    let discord = FakeDiscord::start().await;
    discord.fail_next("PUT /applications/700/commands", 2, Fault::Status(502));
    let _app = start(&discord, "").await;
    let calls = eventually(Duration::from_secs(20), "three registration attempts", || async {
        Some(discord.calls_to("PUT /applications/700/commands")).filter(|c| c.len() == 3)
    })
    .await;
    assert_eq!(calls[2].body[0]["name"], "incident");
    assert!(calls[1].at.duration_since(calls[0].at) >= Duration::from_millis(800), "backed off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_cannot_be_stored_is_counted_as_lost() {
    logs();
    let discord = FakeDiscord::start().await;
    let store = FlakyStore::new();
    let handled = Handled::new(store.clone());
    let (tracker, shutdown) = (TaskTracker::new(), CancellationToken::new());
    let out =
        Intake::start(store.clone(), chrono::Duration::hours(1), handled.clone(), &tracker, shutdown.clone());
    let config = DiscordConfig {
        token: Secret::new("test-token"),
        application_id: APPLICATION_ID.into(),
        api_url: discord.api_url.clone(),
        alert_channels: vec![ALERTS.into()],
        ..Default::default()
    };
    let platform = Arc::new(Discord::new(&config).expect("adapter"));
    let running = tokio::spawn(platform.clone().run(InboundContext { shutdown: shutdown.clone(), out }));
    eventually(WAIT, "the bot to connect", || async { discord.is_live().then_some(()) }).await;

    // The disk is full when the alert arrives; the next one is stored.
    store.fail_next_accepts(1);
    let lost = discord.say(ALERTS, &grafana_webhook(), "[FIRING:1] DiskFull db-1");
    discord.say(ALERTS, &grafana_webhook(), "[FIRING:1] HighErrorRate checkout");
    eventually(WAIT, "the second alert to be handled", || async {
        (handled.events().len() == 1).then_some(())
    })
    .await;
    assert_eq!(platform.health().lost_events, 1);
    assert_eq!(store.offered()[0], lost["id"].as_str().unwrap());

    shutdown.cancel();
    running.await.unwrap().unwrap();
}
