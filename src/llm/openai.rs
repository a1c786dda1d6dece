//! OpenAI-compatible chat completions (`POST {base}/v1/chat/completions`): OpenAI,
//! Ollama (`http://127.0.0.1:11434`), vLLM, llama.cpp server. JSON answers are asked
//! for with `response_format: {"type": "json_object"}` and validated by the caller.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{classify_failure, Attempt, Common, LlmClient, LlmError, LlmRequest, LlmResponse};

pub(super) struct OpenAi {
    pub(super) common: Common,
}

#[async_trait]
impl LlmClient for OpenAi {
    fn model(&self) -> &str {
        &self.common.config.model
    }

    async fn complete(&self, request: LlmRequest) -> Result<LlmResponse, LlmError> {
        let request = self.common.redacted(&request);
        let base = self.common.base_url("https://api.openai.com");
        // Accept a base with or without the /v1 suffix.
        let url = if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        };
        let mut body = json!({
            "model": self.common.config.model,
            "max_tokens": request.max_tokens.min(self.common.config.max_tokens).max(1),
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "temperature": 0,
            "stream": false,
        });
        if request.json {
            body["response_format"] = json!({"type": "json_object"});
        }
        let mut headers = Vec::new();
        if self.common.config.api_key.is_set() {
            headers.push(("authorization", format!("Bearer {}", self.common.config.api_key.expose())));
        }
        self.common
            .with_retries(request.timeout, || {
                self.common.post(&url, &headers, &body, |s, h, t| self.read(s, h, t))
            })
            .await
    }
}

impl OpenAi {
    fn read(&self, status: u16, headers: &reqwest::header::HeaderMap, text: &str) -> Attempt {
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let message =
                value["error"]["message"].as_str().unwrap_or("").chars().take(300).collect::<String>();
            // A 429 for an exhausted quota is billing, not pacing: retrying cannot help.
            // <https://platform.openai.com/docs/guides/error-codes>
            let quota = |v: &Value| v == "insufficient_quota";
            if status == 429 && (quota(&value["error"]["code"]) || quota(&value["error"]["type"])) {
                return Attempt::Fail(LlmError::SpendLimit);
            }
            return classify_failure(status, headers, message);
        }
        let choice = &value["choices"][0];
        let Some(content) = choice["message"]["content"].as_str() else {
            return Attempt::Fail(LlmError::BadResponse(
                "no choices[0].message.content in the answer".into(),
            ));
        };
        let input = value["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
        let output = value["usage"]["completion_tokens"].as_u64().unwrap_or(0);
        Attempt::Done(LlmResponse {
            text: content.to_string(),
            usage: self.common.cost(input, output),
            model: value["model"].as_str().unwrap_or(&self.common.config.model).to_string(),
            stop_reason: choice["finish_reason"].as_str().map(str::to_string),
        })
    }
}
