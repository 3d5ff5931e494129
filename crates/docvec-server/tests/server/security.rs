//! Security across the whole API: every route in the OpenAPI document checks its role, and SQL or
//! query syntax in every parameter is data, never a statement or a crash.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use docvec_engine::Store;
use docvec_server::{Role, create_key};

use crate::{TestServer, config};

/// The least role each route needs; `None` is open (probes). A route missing here fails the test, so
/// a new route cannot ship without a decision on who may call it.
fn required_role(method: &str, path: &str) -> Option<Option<Role>> {
    use Role::{Admin, Read, Write};
    Some(match (method, path) {
        ("get", "/healthz") | ("get", "/readyz") => None,
        // The search page's files: no data in them, and the page's own API calls carry the key.
        ("get", "/") | ("get", "/ui/style.css" | "/ui/icon.svg") => None,
        ("get", "/ui/app.js" | "/ui/api.js" | "/ui/search.js") => None,
        ("get", "/ui/library.js" | "/ui/status.js") => None,
        ("get" | "post", "/search") | ("post", "/search/batch") => Some(Read),
        ("post", "/search/rebuild" | "/snapshots") => Some(Admin),
        ("get", "/documents" | "/documents/{id}" | "/documents/{id}/source") => Some(Read),
        ("get", "/chunks/{id}/source") => Some(Read),
        ("post", "/documents") | ("delete", "/documents/{id}") => Some(Write),
        ("get", "/logs" | "/apis" | "/tags" | "/facts" | "/evidence/{id}") => Some(Read),
        ("get", "/jobs" | "/jobs/{id}" | "/jobs/{id}/events") => Some(Read),
        ("post", "/jobs/{id}/cancel") => Some(Write),
        ("get", "/config" | "/metrics") => Some(Read),
        ("get" | "post", "/keys") | ("delete", "/keys/{id}") => Some(Admin),
        _ => return None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_in_the_openapi_document_enforces_its_role() {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(&data.path().join("docvec.db")).await.unwrap();
    let mut keys = Vec::new();
    for role in [Role::Read, Role::Write, Role::Admin] {
        keys.push((role, create_key(&store, role, "t").await.unwrap().key));
    }
    store.close().await;
    let s = TestServer::start(config(data.path())).await;
    let spec: Value = s.get_json("/openapi.json", None).await;

    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let need = required_role(method, path)
                .unwrap_or_else(|| panic!("{method} {path} has no role in this test's table"));
            let url = path.replace("{id}", "x");
            let send = |key: Option<&str>| {
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut req = s.http.request(m, s.url(&url)).json(&json!({}));
                if let Some(k) = key {
                    req = req.bearer_auth(k);
                }
                req.send()
            };
            let without = send(None).await.unwrap().status();
            let Some(need) = need else {
                assert!(without.is_success(), "{method} {path}: {without}");
                continue;
            };
            assert_eq!(
                without,
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a key"
            );
            let wrong = send(Some("dvk_0123456789abcdef")).await.unwrap().status();
            assert_eq!(
                wrong,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with a wrong key"
            );
            for (role, key) in &keys {
                let status = send(Some(key)).await.unwrap().status();
                let allowed = *role >= need;
                let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
                assert_eq!(
                    !refused,
                    allowed,
                    "{method} {path} with a {} key: {status}",
                    role.as_str()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} guarded routes in the document"
    );
    s.stop().await;
}

const HOSTILE: &[&str] = &[
    "x' OR '1'='1",
    "'; DROP TABLE documents; --",
    "%' OR 1=1 --",
    "\" OR \"\"=\"",
    "') UNION SELECT key_hash, role FROM api_keys --",
    "*:* OR title:(\"unbalanced",
    "\\",
    "%_%",
];

/// The list a data route answered with, whatever its key.
fn rows(v: &Value) -> usize {
    ["items", "documents", "hits"]
        .iter()
        .find_map(|k| v[k].as_array())
        .map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_and_query_syntax_in_every_parameter_is_only_data() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let log = docs.path().join("service.log");
    std::fs::write(
        &log,
        "2024-05-01 10:00:00 ERROR db: connection to the ledger lost\n\
         2024-05-01 10:00:05 INFO db: reconnected to the ledger\n",
    )
    .unwrap();
    let api = docs.path().join("petstore.json");
    std::fs::write(
        &api,
        r#"{"openapi": "3.0.0", "info": {"title": "Pets", "version": "1"},
            "paths": {"/pets": {"get": {"summary": "List the pets"}}}}"#,
    )
    .unwrap();
    let notes = docs.path().join("notes.md");
    std::fs::write(
        &notes,
        "# Ledger\n\nThe ledger keeps every payment in order.\n\nOwner: the payments team\n\nRetention: 7 years\n",
    )
    .unwrap();
    let s = TestServer::start(config(data.path())).await;
    let accepted = s.upload(&[log, api, notes], None).await;
    let (_, done) = s.follow(accepted["job_id"].as_str().unwrap(), None).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    // Each route with the parameters it filters on; /search also needs its query.
    let routes: &[(&str, &[&str])] = &[
        ("/documents", &["format", "tag", "path_prefix"]),
        (
            "/logs",
            &["level", "component", "grep", "document", "since", "until"],
        ),
        ("/apis", &["method", "path_prefix", "document"]),
        ("/tags", &["document", "prefix"]),
        ("/facts", &["document", "key", "subject"]),
        (
            "/search",
            &[
                "format",
                "tag",
                "document",
                "path_prefix",
                "log_level",
                "since",
                "until",
            ],
        ),
    ];
    let before: Vec<usize> = {
        let mut counts = Vec::new();
        for (route, _) in routes {
            let v: Value = s.get_json(&with_query(route), None).await;
            counts.push(rows(&v));
        }
        counts
    };
    assert!(
        before.iter().all(|&n| n > 0),
        "every route lists something: {before:?}"
    );

    let mut requests = 0;
    for (route, params) in routes {
        for param in *params {
            for value in HOSTILE {
                let resp = s
                    .get(&with_query(route), None)
                    .query(&[(param, value)])
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let body: Value = resp.json().await.unwrap();
                requests += 1;
                match status {
                    StatusCode::OK => assert_eq!(
                        rows(&body),
                        0,
                        "{route}?{param}={value} matched rows: {body}"
                    ),
                    StatusCode::BAD_REQUEST => assert_eq!(body["error"]["code"], "bad_request"),
                    other => panic!("{route}?{param}={value}: {other} {body}"),
                }
            }
        }
    }
    // Query text goes to the embedder and to tantivy's parser: syntax in it is searched for, never
    // an error, in every mode.
    for mode in ["vector", "keyword", "hybrid"] {
        for value in HOSTILE {
            let r = s
                .search(json!({"query": value, "k": 3, "mode": mode}), None)
                .await;
            assert!(r["hits"].is_array());
            requests += 1;
        }
    }
    for path in ["/documents/", "/evidence/", "/jobs/"] {
        for value in HOSTILE {
            let resp = s
                .get(&format!("{path}{}", urlencode(value)), None)
                .send()
                .await
                .unwrap();
            assert!(
                matches!(
                    resp.status(),
                    StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
                ),
                "{path}{value}: {}",
                resp.status()
            );
            requests += 1;
        }
    }
    eprintln!("{requests} hostile requests");

    // Nothing was dropped or changed: every route lists what it listed before.
    for ((route, _), n) in routes.iter().zip(&before) {
        let v: Value = s.get_json(&with_query(route), None).await;
        assert_eq!(rows(&v), *n, "{route}");
    }
    s.stop().await;
}

fn with_query(route: &str) -> String {
    match route {
        "/search" => "/search?q=ledger".to_string(),
        other => other.to_string(),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
