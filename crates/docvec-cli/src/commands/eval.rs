//! `docvec eval`: retrieval quality on a collection with judgements (BEIR or TREC), for the modes asked
//! or, with `--sweep`, over a grid of fusion settings.

use std::process::ExitCode;

use docvec_engine::{Access, Config, Engine, SearchMode};

use crate::args::Eval;
use crate::eval::{Collection, EvalReport, Setting, evaluate, sweep};

pub(crate) async fn eval(mut config: Config, args: Eval) -> anyhow::Result<ExitCode> {
    let collection = Collection::load(&args.corpus, &args.queries, &args.qrels)?;
    let dir = match &args.keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("docvec-eval-{}", std::process::id())),
    };
    if dir.exists() && args.keep.is_none() {
        std::fs::remove_dir_all(&dir)?;
    }
    config.data_dir = dir.join("data");
    let settings = settings(&args);
    eprintln!(
        "ingesting {} documents into {} ...",
        collection.documents.len(),
        config.data_dir.display()
    );
    let engine = Engine::open(config, Access::ReadWrite).await?;
    let mut reports = Vec::new();
    for (i, setting) in settings.iter().enumerate() {
        // The first evaluation ingests; later ones find every file unchanged.
        let mut report = evaluate(&engine, &collection, &dir.join("corpus"), setting).await?;
        if i == 0 {
            eprintln!("ingested in {:.1}s", report.ingest_seconds);
            if report.empty_documents > 0 {
                eprintln!(
                    "left out {} documents without text (they rank nowhere)",
                    report.empty_documents
                );
            }
        }
        if args.sweep {
            report.setting = Some(setting.label());
        }
        reports.push(report);
    }
    if let Some(path) = &args.per_query {
        write_per_query(path, &settings, &reports)?;
    }
    engine.close().await?;
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if args.json {
        if reports.len() == 1 {
            println!("{}", serde_json::to_string_pretty(&reports[0])?);
        } else {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        }
    } else {
        print_table(&reports, args.sweep);
    }
    Ok(ExitCode::SUCCESS)
}

/// The sweep's grid, or each mode asked (hybrid by default) with the fusion flags.
fn settings(args: &Eval) -> Vec<Setting> {
    if args.sweep {
        return sweep();
    }
    let modes = if args.modes.is_empty() {
        vec![SearchMode::Hybrid]
    } else {
        args.modes.clone()
    };
    let hybrid = args.fusion.hybrid();
    modes.into_iter().map(|m| Setting::new(m, hybrid)).collect()
}

fn print_table(reports: &[EvalReport], sweep: bool) {
    let width = if sweep { 22 } else { 8 };
    println!(
        "{:<width$} nDCG@10  recall@100  MRR@10  p50 ms  p95 ms  p99 ms  ({} queries, {} documents)",
        if sweep { "setting" } else { "mode" },
        reports[0].queries,
        reports[0].documents
    );
    for r in reports {
        let name = r
            .setting
            .clone()
            .unwrap_or_else(|| format!("{:?}", r.mode).to_lowercase());
        println!(
            "{:<width$} {:>7.4}  {:>10.4}  {:>6.4}  {:>6.1}  {:>6.1}  {:>6.1}",
            name,
            r.ndcg_10,
            r.recall_100,
            r.mrr_10,
            r.latency_ms_p50,
            r.latency_ms_p95,
            r.latency_ms_p99
        );
    }
}

/// `setting<TAB>query id<TAB>nDCG@10`, one line per judged query and setting.
fn write_per_query(
    path: &std::path::Path,
    settings: &[Setting],
    reports: &[EvalReport],
) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (setting, report) in settings.iter().zip(reports) {
        for (qid, ndcg) in &report.per_query {
            writeln!(out, "{}\t{qid}\t{ndcg:.6}", setting.label())?;
        }
    }
    std::fs::write(path, out).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
