//! `docvec backfill` (everything in a local SQLite store copied to Postgres, resumable) and
//! `docvec parity` (local and remote compared: counts, per-document digests, a sample of vectors).

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use docvec_mirror::{DocumentDigest, Mirror};
use docvec_store::Store;

use crate::{Engine, EngineError};

#[derive(Debug, Clone, Default)]
pub struct BackfillOptions {
    /// Count what would be copied; write nothing.
    pub dry_run: bool,
    /// Empty the remote first (every document is copied again).
    pub reset: bool,
    /// `maintenance_work_mem` for the HNSW build after a bulk load into an empty table.
    pub index_memory: Option<String>,
}

/// Progress of a backfill, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum BackfillEvent {
    Started { documents: u64 },
    Document { copied: bool },
    BuildingIndex,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BackfillReport {
    pub documents: u64,
    pub copied: u64,
    /// Already on the remote with the same content and chunks (a resumed backfill skips them).
    pub skipped: u64,
    pub chunks: u64,
    pub dry_run: bool,
    pub rebuilt_index: bool,
    pub elapsed_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    pub table: String,
    pub local: i64,
    pub remote: i64,
}

/// What `docvec parity` found; `differences()` is zero when local and remote agree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ParityReport {
    pub tables: Vec<TableCount>,
    pub missing_remote: Vec<String>,
    pub extra_remote: Vec<String>,
    /// Documents present on both sides whose content hash, chunk count or chunk keys differ.
    pub different: Vec<String>,
    pub vectors_checked: usize,
    pub vectors_different: usize,
}

impl ParityReport {
    pub fn differences(&self) -> usize {
        self.tables.iter().filter(|t| t.local != t.remote).count()
            + self.missing_remote.len()
            + self.extra_remote.len()
            + self.different.len()
            + self.vectors_different
    }
}

impl Engine {
    /// Copy every document of the SQLite store at `source` (a `docvec.db`, or a data directory holding
    /// one) to Postgres. Documents already there with the same content and chunks are skipped, so an
    /// interrupted backfill resumes where it stopped.
    pub async fn backfill(
        &self,
        source: &Path,
        options: &BackfillOptions,
        progress: &(dyn Fn(BackfillEvent) + Sync),
    ) -> Result<BackfillReport, EngineError> {
        let started = std::time::Instant::now();
        let mirror = self.mirror()?;
        let path = if source.is_dir() {
            crate::DataDir::new(source).store()
        } else {
            source.to_path_buf()
        };
        if !path.exists() {
            return Err(EngineError::NotFound(format!(
                "no docvec store at {}",
                path.display()
            )));
        }
        let local = Store::open(&path).await?;
        let digests = local.document_digests().await?;
        let mut report = BackfillReport {
            documents: digests.len() as u64,
            dry_run: options.dry_run,
            ..Default::default()
        };
        progress(BackfillEvent::Started {
            documents: report.documents,
        });
        if !options.dry_run {
            self.migrate_remote().await?;
            if options.reset {
                mirror.reset().await?;
            }
        }
        let remote = if options.reset {
            HashMap::new()
        } else {
            mirror.document_digests().await.unwrap_or_default()
        };
        // Into an empty table, rows load several times faster without the HNSW index; it is built once
        // at the end with more memory.
        let bulk = !options.dry_run && remote.is_empty() && digests.len() > 1;
        if bulk {
            mirror.drop_vector_index().await?;
        }
        // Documents go in transactions of about `transaction_rows` chunks, a few at once.
        let copy = async {
            let mut writer = docvec_mirror::BulkWriter::new(mirror);
            for (id, hash, chunks, keys) in &digests {
                let same = remote.get(id).is_some_and(|r| {
                    r == &DocumentDigest {
                        content_hash: hash.clone(),
                        chunk_count: *chunks,
                        chunk_keys: keys.clone(),
                    }
                });
                if same {
                    report.skipped += 1;
                } else {
                    let doc = match options.dry_run {
                        true => None,
                        false => local.export_document(id).await?,
                    };
                    if let Some(doc) = doc {
                        writer.push(doc).await?;
                    }
                    report.copied += 1;
                    report.chunks += *chunks as u64;
                }
                progress(BackfillEvent::Document { copied: !same });
            }
            writer.finish().await?;
            Ok::<(), EngineError>(())
        }
        .await;
        // Built after a bulk load even when the copy failed half way, and whenever it is missing: a
        // backfill cut off by a Postgres crash dropped it and could not build it again, and the run
        // that resumes it is no longer a bulk load.
        let index = async {
            if options.dry_run || (!bulk && mirror.vector_index_exists().await?) {
                return Ok(false);
            }
            progress(BackfillEvent::BuildingIndex);
            let memory = options.index_memory.as_deref().unwrap_or("1GB");
            mirror.build_vector_index(memory).await?;
            Ok::<bool, EngineError>(true)
        }
        .await;
        local.close().await;
        copy?;
        report.rebuilt_index = index?;
        report.elapsed_secs = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Compare this data directory with the remote: row counts per table, each document's content and
    /// chunks, and `sample` vectors.
    pub async fn parity(&self, sample: i64) -> Result<ParityReport, EngineError> {
        let mirror: &Mirror = self.mirror()?;
        let local_counts = self.store.table_counts().await?;
        let remote_counts: HashMap<String, i64> =
            mirror.table_counts().await?.into_iter().collect();
        let mut report = ParityReport {
            tables: local_counts
                .into_iter()
                .map(|(table, local)| TableCount {
                    remote: remote_counts.get(&table).copied().unwrap_or(0),
                    table,
                    local,
                })
                .collect(),
            ..Default::default()
        };
        let mut remote = mirror.document_digests().await?;
        for (id, hash, chunks, keys) in self.store.document_digests().await? {
            match remote.remove(&id) {
                None => report.missing_remote.push(id),
                Some(r) => {
                    if r.content_hash != hash || r.chunk_count != chunks || r.chunk_keys != keys {
                        report.different.push(id);
                    }
                }
            }
        }
        report.extra_remote = remote.into_keys().collect();
        report.extra_remote.sort();
        let sampled = self.store.sample_vectors(sample).await?;
        let keys: Vec<(String, i32)> = sampled.iter().map(|(d, o, _)| (d.clone(), *o)).collect();
        let remote_vectors = mirror.vectors(&keys).await?;
        report.vectors_checked = sampled.len();
        report.vectors_different = sampled
            .iter()
            .filter(|(d, o, v)| remote_vectors.get(&(d.clone(), *o)) != Some(v))
            .count();
        Ok(report)
    }
}
