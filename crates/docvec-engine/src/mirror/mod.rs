//! The engine's side of the Supabase mirror: draining the outbox after writes, routing searches by
//! storage mode, and reporting the remote's state.

#[cfg(not(feature = "mirror"))]
mod absent;
mod config;
#[cfg(feature = "mirror")]
mod parity;
#[cfg(feature = "mirror")]
mod remote;
#[cfg(not(feature = "mirror"))]
pub(crate) use absent::refuse_remote;

use serde::Serialize;

use docvec_store::ChunkFilter;
use docvec_types::SearchHit;

pub use config::{MirrorConfig, StorageMode};
#[cfg(feature = "mirror")]
pub use parity::{BackfillEvent, BackfillOptions, BackfillReport, ParityReport, TableCount};
#[cfg(feature = "mirror")]
pub use remote::MirrorStatus;

use crate::{Engine, EngineError};

/// What a drain of the outbox did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DrainReport {
    pub pushed: u64,
    /// Changes still waiting (the remote failed, or more arrived meanwhile).
    pub pending: i64,
    pub error: Option<String>,
}

/// Search results and where they came from.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// `local` or `remote`.
    pub source: &'static str,
    /// Set when the remote failed and local results were served instead (fallback mode).
    pub warning: Option<String>,
}

impl Engine {
    pub fn storage_mode(&self) -> StorageMode {
        self.config.mirror.mode
    }

    /// Search by storage mode: Postgres in `supabase` mode; Postgres then local in `fallback`; local
    /// otherwise. The hits have the same shape wherever they come from.
    pub async fn search_routed(
        &self,
        query: &str,
        k: usize,
        filter: &ChunkFilter,
    ) -> Result<SearchResults, EngineError> {
        let vector = self.embed_query(query, k).await?;
        self.search_routed_vector(vector, k, filter).await
    }

    /// [`Engine::search_routed`] for a query embedded by [`Engine::embed_query`].
    pub async fn search_routed_vector(
        &self,
        vector: crate::QueryVector,
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
            return Ok(SearchResults {
                hits: self.search_local_vector(vector, k, filter).await?,
                source: "local",
                warning: None,
            });
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
