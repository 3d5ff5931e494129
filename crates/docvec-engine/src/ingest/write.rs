//! The write half of an ingest: prepared documents gathered into batches; for each batch, vectors
//! (the embed stage), one store transaction per document (the store stage), then the indexes brought up
//! to the store (the index stage), with an index save now and then.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use docvec_store::{NewChunk, NewDocument, NewSection};
use docvec_types::content_hash;
use tokio::sync::mpsc::{Receiver, UnboundedSender};

use super::{FileOutcome, IngestEvent, IngestReport, Prepared, Step};
use crate::sync::{blocking, unless_disk_full};
use crate::{Engine, EngineError};

/// One document's embedding inputs: (content hash, text) per chunk.
type DocInputs = Vec<(String, String)>;

/// A batch's vectors by input hash: those the store already held, then those just embedded.
struct BatchVectors {
    by_hash: HashMap<String, Vec<f32>>,
    /// Hashes embedded by this batch and not yet claimed by a document, so each counts once.
    fresh: HashSet<String>,
}

/// Chunks gathered before one embedding call.
const EMBED_BATCH_CHUNKS: usize = 256;
/// Chunks between index saves during a long ingest, bounding the replay after a crash.
const SAVE_EVERY_CHUNKS: usize = 20_000;

impl Engine {
    /// Write what the preparers send on `rx` until they are done, in batches of about
    /// [`EMBED_BATCH_CHUNKS`] chunks. Without the pipeline, `done` tells the preparer when the writer
    /// is ready for the next file.
    pub(super) async fn write_prepared(
        &self,
        mut rx: Receiver<Step>,
        done: Option<UnboundedSender<()>>,
        tags: &[String],
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
        report: &mut IngestReport,
    ) -> Result<(), EngineError> {
        let mut pending: Vec<Prepared> = Vec::new();
        let mut pending_chunks = 0;
        let mut since_save = 0;
        loop {
            let next = rx.recv().await;
            let closed = next.is_none();
            match next {
                Some(Step::Done(path, outcome)) => report.record(progress, path, outcome),
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
                since_save += self.write_batch(batch, tags, progress, report).await?;
                if since_save >= SAVE_EVERY_CHUNKS {
                    let saved = timed(&mut report.stages.save_s, self.save_index()).await;
                    report.warn(unless_disk_full(saved, "the index save")?);
                    since_save = 0;
                }
            }
            if closed {
                break;
            }
            if let Some(done) = &done {
                let _ = done.send(());
            }
        }
        Ok(())
    }

    /// Embed and store one batch, then index it. Returns the number of chunks embedded.
    async fn write_batch(
        &self,
        batch: Vec<Prepared>,
        tags: &[String],
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
        report: &mut IngestReport,
    ) -> Result<usize, EngineError> {
        let embedded = self.embed_and_store(batch, tags, progress, report).await?;
        report.chunks_embedded += embedded;
        // A full disk stops the full-text commit, not the batch: the files go on being stored or
        // reported failed, each for its own reason.
        let caught_up = timed(&mut report.stages.index_s, self.catch_up()).await;
        report.warn(unless_disk_full(caught_up, "the indexes' catch-up")?);
        Ok(embedded)
    }

    /// Embed the chunks of a batch of documents (each input once, none the store already holds a vector
    /// for), then store each document in its own transaction. Returns the number of inputs embedded.
    async fn embed_and_store(
        &self,
        batch: Vec<Prepared>,
        tags: &[String],
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
        report: &mut IngestReport,
    ) -> Result<usize, EngineError> {
        let inputs = embedding_inputs(&batch);
        let stored = self.stored_vectors(&inputs).await?;
        let (hashes, to_embed) = missing_inputs(&inputs, &stored);
        let count = to_embed.len();
        let vectors = timed(&mut report.stages.embed_s, self.embed(to_embed)).await?;
        let started = Instant::now();
        let vectors = match vectors {
            Ok(v) => v,
            Err(e) => {
                // The model failed on this batch: its files fail, the ingest goes on.
                for p in batch {
                    let cause = e.to_string();
                    report.record(progress, p.path, FileOutcome::Failed { cause });
                }
                return Ok(0);
            }
        };
        if vectors.len() != hashes.len() {
            return Err(EngineError::Internal(format!(
                "the embedder returned {} vectors for {} inputs",
                vectors.len(),
                hashes.len()
            )));
        }
        let fresh: HashSet<String> = hashes.iter().cloned().collect();
        let mut by_hash = stored;
        by_hash.extend(hashes.into_iter().zip(vectors));
        let vectors = BatchVectors { by_hash, fresh };
        self.store_batch(batch, inputs, vectors, tags, progress, report)
            .await?;
        report.stages.store_s += started.elapsed().as_secs_f64();
        Ok(count)
    }

    /// The vectors the store already holds for the batch's inputs, from whichever document: a
    /// replaced file's unchanged chunks, and rows or boilerplate that other files share. For the
    /// model that embeds (per-row builds embed an input the same in any batch, so a reused vector is
    /// the one the model would give).
    async fn stored_vectors(
        &self,
        inputs: &[DocInputs],
    ) -> Result<HashMap<String, Vec<f32>>, EngineError> {
        let model = self.embedder().model_id().to_string();
        let mut hashes: Vec<&str> = inputs.iter().flatten().map(|(h, _)| h.as_str()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        Ok(self.store.vectors_by_input(&hashes, &model).await?)
    }

    /// The embed stage, off the async runtime. The outer error is the runtime's, the inner the model's.
    async fn embed(
        &self,
        texts: Vec<String>,
    ) -> Result<Result<Vec<Vec<f32>>, docvec_embed::EmbedError>, EngineError> {
        let embedder = self.embedder();
        blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(embedder.embed(&refs))
        })
        .await
    }

    /// The store stage: each document of `batch` with its vectors (by input hash) in its own
    /// transaction, its outcome reported.
    async fn store_batch(
        &self,
        batch: Vec<Prepared>,
        inputs: Vec<DocInputs>,
        mut vectors: BatchVectors,
        tags: &[String],
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
        report: &mut IngestReport,
    ) -> Result<(), EngineError> {
        for (p, doc) in batch.into_iter().zip(inputs) {
            let mut doc_vectors = Vec::with_capacity(p.chunks.len());
            let mut embedded = 0;
            for (hash, _) in &doc {
                let v = vectors
                    .by_hash
                    .get(hash)
                    .ok_or_else(|| EngineError::Internal(format!("no vector for input {hash}")))?;
                doc_vectors.push(v.clone());
                embedded += usize::from(vectors.fresh.remove(hash));
            }
            let outcome = match self.store_document(&p, &doc, &doc_vectors, tags).await {
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
            report.record(progress, p.path, outcome);
        }
        Ok(())
    }

    async fn store_document(
        &self,
        p: &Prepared,
        inputs: &[(String, String)],
        vectors: &[Vec<f32>],
        tags: &[String],
    ) -> Result<(), EngineError> {
        let model_id = self.embedder().model_id().to_string();
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
                span: Some(&c.span),
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
            model_id: &model_id,
            sections,
            chunks,
            endpoints: &p.doc.endpoints,
            log_entries: &p.doc.log_entries,
            tables: &p.doc.tables,
            media_type: p.format.media_type(&p.path),
            document_tags: &p.extracted.document_tags,
            chunk_tags: &p.extracted.chunk_tags,
            facts: &p.extracted.facts,
            text: p.doc.text.as_deref(),
            meta: &p.meta,
        };
        self.store.put_document(&doc).await?;
        Ok(())
    }
}

/// Await `work`, adding the seconds it took to `seconds` (a stage's total in the report).
pub(super) async fn timed<T>(seconds: &mut f64, work: impl std::future::Future<Output = T>) -> T {
    let t = Instant::now();
    let out = work.await;
    *seconds += t.elapsed().as_secs_f64();
    out
}

/// What each document of `batch` embeds: its chunks' inputs with their hashes.
fn embedding_inputs(batch: &[Prepared]) -> Vec<DocInputs> {
    batch
        .iter()
        .map(|p| {
            p.chunks
                .iter()
                .map(|c| {
                    let input = c.embedding_input();
                    (content_hash(input.as_bytes()), input)
                })
                .collect()
        })
        .collect()
}

/// The (hash, text) of each input that `stored` lacks, once however many chunks of the batch share it.
fn missing_inputs(
    inputs: &[DocInputs],
    stored: &HashMap<String, Vec<f32>>,
) -> (Vec<String>, Vec<String>) {
    let mut seen = HashSet::new();
    inputs
        .iter()
        .flatten()
        .filter(|(h, _)| !stored.contains_key(h) && seen.insert(h.as_str()))
        .cloned()
        .unzip()
}
