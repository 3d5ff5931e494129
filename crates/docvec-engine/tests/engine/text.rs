//! Keyword and hybrid search through the engine, and the full-text index's recovery from the store.

use docvec_engine::{Access, ChunkFilter, HybridOptions, SearchMode};

use docvec_testkit::samples_dir;

use crate::{ingest, open_hashed};

const CODE: &str = "ZX-4471-QUOKKA";

#[tokio::test(flavor = "multi_thread")]
async fn exact_terms_are_found_by_keyword_and_hybrid_and_survive_losing_the_index() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let note = files.path().join("incident.txt");
    std::fs::write(
        &note,
        format!("The deploy failed with error {CODE} after the cache was warmed.\n"),
    )
    .unwrap();
    {
        let engine = open_hashed(data.path(), Access::ReadWrite).await;
        ingest(&engine, &[samples_dir(), note.clone()]).await;
        for mode in [SearchMode::Keyword, SearchMode::Hybrid] {
            let r = engine
                .search_mode(
                    CODE,
                    3,
                    &ChunkFilter::default(),
                    mode,
                    &HybridOptions::default(),
                )
                .await
                .unwrap();
            assert!(
                r.hits[0].document_path.ends_with("incident.txt"),
                "{mode:?}: {:?}",
                r.hits.iter().map(|h| &h.document_path).collect::<Vec<_>>()
            );
        }
        // A keyword search keeps its filter: a format without the term returns none of its chunks.
        let r = engine
            .keyword_search(
                CODE,
                3,
                &ChunkFilter {
                    formats: vec!["markdown".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(r.iter().all(|h| !h.document_path.ends_with("incident.txt")));
        engine.close().await.unwrap();
    }
    // The full-text index is derived data: lost, it is refilled from the store on the next open.
    std::fs::remove_dir_all(data.path().join("fulltext")).unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    let hits = engine
        .keyword_search(CODE, 1, &ChunkFilter::default())
        .await
        .unwrap();
    assert!(hits[0].document_path.ends_with("incident.txt"));
    // Deletes reach it too.
    engine.delete(note.to_str().unwrap()).await.unwrap();
    let hits = engine
        .keyword_search(CODE, 3, &ChunkFilter::default())
        .await
        .unwrap();
    assert!(
        hits.iter()
            .all(|h| !h.document_path.ends_with("incident.txt"))
    );
    engine.close().await.unwrap();
}
