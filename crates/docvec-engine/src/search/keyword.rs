//! The keyword side: BM25 over the local full-text index (tantivy), filtered inside the search.

use std::collections::HashSet;

use crate::sync::blocking;
use crate::{Engine, EngineError};

impl Engine {
    /// The best `n` (chunk id, BM25 score) pairs for `query`'s words among `allowed` (all when
    /// `None`), off the runtime.
    pub(super) async fn keyword_ids(
        &self,
        query: &str,
        n: usize,
        allowed: Option<HashSet<i64>>,
    ) -> Result<Vec<(i64, f32)>, EngineError> {
        let text = self.text_index();
        let q = query.to_string();
        let bm25 = self.config.search.bm25();
        blocking(move || Ok(text.search_with(&q, n, allowed.as_ref(), bm25)?)).await
    }
}
