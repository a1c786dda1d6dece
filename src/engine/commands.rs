//! The `/incident` command grammar, declared once with clap and shared by every
//! platform (Slack `/incident …`, Discord `/incident …`, Telegram `/oncall`, `/ack`, …
//! which their adapters rewrite into the same words, and the console).

use clap::{Parser, Subcommand};

use crate::model::{IncidentId, Severity};

/// Parsed `/incident` command.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "/incident",
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct IncidentCommand {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Action {
    /// Open an incident: `open [critical|high|medium|low] <title>`.
    Open {
        #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Show one incident (`status 42`) or list the open ones (`status`).
    Status { id: Option<String> },
    /// List open incidents.
    List,
    /// Acknowledge: you are on it.
    Ack { id: String },
    /// Page the next escalation step.
    Escalate { id: String },
    /// Mark mitigated (humans only).
    Mitigate { id: String },
    /// Mark resolved (humans only).
    Resolve { id: String },
    /// Reopen a resolved incident.
    Reopen { id: String },
    /// Add a note to the timeline.
    Note {
        id: String,
        #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Set (and confirm) the severity.
    Severity { id: String, severity: String },
    /// Gather context again and post what changed.
    Refresh { id: String },
    /// This help.
    Help,
}

/// What the user meant, with ids and severities already checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Open { severity: Option<Severity>, title: String },
    Status { id: Option<IncidentId> },
    List,
    Ack(IncidentId),
    Escalate(IncidentId),
    Mitigate(IncidentId),
    Resolve(IncidentId),
    Reopen(IncidentId),
    Note(IncidentId, String),
    Severity(IncidentId, Severity),
    Refresh(IncidentId),
    Help,
}

/// Shown for `help` and after any mistake.
pub const USAGE: &str = "Usage: /incident <command>
  open [critical|high|medium|low] <title>   open an incident (default medium)
  status [id]                               show one incident, or list the open ones
  list                                      list open incidents
  ack <id>                                  acknowledge: you are on it
  escalate <id>                             page the next escalation step
  mitigate <id> · resolve <id> · reopen <id>
  note <id> <text>                          add a note to the timeline
  severity <id> <critical|high|medium|low>  set and confirm the severity
  refresh <id>                              gather context again
  help                                      this help";

/// Parses the words after `/incident`. The error is a one-line reason plus usage.
pub fn parse(text: &str) -> Result<Command, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return Ok(Command::Help);
    }
    let parsed = IncidentCommand::try_parse_from(&words).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or("could not parse that").trim().to_string();
        let first = first.strip_prefix("error: ").unwrap_or(&first).to_string();
        format!("{first}\n{USAGE}")
    })?;
    let id = |s: &str| -> Result<IncidentId, String> {
        s.trim_start_matches('#')
            .parse()
            .map_err(|_| format!("`{s}` is not an incident number (like 42 or #42)\n{USAGE}"))
    };
    Ok(match parsed.action {
        Action::Open { words } => {
            let (severity, rest) = match words.first().map(|w| w.trim_matches(|c| c == '[' || c == ']')) {
                Some(first) => match first.parse::<Severity>() {
                    Ok(sev) => (Some(sev), &words[1..]),
                    Err(_) => (None, &words[..]),
                },
                None => (None, &words[..]),
            };
            let title = rest.join(" ").trim().to_string();
            if title.is_empty() {
                return Err(format!("open needs a title\n{USAGE}"));
            }
            Command::Open { severity, title }
        }
        Action::Status { id: None } | Action::List => Command::List,
        Action::Status { id: Some(s) } => Command::Status { id: Some(id(&s)?) },
        Action::Ack { id: s } => Command::Ack(id(&s)?),
        Action::Escalate { id: s } => Command::Escalate(id(&s)?),
        Action::Mitigate { id: s } => Command::Mitigate(id(&s)?),
        Action::Resolve { id: s } => Command::Resolve(id(&s)?),
        Action::Reopen { id: s } => Command::Reopen(id(&s)?),
        Action::Note { id: s, text } => {
            let text = text.join(" ");
            if text.trim().is_empty() {
                return Err(format!("note needs some text\n{USAGE}"));
            }
            Command::Note(id(&s)?, text)
        }
        Action::Severity { id: s, severity } => {
            Command::Severity(id(&s)?, severity.parse().map_err(|e| format!("{e}\n{USAGE}"))?)
        }
        Action::Refresh { id: s } => Command::Refresh(id(&s)?),
        Action::Help => Command::Help,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar() {
        let cases: Vec<(&str, Command)> = vec![
            ("open high db down", Command::Open { severity: Some(Severity::High), title: "db down".into() }),
            (
                "open [high] disk full on prod-db-01",
                Command::Open { severity: Some(Severity::High), title: "disk full on prod-db-01".into() },
            ),
            (
                "open checkout --is broken",
                Command::Open { severity: None, title: "checkout --is broken".into() },
            ),
            ("status", Command::List),
            ("status #42", Command::Status { id: Some(42) }),
            ("list", Command::List),
            ("ack 7", Command::Ack(7)),
            ("resolve #7", Command::Resolve(7)),
            (
                "note 7 rolled back to v1.2 -- looks better",
                Command::Note(7, "rolled back to v1.2 -- looks better".into()),
            ),
            ("severity 7 critical", Command::Severity(7, Severity::Critical)),
            ("help", Command::Help),
            ("", Command::Help),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn mistakes_get_a_reason_and_the_usage() {
        for (text, reason) in [
            ("frobnicate", "unrecognized subcommand"),
            ("ack", "required"),
            ("ack seven", "`seven` is not an incident number"),
            ("open", "open needs a title"),
            ("note 3", "note needs some text"),
            ("severity 3 apocalyptic", "unknown severity"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(reason), "{text}: {err}");
            assert!(err.contains("Usage: /incident"), "{text}: {err}");
            assert!(!err.contains("error:"), "{err}");
        }
    }
}
