//! Ingest: files -> parsed documents -> chunks -> vectors -> one store transaction per document -> index.
//!
//! Parsing and chunking run on rayon across files while the previous batch is embedded, so the cores
//! stay busy; chunks of several small documents are embedded together (the embedder batches by token
//! budget). A file that fails at any stage is reported with its cause and the batch goes on; a document
//! is stored whole or not at all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use docvec_extract::ExtractOptions;
use docvec_parse::ParseOptions;
use docvec_types::TokenCounter;

use crate::discover::{discover, globset};
use crate::sync::blocking;
use crate::{Engine, EngineError};

/// Chunks gathered before one embedding call.
const EMBED_BATCH_CHUNKS: usize = 256;
/// Chunks between index saves during a long ingest, bounding the replay after a crash.
const SAVE_EVERY_CHUNKS: usize = 20_000;

#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Globs a file found in a folder must match (default: every type docvec reads).
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Tags stored with every document of this ingest.
    pub tags: Vec<String>,
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
    pub elapsed: Duration,
    /// Where the time went, stage by stage.
    pub stages: StageTimes,
    /// What reached Postgres, when a storage mode other than `local` is on.
    pub mirror: Option<crate::DrainReport>,
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
}

mod prepare;
mod write;

use prepare::{PrepareContext, Prepared, Step, parse_threads, prepare};

impl Engine {
    /// Ingest files and folders. Per-file failures are in the report; `Err` means the whole run failed
    /// (the store or the index could not be written).
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
        let started = Instant::now();
        let include = globset(&opts.include)?;
        let exclude = globset(&opts.exclude)?;
        let follow = self.config.ingest.follow_symlinks;
        let inputs = paths.to_vec();
        let found = blocking(move || {
            Ok(discover(
                &inputs,
                include.as_ref(),
                exclude.as_ref(),
                follow,
            ))
        })
        .await?;
        let mut report = IngestReport {
            unsupported: found.unsupported,
            ..Default::default()
        };
        progress(IngestEvent::Discovered {
            files: found.files.len() + found.problems.len(),
        });
        for (path, cause) in found.problems {
            let outcome = FileOutcome::Failed { cause };
            progress(IngestEvent::FileDone {
                path: &path,
                outcome: &outcome,
            });
            report.files.push((path, outcome));
        }

        let known: HashMap<String, (String, String, Vec<String>)> = self
            .store
            .list_documents()
            .await?
            .into_iter()
            .map(|d| (d.path, (d.content_hash, d.model_id, d.tags)))
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Step>(16);
        let serial = !self.config.ingest.pipeline;
        // Without the pipeline the reader waits for this after each file it hands over.
        let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let producer = {
            let embedder = self.embedder();
            let ingest = &self.config.ingest;
            let cx = PrepareContext {
                known,
                model: self.embedder().model_id().to_string(),
                tags: opts.tags.clone(),
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
            };
            let files = found.files;
            let cancel = opts.cancel.clone();
            tokio::task::spawn_blocking(move || {
                let one = |path: &PathBuf| {
                    let counter: &dyn TokenCounter = &*embedder;
                    if cancel
                        .as_ref()
                        .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
                    {
                        Step::Done(
                            path.clone(),
                            FileOutcome::Failed {
                                cause: "not ingested: stopped because docvec is shutting down"
                                    .into(),
                            },
                        )
                    } else {
                        prepare(path, &cx, counter)
                    }
                };
                if serial {
                    for path in &files {
                        // Read the next file only once the writer is done with this one. A closed
                        // channel means the consumer failed; its error is reported there.
                        if tx.blocking_send(one(path)).is_err() || ack_rx.blocking_recv().is_none()
                        {
                            break;
                        }
                    }
                    return Ok(());
                }
                // Readers block on the channel when the embedder falls behind; on their own pool they
                // cannot starve the global rayon pool that the HNSW inserts of the consumer need.
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(parse_threads())
                    .thread_name(|i| format!("docvec-parse-{i}"))
                    .build()
                    .map_err(|e| {
                        EngineError::Internal(format!("cannot start parser threads: {e}"))
                    })?;
                pool.install(|| {
                    files.par_iter().for_each(|path| {
                        // A closed channel means the consumer failed; its error is reported there.
                        let _ = tx.blocking_send(one(path));
                    })
                });
                Ok::<(), EngineError>(())
            })
        };

        let mut pending: Vec<Prepared> = Vec::new();
        let mut pending_chunks = 0;
        let mut since_save = 0;
        loop {
            let next = rx.recv().await;
            let closed = next.is_none();
            match next {
                Some(Step::Done(path, outcome)) => {
                    progress(IngestEvent::FileDone {
                        path: &path,
                        outcome: &outcome,
                    });
                    report.files.push((path, outcome));
                }
                Some(Step::Ready(p)) => {
                    p.times.add_to(&mut report.stages);
                    pending_chunks += p.chunks.len();
                    pending.push(*p);
                }
                None => {}
            }
            if (closed && !pending.is_empty()) || pending_chunks >= EMBED_BATCH_CHUNKS {
                let batch = std::mem::take(&mut pending);
                pending_chunks = 0;
                let embedded = self
                    .embed_and_store(batch, &opts.tags, progress, &mut report)
                    .await?;
                report.chunks_embedded += embedded;
                since_save += embedded;
                let t = Instant::now();
                self.catch_up().await?;
                report.stages.index_s += t.elapsed().as_secs_f64();
                if since_save >= SAVE_EVERY_CHUNKS {
                    let t = Instant::now();
                    self.save_index().await?;
                    report.stages.save_s += t.elapsed().as_secs_f64();
                    since_save = 0;
                }
            }
            if closed {
                break;
            }
            if serial {
                let _ = ack_tx.send(());
            }
        }
        producer
            .await
            .map_err(|e| EngineError::Internal(format!("file reader failed: {e}")))??;
        let t = Instant::now();
        self.catch_up().await?;
        report.stages.index_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        self.save_index().await?;
        report.stages.save_s += t.elapsed().as_secs_f64();
        if self.storage_mode().mirrors() {
            let t = Instant::now();
            report.mirror = Some(self.drain_outbox().await?);
            report.stages.mirror_s = t.elapsed().as_secs_f64();
        }
        report.files.sort_by(|a, b| a.0.cmp(&b.0));
        report.elapsed = started.elapsed();
        Ok(report)
    }
}
