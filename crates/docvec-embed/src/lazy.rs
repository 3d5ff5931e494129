//! [`LazyEmbedder`]: an [`OnnxEmbedder`] loaded on first use. A search by keyword or by the caller's own
//! vector, `docvec check` and `docvec stats` never embed, so they never load ONNX Runtime: they work on a
//! device whose runtime library is missing or broken, and start without the model's load time.

use std::sync::OnceLock;

use docvec_types::TokenCounter;

use crate::{EmbedError, Embedder, EmbedderConfig, OnnxEmbedder};

pub struct LazyEmbedder {
    config: EmbedderConfig,
    /// The load's outcome, kept: a model that failed to load fails every later call the same way
    /// instead of loading again per query.
    loaded: OnceLock<Result<OnnxEmbedder, String>>,
}

impl LazyEmbedder {
    /// Nothing is read yet: the model id, dimension and token limit come from the configuration.
    pub fn new(config: EmbedderConfig) -> Self {
        Self {
            config,
            loaded: OnceLock::new(),
        }
    }

    /// Whether the model has been loaded (successfully or not).
    pub fn is_loaded(&self) -> bool {
        self.loaded.get().is_some()
    }

    fn get(&self) -> Result<&OnnxEmbedder, EmbedError> {
        self.loaded
            .get_or_init(|| OnnxEmbedder::load(self.config.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| EmbedError::Setup(e.clone()))
    }
}

impl TokenCounter for LazyEmbedder {
    fn count_tokens(&self, text: &str) -> usize {
        match self.get() {
            Ok(e) => e.count_tokens(text),
            // Only chunking counts tokens, and an ingest loads the model first (`warm`), so this is
            // reached only after that load failed and the ingest already stopped with its error.
            Err(_) => text.split_whitespace().count(),
        }
    }
}

impl Embedder for LazyEmbedder {
    fn model_id(&self) -> &str {
        &self.config.model_id
    }

    fn dimension(&self) -> usize {
        self.config.dimension
    }

    fn max_tokens(&self) -> usize {
        self.config.max_tokens
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.get()?.embed(texts)
    }

    fn warm(&self) -> Result<(), EmbedError> {
        self.get().map(|_| ())
    }

    fn runtime(&self) -> Option<crate::RuntimeInfo> {
        match self.loaded.get() {
            Some(Ok(e)) => e.runtime(),
            _ => None,
        }
    }

    fn token_counts(&self) -> crate::TokenCounts {
        match self.loaded.get() {
            Some(Ok(e)) => e.token_counts(),
            _ => crate::TokenCounts::default(),
        }
    }
}
