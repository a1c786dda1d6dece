//! Slack wire payloads → [`Inbound`]. Pure functions shared by socket mode and HTTP
//! mode; nothing past this file sees a slack-morphism type.
//!
//! - `app_mention` and messages that mention the bot → `Mention`
//! - human messages inside a thread → `ThreadReply`; direct messages → `Mention`
//! - `/incident …` → `Command`; `block_actions` button presses → `Action`
//!
//! One message can arrive twice (as `app_mention` and as `message`), so every message
//! is deduplicated by `channel:ts` as well as by its `event_id`.
//! <https://docs.slack.dev/reference/events/app_mention>

use chrono::{DateTime, Utc};
use slack_morphism::events::{SlackEventCallbackBody, SlackInteractionEvent, SlackPushEventCallback};
use slack_morphism::prelude::{SlackCommandEvent, SlackMessageEventType};

use crate::model::{ActionKind, Inbound, InboundKind, Person, Platform, ReplyHandle};

/// An event ready for intake, with the keys that identify its delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub event: Inbound,
    pub dedup_keys: Vec<String>,
}

/// What the adapter knows about itself.
#[derive(Debug, Clone, Default)]
pub struct Me {
    /// The bot's user id (`auth.test`), to spot mentions in plain messages.
    pub user_id: Option<String>,
    /// The bot's bot id, to drop our own messages.
    pub bot_id: Option<String>,
}

fn person(user: &str) -> Person {
    Person::new("slack", user, None)
}

/// Our own posts, which must never come back in as chat (a loop).
///
/// Until `auth.test` said who we are (HTTP mode serves events from the start), every
/// app's post counts as ours: dropping another app's message for a moment is better
/// than hearing our own cards as new reports.
fn is_mine(sender: &slack_morphism::prelude::SlackMessageSender, me: &Me) -> bool {
    if me.bot_id.is_none() && sender.bot_id.is_some() {
        return true;
    }
    let bot = sender.bot_id.as_ref().is_some_and(|b| me.bot_id.as_deref() == Some(b.as_ref()));
    let user = sender.user.as_ref().is_some_and(|u| me.user_id.as_deref() == Some(u.as_ref()));
    bot || user
}

fn message_keys(event_id: &str, channel: &str, ts: &str) -> Vec<String> {
    vec![format!("slack:event:{event_id}"), format!("slack:msg:{channel}:{ts}")]
}

/// A push event (Events API / socket mode `events_api`). `None` = not for us.
pub fn push_event(callback: &SlackPushEventCallback, me: &Me, now: DateTime<Utc>) -> Option<Incoming> {
    let event_id = callback.event_id.to_string();
    match &callback.event {
        SlackEventCallbackBody::AppMention(mention) => {
            if me.user_id.as_deref() == Some(mention.user.as_ref()) {
                return None;
            }
            let channel = mention.channel.to_string();
            let ts = mention.origin.ts.to_string();
            let text = mention.content.text.clone().unwrap_or_default();
            Some(Incoming {
                dedup_keys: message_keys(&event_id, &channel, &ts),
                event: Inbound {
                    platform: Platform::Slack,
                    event_id,
                    channel,
                    thread: mention.origin.thread_ts.as_ref().map(|t| t.to_string()),
                    message_id: Some(ts),
                    user: person(mention.user.as_ref()),
                    kind: InboundKind::Mention { text, alert_channel: false, from_integration: false },
                    reply: ReplyHandle::default(),
                    received_at: now,
                },
            })
        }
        SlackEventCallbackBody::Message(message) => {
            // Edits, joins and other subtypes are not chat; a reply with a screenshot
            // (file_share) and a legacy integration's post (bot_message) are.
            let chat = match &message.subtype {
                None => true,
                Some(s) => matches!(
                    s,
                    SlackMessageEventType::ThreadBroadcast
                        | SlackMessageEventType::FileShare
                        | SlackMessageEventType::BotMessage
                ),
            };
            if !chat || message.hidden == Some(true) || is_mine(&message.sender, me) {
                return None;
            }
            // Other apps (an Alertmanager or CI integration) count: their mentions are
            // classified like anyone's, their thread replies are notes.
            let from_integration = message.sender.bot_id.is_some();
            let user = match (&message.sender.user, &message.sender.bot_id) {
                (Some(user), _) => user.to_string(),
                (None, Some(bot)) => bot.to_string(),
                (None, None) => return None,
            };
            let channel = message.origin.channel.as_ref()?.to_string();
            let ts = message.origin.ts.to_string();
            let thread = message.origin.thread_ts.as_ref().map(|t| t.to_string()).filter(|t| *t != ts);
            let text = message.content.as_ref().and_then(|c| c.text.clone()).unwrap_or_default();
            let direct = message.origin.channel_type.as_ref().is_some_and(|t| t.to_string() == "im");
            let mentions_me = me.user_id.as_ref().is_some_and(|id| text.contains(&format!("<@{id}>")));
            let kind = if direct || mentions_me {
                InboundKind::Mention { text, alert_channel: false, from_integration }
            } else if thread.is_some() {
                InboundKind::ThreadReply { text }
            } else {
                return None; // a top-level message that is not addressed to us
            };
            Some(Incoming {
                dedup_keys: message_keys(&event_id, &channel, &ts),
                event: Inbound {
                    platform: Platform::Slack,
                    event_id,
                    channel,
                    thread,
                    message_id: Some(ts),
                    user: Person::new(
                        "slack",
                        &user,
                        message.sender.username.clone().filter(|_| from_integration),
                    ),
                    kind,
                    reply: ReplyHandle::default(),
                    received_at: now,
                },
            })
        }
        _ => None,
    }
}

/// A slash command. Commands other than `/incident` (and its alias `/warroom`) are
/// not ours; the caller answers them with a hint.
pub fn command(cmd: &SlackCommandEvent, now: DateTime<Utc>) -> Option<Incoming> {
    let name = cmd.command.to_string();
    if name != "/incident" && name != "/warroom" {
        return None;
    }
    let trigger = cmd.trigger_id.to_string();
    Some(Incoming {
        dedup_keys: vec![format!("slack:trigger:{trigger}")],
        event: Inbound {
            platform: Platform::Slack,
            event_id: trigger,
            channel: cmd.channel_id.to_string(),
            thread: None,
            message_id: None,
            user: person(cmd.user_id.as_ref()),
            kind: InboundKind::Command { text: cmd.text.clone().unwrap_or_default() },
            reply: ReplyHandle { token: Some(cmd.response_url.0.to_string()), interaction_id: None },
            received_at: now,
        },
    })
}

/// Why a button press was not turned into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAnAction {
    /// Not a block action (shortcuts, modals …): nothing to do.
    Ignored,
    /// A press whose value does not point at an incident (stale or forged).
    Invalid,
}

/// A `block_actions` interaction (one of our buttons).
pub fn interaction(event: &SlackInteractionEvent, now: DateTime<Utc>) -> Result<Incoming, NotAnAction> {
    let SlackInteractionEvent::BlockActions(block) = event else {
        return Err(NotAnAction::Ignored);
    };
    let action = block.actions.as_ref().and_then(|a| a.first()).ok_or(NotAnAction::Ignored)?;
    let (kind, incident) =
        action.value.as_deref().and_then(ActionKind::decode).ok_or(NotAnAction::Invalid)?;
    let user = block.user.as_ref().ok_or(NotAnAction::Invalid)?;
    let (container_channel, message_ts) = match &block.container {
        slack_morphism::events::SlackInteractionActionContainer::Message(m) => {
            (m.channel_id.as_ref().map(|c| c.to_string()), Some(m.message_ts.to_string()))
        }
        _ => (None, None),
    };
    let channel =
        block.channel.as_ref().map(|c| c.id.to_string()).or(container_channel).ok_or(NotAnAction::Invalid)?;
    // The card sits in a thread (or is the root of one): answers go there.
    let thread = block
        .message
        .as_ref()
        .and_then(|m| m.origin.thread_ts.as_ref().map(|t| t.to_string()))
        .or(message_ts);
    let trigger = block.trigger_id.to_string();
    Ok(Incoming {
        dedup_keys: vec![format!("slack:trigger:{trigger}")],
        event: Inbound {
            platform: Platform::Slack,
            event_id: trigger,
            channel,
            thread,
            message_id: None,
            user: Person::new(
                "slack",
                user.id.to_string(),
                user.username.clone().or_else(|| user.name.clone()),
            ),
            kind: InboundKind::Action { action: kind, incident },
            reply: ReplyHandle {
                token: block.response_url.as_ref().map(|u| u.0.to_string()),
                interaction_id: None,
            },
            received_at: now,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn push(json: &str) -> SlackPushEventCallback {
        serde_json::from_str(json).expect("captured payload parses")
    }

    fn me() -> Me {
        Me { user_id: Some("U0BOT".into()), bot_id: Some("B0BOT".into()) }
    }

    const MENTION: &str = r#"{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1700000000,
        "event":{"type":"app_mention","user":"U1","text":"<@U0BOT> checkout is throwing 500s","ts":"1700000000.000100","channel":"C1","event_ts":"1700000000.000100"}}"#;

    #[test]
    fn an_app_mention_is_a_mention_keyed_by_event_and_message() {
        let got = push_event(&push(MENTION), &me(), now()).unwrap();
        assert_eq!(got.dedup_keys, vec!["slack:event:Ev1", "slack:msg:C1:1700000000.000100"]);
        assert_eq!(got.event.channel, "C1");
        assert_eq!(got.event.thread, None);
        assert_eq!(got.event.message_id.as_deref(), Some("1700000000.000100"));
        assert_eq!(got.event.user.id, "U1");
        assert_eq!(
            got.event.kind,
            InboundKind::Mention {
                text: "<@U0BOT> checkout is throwing 500s".into(),
                alert_channel: false,
                from_integration: false
            }
        );
    }

    #[test]
    fn messages_in_threads_are_replies_and_our_own_are_dropped() {
        let reply = r#"{"team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev2","event_time":1700000001,
            "event":{"type":"message","user":"U2","text":"rolled back","ts":"1700000001.000200","thread_ts":"1700000000.000100","channel":"C1","channel_type":"channel"}}"#;
        let got = push_event(&push(reply), &me(), now()).unwrap();
        assert_eq!(got.event.kind, InboundKind::ThreadReply { text: "rolled back".into() });
        assert_eq!(got.event.thread.as_deref(), Some("1700000000.000100"));

        let ours = r#"{"team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev3","event_time":1700000001,
            "event":{"type":"message","subtype":"bot_message","bot_id":"B0BOT","text":"card","ts":"1700000001.000300","thread_ts":"1700000000.000100","channel":"C1"}}"#;
        assert_eq!(push_event(&push(ours), &me(), now()), None);

        let top_level = r#"{"team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev4","event_time":1700000001,
            "event":{"type":"message","user":"U2","text":"lunch?","ts":"1700000001.000400","channel":"C1","channel_type":"channel"}}"#;
        assert_eq!(push_event(&push(top_level), &me(), now()), None, "not addressed to us");

        let edited = r#"{"team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev5","event_time":1700000001,
            "event":{"type":"message","subtype":"message_changed","hidden":true,"ts":"1700000001.000500","channel":"C1"}}"#;
        assert_eq!(push_event(&push(edited), &me(), now()), None);
    }

    #[test]
    fn other_apps_and_screenshots_count_but_we_never_hear_ourselves() {
        let integration = r#"{"team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev7","event_time":1700000001,
            "event":{"type":"message","subtype":"bot_message","bot_id":"B0AM","username":"Alertmanager","text":"<@U0BOT> [FIRING:1] HighErrorRate checkout","ts":"1700000001.000700","channel":"C1"}}"#;
        let got = push_event(&push(integration), &me(), now()).unwrap();
        assert!(matches!(got.event.kind, InboundKind::Mention { from_integration: true, .. }), "{got:?}");
        assert_eq!(got.event.user.display(), "Alertmanager");

        let screenshot = r#"{"team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev8","event_time":1700000001,
            "event":{"type":"message","subtype":"file_share","user":"U2","text":"this is what customers see","ts":"1700000001.000800","thread_ts":"1700000000.000100","channel":"C1"}}"#;
        let got = push_event(&push(screenshot), &me(), now()).unwrap();
        assert_eq!(got.event.kind, InboundKind::ThreadReply { text: "this is what customers see".into() });

        // Our own post, as a modern app (user + bot_id, no subtype): dropped.
        let ours = r#"{"team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev9","event_time":1700000001,
            "event":{"type":"message","user":"U0BOT","bot_id":"B0BOT","text":"<@U0BOT> card","ts":"1700000001.000900","thread_ts":"1700000000.000100","channel":"C1"}}"#;
        assert_eq!(push_event(&push(ours), &me(), now()), None);
        // Before auth.test answered, no app's post is taken for a person's.
        assert_eq!(push_event(&push(integration), &Me::default(), now()), None);
    }

    #[test]
    fn a_thread_message_that_mentions_us_is_a_mention() {
        let json = r#"{"team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev6","event_time":1700000001,
            "event":{"type":"message","user":"U2","text":"<@U0BOT> db is down too","ts":"1700000001.000600","thread_ts":"1700000000.000100","channel":"C1","channel_type":"channel"}}"#;
        let got = push_event(&push(json), &me(), now()).unwrap();
        assert!(matches!(got.event.kind, InboundKind::Mention { .. }));
        assert_eq!(got.dedup_keys[1], "slack:msg:C1:1700000001.000600", "same key as its app_mention twin");
    }

    #[test]
    fn slash_commands_carry_the_text_and_response_url() {
        let cmd: SlackCommandEvent = serde_json::from_value(serde_json::json!({
            "team_id":"T1","channel_id":"C1","user_id":"U1","command":"/incident","text":"open high db down",
            "response_url":"https://hooks.slack.com/commands/T1/1/x","trigger_id":"13345224609.738474920.8088930838d88f008e0"
        }))
        .unwrap();
        let got = command(&cmd, now()).unwrap();
        assert_eq!(got.event.kind, InboundKind::Command { text: "open high db down".into() });
        assert_eq!(got.event.reply.token.as_deref(), Some("https://hooks.slack.com/commands/T1/1/x"));
        assert_eq!(got.dedup_keys, vec!["slack:trigger:13345224609.738474920.8088930838d88f008e0"]);
        let other: SlackCommandEvent = serde_json::from_value(serde_json::json!({
            "team_id":"T1","channel_id":"C1","user_id":"U1","command":"/weather","text":"",
            "response_url":"https://hooks.slack.com/commands/T1/1/x","trigger_id":"1"
        }))
        .unwrap();
        assert_eq!(command(&other, now()), None);
    }

    #[test]
    fn button_presses_point_at_an_incident_and_forgeries_are_invalid() {
        let payload = |value: &str| -> SlackInteractionEvent {
            serde_json::from_value(serde_json::json!({
                "type":"block_actions","user":{"id":"U1","username":"alice","team_id":"T1"},"team":{"id":"T1","domain":"acme"},
                "api_app_id":"A1","trigger_id":"t-1","response_url":"https://hooks.slack.com/actions/T1/1/y",
                "container":{"type":"message","message_ts":"1700000002.000100","channel_id":"C1","is_ephemeral":false},
                "channel":{"id":"C1","name":"ops"},
                "message":{"type":"message","ts":"1700000002.000100","thread_ts":"1700000000.000100","text":"card"},
                "actions":[{"type":"button","action_id":"ack","block_id":"b","value":value,"action_ts":"1700000003.1"}]
            }))
            .unwrap()
        };
        let got = interaction(&payload("ack:42"), now()).unwrap();
        assert_eq!(got.event.kind, InboundKind::Action { action: ActionKind::Ack, incident: 42 });
        assert_eq!(got.event.user.name.as_deref(), Some("alice"));
        assert_eq!(got.event.thread.as_deref(), Some("1700000000.000100"));
        assert_eq!(interaction(&payload("rm -rf:1"), now()), Err(NotAnAction::Invalid));
    }
}
