//! The read half of an ingest, the prepare stage: read, hash, parse, chunk and extract each file on a
//! parser pool of its own, handing each to the writer as soon as it is ready.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use docvec_embed::Embedder;
use rayon::prelude::*;
use tokio::sync::mpsc::{Sender, UnboundedReceiver};
use tokio::task::JoinHandle;

use docvec_chunk::{ChunkOptions, chunk_document, render_text};
use docvec_extract::{ExtractOptions, Extracted, extract};
use docvec_parse::{ParseOptions, decode_text, parse_bytes, read_file};
use docvec_types::{
    Chunk, Format, Metadata, ParsedDocument, TextSource, TokenCounter, content_hash, stable_id,
};

use super::{FileOutcome, StageTimes};
use crate::EngineError;

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
    /// The document's metadata: the ingest's, then its sidecar's.
    pub meta: Metadata,
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

/// What a stored document was made from: content hash, model, user tags and metadata. A file whose
/// own are the same is unchanged.
pub(super) type Known = (String, String, Vec<String>, Metadata);

/// What every file of one ingest is prepared with.
pub(super) struct PrepareContext {
    /// Stored documents by path, to skip unchanged files.
    pub known: HashMap<String, Known>,
    pub model: String,
    pub tags: Vec<String>,
    /// Metadata given for every file (a sidecar adds to it).
    pub meta: Metadata,
    pub force: bool,
    pub parse: ParseOptions,
    pub chunk: ChunkOptions,
    pub extract: ExtractOptions,
}

/// How prepared files reach the writer.
pub(super) struct Handoff {
    pub tx: Sender<Step>,
    /// Without the pipeline: the writer's word that it is done with the file handed over last. With
    /// it, `None`, and files are handed over as fast as the channel takes them.
    pub done: Option<UnboundedReceiver<()>>,
}

/// Prepare `files` off the async runtime: in parallel on a parser pool, or, without the pipeline, one
/// at a time, each once the writer is done with the one before. Files not yet read when `cancel` is
/// set are reported as not ingested.
pub(super) fn spawn_preparers(
    files: Vec<PathBuf>,
    cx: PrepareContext,
    embedder: Arc<dyn Embedder>,
    cancel: Option<Arc<AtomicBool>>,
    handoff: Handoff,
) -> JoinHandle<Result<(), EngineError>> {
    tokio::task::spawn_blocking(move || {
        let one = |path: &PathBuf| {
            let counter: &dyn TokenCounter = &*embedder;
            if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                let cause = "not ingested: stopped because docvec is shutting down".into();
                Step::Done(path.clone(), FileOutcome::Failed { cause })
            } else {
                prepare(path, &cx, counter)
            }
        };
        let Some(mut done) = handoff.done else {
            return prepare_in_parallel(&files, one, &handoff.tx);
        };
        for path in &files {
            // Read the next file only once the writer is done with this one. A closed channel means
            // the writer failed; its error is reported there.
            if handoff.tx.blocking_send(one(path)).is_err() || done.blocking_recv().is_none() {
                break;
            }
        }
        Ok(())
    })
}

/// Prepare `files` on a parser pool, sending each as it is ready.
fn prepare_in_parallel(
    files: &[PathBuf],
    one: impl Fn(&PathBuf) -> Step + Sync,
    tx: &Sender<Step>,
) -> Result<(), EngineError> {
    // Readers block on the channel when the embedder falls behind; on their own pool they cannot
    // starve the global rayon pool that the HNSW inserts of the writer need.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(parse_threads())
        .thread_name(|i| format!("docvec-parse-{i}"))
        .build()
        .map_err(|e| EngineError::Internal(format!("cannot start parser threads: {e}")))?;
    pool.install(|| {
        files.par_iter().for_each(|path| {
            // A closed channel means the writer failed; its error is reported there.
            let _ = tx.blocking_send(one(path));
        })
    });
    Ok(())
}

fn parse_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Read, hash, parse, chunk and extract one file (runs on rayon).
fn prepare(path: &Path, cx: &PrepareContext, counter: &dyn TokenCounter) -> Step {
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
    let meta = match with_sidecar(path, &cx.meta) {
        Ok(meta) => meta,
        Err(e) => return failed(e),
    };
    lap(&mut times.read);
    let previous = cx.known.get(&stored_path);
    if !cx.force
        && previous
            .is_some_and(|(h, m, t, d)| *h == hash && *m == cx.model && *t == cx.tags && *d == meta)
    {
        return Step::Done(path.to_path_buf(), FileOutcome::Unchanged { document_id });
    }
    let (format, mut doc) = match parse_bytes(path, &bytes, &cx.parse) {
        Ok(parsed) => parsed,
        Err(e) => return failed(e.to_string()),
    };
    lap(&mut times.parse);
    render_text(&mut doc);
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
        meta,
        replaces: previous.is_some(),
        times,
    }))
}

/// `base` with the keys of the file's sidecar (`<name>.meta.json`) on top, checked.
fn with_sidecar(path: &Path, base: &Metadata) -> Result<Metadata, String> {
    let mut name = path.as_os_str().to_owned();
    name.push(crate::discover::SIDECAR_SUFFIX);
    let sidecar = PathBuf::from(name);
    let text = match std::fs::read_to_string(&sidecar) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(base.clone()),
        Err(e) => return Err(format!("{}: {e}", sidecar.display())),
    };
    let own: Metadata = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a JSON object of metadata: {e}", sidecar.display()))?;
    let mut meta = base.clone();
    meta.extend(own);
    docvec_types::check_metadata(&meta).map_err(|e| format!("{}: {e}", sidecar.display()))?;
    Ok(meta)
}
