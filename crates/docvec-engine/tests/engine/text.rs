//! Keyword and hybrid search through the engine, and the full-text index's recovery from the store.

use docvec_engine::{Access, ChunkFilter, Engine, SearchHit, SearchMode, SearchRequest};

use docvec_testkit::samples_dir;

use crate::{ingest, open_hashed};

/// The `k` best BM25 hits for `query` among those `filter` allows.
async fn keyword(engine: &Engine, query: &str, k: usize, filter: ChunkFilter) -> Vec<SearchHit> {
    let request = SearchRequest::text(query, k)
        .mode(SearchMode::Keyword)
        .filter(filter);
    engine.search(&request).await.unwrap().hits
}

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
                .search(&SearchRequest::text(CODE, 3).mode(mode))
                .await
                .unwrap();
            assert!(
                r.hits[0].document_path.ends_with("incident.txt"),
                "{mode:?}: {:?}",
                r.hits.iter().map(|h| &h.document_path).collect::<Vec<_>>()
            );
        }
        // A keyword search keeps its filter: a format without the term returns none of its chunks.
        let markdown = ChunkFilter {
            formats: vec!["markdown".into()],
            ..Default::default()
        };
        let r = keyword(&engine, CODE, 3, markdown).await;
        assert!(r.iter().all(|h| !h.document_path.ends_with("incident.txt")));
        engine.close().await.unwrap();
    }
    // The full-text index is derived data: lost, it is refilled from the store on the next open.
    std::fs::remove_dir_all(data.path().join("fulltext")).unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    let hits = keyword(&engine, CODE, 1, ChunkFilter::default()).await;
    assert!(hits[0].document_path.ends_with("incident.txt"));
    // Deletes reach it too.
    engine.delete(note.to_str().unwrap()).await.unwrap();
    let hits = keyword(&engine, CODE, 3, ChunkFilter::default()).await;
    assert!(
        hits.iter()
            .all(|h| !h.document_path.ends_with("incident.txt"))
    );
    engine.close().await.unwrap();
}
