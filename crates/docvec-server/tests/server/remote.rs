//! `/config` and `/readyz` against a real Postgres (tools/pg.sh) that is stopped under them. Needs
//! DOCVEC_TEST_DATABASE_URL (tools/test.sh exports it); skipped with a message without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use docvec_engine::StorageMode;

use crate::{TestServer, config, error_code};

/// A private Postgres this test may kill without disturbing the shared one.
struct PrivateServer {
    state: PathBuf,
    url: String,
}

impl PrivateServer {
    fn pg(state: &Path, arg: &str) -> std::process::Output {
        Command::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/pg.sh"))
            .arg(arg)
            .env("DOCVEC_PG_STATE", state)
            .output()
            .expect("tools/pg.sh runs")
    }

    fn start(dir: &Path) -> Self {
        let state = dir.join("pg-state");
        let out = Self::pg(&state, "start");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("export DATABASE_URL="))
            .expect("a DATABASE_URL line")
            .to_string();
        Self { state, url }
    }

    fn kill(&self) {
        assert!(Self::pg(&self.state, "kill").status.success());
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        Self::pg(&self.state, "stop");
    }
}

async fn config_json(s: &TestServer) -> Value {
    let resp = s.get("/config", None).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn config_and_readiness_report_a_stopped_postgres_live() {
    if std::env::var("DOCVEC_TEST_DATABASE_URL").is_err() {
        eprintln!("SKIPPED: no DOCVEC_TEST_DATABASE_URL (run the tests through tools/test.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pg = PrivateServer::start(dir.path());
    let mut c = config(&dir.path().join("data"));
    c.mirror.url = Some(pg.url.clone());
    c.mirror.mode = StorageMode::Supabase;
    c.mirror.connect_timeout_secs = 2;
    c.server.probe_timeout_ms = 2000;
    let s = TestServer::start(c).await;

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
    let (status, code, _) = error_code(s.get("/readyz", None).send().await.unwrap()).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "remote_unavailable")
    );
    // Searches in supabase mode fail cleanly while it is down.
    let resp = s
        .post("/search", None)
        .json(&serde_json::json!({"query": "anything", "k": 3}))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(resp).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "remote_unavailable")
    );
    s.stop().await;
}
