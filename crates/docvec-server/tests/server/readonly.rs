//! `docvec serve --read-only` on a bundle: searches answer as the source did, every route that changes
//! data answers 403 `read_only`, and not one byte under the bundle changes (no -wal, -shm or LOCK).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use reqwest::StatusCode;
use serde_json::{Value, json};

use docvec_engine::{Access, Engine, EngineError};
use docvec_testkit::http::{json_answer, upload_form};

use crate::vectors::{ids, serving_samples};
use crate::{TestServer, config, error_code, error_of, settings};

/// Every file under `dir` with its size, modification time and bytes.
fn listing(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime, Vec<u8>)> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, (u64, SystemTime, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                let bytes = std::fs::read(&path).unwrap();
                out.insert(rel, (meta.len(), meta.modified().unwrap(), bytes));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Hits as (chunk id, score), for comparing two servers' answers.
fn hits(r: &Value) -> Vec<(i64, f64)> {
    r["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits: {r}"))
        .iter()
        .map(|h| {
            (
                h["chunk_id"].as_i64().unwrap(),
                h["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn same_hits(a: &Value, b: &Value) {
    let (a, b) = (hits(a), hits(b));
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for ((id_a, score_a), (id_b, score_b)) in a.iter().zip(&b) {
        assert_eq!(id_a, id_b, "{a:?} vs {b:?}");
        assert!((score_a - score_b).abs() < 1e-4, "{a:?} vs {b:?}");
    }
}

/// The searches both servers answer: every mode, GET and batch.
async fn answers(s: &TestServer, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for body in [
        json!({"query": "sourdough starter", "k": 3, "mode": "keyword"}),
        json!({"query": "how do I bake bread", "k": 3, "mode": "vector"}),
        json!({"query": "how do I bake bread", "k": 3, "mode": "hybrid"}),
        json!({"query": "bread", "k": 2, "mode": "keyword", "filters": {"format": ["text"]}}),
    ] {
        out.push(s.search(body, Some(key)).await);
    }
    out.push(
        s.get_json("/search?q=sourdough%20starter&k=2&mode=keyword", Some(key))
            .await,
    );
    let batch = s
        .post("/search/batch", Some(key))
        .json(&json!({"queries": [
            {"query": "sourdough", "mode": "keyword", "k": 2},
            {"query": "how do I bake bread", "mode": "vector", "k": 2},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), StatusCode::OK);
    let batch: Value = batch.json().await.unwrap();
    out.extend(batch["results"].as_array().unwrap().iter().cloned());
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_served_read_only_answers_as_its_source_refuses_writes_and_stays_unchanged() {
    let (data, source, samples) = serving_samples().await;
    // Keys made on the source travel in the bundle; the read-only server checks them.
    let made: Value = json_answer(
        source
            .post("/keys", None)
            .json(&json!({"role": "admin", "name": "ops"})),
    )
    .await;
    let admin = made["key"].as_str().unwrap().to_string();
    let made: Value = json_answer(
        source
            .post("/keys", Some(&admin))
            .json(&json!({"role": "read"})),
    )
    .await;
    let (read, read_id) = (
        made["key"].as_str().unwrap().to_string(),
        made["id"].as_str().unwrap().to_string(),
    );

    // `docvec export`, from a reader beside the serving writer.
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    let reader = Engine::open(config(data.path()), Access::ReadOnly)
        .await
        .unwrap();
    let exported = reader.export_bundle(&bundle).await;
    reader.close().await.unwrap();
    assert_eq!(exported.unwrap().manifest.documents, samples.len() as i64);
    let expected = answers(&source, &read).await;
    let documents = source.get_json("/documents?limit=100", Some(&read)).await;
    source.stop().await;

    let before = listing(out.path());
    assert!(
        before.contains_key(Path::new("bundle/docvec.db")),
        "{:?}",
        before.keys()
    );
    let db = &before[Path::new("bundle/docvec.db")].2;
    assert_eq!(
        (db[18], db[19]),
        (1, 1),
        "a bundle's store is in rollback journal mode"
    );

    let mut srv = settings();
    srv.read_only = true;
    let s = TestServer::start_with(config(&bundle), srv).await;

    // Keys are checked (and nothing records their use).
    assert_eq!(
        error_of(
            s.post("/search", None)
                .json(&json!({"query": "bread", "mode": "keyword"}))
        )
        .await
        .1,
        "unauthorized"
    );
    let got = answers(&s, &read).await;
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        same_hits(g, e);
    }
    assert!(!ids(&got[0]).is_empty(), "{}", got[0]);
    let listed = s.get_json("/documents?limit=100", Some(&read)).await;
    assert_eq!(listed["documents"], documents["documents"]);
    let first_id = listed["documents"][0]["id"].as_str().unwrap().to_string();
    let one = s
        .get(&format!("/documents/{first_id}"), Some(&read))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), StatusCode::OK);
    for path in ["/healthz", "/readyz", "/metrics", "/jobs", "/tags", "/keys"] {
        let resp = s.get(path, Some(&admin)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    let cfg: Value = s.get_json("/config", Some(&read)).await;
    assert_eq!(cfg["read_only"], true, "{cfg}");

    // Every change is refused before any work, with the reason; an admin key changes nothing.
    let upload = upload_form("new.txt", b"Read-only servers take no uploads.\n".to_vec());
    let refused = [
        s.post("/documents", Some(&admin)).multipart(upload),
        s.delete(&format!("/documents/{first_id}"), Some(&admin)),
        s.delete("/documents/no-such-document", Some(&admin)),
        s.post("/search/rebuild", Some(&admin)),
        s.post("/search/rebuild", Some(&admin))
            .json(&json!({"model": "default", "reembed": true})),
        s.post("/snapshots", Some(&admin)),
        s.post("/keys", Some(&admin)).json(&json!({"role": "read"})),
        s.delete(&format!("/keys/{read_id}"), Some(&admin)),
    ];
    for req in refused {
        let resp = req.send().await.unwrap();
        let what = format!("{} {}", resp.url().path(), resp.status());
        let (status, code, message) = error_code(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "read_only"),
            "{what}: {message}"
        );
        assert!(message.contains("read-only"), "{message}");
    }
    // The key check still comes first: a read key learns only that it may not write.
    assert_eq!(
        error_of(s.delete(&format!("/documents/{first_id}"), Some(&read)))
            .await
            .1,
        "forbidden"
    );
    // The document and the key are still there.
    let listed = s.get_json("/documents?limit=100", Some(&read)).await;
    assert_eq!(listed["documents"], documents["documents"]);
    let keys = s.get_json("/keys", Some(&admin)).await;
    assert_eq!(keys.as_array().unwrap().len(), 2, "{keys}");
    s.stop().await;

    // The engine itself refuses changes when opened read-only, with the typed error the API maps.
    let engine = Engine::open(config(&bundle), Access::ReadOnly)
        .await
        .unwrap();
    let refusals = [
        engine.delete(&first_id).await.err(),
        engine
            .ingest(&samples, &Default::default(), &|_| {})
            .await
            .err(),
        engine
            .rebuild_index(&Default::default(), &|_| {}, &Default::default())
            .await
            .err(),
    ];
    for refusal in refusals {
        assert!(
            matches!(refusal, Some(EngineError::ReadOnly(_))),
            "{refusal:?}"
        );
    }
    engine.close().await.unwrap();

    let after = listing(out.path());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "no file appears or goes (no -wal, -shm or LOCK)"
    );
    for (path, (len, mtime, bytes)) in &before {
        let (len_after, mtime_after, bytes_after) = &after[path];
        assert_eq!(
            (len, mtime),
            (len_after, mtime_after),
            "{} changed",
            path.display()
        );
        assert!(bytes == bytes_after, "{} changed", path.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serving_read_only_needs_an_existing_store_and_creates_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("nothing-here");
    let mut srv = settings();
    srv.read_only = true;
    let err = match docvec_server::start(config(&missing), srv).await {
        Ok(_) => panic!("a read-only server started without a store"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("no docvec store") && err.contains("nothing-here"),
        "{err}"
    );
    assert!(!missing.exists(), "the data directory was created");
}
