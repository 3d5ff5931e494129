//! Embedding: text in, unit-length vectors out, through ONNX Runtime (`ort`, loaded at run time) and the
//! model's own `tokenizers` tokenizer.
//!
//! [`Embedder`] is the plug-in point (the engine holds an `Arc<dyn Embedder>`); [`OnnxEmbedder`] is the
//! implementation for ONNX sentence-transformer models such as the default all-MiniLM-L6-v2. It sorts
//! inputs by length and cuts them into batches within a token budget where padding would cost more
//! than another model call (`batching.rs`), pools and normalises as the model's sentence-transformers
//! config prescribes, and blocks the caller's thread while it runs (a call of several batches shares
//! them with a pool of sessions on threads of its own, `sessions.rs`): callers put it on rayon or
//! `spawn_blocking`, never on the async runtime.
//! [`HashEmbedder`] is a deterministic stand-in without a model, for tests and examples.

mod batching;
mod config;
mod cpu;
mod hash;
mod lazy;
mod onnx;
mod providers;
mod runtime;
mod sessions;
mod tally;

pub use config::{
    DEFAULT_BATCH_ROWS, Device, EmbedderConfig, GpuOptions, Pooling, default_batch_tokens,
};
pub use cpu::{Int8Support, int8_dot_product, int8_support};
pub use hash::HashEmbedder;
pub use lazy::LazyEmbedder;
pub use onnx::OnnxEmbedder;
pub use providers::{ShapeProfile, cuda_options, provider_names, tensorrt_options};
pub use runtime::RuntimeInfo;

use docvec_types::TokenCounter;

/// Why embedding failed. `Setup` errors are the user's configuration (a missing file, a provider the
/// installed ONNX Runtime lacks); `Inference` errors are failures while running the model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{0}")]
    Setup(String),
    #[error("embedding failed: {0}")]
    Inference(String),
}

/// A text embedding model. Implementations are thread-safe; `embed` blocks the calling thread.
pub trait Embedder: TokenCounter {
    /// Identifies the model and its settings; vectors from different ids are never mixed in one index.
    fn model_id(&self) -> &str;
    fn dimension(&self) -> usize;
    /// Largest input in tokens, special tokens included; longer inputs are truncated by the tokenizer.
    fn max_tokens(&self) -> usize;
    /// Embed each text into a unit-length vector of `dimension()` floats, in input order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Be ready to embed: load what a lazy implementation has not loaded yet, so a writer fails before
    /// its first file rather than inside it. Loaded implementations have nothing to do.
    fn warm(&self) -> Result<(), EmbedError> {
        Ok(())
    }
    /// What the model has run since this embedder was made (all zero for one that pads nothing, or
    /// that was never loaded).
    fn token_counts(&self) -> TokenCounts {
        TokenCounts::default()
    }
    /// What runs the model (ONNX Runtime's version and execution providers), once it is loaded; `None`
    /// for an implementation without ONNX Runtime or a lazy one not loaded yet.
    fn runtime(&self) -> Option<RuntimeInfo> {
        None
    }
}

/// The model's work, counted: the tokens of the inputs, the tokens it ran once each batch was padded
/// to its longest input, and its calls. `padded / real - 1` is what padding cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenCounts {
    pub real: u64,
    pub padded: u64,
    pub calls: u64,
}

impl TokenCounts {
    /// The work done between `earlier` and `self`.
    pub fn since(self, earlier: TokenCounts) -> TokenCounts {
        TokenCounts {
            real: self.real.saturating_sub(earlier.real),
            padded: self.padded.saturating_sub(earlier.padded),
            calls: self.calls.saturating_sub(earlier.calls),
        }
    }

    /// The work of both.
    pub fn plus(self, other: TokenCounts) -> TokenCounts {
        TokenCounts {
            real: self.real + other.real,
            padded: self.padded + other.padded,
            calls: self.calls + other.calls,
        }
    }

    /// Padded tokens per real token (1.0 means no padding; 0 when nothing ran).
    pub fn padding_ratio(&self) -> f64 {
        if self.real == 0 {
            0.0
        } else {
            self.padded as f64 / self.real as f64
        }
    }
}

/// Cosine similarity of two vectors (dot product divided by both norms).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        dot += (*x as f64) * (*y as f64);
        na += (*x as f64) * (*x as f64);
        nb += (*y as f64) * (*y as f64);
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        (dot / (na.sqrt() * nb.sqrt())) as f32
    }
}

/// Scale `v` to unit length in place (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_and_normalize() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[0.0, 2.0])).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
