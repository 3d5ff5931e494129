//! Keeping the HNSW index in step with the store. The store is the source of truth: every change to the
//! set of chunks is appended to `index_log` in the same transaction, and the index replays the log from
//! the last position it recorded. The same path serves live updates and recovery after a crash.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use docvec_embed::Embedder;
use docvec_index::{HnswParams, IndexError, VectorIndex};
use docvec_store::{LogEntry, LogOp, Store};

use crate::{Engine, EngineError};

/// Log entries read per round of catch-up.
const LOG_PAGE: i64 = 5000;
/// Past this share of tombstones the index is rebuilt on open.
const MAX_DELETED_FRACTION: f64 = 0.3;

/// Load the index, or rebuild it from the store when it is missing, unreadable, built for another model,
/// or out of step with the store's log. Says what was damaged, when a damaged file was the reason.
pub(crate) async fn open_index(
    store: &Store,
    embedder: &dyn Embedder,
    dir: &Path,
    params: &HnswParams,
) -> Result<(VectorIndex, Option<String>), EngineError> {
    let d = dir.to_path_buf();
    let quantization = params.quantization;
    let loaded = tokio::task::spawn_blocking(move || VectorIndex::open_with(&d, quantization))
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    // Why the index is rebuilt: routine (Ok), or a damaged file (Err, warned of where it is found).
    let reason = match loaded {
        Ok(Some(mut index)) => match stale_reason(store, embedder, &index).await? {
            None => {
                // ef_search applies at once; M and ef_construction shape the graph, so they wait for
                // the next rebuild.
                index.set_ef_search(params.ef_search);
                let built = index.info().params;
                if (built.m, built.ef_construction) != (params.m, params.ef_construction) {
                    tracing::info!(
                        "the vector index was built with M={} ef_construction={}; the configured M={} \
                         ef_construction={} take effect at the next `docvec rebuild`",
                        built.m,
                        built.ef_construction,
                        params.m,
                        params.ef_construction
                    );
                }
                return Ok((index, None));
            }
            Some(reason) => Ok(reason),
        },
        Ok(None) => Ok("no index yet".to_string()),
        // A damaged file is something the user should hear of, not an everyday rebuild.
        Err(e @ IndexError::Unreadable { .. }) => {
            tracing::warn!("{e}; rebuilding the vector index from the store");
            Err(e.to_string())
        }
        Err(e) => return Err(e.into()),
    };
    if let Ok(reason) = &reason {
        tracing::info!("rebuilding the vector index from the store: {reason}");
    }
    let index = build(
        store,
        embedder,
        Vectors::Stored,
        dir,
        params,
        &|_, _| {},
        None,
    )
    .await?;
    Ok((index, reason.err()))
}

/// Where [`build`] reads its vectors: the serving ones, or those a model switch staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vectors {
    Stored,
    Staged,
}

async fn stale_reason(
    store: &Store,
    embedder: &dyn Embedder,
    index: &VectorIndex,
) -> Result<Option<String>, EngineError> {
    let info = index.info();
    if info.model_id != embedder.model_id() || info.dimension != embedder.dimension() {
        return Ok(Some(format!(
            "index built for {} ({}-d)",
            info.model_id, info.dimension
        )));
    }
    let last = store.last_log_seq().await?;
    if info.applied_seq > last {
        return Ok(Some(format!(
            "index is ahead of the store (log {} > {last})",
            info.applied_seq
        )));
    }
    if info.applied_seq < last {
        // Entries the index needs must still be in the log (it is pruned only up to saved positions).
        let next = store.log_after(info.applied_seq, 1).await?;
        if next.first().is_none_or(|e| e.seq != info.applied_seq + 1) {
            return Ok(Some(
                "the store's log no longer holds the changes the index misses".into(),
            ));
        }
    }
    if index.deleted_fraction() > MAX_DELETED_FRACTION {
        return Ok(Some(format!(
            "{:.0}% of the graph is deleted entries",
            index.deleted_fraction() * 100.0
        )));
    }
    Ok(None)
}

/// Build a fresh index from every stored (or staged) vector of `embedder`'s model, reporting
/// (done, total) vectors; `cancel` is checked between pages.
pub(crate) async fn build(
    store: &Store,
    embedder: &dyn Embedder,
    source: Vectors,
    dir: &Path,
    params: &HnswParams,
    progress: &(dyn Fn(u64, u64) + Sync),
    cancel: Option<&AtomicBool>,
) -> Result<VectorIndex, EngineError> {
    // Read the log position first: changes committed while vectors are read are replayed afterwards, and
    // replaying an add that is already in the index is a no-op.
    let seq = store.last_log_seq().await?;
    let stats = store.stats().await?;
    let index = VectorIndex::create(
        dir,
        embedder.model_id(),
        embedder.dimension(),
        *params,
        stats.chunks as usize,
    );
    let index = Arc::new(RwLock::new(index));
    let total = stats.chunks.max(0) as u64;
    let mut done = 0u64;
    progress(0, total);
    let mut after = 0;
    loop {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(EngineError::Cancelled);
        }
        let page = match source {
            Vectors::Stored => {
                store
                    .vectors_page(embedder.model_id(), after, 10_000)
                    .await?
            }
            Vectors::Staged => {
                store
                    .staged_vectors_page(embedder.model_id(), after, 10_000)
                    .await?
            }
        };
        let Some(last) = page.last() else { break };
        after = last.0;
        done += page.len() as u64;
        let idx = index.clone();
        blocking(move || {
            idx.write()
                .map_err(poisoned)?
                .add(&page)
                .map_err(EngineError::from)
        })
        .await?;
        progress(done.min(total), total);
    }
    let mut index = Arc::try_unwrap(index)
        .map_err(|_| EngineError::Internal("index still shared".into()))?
        .into_inner()
        .map_err(poisoned)?;
    index.set_applied_seq(seq);
    Ok(index)
}

impl Engine {
    /// Apply the store's log entries the vector index and then the full-text index have not seen yet.
    /// Returns how many the vector index applied.
    pub(crate) async fn catch_up(&self) -> Result<usize, EngineError> {
        let _one = self.catching_up.lock().await;
        self.catch_up_locked().await
    }

    /// For searches: catch up unless a catch-up is already under way (an ingest inserting a batch), in
    /// which case search what is applied so far rather than wait for it.
    pub(crate) async fn catch_up_if_idle(&self) -> Result<usize, EngineError> {
        match self.catching_up.try_lock() {
            Ok(_one) => self.catch_up_locked().await,
            Err(_) => Ok(0),
        }
    }

    async fn catch_up_locked(&self) -> Result<usize, EngineError> {
        // The common case on the search path: both indexes already hold the whole log (one query).
        // A read-only engine goes on to reload what the writer committed to the full-text index.
        if self.access == crate::Access::ReadWrite {
            let last = self.store.last_log_seq().await?;
            let vector_at = self.index.read().map_err(poisoned)?.info().applied_seq;
            if vector_at == last && self.text_index().applied_seq() == last {
                return Ok(0);
            }
        }
        let model = self.embedder().model_id().to_string();
        let mut applied = 0;
        loop {
            let from = self.index.read().map_err(poisoned)?.info().applied_seq;
            let entries = self.store.log_after(from, LOG_PAGE).await?;
            if entries.first().is_some_and(|e| e.seq != from + 1)
                || (entries.is_empty() && self.store.last_log_seq().await? > from)
            {
                // A writer saved its index and pruned the entries this index still needs: load that
                // index (or rebuild), then replay what follows it.
                self.check_model_unchanged().await?;
                let fresh = open_index(
                    &self.store,
                    self.embedder().as_ref(),
                    &self.layout().index(),
                    &self.config.hnsw,
                )
                .await?
                .0;
                *self.index.write().map_err(poisoned)? = fresh;
                continue;
            }
            let Some(last) = entries.last().map(|e| e.seq) else {
                break;
            };
            let (adds, deletes) = net_effect(&entries);
            let vectors = self.store.vectors(&adds, &model).await?;
            let idx = self.index.clone();
            // The graph inserts run under the read lock, so searches go on meanwhile; `catching_up`
            // keeps other adds, saves and swaps out until the ids are registered.
            let fresh = blocking(move || {
                let inserted = {
                    let index = idx.read().map_err(poisoned)?;
                    // Another task applied these entries, or a rebuilt index was swapped in, while
                    // they were read: look again from the index's own position.
                    if index.info().applied_seq != from {
                        return Ok(false);
                    }
                    index.insert_shared(&vectors)?
                };
                let mut index = idx.write().map_err(poisoned)?;
                index.register(&inserted);
                deletes.iter().for_each(|&id| index.remove(id));
                index.set_applied_seq(last);
                Ok(true)
            })
            .await?;
            if fresh {
                applied += entries.len();
            }
        }
        self.catch_up_text().await?;
        Ok(applied)
    }

    /// Persist the index, then drop the log entries it no longer needs. The graph is written under the
    /// read lock, so searches go on during a long dump; only the manifest swap takes the write lock.
    pub(crate) async fn save_index(&self) -> Result<(), EngineError> {
        let _one = self.saving.lock().await;
        let _no_adds = self.catching_up.lock().await;
        let idx = self.index.clone();
        let snapshot = blocking(move || {
            let index = idx.read().map_err(poisoned)?;
            Ok(index.write_snapshot()?)
        })
        .await?;
        let seq = match snapshot {
            Some(snap) => {
                let seq = snap.applied_seq();
                let idx = self.index.clone();
                blocking(move || Ok(idx.write().map_err(poisoned)?.commit_snapshot(snap)?)).await?;
                seq
            }
            None => self.index.read().map_err(poisoned)?.info().applied_seq,
        };
        // A rebuild in progress replays the log from where it started: keep those entries.
        let floor = self.prune_floor.load(Ordering::SeqCst);
        let text = self.text_index().applied_seq();
        self.store.prune_log(seq.min(floor).min(text)).await?;
        Ok(())
    }
}

/// Net effect of a page of the log, in order: an add deleted later in the same page never reaches an
/// index. Returns (chunks to add, chunks to delete).
pub(crate) fn net_effect(entries: &[LogEntry]) -> (Vec<i64>, Vec<i64>) {
    let mut adds: Vec<i64> = Vec::new();
    let mut deletes: Vec<i64> = Vec::new();
    for e in entries {
        match e.op {
            LogOp::Add => adds.push(e.chunk_id),
            LogOp::Delete => {
                if let Some(pos) = adds.iter().position(|&a| a == e.chunk_id) {
                    adds.remove(pos);
                } else {
                    deletes.push(e.chunk_id);
                }
            }
        }
    }
    (adds, deletes)
}

/// The outcome of an index write (a catch-up's full-text commit, a save) where a full disk is not a
/// failure of the whole operation: SQLite holds everything the indexes would write and the log they
/// replay from is kept until they have, so the next catch-up, save or start completes them. A full
/// disk becomes the warning returned (and logged); any other error is passed on.
pub(crate) fn unless_disk_full<T>(
    result: Result<T, EngineError>,
    what: &str,
) -> Result<Option<String>, EngineError> {
    match result {
        Ok(_) => Ok(None),
        Err(e) if e.is_disk_full() => {
            let warning = format!(
                "{what} was not written ({e}); the store holds everything and the index catches up \
                 from its log once there is space"
            );
            tracing::warn!("{warning}");
            Ok(Some(warning))
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Internal(format!("blocking task failed: {e}")))?
}

pub(crate) fn poisoned<T>(_: T) -> EngineError {
    EngineError::Internal("the index lock was poisoned by a panic".into())
}
