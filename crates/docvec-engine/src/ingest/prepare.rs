//! The read half of an ingest, run on the parser pool: read, hash, parse and chunk one file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use docvec_chunk::chunk_document;
use docvec_parse::{ParseOptions, parse_bytes, read_file};
use docvec_types::{Chunk, Format, ParsedDocument, TokenCounter, content_hash, stable_id};

use super::FileOutcome;

/// A file read, parsed and chunked, waiting for vectors.
pub(super) struct Prepared {
    pub path: PathBuf,
    pub stored_path: String,
    pub document_id: String,
    pub content_hash: String,
    pub size: u64,
    pub format: Format,
    pub doc: ParsedDocument,
    pub chunks: Vec<Chunk>,
    /// An earlier version of the document is stored (its unchanged chunks' vectors can be reused).
    pub replaces: bool,
}

pub(super) enum Step {
    Ready(Box<Prepared>),
    Done(PathBuf, FileOutcome),
}

pub(super) fn parse_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Read, hash, parse and chunk one file (runs on rayon).
#[allow(clippy::too_many_arguments)]
pub(super) fn prepare(
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
    for warning in &doc.warnings {
        tracing::warn!("{}: {warning}", path.display());
    }
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
