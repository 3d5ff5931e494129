//! What every handler shares: the server's settings, the engine (once loaded), the store for keys and
//! jobs, the job runner, metrics, the search concurrency bound and the shutdown signal.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio::sync::{Semaphore, watch};

use docvec_engine::{Engine, Store};

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::jobs::Jobs;
use crate::metrics::Metrics;

/// Where the engine is in its start-up.
pub(crate) enum Phase {
    Loading,
    Ready(Arc<Engine>),
    Failed(String),
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: ServerConfig,
    store: Store,
    phase: RwLock<Phase>,
    jobs: Jobs,
    metrics: Metrics,
    searches: Semaphore,
    /// Searches between their start and their answer, waiting or running.
    in_flight: std::sync::atomic::AtomicUsize,
    long_queries: crate::long_queries::LongQueries,
    /// Bound to a non-loopback address: a key is needed even when none exists.
    keys_required: bool,
    shutdown: watch::Sender<bool>,
    started: Instant,
}

impl AppState {
    /// `query_batch`: most queries the engine embeds in one model call (`[search] query_batch_size`).
    pub(crate) fn new(
        config: ServerConfig,
        query_batch: usize,
        store: Store,
        jobs: Jobs,
        keys_required: bool,
    ) -> Self {
        // A batch per core: enough searches in flight for a full batch to gather while another runs.
        // One per core would cap every batch at the core count.
        let permits = match config.max_concurrent_searches {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()) * query_batch.max(1),
            n => n,
        };
        Self {
            inner: Arc::new(Inner {
                long_queries: crate::long_queries::LongQueries::new(
                    config.long_query_tokens,
                    config.long_query_share,
                ),
                config,
                store,
                phase: RwLock::new(Phase::Loading),
                jobs,
                metrics: Metrics::new(),
                searches: Semaphore::new(permits),
                in_flight: Default::default(),
                keys_required,
                shutdown: watch::channel(false).0,
                started: Instant::now(),
            }),
        }
    }

    /// `[server]`: the engine's own configuration is `engine()?.config()`.
    pub(crate) fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn jobs(&self) -> &Jobs {
        &self.inner.jobs
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn searches(&self) -> &Semaphore {
        &self.inner.searches
    }

    /// Count a search as in flight until the guard drops.
    pub(crate) fn search_in_flight(&self) -> InFlight {
        use std::sync::atomic::Ordering;
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.inner.clone())
    }

    /// Searches in flight now, waiting or running (the asker's own included).
    pub(crate) fn searches_in_flight(&self) -> usize {
        self.inner
            .in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn long_queries(&self) -> &crate::long_queries::LongQueries {
        &self.inner.long_queries
    }

    pub(crate) fn keys_required(&self) -> bool {
        self.inner.keys_required
    }

    /// Serving the data directory read-only (`docvec serve --read-only`): nothing may change it.
    pub(crate) fn read_only(&self) -> bool {
        self.inner.config.read_only
    }

    pub(crate) fn uptime_secs(&self) -> f64 {
        self.inner.started.elapsed().as_secs_f64()
    }

    /// The engine, or 503 while it loads.
    pub(crate) fn engine(&self) -> Result<Arc<Engine>, ApiError> {
        match &*self.inner.phase.read().expect("phase lock") {
            Phase::Ready(e) => Ok(e.clone()),
            Phase::Loading => Err(ApiError::not_ready()),
            Phase::Failed(cause) => Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!("docvec could not start: {cause}"),
            )),
        }
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        *self.inner.phase.write().expect("phase lock") = phase;
    }

    /// Take the engine out (at shutdown), so it can be closed once every request let go of it.
    pub(crate) fn take_engine(&self) -> Option<Arc<Engine>> {
        let mut phase = self.inner.phase.write().expect("phase lock");
        match std::mem::replace(&mut *phase, Phase::Failed("docvec is shutting down".into())) {
            Phase::Ready(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn shutting_down(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    pub(crate) fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        self.inner.jobs.cancel();
    }
}

/// A search in flight (see [`AppState::search_in_flight`]).
pub(crate) struct InFlight(Arc<Inner>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
