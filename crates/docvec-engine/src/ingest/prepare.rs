//! The read half of an ingest, run on the parser pool: read, hash, parse, chunk and extract one file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use docvec_chunk::{ChunkOptions, chunk_document};
use docvec_extract::{ExtractOptions, Extracted, extract};
use docvec_parse::{ParseOptions, decode_text, parse_bytes, read_file};
use docvec_types::{
    Chunk, Format, ParsedDocument, TextSource, TokenCounter, content_hash, stable_id,
};

use super::{FileOutcome, StageTimes};

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
    pub extracted: Extracted,
    /// An earlier version of the document is stored (its unchanged chunks' vectors can be reused).
    pub replaces: bool,
    pub times: PrepareTimes,
}

/// Time one file spent in each reading stage.
#[derive(Default)]
pub(super) struct PrepareTimes {
    read: Duration,
    parse: Duration,
    chunk: Duration,
    extract: Duration,
}

impl PrepareTimes {
    pub fn add_to(&self, stages: &mut StageTimes) {
        stages.read_s += self.read.as_secs_f64();
        stages.parse_s += self.parse.as_secs_f64();
        stages.chunk_s += self.chunk.as_secs_f64();
        stages.extract_s += self.extract.as_secs_f64();
    }
}

pub(super) enum Step {
    Ready(Box<Prepared>),
    Done(PathBuf, FileOutcome),
}

/// What every file of one ingest is prepared with.
pub(super) struct PrepareContext {
    /// Stored documents by path: (content hash, model, user tags), to skip unchanged files.
    pub known: HashMap<String, (String, String, Vec<String>)>,
    pub model: String,
    pub tags: Vec<String>,
    pub force: bool,
    pub parse: ParseOptions,
    pub chunk: ChunkOptions,
    pub extract: ExtractOptions,
}

pub(super) fn parse_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Read, hash, parse, chunk and extract one file (runs on rayon).
pub(super) fn prepare(path: &Path, cx: &PrepareContext, counter: &dyn TokenCounter) -> Step {
    let canonical = crate::canonical(path);
    let stored_path = canonical.to_string_lossy().into_owned();
    let document_id = stable_id(&[stored_path.as_bytes()]);
    let failed = |cause: String| Step::Done(path.to_path_buf(), FileOutcome::Failed { cause });
    let mut times = PrepareTimes::default();
    let mut clock = Instant::now();
    let mut lap = |into: &mut Duration| {
        let now = Instant::now();
        *into = now - clock;
        clock = now;
    };
    let bytes = match read_file(path, &cx.parse) {
        Ok(bytes) => bytes,
        Err(e) => return failed(e.to_string()),
    };
    let hash = content_hash(&bytes);
    lap(&mut times.read);
    let previous = cx.known.get(&stored_path);
    if !cx.force && previous.is_some_and(|(h, m, t)| *h == hash && *m == cx.model && *t == cx.tags)
    {
        return Step::Done(path.to_path_buf(), FileOutcome::Unchanged { document_id });
    }
    let (format, mut doc) = match parse_bytes(path, &bytes, &cx.parse) {
        Ok(parsed) => parsed,
        Err(e) => return failed(e.to_string()),
    };
    lap(&mut times.parse);
    let chunks = chunk_document(&document_id, &doc, counter, &cx.chunk);
    lap(&mut times.chunk);
    if chunks.is_empty() {
        return failed("no text to index".into());
    }
    // Text formats give facts their file's own line numbers.
    let source = matches!(format.text_source(), TextSource::FileLines { .. })
        .then(|| decode_text(&bytes, format).ok())
        .flatten();
    let extracted = extract(&doc, &chunks, source.as_deref(), &cx.tags, &cx.extract);
    lap(&mut times.extract);
    doc.warnings.extend(extracted.warnings.iter().cloned());
    for warning in &doc.warnings {
        tracing::warn!("{}: {warning}", path.display());
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
        extracted,
        replaces: previous.is_some(),
        times,
    }))
}
