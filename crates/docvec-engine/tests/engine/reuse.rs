//! An ingest embeds each input once per data directory: chunks whose embedding input (context and
//! text) some stored chunk already has take its vector, within one batch and across ingests and files.

use std::path::Path;

use docvec_engine::{Access, Engine, FileOutcome, SearchHit};

use super::query_cache::Counting;
use super::{config, ingest, nearest};

fn notes(topics: &[(&str, &str)]) -> String {
    let mut out = String::from("# Notes\n\n## Cats\n\nCats sleep most of the day.\n");
    for (heading, text) in topics {
        out.push_str(&format!("\n## {heading}\n\n{text}\n"));
    }
    out
}

fn added_chunks(outcome: &FileOutcome) -> usize {
    match outcome {
        FileOutcome::Added { chunks, .. } => *chunks,
        other => panic!("expected an added file, got {other:?}"),
    }
}

fn cat_hits(hits: &[SearchHit]) -> Vec<(String, f32)> {
    let mut out: Vec<(String, f32)> = hits
        .iter()
        .filter(|h| h.text.contains("Cats sleep"))
        .map(|h| {
            let name = Path::new(&h.document_path).file_name().unwrap();
            (name.to_string_lossy().into_owned(), h.score)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_input_already_embedded_in_any_document_is_not_embedded_again() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let model = Counting::new();
    let engine = Engine::open_with(config(data.path()), Access::ReadWrite, model.clone())
        .await
        .unwrap();

    // Two new files in one batch share their Cats section: three inputs, three texts embedded.
    let first = docs.path().join("first");
    std::fs::create_dir(&first).unwrap();
    let harbour = ("Harbour", "The harbour freezes over in January.");
    let volcano = ("Volcano", "Volcanic eruptions spread ash across the sky.");
    std::fs::write(first.join("a.md"), notes(&[harbour])).unwrap();
    std::fs::write(first.join("b.md"), notes(&[volcano])).unwrap();
    let report = ingest(&engine, std::slice::from_ref(&first)).await;
    let chunks: Vec<usize> = report.files.iter().map(|(_, o)| added_chunks(o)).collect();
    assert_eq!(chunks, [2, 2], "{:?}", report.files);
    assert_eq!(report.chunks_embedded, 3);
    assert_eq!(model.texts(), 3);

    // A later file of known sections only runs the model on nothing, one with a new section on it.
    let later = docs.path().join("later");
    std::fs::create_dir(&later).unwrap();
    std::fs::write(later.join("c.md"), notes(&[volcano])).unwrap();
    let report = ingest(&engine, &[later.join("c.md")]).await;
    assert_eq!(added_chunks(&report.files[0].1), 2);
    assert_eq!((report.chunks_embedded, model.texts()), (0, 3));
    let tide = ("Tides", "The tide turns twice a day.");
    std::fs::write(later.join("d.md"), notes(&[tide])).unwrap();
    let report = ingest(&engine, &[later.join("d.md")]).await;
    assert_eq!((report.chunks_embedded, model.texts()), (1, 4));

    // Every copy is stored and indexed with the one vector: each file's Cats chunk scores alike.
    let stats = engine.stats().await.unwrap();
    assert_eq!((stats.documents, stats.chunks), (4, 8));
    assert_eq!(engine.index_len(), 8);
    let hits = cat_hits(&nearest(&engine, "cats sleep most of the day", 20).await);
    let names: Vec<&str> = hits.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a.md", "b.md", "c.md", "d.md"], "{hits:?}");
    assert!(hits.iter().all(|(_, s)| *s == hits[0].1), "{hits:?}");
    engine.close().await.unwrap();
}
