//! Rebuilding the local indexes while the old ones keep serving: the new graph is built beside the old
//! from the store, caught up with what changed meanwhile, swapped in under the index lock, and saved as
//! the next generation (one manifest rename on disk); then a fresh full-text index is filled beside the
//! serving one and swapped in the same way. Optionally re-embeds every chunk first and queues
//! every document for the mirror again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::sync::{blocking, build, poisoned};
use crate::{DrainReport, Engine, EngineError};

/// Chunks embedded per round of a re-embedding.
const REEMBED_PAGE: i64 = 256;

/// What a rebuild does besides building a fresh graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RebuildOptions {
    /// Embed every chunk again with the configured model first (after the model files changed).
    pub reembed: bool,
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
        self.require_write()?;
        let _one = self.rebuilding.try_lock().map_err(|_| {
            EngineError::Config("a rebuild is already running; wait for it to finish".into())
        })?;
        if opts.resync_mirror {
            self.mirror()?;
        }
        let started = Instant::now();
        let reembedded = if opts.reembed {
            self.reembed(progress, cancel).await?
        } else {
            0
        };

        let start_seq = self.store.last_log_seq().await?;
        self.prune_floor.store(start_seq, Ordering::SeqCst);
        let _floor = FloorGuard(self);
        let dir = self.config.data_dir.join("index");
        let mut fresh = build(
            &self.store,
            self.embedder.as_ref(),
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
        {
            // Not while a save is between its two halves: its snapshot belongs to the old index.
            let _saving = self.saving.lock().await;
            let _no_adds = self.catching_up.lock().await;
            let mut current = self.index.write().map_err(poisoned)?;
            fresh.succeed(&current);
            *current = fresh;
        }
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
        let vectors = self.index_len();

        // New vectors must reach the mirror too, or the two would answer differently.
        let mirror = if opts.resync_mirror || (reembedded > 0 && self.storage_mode().mirrors()) {
            let queued = self.store.outbox_enqueue_all().await?;
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
            elapsed_ms: started.elapsed().as_millis() as u64,
            mirror,
        })
    }

    /// Embed every stored chunk again and replace its vector, page by page.
    async fn reembed(
        &self,
        progress: &(dyn Fn(RebuildEvent) + Sync),
        cancel: &AtomicBool,
    ) -> Result<u64, EngineError> {
        let total = self.store.stats().await?.chunks.max(0) as u64;
        let model = self.embedder.model_id().to_string();
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
            let page = self
                .store
                .embedding_inputs_page(after, REEMBED_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.0;
            let embedder = self.embedder.clone();
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
            done += vectors.len() as u64;
            self.store.replace_vectors(&model, &vectors).await?;
            progress(RebuildEvent {
                phase: "embed",
                done: done.min(total),
                total,
            });
        }
        Ok(done)
    }
}
