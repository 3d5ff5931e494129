//! Ingest: files -> parsed documents -> chunks -> vectors -> one store transaction per document -> index.
//!
//! Parsing and chunking run on rayon across files while the previous batch is embedded, so the cores
//! stay busy; chunks of several small documents are embedded together (the embedder batches by token
//! budget). A file that fails at any stage is reported with its cause and the batch goes on; a document
//! is stored whole or not at all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use docvec_embed::{Embedder, TokenCounts};
use docvec_extract::ExtractOptions;
use docvec_parse::ParseOptions;

use crate::discover::{Discovered, discover, globset};
use crate::sync::{blocking, unless_disk_full};
use crate::{Engine, EngineError};

#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Globs a file found in a folder must match (default: every type docvec reads).
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Tags stored with every document of this ingest.
    pub tags: Vec<String>,
    /// Metadata stored with every document of this ingest; a file's `<name>.meta.json` sidecar adds
    /// to it (its keys win).
    pub meta: docvec_types::Metadata,
    /// Re-ingest files even when their content is unchanged.
    pub force: bool,
    /// Set to stop at a safe point: files not yet read are reported as not ingested, and what was read
    /// is stored whole.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FileOutcome {
    Added {
        document_id: String,
        chunks: usize,
    },
    /// A changed file replaced its old version; `embedded` chunks were new, the rest reused their vectors.
    Updated {
        document_id: String,
        chunks: usize,
        embedded: usize,
    },
    Unchanged {
        document_id: String,
    },
    Failed {
        cause: String,
    },
}

impl FileOutcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, FileOutcome::Failed { .. })
    }
}

/// Progress, for a progress bar or a log.
#[derive(Debug)]
pub enum IngestEvent<'a> {
    Discovered {
        files: usize,
    },
    FileDone {
        path: &'a Path,
        outcome: &'a FileOutcome,
    },
}

#[derive(Debug, Default, Serialize)]
pub struct IngestReport {
    pub files: Vec<(PathBuf, FileOutcome)>,
    /// Files inside folders that were skipped because docvec does not read their type.
    pub unsupported: Vec<PathBuf>,
    pub chunks_embedded: usize,
    /// The model's tokens while this ingest ran, real and padded to each batch's longest input: what
    /// padding cost. Exact when nothing else embeds meanwhile (the CLI); in a server, searches and
    /// other uploads at the same time add theirs.
    pub tokens: TokenCounts,
    pub elapsed: Duration,
    /// Where the time went, stage by stage.
    pub stages: StageTimes,
    /// What reached Postgres, when a storage mode other than `local` is on.
    pub mirror: Option<crate::DrainReport>,
    /// Index writes that found the disk full: the documents are stored, the indexes catch up later.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Seconds spent in each stage of an ingest. The reading stages run on the parser threads beside the
/// writing ones, so they are summed over those threads and their total may exceed `elapsed`; the writing
/// stages follow one another on the writer and are wall time.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StageTimes {
    pub read_s: f64,
    pub parse_s: f64,
    pub chunk_s: f64,
    pub extract_s: f64,
    pub embed_s: f64,
    pub store_s: f64,
    /// Vector and full-text index inserts (the catch-up from the store's log).
    pub index_s: f64,
    /// Crash-safe saves of the index files.
    pub save_s: f64,
    pub mirror_s: f64,
}

impl IngestReport {
    pub fn failures(&self) -> impl Iterator<Item = (&PathBuf, &str)> {
        self.files.iter().filter_map(|(p, o)| match o {
            FileOutcome::Failed { cause } => Some((p, cause.as_str())),
            _ => None,
        })
    }

    pub fn count(&self, pred: impl Fn(&FileOutcome) -> bool) -> usize {
        self.files.iter().filter(|(_, o)| pred(o)).count()
    }

    /// Keep the warning of an index write that found the disk full (see [`unless_disk_full`]).
    /// Once per kind of write: each batch of a long ingest on a full disk would repeat it.
    fn warn(&mut self, warning: Option<String>) {
        let what = |w: &str| {
            w.split(" was not written")
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        if let Some(w) = warning
            && !self.warnings.iter().any(|seen| what(seen) == what(&w))
        {
            self.warnings.push(w);
        }
    }

    /// The report stage, file by file: tell `progress` what became of `path`, and keep it.
    fn record(
        &mut self,
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
        path: PathBuf,
        outcome: FileOutcome,
    ) {
        progress(IngestEvent::FileDone {
            path: &path,
            outcome: &outcome,
        });
        self.files.push((path, outcome));
    }
}

mod prepare;
mod write;

use prepare::{Handoff, Known, PrepareContext, Prepared, Step, spawn_preparers};
use write::timed;

impl Engine {
    /// Ingest files and folders. Per-file failures are in the report; `Err` means the whole run failed
    /// (the store or the index could not be written).
    ///
    /// The stages: discover the files; prepare them (read, parse, chunk, extract) on a parser pool while
    /// the writer embeds, stores and indexes batches of prepared documents as they come; then catch the
    /// indexes up, save them, and report.
    pub async fn ingest(
        &self,
        paths: &[PathBuf],
        opts: &IngestOptions,
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
    ) -> Result<IngestReport, EngineError> {
        self.require_write("ingesting")?;
        // Every chunk of this ingest is embedded by one model: a model switch waits for it to end.
        let _model = self.model_gate.read().await;
        self.warm_model().await?;
        // What `docvec check` compares the model file with later.
        self.record_model(false).await?;
        let started = Instant::now();
        let tokens_before = self.token_counts();
        let found = self.discover_files(paths, opts).await?;
        let mut report = IngestReport {
            unsupported: found.unsupported,
            ..Default::default()
        };
        progress(IngestEvent::Discovered {
            files: found.files.len() + found.problems.len(),
        });
        for (path, cause) in found.problems {
            report.record(progress, path, FileOutcome::Failed { cause });
        }
        let embedder = self.embedder();
        let cx = self.prepare_context(opts, embedder.as_ref()).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Step>(16);
        let serial = !self.config.ingest.pipeline;
        // Without the pipeline the reader waits for this after each file it hands over.
        let (done_tx, done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let handoff = Handoff {
            tx,
            done: serial.then_some(done_rx),
        };
        let preparers = spawn_preparers(found.files, cx, embedder, opts.cancel.clone(), handoff);
        let done = serial.then_some(done_tx);
        self.write_prepared(rx, done, &opts.tags, progress, &mut report)
            .await?;
        preparers
            .await
            .map_err(|e| EngineError::Internal(format!("file reader failed: {e}")))??;
        self.finish(&mut report).await?;
        report.files.sort_by(|a, b| a.0.cmp(&b.0));
        report.elapsed = started.elapsed();
        report.tokens = self.token_counts().since(tokens_before);
        Ok(report)
    }

    /// The discover stage: the files `paths` name, walked off the async runtime.
    async fn discover_files(
        &self,
        paths: &[PathBuf],
        opts: &IngestOptions,
    ) -> Result<Discovered, EngineError> {
        let include = globset(&opts.include)?;
        let exclude = globset(&opts.exclude)?;
        let follow = self.config.ingest.follow_symlinks;
        let inputs = paths.to_vec();
        blocking(move || {
            Ok(discover(
                &inputs,
                include.as_ref(),
                exclude.as_ref(),
                follow,
            ))
        })
        .await
    }

    /// What every file is prepared with: the stored documents (to skip unchanged files) and the
    /// configured limits, with chunks sized for `embedder`.
    async fn prepare_context(
        &self,
        opts: &IngestOptions,
        embedder: &dyn Embedder,
    ) -> Result<PrepareContext, EngineError> {
        docvec_types::check_metadata(&opts.meta).map_err(EngineError::InvalidRequest)?;
        let mut known: HashMap<String, Known> = self
            .store
            .list_documents()
            .await?
            .into_iter()
            .map(|d| (d.path, (d.content_hash, d.model_id, d.tags, d.meta)))
            .collect();
        // Documents stored before spans are read again, unchanged or not, so their hits gain spans.
        for path in self.store.paths_without_text().await? {
            if let Some(known) = known.get_mut(&path) {
                known.0.clear();
            }
        }
        let ingest = &self.config.ingest;
        Ok(PrepareContext {
            known,
            model: embedder.model_id().to_string(),
            tags: opts.tags.clone(),
            meta: opts.meta.clone(),
            force: opts.force,
            parse: ParseOptions {
                max_file_bytes: ingest.max_file_bytes,
                pdf_password: ingest.pdf_password.clone(),
                max_table_rows: ingest.max_table_rows,
                max_decompressed_bytes: ingest.max_decompressed_bytes,
                max_nesting_depth: ingest.max_nesting_depth,
            },
            // Chunks fit the model in use, which a rebuild may have switched since start-up.
            chunk: docvec_chunk::ChunkOptions {
                max_tokens: embedder.max_tokens(),
                ..self.config.chunk.clone()
            },
            extract: ExtractOptions {
                document_keyphrases: ingest.keyphrases_per_document,
                chunk_keyphrases: ingest.keyphrases_per_chunk,
                max_facts_per_document: ingest.max_facts_per_document,
                ..Default::default()
            },
        })
    }

    /// After the last batch: the final catch-up and save, and the outbox drained to Postgres when a
    /// mirror is on.
    async fn finish(&self, report: &mut IngestReport) -> Result<(), EngineError> {
        // A full disk here must not lose the report: every file in it is stored or failed as it says.
        let caught_up = timed(&mut report.stages.index_s, self.catch_up()).await;
        report.warn(unless_disk_full(caught_up, "the indexes' catch-up")?);
        let saved = timed(&mut report.stages.save_s, self.save_index()).await;
        report.warn(unless_disk_full(saved, "the index save")?);
        if self.storage_mode().mirrors() {
            let drained = timed(&mut report.stages.mirror_s, self.drain_outbox()).await?;
            report.mirror = Some(drained);
        }
        Ok(())
    }
}
