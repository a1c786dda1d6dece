//! LLM clients. PLACEHOLDER until the classifier branch lands.

use std::time::Duration;

use crate::model::Usage;

pub struct LlmRequest {
    pub system: String,
    pub user: String,
    pub max_tokens: u32,
    pub json: bool,
    pub timeout: Option<Duration>,
}

pub struct LlmResponse {
    pub text: String,
    pub usage: Usage,
    pub model: String,
    pub stop_reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("timed out")]
    Timeout,
    #[error("transport: {0}")]
    Transport(String),
}

#[async_trait::async_trait]
pub trait LlmClient: Send + Sync + 'static {
    fn model(&self) -> &str;
    async fn complete(&self, request: LlmRequest) -> Result<LlmResponse, LlmError>;
}

pub mod redact {
    #[derive(Clone)]
    pub struct Redactor;
    impl Redactor {
        pub fn new(_literal: Vec<String>) -> Self {
            Self
        }
    }
}

pub fn from_config(
    _config: &crate::config::LlmConfig,
    _redactor: redact::Redactor,
) -> Option<std::sync::Arc<dyn LlmClient>> {
    None
}
