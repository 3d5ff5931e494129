//! Micro-batched query embedding. ONNX Runtime's session runs one call at a time, and a call on one
//! short query costs nearly what a call on dozens does (the model's per-call overhead and the
//! matrix kernels' setup dominate at a few tokens), so concurrent searches that each embedded alone
//! queued behind one another. Queries that arrive together are embedded in one call instead, as
//! Triton's dynamic batcher and text-embeddings-inference do: the first query of a batch waits at
//! most `[search] query_batch_delay_us` (or until `query_batch_size` queries are waiting), then the
//! batch runs while the next one gathers. Under load the queue fills while a batch runs, so batches
//! form without any wait at all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docvec_embed::Embedder;
use tokio::sync::{Notify, oneshot};

use crate::EngineError;
use crate::sync::{blocking, poisoned};

/// Queries one batch may hold, and how long its first query may wait for others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchOptions {
    pub size: usize,
    pub delay: Duration,
}

/// Batches and queries embedded so far (`/metrics`: their ratio is the mean batch size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryBatchStats {
    pub batches: u64,
    pub queries: u64,
}

/// One query waiting for its vector. Queries of one batch share an embedder: a query that read the
/// model just before a switch waits for a batch of its own model.
struct Pending {
    embedder: Arc<dyn Embedder>,
    text: String,
    reply: oneshot::Sender<Result<Vec<f32>, EngineError>>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// Whether a runner task is draining the queue; at most one is, so batches run one after another
    /// (each already has all of ONNX Runtime's threads).
    running: bool,
}

/// What the batcher and its runner task share.
#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the runner when a full batch is waiting, before its delay is over.
    full: Notify,
    batches: AtomicU64,
    queries: AtomicU64,
}

impl Shared {
    fn count(&self, queries: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.queries.fetch_add(queries as u64, Ordering::Relaxed);
    }
}

pub(crate) struct QueryBatcher {
    options: BatchOptions,
    shared: Arc<Shared>,
}

impl QueryBatcher {
    pub(crate) fn new(options: BatchOptions) -> Self {
        Self {
            options,
            shared: Arc::default(),
        }
    }

    pub(crate) fn stats(&self) -> QueryBatchStats {
        QueryBatchStats {
            batches: self.shared.batches.load(Ordering::Relaxed),
            queries: self.shared.queries.load(Ordering::Relaxed),
        }
    }

    /// `text`'s vector from `embedder`, embedded in a batch with the queries that arrive with it. A
    /// batch size of 1 embeds each query alone, as before batching.
    pub(crate) async fn embed(
        &self,
        embedder: Arc<dyn Embedder>,
        text: &str,
    ) -> Result<Vec<f32>, EngineError> {
        if self.options.size <= 1 {
            self.shared.count(1);
            return embed_alone(embedder, text.to_string()).await;
        }
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.shared.queue.lock().map_err(poisoned)?;
            queue.pending.push(Pending {
                embedder,
                text: text.to_string(),
                reply,
            });
            if queue.pending.len() >= self.options.size {
                self.shared.full.notify_one();
            }
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            // A task of its own, not this request's future: a client that hangs up must not strand
            // the queries batched behind its own.
            let runner = Runner {
                options: self.options,
                shared: self.shared.clone(),
                done: false,
            };
            tokio::spawn(runner.drain());
        }
        answer.await.map_err(|_| {
            EngineError::Internal("the query batch stopped before embedding this query".into())
        })?
    }
}

/// The task that drains the queue.
struct Runner {
    options: BatchOptions,
    shared: Arc<Shared>,
    /// Set once the runner has emptied the queue and said so; until then, dropping it (its runtime
    /// shut down mid-batch) clears `running`, so the next query starts a runner instead of waiting
    /// for one that is gone.
    done: bool,
}

impl Drop for Runner {
    fn drop(&mut self) {
        if !self.done
            && let Ok(mut queue) = self.shared.queue.lock()
        {
            queue.running = false;
        }
    }
}

impl Runner {
    /// Run batches until the queue is empty. The first batch waits for company up to the delay;
    /// later ones take what queued while the previous batch ran, at once.
    async fn drain(mut self) {
        let _ = tokio::time::timeout(self.options.delay, self.shared.full.notified()).await;
        loop {
            let batch = {
                let Ok(mut queue) = self.shared.queue.lock() else {
                    return; // poisoned: every waiter's sender drops with the queue and errs.
                };
                if queue.pending.is_empty() {
                    queue.running = false;
                    self.done = true;
                    return;
                }
                take_batch(&mut queue.pending, self.options.size)
            };
            self.shared.count(batch.len());
            run(batch).await;
        }
    }
}

/// Up to `size` queries of the first waiting query's embedder, oldest first; the rest stay queued.
fn take_batch(pending: &mut Vec<Pending>, size: usize) -> Vec<Pending> {
    let first = Arc::as_ptr(&pending[0].embedder) as *const ();
    let mut batch = Vec::new();
    let mut rest = Vec::new();
    for p in pending.drain(..) {
        if batch.len() < size && Arc::as_ptr(&p.embedder) as *const () == first {
            batch.push(p);
        } else {
            rest.push(p);
        }
    }
    *pending = rest;
    batch
}

/// Embed `batch` in one call off the runtime and answer each query. Should the call fail, each query
/// is embedded alone, so each gets its own error (or its vector) rather than a neighbour's.
async fn run(batch: Vec<Pending>) {
    let embedder = batch[0].embedder.clone();
    let texts: Vec<String> = batch.iter().map(|p| p.text.clone()).collect();
    let together = blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(embedder.embed(&refs)?)
    })
    .await;
    match together {
        Ok(vectors) if vectors.len() == batch.len() => {
            for (p, v) in batch.into_iter().zip(vectors) {
                let _ = p.reply.send(Ok(v));
            }
        }
        _ => {
            for p in batch {
                let _ = p.reply.send(embed_alone(p.embedder, p.text).await);
            }
        }
    }
}

async fn embed_alone(embedder: Arc<dyn Embedder>, text: String) -> Result<Vec<f32>, EngineError> {
    blocking(move || Ok(embedder.embed(&[text.as_str()])?.remove(0))).await
}

#[cfg(test)]
mod tests;
