//! Which index answers: the search mode and the storage mode decide. Vector search goes to Postgres in
//! `supabase` mode, to Postgres then the local index in `fallback`, and to the local index otherwise;
//! keyword and hybrid search need the local full-text index, which `supabase` mode does not keep.

use serde::Serialize;

use docvec_store::ChunkFilter;
use docvec_types::SearchHit;

use super::{QueryVector, SearchMode, SearchRequest, fusion};
use crate::{Engine, EngineError, StorageMode};

/// Hits and where they came from.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// `local` or `remote`.
    pub source: &'static str,
    /// Set when the answer is degraded (the remote failed and local results were served instead).
    pub warning: Option<String>,
}

impl SearchResults {
    fn local(hits: Vec<SearchHit>) -> Self {
        SearchResults {
            hits,
            source: "local",
            warning: None,
        }
    }
}

/// How one request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The vector index the storage mode reads.
    Vector,
    /// Hybrid was asked where no full-text index is kept (`supabase` mode): vector, with a warning.
    VectorForHybrid,
    /// BM25 over the local full-text index.
    Keyword,
    /// Both local indexes, fused.
    Hybrid,
}

impl Route {
    /// Whether the keyword index parses the query's text on this route.
    pub(crate) fn reads_text(self) -> bool {
        matches!(self, Route::Keyword | Route::Hybrid)
    }
}

/// The route of a normalised request under `storage`.
pub(crate) fn route(storage: StorageMode, req: &SearchRequest) -> Result<Route, EngineError> {
    let local_text = storage != StorageMode::Supabase;
    Ok(match (req.mode, req.text.is_some()) {
        (SearchMode::Keyword, _) if !local_text => {
            return Err(EngineError::InvalidRequest(
                "keyword search needs the local full-text index, which `supabase` mode does not keep; use mode `vector`"
                    .into(),
            ));
        }
        (SearchMode::Keyword, _) => Route::Keyword,
        (SearchMode::Vector, _) | (SearchMode::Hybrid, false) => Route::Vector,
        (SearchMode::Hybrid, true) if !local_text => Route::VectorForHybrid,
        (SearchMode::Hybrid, true) => Route::Hybrid,
    })
}

impl Engine {
    /// The query vector a route needs: the caller's (checked and scaled) or the text embedded; none
    /// for keyword search by text.
    pub(super) async fn query_for(
        &self,
        vector: Option<Vec<f32>>,
        text: Option<&str>,
        route: Route,
    ) -> Result<Option<QueryVector>, EngineError> {
        if let Some(values) = vector {
            return Ok(Some(self.query_vector(values)?));
        }
        match (route, text) {
            (Route::Keyword, _) | (_, None) => Ok(None),
            (_, Some(text)) => Ok(Some(self.embed_text(text).await?)),
        }
    }

    /// The best `n` hits of one route.
    pub(super) async fn run_route(
        &self,
        route: Route,
        req: &SearchRequest,
        query: Option<QueryVector>,
        n: usize,
    ) -> Result<SearchResults, EngineError> {
        let text = req.text.as_deref().unwrap_or_default();
        let vector = || {
            query.clone().ok_or_else(|| {
                EngineError::Internal("a vector route without a query vector".into())
            })
        };
        match route {
            Route::Vector => self.search_routed(vector()?, n, &req.filter).await,
            Route::VectorForHybrid => {
                let mut results = self.search_routed(vector()?, n, &req.filter).await?;
                results.warning = Some(
                    "supabase mode keeps no local full-text index: these are vector results".into(),
                );
                Ok(results)
            }
            Route::Keyword => {
                let allowed = self.allowed(&req.filter).await?;
                let found = self.keyword_ids(text, n, allowed).await?;
                Ok(SearchResults::local(self.hits(found).await?))
            }
            Route::Hybrid => {
                let per_list = req.hybrid.candidates_for(n);
                let allowed = self.allowed(&req.filter).await?;
                let dense = self
                    .nearest_ids(vector()?, per_list, allowed.clone())
                    .await?;
                let sparse = self.keyword_ids(text, per_list, allowed).await?;
                let fused = fusion::fuse_pair(&dense, &sparse, req.hybrid.fusion, n);
                Ok(SearchResults::local(self.hits(fused).await?))
            }
        }
    }

    /// Vector search where the storage mode reads: Postgres in `supabase` mode, Postgres then local
    /// in `fallback`, local otherwise. The hits have the same shape wherever they come from.
    async fn search_routed(
        &self,
        vector: QueryVector,
        k: usize,
        filter: &ChunkFilter,
    ) -> Result<SearchResults, EngineError> {
        let mode = self.storage_mode();
        let log_filter =
            filter.log_level.is_some() || filter.since.is_some() || filter.until.is_some();
        if log_filter && mode == StorageMode::Supabase {
            return Err(EngineError::InvalidRequest(
                "log level and time filters are answered by the local index only; the Postgres schema \
                 does not record which log entries a chunk holds"
                    .into(),
            ));
        }
        if !mode.reads_remote() || log_filter {
            return Ok(SearchResults::local(
                self.search_local_vector(vector, k, filter).await?,
            ));
        }
        match self.search_remote(&vector, k, filter).await {
            Ok(hits) => Ok(SearchResults {
                hits,
                source: "remote",
                warning: None,
            }),
            Err(e) if mode == StorageMode::Fallback => Ok(SearchResults {
                hits: self.search_local_vector(vector, k, filter).await?,
                source: "local",
                warning: Some(format!(
                    "Postgres search failed ({e}); these are local results"
                )),
            }),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(mode: SearchMode, text: bool) -> SearchRequest {
        SearchRequest {
            text: text.then(|| "words".to_string()),
            vector: (!text).then(|| vec![1.0]),
            mode,
            ..Default::default()
        }
    }

    #[test]
    fn each_mode_routes_by_what_the_storage_mode_keeps() {
        use SearchMode::*;
        let local = StorageMode::Local;
        assert_eq!(route(local, &req(Vector, true)).unwrap(), Route::Vector);
        assert_eq!(route(local, &req(Keyword, true)).unwrap(), Route::Keyword);
        assert_eq!(route(local, &req(Hybrid, true)).unwrap(), Route::Hybrid);
        // A vector without text has nothing for BM25: hybrid searches by the vector alone.
        assert_eq!(route(local, &req(Hybrid, false)).unwrap(), Route::Vector);
        let remote = StorageMode::Supabase;
        assert_eq!(
            route(remote, &req(Hybrid, true)).unwrap(),
            Route::VectorForHybrid
        );
        assert!(matches!(
            route(remote, &req(Keyword, true)),
            Err(EngineError::InvalidRequest(_))
        ));
    }
}
