//! Retrieval evaluation (`docvec eval`): a collection with relevance judgements is ingested into a
//! data directory of its own and queried through the engine's public search API, the same path users
//! get; the answer is nDCG@10, recall@100, MRR@10 and latency percentiles.
//!
//! It lives in the CLI, not the engine: it is a harness around the engine's API, with nothing the
//! library's users need.

mod collection;
mod files;
mod metrics;
mod settings;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use docvec_engine::{Engine, IngestOptions, SearchHit, SearchMode, SearchRequest};
use serde::Serialize;

pub(crate) use collection::Collection;
use files::CorpusFiles;
pub(crate) use settings::{Setting, sweep};

/// Chunks, not documents, come back from a search: ask for enough to rank 100 documents.
const CHUNKS_PER_QUERY: usize = 300;
const RANKED_DOCUMENTS: usize = 100;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EvalReport {
    pub(crate) mode: SearchMode,
    /// The setting's name with its fusion, in a sweep (`hybrid zscore w=0.3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) setting: Option<String>,
    pub(crate) queries: usize,
    pub(crate) documents: usize,
    #[serde(rename = "ndcg@10")]
    pub(crate) ndcg_10: f64,
    #[serde(rename = "recall@100")]
    pub(crate) recall_100: f64,
    #[serde(rename = "mrr@10")]
    pub(crate) mrr_10: f64,
    pub(crate) latency_ms_p50: f64,
    pub(crate) latency_ms_p95: f64,
    pub(crate) latency_ms_p99: f64,
    pub(crate) ingest_seconds: f64,
    /// Collection documents left out because they hold no text.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) empty_documents: usize,
    /// nDCG@10 of each judged query, by query id (for `--per-query`).
    #[serde(skip)]
    pub(crate) per_query: Vec<(String, f64)>,
}

/// Ingest `collection` into `engine` (its documents written as files under `files_dir`) and evaluate
/// `setting` over its judged queries. A second call finds every file unchanged and ingests nothing.
pub(crate) async fn evaluate(
    engine: &Engine,
    collection: &Collection,
    files_dir: &Path,
    setting: &Setting,
) -> anyhow::Result<EvalReport> {
    let started = Instant::now();
    let files = CorpusFiles::write(&collection.documents, files_dir)?;
    let report = engine
        .ingest(
            &[files_dir.to_path_buf()],
            &IngestOptions::default(),
            &|_| {},
        )
        .await?;
    if let Some((path, cause)) = report.failures().next() {
        bail!("the collection did not ingest: {}: {cause}", path.display());
    }
    let ingest_seconds = started.elapsed().as_secs_f64();
    let (mut ndcg, mut recall, mut mrr) = (0.0, 0.0, 0.0);
    let mut latencies = Vec::new();
    let mut judged = 0usize;
    let mut per_query = Vec::new();
    for (qid, text) in &collection.queries {
        let Some(rels) = collection.qrels.get(qid) else {
            continue;
        };
        judged += 1;
        let t = Instant::now();
        let hits = search(engine, text, setting).await?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        let gains = ranked_gains(&hits, &files, rels);
        let query_ndcg = metrics::ndcg_at(&gains, rels, 10);
        per_query.push((qid.clone(), query_ndcg));
        ndcg += query_ndcg;
        recall += metrics::recall(&gains, rels.len());
        mrr += metrics::reciprocal_rank_at(&gains, 10);
    }
    latencies.sort_by(f64::total_cmp);
    let n = judged.max(1) as f64;
    Ok(EvalReport {
        mode: setting.mode,
        setting: None,
        queries: judged,
        documents: collection.documents.len(),
        ndcg_10: ndcg / n,
        recall_100: recall / n,
        mrr_10: mrr / n,
        latency_ms_p50: metrics::percentile(&latencies, 0.5),
        latency_ms_p95: metrics::percentile(&latencies, 0.95),
        latency_ms_p99: metrics::percentile(&latencies, 0.99),
        ingest_seconds,
        empty_documents: files.empty,
        per_query,
    })
}

async fn search(engine: &Engine, text: &str, setting: &Setting) -> anyhow::Result<Vec<SearchHit>> {
    let request = SearchRequest {
        hybrid: setting.hybrid,
        ..SearchRequest::text(text, CHUNKS_PER_QUERY).mode(setting.mode)
    };
    Ok(engine.search(&request).await?.hits)
}

/// The grades, by the query's judgements `rels`, of the first 100 distinct documents of `hits` (0 for
/// unjudged ones, and for files that are not the collection's).
fn ranked_gains(hits: &[SearchHit], files: &CorpusFiles, rels: &HashMap<String, f64>) -> Vec<f64> {
    let mut seen = HashSet::new();
    hits.iter()
        // A collection document by its id, any other file by its path.
        .map(|h| {
            files
                .id_of(&h.document_path)
                .ok_or(h.document_path.as_str())
        })
        .filter(|document| seen.insert(*document))
        .take(RANKED_DOCUMENTS)
        .map(|document| {
            document
                .ok()
                .and_then(|id| rels.get(id))
                .map_or(0.0, |g| *g)
        })
        .collect()
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
