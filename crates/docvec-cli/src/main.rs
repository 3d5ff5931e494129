//! `docvec`: the command-line front of the engine. Parsing arguments, printing, and exit codes live here;
//! everything else is in `docvec-engine`.

mod eval;
mod output;
#[cfg(feature = "server")]
mod serve;
mod vectors;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use docvec_engine::{
    Access, ChunkFilter, Config, EndpointFilter, Engine, FactFilter, FactKind, IngestEvent,
    IngestOptions, LogFilter, RebuildEvent, RebuildOptions, StorageMode, TagFilter, TagKind,
};
#[cfg(feature = "mirror")]
use docvec_engine::{BackfillEvent, BackfillOptions};

/// Exit status when a run finished but some files could not be ingested.
const EXIT_SOME_FAILED: u8 = 2;
/// Exit status of a request the user must correct (as clap's usage errors).
const EXIT_BAD_REQUEST: u8 = 2;

#[derive(Parser)]
#[command(
    name = "docvec",
    version,
    about = "Document ingestion and vector search, offline."
)]
struct Cli {
    /// Data directory holding the store and the index [env: DOCVEC_DATA_DIR] [default: ./docvec-data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file [default: ./docvec.toml when present]
    #[arg(long, global = true, env = "DOCVEC_CONFIG")]
    config: Option<PathBuf>,
    /// More logging (-v info, -vv debug); DOCVEC_LOG takes a tracing filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest files and folders (recursively) into the data directory.
    Ingest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only files in folders matching this glob (repeatable), e.g. '**/*.md'.
        #[arg(long)]
        include: Vec<String>,
        /// Skip files matching this glob (repeatable).
        #[arg(long)]
        exclude: Vec<String>,
        /// Tag every ingested document (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Re-ingest files whose content has not changed.
        #[arg(long)]
        force: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Print a JSON line on stdout for each file the moment it is stored (committed: it survives a
        /// crash from then on) or has failed, for scripts that follow a long ingest.
        #[arg(long)]
        events: bool,
    },
    /// Semantic search: the chunks closest in meaning to QUERY (or to your own vectors: --vector).
    Search {
        #[arg(required_unless_present = "vector")]
        query: Option<String>,
        /// Search with your own vector(s) instead of embedding QUERY: a JSON file holding [0.1, ...]
        /// or [[...], [...]] (one search each), a .fvecs file, or - for JSON on standard input. With
        /// QUERY too, hybrid search uses QUERY's words for the keyword side. Needs no model.
        #[arg(long, value_name = "FILE")]
        vector: Option<PathBuf>,
        /// Number of hits.
        #[arg(short, default_value_t = 10)]
        k: usize,
        /// Only chunks carrying this tag, on their document or themselves (repeatable: all must match).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Only documents of this format: pdf, markdown, html, text, log, csv, spreadsheet, openapi,
        /// postman (repeatable: any may match).
        #[arg(long = "format")]
        formats: Vec<String>,
        /// Only this document (id or path).
        #[arg(long)]
        document: Option<String>,
        /// Only documents whose path starts with this.
        #[arg(long)]
        path_prefix: Option<String>,
        /// vector (meaning), keyword (BM25 over the words) or hybrid (both, fused by reciprocal rank).
        #[arg(long, default_value = "hybrid")]
        mode: docvec_engine::SearchMode,
        /// Only chunks of logs holding an entry of this level (ERROR, WARN ...).
        #[arg(long)]
        log_level: Option<String>,
        /// Only chunks of logs holding an entry at or after this ISO 8601 time.
        #[arg(long)]
        since: Option<String>,
        /// Only chunks of logs holding an entry at or before this ISO 8601 time.
        #[arg(long)]
        until: Option<String>,
        /// At most this many hits of one document (0: no limit).
        #[arg(long, default_value_t = 0)]
        max_per_document: usize,
        /// Show the passage where the query's words stand, matches in [brackets] (or in bold on a
        /// terminal).
        #[arg(long)]
        highlight: bool,
        #[arg(long)]
        json: bool,
    },
    /// List tags (formats, tags given at ingest, keyphrases) with how many documents and chunks carry
    /// them.
    Tags {
        /// Only tags of this kind: format, user or keyphrase.
        #[arg(long)]
        kind: Option<String>,
        /// Only tags of this document (id or path).
        #[arg(long)]
        document: Option<String>,
        /// Only tags starting with this.
        #[arg(long)]
        prefix: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// List facts (Label: value lines, numeric table cells) with the evidence of where each stands.
    Facts {
        /// Only facts of this document (id or path).
        #[arg(long)]
        document: Option<String>,
        /// Only facts with this key (label or column header; case and spacing ignored).
        #[arg(long)]
        key: Option<String>,
        /// Only facts about this subject (a table row's label).
        #[arg(long)]
        subject: Option<String>,
        /// Only table_cell or label_value facts.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Check the data directory after a crash or a copy: the database file is sound, every document
    /// is whole (each chunk with its vector) and both indexes hold exactly the stored chunks once the
    /// start-up catch-up has run. Exit status 1 when something is inconsistent.
    Check {
        #[arg(long)]
        json: bool,
    },
    /// Write a bundle: a consistent copy of the data directory (store, vector index, full-text index
    /// and a manifest naming the model and its file's sha256) into the new folder OUT, while ingests
    /// or the server go on. Search it anywhere with `docvec --data-dir OUT search ...`.
    Export {
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Counts of documents, chunks and vectors.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// List the stored documents.
    Documents {
        #[arg(long)]
        json: bool,
    },
    /// Delete a document by id or path.
    Delete { document: String },
    #[cfg(feature = "mirror")]
    /// Create or update the Postgres schema of the Supabase mirror (idempotent).
    Migrate,
    #[cfg(feature = "mirror")]
    /// Send the changes waiting in the outbox to Postgres now (ingest and delete also do this).
    Sync {
        #[arg(long)]
        json: bool,
    },
    #[cfg(feature = "mirror")]
    /// Storage mode, a live probe of Postgres and the outbox backlog.
    Status {
        #[arg(long)]
        json: bool,
    },
    #[cfg(feature = "mirror")]
    /// Copy every document of a local store (a docvec.db or a data directory) to Postgres: batched,
    /// resumable, with a progress bar.
    Backfill {
        #[arg(long = "from-sqlite", value_name = "PATH")]
        from_sqlite: PathBuf,
        /// Count what would be copied; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Empty the remote first.
        #[arg(long)]
        reset: bool,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the local indexes from the store (a fresh HNSW graph and full-text index), optionally
    /// embedding every chunk again first, with the model in use or another configured one.
    Rebuild {
        /// Embed every chunk again with the model in use (after its files changed).
        #[arg(long)]
        reembed: bool,
        /// Switch to this configured model (`default` for [model], or a [models.NAME] name): every chunk
        /// is embedded with it and the index is built at its dimension.
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
        /// Send every document to the Postgres mirror again afterwards.
        #[arg(long)]
        resync_mirror: bool,
        #[arg(long)]
        json: bool,
    },
    #[cfg(feature = "mirror")]
    /// Compare the local store with Postgres (counts, per-document hashes, sampled vectors); exits 1
    /// when they differ.
    Parity {
        /// Vectors to compare.
        #[arg(long, default_value_t = 200)]
        sample: i64,
        #[arg(long)]
        json: bool,
    },
    /// List the tables of ingested documents (CSV files), with their columns and first rows.
    Tables {
        /// Only tables of this document (id or path).
        #[arg(long)]
        document: Option<String>,
        /// Rows to show of each table (all rows with --json).
        #[arg(long, default_value_t = 5)]
        rows: usize,
        #[arg(long)]
        json: bool,
    },
    /// List entries of ingested log files.
    Logs {
        /// TRACE, DEBUG, INFO, NOTICE, WARN, ERROR or FATAL (Android's E, syslog's err ... are mapped).
        #[arg(long)]
        level: Option<String>,
        /// Entries at or after this ISO 8601 time (2008-11-09, 2008-11-09T20:36).
        #[arg(long)]
        since: Option<String>,
        /// Entries at or before this ISO 8601 time.
        #[arg(long)]
        until: Option<String>,
        /// Component (logger, class, program), with its sub-components.
        #[arg(long)]
        component: Option<String>,
        /// Text the message contains.
        #[arg(long)]
        grep: Option<String>,
        /// Only entries of this document (id or path).
        #[arg(long)]
        document: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// List the operations of ingested API descriptions (OpenAPI, Swagger, Postman).
    Endpoints {
        /// Only this HTTP method.
        #[arg(long)]
        method: Option<String>,
        /// Only paths starting with this.
        #[arg(long)]
        path_prefix: Option<String>,
        /// Only endpoints of this document (id or path).
        #[arg(long)]
        document: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Measure retrieval quality on a collection with judgements (BEIR: corpus.jsonl, queries.jsonl,
    /// qrels.tsv; or TREC: <DOC> files, <top> topics, `qid 0 docid rel` qrels). The corpus is ingested
    /// into a fresh data directory; prints nDCG@10, recall@100, MRR@10 and latency percentiles.
    Eval {
        /// Corpus file (or folder of TREC files).
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long)]
        qrels: PathBuf,
        /// Search mode(s) to evaluate (repeatable): vector, keyword, hybrid [default: hybrid].
        #[arg(long = "mode")]
        modes: Vec<docvec_engine::SearchMode>,
        /// Keep the evaluation's data directory here instead of a temporary one.
        #[arg(long)]
        keep: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    #[cfg(feature = "server")]
    /// Serve the HTTP search API until Ctrl-C / SIGTERM.
    Serve {
        /// Address to listen on [env: DOCVEC_BIND] [default: 127.0.0.1:7700]. A non-loopback address
        /// needs an API key to exist first.
        #[arg(long)]
        bind: Option<String>,
    },
    #[cfg(feature = "server")]
    /// Manage the API keys of `docvec serve`.
    Keys {
        #[command(subcommand)]
        action: serve::KeysAction,
    },
}

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
        Command::Serve { bind } => {
            if let Some(b) = bind {
                config.server.bind = b;
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
                check_dimensions(vs, &engine)?;
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
            let engine = Engine::open(config, Access::ReadWrite).await?;
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

/// A request the user must correct (a vector of the wrong dimension, a mode that needs text): exit
/// status 2, as for clap's usage errors, where other failures exit 1.
#[derive(Debug)]
struct RequestError(String);

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RequestError {}

/// The engine's refusals of a request become [`RequestError`]s; other errors stay as they are.
fn request_error(e: docvec_engine::EngineError) -> anyhow::Error {
    match e {
        docvec_engine::EngineError::Config(m) => RequestError(m).into(),
        other => other.into(),
    }
}

/// Every query vector must have the index's dimension; the first that does not is named.
fn check_dimensions(vectors: &[Vec<f32>], engine: &Engine) -> anyhow::Result<()> {
    let dim = engine.dimension();
    if let Some((i, v)) = vectors.iter().enumerate().find(|(_, v)| v.len() != dim) {
        return Err(RequestError(format!(
            "--vector: vector {i} has {} dimensions, but this index holds {dim}-dimensional vectors \
             (model `{}`)",
            v.len(),
            engine.model_id()
        ))
        .into());
    }
    Ok(())
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
