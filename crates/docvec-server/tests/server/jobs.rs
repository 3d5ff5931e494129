//! Jobs: a rebuild swapped in under a searching client, and jobs outliving a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};

use docvec_engine::Store;
use docvec_server::store::{JobRow, put_job};

use crate::{TestServer, config};

/// The server's config plus the int8-weight all-MiniLM-L6-v2 (fetched by tools/setup_models.py beside
/// the exact one) as the configured model `int8`.
fn two_model_config(data: &std::path::Path) -> docvec_engine::Config {
    let int8 = docvec_testkit::models_dir().join("all-MiniLM-L6-v2/model-int8w.onnx");
    let file = data.join("models.toml");
    std::fs::write(
        &file,
        format!("[models.int8]\npath = {:?}\n", int8.display().to_string()),
    )
    .unwrap();
    let mut c = config(data);
    c.models = docvec_engine::Config::load(Some(&file), Some(data))
        .unwrap()
        .models;
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_switching_models_swaps_in_while_a_client_keeps_searching() {
    let Some(corpus) = docvec_testkit::corpus(&["logs"]) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let s = TestServer::start(two_model_config(data.path())).await;
    let cfg: Value = s.get_json("/config", None).await;
    assert_eq!(
        cfg["model"]["id"],
        docvec_engine::Builtin::default_on_this_cpu().id()
    );
    assert_eq!(cfg["model"]["configured"], json!(["default", "int8"]));
    // What runs the model: the ONNX Runtime the server loaded, with only the CPU provider here.
    let runtime = &cfg["model"]["runtime"];
    assert_eq!(
        runtime["execution_providers"],
        json!(["CPUExecutionProvider"])
    );
    assert!(
        runtime["onnxruntime_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{runtime}"
    );
    let resp = s
        .post("/search/rebuild", None)
        .json(&json!({"model": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let err: Value = resp.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no model `nope`"),
        "{err}"
    );
    let accepted = s
        .upload(&[corpus.join("logs/Apache/Apache_2k.log")], None)
        .await;
    let (_, done) = s.follow(accepted["job_id"].as_str().unwrap(), None).await;
    assert_eq!(done["state"], "succeeded");
    let chunks = done["result"]["chunks_embedded"].as_u64().unwrap();

    // A client searches without pause for the whole rebuild; every answer must be a full, good one.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let client = {
        let (http, url, stop, ok) = (s.http.clone(), s.url("/search"), stop.clone(), ok.clone());
        tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let resp = http
                    .post(&url)
                    .json(&json!({"query": "jk2_init found child in scoreboard", "k": 5}))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == StatusCode::OK => {
                        let v: Value = r.json().await.unwrap();
                        if v["hits"].as_array().map_or(0, Vec::len) == 5 {
                            ok.fetch_add(1, Ordering::SeqCst);
                        } else {
                            failures.push(format!("short answer: {v}"));
                        }
                    }
                    Ok(r) => failures.push(format!("{}: {}", r.status(), r.text().await.unwrap())),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            failures
        })
    };
    // Embedding every chunk with the other model makes the rebuild last long enough to be searched
    // through, and the switch must not fail a query embedded by the old model and searched after it.
    let resp = s
        .post("/search/rebuild", None)
        .json(&json!({"model": "int8"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert!(resp.headers().get("location").is_some());
    let job: Value = resp.json().await.unwrap();
    let (events, done) = s.follow(job["job_id"].as_str().unwrap(), None).await;
    stop.store(true, Ordering::SeqCst);
    let failures = client.await.unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(ok.load(Ordering::SeqCst) > 0);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["result"]["vectors"].as_u64(), Some(chunks));
    assert_eq!(done["result"]["reembedded"].as_u64(), Some(chunks));
    assert_eq!(done["result"]["model"], "int8");
    let cfg: Value = s.get_json("/config", None).await;
    assert_eq!(cfg["model"]["id"], "int8");
    // Progress went through every phase and ended at done == total.
    assert!(events.iter().any(|e| e["label"] == "rebuild: embed"));
    assert!(
        events
            .iter()
            .any(|e| e["label"] == "rebuild: text" && e["done"] == e["total"])
    );
    assert!(
        events
            .iter()
            .any(|e| e["label"] == "rebuild: index" && e["done"] == e["total"])
    );
    // The rebuild is a job tree: a child per phase, each finished, with its progress and timings.
    let id = job["job_id"].as_str().unwrap();
    let tree = s.get_json(&format!("/jobs/{id}"), None).await;
    let children = tree["children"].as_array().unwrap();
    let mut labels: Vec<&str> = children
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    labels.sort_unstable();
    assert_eq!(
        labels,
        ["rebuild: embed", "rebuild: full-text", "rebuild: graph"],
        "{tree}"
    );
    for c in children {
        assert_eq!(c["state"], "succeeded", "{c}");
        assert_eq!(c["kind"], "rebuild_phase", "{c}");
        assert!(c["started_at"].as_i64().unwrap() <= c["finished_at"].as_i64().unwrap());
        assert!(
            c["total"].as_i64().unwrap() > 0 && c["done"] == c["total"],
            "{c}"
        );
    }
    // A finished job cannot be cancelled, and says so; an unknown one is not found.
    let resp = s
        .post(&format!("/jobs/{id}/cancel"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let err: Value = resp.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already finished (succeeded)"),
        "{err}"
    );
    let resp = s.post("/jobs/job_nope/cancel", None).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let hits = s
        .search(
            json!({"query": "jk2_init found child in scoreboard", "k": 5}),
            None,
        )
        .await;
    assert_eq!(hits["hits"].as_array().unwrap().len(), 5);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn finished_jobs_outlive_a_restart_and_interrupted_ones_are_marked_failed() {
    let data = tempfile::tempdir().unwrap();
    let notes = data.path().join("notes.txt");
    std::fs::write(&notes, "Jobs are kept in SQLite beside the documents.\n").unwrap();

    let s = TestServer::start(config(data.path())).await;
    let accepted = s.upload(&[notes], None).await;
    let id = accepted["job_id"].as_str().unwrap().to_string();
    let (_, done) = s.follow(&id, None).await;
    assert_eq!(done["state"], "succeeded");
    s.stop().await;

    // A job the last process left running, as a crash would.
    let store = Store::open(&data.path().join("docvec.db")).await.unwrap();
    put_job(
        &store,
        &JobRow {
            id: "job_crashed".into(),
            kind: "rebuild".into(),
            state: "running".into(),
            parent_id: None,
            label: "rebuild: index".into(),
            done: 10,
            total: 100,
            params: json!({}),
            result: None,
            error: None,
            created_at: 1,
            started_at: Some(1),
            finished_at: None,
        },
    )
    .await
    .unwrap();
    store.close().await;

    let s = TestServer::start(config(data.path())).await;
    let detail: Value = s.get_json(&format!("/jobs/{id}"), None).await;
    assert_eq!(detail["job"]["state"], "succeeded");
    assert_eq!(detail["children"][0]["state"], "succeeded");
    assert_eq!(detail["children"][0]["label"], "notes.txt");
    let crashed: Value = s.get_json("/jobs/job_crashed", None).await;
    assert_eq!(crashed["job"]["state"], "failed");
    assert!(
        crashed["job"]["error"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
    let listed: Value = s.get_json("/jobs?state=succeeded", None).await;
    assert!(
        listed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == id.as_str())
    );
    // The document is still searchable after the restart.
    let r = s
        .search(json!({"query": "where are jobs kept", "k": 1}), None)
        .await;
    assert!(
        r["hits"][0]["document_path"]
            .as_str()
            .unwrap()
            .ends_with("notes.txt")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shutdown_during_an_upload_leaves_every_job_finished_and_the_data_whole() {
    let Some(corpus) = docvec_testkit::corpus(&["logs"]) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(data.path())).await;
    let files: Vec<_> = [
        "logs/HDFS/HDFS_2k.log",
        "logs/Spark/Spark_2k.log",
        "logs/Linux/Linux_2k.log",
    ]
    .iter()
    .map(|f| corpus.join(f))
    .collect();
    let accepted = s.upload(&files, None).await;
    let id = accepted["job_id"].as_str().unwrap().to_string();
    // Stop at once: the job is queued or mid-way; either way it must end in a final state.
    s.stop().await;

    let s = TestServer::start(config(data.path())).await;
    let detail: Value = s.get_json(&format!("/jobs/{id}"), None).await;
    let final_states = ["succeeded", "failed", "cancelled"];
    assert!(
        final_states.contains(&detail["job"]["state"].as_str().unwrap()),
        "{detail}"
    );
    for child in detail["children"].as_array().unwrap() {
        assert!(
            final_states.contains(&child["state"].as_str().unwrap()),
            "{child}"
        );
    }
    // Every file reported ingested is whole and searchable; the rest are absent, not partial.
    let docs: Value = s.get_json("/documents", None).await;
    for d in docs["documents"].as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        let r = s
            .search(
                json!({"query": "error", "k": 1, "filters": {"document": id}}),
                None,
            )
            .await;
        assert_eq!(r["hits"].as_array().unwrap().len(), 1, "{d}");
        assert!(d["chunk_count"].as_i64().unwrap() > 0);
    }
    let succeeded = detail["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "succeeded")
        .count();
    assert_eq!(docs["documents"].as_array().unwrap().len(), succeeded);
    s.stop().await;
}
