//! A docvec built without the `mirror` feature (the slim edge build) has no Postgres client: the
//! storage mode must be `local`, and the operations that would reach Postgres say why they cannot.

use docvec_store::ChunkFilter;
use docvec_types::SearchHit;

use super::{DrainReport, MirrorConfig};
use crate::{Engine, EngineError};

fn not_built() -> EngineError {
    EngineError::Config(
        "this docvec was built without the Postgres mirror (cargo feature `mirror`); only storage mode \
         `local` is available"
            .into(),
    )
}

/// Refuse a configuration that needs Postgres; a connection string alone (say, `DATABASE_URL` set for
/// another program) is ignored.
pub(crate) fn refuse_remote(config: &MirrorConfig) -> Result<(), EngineError> {
    if config.mode.mirrors() {
        return Err(not_built());
    }
    Ok(())
}

impl Engine {
    pub(crate) fn require_mirror(&self) -> Result<(), EngineError> {
        Err(not_built())
    }

    /// Never reached through the storage mode (refused at open); an error all the same.
    pub async fn drain_outbox(&self) -> Result<DrainReport, EngineError> {
        Err(not_built())
    }

    pub(crate) async fn search_remote(
        &self,
        _vector: &crate::QueryVector,
        _k: usize,
        _filter: &ChunkFilter,
    ) -> Result<Vec<SearchHit>, EngineError> {
        Err(not_built())
    }
}
