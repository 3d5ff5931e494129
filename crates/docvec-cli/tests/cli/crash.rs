//! Crash safety proven by killing the real binary (issue 8): `docvec ingest` is killed with SIGKILL at
//! seeded random moments, then the data directory must open, `docvec check` must find it consistent
//! (a sound database, only whole documents, both indexes equal to the store after the start-up
//! catch-up), and every file the ingest reported as stored must be there whole and searchable.
//!
//! DOCVEC_CRASH_TRIALS sets the number of kills (default 8, what CI runs; RELIABILITY.md's full run
//! used 60) and DOCVEC_CRASH_SEED the seed (printed, so a failure can be replayed).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docvec_testkit::http::{json_answer, with_files};
use docvec_testkit::repo_root;

use super::{docvec, json};

/// splitmix64: a seeded sequence of kill moments without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one ingest run printed before it ended or was killed.
struct Run {
    /// Ids of the documents reported stored (added or updated): they must survive the kill.
    stored: BTreeSet<String>,
    /// Whether the process was still running when the kill came.
    killed: bool,
    elapsed: Duration,
}

/// Run `docvec ingest ARGS --events`, killing it with SIGKILL after `kill_after` (never when `None`).
fn ingest(data: &Path, args: &[&str], kill_after: Option<Duration>) -> Run {
    let started = Instant::now();
    let mut child = Command::new(super::docvec_bin())
        .arg("--data-dir")
        .arg(data)
        .arg("ingest")
        .args(args)
        .arg("--events")
        .current_dir(repo_root())
        .env_remove("DOCVEC_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("docvec starts");
    let stored = Arc::new(Mutex::new(BTreeSet::new()));
    let reader = {
        let stdout = child.stdout.take().unwrap();
        let stored = stored.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // The final report follows the events; only event lines carry a path and a status.
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if matches!(event["status"].as_str(), Some("added" | "updated")) {
                    let id = event["document_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    stored.lock().unwrap().insert(id);
                }
            }
        })
    };
    let mut killed = false;
    if let Some(after) = kill_after {
        // The fault injected, not a wait for something to happen: the kill lands wherever the
        // process is at that moment.
        std::thread::sleep(after);
        killed = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL on Unix
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    if !killed {
        assert!(
            status.code().is_some_and(|c| c == 0 || c == 2),
            "ingest failed on its own: {status}"
        );
    }
    let stored = std::mem::take(&mut *stored.lock().unwrap());
    Run {
        stored,
        killed,
        elapsed: started.elapsed(),
    }
}

/// The data directory opens, is consistent, and holds every file a run reported stored.
fn assert_whole(data: &Path, stored: &BTreeSet<String>, trial: usize, seed: u64) {
    let out = docvec(data, &["check", "--json"]);
    let report = json(&out);
    assert!(
        out.status.success() && report["consistent"] == true,
        "trial {trial} (seed {seed}): inconsistent after a kill:\n{report:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = json(&docvec(data, &["documents", "--json"]));
    let present: BTreeSet<String> = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<&String> = stored.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "trial {trial} (seed {seed}): reported stored, gone after the kill: {lost:?}"
    );
}

#[test]
fn killed_ingests_leave_whole_documents_and_agreeing_indexes() {
    let Some(corpus) = docvec_testkit::corpus(&["docs"]) else {
        return;
    };
    let trials: usize = env_or("DOCVEC_CRASH_TRIALS", 8);
    let seed: u64 = env_or("DOCVEC_CRASH_SEED", 0x00c0_ffee);
    let mut rng = Rng(seed);
    let docs = corpus.join("docs");
    let inputs = [docs.to_str().unwrap()];

    // Runs to the end set the windows the kills are spread over: a first ingest, and a forced
    // re-ingest (faster: unchanged chunks keep their vectors).
    let data = tempfile::tempdir().unwrap();
    let full = ingest(data.path(), &inputs, None);
    assert!(
        !full.stored.is_empty(),
        "the uninterrupted ingest stored nothing"
    );
    assert_whole(data.path(), &full.stored, 0, seed);
    let forced = ingest(data.path(), &[inputs[0], "--force"], None);
    assert_whole(data.path(), &forced.stored, 0, seed);
    let window = full.elapsed;

    let (mut kills, mut finished, mut survivors) = (0, 0, 0);
    let mut dir = tempfile::tempdir().unwrap();
    for trial in 1..=trials {
        // A third of the trials start from an empty directory (first writes, index creation); the
        // rest re-ingest over what is there with --force (replacements, deletes, index saves).
        if trial % 3 == 1 {
            dir = tempfile::tempdir().unwrap();
        }
        let mut args = inputs.to_vec();
        if trial % 3 != 1 {
            args.push("--force");
        }
        let span = if trial % 3 == 1 {
            window
        } else {
            forced.elapsed
        };
        let run = ingest(dir.path(), &args, Some(span.mul_f64(rng.unit())));
        if run.killed {
            kills += 1;
        } else {
            finished += 1;
        }
        survivors += run.stored.len();
        assert_whole(dir.path(), &run.stored, trial, seed);
        // Killed or not, the next ingest completes what is missing and the directory stays whole.
        if trial % 3 == 0 {
            let resumed = ingest(dir.path(), &inputs, None);
            assert_whole(dir.path(), &resumed.stored, trial, seed);
            let stats = json(&docvec(dir.path(), &["stats", "--json"]));
            assert_eq!(
                stats["documents"],
                json(&docvec(data.path(), &["stats", "--json"]))["documents"],
                "trial {trial} (seed {seed}): a resumed ingest does not reach the uninterrupted one"
            );
        }
    }
    // Whatever the last kill left, one more ingest completes the directory and it answers searches.
    let last = ingest(dir.path(), &inputs, None);
    assert_whole(dir.path(), &last.stored, trials + 1, seed);
    let hits = json(&docvec(
        dir.path(),
        &["search", "how to write a preprocessor", "-k", "3", "--json"],
    ));
    assert!(!hits.as_array().unwrap().is_empty());
    eprintln!(
        "crash trials: {trials} (seed {seed}): {kills} SIGKILLs during an ingest, {finished} ingests finished first; \
         {survivors} reported-stored files checked whole; window {window:?}"
    );
    assert!(
        kills > 0,
        "no kill landed during an ingest (window {window:?})"
    );
}

/// A server process, killed when dropped so a failed assertion leaves none behind.
pub(crate) struct Server(pub(crate) std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `docvec serve` on a free loopback port, once it serves; returns the process and its base URL.
fn serve(data: &Path) -> (Server, String) {
    let (server, url, _log) = serve_logged(data, &[]);
    (server, url)
}

/// `docvec serve` with extra environment, once it serves; also returns its whole log (stderr), which
/// the thread hands back when the process has exited.
pub(crate) fn serve_logged(
    data: &Path,
    env: &[(&str, &str)],
) -> (Server, String, std::thread::JoinHandle<Vec<String>>) {
    let mut cmd = Command::new(super::docvec_bin());
    cmd.arg("--data-dir")
        .arg(data)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(repo_root())
        .env_remove("DOCVEC_CONFIG")
        .envs(env.iter().copied());
    serve_command(cmd)
}

/// Start `cmd`, a `docvec serve` on a free loopback port, and wait until it serves (as
/// [`serve_logged`]).
pub(crate) fn serve_command(
    mut cmd: Command,
) -> (Server, String, std::thread::JoinHandle<Vec<String>>) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docvec serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let mut log = Vec::new();
    let mut url = None;
    // It listens at once and loads in the background; its log says when it serves.
    for line in lines.by_ref() {
        if let Some((_, rest)) = line.split_once("serving on ") {
            url = Some(rest.split_whitespace().next().unwrap_or("").to_string());
        }
        let ready = line == "docvec ready";
        log.push(line);
        if ready {
            break;
        }
    }
    let url = url.unwrap_or_else(|| panic!("the server did not get ready: {log:?}"));
    // Keep draining its log so a full pipe never stalls the server.
    let rest = std::thread::spawn(move || {
        log.extend(lines);
        log
    });
    (Server(child), url, rest)
}

#[test]
fn killed_servers_with_an_upload_and_a_rebuild_in_flight_leave_whole_data() {
    let Some(corpus) = docvec_testkit::corpus(&["docs/sqlite-html"]) else {
        return;
    };
    let trials: usize = env_or("DOCVEC_CRASH_SERVER_TRIALS", 4);
    let seed: u64 = env_or("DOCVEC_CRASH_SEED", 0x00c0_ffee) ^ 0x5e7e;
    let mut rng = Rng(seed);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(corpus.join("docs/sqlite-html"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let paths: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();

    // The same files through the CLI, to the end, set the window the kills are spread over.
    let measure = tempfile::tempdir().unwrap();
    let window = ingest(measure.path(), &paths, None).elapsed.mul_f64(1.5);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let data = tempfile::tempdir().unwrap();
    let (mut kills, mut survivors) = (0, 0);
    for trial in 1..=trials {
        let (mut server, url) = serve(data.path());
        let after = window.mul_f64(rng.unit());
        let stored: BTreeSet<String> = rt.block_on(async {
            let form = with_files(
                reqwest::multipart::Form::new().text("force", "true"),
                &files,
            );
            let resp = http
                .post(format!("{url}/documents"))
                .multipart(form)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 202, "trial {trial}: upload refused");
            let job: serde_json::Value = resp.json().await.unwrap();
            let job_id = job["job_id"].as_str().unwrap().to_string();
            if trial % 2 == 0 {
                let resp = http
                    .post(format!("{url}/search/rebuild"))
                    .json(&serde_json::json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 202, "trial {trial}: rebuild refused");
            }
            // The fault injected: the kill follows this snapshot of what the server reported done.
            tokio::time::sleep(after).await;
            let detail: serde_json::Value =
                json_answer(http.get(format!("{url}/jobs/{job_id}"))).await;
            detail["children"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["state"] == "succeeded")
                .filter_map(|c| c["result"]["document_id"].as_str().map(String::from))
                .collect()
        });
        if server.0.try_wait().unwrap().is_none() {
            kills += 1;
        }
        drop(server); // SIGKILL
        assert_whole(data.path(), &stored, trial, seed);
        survivors += stored.len();
    }
    eprintln!(
        "server crash trials: {trials} (seed {seed}): {kills} SIGKILLs of a server with an upload (and on even \
         trials a rebuild) in flight; {survivors} reported-stored documents checked whole; window {window:?}"
    );
    assert_eq!(kills, trials, "the server exited before its kill");
}
