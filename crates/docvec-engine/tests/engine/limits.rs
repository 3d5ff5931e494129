//! What one search may ask (issue 24): the query's bytes and its distinct keyword terms are bounded by
//! `[search]`, and a query over a bound is refused as the caller's mistake, naming the bound and the
//! setting that raises it, on every surface (the server maps it to 400).

use docvec_engine::{
    Access, Engine, EngineError, HybridOptions, SearchConfig, SearchMode, SearchRequest,
};
use docvec_testkit::{maximal_query, samples_dir};

use crate::{config, hashed, ingest};

/// `n` distinct words, "w0 w1 ...", each its own term.
fn words(n: usize) -> String {
    (0..n)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn refusal(engine: &Engine, request: &SearchRequest) -> String {
    match engine.search(request).await {
        Err(EngineError::InvalidRequest(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_over_the_default_bounds_are_refused_and_those_at_them_answered() {
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open_with(config(data.path()), Access::ReadWrite, hashed())
        .await
        .unwrap();
    ingest(&engine, &[samples_dir()]).await;
    let limits = SearchConfig::default();

    // Bytes: the trimmed text counts, in every mode; exactly at the limit is answered.
    let at = "a".repeat(limits.max_query_bytes);
    for mode in [SearchMode::Vector, SearchMode::Keyword, SearchMode::Hybrid] {
        let ok = engine
            .search(&SearchRequest::text(format!("  {at}\n"), 3).mode(mode))
            .await;
        assert!(ok.is_ok(), "{mode:?}: {ok:?}");
        let over = format!("{at}b");
        let message = refusal(&engine, &SearchRequest::text(over, 3).mode(mode)).await;
        assert_eq!(
            message,
            "the query is 4097 bytes; the limit is 4096 (search.max_query_bytes, DOCVEC_MAX_QUERY_BYTES)"
        );
    }
    // A megabyte is refused just the same, before anything reads it.
    let huge = "word ".repeat(200_000);
    let message = refusal(&engine, &SearchRequest::text(huge, 3)).await;
    assert!(
        message.starts_with("the query is 999999 bytes"),
        "{message}"
    );

    // Terms: where the keyword index reads the text (keyword, hybrid, highlights), not in vector mode.
    let at = words(limits.max_query_terms);
    let over = words(limits.max_query_terms + 1);
    assert!(over.len() < limits.max_query_bytes, "within the byte limit");
    for mode in [SearchMode::Keyword, SearchMode::Hybrid] {
        assert!(
            engine
                .search(&SearchRequest::text(at.clone(), 3).mode(mode))
                .await
                .is_ok()
        );
        let message = refusal(&engine, &SearchRequest::text(over.clone(), 3).mode(mode)).await;
        assert_eq!(
            message,
            "the query has 257 distinct terms; the limit is 256 (search.max_query_terms, DOCVEC_MAX_QUERY_TERMS)"
        );
    }
    let vector = SearchRequest::text(over.clone(), 3).mode(SearchMode::Vector);
    assert!(engine.search(&vector).await.is_ok());
    let highlighted = SearchRequest {
        snippet_chars: Some(100),
        ..vector
    };
    let message = refusal(&engine, &highlighted).await;
    assert!(message.contains("search.max_query_terms"), "{message}");
    // At both limits at once, with highlights: answered.
    let maximal = maximal_query(&["moon", "planet"], 4096, 256);
    assert_eq!(maximal.len(), 4096);
    let request = SearchRequest {
        snippet_chars: Some(100),
        ..SearchRequest::text(maximal, 3)
    };
    let hits = engine.search(&request).await.unwrap().hits;
    assert!(!hits.is_empty());
    // Repeats are one term: a long query of few words is answered.
    let repeated = "moon planet ".repeat(300);
    assert!(
        engine
            .search(&SearchRequest::text(repeated, 3))
            .await
            .is_ok()
    );

    // Hybrid candidates are bounded too.
    let mut many = SearchRequest::text("moon", 3);
    many.hybrid = HybridOptions {
        candidates: 1_000_000,
        ..Default::default()
    };
    let message = refusal(&engine, &many).await;
    assert!(message.contains("at most 10000"), "{message}");
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_bounds_replace_the_defaults() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.apply_env(|k| match k {
        "DOCVEC_MAX_QUERY_BYTES" => Some("16".into()),
        "DOCVEC_MAX_QUERY_TERMS" => Some("2".into()),
        _ => None,
    })
    .unwrap();
    let engine = Engine::open_with(cfg, Access::ReadWrite, hashed())
        .await
        .unwrap();
    ingest(&engine, &[samples_dir()]).await;
    assert!(
        engine
            .search(&SearchRequest::text("moon planet", 3))
            .await
            .is_ok()
    );
    let message = refusal(&engine, &SearchRequest::text("sun moon orb", 3)).await;
    assert!(
        message.contains("3 distinct terms; the limit is 2"),
        "{message}"
    );
    let message = refusal(&engine, &SearchRequest::text("a".repeat(17), 3)).await;
    assert!(message.contains("17 bytes; the limit is 16"), "{message}");
    engine.close().await.unwrap();
}
