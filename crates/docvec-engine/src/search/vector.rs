//! The vector side: embedding the query (or checking the caller's vector), the nearest chunk ids in
//! the local HNSW index, and the stored rows behind ids.

use std::collections::HashSet;

use docvec_store::ChunkFilter;
use docvec_types::{Format, SearchHit};

use crate::sync::{blocking, poisoned};
use crate::{Engine, EngineError};

/// A query embedded for the vector search, with the model that embedded it.
#[derive(Debug, Clone)]
pub struct QueryVector {
    pub model_id: String,
    pub values: Vec<f32>,
    /// The query's text, to embed it again should the index's model change before it is searched.
    pub text: String,
}

impl Engine {
    /// Embed a query's text with the index's model. Catches up with the store first, as a search does.
    pub async fn embed_query(&self, text: &str) -> Result<QueryVector, EngineError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EngineError::InvalidRequest("the query is empty".into()));
        }
        self.catch_up_if_idle().await?;
        self.embed_text(text).await
    }

    /// Embed `text` (checked, trimmed) off the runtime, or take its vector from the query cache.
    pub(super) async fn embed_text(&self, text: &str) -> Result<QueryVector, EngineError> {
        let (embedder, generation) = self.embedder_and_generation();
        let model_id = embedder.model_id().to_string();
        let values = self
            .query_cache
            .get_or_embed(generation, &model_id, text, || {
                self.query_batcher.embed(embedder, text)
            })
            .await?;
        Ok(QueryVector {
            model_id,
            values,
            text: text.to_string(),
        })
    }

    /// A query given as the caller's own vector: it must have the index's dimension and finite values,
    /// and is scaled to unit length as the stored vectors are (so scores are cosine similarities).
    pub(super) fn query_vector(&self, mut values: Vec<f32>) -> Result<QueryVector, EngineError> {
        let (model_id, dim) = (self.model_id(), self.dimension());
        if values.len() != dim {
            return Err(EngineError::InvalidRequest(format!(
                "the query vector has {} dimensions, but this index holds {dim}-dimensional vectors \
                 (model `{model_id}`)",
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            return Err(EngineError::InvalidRequest(format!(
                "the query vector's component {i} is not a finite number"
            )));
        }
        let norm = values.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return Err(EngineError::InvalidRequest(
                "the query vector has no direction (all zeros, or too small to scale)".into(),
            ));
        }
        values.iter_mut().for_each(|x| *x /= norm);
        Ok(QueryVector {
            model_id,
            values,
            text: String::new(),
        })
    }

    /// The `k` nearest chunks to an embedded query among those `filter` allows, in the local index.
    /// Refused with [`EngineError::Conflict`] when the vector comes from another model than the
    /// index's and has no text to embed again.
    pub async fn search_embedded(
        &self,
        query: QueryVector,
        k: usize,
        filter: &ChunkFilter,
    ) -> Result<Vec<SearchHit>, EngineError> {
        super::check_k(k)?;
        self.search_local_vector(query, k, filter).await
    }

    pub(super) async fn search_local_vector(
        &self,
        query: QueryVector,
        k: usize,
        filter: &ChunkFilter,
    ) -> Result<Vec<SearchHit>, EngineError> {
        let allowed = self.allowed(filter).await?;
        let found = self.nearest_ids(query, k, allowed).await?;
        self.hits(found).await
    }

    /// The chunk ids a filter allows, resolved before any top k is chosen; `None` = all.
    pub(super) async fn allowed(
        &self,
        filter: &ChunkFilter,
    ) -> Result<Option<HashSet<i64>>, EngineError> {
        Ok(if filter.is_empty() {
            None
        } else {
            Some(
                self.store
                    .chunk_ids_matching(filter)
                    .await?
                    .into_iter()
                    .collect(),
            )
        })
    }

    /// The `k` nearest (chunk id, similarity) pairs among `allowed` (all when `None`), off the runtime.
    pub(super) async fn nearest_ids(
        &self,
        query: QueryVector,
        k: usize,
        allowed: Option<HashSet<i64>>,
    ) -> Result<Vec<(i64, f32)>, EngineError> {
        let idx = self.index.clone();
        let embedder = self.embedder.clone();
        blocking(move || {
            let index = idx.read().map_err(poisoned)?;
            let vector = if query.model_id == index.info().model_id {
                query.values
            } else if !query.text.is_empty() {
                // A rebuild switched models between embedding and searching. The model slot is swapped
                // under the index's write lock, so under its read lock the two belong together.
                let current = embedder.read().map_err(poisoned)?.clone();
                current.embed(&[query.text.as_str()])?.remove(0)
            } else {
                return Err(EngineError::Conflict(format!(
                    "the query was embedded by `{}`, but the index holds vectors of `{}`",
                    query.model_id,
                    index.info().model_id
                )));
            };
            Ok(match &allowed {
                Some(ids) => index.search_among(&vector, k, ids)?,
                None => index.search(&vector, k)?,
            })
        })
        .await
    }

    /// The stored rows behind (chunk id, score) pairs, in their order.
    pub(super) async fn hits(&self, found: Vec<(i64, f32)>) -> Result<Vec<SearchHit>, EngineError> {
        let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
        let rows = self.store.chunk_hits(&ids).await?;
        let mut hits = Vec::with_capacity(found.len());
        for (id, score) in found {
            // A chunk deleted after the index was searched is simply not returned.
            let Some(row) = rows.get(&id) else { continue };
            hits.push(SearchHit {
                score,
                chunk_id: id,
                chunk_key: row.key.clone(),
                document_id: row.document_id.clone(),
                document_path: row.path.clone(),
                document_title: row.title.clone(),
                format: row.format.parse().unwrap_or(Format::Text),
                section: (!row.section.is_empty()).then(|| row.section.clone()),
                page: row.page_start,
                text: row.text.clone(),
                span: row.span.clone(),
                meta: (!row.meta.is_empty()).then(|| row.meta.clone()),
                snippet: None,
            });
        }
        Ok(hits)
    }
}
