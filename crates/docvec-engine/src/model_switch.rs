//! Re-embedding every chunk with a configured model (the same one after its files changed, or another,
//! of any dimension) while the current vectors keep serving. The next model's vectors are staged beside
//! the serving ones; the rebuild builds the new graph from them and then, in one store transaction and
//! one swap under the index lock, makes the new vectors, graph and model current together. A crash
//! before that transaction leaves the old model in place; after it, the next start serves the new model
//! (found by id among the configured ones) and rebuilds its graph from the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use docvec_embed::{Embedder, OnnxEmbedder};
use docvec_store::ModelSwitch;

use crate::rebuild::RebuildEvent;
use crate::sync::{blocking, poisoned};
use crate::{Engine, EngineError, META_DIMENSION, META_MODEL};

/// Chunks embedded per round of staging.
const STAGE_PAGE: i64 = 256;
/// Set with the switch, cleared once the mirror was pointed at the new model: the outbox's re-sync must
/// not reach a remote that still holds the old model's column.
pub(crate) const META_MIRROR_SWITCH: &str = "mirror_model_switch_pending";

impl Engine {
    /// Load the configured model `name` (`default`, a `[models.NAME]` table, or a model id) off the
    /// runtime.
    pub(crate) async fn load_model(&self, name: &str) -> Result<Arc<dyn Embedder>, EngineError> {
        let config = self.config.named_embedder_config(name)?;
        let embedder = blocking(move || Ok(OnnxEmbedder::load(config)?)).await?;
        Ok(Arc::new(embedder))
    }

    /// Embed every chunk with `next` into the staging table, page by page. Ingests may run meanwhile;
    /// [`Engine::stage_missing`] embeds what they add.
    pub(crate) async fn stage_all(
        &self,
        next: &Arc<dyn Embedder>,
        progress: &(dyn Fn(RebuildEvent) + Sync),
        cancel: &AtomicBool,
    ) -> Result<u64, EngineError> {
        self.store.clear_staged().await?;
        let total = self.store.stats().await?.chunks.max(0) as u64;
        let mut done = 0u64;
        let mut after = 0;
        progress(RebuildEvent {
            phase: "embed",
            done,
            total,
        });
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let page = self.store.embedding_inputs_page(after, STAGE_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.0;
            done += self.stage_page(next, page).await?;
            progress(RebuildEvent {
                phase: "embed",
                done: done.min(total),
                total,
            });
        }
        Ok(done)
    }

    /// Stage vectors for the chunks stored since [`Engine::stage_all`] read past them. Called with the
    /// model gate held, so nothing new arrives meanwhile.
    pub(crate) async fn stage_missing(
        &self,
        next: &Arc<dyn Embedder>,
        cancel: &AtomicBool,
    ) -> Result<u64, EngineError> {
        let mut done = 0;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let page = self
                .store
                .unstaged_inputs(next.model_id(), STAGE_PAGE)
                .await?;
            if page.is_empty() {
                return Ok(done);
            }
            done += self.stage_page(next, page).await?;
        }
    }

    async fn stage_page(
        &self,
        next: &Arc<dyn Embedder>,
        page: Vec<(i64, String)>,
    ) -> Result<u64, EngineError> {
        let embedder = next.clone();
        let vectors = blocking(move || {
            let texts: Vec<&str> = page.iter().map(|(_, t)| t.as_str()).collect();
            let vectors = embedder.embed(&texts)?;
            Ok(page
                .iter()
                .map(|(id, _)| *id)
                .zip(vectors)
                .collect::<Vec<_>>())
        })
        .await?;
        self.store.stage_vectors(next.model_id(), &vectors).await?;
        Ok(vectors.len() as u64)
    }

    /// Make the staged vectors and `fresh` (built from them) current, and `next` the model. Queues every
    /// document for the mirror in the same transaction when one is kept. Returns the vectors moved.
    pub(crate) async fn commit_switch(
        &self,
        next: Arc<dyn Embedder>,
        mut fresh: docvec_index::VectorIndex,
    ) -> Result<u64, EngineError> {
        let mirrors = self.storage_mode().mirrors();
        let mut meta = vec![
            (META_MODEL, next.model_id().to_string()),
            (META_DIMENSION, next.dimension().to_string()),
        ];
        if mirrors {
            meta.push((META_MIRROR_SWITCH, "1".to_string()));
        }
        // Not while a save is between its two halves (its snapshot belongs to the old index), and no
        // catch-up between the store's switch and the index's: it would read the new model's vectors
        // into the old graph.
        let _saving = self.saving.lock().await;
        let _no_adds = self.catching_up.lock().await;
        let moved = self
            .store
            .commit_staged(&ModelSwitch {
                model_id: next.model_id(),
                dimension: next.dimension(),
                meta: &meta,
                resync_mirror: mirrors,
            })
            .await?;
        let mut current = self.index.write().map_err(poisoned)?;
        fresh.succeed(&current);
        *current = fresh;
        // Swapped under the index's write lock: a search holding the read lock sees both or neither.
        {
            let mut model = self.embedder.write().map_err(poisoned)?;
            let mut retired = self.retired_tokens.lock().map_err(poisoned)?;
            *retired = retired.plus(model.token_counts());
            drop(retired);
            *model = next;
            // Under the model's lock, so no query reads the new model with the old generation: a
            // re-embed keeps the model id, and only the generation tells its cached vectors apart.
            self.query_cache.next_generation();
        }
        drop(current);
        // The old model's vectors are never served again; dropping them frees their room now.
        self.query_cache.clear();
        Ok(moved)
    }

    /// Point the remote at the local model if a switch left that pending. Before any re-sent document.
    #[cfg(feature = "mirror")]
    pub(crate) async fn finish_mirror_switch(&self) -> Result<(), EngineError> {
        if self.store.get_meta(META_MIRROR_SWITCH).await?.is_none() {
            return Ok(());
        }
        let embedder = self.embedder();
        self.mirror()?
            .switch_model(embedder.model_id(), embedder.dimension())
            .await?;
        self.store.delete_meta(META_MIRROR_SWITCH).await?;
        Ok(())
    }

    /// A read-only engine cannot follow a model switch made by the writer: it must be opened again.
    pub(crate) async fn check_model_unchanged(&self) -> Result<(), EngineError> {
        let current = self.model_id();
        match self.store.get_meta(META_MODEL).await? {
            Some(stored) if stored != current => Err(EngineError::Conflict(format!(
                "the data directory was switched to the model `{stored}` while this process ran with \
                 `{current}`; start it again"
            ))),
            _ => Ok(()),
        }
    }
}
