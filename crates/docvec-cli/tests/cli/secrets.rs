//! Secrets never reach the log: API keys (good, wrong and newly made), the Postgres password and the
//! Supabase service key, with the real `docvec serve` logging at debug level while it serves,
//! ingests, fails to reach its mirror and makes a key.

use std::process::Command;

use docvec_testkit::http::upload_form;

use super::crash::serve_logged;
use super::{docvec, stdout};

#[test]
fn keys_and_passwords_never_reach_the_log() {
    let data = tempfile::tempdir().unwrap();
    let out = docvec(
        data.path(),
        &["keys", "create", "--role", "admin", "--name", "ops"],
    );
    assert!(out.status.success());
    let admin = stdout(&out).trim().to_string();
    assert!(admin.starts_with("dvk_"), "{admin}");

    // A real Postgres refusing an unknown database when the tests have one, else a closed port: either
    // way every mirror write fails and is logged, which is where a connection string could leak.
    let host = docvec_testkit::database_url()
        .and_then(|u| {
            let rest = u.split_once("://")?.1;
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
            Some(rest.split('/').next()?.to_string())
        })
        .unwrap_or_else(|| "127.0.0.1:1".into());
    let password = "pw-Zq8xT3mV9rW";
    let service_key = "sb-service-Hk2L7pQn4Yc";
    let wrong = "dvk_00000000000000000000000000000000deadbeef";
    let url = format!("postgres://docvec:{password}@{host}/docvec_no_such_db");
    let (mut server, base, log) = serve_logged(
        data.path(),
        &[
            ("DATABASE_URL", &url),
            ("DOCVEC_STORAGE_MODE", "dual_write"),
            ("SUPABASE_SERVICE_KEY", service_key),
            ("DOCVEC_LOG", "debug"),
        ],
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let made = rt.block_on(async {
        let http = reqwest::Client::new();
        let get = |path: &str, key: &str| http.get(format!("{base}{path}")).bearer_auth(key);
        let config = get("/config", &admin).send().await.unwrap();
        assert_eq!(config.status(), 200);
        let config = config.text().await.unwrap();
        assert!(!config.contains(password), "{config}");
        assert_eq!(get("/documents", wrong).send().await.unwrap().status(), 401);
        let form = upload_form("secrets.txt", b"Secrets stay out of logs.\n".to_vec());
        let resp = http
            .post(format!("{base}/documents"))
            .bearer_auth(&admin)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        let job: serde_json::Value = resp.json().await.unwrap();
        let job_id = job["job_id"].as_str().unwrap().to_string();
        // The job's event stream ends the wait when it finishes (the ingest and the failed mirror push).
        let mut events = get(&format!("/jobs/{job_id}/events"), &admin)
            .send()
            .await
            .unwrap();
        let mut seen = String::new();
        while let Some(chunk) = events.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("\"succeeded\"") || seen.contains("\"failed\"") {
                break;
            }
        }
        assert!(seen.contains("\"succeeded\""), "{seen}");
        let resp = http
            .post(format!("{base}/keys"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"role": "read", "name": "app"}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        let made: serde_json::Value = resp.json().await.unwrap();
        let made = made["key"].as_str().unwrap().to_string();
        let resp = http
            .post(format!("{base}/search"))
            .bearer_auth(&made)
            .json(&serde_json::json!({"query": "secrets", "k": 1}))
            .send()
            .await
            .unwrap();
        // dual_write reads locally; the search works with the new key.
        assert_eq!(resp.status(), 200);
        made
    });

    // A clean stop flushes the log; the reader thread returns it at end of file.
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    server.0.wait().unwrap();
    let log = log.join().unwrap().join("\n");
    assert!(
        log.contains("DEBUG"),
        "the server logged at debug level: {log}"
    );
    assert!(
        log.contains("docvec_no_such_db") || log.contains("127.0.0.1:1") || log.contains("mirror"),
        "the failing mirror was logged: {log}"
    );
    for (what, secret) in [
        ("the admin key", admin.as_str()),
        ("the admin key's secret part", &admin[4..]),
        ("a wrong key", wrong),
        ("the key made over the API", made.as_str()),
        ("the Postgres password", password),
        ("the Supabase service key", service_key),
    ] {
        assert!(!log.contains(secret), "{what} is in the log");
    }
}
