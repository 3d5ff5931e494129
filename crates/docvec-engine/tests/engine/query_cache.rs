//! The query-embedding cache seen from outside: which searches run the model, what the counters say,
//! and that a cached vector finds exactly what a freshly embedded one does.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use docvec_engine::{
    Access, Config, EmbedError, Embedder, Engine, HashEmbedder, QueryCacheStats, SearchHit,
    TokenCounter,
};
use docvec_testkit::samples_dir;

use super::{DIM, ingest, nearest};

/// The stand-in model, counting the texts it is asked to embed.
pub(crate) struct Counting {
    inner: HashEmbedder,
    texts: AtomicUsize,
}

impl Counting {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: HashEmbedder::new(DIM),
            texts: AtomicUsize::new(0),
        })
    }

    pub(crate) fn texts(&self) -> usize {
        self.texts.load(Ordering::SeqCst)
    }
}

impl TokenCounter for Counting {
    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }
}

impl Embedder for Counting {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        self.inner.embed(texts)
    }
}

fn config(data: &Path, cache_size: usize) -> Config {
    let mut cfg = super::config(data);
    cfg.search.query_cache_size = cache_size;
    cfg
}

/// The samples ingested into `data` by an engine holding at most `cache_size` queries.
async fn open_samples(data: &Path, cache_size: usize) -> (Engine, Arc<Counting>) {
    let model = Counting::new();
    let engine = Engine::open_with(config(data, cache_size), Access::ReadWrite, model.clone())
        .await
        .unwrap();
    ingest(&engine, &[samples_dir()]).await;
    (engine, model)
}

/// The texts `query` makes the model embed, with its hits.
async fn embeds_for(engine: &Engine, model: &Counting, query: &str) -> (usize, Vec<SearchHit>) {
    let before = model.texts();
    let hits = nearest(engine, query, 5).await;
    (model.texts() - before, hits)
}

fn ids_and_scores(hits: &[SearchHit]) -> Vec<(i64, f32)> {
    hits.iter().map(|h| (h.chunk_id, h.score)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_query_is_not_embedded_again_and_finds_the_same_hits() {
    let data = tempfile::tempdir().unwrap();
    let (engine, model) = open_samples(data.path(), 16).await;
    let (embedded, first) = embeds_for(&engine, &model, "baking a loaf with wild yeast").await;
    assert_eq!(embedded, 1);
    assert!(!first.is_empty());
    let (embedded, again) = embeds_for(&engine, &model, "baking a loaf with wild yeast").await;
    assert_eq!(embedded, 0, "served from the cache");
    assert_eq!(ids_and_scores(&again), ids_and_scores(&first));
    // Searches trim the query before anything else, so spacing alone is the same query.
    let (embedded, _) = embeds_for(&engine, &model, "  baking a loaf with wild yeast ").await;
    assert_eq!(embedded, 0);
    // Another text is another query; the cache keys on the exact text.
    let (embedded, _) = embeds_for(&engine, &model, "Baking a loaf with wild yeast").await;
    assert_eq!(embedded, 1);
    // embed_query shares the cache with search.
    let before = model.texts();
    let q = engine
        .embed_query("baking a loaf with wild yeast")
        .await
        .unwrap();
    assert_eq!((model.texts(), q.model_id.as_str()), (before, "hash-1024"));
    assert_eq!(
        engine.query_cache_stats(),
        QueryCacheStats {
            hits: 3,
            misses: 2,
            entries: 2,
            capacity: 16,
        }
    );
    assert_eq!(engine.query_cache_stats().hit_ratio(), 0.6);
    engine.close().await.unwrap();

    // The same searches without the cache: every one runs the model, and finds exactly the same.
    let model = Counting::new();
    let engine = Engine::open_with(config(data.path(), 0), Access::ReadWrite, model.clone())
        .await
        .unwrap();
    for _ in 0..2 {
        let (embedded, hits) = embeds_for(&engine, &model, "baking a loaf with wild yeast").await;
        assert_eq!(embedded, 1, "size 0 turns the cache off");
        assert_eq!(ids_and_scores(&hits), ids_and_scores(&first));
    }
    assert_eq!(engine.query_cache_stats(), QueryCacheStats::default());
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_cache_lets_go_of_the_least_recently_used_query() {
    let data = tempfile::tempdir().unwrap();
    let (engine, model) = open_samples(data.path(), 2).await;
    for q in ["solar system", "bread", "solar system"] {
        embeds_for(&engine, &model, q).await;
    }
    // "bread" was used longest ago: the third query takes its place.
    assert_eq!(embeds_for(&engine, &model, "neighbours").await.0, 1);
    assert_eq!(embeds_for(&engine, &model, "solar system").await.0, 0);
    assert_eq!(embeds_for(&engine, &model, "bread").await.0, 1);
    let stats = engine.query_cache_stats();
    assert_eq!((stats.entries, stats.capacity), (2, 2));
    assert_eq!((stats.hits, stats.misses), (2, 4));
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn keyword_searches_and_vectors_of_the_caller_leave_the_cache_alone() {
    let data = tempfile::tempdir().unwrap();
    let (engine, model) = open_samples(data.path(), 16).await;
    let before = model.texts();
    let request =
        docvec_engine::SearchRequest::text("bread", 3).mode(docvec_engine::SearchMode::Keyword);
    engine.search(&request).await.unwrap();
    engine
        .search(&docvec_engine::SearchRequest::vector(vec![1.0; DIM], 3))
        .await
        .unwrap();
    assert_eq!(model.texts(), before);
    assert_eq!(engine.query_cache_stats().entries, 0);
    engine.close().await.unwrap();
}
