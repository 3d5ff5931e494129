//! [`ModelStatus`]: the model in use and what runs it, for `docvec status` and the server's `/config`.

use serde::Serialize;

use docvec_embed::{Device, RuntimeInfo};

use crate::Engine;

/// The model embedding queries and chunks, and the ONNX Runtime that runs it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    pub id: String,
    pub dimension: usize,
    /// The configured device (`[model] device`).
    pub device: Device,
    /// ONNX Runtime's version and the execution providers the session holds; `None` until the model
    /// is loaded, or when it could not be.
    pub runtime: Option<RuntimeInfo>,
    /// Why the model could not be loaded (a missing file, a GPU provider this ONNX Runtime lacks).
    pub error: Option<String>,
}

impl Engine {
    /// The model's status. With `load`, the model is loaded first if it is not yet (what `docvec
    /// status` wants: the providers that really run); without, a model not loaded yet has no runtime.
    pub async fn model_status(&self, load: bool) -> ModelStatus {
        let error = if load {
            self.warm_model().await.err().map(|e| e.to_string())
        } else {
            None
        };
        // Reads what a load recorded; never loads, so it does not block.
        let embedder = self.embedder();
        let runtime = embedder.runtime();
        ModelStatus {
            id: embedder.model_id().to_string(),
            dimension: embedder.dimension(),
            device: self.config().model.device,
            runtime,
            error,
        }
    }
}
