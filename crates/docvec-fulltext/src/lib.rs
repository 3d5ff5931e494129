//! The full-text index: BM25 over the text of every chunk (tantivy, English stemming), beside the HNSW
//! index and kept in step with the store the same way: it replays the store's `index_log` and records
//! the last entry it applied in the payload of the very commit that applied it, so after a crash it
//! holds exactly the changes up to that entry and catches up from there. One writer, many readers.

mod bm25;
mod query;
mod read_only;
mod snippet;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tantivy::collector::{FilterCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use bm25::Bm25;

/// Bumped when the schema changes; an index of another format is rebuilt from the store.
/// 2: the heading context became a field of its own.
const FORMAT: u32 = 2;
/// Memory the writer buffers before it flushes a segment.
const WRITER_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TextIndexError {
    #[error("full-text index at {path}: {cause}")]
    Io { path: PathBuf, cause: String },
    /// A commit found the disk full. The writer is rolled back to the last commit, which keeps
    /// serving with the log position it recorded; the store's log replays the rest later.
    #[error("no space left on device for the full-text index at {path}: {cause}")]
    DiskFull { path: PathBuf, cause: String },
}

impl TextIndexError {
    pub fn is_disk_full(&self) -> bool {
        matches!(self, TextIndexError::DiskFull { .. })
    }
}

/// Whether a tantivy error's text shows ENOSPC: tantivy wraps the `io::Error` in several of its own
/// types (some only `Debug`-formatted), so its kind is not reachable, but its words are.
fn shows_disk_full(cause: &str) -> bool {
    cause.contains("os error 28") || cause.contains("StorageFull")
}

/// What each commit records.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    format: u32,
    applied_seq: i64,
}

/// A chunk as the full-text index sees it.
#[derive(Debug, Clone)]
pub struct TextChunk {
    pub id: i64,
    /// The heading context (document title and section path), also searched on its own: a word of
    /// the heading says what the whole chunk is about (see [`Bm25::heading_weight`]).
    pub heading: String,
    /// Heading context and text, as embedded.
    pub text: String,
}

pub struct TextIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    /// `None` when opened read-only: another process writes, this one reloads what it commits.
    writer: Option<Mutex<IndexWriter>>,
    id: Field,
    text: Field,
    /// `None` for an index of an earlier format opened read-only: the writer rebuilds it, and until
    /// then its text alone is searched.
    heading: Option<Field>,
    applied_seq: Mutex<i64>,
    /// Why the files found at open were replaced by an empty index to refill (damage), if they were.
    damaged_at_open: Option<String>,
}

fn schema() -> (Schema, Field, Field, Field) {
    let mut b = Schema::builder();
    let id = b.add_u64_field("chunk_id", INDEXED | STORED | FAST);
    let words = || {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("en_stem")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let text = b.add_text_field("text", words());
    let heading = b.add_text_field("heading", words());
    (b.build(), id, text, heading)
}

impl TextIndex {
    /// Open the index in `dir`, creating it (empty, at log position 0) when it is missing, unreadable
    /// or of another format: the caller then refills it from the store.
    pub fn open(dir: &Path) -> Result<Self, TextIndexError> {
        let err = |cause: String| TextIndexError::Io {
            path: dir.to_path_buf(),
            cause,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let (schema, id, text, heading) = schema();
        let opened = MmapDirectory::open(dir)
            .map_err(|e| e.to_string())
            .and_then(|d| Index::open_or_create(d, schema.clone()).map_err(|e| e.to_string()))
            .and_then(|index| {
                let payload = payload(&index)?;
                // Segment files are opened with the reader: a damaged one fails here, not at a search.
                manual_reader(&index)?;
                Ok((index, payload))
            });
        let mut damaged_at_open = None;
        let (index, applied) = match opened {
            Ok((index, Some(p))) if p.format == FORMAT => (index, p.applied_seq),
            Ok((index, None)) if index.searchable_segment_ids().is_ok_and(|s| s.is_empty()) => {
                (index, 0)
            }
            Ok(_) => {
                tracing::info!(
                    "full-text index in {} was written by another docvec version; rebuilding it from \
                     the store",
                    dir.display()
                );
                fresh_index(dir, schema).map_err(err)?
            }
            Err(why) => {
                let why = format!("full-text index in {} is damaged ({why})", dir.display());
                tracing::warn!("{why}; rebuilding it from the store");
                damaged_at_open = Some(why);
                fresh_index(dir, schema).map_err(err)?
            }
        };
        let writer = index
            .writer_with_num_threads(1, WRITER_BYTES)
            .map_err(|e| err(e.to_string()))?;
        let reader = manual_reader(&index).map_err(err)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
            reader,
            writer: Some(Mutex::new(writer)),
            id,
            text,
            heading: Some(heading),
            applied_seq: Mutex::new(applied),
            damaged_at_open,
        })
    }

    /// Open for searching only, beside a writer in another process; `refresh` picks up its commits. With
    /// no index on disk yet, an empty one in memory stands in. Writes nothing to `dir`, so it works on
    /// read-only media.
    pub fn open_read_only(dir: &Path) -> Result<Self, TextIndexError> {
        let err = |cause: String| TextIndexError::Io {
            path: dir.to_path_buf(),
            cause,
        };
        let (schema, id, text, _) = schema();
        let on_disk = dir.join("meta.json").exists();
        let index = if on_disk {
            // Nothing is written, not even the lock file a tantivy reader makes (see `read_only`).
            let d = read_only::ReadOnlyDirectory::open(dir).map_err(err)?;
            Index::open(d).map_err(|e| err(e.to_string()))?
        } else {
            Index::create_in_ram(schema)
        };
        let applied = if on_disk {
            payload(&index).map_err(err)?.map_or(0, |p| p.applied_seq)
        } else {
            0
        };
        let heading = index.schema().get_field("heading").ok();
        let reader = manual_reader(&index).map_err(err)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
            reader,
            writer: None,
            id,
            text,
            heading,
            applied_seq: Mutex::new(applied),
            damaged_at_open: None,
        })
    }

    /// What was damaged when [`TextIndex::open`] replaced the files it found with an empty index.
    pub fn damaged_at_open(&self) -> Option<&str> {
        self.damaged_at_open.as_deref()
    }

    /// Read-only: see what the writer committed since the last look.
    pub fn refresh(&self) -> Result<(), TextIndexError> {
        self.reader.reload().map_err(|e| self.err(e))?;
        if let Some(p) = payload(&self.index).map_err(|e| self.err(e))? {
            *self.applied_seq.lock().unwrap_or_else(|p| p.into_inner()) = p.applied_seq;
        }
        Ok(())
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, TextIndexError> {
        self.writer
            .as_ref()
            .map(|w| w.lock().unwrap_or_else(|p| p.into_inner()))
            .ok_or_else(|| self.err("opened read-only"))
    }

    fn err(&self, cause: impl ToString) -> TextIndexError {
        let (path, cause) = (self.dir.clone(), cause.to_string());
        if shows_disk_full(&cause) {
            TextIndexError::DiskFull { path, cause }
        } else {
            TextIndexError::Io { path, cause }
        }
    }

    /// A failed add: when the writer's thread died flushing a segment (on a full disk), the add only
    /// says "An index writer was killed"; joining the thread, as a commit does, gives its own error,
    /// which names the cause.
    fn worker_error(
        &self,
        writer: &mut IndexWriter,
        failed: tantivy::TantivyError,
    ) -> TextIndexError {
        match writer.prepare_commit() {
            Err(cause) => self.err(cause),
            Ok(_) => self.err(failed),
        }
    }

    /// After a failed write: drop what the writer holds since the last commit and start its threads
    /// afresh. A tantivy writer whose thread met an I/O error (a full disk) is dead otherwise, and every
    /// later write would fail with "An index writer was killed" even once space is freed.
    fn roll_back(&self, writer: &mut IndexWriter, failed: TextIndexError) -> TextIndexError {
        if let Err(e) = writer.rollback() {
            tracing::warn!(
                "full-text index in {}: rollback failed: {e}",
                self.dir.display()
            );
        }
        failed
    }

    /// The last store log entry whose effect is committed here.
    pub fn applied_seq(&self) -> i64 {
        *self.applied_seq.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Chunks searchable now.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sum every file of the index against the checksum in its footer (what `docvec check` does; an open
    /// reads only what it needs). Names the damaged files.
    pub fn verify(&self) -> Result<(), TextIndexError> {
        let damaged = self.index.validate_checksum().map_err(|e| self.err(e))?;
        if damaged.is_empty() {
            return Ok(());
        }
        let mut files: Vec<String> = damaged
            .iter()
            .map(|f| self.dir.join(f).display().to_string())
            .collect();
        files.sort();
        Err(TextIndexError::Io {
            path: self.dir.clone(),
            cause: format!("checksum mismatch in {}", files.join(", ")),
        })
    }

    /// Ids of every chunk searchable now, ascending (for consistency checks against the store).
    pub fn ids(&self) -> Result<Vec<i64>, TextIndexError> {
        let searcher = self.reader.searcher();
        let mut ids = Vec::with_capacity(searcher.num_docs() as usize);
        for segment in searcher.segment_readers() {
            let column = segment
                .fast_fields()
                .u64("chunk_id")
                .map_err(|e| self.err(e))?;
            ids.extend(
                segment
                    .doc_ids_alive()
                    .filter_map(|doc| column.first(doc))
                    .map(|id| id as i64),
            );
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// Apply a page of the store's log, up to entry `seq`, in one commit that records `seq`. `from` is
    /// the position the page starts after; when another writer moved the index meanwhile nothing is
    /// applied and `false` comes back. Re-adding a chunk replaces it, so replays are idempotent.
    pub fn apply(
        &self,
        from: i64,
        adds: &[TextChunk],
        deletes: &[i64],
        seq: i64,
    ) -> Result<bool, TextIndexError> {
        let mut writer = self.writer()?;
        let mut applied = self.applied_seq.lock().unwrap_or_else(|p| p.into_inner());
        if *applied != from {
            return Ok(false);
        }
        for id in deletes.iter().chain(adds.iter().map(|c| &c.id)) {
            writer.delete_term(Term::from_field_u64(self.id, *id as u64));
        }
        let mut added = Ok(());
        for c in adds {
            let mut doc = TantivyDocument::default();
            doc.add_u64(self.id, c.id as u64);
            doc.add_text(self.text, &c.text);
            if let Some(heading) = self.heading {
                doc.add_text(heading, &c.heading);
            }
            if let Err(e) = writer.add_document(doc) {
                added = Err(self.worker_error(&mut writer, e));
                break;
            }
        }
        if let Err(e) = added.and_then(|()| self.commit(&mut writer, seq)) {
            return Err(self.roll_back(&mut writer, e));
        }
        *applied = seq;
        Ok(true)
    }

    /// Remove everything (before a refill from the store), recording position 0.
    pub fn clear(&self) -> Result<(), TextIndexError> {
        let mut writer = self.writer()?;
        let mut applied = self.applied_seq.lock().unwrap_or_else(|p| p.into_inner());
        let cleared = writer
            .delete_all_documents()
            .map_err(|e| self.err(e))
            .and_then(|_| self.commit(&mut writer, 0));
        if let Err(e) = cleared {
            return Err(self.roll_back(&mut writer, e));
        }
        *applied = 0;
        Ok(())
    }

    fn commit(&self, writer: &mut IndexWriter, seq: i64) -> Result<(), TextIndexError> {
        let payload = serde_json::to_string(&Payload {
            format: FORMAT,
            applied_seq: seq,
        })
        .map_err(|e| self.err(e))?;
        let mut prepared = writer.prepare_commit().map_err(|e| self.err(e))?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(|e| self.err(e))?;
        self.reader.reload().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// How many distinct terms `query` searches for, parsed and stemmed as [`Self::search`] parses it:
    /// what a keyword search's cost grows with (one posting list each), so a caller can bound it
    /// before searching.
    pub fn query_terms(&self, query: &str) -> usize {
        self.terms_of(query).map_or(0, |terms| terms.len())
    }

    /// The `k` best chunks for `query` by BM25 at its default parameters; see [`Self::search_with`].
    pub fn search(
        &self,
        query: &str,
        k: usize,
        allowed: Option<&HashSet<i64>>,
    ) -> Result<Vec<(i64, f32)>, TextIndexError> {
        self.search_with(query, k, allowed, Bm25::default())
    }

    /// The `k` best chunks for `query` by BM25 with `params`, among `allowed` when given (the filter
    /// applies before the top k is chosen). The query is words (see `query.rs`), never syntax.
    pub fn search_with(
        &self,
        query: &str,
        k: usize,
        allowed: Option<&HashSet<i64>>,
        params: Bm25,
    ) -> Result<Vec<(i64, f32)>, TextIndexError> {
        let searcher = self.reader.searcher();
        let q = self.words_query(query, params)?;
        let top = TopDocs::with_limit(k.max(1));
        let found = match allowed {
            None => searcher.search(&q, &top).map_err(|e| self.err(e))?,
            Some(ids) => {
                let ids = ids.clone();
                let filtered = FilterCollector::new(
                    "chunk_id".to_string(),
                    move |id: u64| ids.contains(&(id as i64)),
                    top,
                );
                searcher.search(&q, &filtered).map_err(|e| self.err(e))?
            }
        };
        found
            .into_iter()
            .map(|(score, addr)| {
                let doc: TantivyDocument = searcher.doc(addr).map_err(|e| self.err(e))?;
                let id = doc
                    .get_first(self.id)
                    .and_then(|v| v.as_u64())
                    .ok_or_else(|| self.err("a document without its chunk id"))?;
                Ok((id as i64, score))
            })
            .collect()
    }
}

/// A reader that moves to a new commit only when told (`reload`), so a search never sees half a page.
/// Replace whatever is in `dir` with an empty index at log position 0, for the caller to refill.
fn fresh_index(dir: &Path, schema: Schema) -> Result<(Index, i64), String> {
    std::fs::remove_dir_all(dir).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let d = MmapDirectory::open(dir).map_err(|e| e.to_string())?;
    let index = Index::create(d, schema, Default::default()).map_err(|e| e.to_string())?;
    Ok((index, 0))
}

fn manual_reader(index: &Index) -> Result<IndexReader, String> {
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(|e: tantivy::TantivyError| e.to_string())
}

fn payload(index: &Index) -> Result<Option<Payload>, String> {
    let metas = index.load_metas().map_err(|e| e.to_string())?;
    match metas.payload {
        None => Ok(None),
        Some(p) => serde_json::from_str(&p)
            .map(Some)
            .map_err(|e| format!("commit payload: {e}")),
    }
}

#[cfg(test)]
mod tests;
