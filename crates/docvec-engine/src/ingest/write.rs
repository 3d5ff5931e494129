//! The write half of an ingest: vectors for a batch of prepared documents, then one store transaction
//! per document.

use std::collections::HashMap;

use docvec_store::{NewChunk, NewDocument, NewSection};
use docvec_types::content_hash;

use super::{FileOutcome, IngestEvent, IngestReport, Prepared};
use crate::sync::blocking;
use crate::{Engine, EngineError};

impl Engine {
    /// Embed the chunks of a batch of documents (reusing stored vectors of unchanged chunks), then store
    /// each document in its own transaction. Returns the number of chunks embedded.
    pub(super) async fn embed_and_store(
        &self,
        batch: Vec<Prepared>,
        tags: &[String],
        progress: &(dyn Fn(IngestEvent<'_>) + Sync),
        report: &mut IngestReport,
    ) -> Result<usize, EngineError> {
        let model = self.embedder().model_id().to_string();
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
        let embedder = self.embedder();
        let count = to_embed.len();
        let started = std::time::Instant::now();
        let vectors = blocking(move || {
            let refs: Vec<&str> = to_embed.iter().map(String::as_str).collect();
            Ok(embedder.embed(&refs))
        })
        .await?;
        report.stages.embed_s += started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
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
        report.stages.store_s += started.elapsed().as_secs_f64();
        Ok(count)
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
        };
        self.store.put_document(&doc).await?;
        Ok(())
    }
}
