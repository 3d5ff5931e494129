//! Upgrades (issue 24): data directories made by earlier docvec releases, kept as fixtures in
//! tests/fixtures/upgrade/ (made by tools/make_upgrade_fixture.sh), are opened by this docvec, migrated
//! in place (with a kill -9 half-way through the migration when there is one to do) and searched with
//! the results their makers recorded. A directory of a newer format than this docvec's is refused,
//! read-write and read-only, with both versions named and nothing changed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use docvec_engine::{FORMAT_VERSION, PAUSE_AFTER_MIGRATION_ENV};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use super::{docvec, docvec_command, json};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

/// Each fixture's record (its `.json`), oldest format first.
fn fixtures() -> Vec<serde_json::Value> {
    let mut found: Vec<serde_json::Value> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap())
        .collect();
    found.sort_by_key(|f| f["format"].as_i64().unwrap());
    assert!(!found.is_empty(), "no fixtures in {:?}", fixtures_dir());
    found
}

/// The fixture's data directory, unpacked into a new temporary directory.
fn unpack(fixture: &serde_json::Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let archive = fixtures_dir().join(fixture["archive"].as_str().unwrap());
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar runs");
    assert!(status.success(), "cannot unpack {}", archive.display());
    dir
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn connect(data: &Path) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(data.join("docvec.db")))
        .await
        .unwrap()
}

/// The format recorded in the data directory: its store's last applied migration.
fn recorded_format(data: &Path) -> i64 {
    block_on(async {
        let pool = connect(data).await;
        let v = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        v
    })
}

/// Record `format` in the data directory, as a newer docvec's migration would.
fn record_format(data: &Path, format: i64) {
    block_on(async {
        let pool = connect(data).await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (?, 'from a newer docvec', 1, x'00', 0)",
        )
        .bind(format)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    })
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    out
}

/// `path` is the store's WAL and holds no frame.
fn is_empty_wal(files: &BTreeMap<PathBuf, Vec<u8>>, path: &Path) -> bool {
    path.ends_with("docvec.db-wal") && files.get(path).is_some_and(|b| b.is_empty())
}

/// Start `docvec check` with the upgrade told to stop after migration `stop`; wait until it says it
/// stopped there, then kill it with SIGKILL. Returns what it printed.
fn kill_mid_upgrade(data: &Path, stop: i64) -> String {
    let mut child = docvec_command(data, &["check"])
        .env(PAUSE_AFTER_MIGRATION_ENV, stop.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docvec starts");
    let mut said = String::new();
    let mut paused = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains(&format!("paused after schema migration {stop}")) {
            paused = true;
            break;
        }
    }
    // Child::kill is SIGKILL on Unix: no destructor, no close, as when the power drops.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        paused,
        "docvec ended ({status}) before migration {stop}:\n{said}"
    );
    assert!(!status.success(), "it was killed, not finished");
    said
}

/// The BM25 parameters the fixture's keyword scores were made with: recorded since they became
/// settings (`[search] bm25_k1`, `bm25_b`, `bm25_heading_weight`); before that, tantivy's fixed 1.2
/// and 0.75 over the text alone. A release may
/// change a default ranking; the same settings must still give the same hits and scores.
fn bm25_env(fixture: &serde_json::Value) -> [(&'static str, String); 3] {
    let (k1, b) = match fixture.get("bm25") {
        Some(p) => (p["k1"].to_string(), p["b"].to_string()),
        None => ("1.2".into(), "0.75".into()),
    };
    // The heading field came later still: fixtures without it searched the text alone.
    let heading = fixture
        .get("bm25")
        .and_then(|p| p.get("heading_weight"))
        .map_or("0".into(), |w| w.to_string());
    [
        ("DOCVEC_BM25_K1", k1),
        ("DOCVEC_BM25_B", b),
        ("DOCVEC_BM25_HEADING_WEIGHT", heading),
    ]
}

/// `docvec search` as the fixture recorded it: (chunk id, score) of each hit.
fn hits(
    data: &Path,
    search: &serde_json::Value,
    bm25: &[(&'static str, String)],
) -> Vec<(i64, f64)> {
    let k = search["k"].as_u64().unwrap().to_string();
    let args = [
        "search",
        search["query"].as_str().unwrap(),
        "--mode",
        search["mode"].as_str().unwrap(),
        "-k",
        &k,
        "--json",
    ];
    let out = docvec_command(data, &args)
        .envs(bm25.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("docvec runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pairs(&json(&out))
}

fn pairs(hits: &serde_json::Value) -> Vec<(i64, f64)> {
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["chunk_id"].as_i64().unwrap(),
                h["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn check_passes(data: &Path) {
    let out = docvec(data, &["check", "--json"]);
    assert!(
        out.status.success(),
        "check failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn upgrade_fixtures_migrate_in_place_through_a_kill_and_search_as_when_made() {
    let all = fixtures();
    assert!(
        all.iter()
            .any(|f| f["format"].as_i64() < Some(FORMAT_VERSION)),
        "keep a fixture older than format {FORMAT_VERSION}, so the migration path runs"
    );
    for fixture in all {
        let made_by = fixture["made_by"].as_str().unwrap();
        let format = fixture["format"].as_i64().unwrap();
        let dir = unpack(&fixture);
        let data = dir.path();
        assert_eq!(recorded_format(data), format, "{made_by}: as recorded");
        if format < FORMAT_VERSION {
            // Killed after the first pending migration committed: the store is half-way between the
            // two formats and the derived indexes are still the old docvec's, byte for byte.
            let indexes_before: Vec<_> = files(data)
                .into_iter()
                .filter(|(p, _)| p.starts_with("index") || p.starts_with("fulltext"))
                .collect();
            kill_mid_upgrade(data, format + 1);
            assert_eq!(
                recorded_format(data),
                format + 1,
                "{made_by}: one step done"
            );
            let indexes_after: Vec<_> = files(data)
                .into_iter()
                .filter(|(p, _)| p.starts_with("index") || p.starts_with("fulltext"))
                .collect();
            assert!(
                indexes_before == indexes_after,
                "{made_by}: indexes untouched"
            );
        }
        // Opened again, it finishes the upgrade and is consistent.
        check_passes(data);
        assert_eq!(recorded_format(data), FORMAT_VERSION, "{made_by}");
        for search in fixture["searches"].as_array().unwrap() {
            let expected = pairs(&search["hits"]);
            let got = hits(data, search, &bm25_env(&fixture));
            let ids = |v: &[(i64, f64)]| v.iter().map(|h| h.0).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&expected), "{made_by}: {search}");
            for ((_, g), (_, e)) in got.iter().zip(&expected) {
                assert!(
                    (g - e).abs() < 1e-4,
                    "{made_by}: score {g} vs {e}: {search}"
                );
            }
        }
    }
}

#[test]
fn a_data_directory_of_a_newer_format_is_refused_naming_both_versions_and_left_as_it_is() {
    let fixture = fixtures().pop().unwrap();
    let dir = unpack(&fixture);
    let data = dir.path();
    check_passes(data);
    let newer = FORMAT_VERSION + 1;
    record_format(data, newer);
    let before = files(data);

    let read_write = ["check"];
    let read_only = ["search", "sourdough starter", "--mode", "keyword"];
    // The server listens at once and loads the engine behind it; a refused load stops it.
    let serve = ["serve", "--bind", "127.0.0.1:0"];
    for args in [&read_write[..], &read_only[..], &serve[..]] {
        let out = docvec(data, args);
        assert!(!out.status.success(), "{args:?} opened a newer directory");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let named = format!(
            "data directory {} has format {newer}; this docvec reads up to format {FORMAT_VERSION}",
            data.display()
        );
        assert!(stderr.contains(&named), "{args:?}: {stderr}");
        assert!(stderr.contains("upgrade docvec"), "{args:?}: {stderr}");
        // Every file is as it was. The one addition allowed: a read-only SQLite connection to a WAL
        // store in a writable directory makes the shared-memory index and an empty WAL beside it
        // (read_only.rs; on read-only media it opens `immutable` and makes nothing).
        let after = files(data);
        let changed: Vec<_> = after
            .keys()
            .chain(before.keys())
            .filter(|p| after.get(*p) != before.get(*p))
            .filter(|p| !(p.ends_with("docvec.db-shm") || is_empty_wal(&after, p)))
            .collect();
        assert!(changed.is_empty(), "{args:?} changed {changed:?}");
    }
    assert_eq!(recorded_format(data), newer);
}
