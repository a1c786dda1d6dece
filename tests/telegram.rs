//! Telegram, end to end: the real teloxide client in warroom against the fake Bot API
//! (`support/telegram.rs`) on 127.0.0.1, each test a small incident story told in the
//! words people see in the chat.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::app::TestApp;
use support::eventually;
use support::store::{FlakyStore, Handled};
use support::telegram::{
    alice, bob, post_webhook, post_webhook_raw, Chat, FakeTelegram, Fault, BOT_ID, BOT_USERNAME,
    QUERY_TOO_OLD, TOKEN,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warroom::config::{Secret, TelegramConfig};
use warroom::intake::Intake;
use warroom::model::{
    Actor, Button, EntryKind, Incident, Person, Platform, RichMessage, Section, Severity, Source, Status,
};
use warroom::platforms::telegram::{wire, Telegram};
use warroom::platforms::{ChatPlatform, InboundContext};
use warroom::store::Store;

const WAIT: Duration = Duration::from_secs(10);

/// The fake, and warroom polling it with `extra` lines in its `[telegram]` table.
async fn start(extra: &str) -> (FakeTelegram, TestApp) {
    let fake = FakeTelegram::start().await;
    let app = TestApp::start(&fake.config(extra)).await;
    fake.wait_started().await;
    (fake, app)
}

fn ops() -> Chat {
    Chat::group(-1001, "ops")
}

fn telegram_user(id: &str, name: &str) -> Actor {
    Actor::Human(Person::new("telegram", id, Some(name.to_string())))
}

async fn incident_where(app: &TestApp, id: u64, what: &str, check: impl Fn(&Incident) -> bool) -> Incident {
    eventually(WAIT, what, || async { app.store().incident(id).ok().flatten().filter(|i| check(i)) }).await
}

fn labels(buttons: &[(String, String)]) -> Vec<(&str, &str)> {
    buttons.iter().map(|(l, d)| (l.as_str(), d.as_str())).collect()
}

#[tokio::test]
async fn oncall_opens_an_incident_with_buttons_and_status_lists_it() {
    let (fake, app) = start("").await;
    let ops = ops();

    // At start the bot stopped any webhook (polling needs that) and filled the menu.
    assert_eq!(fake.ok_calls("deleteWebhook").len(), 1);
    let menu = &fake.ok_calls("setMyCommands")[0].params["commands"];
    let names: Vec<&str> = menu.as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["oncall", "status", "ack", "escalate", "mitigate", "resolve", "note", "help", "incident"]
    );

    // Alice, in the seed product's words.
    let command = fake.say(&ops, &alice(), "/oncall [high] disk full on prod-db-01");
    let incident = app.wait_incidents(1).await.remove(0);
    assert_eq!(incident.title, "disk full on prod-db-01");
    assert_eq!(incident.severity, Severity::High);
    assert!(incident.severity_confirmed, "a human chose it");
    assert_eq!(incident.source, Source::Telegram);
    assert_eq!(incident.created_by, telegram_user("42", "alice"));

    // The card answers her command, in HTML, with the four lifecycle buttons.
    let card = fake.wait_bot_message(ops.id, "the incident card", |m| m.reply_to == Some(command)).await;
    assert!(
        card.text.starts_with("🟠 #1 · disk full on prod-db-01 [OPEN]\nSeverity: 🟠 high\n"),
        "{}",
        card.text
    );
    assert!(card.html.starts_with("🟠 <b>#1 · disk full on prod-db-01</b> [OPEN]"), "{}", card.html);
    assert_eq!(
        labels(&card.buttons),
        [
            ("Acknowledge", "ack:1"),
            ("Escalate", "escalate:1"),
            ("Mitigated", "mitigate:1"),
            ("Resolve", "resolve:1")
        ]
    );

    // /status lists it; /status 1 shows its timeline.
    fake.say(&ops, &alice(), "/status");
    let list = fake.wait_bot_message(ops.id, "the /status list", |m| m.text.contains("open incident")).await;
    assert!(list.text.contains("#1 🟠 high · OPEN · disk full on prod-db-01"), "{}", list.text);
    fake.say(&ops, &bob(), "/status 1");
    let detail = fake
        .wait_bot_message(ops.id, "the /status 1 answer", |m| m.text.contains("opened from telegram"))
        .await;
    assert!(
        detail.text.contains("alice — opened from telegram: disk full on prod-db-01 (high)"),
        "{}",
        detail.text
    );

    // Nothing else was said: the "Opened #1" confirmation is quiet on Telegram.
    app.settle().await;
    assert_eq!(fake.bot_messages(ops.id).len(), 3);
}

#[tokio::test]
async fn acknowledge_and_resolve_buttons_edit_the_card_and_every_press_is_answered_once() {
    let (fake, app) = start("").await;
    let ops = ops();
    let command = fake.say(&ops, &alice(), "/oncall critical checkout is down");
    let card = fake.wait_bot_message(ops.id, "the incident card", |m| m.reply_to == Some(command)).await;

    // Alice acknowledges: the press is answered, the card shows who is on it.
    let ack = fake.press(&ops, &alice(), card.id, "ack:1");
    let incident = incident_where(&app, 1, "an acknowledged incident", |i| i.acked_by.is_some()).await;
    assert_eq!(incident.status, Status::Investigating);
    assert_eq!(incident.acked_by, Some(telegram_user("42", "alice")));
    let edited = eventually(WAIT, "the card to show the acknowledgement", || async {
        fake.message(ops.id, card.id).filter(|m| m.text.contains("Acknowledged by: alice"))
    })
    .await;
    assert!(edited.text.starts_with("🔴 #1 · checkout is down [INVESTIGATING]"), "{}", edited.text);
    let answers = eventually(WAIT, "the answer to the press", || async {
        Some(fake.answers(&ack)).filter(|a| !a.is_empty())
    })
    .await;
    assert_eq!(answers[0]["text"], "Acknowledge #1: INVESTIGATING");
    assert_ne!(answers[0]["show_alert"], true, "a confirmation is a toast, not an alert");

    // Bob resolves it: the card now offers only Reopen.
    let resolve = fake.press(&ops, &bob(), card.id, "resolve:1");
    let incident = incident_where(&app, 1, "a resolved incident", |i| i.status == Status::Resolved).await;
    assert_eq!(incident.resolved_by, Some(telegram_user("43", "bob")));
    let edited = eventually(WAIT, "the card to show the resolution", || async {
        fake.message(ops.id, card.id).filter(|m| m.text.contains("Resolved by: bob"))
    })
    .await;
    assert_eq!(labels(&edited.buttons), [("Reopen", "reopen:1")]);

    // Alice presses Resolve on a stale keyboard: refused, in an alert she must dismiss.
    let stale = fake.press(&ops, &alice(), card.id, "resolve:1");
    let refused = eventually(WAIT, "the refusal", || async { fake.answers(&stale).pop() }).await;
    assert_eq!(refused["show_alert"], true);
    assert!(refused["text"].as_str().unwrap().starts_with("⚠️"), "{refused}");

    // A forged payload: answered at once, nothing stored or changed.
    let entries = app.timeline(1).len();
    let forged = fake.press(&ops, &alice(), card.id, "drop_tables:1");
    let answer =
        eventually(WAIT, "the answer to the forged press", || async { fake.answers(&forged).pop() }).await;
    assert_eq!(answer["text"], "This button is no longer valid.");

    app.settle().await;
    assert_eq!(app.timeline(1).len(), entries);
    for press in [&ack, &resolve, &stale, &forged] {
        assert_eq!(fake.answers(press).len(), 1, "{press} answered exactly once");
    }
    assert!(fake.calls("answerCallbackQuery").iter().all(|c| c.status == 200));
}

#[tokio::test]
async fn mentions_are_classified_and_replies_become_notes() {
    let (fake, app) = start("").await;
    let ops = ops();

    // Chatter gets a one-line hint in its thread, and no incident.
    let thanks = fake.say(&ops, &alice(), "@warroom_bot thanks!");
    let hint = fake.wait_bot_message(ops.id, "the hint", |m| m.reply_to == Some(thanks)).await;
    assert!(hint.text.contains("Not opening an incident"), "{}", hint.text);

    // A group message that mentions nobody is not the bot's business.
    let update = fake.message_update(&ops, &bob(), "lunch anyone?");
    let lunch = update["update_id"].as_i64().unwrap();
    fake.deliver(update);
    fake.wait_confirmed(lunch).await;

    // An alert in a mention opens an incident in that message's thread.
    let alert = fake.say(&ops, &alice(), "@warroom_bot checkout is throwing 500s for everyone since 02:00");
    let incident = app.wait_incidents(1).await.remove(0);
    assert_eq!(incident.source, Source::Telegram);
    let card = fake.wait_bot_message(ops.id, "the card", |m| m.reply_to == Some(alert)).await;

    // Bob replies to the card: a note on the incident.
    fake.reply(&ops, &bob(), card.id, "rolled back payments-api to v41");
    eventually(WAIT, "bob's note", || async {
        app.timeline(1).into_iter().find(|e| {
            e.kind == EntryKind::Note { text: "rolled back payments-api to v41".into() }
                && e.actor == telegram_user("43", "bob")
        })
    })
    .await;

    // Replying `investigate` to the hint opens an incident from the gated message.
    fake.reply(&ops, &alice(), hint.id, "investigate");
    let second = app.wait_incidents(2).await.into_iter().find(|i| i.id == 2).unwrap();
    assert_eq!(second.created_by, telegram_user("42", "alice"));

    // In a private chat every message is for the bot.
    let dm = Chat::private(&alice());
    let report = fake.say(&dm, &alice(), "payments API returns 502 for all customers");
    app.wait_incidents(3).await;
    fake.wait_bot_message(dm.id, "the card in the private chat", |m| m.reply_to == Some(report)).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 3, "the lunch question opened nothing");
}

#[tokio::test]
async fn commands_addressed_by_name_are_ours_and_those_for_other_bots_are_not() {
    let (fake, app) = start("").await;
    let ops = ops();
    fake.say(&ops, &alice(), &format!("/oncall@{BOT_USERNAME} low flaky test in CI"));
    let incident = app.wait_incidents(1).await.remove(0);
    assert_eq!((incident.severity, incident.title.as_str()), (Severity::Low, "flaky test in CI"));

    // Another bot's /ack is not an acknowledgement.
    let update = fake.message_update(&ops, &bob(), "/ack@otherbot 1");
    let other = update["update_id"].as_i64().unwrap();
    fake.deliver(update);
    fake.wait_confirmed(other).await;
    fake.say(&ops, &bob(), &format!("/status@{BOT_USERNAME} 1"));
    fake.wait_bot_message(ops.id, "the status of #1", |m| m.text.starts_with("#1 ")).await;
    app.settle().await;
    let incident = app.store().incident(1).unwrap().unwrap();
    assert_eq!((incident.status, incident.acked_by), (Status::Open, None));
}

#[tokio::test]
async fn html_in_a_title_is_shown_as_text() {
    let (fake, app) = start("").await;
    let ops = ops();
    let title = "<b>payments</b> & <script>alert(1)</script> down";
    let command = fake.say(&ops, &alice(), &format!("/oncall critical {title}"));
    assert_eq!(app.wait_incidents(1).await[0].title, title);
    // The fake refuses HTML Telegram would refuse, so arriving at all proves the escaping.
    let card = fake.wait_bot_message(ops.id, "the card", |m| m.reply_to == Some(command)).await;
    assert!(card.text.contains(&format!("#1 · {title}")), "{}", card.text);
    assert!(card
        .html
        .contains("&lt;b&gt;payments&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt; down"));
}

#[tokio::test]
async fn a_message_over_4096_characters_is_split_at_line_ends() {
    let (fake, app) = start("").await;
    let steps: Vec<String> = (1..=150)
        .map(|i| format!("{i}. check volume <{i}> & prune the old WAL segments on prod-db-01"))
        .collect();
    let runbook = RichMessage {
        title: "Runbook: disk full".into(),
        sections: vec![Section { heading: Some("Steps".into()), body: steps.join("\n") }],
        buttons: Button::lifecycle(7),
        ..Default::default()
    };
    let telegram = app.running().platforms.get(Platform::Telegram).unwrap();
    let first = telegram.post("-1001", None, &runbook).await.expect("posted");

    let parts = fake.bot_messages(-1001);
    assert_eq!(parts.len(), 3, "about 10,000 characters");
    assert_eq!(first.id, parts[0].id.to_string(), "the reference is where the message begins");
    assert!(parts.iter().all(|p| p.text.encode_utf16().count() <= 4096));
    assert_eq!(parts[0].buttons.len(), 4, "the buttons sit under the title, on the part edits change");
    assert!(parts[1..].iter().all(|p| p.buttons.is_empty()));
    // Every step arrived whole, in order: the cuts fell between lines.
    let lines: Vec<&str> = parts.iter().flat_map(|p| p.text.lines()).filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[..2], ["Runbook: disk full", "Steps"]);
    assert_eq!(lines[2..], steps.iter().map(String::as_str).collect::<Vec<_>>()[..]);

    // Someone acknowledges: the edit lands on the part with the buttons, and the chat
    // still shows exactly one keyboard, the new one.
    let acked = RichMessage { status: Some(Status::Investigating), ..runbook };
    telegram.update(&first, &acked).await.expect("edited");
    let parts = fake.bot_messages(-1001);
    assert!(parts[0].text.starts_with("Runbook: disk full [INVESTIGATING]"), "{}", parts[0].text);
    assert_eq!(parts[0].edits, 1);
    assert_eq!(parts.iter().filter(|p| !p.buttons.is_empty()).count(), 1, "one keyboard in the chat");
}

#[tokio::test]
async fn only_allowed_chats_are_served() {
    let (fake, app) = start(r#"allowed_chats = ["-1001"]"#).await;
    let elsewhere = Chat::group(-2002, "random");
    let update = fake.message_update(&elsewhere, &alice(), "/oncall high not here");
    let ignored = update["update_id"].as_i64().unwrap();
    fake.deliver(update);
    // A button press from there is answered (the spinner stops) and does nothing.
    let press = fake.press(&elsewhere, &alice(), 1, "ack:1");
    let answer = eventually(WAIT, "the silent answer", || async { fake.answers(&press).pop() }).await;
    assert_eq!(answer.get("text"), None);
    fake.wait_confirmed(ignored).await;

    fake.say(&ops(), &alice(), "/oncall high db down");
    app.wait_incidents(1).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 1);
    assert!(fake.bot_messages(-2002).is_empty());
}

#[tokio::test]
async fn an_update_is_handled_once_across_a_restart_and_a_repeated_delivery() {
    let (fake, mut app) = start("").await;
    let ops = ops();
    let update = fake.message_update(&ops, &alice(), "/oncall high disk full on prod-db-01");
    let id = update["update_id"].as_i64().unwrap();
    fake.deliver(update);
    app.wait_incidents(1).await;
    // The offset moved past the update only once it was stored.
    fake.wait_confirmed(id).await;

    app.restart().await;
    eventually(WAIT, "polling again", || async { (fake.ok_calls("setMyCommands").len() == 2).then_some(()) })
        .await;
    // Telegram sends it once more (a confirmation lost on the way): dropped as a repeat.
    fake.deliver_again(id);
    fake.say(&ops, &alice(), "/status");
    fake.wait_bot_message(ops.id, "the /status answer", |m| m.text.contains("open incident")).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 1);
    assert_eq!(app.timeline(1).iter().filter(|e| matches!(e.kind, EntryKind::Created { .. })).count(), 1);
    assert_eq!(fake.bot_messages(ops.id).iter().filter(|m| !m.buttons.is_empty()).count(), 1, "one card");
}

#[tokio::test]
async fn an_update_stored_but_not_handled_before_a_restart_is_handled_after_it_exactly_once() {
    let (fake, mut app) = start("").await;
    let ops = ops();
    let update = fake.message_update(&ops, &alice(), "/oncall high disk full on prod-db-01");
    let id = update["update_id"].as_i64().unwrap();

    // What the adapter does before confirming, stopped right after the store: the
    // update is in the inbox with its dedup key, and nobody handled it yet.
    let parsed = wire::parse_update(&serde_json::to_vec(&update).unwrap()).unwrap();
    let me = wire::BotIdentity { id: BOT_ID as u64, username: BOT_USERNAME.into() };
    let ctx = wire::Context { me: &me, allowed_chats: &[], now: chrono::Utc::now() };
    let wire::Translated::Event { event, dedup_keys, .. } = wire::translate(&parsed, &ctx) else {
        panic!("a command is an event")
    };
    app.store().accept(&dedup_keys, chrono::Utc::now() + chrono::Duration::hours(1), &event).unwrap();
    assert!(app.incidents().is_empty());

    app.restart().await;
    app.wait_incidents(1).await;
    // Telegram was never told, so it delivers the update: the dedup key drops it.
    fake.deliver(update);
    fake.wait_confirmed(id).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 1);
    assert_eq!(fake.bot_messages(ops.id).len(), 1, "one card");
}

#[tokio::test]
async fn webhook_mode_takes_updates_with_the_right_secret_only() {
    let fake = FakeTelegram::start().await;
    let app = TestApp::start(&fake.config("mode = \"webhook\"\nwebhook_secret = \"s3cret_Token-1\"")).await;
    fake.wait_started().await;
    let url = app.url("/telegram/webhook");
    let update = fake.message_update(&ops(), &alice(), "/oncall high payments 502s");

    for secret in [None, Some("wrong"), Some("s3cret_token-1")] {
        let (status, body) = post_webhook(&url, secret, &update).await;
        assert_eq!(status, 401, "{secret:?}");
        assert!(body["error"].as_str().unwrap().contains("X-Telegram-Bot-Api-Secret-Token"), "{body}");
    }
    assert!(app.store().inbox().unwrap().is_empty() && app.incidents().is_empty(), "nothing stored");

    // The right secret: stored, answered 200, handled. Telegram's retry is a repeat.
    let (status, _) = post_webhook(&url, Some("s3cret_Token-1"), &update).await;
    assert_eq!(status, 200);
    app.wait_incidents(1).await;
    let (status, _) = post_webhook(&url, Some("s3cret_Token-1"), &update).await;
    assert_eq!(status, 200);
    fake.wait_bot_message(-1001, "the card", |m| !m.buttons.is_empty()).await;
    app.settle().await;
    assert_eq!(app.incidents().len(), 1);

    // No polling in webhook mode, and the webhook is left in place.
    assert!(fake.calls("getUpdates").is_empty() && fake.calls("deleteWebhook").is_empty());

    // A body that is no update we can read is dropped with a 200: Telegram would retry
    // anything else forever, and hold up the updates behind it.
    for garbage in ["not json at all", r#"{"update_id": "eleven"}"#, r#"[1, 2, 3]"#] {
        assert_eq!(post_webhook_raw(&url, Some("s3cret_Token-1"), garbage).await.0, 200, "{garbage}");
        // …but only once the secret is right.
        assert_eq!(post_webhook_raw(&url, Some("wrong"), garbage).await.0, 401, "{garbage}");
    }
    let next = fake.message_update(&ops(), &bob(), "/oncall low flaky login test");
    assert_eq!(post_webhook(&url, Some("s3cret_Token-1"), &next).await.0, 200);
    app.wait_incidents(2).await;
}

#[tokio::test]
async fn a_429_delays_the_message_by_retry_after_and_it_arrives_once() {
    let (fake, app) = start("").await;
    let ops = ops();
    fake.fail_next("sendMessage", 1, Fault::RetryAfter(1));
    let command = fake.say(&ops, &alice(), "/oncall high disk full on prod-db-01");
    fake.wait_bot_message(ops.id, "the card", |m| m.reply_to == Some(command)).await;
    app.settle().await;

    let sends = fake.calls("sendMessage");
    assert_eq!(sends.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 200]);
    let waited = sends[1].at - sends[0].at;
    assert!(waited >= Duration::from_secs(1), "sent again after {waited:?}");
    assert_eq!(fake.bot_messages(ops.id).len(), 1);
}

#[tokio::test]
async fn polling_waits_out_rate_limits_and_a_502_is_retried_without_loss() {
    let (fake, app) = start("").await;
    let ops = ops();
    // Three 429s on getUpdates in a row: the loop waits each retry_after, never spins.
    fake.fail_next("getUpdates", 3, Fault::RetryAfter(1));
    eventually(WAIT, "the first 429", || async {
        fake.calls("getUpdates").iter().any(|c| c.status == 429).then_some(())
    })
    .await;
    let started = Instant::now();
    let command = fake.say(&ops, &alice(), "/oncall high disk full on prod-db-01");
    app.wait_incidents(1).await;
    let refused: Vec<_> = fake.calls("getUpdates").into_iter().filter(|c| c.status == 429).collect();
    assert_eq!(refused.len(), 3);
    assert!(refused.windows(2).all(|w| w[1].at - w[0].at >= Duration::from_secs(1)));
    assert!(started.elapsed() >= Duration::from_secs(2));

    // The Bot API fails the card with a 502: the outbox retries, the card arrives once.
    // (teloxide itself pauses 10 s after a 5xx answer.)
    fake.fail_next("sendMessage", 1, Fault::Status(502));
    let second = fake.say(&ops, &bob(), "/oncall medium search is slow");
    eventually(Duration::from_secs(30), "the card after the 502", || async {
        fake.bot_messages(ops.id).into_iter().find(|m| m.reply_to == Some(second))
    })
    .await;
    app.settle().await;
    let cards = fake.bot_messages(ops.id);
    assert_eq!(cards.iter().filter(|m| m.reply_to == Some(second)).count(), 1);
    assert_eq!(cards.iter().filter(|m| m.reply_to == Some(command)).count(), 1);
}

#[tokio::test]
async fn alerts_are_posted_to_the_chat_for_their_severity() {
    let (fake, app) = start("alert_chat = \"-1001\"\n[telegram.severity_chats]\ncritical = \"-1002\"").await;
    assert_eq!(app.alertmanager(include_str!("fixtures/alertmanager-firing.json")).await, 200);

    // The critical disk alert goes to the on-call chat, the warning to the default one.
    let critical =
        fake.wait_bot_message(-1002, "the critical card", |m| m.text.contains("Disk almost full")).await;
    assert!(critical.text.starts_with("🔴 #1 · Disk almost full on prod-db-01 [OPEN]"), "{}", critical.text);
    assert_eq!(critical.buttons.len(), 4);
    let warning = fake.wait_bot_message(-1001, "the warning card", |m| !m.buttons.is_empty()).await;
    assert!(warning.text.contains("#2 · "), "{}", warning.text);

    // The card starts the thread: a press acknowledges, a reply is a note.
    let oncall = Chat::group(-1002, "oncall");
    fake.press(&oncall, &alice(), critical.id, "ack:1");
    incident_where(&app, 1, "acknowledged", |i| i.acked_by.is_some()).await;
    fake.reply(&oncall, &alice(), critical.id, "pruning WAL now");
    eventually(WAIT, "the note", || async {
        app.timeline(1).into_iter().find(|e| e.kind == EntryKind::Note { text: "pruning WAL now".into() })
    })
    .await;
}

#[tokio::test]
async fn a_forum_topic_is_an_incident_thread() {
    let (fake, app) = start("").await;
    let forum = Chat::forum(-1003, "sre");
    fake.say_in_topic(&forum, &alice(), 77, "@warroom_bot payments API returns 502 for all customers");
    app.wait_incidents(1).await;
    let card = fake.wait_bot_message(forum.id, "the card", |m| !m.buttons.is_empty()).await;
    assert_eq!((card.topic, card.reply_to), (Some(77), Some(77)), "posted in the topic");

    // Anyone writing in the topic adds to the incident's timeline.
    fake.say_in_topic(&forum, &bob(), 77, "error rate back under 1%");
    eventually(WAIT, "the note", || async {
        app.timeline(1)
            .into_iter()
            .find(|e| e.kind == EntryKind::Note { text: "error rate back under 1%".into() })
    })
    .await;
    let sent = fake.ok_calls("sendMessage");
    assert!(sent.iter().all(|c| c.params["message_thread_id"] == json!(77)));
}

#[tokio::test]
async fn editing_a_card_to_what_it_already_shows_is_not_an_error() {
    let (fake, app) = start("").await;
    let telegram = app.running().platforms.get(Platform::Telegram).unwrap();
    let card =
        RichMessage { title: "#9 · db down".into(), buttons: Button::lifecycle(9), ..Default::default() };
    let posted = telegram.post("-1001", None, &card).await.expect("posted");

    // Telegram answers "message is not modified": the card already shows this.
    telegram.update(&posted, &card).await.expect("an edit that changes nothing succeeds");
    assert_eq!(fake.calls("editMessageText")[0].status, 400);

    // A real change is shown; without buttons, the keyboard goes away.
    let done =
        RichMessage { title: "#9 · db down".into(), status: Some(Status::Resolved), ..Default::default() };
    telegram.update(&posted, &done).await.expect("edited");
    let shown = fake.message(-1001, posted.id.parse().unwrap()).unwrap();
    assert_eq!((shown.text.as_str(), shown.buttons.len(), shown.edits), ("#9 · db down [RESOLVED]", 0, 1));
}

#[tokio::test]
async fn a_refusal_too_late_for_the_button_is_said_in_the_chat() {
    let (fake, app) = start("").await;
    let ops = ops();
    let command = fake.say(&ops, &alice(), "/oncall high disk full on prod-db-01");
    let card = fake.wait_bot_message(ops.id, "the card", |m| m.reply_to == Some(command)).await;
    fake.press(&ops, &alice(), card.id, "resolve:1");
    incident_where(&app, 1, "resolved", |i| i.status == Status::Resolved).await;
    app.settle().await;

    // Bob presses the stale Resolve, and Telegram no longer takes an answer to it.
    fake.fail_next("answerCallbackQuery", 1, Fault::BadRequest(QUERY_TOO_OLD));
    fake.press(&ops, &bob(), card.id, "resolve:1");
    let said = fake.wait_bot_message(ops.id, "the refusal in the chat", |m| m.text.starts_with("⚠️")).await;
    assert!(said.text.contains("#1"), "{}", said.text);
}

#[tokio::test]
async fn a_button_press_is_answered_at_once_while_another_chat_waits_out_a_429() {
    let (fake, app) = start("").await;
    let ops = ops();
    let command = fake.say(&ops, &alice(), "/oncall high disk full on prod-db-01");
    let card = fake.wait_bot_message(ops.id, "the card", |m| m.reply_to == Some(command)).await;
    app.settle().await;

    // A busy chat: Telegram tells the bot to hold its messages there for 30 s.
    let busy = Chat::group(-2002, "payments");
    fake.fail_next_in("sendMessage", busy.id, 1, Fault::RetryAfter(30));
    fake.say(&busy, &bob(), "/status");
    eventually(WAIT, "the 429 in the busy chat", || async {
        fake.calls("sendMessage").iter().any(|c| c.status == 429).then_some(())
    })
    .await;

    // Alice presses Acknowledge in #ops meanwhile: her spinner stops at once.
    let pressed = Instant::now();
    let ack = fake.press(&ops, &alice(), card.id, "ack:1");
    let answer =
        eventually(Duration::from_secs(5), "the answer to the press", || async { fake.answers(&ack).pop() })
            .await;
    assert_eq!(answer["text"], "Acknowledge #1: INVESTIGATING");
    assert!(pressed.elapsed() < Duration::from_secs(5), "answered after {:?}", pressed.elapsed());
    // The busy chat's answer is still waiting out its Retry-After.
    assert!(fake.bot_messages(busy.id).is_empty());
}

#[tokio::test]
async fn a_chat_that_gets_alerts_is_served_even_when_allowed_chats_leaves_it_out() {
    let (fake, app) = start("allowed_chats = [\"-1001\"]\nalert_chat = \"-1002\"").await;
    assert_eq!(app.alertmanager(include_str!("fixtures/alertmanager-firing.json")).await, 200);
    let card = fake.wait_bot_message(-1002, "an alert card", |m| !m.buttons.is_empty()).await;

    // Alice acknowledges the alert where it was posted, and replies with what she does.
    let alerts = Chat::group(-1002, "alerts");
    let (_, ack) = card.buttons[0].clone();
    let id: u64 = ack.strip_prefix("ack:").unwrap().parse().unwrap();
    let press = fake.press(&alerts, &alice(), card.id, &ack);
    incident_where(&app, id, "acknowledged in the alert chat", |i| i.acked_by.is_some()).await;
    let answer = eventually(WAIT, "the answer", || async { fake.answers(&press).pop() }).await;
    assert!(answer["text"].as_str().unwrap().starts_with("Acknowledge #"), "{answer}");
    fake.reply(&alerts, &alice(), card.id, "silencing the noisy disk alert");
    eventually(WAIT, "the note", || async {
        app.timeline(id)
            .into_iter()
            .find(|e| e.kind == EntryKind::Note { text: "silencing the noisy disk alert".into() })
    })
    .await;
}

#[test]
fn check_refuses_alert_chats_that_are_not_chat_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[telegram]\ntoken = \"123:abc\"\nalert_chat = \"#ops\"\n[telegram.severity_chats]\ncritical = \"-100123\"\nhigh = \"@oncall\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("telegram.alert_chat: `#ops` is not a chat id"), "{said}");
    assert!(said.contains("telegram.severity_chats.high: `@oncall`"), "{said}");
    assert!(!said.contains("severity_chats.critical"), "{said}");
}

#[tokio::test]
async fn commands_and_the_escalate_and_mitigated_buttons_work_an_incident_through() {
    let (fake, app) =
        start("[[escalation.steps]]\nafter_mins = 15\nnotify = [\"telegram:@oncall_carol\"]").await;
    let ops = ops();
    let command = fake.say(&ops, &alice(), "/oncall high payments API 502s");
    let card = fake.wait_bot_message(ops.id, "the card", |m| m.reply_to == Some(command)).await;

    // Bob asks what he can do: the help speaks of the commands he types here.
    fake.say(&ops, &bob(), "/help");
    let help = fake.wait_bot_message(ops.id, "the help", |m| m.text.starts_with("Usage:")).await;
    assert!(help.text.starts_with("Usage:\n  /oncall [critical|high|medium|low] <title>"), "{}", help.text);
    for line in ["/status [id]", "/ack <id>", "/resolve <id>", "/note <id> <text>", "(times in UTC)"] {
        assert!(help.text.contains(line), "{line} in:\n{}", help.text);
    }
    assert!(!help.text.contains("/incident"), "{}", help.text);
    // A slip gets the reason and the same help.
    fake.say(&ops, &bob(), "/ack");
    let said = fake
        .wait_bot_message(ops.id, "the answer to /ack", |m| m.id != help.id && m.text.contains("Usage:"))
        .await;
    assert!(said.text.ends_with(&help.text) && said.text.len() > help.text.len(), "{}", said.text);

    // Nobody acknowledged yet: Alice escalates with the button, carol is paged.
    let escalate = fake.press(&ops, &alice(), card.id, "escalate:1");
    let page = fake.wait_bot_message(ops.id, "the page", |m| m.text.contains("escalated #1")).await;
    assert!(page.text.starts_with("@oncall_carol\n\n📣 alice escalated #1 (step 1)."), "{}", page.text);
    let answer = eventually(WAIT, "the answer", || async { fake.answers(&escalate).pop() }).await;
    assert_eq!(answer["text"], "Escalate #1: OPEN");

    // Bob types /ack 1 and /note 1 …
    fake.say(&ops, &bob(), "/ack 1");
    fake.wait_bot_message(ops.id, "the ack answer", |m| m.text == "#1 acknowledged (INVESTIGATING).").await;
    let incident = incident_where(&app, 1, "acked by bob", |i| i.acked_by.is_some()).await;
    assert_eq!(incident.acked_by, Some(telegram_user("43", "bob")));
    fake.say(&ops, &bob(), "/note 1 failed over to the eu-west replica");
    eventually(WAIT, "bob's note", || async {
        app.timeline(1).into_iter().find(|e| {
            e.kind == EntryKind::Note { text: "failed over to the eu-west replica".into() }
                && e.actor == telegram_user("43", "bob")
        })
    })
    .await;

    // … Alice presses Mitigated, and the card says so.
    let mitigate = fake.press(&ops, &alice(), card.id, "mitigate:1");
    let incident = incident_where(&app, 1, "mitigated", |i| i.status == Status::Mitigated).await;
    assert_eq!(incident.mitigated_by, Some(telegram_user("42", "alice")));
    eventually(WAIT, "the card to show it", || async {
        fake.message(ops.id, card.id).filter(|m| m.text.starts_with("🟠 #1 · payments API 502s [MITIGATED]"))
    })
    .await;
    let answer = eventually(WAIT, "the answer", || async { fake.answers(&mitigate).pop() }).await;
    assert_eq!(answer["text"], "Mitigated #1: MITIGATED");

    // Bob closes it with /resolve 1; the timeline tells the story in order.
    fake.say(&ops, &bob(), "/resolve 1");
    let incident = incident_where(&app, 1, "resolved", |i| i.status == Status::Resolved).await;
    assert_eq!(incident.resolved_by, Some(telegram_user("43", "bob")));
    let kinds: Vec<&str> = app
        .timeline(1)
        .iter()
        .map(|e| match e.kind {
            EntryKind::Escalated { .. } => "escalated",
            EntryKind::Acknowledged => "acknowledged",
            EntryKind::Note { .. } => "note",
            EntryKind::StatusChanged { .. } => "status",
            _ => "other",
        })
        .filter(|k| *k != "other")
        .collect();
    assert_eq!(kinds, ["escalated", "acknowledged", "status", "note", "status", "status"]);
}

#[tokio::test]
async fn an_anonymous_admin_and_an_unknown_command_that_mentions_the_bot_are_heard() {
    let (fake, app) = start("").await;
    let ops = ops();
    // An admin posting anonymously, as the group: Telegram says GroupAnonymousBot.
    let update = fake.anonymous_admin_update(&ops, "/oncall high checkout is down");
    let asked = update["message"]["message_id"].as_i64().unwrap();
    fake.deliver(update);
    let incident = app.wait_incidents(1).await.remove(0);
    assert_eq!(incident.created_by, telegram_user("-1001", "ops"));
    fake.wait_bot_message(ops.id, "the card", |m| m.reply_to == Some(asked)).await;

    // Not a command the bot knows, but it names the bot: it is told, not ignored.
    let told = fake.say(&ops, &alice(), "/data full on prod-db-01 @warroom_bot");
    fake.wait_bot_message(ops.id, "an answer to the mention", |m| m.reply_to == Some(told)).await;
}

#[tokio::test]
async fn an_update_the_store_refused_is_not_confirmed_and_is_taken_once_when_offered_again() {
    let fake = FakeTelegram::start().await;
    let store = FlakyStore::new();
    let handled = Handled::new(store.clone());
    let (tracker, shutdown) = (TaskTracker::new(), CancellationToken::new());
    let out =
        Intake::start(store.clone(), chrono::Duration::hours(1), handled.clone(), &tracker, shutdown.clone());
    let config = TelegramConfig {
        token: Secret::new(TOKEN),
        api_url: fake.url.clone(),
        poll_timeout_secs: 1,
        ..Default::default()
    };
    let telegram = Arc::new(Telegram::new(&config).expect("adapter"));
    let polling = tokio::spawn(telegram.run(InboundContext { shutdown: shutdown.clone(), out }));
    fake.wait_started().await;

    // The disk is full when Alice's command arrives: it cannot be stored.
    store.fail_next_accepts(1);
    let update = fake.message_update(&ops(), &alice(), "/oncall high disk full on prod-db-01");
    let id = update["update_id"].as_i64().unwrap();
    fake.deliver(update);

    // Not stored, so not confirmed: Telegram offers it again, and it is taken once.
    fake.wait_confirmed(id).await;
    assert_eq!(store.offered(), [id.to_string(), id.to_string()], "refused once, stored the second time");
    eventually(WAIT, "the command to be handled", || async { (handled.events().len() == 1).then_some(()) })
        .await;
    assert_eq!(handled.events()[0].event_id, id.to_string());
    assert!(store.inbox().unwrap().is_empty());

    shutdown.cancel();
    polling.await.unwrap().unwrap();
    tracker.close();
    tracker.wait().await;
    assert_eq!(handled.events().len(), 1, "handled exactly once");
}

/// The fake checks HTML the way Telegram does (so escaping bugs fail the tests).
#[test]
fn the_fake_checks_html_like_telegram() {
    use support::telegram::parse_html;
    assert_eq!(parse_html("<b>a &lt;b&gt; &amp; c</b>"), Ok("a <b> & c".into()));
    assert!(parse_html("<b>x</i>").is_err());
    assert!(parse_html("<script>x</script>").is_err());
    assert!(parse_html("<b>open").is_err());
    assert_eq!(parse_html("fish & chips"), Ok("fish & chips".into()));
}
