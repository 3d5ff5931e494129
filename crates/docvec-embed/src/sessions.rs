//! The ONNX Runtime sessions of one embedder, and which of them runs which batch.
//!
//! `Session::run` takes `&mut`, so a session runs one batch at a time. On a CPU of few cores, sessions
//! of one thread each, run side by side, get through a call's batches faster than one session of all
//! the threads: the int8 kernels scale less than linearly over threads, and each batch's serial parts
//! (layer norms, the attention's small products) leave the other threads idle. On 2 cores, two
//! single-thread sessions ingest the corpus 1.09-1.24x faster than one of two threads, depending on
//! the CPU, for some 170 MiB more peak RSS (BENCHMARKS.md).
//! So the embedder holds `sessions` sessions that share `intra_threads` between them, and a call's
//! batches are handed out to whichever session is free. Concurrent calls (searches arriving while an
//! ingest runs) take different sessions rather than queue behind one.
//!
//! A lone query runs on one session of fewer threads, some 1 ms slower on 2 cores than on both; a
//! session of all the threads beside the pool would keep that millisecond but hold the model's weights
//! and buffers once more (some 120-170 MB for the int8 default), so there is none.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use ort::session::Session;

use crate::EmbedError;

pub(crate) struct Sessions {
    /// At least one.
    pool: Vec<Mutex<Session>>,
    /// Intra-op threads of each.
    threads: usize,
    /// Where the next worker starts looking for a free session, so concurrent calls spread out.
    turn: AtomicUsize,
}

impl Sessions {
    /// `sessions` sessions (at least one), each of `intra_threads / sessions` threads (at least one),
    /// each made by `make(threads)`.
    pub(crate) fn build(
        intra_threads: usize,
        sessions: usize,
        make: impl Fn(usize) -> Result<Session, EmbedError>,
    ) -> Result<Self, EmbedError> {
        let count = sessions.max(1);
        let threads = pool_threads(intra_threads, count);
        let pool = (0..count)
            .map(|_| make(threads).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            pool,
            threads,
            turn: AtomicUsize::new(0),
        })
    }

    /// Sessions in the pool: how many batches run side by side.
    pub(crate) fn len(&self) -> usize {
        self.pool.len()
    }

    /// Intra-op threads of each session.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// The model's input names (every session loads the same model).
    pub(crate) fn input_names(&self) -> Result<Vec<String>, EmbedError> {
        Ok(lock(&self.pool[0])?
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect())
    }

    /// `run(session, k)` for each batch `k` of `0..batches`, side by side on up to `len()` sessions.
    /// Results come back in batch order; the first error stops the call.
    pub(crate) fn for_each_batch<T: Send>(
        &self,
        batches: usize,
        run: impl Fn(&mut Session, usize) -> Result<T, EmbedError> + Sync,
    ) -> Result<Vec<T>, EmbedError> {
        let next = AtomicUsize::new(0);
        // Each worker takes the next batch while any is left, so a short batch never waits behind a
        // long one, and a free session for each: between batches, a concurrent call (a search during
        // an ingest) gets its turn.
        let worker = || -> Result<Vec<(usize, T)>, EmbedError> {
            let mut done = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= batches {
                    return Ok(done);
                }
                match self.free_session().and_then(|mut s| run(&mut s, k)) {
                    Ok(value) => done.push((k, value)),
                    Err(e) => {
                        next.store(batches, Ordering::Relaxed); // the other workers stop too
                        return Err(e);
                    }
                }
            }
        };
        let workers = self.pool.len().min(batches);
        if workers <= 1 {
            return Ok(worker()?.into_iter().map(|(_, v)| v).collect());
        }
        let results = std::thread::scope(|scope| {
            let spawned: Vec<_> = (1..workers).map(|_| scope.spawn(worker)).collect();
            // The calling thread is a worker too: one thread fewer to start per call.
            let mut all = vec![worker()];
            all.extend(spawned.into_iter().map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(EmbedError::Inference("an embedding worker panicked".into()))
                })
            }));
            all
        });
        let mut slots: Vec<Option<T>> = (0..batches).map(|_| None).collect();
        for result in results {
            for (k, value) in result? {
                slots[k] = Some(value);
            }
        }
        slots
            .into_iter()
            .map(|v| v.ok_or_else(|| EmbedError::Inference("a batch was not run".into())))
            .collect()
    }

    /// The first free session from this turn's starting point, or, when all are busy, a wait for
    /// that starting one.
    fn free_session(&self) -> Result<MutexGuard<'_, Session>, EmbedError> {
        let n = self.pool.len();
        let start = self.turn.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            match self.pool[(start + i) % n].try_lock() {
                Ok(guard) => return Ok(guard),
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
            }
        }
        lock(&self.pool[start])
    }
}

/// Intra-op threads of each session: the threads shared out, at least one each. One session keeps
/// `intra_threads` as it is (0 lets ONNX Runtime take one per core); sessions share out the cores then.
pub(crate) fn pool_threads(intra_threads: usize, sessions: usize) -> usize {
    if sessions <= 1 {
        return intra_threads;
    }
    let threads = match intra_threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    (threads / sessions).max(1)
}

fn lock(session: &Mutex<Session>) -> Result<MutexGuard<'_, Session>, EmbedError> {
    session.lock().map_err(|_| poisoned())
}

fn poisoned() -> EmbedError {
    EmbedError::Inference("session lock poisoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_share_the_threads_at_least_one_each() {
        assert_eq!(pool_threads(2, 2), 1);
        assert_eq!(pool_threads(16, 4), 4);
        assert_eq!(pool_threads(3, 2), 1);
        assert_eq!(pool_threads(2, 4), 1);
        assert_eq!(pool_threads(8, 1), 8);
        assert_eq!(pool_threads(8, 0), 8);
        assert_eq!(pool_threads(0, 1), 0);
        assert!(pool_threads(0, 2) >= 1);
    }
}
