//! Searches with the caller's own vectors, one at a time and in batches.

use reqwest::StatusCode;
use serde_json::{Value, json};

use docvec_engine::{Access, Engine, SearchMode, SearchRequest};
use docvec_testkit::http::json_answer;

use crate::{TestServer, config, error_of};

pub(crate) fn ids(r: &Value) -> Vec<i64> {
    r["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["chunk_id"].as_i64().unwrap())
        .collect()
}

/// A server on a fresh data directory holding the repository's samples, uploaded through the API.
pub(crate) async fn serving_samples() -> (tempfile::TempDir, TestServer, Vec<std::path::PathBuf>) {
    let data = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(data.path())).await;
    let samples: Vec<_> = std::fs::read_dir(docvec_testkit::samples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let accepted = s.upload(&samples, None).await;
    let (_, done) = s.follow(accepted["job_id"].as_str().unwrap(), None).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    (data, s, samples)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vector_stands_in_for_the_query_with_every_filter_and_in_batches() {
    let (data, s, _) = serving_samples().await;

    // The query embedded by a reader of the same directory: what an app with its own embedder holds.
    let reader = Engine::open(config(data.path()), Access::ReadOnly)
        .await
        .unwrap();
    let text = "how do I bake bread";
    let vector = reader.embed_query(text).await.unwrap().values;
    reader.close().await.unwrap();

    let by_text = s
        .search(json!({"query": text, "mode": "vector", "k": 3}), None)
        .await;
    let by_vector = s.search(json!({"vector": vector, "k": 3}), None).await;
    assert_eq!(ids(&by_vector), ids(&by_text));
    assert_eq!(by_vector["source"], "local");
    // Scaled to unit length: a longer vector of the same direction scores the same.
    let doubled: Vec<f32> = vector.iter().map(|x| x * 2.0).collect();
    let r = s
        .search(json!({"vector": doubled, "k": 3, "mode": "vector"}), None)
        .await;
    assert_eq!(ids(&r), ids(&by_text));
    let gap = (r["hits"][0]["score"].as_f64().unwrap()
        - by_text["hits"][0]["score"].as_f64().unwrap())
    .abs();
    assert!(gap < 1e-4, "{gap}");
    let pdf = s
        .search(
            json!({"vector": vector, "k": 2, "filters": {"format": ["pdf"]}}),
            None,
        )
        .await;
    let hits = pdf["hits"].as_array().unwrap();
    assert!(
        !hits.is_empty() && hits.iter().all(|h| h["format"] == "pdf"),
        "{pdf}"
    );
    // With the text too, hybrid fuses the vector with the text's keywords.
    let hybrid = s
        .search(
            json!({"query": text, "vector": vector, "k": 3, "mode": "hybrid"}),
            None,
        )
        .await;
    let plain_hybrid = s
        .search(json!({"query": text, "k": 3, "mode": "hybrid"}), None)
        .await;
    assert_eq!(ids(&hybrid), ids(&plain_hybrid));

    // Wrong vectors are the caller's mistake, named.
    for (body, says) in [
        (json!({"vector": [0.1, 0.2, 0.3]}), "3 dimensions"),
        (json!({"vector": vec![0.0; 384]}), "no direction"),
        (
            json!({"vector": vec![0.1; 384], "mode": "keyword"}),
            "keyword search needs",
        ),
    ] {
        let (status, code, message) = error_of(s.post("/search", None).json(&body)).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{message}"
        );
        assert!(message.contains(says), "{message}");
    }
    let (_, _, message) = error_of(
        s.post("/search", None)
            .json(&json!({"vector": [0.1, 0.2, 0.3]})),
    )
    .await;
    assert!(message.contains("384-dimensional"), "{message}");

    // A batch answers each search in order, as the single route does.
    let batch: Value = json_answer(s.post("/search/batch", None).json(&json!({"queries": [
        {"vector": vector, "k": 3},
        {"query": text, "mode": "vector", "k": 3},
        {"query": "sourdough", "mode": "keyword", "k": 1},
    ]})))
    .await;
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{batch}");
    assert_eq!(ids(&results[0]), ids(&by_vector));
    assert_eq!(ids(&results[1]), ids(&by_text));
    assert!(
        results[2]["hits"][0]["document_path"]
            .as_str()
            .unwrap()
            .ends_with("sourdough-bread.txt")
    );
    let (status, _, message) = error_of(
        s.post("/search/batch", None)
            .json(&json!({"queries": [{"vector": vector}, {"vector": [1.0]}]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.starts_with("queries[1]: "), "{message}");
    assert_eq!(
        error_of(s.post("/search/batch", None).json(&json!({"queries": []})))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_snapshot_is_a_bundle_that_answers_as_the_server() {
    let (data, s, samples) = serving_samples().await;
    let resp = s.post("/snapshots", None).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let accepted: Value = resp.json().await.unwrap();
    let (_, done) = s.follow(accepted["job_id"].as_str().unwrap(), None).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["kind"], "snapshot");
    let path = std::path::PathBuf::from(done["result"]["path"].as_str().unwrap());
    assert!(path.starts_with(data.path().join("snapshots")), "{path:?}");
    assert_eq!(done["result"]["manifest"]["documents"], samples.len());

    let q = json!({"query": "sourdough starter", "k": 3, "mode": "keyword"});
    let live = s.search(q.clone(), None).await;
    let bundle = Engine::open(config(&path), Access::ReadOnly).await.unwrap();
    let request = SearchRequest::text("sourdough starter", 3).mode(SearchMode::Keyword);
    let hits = bundle.search(&request).await.unwrap().hits;
    let from_bundle: Vec<i64> = hits.iter().map(|h| h.chunk_id).collect();
    assert_eq!(from_bundle, ids(&live));
    let check = bundle.check().await;
    bundle.close().await.unwrap();
    // A read-only engine checks without writing; the bundle is whole.
    let check = check.unwrap();
    assert!(check.consistent, "{check:?}");
    assert_eq!(check.bundle.unwrap().model_verified, Some(true));
    s.stop().await;
}
