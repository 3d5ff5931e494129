//! Keeping the full-text index in step with the store: the same `index_log` the vector index replays,
//! each page applied in one tantivy commit that records its position. When the log no longer holds what
//! the index misses (it was pruned, or the index is new or was damaged) the index is refilled from the
//! store's chunks. A rebuild fills a fresh index beside the serving one and swaps it in.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use docvec_fulltext::{TextChunk, TextIndex};
use docvec_store::{Store, TextInput};

use crate::sync::{blocking, net_effect};
use crate::{DataDir, Engine, EngineError};

const LOG_PAGE: i64 = 5000;
const FILL_PAGE: i64 = 5000;

/// Open the full-text index, clearing what an interrupted rebuild left beside it. A read-only engine
/// only reads what the writing process commits.
pub(crate) async fn open_text(
    data_dir: &DataDir,
    access: crate::Access,
) -> Result<Arc<TextIndex>, EngineError> {
    let dir = data_dir.fulltext();
    if access == crate::Access::ReadOnly {
        return blocking(move || {
            TextIndex::open_read_only(&dir)
                .map(Arc::new)
                .map_err(EngineError::from)
        })
        .await;
    }
    let leftovers = [data_dir.fulltext_new(), data_dir.fulltext_old()];
    blocking(move || {
        for d in leftovers.iter().filter(|d| d.exists()) {
            std::fs::remove_dir_all(d).map_err(|e| EngineError::io(d, e))?;
        }
        TextIndex::open(&dir)
            .map(Arc::new)
            .map_err(EngineError::from)
    })
    .await
}

/// Put every stored chunk into `index` (empty, at position 0), recording the log position read first:
/// changes committed meanwhile are replayed afterwards, and replaying an add is harmless.
pub(crate) async fn fill(
    store: &Store,
    index: &Arc<TextIndex>,
    progress: &(dyn Fn(u64, u64) + Sync),
    cancel: Option<&AtomicBool>,
) -> Result<(), EngineError> {
    let seq = store.last_log_seq().await?;
    let total = store.stats().await?.chunks.max(0) as u64;
    let mut done = 0u64;
    let mut after = 0;
    progress(0, total);
    loop {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(EngineError::Cancelled);
        }
        let page = store.text_inputs_page(after, FILL_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        done += page.len() as u64;
        let idx = index.clone();
        blocking(move || {
            let chunks: Vec<TextChunk> = page.into_iter().map(text_chunk).collect();
            idx.apply(idx.applied_seq(), &chunks, &[], seq)
                .map_err(EngineError::from)?;
            Ok(())
        })
        .await?;
        progress(done.min(total), total);
    }
    if index.applied_seq() != seq {
        let idx = index.clone();
        blocking(move || {
            idx.apply(idx.applied_seq(), &[], &[], seq)
                .map_err(EngineError::from)
        })
        .await?;
    }
    Ok(())
}

fn text_chunk(c: TextInput) -> TextChunk {
    TextChunk {
        id: c.id,
        heading: c.context,
        text: c.input,
    }
}

impl Engine {
    pub(crate) fn text_index(&self) -> Arc<TextIndex> {
        self.text
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Apply the store's log entries the full-text index has not seen.
    pub(crate) async fn catch_up_text(&self) -> Result<(), EngineError> {
        if self.access == crate::Access::ReadOnly {
            let text = self.text_index();
            return blocking(move || text.refresh().map_err(EngineError::from)).await;
        }
        loop {
            let text = self.text_index();
            let from = text.applied_seq();
            let entries = self.store.log_after(from, LOG_PAGE).await?;
            if entries.first().is_some_and(|e| e.seq != from + 1)
                || (entries.is_empty() && self.store.last_log_seq().await? > from)
            {
                tracing::info!("refilling the full-text index from the store");
                let t = text.clone();
                blocking(move || t.clear().map_err(EngineError::from)).await?;
                fill(&self.store, &text, &|_, _| {}, None).await?;
                continue;
            }
            let Some(last) = entries.last().map(|e| e.seq) else {
                return Ok(());
            };
            let (adds, deletes) = net_effect(&entries);
            let chunks: Vec<TextChunk> = self
                .store
                .text_inputs(&adds)
                .await?
                .into_iter()
                .map(text_chunk)
                .collect();
            blocking(move || {
                text.apply(from, &chunks, &deletes, last)
                    .map_err(EngineError::from)
            })
            .await?;
        }
    }

    /// Fill a new full-text index beside the serving one, then swap it in (the rename is the switch on
    /// disk; a crash before it leaves the old index, after it the new one).
    pub(crate) async fn rebuild_text(
        &self,
        progress: &(dyn Fn(u64, u64) + Sync),
        cancel: &AtomicBool,
    ) -> Result<(), EngineError> {
        let data_dir = self.layout();
        let fresh_dir = data_dir.fulltext_new();
        let fd = fresh_dir.clone();
        let fresh = blocking(move || {
            if fd.exists() {
                std::fs::remove_dir_all(&fd).map_err(|e| EngineError::io(&fd, e))?;
            }
            TextIndex::open(&fd)
                .map(Arc::new)
                .map_err(EngineError::from)
        })
        .await?;
        fill(&self.store, &fresh, progress, Some(cancel)).await?;
        drop(fresh);
        let live = data_dir.fulltext();
        let old = data_dir.fulltext_old();
        let swapped = blocking(move || {
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| EngineError::io(&old, e))?;
            }
            std::fs::rename(&live, &old).map_err(|e| EngineError::io(&live, e))?;
            std::fs::rename(&fresh_dir, &live).map_err(|e| EngineError::io(&fresh_dir, e))?;
            // The old index stays in `fulltext.old` until the next open or rebuild: a search or catch-up
            // may still be using it.
            TextIndex::open(&live)
                .map(Arc::new)
                .map_err(EngineError::from)
        })
        .await?;
        *self.text.write().unwrap_or_else(|p| p.into_inner()) = swapped;
        self.catch_up_text().await
    }
}
