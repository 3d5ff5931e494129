//! Documents' own metadata: given at ingest and by sidecar files, returned with hits, and filtered by
//! before the top k is chosen (equality, one of, numeric and date ranges, booleans, array values).

use std::path::{Path, PathBuf};

use serde_json::json;

use docvec_engine::{
    Access, ChunkFilter, Engine, FileOutcome, IngestOptions, Metadata, SearchHit, SearchMode,
    SearchRequest, parse_meta_filter,
};

use crate::open_hashed;

/// 100 documents of 10 paragraphs each, paragraphs long enough to be chunks of their own.
fn write_corpus(dir: &Path) -> Vec<PathBuf> {
    (0..100)
        .map(|i| {
            let path = dir.join(format!("report-{i:03}.txt"));
            let text = (0..10)
                .map(|p| {
                    format!(
                        "Report {i} part {p}: the pump station measured pressure and flow. {}",
                        "The operators logged readings every hour and checked the valves. "
                            .repeat(12)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n\n");
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

fn meta(v: serde_json::Value) -> Metadata {
    v.as_object().unwrap().clone()
}

async fn search(engine: &Engine, k: usize, filter: serde_json::Value) -> Vec<SearchHit> {
    let filter = ChunkFilter {
        meta: parse_meta_filter(&filter).unwrap(),
        ..Default::default()
    };
    let request = SearchRequest::text("pump pressure readings", k)
        .mode(SearchMode::Vector)
        .filter(filter);
    engine.search(&request).await.unwrap().hits
}

fn year(h: &SearchHit) -> i64 {
    h.meta.as_ref().unwrap()["year"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_is_stored_returned_and_filtered_before_the_top_k() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let engine = open_hashed(data.path(), Access::ReadWrite).await;
    let paths = write_corpus(files.path());
    // Every document: its year (2000 + i % 25), a date, a team list; sidecars give each tenth a flag.
    for (i, path) in paths.iter().enumerate() {
        let own = json!({
            "year": 2000 + (i % 25),
            "published": format!("{}-0{}-15", 2000 + (i % 25), 1 + i % 9),
            "team": if i % 2 == 0 { json!(["pumps", "valves"]) } else { json!("valves") },
            "id": i,
        });
        let mut name = path.as_os_str().to_owned();
        name.push(".meta.json");
        let own = if i % 10 == 0 {
            let mut o = own.as_object().unwrap().clone();
            o.insert("audited".into(), json!(true));
            serde_json::Value::Object(o)
        } else {
            own
        };
        std::fs::write(PathBuf::from(name), own.to_string()).unwrap();
    }
    let opts = IngestOptions {
        meta: meta(json!({"site": "north", "year": 1999})),
        ..Default::default()
    };
    let report = engine
        .ingest(&[files.path().to_path_buf()], &opts, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.failures().count(), 0, "{:?}", report.files);
    // Sidecars are read with their files, never ingested themselves.
    assert_eq!(report.files.len(), 100, "{:?}", report.files.len());
    let chunks = engine.stats().await.unwrap().chunks;
    assert!(chunks >= 1000, "{chunks} chunks");

    // One document in a hundred (1% of the chunks): still k hits, all its own.
    let hits = search(&engine, 10, json!({"id": 42})).await;
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h.meta.as_ref().unwrap()["id"] == 42));
    // The ingest's metadata is under the sidecar's, which wins where both have a key.
    let m = hits[0].meta.as_ref().unwrap();
    assert_eq!(
        (m["site"].as_str(), m["year"].as_i64()),
        (Some("north"), Some(2017))
    );

    // Numeric ranges, one of, array values, booleans and ISO dates as strings.
    let hits = search(&engine, 50, json!({"year": {"gte": 2020, "lt": 2023}})).await;
    assert_eq!(hits.len(), 50);
    assert!(
        hits.iter().all(|h| (2020..2023).contains(&year(h))),
        "{:?}",
        hits.iter().map(year).collect::<Vec<_>>()
    );
    let hits = search(&engine, 30, json!({"year": [2003, 2004]})).await;
    assert!(hits.len() == 30 && hits.iter().all(|h| [2003, 2004].contains(&year(h))));
    let hits = search(&engine, 100, json!({"team": "pumps", "audited": true})).await;
    assert!(!hits.is_empty());
    for h in &hits {
        let id = h.meta.as_ref().unwrap()["id"].as_i64().unwrap();
        assert!(id % 10 == 0, "{id}");
    }
    let hits = search(
        &engine,
        40,
        json!({"published": {"gte": "2024-01-01", "lte": "2024-12-31"}}),
    )
    .await;
    assert!(hits.len() == 40 && hits.iter().all(|h| year(h) == 2024));
    // Types do not mix: a number is not the string "2020"; a missing key never matches.
    assert!(search(&engine, 5, json!({"year": "2020"})).await.is_empty());
    assert!(
        search(&engine, 5, json!({"nothing": {"gte": 0}}))
            .await
            .is_empty()
    );

    // The same metadata again is no change; other metadata updates the document without re-embedding.
    let again = engine.ingest(&paths[..1], &opts, &|_| {}).await.unwrap();
    assert!(
        matches!(again.files[0].1, FileOutcome::Unchanged { .. }),
        "{:?}",
        again.files
    );
    let changed = IngestOptions {
        meta: meta(json!({"site": "south"})),
        ..Default::default()
    };
    let again = engine.ingest(&paths[..1], &changed, &|_| {}).await.unwrap();
    assert!(
        matches!(again.files[0].1, FileOutcome::Updated { embedded: 0, .. }),
        "{:?}",
        again.files
    );
    let hits = search(&engine, 3, json!({"site": "south"})).await;
    assert!(
        hits.len() == 3
            && hits
                .iter()
                .all(|h| h.document_path.ends_with("report-000.txt"))
    );

    // A broken sidecar fails its file, named, and the rest go on.
    let broken = files.path().join("report-001.txt.meta.json");
    std::fs::write(&broken, r#"{"nested": {"a": 1}}"#).unwrap();
    let again = engine
        .ingest(
            &paths[1..3],
            &IngestOptions {
                force: true,
                ..Default::default()
            },
            &|_| {},
        )
        .await
        .unwrap();
    let causes: Vec<String> = again
        .failures()
        .map(|(p, cause)| format!("{}: {cause}", p.display()))
        .collect();
    assert_eq!(causes.len(), 1, "{causes:?}");
    assert!(
        causes[0].contains("report-001.txt.meta.json") && causes[0].contains("`nested`"),
        "{causes:?}"
    );
    engine.close().await.unwrap();
}
