//! The real server on an ephemeral port, driven over HTTP with real files from `../shared/corpus/` and the
//! real model (`python3 tools/setup_models.py`; the README's test command runs it first).

mod auth;
mod jobs;
mod limits;
mod metrics;
mod page;
mod readonly;
mod remote;
mod security;
mod store;
mod vectors;

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::Value;

use docvec_engine::Config;
use docvec_server::{RunningServer, ServerConfig};
use docvec_testkit::http::{json_answer, with_files};

pub(crate) fn config(data: &Path) -> Config {
    Config::load(Some(Path::new("/dev/null")), Some(data)).unwrap()
}

/// The defaults of `[server]` on an ephemeral loopback port.
pub(crate) fn settings() -> ServerConfig {
    ServerConfig {
        bind: "127.0.0.1:0".into(),
        ..ServerConfig::default()
    }
}

pub(crate) struct TestServer {
    server: Option<RunningServer>,
    pub base: String,
    pub http: reqwest::Client,
}

impl TestServer {
    pub(crate) async fn start(config: Config) -> Self {
        Self::start_with(config, settings()).await
    }

    pub(crate) async fn start_with(config: Config, settings: ServerConfig) -> Self {
        let mut server = docvec_server::start(config, settings)
            .await
            .expect("server starts");
        server
            .wait_ready()
            .await
            .unwrap_or_else(|e| panic!("{e} (run `python3 tools/setup_models.py`)"));
        let base = format!("http://{}", server.addr());
        Self {
            server: Some(server),
            base,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap(),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn stop(mut self) {
        self.server
            .take()
            .unwrap()
            .stop()
            .await
            .expect("clean stop");
    }

    pub(crate) fn get(&self, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        with_key(self.http.get(self.url(path)), key)
    }

    /// GET a JSON answer.
    pub(crate) async fn get_json(&self, path: &str, key: Option<&str>) -> Value {
        json_answer(self.get(path, key)).await
    }

    pub(crate) fn post(&self, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        with_key(self.http.post(self.url(path)), key)
    }

    pub(crate) fn delete(&self, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        with_key(self.http.delete(self.url(path)), key)
    }

    /// Upload files; returns the 202 body.
    pub(crate) async fn upload(&self, files: &[PathBuf], key: Option<&str>) -> Value {
        let resp = self
            .post("/documents", key)
            .multipart(with_files(Form::new(), files))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        resp.json().await.unwrap()
    }

    /// Follow a job's server-sent events until it finishes; returns every event and the final row.
    pub(crate) async fn follow(&self, job_id: &str, key: Option<&str>) -> (Vec<Value>, Value) {
        let mut resp = self
            .get(&format!("/jobs/{job_id}/events"), key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let mut buf = String::new();
        let mut events = Vec::new();
        while let Some(chunk) = resp.chunk().await.unwrap() {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                    continue;
                };
                let job: Value = serde_json::from_str(data).unwrap();
                let finished = job["id"] == job_id
                    && matches!(
                        job["state"].as_str(),
                        Some("succeeded" | "failed" | "cancelled")
                    );
                events.push(job.clone());
                if finished {
                    return (events, job);
                }
            }
        }
        panic!("the event stream of {job_id} ended before the job finished: {events:?}");
    }

    pub(crate) async fn search(&self, body: Value, key: Option<&str>) -> Value {
        let resp = self.post("/search", key).json(&body).send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }
}

fn with_key(req: reqwest::RequestBuilder, key: Option<&str>) -> reqwest::RequestBuilder {
    match key {
        Some(k) => req.bearer_auth(k),
        None => req,
    }
}

/// The error body's code, checking the JSON shape on the way.
pub(crate) async fn error_code(resp: reqwest::Response) -> (StatusCode, String, String) {
    let status = resp.status();
    let v: Value = resp.json().await.expect("errors are JSON");
    (
        status,
        v["error"]["code"].as_str().expect("error.code").to_string(),
        v["error"]["message"]
            .as_str()
            .expect("error.message")
            .to_string(),
    )
}

/// Sends `req`, which the server refuses, and reads the refusal as [`error_code`] does.
pub(crate) async fn error_of(req: reqwest::RequestBuilder) -> (StatusCode, String, String) {
    error_code(req.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_then_search_with_filters_and_read_the_structured_data() {
    let Some(corpus) = docvec_testkit::corpus(&["logs", "docs", "tables", "api"]) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(data.path())).await;
    let files = [
        corpus.join("logs/Apache/Apache_2k.log"),
        corpus.join("docs/mdbook-guide/README.md"),
        corpus.join("tables/csvkit-FY09_EDU_Recipients_by_State.csv"),
        corpus.join("api/oai-petstore-expanded-swagger2.0.yaml"),
    ];
    let accepted = s.upload(&files, None).await;
    let job_id = accepted["job_id"].as_str().unwrap();
    assert_eq!(accepted["files"].as_array().unwrap().len(), 4);
    let (events, done) = s.follow(job_id, None).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["done"], 4);
    // Each file's child job reported its own end.
    let children: Vec<&Value> = events
        .iter()
        .filter(|e| e["parent_id"] == job_id && e["state"] == "succeeded")
        .collect();
    assert_eq!(children.len(), 4, "{events:?}");
    let detail: Value = s.get_json(&format!("/jobs/{job_id}"), None).await;
    assert_eq!(detail["children"].as_array().unwrap().len(), 4);

    // A format filter keeps only that format, and still returns k hits.
    let r = s
        .search(
            serde_json::json!({"query": "how do I build the book", "k": 3, "filters": {"format": ["markdown"]}}),
            None,
        )
        .await;
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3, "{r}");
    assert!(hits.iter().all(|h| h["format"] == "markdown"));
    assert!(hits[0]["text"].is_string());

    // Log level and time filters keep chunks holding such entries.
    let r = s
        .search(
            serde_json::json!({"query": "worker environment error state", "k": 5, "include_text": true,
                "filters": {"log_level": "error", "since": "2005-12-04T17:00:00"}}),
            None,
        )
        .await;
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 5, "{r}");
    for h in hits {
        let text = h["text"].as_str().unwrap();
        assert!(text.contains("[error]"), "{text}");
        assert_eq!(h["format"], "log");
    }
    let r = s
        .search(
            serde_json::json!({"query": "worker environment error state", "k": 5, "filters": {"log_level": "error", "until": "1999-01-01"}}),
            None,
        )
        .await;
    assert_eq!(r["hits"].as_array().unwrap().len(), 0, "{r}");

    // Keyword mode finds an exact identifier; each mode says what it was.
    let r = s
        .search(
            serde_json::json!({"query": "jk2_init", "k": 3, "mode": "keyword"}),
            None,
        )
        .await;
    assert_eq!(r["mode"], "keyword");
    let hits_kw = r["hits"].as_array().unwrap();
    assert_eq!(hits_kw.len(), 3, "{r}");
    assert!(
        hits_kw
            .iter()
            .all(|h| h["text"].as_str().unwrap().contains("jk2_init"))
    );
    let r = s
        .search(serde_json::json!({"query": "jk2_init", "k": 3}), None)
        .await;
    assert_eq!(r["mode"], "hybrid");

    // Each hit names its span; the source around it opens by document and offsets, or by chunk.
    let hit = &hits_kw[0];
    let span = &hit["span"];
    let (start, end) = (
        span["byte_start"].as_u64().unwrap(),
        span["byte_end"].as_u64().unwrap(),
    );
    let doc = hit["document_id"].as_str().unwrap();
    let view = s
        .get_json(
            &format!("/documents/{doc}/source?start={start}&end={end}&context=200"),
            None,
        )
        .await;
    assert!(
        view["text"].as_str().unwrap().contains("jk2_init"),
        "{view}"
    );
    assert_eq!(view["line_start"], span["line_start"], "{view}");
    assert!(!view["before"].as_str().unwrap().is_empty(), "{view}");
    // The stored text is the file as decoded: UTF-8 with `\n` line ends (this log has CRLF).
    let file = std::fs::read_to_string(&files[0])
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(
        &file[start as usize..end as usize],
        view["text"],
        "the log's own text"
    );
    let by_chunk = s
        .get_json(
            &format!("/chunks/{}/source?context=0", hit["chunk_id"]),
            None,
        )
        .await;
    assert_eq!(by_chunk["text"], view["text"]);
    assert_eq!(by_chunk["chunk"]["chunk_key"], hit["chunk_key"]);
    let total = view["total_bytes"].as_u64().unwrap();
    let (status, code, _) = error_of(s.get(
        &format!("/documents/{doc}/source?start=0&end={}", total + 1),
        None,
    ))
    .await;
    assert_eq!((status.as_u16(), code.as_str()), (400, "bad_request"));
    let (status, _, _) = error_of(s.get("/documents/nothing-here/source", None)).await;
    assert_eq!(status.as_u16(), 404);
    let (status, _, _) = error_of(s.get("/chunks/999999/source", None)).await;
    assert_eq!(status.as_u16(), 404);
    // A table row hit names its rows; an API hit its operation.
    let r = s
        .search(
            serde_json::json!({"query": "pets by id", "k": 1, "filters": {"format": ["openapi"]}}),
            None,
        )
        .await;
    assert_eq!(
        r["hits"][0]["span"]["operation"]["path"], "/pets/{id}",
        "{r}"
    );
    let r = s
        .search(
            serde_json::json!({"query": "recipients by state", "k": 1, "filters": {"format": ["csv"]}}),
            None,
        )
        .await;
    let rows = &r["hits"][0]["span"]["rows"];
    assert!(
        rows["first_row"].as_u64() >= Some(2)
            && rows["last_row"].as_u64() >= rows["first_row"].as_u64(),
        "{r}"
    );

    // The log would fill the page; a per-document cap makes room for the other documents, still k.
    let r = s
        .search(
            serde_json::json!({"query": "jk2_init child workers", "k": 4, "max_per_document": 1}),
            None,
        )
        .await;
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 4, "{r}");
    let docs: std::collections::HashSet<&str> = hits
        .iter()
        .map(|h| h["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(docs.len(), 4, "{r}");
    let r = s
        .search(
            serde_json::json!({"query": "jk2_init child workers", "k": 4, "max_per_document": 2}),
            None,
        )
        .await;
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 4, "{r}");
    assert!(
        hits[0]["format"] == "log" && hits[1]["format"] == "log" && hits[2]["format"] != "log",
        "{r}"
    );

    // Highlighted snippets mark the query's words, stemmed ("slots" marks "slot").
    let r = s
        .search(
            serde_json::json!({"query": "scoreboard slots", "k": 2, "mode": "keyword", "highlight": true, "snippet_chars": 120}),
            None,
        )
        .await;
    for h in r["hits"].as_array().unwrap() {
        let snippet = &h["snippet"];
        let fragment = snippet["fragment"].as_str().unwrap();
        assert!(fragment.chars().count() <= 120, "{fragment}");
        let marked: Vec<&str> = snippet["highlights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &fragment[r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize])
            .collect();
        assert!(marked.contains(&"scoreboard"), "{marked:?}");
        assert!(marked.contains(&"slot"), "{marked:?}");
        assert!(
            h["snippet_html"].as_str().unwrap().contains("<mark>"),
            "{h}"
        );
    }
    let r = s
        .search(serde_json::json!({"query": "jk2_init", "k": 1}), None)
        .await;
    assert!(
        r["hits"][0].get("snippet").is_none(),
        "snippets only when asked"
    );

    // GET /search for quick use.
    let r: Value = s
        .get_json("/search?q=scoreboard%20child&k=2&format=log", None)
        .await;
    assert_eq!(r["hits"].as_array().unwrap().len(), 2);

    // Documents, a page at a time.
    let first: Value = s.get_json("/documents?limit=3", None).await;
    assert_eq!(first["documents"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = s
        .get_json(&format!("/documents?limit=3&cursor={cursor}"), None)
        .await;
    assert_eq!(second["documents"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    // One document with its structure.
    let log_id = hits[0]["document_id"].as_str().unwrap().to_string();
    let doc: Value = s.get_json(&format!("/documents/{log_id}"), None).await;
    assert_eq!(doc["document"]["format"], "log");
    assert_eq!(doc["log_entries_total"], 2000);
    assert_eq!(doc["log_entries"].as_array().unwrap().len(), 1000);

    // Structured data with filters and pages.
    let logs: Value = s.get_json("/logs?level=ERROR&limit=10", None).await;
    let items = logs["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(|e| e["level"] == "ERROR"));
    let next: Value = s
        .get_json(
            &format!(
                "/logs?level=ERROR&limit=10&cursor={}",
                logs["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_ne!(next["items"][0], items[0]);
    let tags: Value = s.get_json("/tags?kind=format", None).await;
    let names: Vec<&str> = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"log") && names.contains(&"markdown"),
        "{tags}"
    );
    let apis: Value = s.get_json("/apis?method=get&path_prefix=/pets", None).await;
    let ops = apis["items"].as_array().unwrap();
    assert_eq!(ops.len(), 2, "{apis}");
    assert!(ops.iter().all(|o| o["method"] == "GET"));
    let facts: Value = s.get_json("/facts?limit=5&kind=table_cell", None).await;
    let fact = &facts["items"][0];
    assert!(fact["id"].is_i64(), "{facts}");
    let evidence: Value = s.get_json(&format!("/evidence/{}", fact["id"]), None).await;
    assert_eq!(evidence["id"], fact["id"]);
    assert!(evidence["evidence"].is_object(), "{evidence}");

    // Delete: gone from listings and searches.
    let resp = s
        .delete(&format!("/documents/{log_id}"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        error_of(s.get(&format!("/documents/{log_id}"), None))
            .await
            .1,
        "not_found"
    );
    let r = s
        .search(
            serde_json::json!({"query": "scoreboard child", "k": 10}),
            None,
        )
        .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["document_id"] != log_id.as_str())
    );
    assert!(!data.path().join("uploads/Apache_2k.log").exists());
    s.stop().await;
}

/// Metadata over HTTP: an upload's `metadata` field and a `NAME.meta.json` sidecar part, returned
/// with hits and filtered by in `POST /search` and `GET /search`; a malformed filter is a 400.
#[tokio::test(flavor = "multi_thread")]
async fn uploads_carry_metadata_that_searches_filter_by() {
    let data = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(data.path())).await;
    let samples = docvec_testkit::samples_dir();
    let form = with_files(
        Form::new(),
        &[
            samples.join("sourdough-bread.txt"),
            samples.join("approximate-nearest-neighbours.md"),
        ],
    )
    .text("metadata", r#"{"year": 2021, "team": "docs"}"#)
    .part(
        "file",
        reqwest::multipart::Part::bytes(br#"{"year": 2024, "diet": ["vegan"]}"#.to_vec())
            .file_name("sourdough-bread.txt.meta.json"),
    );
    let resp = s
        .post("/documents", None)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let accepted: Value = resp.json().await.unwrap();
    // The sidecar is not a document of its own.
    assert_eq!(accepted["files"].as_array().unwrap().len(), 2, "{accepted}");
    let (_, done) = s.follow(accepted["job_id"].as_str().unwrap(), None).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    let r = s
        .search(
            serde_json::json!({"query": "graph index for vectors", "k": 5,
                "filters": {"meta": {"year": {"gte": 2022}, "diet": "vegan"}}}),
            None,
        )
        .await;
    let hits = r["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{r}");
    for h in hits {
        assert!(
            h["document_path"]
                .as_str()
                .unwrap()
                .ends_with("sourdough-bread.txt"),
            "{r}"
        );
        assert_eq!(
            h["meta"],
            serde_json::json!({"year": 2024, "team": "docs", "diet": ["vegan"]})
        );
    }
    let r: Value = s
        .get_json("/search?q=bread&k=3&meta=%7B%22year%22%3A2021%7D", None)
        .await;
    let hits = r["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{r}");
    assert!(hits.iter().all(|h| h["meta"]["year"] == 2021), "{r}");
    for bad in [
        serde_json::json!({"year": {"near": 2020}}),
        serde_json::json!({"year": {"gt": true}}),
        serde_json::json!(["year"]),
    ] {
        let (status, code, message) = error_of(
            s.post("/search", None)
                .json(&serde_json::json!({"query": "x", "filters": {"meta": bad}})),
        )
        .await;
        assert_eq!(
            (status.as_u16(), code.as_str()),
            (400, "bad_request"),
            "{message}"
        );
    }
    let bad_upload = with_files(Form::new(), &[samples.join("sourdough-bread.txt")])
        .text("metadata", r#"{"a": {"b": 1}}"#);
    let (status, _, message) = error_of(s.post("/documents", None).multipart(bad_upload)).await;
    assert_eq!(status.as_u16(), 400);
    assert!(message.contains("`a`"), "{message}");
    s.stop().await;
}
