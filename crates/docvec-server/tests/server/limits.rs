//! Limits and bad requests: every refusal is JSON with a stable code, and the server keeps serving.

use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::json;

use docvec_testkit::http::upload_form;
use docvec_testkit::maximal_query;

use crate::{TestServer, config, error_code, error_of, settings};

/// A browser's CORS preflight for `POST /search` from `origin`.
async fn preflight(s: &TestServer, origin: &str) -> reqwest::Response {
    s.http
        .request(reqwest::Method::OPTIONS, s.url("/search"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_malformed_and_hostile_requests_get_json_errors() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = settings();
    srv.max_body_bytes = 2048;
    srv.max_search_body_bytes = 2048;
    srv.max_upload_bytes = 64 * 1024;
    let s = TestServer::start_with(config(data.path()), srv).await;

    // 413: a JSON body over the limit, and an upload over its own.
    let big = json!({"query": "x".repeat(4096), "k": 1});
    let (status, code, _) = error_of(s.post("/search", None).json(&big)).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let (status, code, _) = error_of(
        s.post("/documents", None)
            .multipart(upload_form("big.txt", vec![b'a'; 100 * 1024])),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    // Under the upload limit but over the JSON one: uploads have their own limit.
    let resp = s
        .post("/documents", None)
        .multipart(upload_form("fits.txt", vec![b'a'; 8 * 1024]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);

    // 400 with a message: malformed JSON, wrong shapes, out-of-range values.
    for (body, needle) in [
        (r#"{"query": "x", "k": }"#, "JSON"),
        (r#"{"query": "x", "k": "ten"}"#, "k"),
        (r#"{"query": "x", "colour": "red"}"#, "colour"),
        (r#"{"query": "x", "k": 0}"#, "k must be"),
        (r#"{"query": "   "}"#, "empty"),
        (r#"{"query": "x", "mode": "psychic"}"#, "mode"),
    ] {
        let (status, code, message) = error_of(
            s.post("/search", None)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {message}");
        assert_eq!(code, "bad_request");
        assert!(message.contains(needle), "{body}: {message}");
    }
    assert_eq!(
        error_of(s.post("/search", None).body(r#"{"query": "x"}"#))
            .await
            .1,
        "unsupported_media_type"
    );

    // Upload names that would leave the uploads folder are refused, and nothing lands outside it.
    for name in [
        "../escape.txt",
        "/etc/escape.txt",
        "..",
        "a/b.txt",
        ".hidden",
    ] {
        let (status, _, message) = error_of(
            s.post("/documents", None)
                .multipart(upload_form(name, b"text".to_vec())),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(message.contains(name), "{message}");
    }
    assert!(!data.path().join("escape.txt").exists());
    assert_eq!(
        error_of(
            s.post("/documents", None)
                .multipart(Form::new().text("tag", "no files"))
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );

    // Unknown routes and ids, bad cursors and limits.
    assert_eq!(error_of(s.get("/no/such/route", None)).await.1, "not_found");
    assert_eq!(
        error_of(s.get("/jobs/job_missing", None)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        error_of(s.get("/documents?cursor=zz", None)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        error_of(s.get("/logs?limit=100000", None)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        error_of(s.get("/evidence/abc", None)).await.0,
        StatusCode::BAD_REQUEST
    );

    // Filters holding quotes and SQL are data, not statements.
    let r = s
        .search(
            json!({"query": "anything", "k": 3,
                   "filters": {"tags": ["x' OR '1'='1"], "path_prefix": "'; DROP TABLE documents; --"}}),
            None,
        )
        .await;
    assert_eq!(r["hits"].as_array().unwrap().len(), 0);
    let resp = s.get("/documents", None).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // CORS is closed by default: a browser preflight gets no allow-origin.
    let resp = preflight(&s, "https://elsewhere.example").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    // Still serving after all of that.
    assert_eq!(
        s.get("/healthz", None).send().await.unwrap().status(),
        StatusCode::OK
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_origins_may_call_from_a_browser() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = settings();
    srv.cors_origins = vec!["https://app.example".into()];
    let s = TestServer::start_with(config(data.path()), srv).await;
    let resp = preflight(&s, "https://app.example").await;
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://app.example")
    );
    s.stop().await;
}

/// Issue 24: one search may not take the CPU from every other client. A query over `[search]`'s
/// bounds is a 400 naming the bound and its setting, on every search route; one at them is answered.
#[tokio::test(flavor = "multi_thread")]
async fn queries_over_the_search_bounds_are_400s_naming_the_bound() {
    let data = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(data.path())).await;
    let limits = docvec_engine::SearchConfig::default();
    let maximal = maximal_query(
        &["disk", "failure"],
        limits.max_query_bytes,
        limits.max_query_terms,
    );
    assert_eq!(maximal.len(), limits.max_query_bytes);
    let r = s
        .search(json!({"query": maximal, "k": 3, "highlight": true}), None)
        .await;
    assert!(r["hits"].is_array(), "{r}");

    let refused = |resp: reqwest::Response, needle: &'static str| async move {
        let (status, code, message) = error_code(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "bad_request")
        );
        assert!(message.contains(needle), "{message}");
        message
    };
    let over = format!("{maximal}x");
    let resp = s
        .post("/search", None)
        .json(&json!({"query": over}))
        .send()
        .await
        .unwrap();
    let message = refused(resp, "search.max_query_bytes").await;
    assert!(
        message.starts_with("the query is 4097 bytes; the limit is 4096"),
        "{message}"
    );
    // The megabyte query of the issue: 413 from its length alone, before the body is read.
    let huge = "word ".repeat(200_000);
    let (status, code, message) =
        error_of(s.post("/search", None).json(&json!({"query": huge}))).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    assert!(message.contains("max_search_body_bytes"), "{message}");
    // Within max_search_body_bytes, a query over max_query_bytes is a 400 naming that limit.
    let long = "word ".repeat(20_000);
    let resp = s
        .post("/search", None)
        .json(&json!({"query": long}))
        .send()
        .await
        .unwrap();
    refused(resp, "search.max_query_bytes").await;
    let many = maximal_query(&[], 4000, limits.max_query_terms + 1);
    let resp = s
        .post("/search", None)
        .json(&json!({"query": many}))
        .send()
        .await
        .unwrap();
    refused(
        resp,
        "the query has 257 distinct terms; the limit is 256 (search.max_query_terms",
    )
    .await;
    let resp = s
        .post("/search", None)
        .json(&json!({"query": "x", "hybrid": {"candidates": 1_000_000}}))
        .send()
        .await
        .unwrap();
    refused(resp, "candidates must be at most 10000").await;

    // GET /search and each query of a batch are held to the same bounds.
    let resp = s
        .get("/search", None)
        .query(&[("q", over.as_str())])
        .send()
        .await
        .unwrap();
    refused(resp, "search.max_query_bytes").await;
    let batch = json!({"queries": [{"query": "disk"}, {"query": over}]});
    let resp = s
        .post("/search/batch", None)
        .json(&batch)
        .send()
        .await
        .unwrap();
    let message = refused(resp, "search.max_query_bytes").await;
    assert!(message.starts_with("queries[1]"), "{message}");
    let batch = json!({"queries": vec![json!({"query": "disk"}); 1001]});
    let resp = s
        .post("/search/batch", None)
        .json(&batch)
        .send()
        .await
        .unwrap();
    refused(resp, "a batch holds 1 to 1000 searches, got 1001").await;
    s.stop().await;
}
