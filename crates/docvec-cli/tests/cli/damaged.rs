//! Damaged files (issue 24): each kind of file in a data directory is truncated or has bytes
//! overwritten. docvec names the damaged file; the derived indexes (graph, manifest, full-text
//! segments) are rebuilt from the store, at the next read-write open or by `docvec check`, and then
//! answer as before; a damaged database or write-ahead log is refused, never "repaired" by dropping
//! rows; a damaged model file is found by `docvec check`.

use std::path::{Path, PathBuf};
use std::process::Command;

use docvec_testkit::http::json_answer;

use super::crash::serve_logged;
use super::edge::samples_dir;
use super::{assert_success, docvec, json};

/// What a case does to its file.
type Damage = Box<dyn Fn(&Path)>;

/// A copy of `base` to damage.
fn copy(base: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let status = Command::new("cp")
        .arg("-a")
        .arg(base)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    (tmp, dir)
}

/// Overwrite `len` bytes of `path` from `at` (a negative `at` counts from the end) with `byte`.
fn overwrite(path: &Path, at: i64, len: usize, byte: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    let start = if at < 0 {
        bytes.len() - at.unsigned_abs() as usize
    } else {
        at as usize
    };
    let end = (start + len).min(bytes.len());
    bytes[start..end].fill(byte);
    std::fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// The one file in `dir` with extension `ext`.
fn file_with(dir: &Path, ext: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == ext))
        .unwrap_or_else(|| panic!("no .{ext} file in {}", dir.display()))
}

/// Chunk ids of a keyword and of a vector search, in rank order.
fn answers(data: &Path) -> Vec<Vec<i64>> {
    ["keyword", "vector"]
        .iter()
        .map(|mode| {
            let out = docvec(
                data,
                &[
                    "search",
                    "sourdough starter",
                    "-k",
                    "5",
                    "--mode",
                    mode,
                    "--json",
                ],
            );
            assert_success(&out);
            json(&out)
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["chunk_id"].as_i64().unwrap())
                .collect()
        })
        .collect()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `docvec check --json` on `data`: consistent, and what it says it rebuilt.
fn check_passes(data: &Path) -> Vec<String> {
    let out = docvec(data, &["check", "--json"]);
    assert_success(&out);
    let report = json(&out);
    assert_eq!(report["consistent"], true, "{report}");
    report["rebuilt"]
        .as_array()
        .map(|r| r.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn damaged_index_files_are_named_and_rebuilt_from_the_store() {
    let (_keep, base) = samples_dir();
    let expected = answers(&base);
    let full_text = base.join("fulltext");
    let cases: Vec<(&str, PathBuf, Damage)> = vec![
        (
            "graph truncated",
            PathBuf::from("index/gen-1/graph.bin"),
            Box::new(|p| truncate(p, 1000)),
        ),
        (
            // Not a number where the vectors are: a search refuses it before check rebuilds it.
            "graph vectors overwritten",
            PathBuf::from("index/gen-1/graph.bin"),
            Box::new(|p| {
                let half = std::fs::metadata(p).unwrap().len() as i64 / 2;
                overwrite(p, half, 2048, 0xff)
            }),
        ),
        (
            "manifest truncated",
            PathBuf::from("index/MANIFEST.json"),
            Box::new(|p| truncate(p, 40)),
        ),
        (
            "full-text term dictionary truncated",
            file_with(&full_text, "term")
                .strip_prefix(&base)
                .unwrap()
                .to_path_buf(),
            Box::new(|p| truncate(p, 100)),
        ),
        (
            // Found only by summing the file against its footer: `docvec check` does.
            "full-text postings overwritten",
            file_with(&full_text, "idx")
                .strip_prefix(&base)
                .unwrap()
                .to_path_buf(),
            Box::new(|p| overwrite(p, 40, 8, 0xa5)),
        ),
        (
            "full-text meta.json cut",
            PathBuf::from("fulltext/meta.json"),
            Box::new(|p| std::fs::write(p, "{").unwrap()),
        ),
    ];
    for (what, rel, damage) in cases {
        let (_tmp, data) = copy(&base);
        let file = data.join(&rel);
        damage(&file);
        // A read-only search cannot rebuild: it answers as before or names the damaged file.
        let out = docvec(&data, &["search", "sourdough starter", "--mode", "vector"]);
        if !out.status.success() {
            let name = file.file_name().unwrap().to_str().unwrap();
            assert!(stderr(&out).contains(name), "{what}: {}", stderr(&out));
        }
        let rebuilt = check_passes(&data);
        assert_eq!(rebuilt.len(), 1, "{what}: check rebuilt {rebuilt:?}");
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            rebuilt[0].contains(name) || rebuilt[0].contains("fulltext"),
            "{what}: {rebuilt:?} does not name {}",
            file.display()
        );
        assert_eq!(
            answers(&data),
            expected,
            "{what}: searches after the rebuild"
        );
        assert!(check_passes(&data).is_empty(), "{what}: rebuilt twice");
    }
}

#[test]
fn a_damaged_database_is_refused_naming_it_and_left_as_it_is() {
    let (_keep, base) = samples_dir();
    // A b-tree page's header overwritten: SQLite's integrity check finds it.
    let (_tmp, data) = copy(&base);
    let db = data.join("docvec.db");
    overwrite(&db, 8 * 4096, 8, 0xff);
    let before = std::fs::read(&db).unwrap();
    let out = docvec(&data, &["check", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["consistent"], false);
    assert!(
        !report["store"]["integrity_errors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(report["database"], db.to_str().unwrap());
    assert!(
        report["rebuilt"].is_null(),
        "nothing is rebuilt from a damaged store"
    );
    let out = docvec(&data, &["search", "sourdough", "--mode", "keyword"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(db.to_str().unwrap()) && err.contains("damaged"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database was changed"
    );

    // Not a database at all, and cut short: named at open.
    for damage in [
        Box::new(|p: &Path| overwrite(p, 0, 16, b'X')) as Damage,
        Box::new(|p: &Path| truncate(p, 50_000)),
    ] {
        let (_tmp, data) = copy(&base);
        let db = data.join("docvec.db");
        damage(&db);
        let out = docvec(&data, &["check"]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains(db.to_str().unwrap()) && err.contains("does not repair"),
            "{err}"
        );
    }
}

/// Commit three rows through a WAL-mode connection that then exits without a checkpoint, leaving
/// them in `docvec.db-wal` only, as a crash does (Python's sqlite3: another SQLite than docvec's).
fn leave_wal(data: &Path) -> PathBuf {
    let script = r#"
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA wal_autocheckpoint=0")
for i in range(3):
    c.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)", (f"wal-test-{i}", "x" * 3000))
os._exit(0)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(data.join("docvec.db"))
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let wal = data.join("docvec.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 4096);
    wal
}

#[test]
fn a_write_ahead_log_that_would_lose_commits_is_refused_and_a_torn_tail_is_not() {
    let (_keep, base) = samples_dir();
    // Sound: its three commits are there after the open.
    let (_tmp, data) = copy(&base);
    leave_wal(&data);
    check_passes(&data);
    let out = docvec(&data, &["stats", "--json"]);
    assert_success(&out);

    // A byte flipped in the first frame would hide the commits after it.
    let (_tmp, data) = copy(&base);
    let wal = leave_wal(&data);
    let flipped = 32 + 24 + 100;
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes[flipped] ^= 1;
    std::fs::write(&wal, &bytes).unwrap();
    let out = docvec(&data, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(wal.to_str().unwrap()) && err.contains("fails its checksum"),
        "{err}"
    );
    assert_eq!(std::fs::read(&wal).unwrap(), bytes, "the log was changed");

    // A last frame cut short is a write torn by a crash: SQLite drops it, as it should.
    let (_tmp, data) = copy(&base);
    let wal = leave_wal(&data);
    let len = std::fs::metadata(&wal).unwrap().len();
    truncate(&wal, len - 100);
    check_passes(&data);
}

#[test]
fn a_damaged_model_file_is_found_by_check() {
    let (_keep, data) = samples_dir();
    // A copy of the model the directory was made with (the default), its neighbours (tokenizer,
    // config) beside it.
    let default = docvec_engine::Builtin::default_on_this_cpu();
    let models = docvec_testkit::models_dir();
    let copy_dir = tempfile::tempdir().unwrap();
    let model = copy_dir.path().join("model.onnx");
    std::fs::copy(models.join(default.file()), &model).unwrap();
    for f in ["tokenizer.json", "config.json"] {
        let from = models.join("all-MiniLM-L6-v2").join(f);
        std::fs::copy(from, copy_dir.path().join(f)).unwrap();
    }
    // Weights overwritten far into the file: it still loads and embeds, into other vectors.
    let len = std::fs::metadata(&model).unwrap().len() as i64;
    overwrite(&model, len / 2, 64, 0x3f);
    let out = super::docvec_command(&data, &["check", "--json"])
        .env("DOCVEC_MODEL_ID", default.id())
        .env("DOCVEC_MODEL_PATH", &model)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let problem = report["model"]
        .as_str()
        .unwrap_or_else(|| panic!("{report}"));
    assert!(problem.contains(model.to_str().unwrap()), "{problem}");
    // With the right file, all is well.
    check_passes(&data);
}

#[test]
fn a_server_answers_damage_with_503_naming_the_file() {
    let (_keep, base) = samples_dir();
    let (_tmp, data) = copy(&base);
    let graph = data.join("index/gen-1/graph.bin");
    let half = std::fs::metadata(&graph).unwrap().len() as i64 / 2;
    overwrite(&graph, half, 2048, 0xff);
    let (server, url, _log) = serve_logged(&data, &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{url}/search"))
            .json(&serde_json::json!({"query": "sourdough starter", "mode": "vector"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 503);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "damaged", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("graph.bin"), "{message}");
        // Keyword search does not read the graph and goes on.
        let hits = json_answer(
            http.post(format!("{url}/search"))
                .json(&serde_json::json!({"query": "sourdough starter", "mode": "keyword"})),
        )
        .await;
        assert!(!hits["hits"].as_array().unwrap().is_empty(), "{hits}");
    });
    drop(server);
    assert!(check_passes(&data).iter().any(|r| r.contains("graph.bin")));
}
