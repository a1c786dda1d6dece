//! Alert-or-chatter gate. PLACEHOLDER until the classifier branch lands: same interface,
//! trivial rules. Replaced wholesale by the real tiered classifier.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::ClassifierConfig;
use crate::llm::LlmClient;
use crate::model::Usage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Alert,
    Chatter,
    Ambiguous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Heuristic,
    Llm,
    Override,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub class: Class,
    pub confidence: f32,
    pub reasons: Vec<String>,
    pub tier: Tier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl Verdict {
    pub fn investigate(&self) -> bool {
        self.class != Class::Chatter
    }

    pub fn summary(&self) -> String {
        let class = match self.class {
            Class::Alert => "alert",
            Class::Chatter => "chatter",
            Class::Ambiguous => "ambiguous",
        };
        let tier = match self.tier {
            Tier::Heuristic => "heuristic",
            Tier::Llm => "llm",
            Tier::Override => "override",
        };
        format!("{class} ({tier}, {:.2}): {}", self.confidence, self.reasons.join(", "))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Context {
    pub alert_channel: bool,
    pub from_bot_or_integration: bool,
}

pub struct Classifier {
    enabled: bool,
}

pub fn is_forced(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric() && c != '/')
        .any(|w| w.eq_ignore_ascii_case("investigate") || w.eq_ignore_ascii_case("/investigate"))
}

impl Classifier {
    pub fn new(config: &ClassifierConfig, _llm: Option<Arc<dyn LlmClient>>, _prompt: String) -> Self {
        Self { enabled: config.enabled }
    }

    pub fn heuristic(&self, text: &str, _ctx: &Context) -> Verdict {
        let t = text.trim().to_lowercase();
        let chatter = ["thanks", "thank you", "hi", "hello", "ok", "👍"]
            .iter()
            .any(|w| t == *w || t.trim_end_matches('!') == *w);
        Verdict {
            class: if chatter { Class::Chatter } else { Class::Alert },
            confidence: 0.5,
            reasons: vec![if chatter { "greeting_only" } else { "placeholder" }.to_string()],
            tier: Tier::Heuristic,
            usage: None,
        }
    }

    pub async fn classify(&self, text: &str, ctx: &Context) -> Verdict {
        if !self.enabled || is_forced(text) {
            return Verdict {
                class: Class::Alert,
                confidence: 1.0,
                reasons: vec!["forced_investigate".into()],
                tier: Tier::Override,
                usage: None,
            };
        }
        self.heuristic(text, ctx)
    }
}

pub const BUILTIN_PROMPT: &str = include_str!("../../prompts/classify.md");
