//! Investigation. PLACEHOLDER: not started yet.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::Engine;
use crate::llm::LlmClient;
use crate::platforms::Platforms;

pub fn start(
    _engine: &Arc<Engine>,
    _platforms: &Platforms,
    _llm: Option<Arc<dyn LlmClient>>,
    _tracker: &TaskTracker,
    _shutdown: CancellationToken,
) -> anyhow::Result<()> {
    Ok(())
}
