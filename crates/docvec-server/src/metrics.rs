//! Prometheus metrics: requests and latency by route (the route template, never the raw path, so ids do
//! not explode the label set), query embedding and index search time, and gauges read at scrape time.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use docvec_engine::{QueryBatchStats, QueryCacheStats, TokenCounts};

use crate::state::AppState;

pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub embed_seconds: Histogram,
    /// How long long queries waited for their turn (see `long_queries`).
    pub long_query_wait_seconds: Histogram,
    pub search_seconds: HistogramVec,
    pub index_vectors: IntGauge,
    pub documents: IntGauge,
    pub chunks: IntGauge,
    pub outbox_backlog: IntGauge,
    pub jobs: IntGaugeVec,
    query_cache: QueryCacheMetrics,
    embedding: EmbeddingMetrics,
}

/// The models' token counts (`Engine::token_counts`), copied in at scrape time: padded over real
/// tokens is what batching's padding cost.
struct EmbeddingMetrics {
    real: IntCounter,
    padded: IntCounter,
    calls: IntCounter,
}

impl EmbeddingMetrics {
    fn new() -> Self {
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("metric");
        Self {
            real: counter(
                "embed_tokens_total",
                "Tokens of the texts the model embedded (queries and chunks)",
            ),
            padded: counter(
                "embed_padded_tokens_total",
                "Tokens the model ran, each batch padded to its longest text",
            ),
            calls: counter("embed_calls_total", "Model calls (batches)"),
        }
    }
}

/// The engine's query-cache counters, copied in at scrape time.
struct QueryCacheMetrics {
    hits: IntCounter,
    misses: IntCounter,
    entries: IntGauge,
    capacity: IntGauge,
    hit_ratio: Gauge,
    /// Model calls for queries, and the queries they embedded: their ratio is the mean batch size.
    batches: IntCounter,
    batched: IntCounter,
    /// Held while the counters catch up, so two scrapes at once cannot both add the same difference.
    catching_up: Mutex<()>,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new_custom(Some("docvec".into()), None).expect("registry");
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["method", "route", "status"],
        )
        .expect("metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("metric");
        let embed_seconds = Histogram::with_opts(
            HistogramOpts::new("query_embedding_seconds", "Time to embed one search query")
                .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("metric");
        let long_query_wait_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "long_query_wait_seconds",
                "Time a long query waited for its turn in the long-query lane",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("metric");
        let search_seconds = HistogramVec::new(
            HistogramOpts::new(
                "search_seconds",
                "Time to find the hits of an embedded query, by where they came from",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["source"],
        )
        .expect("metric");
        let index_vectors =
            IntGauge::new("index_vectors", "Live vectors in the local index").expect("metric");
        let documents = IntGauge::new("documents", "Stored documents").expect("metric");
        let chunks = IntGauge::new("chunks", "Stored chunks").expect("metric");
        let outbox_backlog = IntGauge::new(
            "outbox_backlog",
            "Changes waiting in the outbox for the Postgres mirror",
        )
        .expect("metric");
        let jobs =
            IntGaugeVec::new(Opts::new("jobs", "Jobs by state"), &["state"]).expect("metric");
        let query_cache = QueryCacheMetrics {
            hits: IntCounter::new(
                "query_cache_hits_total",
                "Search queries whose vector came from the query cache",
            )
            .expect("metric"),
            misses: IntCounter::new(
                "query_cache_misses_total",
                "Search queries the model embedded (not in the query cache)",
            )
            .expect("metric"),
            entries: IntGauge::new("query_cache_entries", "Query vectors held in the cache")
                .expect("metric"),
            capacity: IntGauge::new(
                "query_cache_capacity",
                "Most query vectors the cache holds (0: off)",
            )
            .expect("metric"),
            hit_ratio: Gauge::new(
                "query_cache_hit_ratio",
                "Query cache hits over lookups since the engine opened",
            )
            .expect("metric"),
            batches: IntCounter::new(
                "query_batches_total",
                "Model calls that embedded search queries (concurrent queries share one)",
            )
            .expect("metric"),
            batched: IntCounter::new(
                "query_batch_queries_total",
                "Search queries embedded in those calls",
            )
            .expect("metric"),
            catching_up: Mutex::new(()),
        };
        let embedding = EmbeddingMetrics::new();
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(embed_seconds.clone()),
            Box::new(long_query_wait_seconds.clone()),
            Box::new(search_seconds.clone()),
            Box::new(index_vectors.clone()),
            Box::new(documents.clone()),
            Box::new(chunks.clone()),
            Box::new(outbox_backlog.clone()),
            Box::new(jobs.clone()),
            Box::new(query_cache.hits.clone()),
            Box::new(query_cache.misses.clone()),
            Box::new(query_cache.entries.clone()),
            Box::new(query_cache.capacity.clone()),
            Box::new(query_cache.hit_ratio.clone()),
            Box::new(query_cache.batches.clone()),
            Box::new(query_cache.batched.clone()),
            Box::new(embedding.real.clone()),
            Box::new(embedding.padded.clone()),
            Box::new(embedding.calls.clone()),
        ] {
            registry.register(c).expect("unique metric names");
        }
        Self {
            registry,
            requests,
            latency,
            embed_seconds,
            long_query_wait_seconds,
            search_seconds,
            index_vectors,
            documents,
            chunks,
            outbox_backlog,
            jobs,
            query_cache,
            embedding,
        }
    }

    /// Bring the query-cache metrics to the engine's counters. The engine counts (it is opened once per
    /// process, so its counters only grow); the Prometheus counters add what they have not seen yet.
    pub(crate) fn observe_query_cache(
        &self,
        stats: &QueryCacheStats,
        batches: &QueryBatchStats,
        tokens: &TokenCounts,
    ) {
        let m = &self.query_cache;
        let _one = m.catching_up.lock().unwrap_or_else(PoisonError::into_inner);
        let e = &self.embedding;
        e.real.inc_by(tokens.real.saturating_sub(e.real.get()));
        e.padded
            .inc_by(tokens.padded.saturating_sub(e.padded.get()));
        e.calls.inc_by(tokens.calls.saturating_sub(e.calls.get()));
        m.batches
            .inc_by(batches.batches.saturating_sub(m.batches.get()));
        m.batched
            .inc_by(batches.queries.saturating_sub(m.batched.get()));
        m.hits.inc_by(stats.hits.saturating_sub(m.hits.get()));
        m.misses.inc_by(stats.misses.saturating_sub(m.misses.get()));
        m.entries.set(stats.entries as i64);
        m.capacity.set(stats.capacity as i64);
        m.hit_ratio.set(stats.hit_ratio());
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut out) {
            tracing::warn!("cannot encode metrics: {e}");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Count and time every request under its route template.
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let m = state.metrics();
    m.latency
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[method.as_str(), route.as_str(), response.status().as_str()])
        .inc();
    response
}
