//! The search page (`routes/ui.rs`): served at `/` with its files under `/ui/`, as HTML, CSS and
//! JavaScript with a Content-Security-Policy, without a key on a server that requires one, and by a
//! read-only server too; the API beside it keeps its keys, and unknown routes their JSON 404.
//! What the page does in a browser is tested by `tools/browser_test.sh`.

use reqwest::StatusCode;

use docvec_engine::Store;
use docvec_server::{Role, create_key};

use crate::{TestServer, config, error_of, settings};

/// Fetches `path` without a key; answers its content type, policy and body.
async fn fetch(s: &TestServer, path: &str) -> (String, String, String) {
    let resp = s.get(path, None).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{path}: no {name}"))
            .to_string()
    };
    let (kind, policy) = (header("content-type"), header("content-security-policy"));
    assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    (kind, policy, resp.text().await.unwrap())
}

/// The page and each file it loads, checked as a browser would receive them.
async fn page_is_served(s: &TestServer) {
    let (kind, policy, html) = fetch(s, "/").await;
    assert_eq!(kind, "text/html; charset=utf-8");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(html.contains(r#"<script type="module" src="/ui/app.js">"#));
    for (path, want) in [
        ("/ui/app.js", "text/javascript"),
        ("/ui/api.js", "text/javascript"),
        ("/ui/search.js", "text/javascript"),
        ("/ui/library.js", "text/javascript"),
        ("/ui/status.js", "text/javascript"),
        ("/ui/style.css", "text/css"),
        ("/ui/icon.svg", "image/svg+xml"),
    ] {
        let (kind, _, body) = fetch(s, path).await;
        assert!(kind.starts_with(want), "{path}: {kind}");
        assert!(!body.is_empty(), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_public_while_the_api_keeps_its_keys_and_a_read_only_server_serves_it() {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(&data.path().join("docvec.db")).await.unwrap();
    let write = create_key(&store, Role::Write, "page").await.unwrap().key;
    store.close().await;

    let s = TestServer::start(config(data.path())).await;
    page_is_served(&s).await;
    // The page holds no data; what it shows comes from the API, which still wants the key.
    let (status, code, _) = error_of(s.get("/documents", None)).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    // Anything else is still the API's JSON 404, not the page.
    let (status, code, _) = error_of(s.get("/ui/missing.js", None)).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    s.stop().await;

    let mut srv = settings();
    srv.read_only = true;
    let s = TestServer::start_with(config(data.path()), srv).await;
    page_is_served(&s).await;
    // What the page shows when a change is refused: the server's own reason.
    let (status, code, message) = error_of(s.delete("/documents/x", Some(&write))).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "read_only")
    );
    assert!(message.contains("read-only"), "{message}");
    s.stop().await;
}
