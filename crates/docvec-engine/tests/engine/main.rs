//! The engine end to end on real files (the repo's samples/ and files the tests write). Tests of the
//! engine's own machinery (storage, replay, recovery, filters, refusals) embed with `HashEmbedder`,
//! words hashed into vectors, and need no model; those that check what a model finds by meaning (here
//! and in `models`, `mirror`) use the real one and need `python3 tools/setup_models.py` (the README's
//! test command runs it first).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use docvec_engine::{
    Access, ChunkFilter, Config, Embedder, Engine, EngineError, FileOutcome, HashEmbedder,
    IngestOptions, IngestReport, QueryVector, SearchHit, SearchMode, SearchRequest,
};
use docvec_testkit::samples_dir;

/// Dimensions of the stand-in model: enough that the few words of a query rarely share a component
/// with the other words of a chunk.
const DIM: usize = 1024;
/// The model id `HashEmbedder::new(DIM)` records.
const HASHED: &str = "hash-1024";

/// The `k` chunks nearest to `query` in meaning, through the one search path every surface takes.
pub(crate) async fn nearest(engine: &Engine, query: &str, k: usize) -> Vec<SearchHit> {
    let request = SearchRequest::text(query, k).mode(SearchMode::Vector);
    engine.search(&request).await.unwrap().hits
}

pub(crate) fn config(data: &Path) -> Config {
    Config::load(Some(Path::new("/dev/null")), Some(data)).unwrap()
}

async fn open(data: &Path, access: Access) -> Engine {
    Engine::open(config(data), access)
        .await
        .unwrap_or_else(|e| panic!("{e} (run `python3 tools/setup_models.py`)"))
}

/// The stand-in model: words hashed into `DIM` dimensions.
pub(crate) fn hashed() -> Arc<dyn Embedder> {
    Arc::new(HashEmbedder::new(DIM))
}

/// Open with the stand-in model: for tests of the engine, not of what a model finds.
pub(crate) async fn open_hashed(data: &Path, access: Access) -> Engine {
    Engine::open_with(config(data), access, hashed())
        .await
        .unwrap()
}

pub(crate) async fn ingest(engine: &Engine, paths: &[PathBuf]) -> IngestReport {
    engine
        .ingest(paths, &IngestOptions::default(), &|_| {})
        .await
        .unwrap()
}

pub(crate) async fn top_path(engine: &Engine, query: &str) -> String {
    nearest(engine, query, 3)
        .await
        .first()
        .map(|h| h.document_path.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn samples_are_found_by_meaning_with_their_place() {
    let data = tempfile::tempdir().unwrap();
    let engine = open(data.path(), Access::ReadWrite).await;
    let report = ingest(&engine, &[samples_dir()]).await;
    assert_eq!(report.failures().count(), 0, "{:?}", report.files);
    assert_eq!(report.count(|o| matches!(o, FileOutcome::Added { .. })), 4);
    // The model's work is counted: every chunk's tokens at least once, padding on top, and the
    // engine's totals hold this ingest's.
    let t = report.tokens;
    assert!(
        t.calls >= 1 && t.real as usize >= report.chunks_embedded,
        "{t:?}"
    );
    assert!(t.padded >= t.real, "{t:?}");
    let total = engine.token_counts();
    assert!(
        total.real >= t.real && total.calls >= t.calls,
        "{total:?} {t:?}"
    );

    assert!(
        top_path(
            &engine,
            "how does a graph index find similar vectors quickly"
        )
        .await
        .ends_with("approximate-nearest-neighbours.md")
    );
    assert!(
        top_path(&engine, "baking a loaf with wild yeast")
            .await
            .ends_with("sourdough-bread.txt")
    );
    let hits = nearest(&engine, "which moon is bigger than a planet", 3).await;
    let top = &hits[0];
    assert!(top.document_path.ends_with("solar-system.pdf"), "{hits:#?}");
    assert_eq!(top.page, Some(2), "the Ganymede sentence is on page 2");
    assert!(top.text.contains("Ganymede"));
    assert_eq!(top.document_title.as_deref(), Some("The Solar System"));
    let hits = nearest(&engine, "measure the share of true neighbours returned", 1).await;
    assert_eq!(
        hits[0].section.as_deref(),
        Some("Approximate nearest neighbour search > Measuring recall")
    );
    assert!(hits[0].score > 0.3 && hits[0].score <= 1.0);
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_files_do_no_work_and_changed_files_replace_their_old_version() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let file = docs.path().join("notes.md");
    let para = |topic: &str| {
        format!("# Notes\n\n## Cats\n\nCats sleep most of the day.\n\n## Topic\n\n{topic}\n")
    };
    std::fs::write(&file, para("The harbour freezes over in January.")).unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    let first = ingest(&engine, &[docs.path().to_path_buf()]).await;
    assert!(
        matches!(first.files[0].1, FileOutcome::Added { chunks: 2, .. }),
        "{:?}",
        first.files
    );

    let again = ingest(&engine, &[docs.path().to_path_buf()]).await;
    assert!(matches!(again.files[0].1, FileOutcome::Unchanged { .. }));
    assert_eq!(again.chunks_embedded, 0);

    std::fs::write(&file, para("Volcanic eruptions spread ash across the sky.")).unwrap();
    let changed = ingest(&engine, &[docs.path().to_path_buf()]).await;
    // Only the changed section is embedded again; the Cats chunk keeps its vector.
    assert!(
        matches!(
            changed.files[0].1,
            FileOutcome::Updated {
                chunks: 2,
                embedded: 1,
                ..
            }
        ),
        "{:?}",
        changed.files
    );
    let hits = nearest(&engine, "frozen harbour in winter", 10).await;
    assert!(
        hits.iter().all(|h| !h.text.contains("harbour")),
        "the old version is gone from results"
    );
    assert!(
        nearest(&engine, "ash from a volcano", 1).await[0]
            .text
            .contains("Volcanic")
    );
    let stats = engine.stats().await.unwrap();
    assert_eq!((stats.documents, stats.chunks), (1, 2));
    assert_eq!(engine.index_len(), 2);
    engine.close().await.unwrap();
}

async fn assert_bread_is_gone(engine: &Engine) {
    let hits = nearest(engine, "sourdough starter flour water", 20).await;
    assert!(
        hits.iter()
            .all(|h| !h.document_path.ends_with("sourdough-bread.txt"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_documents_never_come_back() {
    let data = tempfile::tempdir().unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    ingest(&engine, &[samples_dir()]).await;
    let bread = samples_dir().join("sourdough-bread.txt");
    let (path, chunks) = engine
        .delete(bread.to_str().unwrap())
        .await
        .unwrap()
        .expect("deleted");
    assert!(path.ends_with("sourdough-bread.txt") && chunks > 0);
    assert_bread_is_gone(&engine).await;
    assert_eq!(engine.delete("no-such-document").await.unwrap(), None);
    engine.close().await.unwrap();

    // Nor after a restart, when the index is loaded from disk.
    let engine = open_hashed(data.path(), Access::ReadOnly).await;
    assert_bread_is_gone(&engine).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_index_is_rebuilt_when_missing_or_damaged() {
    let data = tempfile::tempdir().unwrap();
    {
        let engine = open_hashed(data.path(), Access::ReadWrite).await;
        ingest(&engine, &[samples_dir()]).await;
        engine.close().await.unwrap();
    }
    let total = |e: &Engine| e.index_len();
    std::fs::remove_dir_all(data.path().join("index")).unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    let n = total(&engine);
    assert!(n > 0);
    assert!(
        top_path(&engine, "baking bread")
            .await
            .ends_with("sourdough-bread.txt")
    );
    engine.close().await.unwrap();

    std::fs::write(data.path().join("index/MANIFEST.json"), b"garbage").unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    assert_eq!(total(&engine), n);
    engine.close().await.unwrap();

    for entry in std::fs::read_dir(data.path().join("index")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            std::fs::write(p.join("hnsw.hnsw.data"), b"truncated").unwrap();
        }
    }
    let engine = open_hashed(data.path(), Access::ReadOnly).await;
    assert_eq!(total(&engine), n);
    assert!(
        top_path(&engine, "planets orbiting the sun")
            .await
            .ends_with("solar-system.pdf")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_sees_what_a_writer_ingested_after_it_opened() {
    let data = tempfile::tempdir().unwrap();
    let writer = open_hashed(data.path(), Access::ReadWrite).await;
    ingest(&writer, &[samples_dir().join("sourdough-bread.txt")]).await;
    let reader = open_hashed(data.path(), Access::ReadOnly).await;
    assert_eq!(reader.index_len(), writer.index_len());
    // The writer adds a document (and saves its index, pruning the log) after the reader loaded its
    // index; the reader's next search brings its index up to date.
    ingest(&writer, &[samples_dir().join("solar-system.pdf")]).await;
    assert!(
        top_path(&reader, "gas giants and ice giants")
            .await
            .ends_with("solar-system.pdf")
    );
    assert_eq!(reader.index_len(), writer.index_len());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_files_are_reported_and_the_batch_goes_on() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    std::fs::write(docs.path().join("empty.txt"), b"").unwrap();
    std::fs::write(docs.path().join("binary.txt"), b"\x00\x01\x02ELF").unwrap();
    std::fs::write(
        docs.path().join("broken.pdf"),
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage",
    )
    .unwrap();
    std::fs::write(
        docs.path().join("good.md"),
        b"# Good\n\nA perfectly fine file about lighthouses.",
    )
    .unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    let missing = docs.path().join("missing.md");
    let report = ingest(&engine, &[docs.path().to_path_buf(), missing.clone()]).await;
    let cause = |name: &str| {
        report
            .failures()
            .find(|(p, _)| p.ends_with(name))
            .map(|(_, c)| c.to_string())
            .unwrap_or_else(|| panic!("{name} not reported: {:?}", report.files))
    };
    assert!(cause("empty.txt").contains("empty"));
    assert!(cause("binary.txt").contains("binary"));
    assert!(cause("broken.pdf").contains("pdf"));
    assert!(cause("missing.md").contains("No such file"));
    assert_eq!(report.failures().count(), 4);
    let stats = engine.stats().await.unwrap();
    assert_eq!(
        stats.documents, 1,
        "only the good file is stored, nothing partial of the others"
    );
    assert!(top_path(&engine, "lighthouse").await.ends_with("good.md"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_without_the_pipeline_stores_the_same_documents() {
    let docs = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(samples_dir()).unwrap() {
        let from = entry.unwrap().path();
        std::fs::copy(&from, docs.path().join(from.file_name().unwrap())).unwrap();
    }
    std::fs::write(docs.path().join("broken.pdf"), b"%PDF-1.7\ngarbage").unwrap();
    let mut outcomes = Vec::new();
    for pipeline in [true, false] {
        let data = tempfile::tempdir().unwrap();
        let mut cfg = config(data.path());
        cfg.ingest.pipeline = pipeline;
        let engine = Engine::open_with(cfg, Access::ReadWrite, hashed())
            .await
            .unwrap();
        let report = ingest(&engine, &[docs.path().to_path_buf()]).await;
        assert!(
            top_path(&engine, "baking a loaf with wild yeast")
                .await
                .ends_with("sourdough-bread.txt")
        );
        engine.close().await.unwrap();
        let files: Vec<String> = report
            .files
            .iter()
            .map(|(p, o)| {
                let name = p.file_name().unwrap().to_string_lossy();
                match o {
                    FileOutcome::Added { chunks, .. } => format!("{name}: {chunks} chunks"),
                    FileOutcome::Failed { .. } => format!("{name}: failed"),
                    other => format!("{name}: {other:?}"),
                }
            })
            .collect();
        assert_eq!(files.len(), 5, "{files:?}");
        outcomes.push((files, report.chunks_embedded));
    }
    assert_eq!(outcomes[0], outcomes[1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_dir_belongs_to_one_model_and_one_writer() {
    let data = tempfile::tempdir().unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    ingest(&engine, &[samples_dir().join("docvec-quickstart.md")]).await;
    let busy = Engine::open_with(config(data.path()), Access::ReadWrite, hashed())
        .await
        .err()
        .expect("second writer refused");
    assert!(matches!(busy, EngineError::Busy(_)), "{busy}");
    engine.close().await.unwrap();

    let other = Arc::new(HashEmbedder::new(DIM).with_model_id("some-other-model"));
    let err = Engine::open_with(config(data.path()), Access::ReadOnly, other)
        .await
        .err()
        .expect("model mismatch refused");
    assert!(matches!(err, EngineError::ModelMismatch { .. }), "{err}");
    assert!(err.to_string().contains(HASHED) && err.to_string().contains("some-other-model"));

    let engine = open_hashed(data.path(), Access::ReadOnly).await;
    let other = QueryVector {
        model_id: "some-other-model".into(),
        values: vec![0.0; DIM],
        text: String::new(),
    };
    let err = engine
        .search_embedded(other, 3, &ChunkFilter::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("embedded by `some-other-model`"),
        "{err}"
    );
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    let err = engine
        .search(&SearchRequest::text("   ", 3))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidRequest(_)), "{err}");
    let err = engine
        .search(&SearchRequest::text("bread", 0))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidRequest(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_committed_to_the_store_but_not_the_index_are_replayed_on_open() {
    let data = tempfile::tempdir().unwrap();
    {
        let engine = open_hashed(data.path(), Access::ReadWrite).await;
        ingest(&engine, &[samples_dir().join("sourdough-bread.txt")]).await;
        engine.close().await.unwrap();
    }
    // What a crash between the store commit and the index save leaves: a committed document whose
    // chunks only the store's log knows about.
    let mut vector = vec![0.0f32; DIM];
    vector[7] = 1.0;
    {
        let store = docvec_store::Store::open(&data.path().join("docvec.db"))
            .await
            .unwrap();
        let meta = serde_json::Map::new();
        let doc = docvec_store::NewDocument {
            id: "crash-doc",
            path: "/crash/doc.md",
            content_hash: "h",
            format: docvec_engine::Format::Markdown,
            title: None,
            size_bytes: 1,
            metadata: &meta,
            tags: &[],
            model_id: HASHED,
            sections: vec![docvec_store::NewSection {
                heading: None,
                level: 0,
                heading_path: String::new(),
                page_start: None,
                page_end: None,
            }],
            chunks: vec![docvec_store::NewChunk {
                key: "k",
                section: 0,
                ordinal: 0,
                text: "committed before the crash",
                context: "",
                input_hash: "x".into(),
                page_start: None,
                page_end: None,
                token_count: 4,
                vector: &vector,
                span: None,
            }],
            endpoints: &[],
            log_entries: &[],
            tables: &[],
            media_type: "text/markdown",
            document_tags: &[],
            chunk_tags: &[],
            facts: &[],
            text: None,
            meta: &Default::default(),
        };
        store.put_document(&doc).await.unwrap();
        store.close().await;
    }
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    let query = QueryVector {
        model_id: HASHED.into(),
        values: vector,
        text: String::new(),
    };
    let hits = engine
        .search_embedded(query, 1, &ChunkFilter::default())
        .await
        .unwrap();
    assert_eq!(hits[0].text, "committed before the crash");
    assert!((hits[0].score - 1.0).abs() < 1e-4);
    engine.close().await.unwrap();
    // The replayed position was saved: the log holds nothing the index still needs.
    let store = docvec_store::Store::open(&data.path().join("docvec.db"))
        .await
        .unwrap();
    assert!(store.log_after(0, 10).await.unwrap().is_empty());
}

mod limits;
mod meta;
mod mirror;
pub(crate) mod models;
mod query_cache;
mod reuse;
mod spans;
mod text;
