//! The `/incident` slash command, declared once as data: the registration body sent
//! at start and the translation of a received command's typed options back into the
//! words of the shared grammar (`engine::commands`), so `/incident open` with
//! `title: db down` and `severity: high` becomes `open high db down`.
//!
//! <https://discord.com/developers/docs/interactions/application-commands#application-command-object>

use serde_json::{json, Value};

/// The command's name (`/incident`).
pub const NAME: &str = "incident";

/// Option value types we use.
/// <https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-type>
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
}

/// One typed option of a subcommand.
#[derive(Debug)]
pub struct Opt {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Fixed choices (severity); empty = free input.
    pub choices: &'static [&'static str],
    /// Longest string accepted (Discord enforces it in the client).
    pub max_length: Option<u32>,
}

/// One subcommand; its options are listed in the order their values are spoken in
/// the grammar (`open <severity> <title>`).
#[derive(Debug)]
pub struct Sub {
    pub name: &'static str,
    pub description: &'static str,
    pub options: &'static [Opt],
}

const SEVERITIES: &[&str] = &["critical", "high", "medium", "low"];

const ID: Opt = Opt {
    name: "id",
    description: "Incident number, like 42",
    kind: Kind::Integer,
    required: true,
    choices: &[],
    max_length: None,
};

const OPTIONAL_ID: Opt =
    Opt { required: false, description: "Incident number; empty = list open ones", ..ID };

/// `/incident …`. The severity of `open` is a required choice: a human picked it, so
/// it counts as confirmed, and a title that starts with "high" cannot be mistaken for it.
pub const SUBCOMMANDS: &[Sub] = &[
    Sub {
        name: "open",
        description: "Open an incident",
        options: &[
            Opt {
                name: "severity",
                description: "How bad it is",
                kind: Kind::String,
                required: true,
                choices: SEVERITIES,
                max_length: None,
            },
            Opt {
                name: "title",
                description: "What is wrong, in a few words",
                kind: Kind::String,
                required: true,
                choices: &[],
                max_length: Some(200),
            },
        ],
    },
    Sub { name: "status", description: "Show one incident, or list the open ones", options: &[OPTIONAL_ID] },
    Sub { name: "list", description: "List open incidents", options: &[] },
    Sub { name: "ack", description: "Acknowledge: you are on it", options: &[ID] },
    Sub { name: "escalate", description: "Page the next escalation step", options: &[ID] },
    Sub { name: "mitigate", description: "Mark mitigated", options: &[ID] },
    Sub { name: "resolve", description: "Mark resolved", options: &[ID] },
    Sub { name: "reopen", description: "Reopen a resolved incident", options: &[ID] },
    Sub {
        name: "note",
        description: "Add a note to the timeline",
        options: &[
            ID,
            Opt {
                name: "text",
                description: "The note",
                kind: Kind::String,
                required: true,
                choices: &[],
                max_length: Some(1500),
            },
        ],
    },
];

/// The body of the bulk overwrite (`PUT /applications/{app}/commands` or its guild
/// twin): exactly one command, `/incident`, with a subcommand per [`SUBCOMMANDS`].
/// <https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands>
pub fn registration() -> Value {
    let subcommands: Vec<Value> = SUBCOMMANDS
        .iter()
        .map(|sub| {
            let options: Vec<Value> = sub
                .options
                .iter()
                .map(|o| {
                    let mut option = json!({
                        "type": match o.kind { Kind::String => 3, Kind::Integer => 4 },
                        "name": o.name,
                        "description": o.description,
                        "required": o.required,
                    });
                    if !o.choices.is_empty() {
                        option["choices"] = o
                            .choices
                            .iter()
                            .map(|c| json!({"name": c, "value": c}))
                            .collect::<Vec<_>>()
                            .into();
                    }
                    if let Some(max) = o.max_length {
                        option["max_length"] = max.into();
                    }
                    if o.kind == Kind::Integer {
                        option["min_value"] = 1.into();
                    }
                    option
                })
                .collect();
            json!({"type": 1, "name": sub.name, "description": sub.description, "options": options})
        })
        .collect();
    json!([{
        "name": NAME,
        "type": 1,
        "description": "Incidents: open, status, list, ack, resolve, note",
        "options": subcommands,
    }])
}

/// The grammar's words for subcommand `sub` with its received `(name, value)` options,
/// in the order [`SUBCOMMANDS`] declares (Discord sends them in any order). Unknown
/// subcommands pass through so the grammar answers with its usage.
pub fn words(sub: &str, options: &[(String, String)]) -> String {
    let mut words = vec![sub.to_string()];
    match SUBCOMMANDS.iter().find(|s| s.name == sub) {
        Some(declared) => {
            for opt in declared.options {
                if let Some((_, value)) = options.iter().find(|(name, _)| name == opt.name) {
                    words.push(value.trim().to_string());
                }
            }
        }
        None => words.extend(options.iter().map(|(_, v)| v.trim().to_string())),
    }
    words.retain(|w| !w.is_empty());
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::commands::{parse, Command};
    use crate::model::Severity;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn typed_options_become_the_grammar_words() {
        type Case<'a> = (&'a str, Vec<(String, String)>, &'a str, Command);
        let cases: Vec<Case> = vec![
            (
                "open",
                opts(&[("title", "high latency on db"), ("severity", "low")]),
                "open low high latency on db",
                Command::Open { severity: Some(Severity::Low), title: "high latency on db".into() },
            ),
            ("status", opts(&[]), "status", Command::List),
            ("status", opts(&[("id", "4")]), "status 4", Command::Status { id: Some(4) }),
            ("list", opts(&[]), "list", Command::List),
            ("ack", opts(&[("id", "7")]), "ack 7", Command::Ack(7)),
            ("resolve", opts(&[("id", "7")]), "resolve 7", Command::Resolve(7)),
            (
                "note",
                opts(&[("text", "rolled back v1.2"), ("id", "7")]),
                "note 7 rolled back v1.2",
                Command::Note(7, "rolled back v1.2".into()),
            ),
        ];
        for (sub, options, text, command) in cases {
            assert_eq!(words(sub, &options), text);
            assert_eq!(parse(text), Ok(command), "{text}");
        }
        assert_eq!(words("frobnicate", &opts(&[("x", "1")])), "frobnicate 1");
    }

    #[test]
    fn every_subcommand_is_registered_with_its_typed_options() {
        let body = registration();
        let command = &body[0];
        assert_eq!(command["name"], "incident");
        let subs: Vec<&str> =
            command["options"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(
            subs,
            ["open", "status", "list", "ack", "escalate", "mitigate", "resolve", "reopen", "note"]
        );
        let open = &command["options"][0];
        assert_eq!(
            open["options"][0],
            json!({"type": 3, "name": "severity", "description": "How bad it is", "required": true,
                   "choices": [{"name": "critical", "value": "critical"}, {"name": "high", "value": "high"},
                               {"name": "medium", "value": "medium"}, {"name": "low", "value": "low"}]})
        );
        assert_eq!(command["options"][3]["options"][0]["type"], 4, "ids are integers");
        // Discord refuses a required option after an optional one.
        for sub in SUBCOMMANDS {
            let first_optional = sub.options.iter().position(|o| !o.required).unwrap_or(sub.options.len());
            assert!(sub.options[first_optional..].iter().all(|o| !o.required), "{}", sub.name);
        }
    }
}
