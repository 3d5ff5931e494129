//! API keys: each role on the routes it may and may not use, revocation, and the loopback rule.

use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::{Value, json};

use docvec_engine::Store;
use docvec_server::{Role, ServerError, create_key};
use docvec_testkit::http::{json_answer, upload_form};

use crate::{TestServer, config, error_code, settings};

async fn status(req: reqwest::RequestBuilder) -> (StatusCode, String) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    if status.is_success() {
        (status, String::new())
    } else {
        let (_, code, _) = error_code(resp).await;
        (status, code)
    }
}

fn text_upload() -> Form {
    upload_form(
        "roles.txt",
        b"Role checks keep readers from writing.\n".to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_may_do_its_part_and_no_more() {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(&data.path().join("docvec.db")).await.unwrap();
    let read = create_key(&store, Role::Read, "reader").await.unwrap().key;
    let write = create_key(&store, Role::Write, "writer").await.unwrap().key;
    let admin = create_key(&store, Role::Admin, "admin").await.unwrap().key;
    // Only hashes are stored.
    let raw = std::fs::read(data.path().join("docvec.db")).unwrap();
    let stored = String::from_utf8_lossy(&raw);
    assert!(!stored.contains(&read[4..]) && !stored.contains(&admin[4..]));
    store.close().await;

    let s = TestServer::start(config(data.path())).await;
    let search = json!({"query": "who may write", "k": 1});

    // No key, or a wrong one: 401 with a JSON error. Health stays open for probes.
    assert_eq!(
        status(s.post("/search", None).json(&search)).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    assert_eq!(
        status(s.post("/search", Some("dvk_not_a_key")).json(&search)).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    assert_eq!(status(s.get("/healthz", None)).await.0, StatusCode::OK);
    assert_eq!(status(s.get("/readyz", None)).await.0, StatusCode::OK);
    // X-API-Key works as well as Bearer.
    let resp = s
        .http
        .get(s.url("/config"))
        .header("x-api-key", &read)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // Read: search and read, nothing else.
    for path in [
        "/documents",
        "/jobs",
        "/tags",
        "/logs",
        "/metrics",
        "/config",
    ] {
        assert_eq!(
            status(s.get(path, Some(&read))).await.0,
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(
        status(s.post("/search", Some(&read)).json(&search)).await.0,
        StatusCode::OK
    );
    let forbidden = (StatusCode::FORBIDDEN, "forbidden".to_string());
    assert_eq!(
        status(s.post("/documents", Some(&read)).multipart(text_upload())).await,
        forbidden
    );
    assert_eq!(
        status(s.delete("/documents/x", Some(&read))).await,
        forbidden
    );
    assert_eq!(
        status(s.post("/search/rebuild", Some(&read))).await,
        forbidden
    );
    assert_eq!(status(s.get("/keys", Some(&read))).await, forbidden);

    // Write: also ingest and delete; no rebuild, no keys.
    let resp = s
        .post("/documents", Some(&write))
        .multipart(text_upload())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let job: Value = resp.json().await.unwrap();
    let (_, done) = s
        .follow(job["job_id"].as_str().unwrap(), Some(&write))
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        status(s.post("/search/rebuild", Some(&write))).await,
        forbidden
    );
    assert_eq!(
        status(
            s.post("/keys", Some(&write))
                .json(&json!({"role": "admin"}))
        )
        .await,
        forbidden
    );
    let doc: Value = s.get_json("/documents", Some(&write)).await;
    let id = doc["documents"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        status(s.delete(&format!("/documents/{id}"), Some(&write)))
            .await
            .0,
        StatusCode::OK
    );

    // Admin: rebuild and manage keys; a revoked key stops working at once.
    assert_eq!(
        status(s.post("/search/rebuild", Some(&admin))).await.0,
        StatusCode::ACCEPTED
    );
    let made: Value = json_answer(
        s.post("/keys", Some(&admin))
            .json(&json!({"role": "read", "name": "dashboard"})),
    )
    .await;
    let new_key = made["key"].as_str().unwrap();
    assert_eq!(
        status(s.get("/documents", Some(new_key))).await.0,
        StatusCode::OK
    );
    let listed: Value = s.get_json("/keys", Some(&admin)).await;
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert!(
        !listed.to_string().contains(new_key),
        "listings never show keys"
    );
    let key_id = made["id"].as_str().unwrap();
    assert_eq!(
        status(s.delete(&format!("/keys/{key_id}"), Some(&admin)))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(s.get("/documents", Some(new_key))).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_address_without_keys_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = settings();
    srv.bind = "0.0.0.0:0".into();
    match docvec_server::start(config(data.path()), srv).await {
        Err(ServerError::OpenNonLoopback(_)) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("an open API was bound to every interface"),
    }
}
