//! Anthropic Messages API (`POST /v1/messages`, `anthropic-version: 2023-06-01`).
//! <https://platform.claude.com/docs/en/api/messages>

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{classify_failure, Attempt, Common, LlmClient, LlmError, LlmRequest, LlmResponse};

pub(super) struct Anthropic {
    pub(super) common: Common,
}

#[async_trait]
impl LlmClient for Anthropic {
    fn model(&self) -> &str {
        &self.common.config.model
    }

    async fn complete(&self, request: LlmRequest) -> Result<LlmResponse, LlmError> {
        let request = self.common.redacted(&request);
        let url = format!("{}/v1/messages", self.common.base_url("https://api.anthropic.com"));
        let mut user = request.user.clone();
        if request.json {
            user.push_str("\n\nAnswer with one JSON object and nothing else.");
        }
        let body = json!({
            "model": self.common.config.model,
            "max_tokens": request.max_tokens.min(self.common.config.max_tokens).max(1),
            "system": request.system,
            "messages": [{"role": "user", "content": user}],
            "temperature": 0,
        });
        let headers = [
            ("x-api-key", self.common.config.api_key.expose().to_string()),
            ("anthropic-version", "2023-06-01".to_string()),
        ];
        self.common
            .with_retries(request.timeout, || {
                self.common.post(&url, &headers, &body, |s, h, t| self.read(s, h, t))
            })
            .await
    }
}

impl Anthropic {
    fn read(&self, status: u16, headers: &reqwest::header::HeaderMap, text: &str) -> Attempt {
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let message =
                value["error"]["message"].as_str().unwrap_or("").chars().take(300).collect::<String>();
            // A spent monthly budget will not come back by retrying.
            if status == 429 && value["error"]["details"]["error_code"] == "enforced_spend_limit_reached" {
                return Attempt::Fail(LlmError::SpendLimit);
            }
            return classify_failure(status, headers, message);
        }
        let Some(blocks) = value["content"].as_array() else {
            return Attempt::Fail(LlmError::BadResponse("no content in the answer".into()));
        };
        let text: String =
            blocks.iter().filter(|b| b["type"] == "text").filter_map(|b| b["text"].as_str()).collect();
        let usage = &value["usage"];
        let input = usage["input_tokens"].as_u64().unwrap_or(0)
            + usage["cache_read_input_tokens"].as_u64().unwrap_or(0);
        let output = usage["output_tokens"].as_u64().unwrap_or(0);
        Attempt::Done(LlmResponse {
            text,
            usage: self.common.cost(input, output),
            model: value["model"].as_str().unwrap_or(&self.common.config.model).to_string(),
            stop_reason: value["stop_reason"].as_str().map(str::to_string),
        })
    }
}
