//! Many caller vectors searched at once, FAISS's `index.search(xq, k)`: the embedded use on a device,
//! where an application brings its own vectors and wants ids and scores back fast. One filter
//! resolution and one read lock for the whole batch, the queries spread over rayon's threads, and no
//! stored rows read (ask [`Engine::chunks`] for the ones wanted).

use rayon::prelude::*;

use docvec_store::ChunkFilter;
use docvec_types::SearchHit;

use crate::sync::{blocking, poisoned};
use crate::{Engine, EngineError};

/// The `k` best (chunk id, cosine similarity) pairs of each query, best first; fewer than `k` when
/// fewer chunks match.
pub type VectorBatchResults = Vec<Vec<(i64, f32)>>;

impl Engine {
    /// Search the local vector index for each row of `queries` (row-major, `rows` x the index's
    /// dimension): every row is checked as [`SearchRequest::vector`](crate::SearchRequest) is and
    /// scaled to unit length. Catches up with the store first, as a search does.
    pub async fn search_vectors(
        &self,
        queries: Vec<f32>,
        k: usize,
        filter: &ChunkFilter,
    ) -> Result<VectorBatchResults, EngineError> {
        super::check_k(k)?;
        if self.storage_mode() == crate::StorageMode::Supabase {
            return Err(EngineError::InvalidRequest(
                "a batch of vectors is searched in the local index, which `supabase` mode reads \
                 only as a cache; search one vector at a time"
                    .into(),
            ));
        }
        let rows = self.unit_rows(queries)?;
        self.catch_up_if_idle().await?;
        let allowed = self.allowed(filter).await?;
        let idx = self.index.clone();
        blocking(move || {
            let index = idx.read().map_err(poisoned)?;
            rows.par_iter()
                .map(|q| match &allowed {
                    Some(ids) => index.search_among(q, k, ids),
                    None => index.search(q, k),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(EngineError::from)
        })
        .await
    }

    /// The stored chunks behind `ids` (as hits with score 0), in the order given; ids that name no
    /// chunk are left out.
    pub async fn chunks(&self, ids: &[i64]) -> Result<Vec<SearchHit>, EngineError> {
        self.hits(ids.iter().map(|&id| (id, 0.0)).collect()).await
    }

    /// Every vector of the local index with its chunk id (ids ascending; the vectors row-major, the
    /// index's dimension each): to build another library's index over the same vectors, or to check
    /// one. Catches up with the store first.
    pub async fn vectors(&self) -> Result<(Vec<i64>, Vec<f32>), EngineError> {
        self.catch_up_if_idle().await?;
        let idx = self.index.clone();
        blocking(move || {
            let index = idx.read().map_err(poisoned)?;
            let mut rows: Vec<(i64, &[f32])> = index.vectors().collect();
            rows.sort_unstable_by_key(|(id, _)| *id);
            let ids = rows.iter().map(|(id, _)| *id).collect();
            let flat = rows.iter().flat_map(|(_, v)| v.iter().copied()).collect();
            Ok((ids, flat))
        })
        .await
    }

    /// The model's vectors for `texts`, in order (unit length when the model normalises), embedded
    /// in token-budgeted batches off the runtime: for callers that search with their own vectors.
    pub async fn embed_texts(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EngineError> {
        if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
            return Err(EngineError::InvalidRequest(format!("text {i} is empty")));
        }
        self.warm_model().await?;
        let embedder = self.embedder();
        blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(embedder.embed(&refs)?)
        })
        .await
    }

    /// `flat` cut into rows of the index's dimension, each checked and scaled to unit length.
    fn unit_rows(&self, flat: Vec<f32>) -> Result<Vec<Vec<f32>>, EngineError> {
        let dim = self.dimension();
        if flat.is_empty() || !flat.len().is_multiple_of(dim) {
            return Err(EngineError::InvalidRequest(format!(
                "the query vectors hold {} numbers, which is not a whole number of rows of this \
                 index's {dim} dimensions (model `{}`)",
                flat.len(),
                self.model_id()
            )));
        }
        flat.chunks(dim)
            .enumerate()
            .map(|(i, row)| {
                self.query_vector(row.to_vec())
                    .map(|q| q.values)
                    .map_err(|e| match e {
                        EngineError::InvalidRequest(m) => {
                            EngineError::InvalidRequest(format!("row {i}: {m}"))
                        }
                        other => other,
                    })
            })
            .collect()
    }
}
