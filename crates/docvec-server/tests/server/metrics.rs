//! The query cache as operators see it: `/metrics` and `/config` after repeated searches.

use serde_json::json;

use docvec_testkit::http::text_answer;

use crate::vectors::{ids, serving_samples};

/// The value of an unlabelled metric in a Prometheus text exposition.
fn metric(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{exposition}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_search_is_a_query_cache_hit_in_metrics_and_config() {
    let (_data, s, _) = serving_samples().await;
    let body = json!({"query": "how do I bake bread", "mode": "vector", "k": 3});
    let first = s.search(body.clone(), None).await;
    let second = s.search(body, None).await;
    assert_eq!(ids(&second), ids(&first));
    assert_eq!(
        second["hits"], first["hits"],
        "the cached vector scores alike"
    );

    let exposition = text_answer(s.get("/metrics", None)).await;
    assert_eq!(metric(&exposition, "docvec_query_cache_hits_total"), 1.0);
    assert_eq!(metric(&exposition, "docvec_query_cache_misses_total"), 1.0);
    assert_eq!(metric(&exposition, "docvec_query_cache_entries"), 1.0);
    assert_eq!(metric(&exposition, "docvec_query_cache_capacity"), 1024.0);
    assert_eq!(metric(&exposition, "docvec_query_cache_hit_ratio"), 0.5);
    assert!(
        exposition.contains("# TYPE docvec_query_cache_hits_total counter"),
        "{exposition}"
    );

    // The model's tokens: the samples' chunks and the one query it embedded, padding included.
    let real = metric(&exposition, "docvec_embed_tokens_total");
    let padded = metric(&exposition, "docvec_embed_padded_tokens_total");
    assert!(real > 0.0 && padded >= real, "{real} {padded}");
    assert!(metric(&exposition, "docvec_embed_calls_total") >= 2.0);

    // A scrape reads the counters, it does not add to them.
    let again = text_answer(s.get("/metrics", None)).await;
    assert_eq!(metric(&again, "docvec_query_cache_hits_total"), 1.0);
    assert_eq!(metric(&again, "docvec_embed_tokens_total"), real);

    let config = s.get_json("/config", None).await;
    assert_eq!(
        config["query_cache"],
        json!({"hits": 1, "misses": 1, "entries": 1, "capacity": 1024}),
        "{config}"
    );
    s.stop().await;
}
