use std::sync::Mutex as StdMutex;

use docvec_embed::{EmbedError, HashEmbedder};
use docvec_types::TokenCounter;
use futures_util::future::join_all;

use super::*;

/// The hash embedder, recording the size of each call and refusing one text, so a test can see how
/// queries were batched and that one bad query fails alone.
struct Recording {
    inner: HashEmbedder,
    calls: StdMutex<Vec<usize>>,
}

impl Recording {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: HashEmbedder::new(16),
            calls: StdMutex::default(),
        })
    }

    fn calls(&self) -> Vec<usize> {
        self.calls.lock().unwrap().clone()
    }
}

impl TokenCounter for Recording {
    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }
}

impl Embedder for Recording {
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
        self.calls.lock().unwrap().push(texts.len());
        if texts.contains(&"poison") {
            return Err(EmbedError::Inference("the model refused `poison`".into()));
        }
        self.inner.embed(texts)
    }
}

/// A delay no test waits out: batches that form must form because they filled.
const LONG: Duration = Duration::from_secs(3600);

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("query number {i}")).collect()
}

#[tokio::test]
async fn queries_that_arrive_together_are_embedded_in_full_batches_with_their_own_vectors() {
    let model = Recording::new();
    let batcher = QueryBatcher::new(BatchOptions {
        size: 4,
        delay: LONG,
    });
    let queries = texts(8);
    let vectors = join_all(queries.iter().map(|q| batcher.embed(model.clone(), q))).await;
    for (q, v) in queries.iter().zip(vectors) {
        assert_eq!(v.unwrap(), model.inner.embed(&[q]).unwrap()[0], "{q}");
    }
    assert_eq!(model.calls(), [4, 4]);
    assert_eq!(
        batcher.stats(),
        QueryBatchStats {
            batches: 2,
            queries: 8
        }
    );
}

#[tokio::test]
async fn a_lone_query_is_embedded_once_its_delay_is_over() {
    let model = Recording::new();
    let batcher = QueryBatcher::new(BatchOptions {
        size: 32,
        delay: Duration::ZERO,
    });
    let v = batcher.embed(model.clone(), "alone").await.unwrap();
    assert_eq!(v, model.inner.embed(&["alone"]).unwrap()[0]);
    assert_eq!(model.calls(), [1]);
    // The runner has stopped; the next query starts another.
    batcher.embed(model.clone(), "again").await.unwrap();
    assert_eq!(model.calls(), [1, 1]);
}

#[tokio::test]
async fn a_query_that_fails_fails_alone() {
    let model = Recording::new();
    let batcher = QueryBatcher::new(BatchOptions {
        size: 3,
        delay: LONG,
    });
    let queries = ["first", "poison", "third"];
    let out = join_all(queries.iter().map(|q| batcher.embed(model.clone(), q))).await;
    assert!(out[0].is_ok() && out[2].is_ok(), "{out:?}");
    let err = out[1].as_ref().unwrap_err().to_string();
    assert!(err.contains("poison"), "{err}");
    // The batch, then each query alone.
    assert_eq!(model.calls(), [3, 1, 1, 1]);
}

#[tokio::test]
async fn queries_of_two_models_never_share_a_batch() {
    let (old, new) = (Recording::new(), Recording::new());
    let batcher = QueryBatcher::new(BatchOptions {
        size: 2,
        delay: LONG,
    });
    let jobs = [(&old, "a"), (&new, "b"), (&old, "c"), (&new, "d")];
    let out = join_all(jobs.iter().map(|(m, q)| batcher.embed((*m).clone(), q))).await;
    assert!(out.iter().all(Result::is_ok));
    assert_eq!(old.calls(), [2]);
    assert_eq!(new.calls(), [2]);
}

#[tokio::test]
async fn a_batch_size_of_one_embeds_each_query_alone() {
    let model = Recording::new();
    let batcher = QueryBatcher::new(BatchOptions {
        size: 1,
        delay: LONG,
    });
    let queries = texts(3);
    let out = join_all(queries.iter().map(|q| batcher.embed(model.clone(), q))).await;
    assert!(out.iter().all(Result::is_ok));
    assert_eq!(model.calls(), [1, 1, 1]);
}
