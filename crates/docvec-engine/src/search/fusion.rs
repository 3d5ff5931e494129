//! Keyword (BM25) and hybrid search over the local indexes. Dense vectors miss exact terms (names, error
//! codes, endpoint paths), keywords miss paraphrases; hybrid takes the best candidates of each and
//! fuses them, by reciprocal rank (default: no score scales to reconcile) or by a weighted sum of
//! min-max normalised scores. Filters are resolved to chunk ids first and applied inside both searches.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use docvec_store::ChunkFilter;
use docvec_types::SearchHit;

use crate::sync::blocking;
use crate::{Engine, EngineError, SearchResults, StorageMode};

/// How hits are found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Nearest chunks in meaning.
    Vector,
    /// BM25 over the chunks' words.
    Keyword,
    /// Both, fused.
    #[default]
    Hybrid,
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "vector" => Ok(SearchMode::Vector),
            "keyword" => Ok(SearchMode::Keyword),
            "hybrid" => Ok(SearchMode::Hybrid),
            other => Err(format!(
                "unknown search mode `{other}` (vector, keyword or hybrid)"
            )),
        }
    }
}

/// How hybrid search merges its two lists.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
pub enum Fusion {
    /// Reciprocal rank fusion: each list adds 1 / (k + rank). k = 60 is the usual choice.
    Rrf { k: f32 },
    /// `vector_weight` x vector score + (1 - `vector_weight`) x BM25 score, each min-max normalised
    /// over its candidates.
    Weighted { vector_weight: f32 },
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion::Rrf { k: 60.0 }
    }
}

/// Hybrid parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HybridOptions {
    pub fusion: Fusion,
    /// Candidates taken from each list before fusing; 0 = max(4k, 50).
    pub candidates: usize,
}

fn fuse(
    vector: &[(i64, f32)],
    keyword: &[(i64, f32)],
    fusion: Fusion,
    k: usize,
) -> Vec<(i64, f32)> {
    let mut scores: HashMap<i64, f32> = HashMap::new();
    match fusion {
        Fusion::Rrf { k: c } => {
            for list in [vector, keyword] {
                for (rank, (id, _)) in list.iter().enumerate() {
                    *scores.entry(*id).or_default() += 1.0 / (c + rank as f32 + 1.0);
                }
            }
        }
        Fusion::Weighted { vector_weight: w } => {
            for (list, weight) in [(vector, w), (keyword, 1.0 - w)] {
                let max = list.iter().map(|x| x.1).fold(f32::MIN, f32::max);
                let min = list.iter().map(|x| x.1).fold(f32::MAX, f32::min);
                let span = (max - min).max(f32::EPSILON);
                for (id, s) in list {
                    *scores.entry(*id).or_default() += weight * (s - min) / span;
                }
            }
        }
    }
    let mut out: Vec<(i64, f32)> = scores.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(k);
    out
}

impl Engine {
    /// Search in any mode, embedding the query when the mode needs it. In `supabase` mode only vector
    /// search runs remotely: keyword search needs the local full-text index, and hybrid falls back to
    /// vector with a warning.
    pub async fn search_mode(
        &self,
        query: &str,
        k: usize,
        filter: &ChunkFilter,
        mode: SearchMode,
        opts: &HybridOptions,
    ) -> Result<SearchResults, EngineError> {
        match mode {
            SearchMode::Vector => self.search_routed(query, k, filter).await,
            SearchMode::Keyword => Ok(SearchResults {
                hits: self.keyword_search(query, k, filter).await?,
                source: "local",
                warning: None,
            }),
            SearchMode::Hybrid => {
                let vector = self.embed_query(query, k).await?;
                self.hybrid_search(vector, query, k, filter, opts).await
            }
        }
    }

    /// Search with the query's text, the caller's own vector, or both. A vector stands in for the
    /// embedded text; `hybrid` with a vector and no text searches by the vector alone, and `keyword`
    /// needs the text.
    pub async fn search_input(
        &self,
        text: Option<&str>,
        vector: Option<Vec<f32>>,
        k: usize,
        filter: &ChunkFilter,
        mode: SearchMode,
        opts: &HybridOptions,
    ) -> Result<SearchResults, EngineError> {
        let text = text.filter(|t| !t.trim().is_empty());
        let Some(values) = vector else {
            return self
                .search_mode(text.unwrap_or(""), k, filter, mode, opts)
                .await;
        };
        let vector = self.query_vector(values, k).await?;
        match (mode, text) {
            (SearchMode::Keyword, None) => Err(EngineError::InvalidRequest(
                "keyword search needs the query's text; a vector alone searches in mode `vector`"
                    .into(),
            )),
            (SearchMode::Keyword, Some(t)) => self.search_mode(t, k, filter, mode, opts).await,
            (SearchMode::Hybrid, Some(t)) => self.hybrid_search(vector, t, k, filter, opts).await,
            (SearchMode::Vector | SearchMode::Hybrid, _) => {
                self.search_routed_vector(vector, k, filter).await
            }
        }
    }

    fn local_only(&self, what: &str) -> Result<(), EngineError> {
        if self.storage_mode() == StorageMode::Supabase {
            return Err(EngineError::InvalidRequest(format!(
                "{what} search needs the local full-text index, which `supabase` mode does not keep; use mode `vector`"
            )));
        }
        Ok(())
    }

    async fn keyword_ids(
        &self,
        query: &str,
        n: usize,
        allowed: Option<HashSet<i64>>,
    ) -> Result<Vec<(i64, f32)>, EngineError> {
        let text = self.text_index();
        let q = query.to_string();
        blocking(move || {
            text.search(&q, n, allowed.as_ref())
                .map_err(|e| EngineError::Internal(e.to_string()))
        })
        .await
    }

    /// The `k` chunks that best match `query`'s words (BM25), among those `filter` allows.
    pub async fn keyword_search(
        &self,
        query: &str,
        k: usize,
        filter: &ChunkFilter,
    ) -> Result<Vec<SearchHit>, EngineError> {
        self.local_only("keyword")?;
        crate::search::check_query(query, k)?;
        self.catch_up_if_idle().await?;
        let allowed = self.allowed(filter).await?;
        let found = self.keyword_ids(query, k, allowed).await?;
        self.hits(found).await
    }

    /// Hybrid search for a query embedded by [`Engine::embed_query`].
    pub async fn hybrid_search(
        &self,
        vector: crate::QueryVector,
        query: &str,
        k: usize,
        filter: &ChunkFilter,
        opts: &HybridOptions,
    ) -> Result<SearchResults, EngineError> {
        if self.storage_mode() == StorageMode::Supabase {
            let mut results = self.search_routed_vector(vector, k, filter).await?;
            results.warning = Some(
                "supabase mode keeps no local full-text index: these are vector results".into(),
            );
            return Ok(results);
        }
        let n = match opts.candidates {
            0 => (4 * k).max(50),
            c => c.max(k),
        };
        let allowed = self.allowed(filter).await?;
        let dense = self.nearest_ids(vector, n, allowed.clone()).await?;
        let sparse = self.keyword_ids(query, n, allowed).await?;
        let fused = fuse(&dense, &sparse, opts.fusion, k);
        Ok(SearchResults {
            hits: self.hits(fused).await?,
            source: "local",
            warning: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_agreement_and_weighted_follows_its_weight() {
        let vector = [(1, 0.9), (2, 0.8), (3, 0.7)];
        let keyword = [(3, 12.0), (4, 9.0), (1, 1.0)];
        let rrf = fuse(&vector, &keyword, Fusion::default(), 4);
        // 1 and 3 are in both lists and beat the rest; 1 ranks first in one and last in the other, as 3.
        let top: HashSet<i64> = rrf[..2].iter().map(|x| x.0).collect();
        assert_eq!(top, [1, 3].into_iter().collect());
        assert_eq!(rrf.len(), 4);
        let dense_only = fuse(
            &vector,
            &keyword,
            Fusion::Weighted { vector_weight: 1.0 },
            1,
        );
        assert_eq!(dense_only[0].0, 1);
        let sparse_only = fuse(
            &vector,
            &keyword,
            Fusion::Weighted { vector_weight: 0.0 },
            1,
        );
        assert_eq!(sparse_only[0].0, 3);
    }
}
