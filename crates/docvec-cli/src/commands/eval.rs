//! `docvec eval`: retrieval quality on a collection with judgements (BEIR or TREC).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use docvec_engine::{Access, Config, Engine, SearchMode};

use crate::eval::{Collection, evaluate};

pub(crate) async fn eval(
    mut config: Config,
    corpus: &Path,
    queries: &Path,
    qrels: &Path,
    modes: Vec<SearchMode>,
    keep: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let collection = Collection::load(corpus, queries, qrels)?;
    let dir = match &keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("docvec-eval-{}", std::process::id())),
    };
    if dir.exists() && keep.is_none() {
        std::fs::remove_dir_all(&dir)?;
    }
    config.data_dir = dir.join("data");
    let modes = if modes.is_empty() {
        vec![SearchMode::Hybrid]
    } else {
        modes
    };
    eprintln!(
        "ingesting {} documents into {} ...",
        collection.documents.len(),
        config.data_dir.display()
    );
    let engine = Engine::open(config, Access::ReadWrite).await?;
    let mut reports = Vec::new();
    for (i, mode) in modes.iter().enumerate() {
        // The first evaluation ingests; later ones find every file unchanged.
        let report = evaluate(&engine, &collection, &dir.join("corpus"), *mode).await?;
        if i == 0 {
            eprintln!("ingested in {:.1}s", report.ingest_seconds);
        }
        reports.push(report);
    }
    engine.close().await?;
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if json {
        if reports.len() == 1 {
            println!("{}", serde_json::to_string_pretty(&reports[0])?);
        } else {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        }
    } else {
        println!(
            "mode     nDCG@10  recall@100  MRR@10  p50 ms  p95 ms  p99 ms  ({} queries, {} documents)",
            reports[0].queries, reports[0].documents
        );
        for r in &reports {
            println!(
                "{:<8} {:>7.4}  {:>10.4}  {:>6.4}  {:>6.1}  {:>6.1}  {:>6.1}",
                format!("{:?}", r.mode).to_lowercase(),
                r.ndcg_10,
                r.recall_100,
                r.mrr_10,
                r.latency_ms_p50,
                r.latency_ms_p95,
                r.latency_ms_p99
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
