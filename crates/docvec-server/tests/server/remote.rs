//! `/config` and `/readyz` against a real Postgres (tools/pg.sh) that is stopped under them. Needs
//! DOCVEC_TEST_DATABASE_URL (tools/test.sh exports it); skipped with a message without it (a failure under CI).

use reqwest::StatusCode;
use serde_json::Value;

use docvec_engine::StorageMode;

use crate::{TestServer, config, error_code, error_of, settings};
use docvec_testkit::private_pg::PrivateServer;

async fn search(s: &TestServer) -> reqwest::Response {
    s.post("/search", None)
        .json(&serde_json::json!({"query": "anything", "k": 3}))
        .send()
        .await
        .unwrap()
}

async fn config_json(s: &TestServer) -> Value {
    let resp = s.get("/config", None).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn config_and_readiness_report_a_stopped_postgres_live() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pg) = PrivateServer::require(dir.path()) else {
        return;
    };
    let mut c = config(&dir.path().join("data"));
    c.mirror.url = Some(pg.url.clone());
    c.mirror.mode = StorageMode::Supabase;
    c.mirror.connect_timeout_secs = 2;
    // `docvec migrate`, as an operator runs it before serving in supabase mode.
    {
        let mut local = c.clone();
        local.mirror.mode = StorageMode::Local;
        let e = docvec_engine::Engine::open(local, docvec_engine::Access::ReadWrite)
            .await
            .unwrap();
        e.migrate_remote().await.unwrap();
        e.close().await.unwrap();
    }
    let mut srv = settings();
    srv.probe_timeout_ms = 2000;
    let s = TestServer::start_with(c, srv).await;

    let up = config_json(&s).await;
    assert_eq!(up["storage_mode"], "supabase");
    assert_eq!(up["supabase"]["reachable"], true, "{up}");
    assert!(up["supabase"]["latency_ms"].as_f64().is_some());
    assert!(
        up["supabase"]["url"]
            .as_str()
            .is_some_and(|u| !u.contains("password")),
        "the URL is shown redacted: {up}"
    );
    assert_eq!(
        s.get("/readyz", None).send().await.unwrap().status(),
        StatusCode::OK
    );

    pg.kill();
    // The client's timeout bounds the probe: a stopped Postgres must not hang /config.
    let resp = s
        .get("/config", None)
        .timeout(std::time::Duration::from_secs(15))
        .send()
        .await
        .expect("/config answers while Postgres is down");
    let down: Value = resp.json().await.unwrap();
    assert_eq!(down["supabase"]["reachable"], false, "{down}");
    assert!(down["supabase"]["error"].is_string());
    assert!(
        down["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("unreachable")),
        "{down}"
    );
    let (status, code, _) = error_of(s.get("/readyz", None)).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "remote_unavailable")
    );
    // Searches in supabase mode fail cleanly while it is down.
    let resp = search(&s).await;
    let (status, code, _) = error_code(resp).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "remote_unavailable")
    );

    // Postgres comes back: the same server process answers again, no restart.
    pg.restart();
    let back = config_json(&s).await;
    assert_eq!(back["supabase"]["reachable"], true, "{back}");
    assert_eq!(
        s.get("/readyz", None).send().await.unwrap().status(),
        StatusCode::OK
    );
    let resp = search(&s).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    s.stop().await;
}
