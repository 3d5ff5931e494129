//! `docvec`: the command-line front of the engine. Parsing arguments, printing, and exit codes live here;
//! everything else is in `docvec-engine`.

mod args;
mod eval;
mod output;
mod request;
#[cfg(feature = "server")]
mod serve;
mod vectors;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use args::{Cli, Command};
use docvec_engine::{
    Access, ChunkFilter, Config, EndpointFilter, Engine, FactFilter, FactKind, IngestEvent,
    IngestOptions, LogFilter, RebuildEvent, RebuildOptions, StorageMode, TagFilter, TagKind,
};
#[cfg(feature = "mirror")]
use docvec_engine::{BackfillEvent, BackfillOptions};
use request::{RequestError, request_error};

/// Exit status when a run finished but some files could not be ingested.
const EXIT_SOME_FAILED: u8 = 2;
/// Exit status of a request the user must correct (as clap's usage errors).
const EXIT_BAD_REQUEST: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    quiet_caught_panics();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<RequestError>().is_some() {
                ExitCode::from(EXIT_BAD_REQUEST)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    #[cfg_attr(not(feature = "server"), allow(unused_mut))]
    let mut config = Config::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    match cli.command {
        #[cfg(feature = "server")]
        Command::Serve { bind, read_only } => {
            if let Some(b) = bind {
                config.server.bind = b;
            }
            if read_only {
                config.server.read_only = true;
            }
            serve::serve(config).await
        }
        #[cfg(feature = "server")]
        Command::Keys { action } => serve::keys(config, action).await,
        Command::Eval {
            corpus,
            queries,
            qrels,
            modes,
            keep,
            json,
        } => eval::eval(config, &corpus, &queries, &qrels, modes, keep, json).await,
        Command::Ingest {
            paths,
            include,
            exclude,
            tags,
            force,
            json,
            events,
        } => {
            let engine = Engine::open(config, Access::ReadWrite).await?;
            let engine_mode = engine.storage_mode();
            let opts = IngestOptions {
                include,
                exclude,
                tags,
                force,
                cancel: None,
            };
            let bar = output::progress_bar(std::io::stderr().is_terminal() && !json, "files");
            let on_event = |event: IngestEvent<'_>| match event {
                IngestEvent::Discovered { files } => bar.set_length(files as u64),
                IngestEvent::FileDone { path, outcome } => {
                    bar.inc(1);
                    bar.set_message(
                        path.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    );
                    if let docvec_engine::FileOutcome::Failed { cause } = outcome {
                        bar.suspend(|| eprintln!("error: {}: {cause}", path.display()));
                    }
                    if events {
                        let mut line = serde_json::to_value(outcome).unwrap_or_default();
                        line["path"] = path.display().to_string().into();
                        let mut out = std::io::stdout().lock();
                        // A reader that went away is no reason to stop the ingest.
                        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
                    }
                }
            };
            let report = engine.ingest(&paths, &opts, &on_event).await?;
            bar.finish_and_clear();
            engine.close().await?;
            emit(json, &report, output::print_ingest_summary)?;
            let failed = report.failures().count();
            let mirror_failed = report.mirror.as_ref().and_then(|m| m.error.as_ref());
            if let (Some(e), StorageMode::Supabase) = (mirror_failed, engine_mode) {
                anyhow::bail!(
                    "Postgres did not take the documents ({e}); they wait in the outbox and are sent on the next run"
                );
            }
            Ok(if failed > 0 {
                ExitCode::from(EXIT_SOME_FAILED)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Search {
            query,
            vector,
            k,
            tags,
            formats,
            document,
            path_prefix,
            mode,
            log_level,
            since,
            until,
            max_per_document,
            highlight,
            json,
        } => {
            for f in &formats {
                f.parse::<docvec_engine::Format>()
                    .map_err(|e| anyhow::anyhow!("--format {f}: {e}"))?;
            }
            let filter = ChunkFilter {
                tags,
                formats,
                document: document.map(document_arg),
                path_prefix: path_prefix.map(|p| {
                    std::fs::canonicalize(&p)
                        .map(|c| c.to_string_lossy().into_owned())
                        .unwrap_or(p)
                }),
                log_level,
                since,
                until,
            };
            let vectors = vector.as_deref().map(vectors::read).transpose()?;
            let engine = Engine::open(config, Access::ReadOnly).await?;
            if let Some(vs) = &vectors {
                vectors::check_dimensions(vs, &engine)?;
            }
            let hybrid = docvec_engine::HybridOptions::default();
            let queries: Vec<Option<Vec<f32>>> = match vectors {
                Some(vs) => vs.into_iter().map(Some).collect(),
                None => vec![None],
            };
            let mut answers = Vec::with_capacity(queries.len());
            for v in queries {
                let mut results = docvec_engine::capped(k, max_per_document, |n| {
                    engine.search_input(query.as_deref(), v.clone(), n, &filter, mode, &hybrid)
                })
                .await
                .map_err(request_error)?;
                if let (true, Some(q)) = (highlight, query.as_deref()) {
                    engine.add_snippets(q, &mut results.hits, 240).await?;
                }
                if let Some(w) = &results.warning {
                    eprintln!("warning: {w}");
                }
                answers.push(results.hits);
            }
            engine.close().await?;
            output::print_answers(json, &answers)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { json } => {
            // As a writer, so the check sees what every start makes of the directory: the catch-up.
            // One this process cannot write (a bundle on read-only media) is checked as it is.
            let dir = &config.data_dir;
            let access = if dir.is_dir() && !docvec_engine::dir_writable(dir) {
                eprintln!("{} is not writable: checking it read-only", dir.display());
                Access::ReadOnly
            } else {
                Access::ReadWrite
            };
            let engine = Engine::open(config, access).await?;
            let report = engine.check().await?;
            engine.close().await?;
            emit(json, &report, output::print_check)?;
            Ok(if report.consistent {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Export { out, json } => {
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let report = engine.export_bundle(&out).await;
            engine.close().await?;
            emit(json, &report?, output::print_export)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { json } => {
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let stats = engine.stats().await?;
            let index_len = engine.index_len();
            if json {
                let mut v = serde_json::to_value(&stats)?;
                v["index_vectors"] = index_len.into();
                v["model_id"] = engine.model_id().into();
                v["dimension"] = engine.dimension().into();
                v["data_dir"] = engine.data_dir().display().to_string().into();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                output::print_stats(&engine, &stats, index_len);
            }
            engine.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Documents { json } => {
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let docs = engine.documents().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in &docs {
                    println!(
                        "{}  {:8}  {:5} chunks  {}",
                        d.id, d.format, d.chunk_count, d.path
                    );
                }
            }
            engine.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tables {
            document,
            rows,
            json,
        } => {
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let document = document.map(document_arg);
            let tables = engine.tables(document.as_deref()).await?;
            emit(json, &tables, |v| output::print_tables(v, rows))?;
            engine.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Logs {
            level,
            since,
            until,
            component,
            grep,
            document,
            limit,
            json,
        } => {
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let document = document.map(document_arg);
            // An --until date without a time means the whole day.
            let until = until.map(|u| if u.len() == 10 { format!("{u}T99") } else { u });
            let filter = LogFilter {
                level,
                since,
                until,
                component,
                grep,
                document,
                limit: Some(limit),
                ..Default::default()
            };
            let rows = engine.log_entries(&filter).await?;
            emit(json, &rows, |v| output::print_log_entries(v))?;
            engine.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Endpoints {
            method,
            path_prefix,
            document,
            json,
        } => {
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let document = document.map(document_arg);
            let rows = engine
                .endpoints(&EndpointFilter {
                    method,
                    path_prefix,
                    document,
                    limit: None,
                    ..Default::default()
                })
                .await?;
            emit(json, &rows, |v| output::print_endpoints(v))?;
            engine.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "mirror")]
        Command::Migrate => {
            let engine = Engine::open(config, Access::ReadWrite).await?;
            let version = engine.migrate_remote().await?;
            engine.close().await?;
            println!("remote schema at version {version}");
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "mirror")]
        Command::Sync { json } => {
            let engine = Engine::open(config, Access::ReadWrite).await?;
            let report = engine.drain_outbox().await?;
            engine.close().await?;
            emit(json, &report, |r| {
                println!("{} changes sent, {} waiting", r.pushed, r.pending);
                if let Some(e) = &r.error {
                    println!("error: {e}");
                }
            })?;
            Ok(if report.error.is_none() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        #[cfg(feature = "mirror")]
        Command::Status { json } => {
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let status = engine
                .mirror_status(std::time::Duration::from_secs(5))
                .await?;
            emit(json, &status, output::print_status)?;
            engine.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "mirror")]
        Command::Backfill {
            from_sqlite,
            dry_run,
            reset,
            json,
        } => {
            let engine = Engine::open(config, Access::ReadWrite).await?;
            let bar = output::progress_bar(std::io::stderr().is_terminal() && !json, "documents");
            let on_event = |e: BackfillEvent| match e {
                BackfillEvent::Started { documents } => bar.set_length(documents),
                BackfillEvent::Document { .. } => bar.inc(1),
                BackfillEvent::BuildingIndex => bar.set_message("building the HNSW index"),
            };
            let options = BackfillOptions {
                dry_run,
                reset,
                index_memory: None,
            };
            let report = engine.backfill(&from_sqlite, &options, &on_event).await;
            bar.finish_and_clear();
            engine.close().await?;
            let report = report?;
            emit(json, &report, |r| {
                println!(
                    "{} documents: {} {}, {} already there; {} chunks; {:.1}s{}",
                    r.documents,
                    r.copied,
                    if r.dry_run { "to copy" } else { "copied" },
                    r.skipped,
                    r.chunks,
                    r.elapsed_secs,
                    if r.rebuilt_index {
                        "; HNSW index rebuilt"
                    } else {
                        ""
                    }
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild {
            reembed,
            model,
            resync_mirror,
            json,
        } => {
            let engine = Engine::open(config, Access::ReadWrite).await?;
            let bar = output::progress_bar(std::io::stderr().is_terminal() && !json, "chunks");
            let on_event = |e: RebuildEvent| {
                bar.set_message(e.phase);
                bar.set_length(e.total);
                bar.set_position(e.done);
            };
            let options = RebuildOptions {
                reembed,
                model,
                resync_mirror,
            };
            let cancel = std::sync::atomic::AtomicBool::new(false);
            let report = engine.rebuild_index(&options, &on_event, &cancel).await;
            bar.finish_and_clear();
            engine.close().await?;
            let report = report?;
            emit(json, &report, |r| {
                println!(
                    "{} vectors of {} indexed; {} chunks embedded; {:.1}s{}",
                    r.vectors,
                    r.model,
                    r.reembedded,
                    r.elapsed_ms as f64 / 1000.0,
                    match &r.mirror {
                        Some(m) if m.error.is_some() => format!(
                            "; mirror: {} sent, {} waiting ({})",
                            m.pushed,
                            m.pending,
                            m.error.as_deref().unwrap_or_default()
                        ),
                        Some(m) => format!("; mirror: {} sent", m.pushed),
                        None => String::new(),
                    }
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "mirror")]
        Command::Parity { sample, json } => {
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let report = engine.parity(sample).await?;
            engine.close().await?;
            emit(json, &report, output::print_parity)?;
            Ok(if report.differences() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Tags {
            kind,
            document,
            prefix,
            limit,
            json,
        } => {
            let kind = kind
                .map(|k| {
                    TagKind::parse(&k).ok_or_else(|| {
                        anyhow::anyhow!("--kind {k}: expected format, user or keyphrase")
                    })
                })
                .transpose()?;
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let filter = TagFilter {
                kind,
                document: document.map(document_arg),
                prefix,
                limit: Some(limit),
                ..Default::default()
            };
            let rows = engine.tags(&filter).await?;
            emit(json, &rows, |v| output::print_tags(v))?;
            engine.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Facts {
            document,
            key,
            subject,
            kind,
            limit,
            json,
        } => {
            let kind = match kind.as_deref() {
                None => None,
                Some("table_cell") => Some(FactKind::TableCell),
                Some("label_value") => Some(FactKind::LabelValue),
                Some(other) => {
                    anyhow::bail!("--kind {other}: expected table_cell or label_value")
                }
            };
            let engine = Engine::open(config, Access::ReadOnly).await?;
            let filter = FactFilter {
                document: document.map(document_arg),
                key,
                subject,
                kind,
                limit: Some(limit),
                ..Default::default()
            };
            let rows = engine.facts(&filter).await?;
            emit(json, &rows, |v| output::print_facts(v))?;
            engine.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Delete { document } => {
            let engine = Engine::open(config, Access::ReadWrite).await?;
            let removed = engine.delete(&document).await?;
            engine.close().await?;
            match removed {
                Some((path, chunks)) => {
                    println!("deleted {path} ({chunks} chunks)");
                    Ok(ExitCode::SUCCESS)
                }
                None => Err(anyhow::anyhow!("no document with id or path `{document}`"))
                    .context("delete"),
            }
        }
    }
}

/// Print `value` as pretty JSON, or for people through `human`.
fn emit<T: serde::Serialize + ?Sized>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T),
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        human(value);
    }
    Ok(())
}

/// A document argument as stored: the canonical path of an existing file, else the text (an id).
fn document_arg(d: String) -> String {
    std::fs::canonicalize(&d)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or(d)
}

/// Panics on parser threads are caught where they happen and reported as that file's error (or a
/// warning); the default hook would still print each one with a backtrace, as if docvec had crashed.
fn quiet_caught_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let parser = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("docvec-parse"));
        if parser {
            tracing::debug!("caught on a parser thread: {info}");
        } else {
            default(info);
        }
    }));
}

fn init_logging(verbose: u8) {
    // lopdf logs every font it has to guess at; those are not the user's problem.
    let default = match verbose {
        0 => "warn,lopdf=error",
        1 => "info,lopdf=error",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOCVEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
