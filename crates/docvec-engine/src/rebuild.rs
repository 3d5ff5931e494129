//! Rebuilding the local indexes while the old ones keep serving: the new graph is built beside the old
//! from the store, caught up with what changed meanwhile, swapped in under the index lock, and saved as
//! the next generation (one manifest rename on disk); then a fresh full-text index is filled beside the
//! serving one and swapped in the same way. Optionally re-embeds every chunk first, with the model in
//! use or another configured one (see `model_switch`), and queues every document for the mirror again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::sync::{Vectors, build, poisoned};
use crate::{DrainReport, Engine, EngineError};

/// What a rebuild does besides building a fresh graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RebuildOptions {
    /// Embed every chunk again with the model in use first (after its files changed).
    pub reembed: bool,
    /// Embed every chunk with this configured model instead (`default` for `[model]`, a
    /// `[models.NAME]` table, or a model id) and switch the data directory to it, dimension included.
    pub model: Option<String>,
    /// Queue every document for the Postgres mirror again and send them (a full re-sync).
    pub resync_mirror: bool,
}

/// Progress of a rebuild: the phase and how far it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RebuildEvent {
    pub phase: &'static str,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    pub vectors: usize,
    pub reembedded: u64,
    /// The model the vectors come from after the rebuild.
    pub model: String,
    pub elapsed_ms: u64,
    pub mirror: Option<DrainReport>,
}

/// Keeps the index log from being pruned below where a rebuild started, until the rebuild ends.
struct FloorGuard<'a>(&'a Engine);

impl Drop for FloorGuard<'_> {
    fn drop(&mut self) {
        self.0.prune_floor.store(i64::MAX, Ordering::SeqCst);
    }
}

impl Engine {
    /// Rebuild the local index from the store and swap it in. Searches are served by the old index until
    /// the swap; `cancel` stops the rebuild at the next page, leaving the old index in place.
    pub async fn rebuild_index(
        &self,
        opts: &RebuildOptions,
        progress: &(dyn Fn(RebuildEvent) + Sync),
        cancel: &AtomicBool,
    ) -> Result<RebuildReport, EngineError> {
        self.require_write("rebuilding the index")?;
        let _one = self.rebuilding.try_lock().map_err(|_| {
            EngineError::Conflict("a rebuild is already running; wait for it to finish".into())
        })?;
        if opts.resync_mirror {
            self.require_mirror()?;
        }
        let started = Instant::now();
        let next = match (&opts.model, opts.reembed) {
            (Some(name), _) => Some(self.load_model(name).await?),
            (None, true) => Some(self.load_model(&self.model_id()).await?),
            (None, false) => None,
        };
        let mut reembedded = 0;
        // Ingests go on while the bulk is staged; from here to the switch they wait (they would embed
        // with the old model).
        let gate = match &next {
            Some(next) => {
                reembedded = self.stage_all(next, progress, cancel).await?;
                let gate = self.model_gate.write().await;
                reembedded += self.stage_missing(next, cancel).await?;
                Some(gate)
            }
            None => None,
        };

        let start_seq = self.store.last_log_seq().await?;
        self.prune_floor.store(start_seq, Ordering::SeqCst);
        let _floor = FloorGuard(self);
        let dir = self.layout().index();
        let (embedder, source) = match &next {
            Some(next) => (next.clone(), Vectors::Staged),
            None => (self.embedder(), Vectors::Stored),
        };
        let fresh = build(
            &self.store,
            embedder.as_ref(),
            source,
            &dir,
            &self.config.hnsw,
            &|done, total| {
                progress(RebuildEvent {
                    phase: "index",
                    done,
                    total,
                })
            },
            Some(cancel),
        )
        .await?;
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        match next {
            Some(next) => {
                self.commit_switch(next, fresh).await?;
            }
            None => {
                // Not while a save is between its two halves: its snapshot belongs to the old index.
                let _saving = self.saving.lock().await;
                let _no_adds = self.catching_up.lock().await;
                let mut current = self.index.write().map_err(poisoned)?;
                let mut fresh = fresh;
                fresh.succeed(&current);
                *current = fresh;
            }
        }
        drop(gate);
        // The new graph reflects the store as of `start_seq`; replay what was committed since.
        self.catch_up().await?;
        self.rebuild_text(
            &|done, total| {
                progress(RebuildEvent {
                    phase: "text",
                    done,
                    total,
                })
            },
            cancel,
        )
        .await?;
        self.save_index().await?;
        drop(_floor);
        if reembedded > 0 || opts.model.is_some() {
            self.record_model(true).await?;
        }
        let vectors = self.index_len();

        // New vectors must reach the mirror too, or the two would answer differently.
        // (A switch queued every document in its own transaction.)
        let mirror = if opts.resync_mirror || (reembedded > 0 && self.storage_mode().mirrors()) {
            let queued = if reembedded > 0 && self.storage_mode().mirrors() {
                self.store.outbox_backlog().await?.pending.max(0) as u64
            } else {
                self.store.outbox_enqueue_all().await?
            };
            progress(RebuildEvent {
                phase: "mirror",
                done: 0,
                total: queued,
            });
            let report = self.drain_outbox().await?;
            progress(RebuildEvent {
                phase: "mirror",
                done: report.pushed,
                total: queued,
            });
            Some(report)
        } else {
            None
        };
        Ok(RebuildReport {
            vectors,
            reembedded,
            model: self.model_id(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            mirror,
        })
    }
}
