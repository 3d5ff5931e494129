//! [`HashEmbedder`]: a deterministic stand-in for a real model, for tests and examples.

use docvec_types::TokenCounter;

use crate::{EmbedError, Embedder};

/// An [`Embedder`] for tests and examples, not for real search: each word (lower-cased, split at
/// anything that is not a letter or a digit; common English function words such as "the" and "of"
/// left out unless a text has nothing else) is hashed (FNV-1a) to one component of a fixed-dimension
/// vector with a sign, and the sum is scaled to unit length.
///
/// Texts sharing words therefore score above texts that share none (less reliably for long texts at
/// small dimensions, where words share components), and the same text always gives the same vector
/// on every platform, with no model files and no ONNX Runtime. It knows nothing of meaning: "loaf"
/// and "bread" are as far apart as any two words. Tests that check what a real model finds use
/// [`crate::OnnxEmbedder`].
///
/// ```
/// use docvec_embed::{Embedder, HashEmbedder};
///
/// let e = HashEmbedder::new(64);
/// let v = e.embed(&["sourdough bread", "bread, sourdough!", "planets"]).unwrap();
/// assert_eq!(v[0], v[1]);
/// assert!(docvec_embed::cosine(&v[0], &v[2]) < 0.5);
/// ```
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    model_id: String,
    dimension: usize,
    max_tokens: usize,
}

impl HashEmbedder {
    /// Vectors of `dimension` components (at least 1), model id `hash-DIMENSION`, inputs of at most
    /// 256 tokens (as all-MiniLM-L6-v2's).
    pub fn new(dimension: usize) -> Self {
        assert!(dimension > 0, "a HashEmbedder needs at least one dimension");
        Self {
            model_id: format!("hash-{dimension}"),
            dimension,
            max_tokens: 256,
        }
    }

    /// The same embedder under another model id (a data directory records the id of its vectors).
    pub fn with_model_id(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = model_id.into();
        self
    }

    /// The same embedder with another input limit, in tokens (words and punctuation marks).
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimension];
        let all: Vec<String> = words(text).map(str::to_lowercase).collect();
        let content: Vec<&String> = all
            .iter()
            .filter(|w| !STOPWORDS.contains(&w.as_str()))
            .collect();
        let counted = if content.is_empty() {
            all.iter().collect()
        } else {
            content
        };
        for word in counted {
            let h = fnv1a(word.as_bytes());
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[(h % self.dimension as u64) as usize] += sign;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        } else {
            // No words (or words that cancel out): still a unit vector, the same for the same text.
            v[(fnv1a(text.as_bytes()) % self.dimension as u64) as usize] = 1.0;
        }
        v
    }
}

/// Words too common to tell texts apart.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
    "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "which", "with",
];

/// The words of `text`: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// 64-bit FNV-1a: small, and the same on every platform.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl TokenCounter for HashEmbedder {
    /// Words plus punctuation marks, about what a word-piece tokenizer counts for plain English.
    fn count_tokens(&self, text: &str) -> usize {
        let punctuation = text
            .chars()
            .filter(|c| !c.is_alphanumeric() && !c.is_whitespace())
            .count();
        words(text).count() + punctuation
    }
}

impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosine;

    #[test]
    fn vectors_are_unit_length_deterministic_and_follow_shared_words() {
        let e = HashEmbedder::new(384);
        let texts = [
            "Sourdough bread needs a starter.",
            "A starter for sourdough bread",
            "Jupiter is the largest planet.",
            "",
            "...",
        ];
        let v = e.embed(&texts).unwrap();
        assert_eq!(v, e.embed(&texts).unwrap());
        for x in &v {
            assert_eq!(x.len(), 384);
            let norm = x.iter().map(|c| c * c).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
        assert!(cosine(&v[0], &v[1]) > 0.6);
        assert!(cosine(&v[0], &v[2]) < cosine(&v[0], &v[1]));
        // Case and punctuation do not matter.
        assert_eq!(e.embed(&["Bread!"]).unwrap(), e.embed(&["bread"]).unwrap());
    }

    #[test]
    fn the_id_dimension_and_token_count_are_as_set() {
        let e = HashEmbedder::new(8)
            .with_model_id("test-model")
            .with_max_tokens(16);
        assert_eq!(
            (e.model_id(), e.dimension(), e.max_tokens()),
            ("test-model", 8, 16)
        );
        assert_eq!(HashEmbedder::new(384).model_id(), "hash-384");
        assert_eq!(e.count_tokens("Hello, world!"), 4);
        assert_eq!(e.count_tokens(""), 0);
    }
}
