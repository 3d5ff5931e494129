//! The command line: global options and one variant per command (clap derive). `main` dispatches on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "docvec",
    version,
    about = "Document ingestion and vector search, offline."
)]
pub(crate) struct Cli {
    /// Data directory holding the store and the index [env: DOCVEC_DATA_DIR] [default: ./docvec-data]
    #[arg(long, global = true)]
    pub(crate) data_dir: Option<PathBuf>,
    /// TOML configuration file [default: ./docvec.toml when present]
    #[arg(long, global = true, env = "DOCVEC_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// More logging (-v info, -vv debug); DOCVEC_LOG takes a tracing filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Ingest files and folders (recursively) into the data directory.
    Ingest(Ingest),
    /// Semantic search: the chunks closest in meaning to QUERY (or to your own vectors: --vector).
    Search(Search),
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
    Facts(Facts),
    /// Show where a hit came from: the chunk's span of its document's stored text, with the text
    /// around it and its lines, pages, table rows or API operation.
    Show {
        /// The hit's chunk id or chunk key (`chunk_id` / `chunk_key` in `docvec search --json`).
        chunk: String,
        /// Bytes of text shown on each side of the span, cut back to whole lines.
        #[arg(long, default_value_t = docvec_engine::DEFAULT_SOURCE_CONTEXT)]
        context: usize,
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
    /// The model and what runs it (ONNX Runtime's version, the execution providers in use), the
    /// storage mode, a live probe of Postgres and the outbox backlog.
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
    Logs(Logs),
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
    Eval(Eval),
    #[cfg(feature = "server")]
    /// Serve the HTTP search API until Ctrl-C / SIGTERM.
    Serve {
        /// Address to listen on [env: DOCVEC_BIND] [default: 127.0.0.1:7700]. A non-loopback address
        /// needs an API key to exist first.
        #[arg(long)]
        bind: Option<String>,
        /// Serve searches and reads only, writing nothing to the data directory: a bundle, or a
        /// directory on read-only media. Uploads, deletes, rebuilds, snapshots and key changes answer
        /// 403 `read_only` [env: DOCVEC_SERVER_READ_ONLY] [config: server.read_only].
        #[arg(long)]
        read_only: bool,
    },
    #[cfg(feature = "server")]
    /// Manage the API keys of `docvec serve`.
    Keys {
        #[command(subcommand)]
        action: crate::commands::serve::KeysAction,
    },
}

/// `docvec ingest`'s arguments.
#[derive(Args)]
pub(crate) struct Ingest {
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// Only files in folders matching this glob (repeatable), e.g. '**/*.md'.
    #[arg(long)]
    pub(crate) include: Vec<String>,
    /// Skip files matching this glob (repeatable).
    #[arg(long)]
    pub(crate) exclude: Vec<String>,
    /// Tag every ingested document (repeatable).
    #[arg(long = "tag")]
    pub(crate) tags: Vec<String>,
    /// Metadata for every ingested document, KEY=VALUE (repeatable; numbers and true/false are typed,
    /// a key given twice holds both). A file's `NAME.meta.json` sidecar (a JSON object) adds to it.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub(crate) meta: Vec<String>,
    /// Re-ingest files whose content has not changed.
    #[arg(long)]
    pub(crate) force: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Print a JSON line on stdout for each file the moment it is stored (committed: it survives a
    /// crash from then on) or has failed, for scripts that follow a long ingest.
    #[arg(long)]
    pub(crate) events: bool,
}

/// `docvec search`'s arguments.
#[derive(Args)]
pub(crate) struct Search {
    #[arg(required_unless_present = "vector")]
    pub(crate) query: Option<String>,
    /// Search with your own vector(s) instead of embedding QUERY: a JSON file holding [0.1, ...]
    /// or [[...], [...]] (one search each), a .fvecs file, or - for JSON on standard input. With
    /// QUERY too, hybrid search uses QUERY's words for the keyword side. Needs no model.
    #[arg(long, value_name = "FILE")]
    pub(crate) vector: Option<PathBuf>,
    /// Number of hits.
    #[arg(short, default_value_t = 10)]
    pub(crate) k: usize,
    /// Only chunks carrying this tag, on their document or themselves (repeatable: all must match).
    #[arg(long = "tag")]
    pub(crate) tags: Vec<String>,
    // The names come from the format table, so a new format is listed without touching this file.
    #[arg(long = "format", help = format!(
        "Only documents of this format: {} (repeatable: any may match)",
        docvec_types::Format::names()
    ))]
    pub(crate) formats: Vec<String>,
    /// Only this document (id or path).
    #[arg(long)]
    pub(crate) document: Option<String>,
    /// Only documents whose path starts with this.
    #[arg(long)]
    pub(crate) path_prefix: Option<String>,
    /// Only documents whose metadata passes this (repeatable: all must): KEY=VALUE, KEY=A,B (one of),
    /// KEY>=V, KEY>V, KEY<=V, KEY<V (numbers with numbers, strings such as ISO dates with strings).
    #[arg(long = "meta", value_name = "EXPR")]
    pub(crate) meta: Vec<String>,
    /// vector (meaning), keyword (BM25 over the words) or hybrid (both, fused by reciprocal rank).
    #[arg(long, default_value = "hybrid")]
    pub(crate) mode: docvec_engine::SearchMode,
    #[command(flatten)]
    pub(crate) fusion: FusionArgs,
    /// Only chunks of logs holding an entry of this level (ERROR, WARN ...).
    #[arg(long)]
    pub(crate) log_level: Option<String>,
    /// Only chunks of logs holding an entry at or after this ISO 8601 time.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only chunks of logs holding an entry at or before this ISO 8601 time.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// At most this many hits of one document (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub(crate) max_per_document: usize,
    /// Show the passage where the query's words stand, matches in [brackets] (or in bold on a
    /// terminal).
    #[arg(long)]
    pub(crate) highlight: bool,
    #[arg(long)]
    pub(crate) json: bool,
}

/// `docvec facts`'s arguments.
#[derive(Args)]
pub(crate) struct Facts {
    /// Only facts of this document (id or path).
    #[arg(long)]
    pub(crate) document: Option<String>,
    /// Only facts with this key (label or column header; case and spacing ignored).
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// Only facts about this subject (a table row's label).
    #[arg(long)]
    pub(crate) subject: Option<String>,
    /// Only table_cell or label_value facts.
    #[arg(long)]
    pub(crate) kind: Option<String>,
    #[arg(long, default_value_t = 1000)]
    pub(crate) limit: i64,
    #[arg(long)]
    pub(crate) json: bool,
}

/// `docvec logs`'s arguments.
#[derive(Args)]
pub(crate) struct Logs {
    /// TRACE, DEBUG, INFO, NOTICE, WARN, ERROR or FATAL (Android's E, syslog's err ... are mapped).
    #[arg(long)]
    pub(crate) level: Option<String>,
    /// Entries at or after this ISO 8601 time (2008-11-09, 2008-11-09T20:36).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Entries at or before this ISO 8601 time.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Component (logger, class, program), with its sub-components.
    #[arg(long)]
    pub(crate) component: Option<String>,
    /// Text the message contains.
    #[arg(long)]
    pub(crate) grep: Option<String>,
    /// Only entries of this document (id or path).
    #[arg(long)]
    pub(crate) document: Option<String>,
    /// At most this many entries.
    #[arg(long, default_value_t = 1000)]
    pub(crate) limit: i64,
    #[arg(long)]
    pub(crate) json: bool,
}

/// `docvec eval`'s arguments.
#[derive(Args)]
pub(crate) struct Eval {
    /// Corpus file (or folder of TREC files).
    #[arg(long)]
    pub(crate) corpus: PathBuf,
    #[arg(long)]
    pub(crate) queries: PathBuf,
    #[arg(long)]
    pub(crate) qrels: PathBuf,
    /// Search mode(s) to evaluate (repeatable): vector, keyword, hybrid [default: hybrid].
    #[arg(long = "mode")]
    pub(crate) modes: Vec<docvec_engine::SearchMode>,
    #[command(flatten)]
    pub(crate) fusion: FusionArgs,
    /// Score vector, keyword and hybrid search over a grid of fusion settings (RRF k; min-max and
    /// z-score vector weights) instead of --mode, to choose a fusion by measurement.
    #[arg(long, conflicts_with = "modes")]
    pub(crate) sweep: bool,
    /// Also write each judged query's nDCG@10 here, as `setting<TAB>query id<TAB>nDCG@10` lines
    /// (what benches/quality/compare.py sets beside the Python reference's).
    #[arg(long, value_name = "FILE")]
    pub(crate) per_query: Option<PathBuf>,
    /// Keep the evaluation's data directory here instead of a temporary one.
    #[arg(long)]
    pub(crate) keep: Option<PathBuf>,
    #[arg(long)]
    pub(crate) json: bool,
}

/// How hybrid search fuses its lists (`search` and `eval`). Unset flags keep the engine's default
/// (`HybridOptions::default()`: z-score, vector weight 0.6), so the default lives in one place.
#[derive(Args)]
pub(crate) struct FusionArgs {
    /// How hybrid search fuses its vector and keyword lists: rrf (reciprocal rank), minmax or zscore
    /// (a convex sum of scores normalised over each list, weighted by --vector-weight) [default: zscore]
    #[arg(long, value_enum)]
    pub(crate) fusion: Option<FusionMethod>,
    /// The vector list's weight in minmax and zscore fusion, 0 to 1 (the keyword list gets the rest)
    /// [default: 0.6]
    #[arg(long)]
    pub(crate) vector_weight: Option<f32>,
    /// RRF's constant: each list adds 1 / (k + rank) [default: 60]
    #[arg(long)]
    pub(crate) rrf_k: Option<f32>,
}

/// `--fusion`'s methods.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum FusionMethod {
    Rrf,
    Minmax,
    Zscore,
}

impl FusionArgs {
    /// The hybrid options the flags ask for, the engine's default where they say nothing.
    pub(crate) fn hybrid(&self) -> docvec_engine::HybridOptions {
        use docvec_engine::Fusion;
        let default = docvec_engine::HybridOptions::default();
        let (default_weight, default_k) = match default.fusion {
            Fusion::Weighted { vector_weight } | Fusion::Zscore { vector_weight } => {
                (vector_weight, 60.0)
            }
            Fusion::Rrf { k } => (0.5, k),
        };
        let vector_weight = self.vector_weight.unwrap_or(default_weight);
        let k = self.rrf_k.unwrap_or(default_k);
        let fusion = match self.fusion {
            Some(FusionMethod::Rrf) => Fusion::Rrf { k },
            Some(FusionMethod::Minmax) => Fusion::Weighted { vector_weight },
            Some(FusionMethod::Zscore) => Fusion::Zscore { vector_weight },
            None => match default.fusion {
                Fusion::Rrf { .. } => Fusion::Rrf { k },
                Fusion::Weighted { .. } => Fusion::Weighted { vector_weight },
                Fusion::Zscore { .. } => Fusion::Zscore { vector_weight },
            },
        };
        docvec_engine::HybridOptions { fusion, ..default }
    }
}
