//! Every hit points at its source: on corpus files of every format, 50 hits drawn at random from many
//! searches each carry a span whose text, in the document's stored text (and, for formats read as
//! text, in the original file at the same offsets and lines), holds the chunk's text.

use std::collections::BTreeMap;
use std::path::PathBuf;

use docvec_engine::{Access, Format, SearchHit, SearchMode, SearchRequest, Span};
use docvec_types::LineIndex;

use crate::{ingest, open_hashed};

/// Files of every format the corpus has, small enough for a debug build.
const FILES: &[&str] = &[
    "docs/mdbook-guide/guide",
    "docs/sqlite-html/faq.html",
    "logs/Linux/Linux_2k.log",
    "logs/Apache",
    "tables/datatable-quoted_multiline.csv",
    "tables/rustcsv-uspop-latin1.csv",
    "tables/readxl-deaths.xlsx",
    "tables/uci-student-por-semicolon.README.txt",
    "api/oai-petstore-expanded-swagger2.0.yaml",
    "api/oai-uber-swagger2.0.json",
    "api/newman-sample-postman-v2.0.json",
    "pdf/pypdf-pdflatex-4-pages.pdf",
    "pdf/pypdf-multicolumn.pdf",
    "pdf/ocrmypdf-linn.groundtruth.txt",
];

const QUERIES: &[&str] = &[
    "error",
    "session",
    "pets",
    "install",
    "book",
    "page",
    "population",
    "city",
    "student",
    "death",
    "actor",
    "request",
    "response",
    "price",
    "column",
    "sql",
    "kernel",
    "connection",
    "build",
    "chapter",
    "user",
    "time",
    "file",
    "the",
    "data",
    "products",
    "history",
    "school",
    "renderer",
    "preprocessor",
    "directory",
    "authentication",
    "failure",
    "alcohol",
    "table",
    "lorem",
    "ipsum",
    "dolor",
    "amet",
    "column",
    "text",
    "linn",
    "pdf",
];

/// Runs of letters and digits: what "holds the chunk's text" compares, so markup, tidied whitespace
/// and a list item's dash do not count.
fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether `inner`'s words stand in `outer`, in order.
fn in_order(inner: &str, outer: &str) -> bool {
    let mut outer = words(outer).into_iter();
    words(inner).into_iter().all(|w| outer.any(|o| o == w))
}

#[tokio::test(flavor = "multi_thread")]
async fn hits_point_at_their_source_span() {
    let Some(corpus) = docvec_testkit::corpus(&["docs", "logs", "tables", "api", "pdf"]) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    let paths: Vec<PathBuf> = FILES.iter().map(|f| corpus.join(f)).collect();
    let report = ingest(&engine, &paths).await;
    assert_eq!(report.failures().count(), 0, "{:?}", report.files);

    let mut pool: BTreeMap<i64, SearchHit> = BTreeMap::new();
    for q in QUERIES {
        let request = SearchRequest::text(*q, 10).mode(SearchMode::Keyword);
        for hit in engine.search(&request).await.unwrap().hits {
            pool.insert(hit.chunk_id, hit);
        }
    }
    let formats: std::collections::HashSet<Format> = pool.values().map(|h| h.format).collect();
    assert!(formats.len() >= 7, "hits from every format: {formats:?}");
    // 50 of them at random (a fixed seed, so a failure repeats).
    let mut hits: Vec<SearchHit> = pool.into_values().collect();
    assert!(hits.len() >= 50, "{} hits", hits.len());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut drawn = Vec::new();
    while drawn.len() < 50 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        drawn.push(hits.swap_remove((seed >> 33) as usize % hits.len()));
    }
    let drawn_formats: std::collections::HashSet<Format> = drawn.iter().map(|h| h.format).collect();
    assert!(
        drawn_formats.len() >= 6,
        "the draw covers the formats: {drawn_formats:?}"
    );
    for hit in &drawn {
        check_hit(&engine, hit).await;
    }
}

async fn check_hit(engine: &docvec_engine::Engine, hit: &SearchHit) {
    let at = format!("{} chunk {}", hit.document_path, hit.chunk_id);
    let span: &Span = hit.span.as_ref().unwrap_or_else(|| panic!("{at}: no span"));
    if hit.format == Format::Postman && span.operation.is_some() {
        // A Postman request is found by its method and path; its JSON is not located.
        assert_eq!(span.byte_start, None, "{at}");
        return;
    }
    let (start, end) = (span.byte_start.unwrap(), span.byte_end.unwrap());
    let view = engine
        .document_source(&hit.document_id, Some(start), Some(end), Some(0))
        .await
        .unwrap();
    assert_eq!(
        (view.line_start, view.line_end),
        (span.line_start.unwrap(), span.line_end.unwrap()),
        "{at}"
    );
    // `docvec show` finds the same span by the chunk's id.
    let shown = engine
        .show_chunk(&hit.chunk_id.to_string(), Some(0))
        .await
        .unwrap();
    assert_eq!(shown.text, view.text, "{at}");

    let read_as_text = !matches!(hit.format, Format::Pdf | Format::Html | Format::Spreadsheet);
    if read_as_text {
        // The stored text is the file: the same bytes at the same offsets, on the same lines.
        let bytes = std::fs::read(&hit.document_path).unwrap();
        let file = docvec_parse::decode_text(&bytes, hit.format).unwrap();
        assert_eq!(&file[start as usize..end as usize], view.text, "{at}");
        let lines = LineIndex::new(&file);
        assert_eq!(lines.line(start as usize), span.line_start.unwrap(), "{at}");
    }
    if let Some(op) = &span.operation {
        let key = view.text.trim_start().trim_start_matches(['"', '\'']);
        assert!(
            key.starts_with(&op.method.to_lowercase()),
            "{at}: {op:?} at {:?}",
            view.text
        );
    } else if span.rows.is_some() && hit.format == Format::Csv {
        // A row is rendered "header: value; ...": its values stand in the record's lines.
        for cell in hit
            .text
            .split(['\n', ';'])
            .filter_map(|c| c.split_once(": "))
        {
            assert!(
                in_order(cell.1, &view.text),
                "{at}: {:?} not in {:?}",
                cell.1,
                view.text
            );
        }
    } else {
        assert!(
            in_order(&hit.text, &view.text),
            "{at}: {:?}\nnot in\n{:?}",
            hit.text,
            view.text
        );
        // And tightly: the span starts at the chunk's first word and ends at its last.
        let (span_words, chunk_words) = (words(&view.text), words(&hit.text));
        assert_eq!(
            span_words.first(),
            chunk_words.first(),
            "{at}: {:?}",
            view.text
        );
        assert_eq!(
            span_words.last(),
            chunk_words.last(),
            "{at}: {:?}",
            view.text
        );
    }
}
