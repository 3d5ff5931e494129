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

use docvec_chunk::chunk_document;
use docvec_parse::{ParseOptions, parse_bytes, read_file};
use docvec_store::{NewChunk, NewDocument, NewSection};
use docvec_types::{Chunk, Format, ParsedDocument, TokenCounter, content_hash, stable_id};

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

/// A file read, parsed and chunked, waiting for vectors.
struct Prepared {
    path: PathBuf,
    stored_path: String,
    document_id: String,
    content_hash: String,
    size: u64,
    format: Format,
    doc: ParsedDocument,
    chunks: Vec<Chunk>,
    replaces: bool,
}

enum Step {
    Ready(Box<Prepared>),
    Done(PathBuf, FileOutcome),
}

impl Engine {
    /// Ingest files and folders. Per-file failures are in the report; `Err` means the whole run failed
    /// (the store or the index could not be written).
    pub async fn ingest(
        &self,
        paths: &[PathBuf],
        opts: &IngestOptions,
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
    ) -> Result<IngestReport, EngineError> {
        self.require_write()?;
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
        let producer = {
            let embedder = self.embedder.clone();
            let parse_opts = ParseOptions {
                max_file_bytes: self.config.ingest.max_file_bytes,
                pdf_password: self.config.ingest.pdf_password.clone(),
            };
            let chunk_opts = self.config.chunk.clone();
            let model = self.embedder.model_id().to_string();
            let tags = opts.tags.clone();
            let force = opts.force;
            let files = found.files;
            tokio::task::spawn_blocking(move || {
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
                        let counter: &dyn TokenCounter = &*embedder;
                        let step = prepare(
                            path,
                            &known,
                            &model,
                            &tags,
                            force,
                            &parse_opts,
                            &chunk_opts,
                            counter,
                        );
                        // A closed channel means the consumer failed; its error is reported there.
                        let _ = tx.blocking_send(step);
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
                self.catch_up().await?;
                if since_save >= SAVE_EVERY_CHUNKS {
                    self.save_index().await?;
                    since_save = 0;
                }
            }
            if closed {
                break;
            }
        }
        producer
            .await
            .map_err(|e| EngineError::Internal(format!("file reader failed: {e}")))??;
        self.catch_up().await?;
        self.save_index().await?;
        report.files.sort_by(|a, b| a.0.cmp(&b.0));
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Embed the chunks of a batch of documents (reusing stored vectors of unchanged chunks), then store
    /// each document in its own transaction. Returns the number of chunks embedded.
    async fn embed_and_store(
        &self,
        batch: Vec<Prepared>,
        tags: &[String],
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
        report: &mut IngestReport,
    ) -> Result<usize, EngineError> {
        let model = self.embedder.model_id().to_string();
        let mut inputs: Vec<Vec<(String, String)>> = Vec::with_capacity(batch.len());
        let mut reuse: Vec<HashMap<String, Vec<f32>>> = Vec::with_capacity(batch.len());
        for p in &batch {
            inputs.push(
                p.chunks
                    .iter()
                    .map(|c| {
                        let input = c.embedding_input();
                        (content_hash(input.as_bytes()), input)
                    })
                    .collect(),
            );
            reuse.push(if p.replaces {
                self.store.reusable_vectors(&p.document_id, &model).await?
            } else {
                HashMap::new()
            });
        }
        let to_embed: Vec<String> = inputs
            .iter()
            .zip(&reuse)
            .flat_map(|(doc, known)| {
                doc.iter()
                    .filter(|(h, _)| !known.contains_key(h))
                    .map(|(_, text)| text.clone())
            })
            .collect();
        let embedder = self.embedder.clone();
        let count = to_embed.len();
        let vectors = blocking(move || {
            let refs: Vec<&str> = to_embed.iter().map(String::as_str).collect();
            Ok(embedder.embed(&refs))
        })
        .await?;
        let mut vectors = match vectors {
            Ok(v) => v.into_iter(),
            Err(e) => {
                // The model failed on this batch: its files fail, the ingest goes on.
                for p in batch {
                    let outcome = FileOutcome::Failed {
                        cause: e.to_string(),
                    };
                    progress(IngestEvent::FileDone {
                        path: &p.path,
                        outcome: &outcome,
                    });
                    report.files.push((p.path, outcome));
                }
                return Ok(0);
            }
        };

        for ((p, doc_inputs), known) in batch.into_iter().zip(inputs).zip(reuse) {
            let mut doc_vectors = Vec::with_capacity(p.chunks.len());
            let mut embedded = 0;
            for (hash, _) in &doc_inputs {
                match known.get(hash) {
                    Some(v) => doc_vectors.push(v.clone()),
                    None => {
                        embedded += 1;
                        doc_vectors.push(vectors.next().ok_or_else(|| {
                            EngineError::Internal("embedder returned too few vectors".into())
                        })?);
                    }
                }
            }
            let outcome = match self
                .store_document(&p, &doc_inputs, &doc_vectors, tags)
                .await
            {
                Ok(()) if p.replaces => FileOutcome::Updated {
                    document_id: p.document_id.clone(),
                    chunks: p.chunks.len(),
                    embedded,
                },
                Ok(()) => FileOutcome::Added {
                    document_id: p.document_id.clone(),
                    chunks: p.chunks.len(),
                },
                Err(e) => FileOutcome::Failed {
                    cause: format!("could not be stored: {e}"),
                },
            };
            progress(IngestEvent::FileDone {
                path: &p.path,
                outcome: &outcome,
            });
            report.files.push((p.path, outcome));
        }
        Ok(count)
    }

    async fn store_document(
        &self,
        p: &Prepared,
        inputs: &[(String, String)],
        vectors: &[Vec<f32>],
        tags: &[String],
    ) -> Result<(), EngineError> {
        let heading_paths: Vec<String> = p
            .doc
            .sections
            .iter()
            .map(|s| s.heading_path.join(" > "))
            .collect();
        let sections = p
            .doc
            .sections
            .iter()
            .zip(&heading_paths)
            .map(|(s, path)| NewSection {
                heading: s.heading.as_deref(),
                level: s.level,
                heading_path: path.clone(),
                page_start: s.blocks.iter().filter_map(|b| b.page).min(),
                page_end: s.blocks.iter().filter_map(|b| b.page).max(),
            })
            .collect();
        let chunks = p
            .chunks
            .iter()
            .zip(inputs)
            .zip(vectors)
            .map(|((c, (hash, _)), v)| NewChunk {
                key: &c.key,
                section: c.section as usize,
                ordinal: c.ordinal,
                text: &c.text,
                context: &c.context,
                input_hash: hash.clone(),
                page_start: c.page_start,
                page_end: c.page_end,
                token_count: c.token_count,
                vector: v,
            })
            .collect();
        let mut metadata = p.doc.metadata.clone();
        if !p.doc.warnings.is_empty() {
            metadata.insert("warnings".into(), p.doc.warnings.clone().into());
        }
        let fallback_title = p.path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let doc = NewDocument {
            id: &p.document_id,
            path: &p.stored_path,
            content_hash: &p.content_hash,
            format: p.format,
            title: p.doc.title.as_deref().or(fallback_title.as_deref()),
            size_bytes: p.size,
            metadata: &metadata,
            tags,
            model_id: self.embedder.model_id(),
            sections,
            chunks,
        };
        self.store.put_document(&doc).await?;
        Ok(())
    }
}

fn parse_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Read, hash, parse and chunk one file (runs on rayon).
#[allow(clippy::too_many_arguments)]
fn prepare(
    path: &Path,
    known: &HashMap<String, (String, String, Vec<String>)>,
    model: &str,
    tags: &[String],
    force: bool,
    parse_opts: &ParseOptions,
    chunk_opts: &docvec_chunk::ChunkOptions,
    counter: &dyn TokenCounter,
) -> Step {
    let canonical = crate::canonical(path);
    let stored_path = canonical.to_string_lossy().into_owned();
    let document_id = stable_id(&[stored_path.as_bytes()]);
    let failed = |cause: String| Step::Done(path.to_path_buf(), FileOutcome::Failed { cause });
    let bytes = match read_file(path, parse_opts) {
        Ok(bytes) => bytes,
        Err(e) => return failed(e.to_string()),
    };
    let hash = content_hash(&bytes);
    let previous = known.get(&stored_path);
    if !force && previous.is_some_and(|(h, m, t)| *h == hash && m == model && t == tags) {
        return Step::Done(path.to_path_buf(), FileOutcome::Unchanged { document_id });
    }
    let (format, doc) = match parse_bytes(path, &bytes, parse_opts) {
        Ok(parsed) => parsed,
        Err(e) => return failed(e.to_string()),
    };
    let chunks = chunk_document(&document_id, &doc, counter, chunk_opts);
    if chunks.is_empty() {
        return failed("no text to index".into());
    }
    Step::Ready(Box::new(Prepared {
        path: path.to_path_buf(),
        stored_path,
        document_id,
        content_hash: hash,
        size: bytes.len() as u64,
        format,
        doc,
        chunks,
        replaces: previous.is_some(),
    }))
}
