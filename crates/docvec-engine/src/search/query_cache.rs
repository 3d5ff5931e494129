//! The query-embedding cache. Apps send the same queries again and again, and embedding one runs the
//! model (milliseconds on a CPU) where searching the index with the vector takes a fraction of that. An
//! LRU of (model id, query text) -> vector, `[search] query_cache_size` entries; 0 turns it off.
//!
//! Entries carry the generation of the model that embedded them. A rebuild that embeds again (another
//! model, or the same id after its files changed) moves the generation on under the lock that swaps the
//! model, and an entry is served only to an asker of its own generation: a vector of the old model is
//! never served after the swap, whatever its model id.
//!
//! Identical misses at the same time are coalesced: the entry (a `OnceCell`) goes into the LRU before the
//! model runs, so a second asker waits for the first one's vector instead of running the model again.
//! When the first fails or its request is dropped, the next waiter embeds (`OnceCell`'s contract).

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::EngineError;

/// Entries a cache holds when the configuration does not say.
pub const DEFAULT_QUERY_CACHE_SIZE: usize = 1024;

/// One query's vector, filled by the first asker; the others wait on it.
type Slot = Arc<OnceCell<Vec<f32>>>;
type Key = (String, String);

/// The query cache's counters since the engine opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueryCacheStats {
    /// Queries answered without running the model (including those that waited on an identical
    /// query's embedding).
    pub hits: u64,
    /// Queries that ran the model.
    pub misses: u64,
    /// Queries held now.
    pub entries: usize,
    /// Most queries held; 0 when the cache is off.
    pub capacity: usize,
}

impl QueryCacheStats {
    /// Hits over all lookups since the engine opened; 0 before the first.
    pub fn hit_ratio(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}

pub(crate) struct QueryCache {
    /// `None` when the cache is off: nothing is held or counted.
    entries: Option<Mutex<LruCache<Key, (u64, Slot)>>>,
    /// Read and moved on only under the engine's model lock (see the module comment).
    generation: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl QueryCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
            generation: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The model's generation; read together with the model, under the engine's model lock.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A new model is in place: entries embedded before it are not served again. Called under the
    /// engine's model lock, with the swap.
    pub(crate) fn next_generation(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Drop every entry (after a model switch, whose old entries would only take room).
    pub(crate) fn clear(&self) {
        if let Some(entries) = &self.entries {
            entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }

    pub(crate) fn stats(&self) -> QueryCacheStats {
        let (entries, capacity) = match &self.entries {
            Some(e) => {
                let lru = e.lock().unwrap_or_else(PoisonError::into_inner);
                (lru.len(), lru.cap().get())
            }
            None => (0, 0),
        };
        QueryCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            capacity,
        }
    }

    /// The vector of `text` under `model_id` at `generation`: the cached one, or `embed`'s, which is
    /// then cached. The lock is held only to find or place the entry, never while the model runs.
    pub(crate) async fn get_or_embed<F, Fut>(
        &self,
        generation: u64,
        model_id: &str,
        text: &str,
        embed: F,
    ) -> Result<Vec<f32>, EngineError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<f32>, EngineError>>,
    {
        let Some(slot) = self.slot(generation, model_id, text) else {
            return embed().await;
        };
        let mut ran = false;
        let values = slot
            .get_or_try_init(|| {
                ran = true;
                embed()
            })
            .await
            .cloned();
        // A failed run counts too: misses are the model's runs for queries.
        let counter = if ran { &self.misses } else { &self.hits };
        counter.fetch_add(1, Ordering::Relaxed);
        values
    }

    /// The entry to read or fill; `None` when the cache is off, or when the entry there belongs to a
    /// newer model than the asker's (an asker that read the model just before a switch must neither be
    /// served the new model's vector nor push it out).
    fn slot(&self, generation: u64, model_id: &str, text: &str) -> Option<Slot> {
        let mut lru = self
            .entries
            .as_ref()?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (model_id.to_string(), text.to_string());
        match lru.get(&key) {
            Some((g, slot)) if *g == generation => return Some(slot.clone()),
            Some((g, _)) if *g > generation => {
                // Counted here, as the cache-off path does not count.
                self.misses.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            _ => {}
        }
        let slot = Slot::default();
        lru.put(key, (generation, slot.clone()));
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn vector(values: Vec<f32>) -> Result<Vec<f32>, EngineError> {
        Ok(values)
    }

    async fn must_not_embed() -> Result<Vec<f32>, EngineError> {
        panic!("the cached vector should have been served")
    }

    #[tokio::test]
    async fn identical_misses_at_the_same_time_run_the_model_once() {
        let cache = QueryCache::new(4);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = cache.get_or_embed(0, "m", "q", move || async move {
            released.await.unwrap();
            Ok(vec![1.0])
        });
        let second = cache.get_or_embed(0, "m", "q", must_not_embed);
        // Polled in this order: the first starts embedding, the second finds its entry and waits on it,
        // and only then is the first let through.
        let (a, b, ()) = tokio::join!(biased; first, second, async { release.send(()).unwrap() });
        assert_eq!((a.unwrap(), b.unwrap()), (vec![1.0], vec![1.0]));
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
    }

    #[tokio::test]
    async fn a_failed_embedding_is_not_cached() {
        let cache = QueryCache::new(4);
        let failed = cache
            .get_or_embed(0, "m", "q", || async {
                Err(EngineError::Internal("model down".into()))
            })
            .await;
        assert!(failed.is_err());
        let again = cache.get_or_embed(0, "m", "q", || vector(vec![2.0])).await;
        assert_eq!(again.unwrap(), vec![2.0]);
        assert_eq!(cache.stats().misses, 2);
    }

    #[tokio::test]
    async fn entries_serve_only_their_own_generation() {
        let cache = QueryCache::new(4);
        let old = cache.get_or_embed(0, "m", "q", || vector(vec![0.0])).await;
        assert_eq!(old.unwrap(), vec![0.0]);
        cache.next_generation();
        // Same model id, next generation (the model's files changed): embedded again.
        let new = cache.get_or_embed(1, "m", "q", || vector(vec![1.0])).await;
        assert_eq!(new.unwrap(), vec![1.0]);
        // An asker that read the model before the switch gets its own model's vector, and leaves the
        // new entry in place.
        let late = cache.get_or_embed(0, "m", "q", || vector(vec![0.5])).await;
        assert_eq!(late.unwrap(), vec![0.5]);
        let served = cache.get_or_embed(1, "m", "q", must_not_embed).await;
        assert_eq!(served.unwrap(), vec![1.0]);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 3, 1));
    }

    #[tokio::test]
    async fn size_zero_holds_and_counts_nothing() {
        let cache = QueryCache::new(0);
        for _ in 0..2 {
            let v = cache.get_or_embed(0, "m", "q", || vector(vec![1.0])).await;
            assert_eq!(v.unwrap(), vec![1.0]);
        }
        assert_eq!(cache.stats(), QueryCacheStats::default());
        assert_eq!(cache.stats().hit_ratio(), 0.0);
    }
}
