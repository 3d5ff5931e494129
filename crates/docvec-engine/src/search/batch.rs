//! Many caller vectors searched at once, FAISS's `index.search(xq, k)`: the embedded use on a device,
//! where an application brings its own vectors and wants ids and scores back fast. One filter
//! resolution and one read lock for the whole batch, the queries spread over rayon's threads, and no
//! stored rows read (ask [`Engine::chunks`] for the ones wanted).

use rayon::prelude::*;

use docvec_store::ChunkFilter;
use docvec_types::SearchHit;

use crate::sync::{blocking, poisoned};
use crate::{Engine, EngineError};

/// Chunk ids per store read in [`Engine::chunks`]: well under SQLite's 32,766 bound parameters.
const CHUNKS_PER_READ: usize = 10_000;

/// The `k` best (chunk id, cosine similarity) pairs of each query, best first; fewer than `k` when
/// fewer chunks match.
pub type VectorBatchResults = Vec<Vec<(i64, f32)>>;

impl Engine {
    /// Search the local vector index for each row of `queries` (row-major, `rows` x `dim`, and `dim`
    /// must be the index's dimension): every row is checked as
    /// [`SearchRequest::vector`](crate::SearchRequest) is and scaled to unit length; the filter is
    /// checked as a search's is. Catches up with the store first, as a search does. No rows, no
    /// results.
    pub async fn search_vectors(
        &self,
        queries: Vec<f32>,
        (rows, dim): (usize, usize),
        k: usize,
        filter: &ChunkFilter,
    ) -> Result<VectorBatchResults, EngineError> {
        super::check_k(k)?;
        crate::check_time_bounds(filter.since.as_deref(), filter.until.as_deref())?;
        self.check_shape(queries.len(), rows, dim)?;
        if rows == 0 {
            return Ok(Vec::new());
        }
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
    /// chunk are left out. Read in slices, so a whole batch's ids stay under SQLite's bound on a
    /// statement's parameters.
    pub async fn chunks(&self, ids: &[i64]) -> Result<Vec<SearchHit>, EngineError> {
        let mut out = Vec::with_capacity(ids.len());
        for slice in ids.chunks(CHUNKS_PER_READ) {
            out.extend(
                self.hits(slice.iter().map(|&id| (id, 0.0)).collect())
                    .await?,
            );
        }
        Ok(out)
    }

    /// `rows` x `dim` numbers, `dim` the index's dimension.
    fn check_shape(&self, len: usize, rows: usize, dim: usize) -> Result<(), EngineError> {
        let index_dim = self.dimension();
        if dim != index_dim {
            return Err(EngineError::InvalidRequest(format!(
                "the query vectors have {dim} dimensions, but this index holds {index_dim}-dimensional \
                 vectors (model `{}`)",
                self.model_id()
            )));
        }
        if rows.checked_mul(dim) != Some(len) {
            return Err(EngineError::InvalidRequest(format!(
                "{len} numbers are not {rows} rows of {dim}"
            )));
        }
        Ok(())
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

    /// `flat` cut into rows of the index's dimension (its shape checked), each checked and scaled to
    /// unit length.
    fn unit_rows(&self, flat: Vec<f32>) -> Result<Vec<Vec<f32>>, EngineError> {
        let dim = self.dimension();
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
