//! Read-only media: a bundle and a data directory bind-mounted read-only in a private mount namespace
//! (`unshare -m`, as root) are searched, checked and served with `--read-only` without a write, and
//! `docvec serve` without it is refused with a hint. Skipped, loudly, without root or `unshare`;
//! under CI that fails the run.

use std::path::Path;
use std::process::Command;

use docvec_testkit::http::{json_answer, upload_form};

use super::crash::serve_command;
use super::edge::samples_dir;
use super::{assert_success, docvec, docvec_command, json};

/// Run `sh -c SCRIPT` with `dir` as `$0` after mounting `dir` read-only over itself, in a mount
/// namespace of its own (private propagation, so the host's mounts are untouched).
fn read_only_mount(dir: &Path) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        r#"mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@""#,
    ])
    .arg(dir);
    cmd
}

/// Whether read-only bind mounts can be made here (root and a working `unshare`).
fn can_mount_read_only() -> bool {
    let probe = tempfile::tempdir().unwrap();
    let made = read_only_mount(probe.path())
        .args(["sh", "-c", "! touch \"$0/x\" 2>/dev/null"])
        .arg(probe.path())
        .output();
    match made {
        Ok(o) if o.status.success() => true,
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                Err(e) => e.to_string(),
            };
            let what = format!(
                "read-only mount tests need root and `unshare --mount` (util-linux): {why}"
            );
            docvec_testkit::require(None::<()>, what).is_some()
        }
    }
}

/// `docvec ARGS` on `data`, with `data` mounted read-only.
fn docvec_read_only(data: &Path, args: &[&str]) -> Command {
    wrap(read_only_mount(data), docvec_command(data, args))
}

/// `outer` (a command that ends by running its arguments, as `unshare ... exec "$@"` or `nsenter`)
/// running `plain` with its arguments, directory and environment.
pub(super) fn wrap(outer: Command, plain: Command) -> Command {
    let mut cmd = outer;
    cmd.arg(plain.get_program()).args(plain.get_args());
    if let Some(dir) = plain.get_current_dir() {
        cmd.current_dir(dir);
    }
    for (key, value) in plain.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

fn run(mut cmd: Command) -> std::process::Output {
    cmd.output().expect("unshare runs")
}

fn chunk_ids(out: &std::process::Output) -> Vec<i64> {
    assert_success(out);
    json(out)
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["chunk_id"].as_i64().unwrap())
        .collect()
}

#[test]
fn bundles_and_data_directories_on_read_only_mounts_are_searched_checked_and_served() {
    if !can_mount_read_only() {
        return;
    }
    let (_keep, source) = samples_dir();
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    let exported = docvec(&source, &["export", bundle.to_str().unwrap()]);
    assert_success(&exported);
    let keyword = [
        "search",
        "sourdough starter",
        "--mode",
        "keyword",
        "-k",
        "3",
        "--json",
    ];
    let hybrid = ["search", "how do I bake bread", "-k", "3", "--json"];
    let expected_keyword = chunk_ids(&docvec(&source, &keyword));
    let expected_hybrid = chunk_ids(&docvec(&source, &hybrid));
    assert!(!expected_keyword.is_empty());
    // A writer's close leaves the source as copied to media: WAL mode, with no -wal or -shm (which
    // SQLite could not create there; the store is opened `immutable` instead).
    assert!(docvec(&source, &["check"]).status.success());
    assert!(!source.join("docvec.db-wal").exists() && !source.join("docvec.db-shm").exists());

    // The bundle (rollback journal) and the source (WAL) both answer as before, from read-only media.
    for dir in [&bundle, &source] {
        assert_eq!(
            chunk_ids(&run(docvec_read_only(dir, &keyword))),
            expected_keyword,
            "{}",
            dir.display()
        );
        assert_eq!(
            chunk_ids(&run(docvec_read_only(dir, &hybrid))),
            expected_hybrid,
            "{}",
            dir.display()
        );
        let stats = run(docvec_read_only(dir, &["stats", "--json"]));
        assert!(stats.status.success());
        assert_eq!(json(&stats)["documents"], 4, "{}", dir.display());
    }
    let check = run(docvec_read_only(&bundle, &["check", "--json"]));
    let report = json(&check);
    assert_eq!(report["consistent"], true, "{report}");
    assert_eq!(report["bundle"]["model_verified"], true, "{report}");
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("checking it read-only"),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Serving it read-write is refused, naming the way out; writing commands fail.
    let refused = run(docvec_read_only(
        &bundle,
        &["serve", "--bind", "127.0.0.1:0"],
    ));
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("not writable") && err.contains("--read-only"),
        "{err}"
    );
    let ingest = run(docvec_read_only(&bundle, &["ingest", "samples"]));
    assert!(!ingest.status.success());

    // Served read-only, it searches and refuses writes.
    let (server, base, log) = serve_command(docvec_read_only(
        &bundle,
        &["serve", "--read-only", "--bind", "127.0.0.1:0"],
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let hits = json_answer(http.get(format!(
            "{base}/search?q=sourdough%20starter&k=3&mode=keyword"
        )))
        .await;
        let ids: Vec<i64> = hits["hits"]
            .as_array()
            .unwrap_or_else(|| panic!("{hits}"))
            .iter()
            .map(|h| h["chunk_id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, expected_keyword);
        let form = upload_form("new.txt", b"No room here.\n".to_vec());
        let resp = http
            .post(format!("{base}/documents"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "read_only", "{body}");
    });
    drop(server);
    let log = log.join().unwrap().join("\n");
    assert!(log.contains("read-only"), "{log}");
}
