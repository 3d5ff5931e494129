//! A full disk (issue 24): the data directory lives on a small tmpfs that a filler file leaves only a
//! little room on. An ingest there stores some files whole and reports the rest failed with "no space
//! left on device"; `docvec check` finds the directory consistent; index saves that find no room leave
//! the previous generation serving; once the filler is deleted the same ingest completes. The tmpfs is
//! mounted as root in a mount namespace of its own, which a holder process keeps alive while each
//! command enters it (`nsenter`); skipped, loudly, without root or util-linux, and failed under CI.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use super::read_only::wrap;
use super::{assert_success, docvec_command, json};

/// Size of the filesystem, and the room the filler leaves: the samples fit, the SQLite pages alone
/// (about 4.5 KB a chunk) stop the 404 chunks of the SQLite docs part-way.
const DISK: &str = "size=8m";
const ROOM_KB: u64 = 1536;

/// A tmpfs at `dir`, mounted in a private mount namespace that `holder` keeps (and takes along when it
/// is killed, on drop).
pub(super) struct SmallDisk {
    holder: Child,
    pub(super) dir: PathBuf,
    _keep: tempfile::TempDir,
}

impl SmallDisk {
    /// Mount it, or say why not (through `docvec_testkit::require`, which fails under CI).
    pub(super) fn mount() -> Option<Self> {
        let keep = tempfile::tempdir().unwrap();
        let dir = keep.path().to_path_buf();
        let holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                r#"mount -t tmpfs -o {DISK} tmpfs "$0" && echo mounted && exec sleep 3600"#
            ))
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let why = match holder {
            Ok(mut holder) => {
                let mut line = String::new();
                let out = holder.stdout.take().unwrap();
                // The holder says when the mount is there (or exits, closing the pipe, when it fails).
                let _ = BufReader::new(out).read_line(&mut line);
                if line.trim() == "mounted" {
                    return Some(Self {
                        holder,
                        dir,
                        _keep: keep,
                    });
                }
                let _ = holder.kill();
                let out = holder.wait_with_output().unwrap();
                String::from_utf8_lossy(&out.stderr).trim().to_string()
            }
            Err(e) => e.to_string(),
        };
        let what = format!("disk-full tests need root and `unshare --mount` (util-linux): {why}");
        docvec_testkit::require(None::<Self>, what)
    }

    /// `plain`, run inside the namespace that sees the tmpfs.
    pub(super) fn enter(&self, plain: Command) -> Command {
        let mut nsenter = Command::new("nsenter");
        nsenter.args(["--target", &self.holder.id().to_string(), "--mount", "--"]);
        wrap(nsenter, plain)
    }

    pub(super) fn docvec(&self, args: &[&str]) -> Output {
        self.docvec_with(args, &[])
    }

    /// `docvec ARGS` with the variables `env` set.
    pub(super) fn docvec_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let data = self.dir.join("data");
        let mut plain = docvec_command(&data, args);
        plain.envs(env.iter().copied());
        self.enter(plain).output().expect("nsenter runs")
    }

    /// `sh -c SCRIPT` in the namespace, with the tmpfs as `$0`.
    pub(super) fn sh(&self, script: &str) -> Output {
        let mut sh = Command::new("sh");
        sh.args(["-c", script]).arg(&self.dir);
        let out = self.enter(sh).output().expect("nsenter runs");
        assert_success(&out);
        out
    }

    /// Fill the disk with a file of its own until `ROOM_KB` are left.
    pub(super) fn fill(&self) {
        self.fill_leaving("filler", ROOM_KB);
    }

    /// Fill the disk with the file `name` until at most `room_kb` are left (an empty file where less
    /// is left already).
    pub(super) fn fill_leaving(&self, name: &str, room_kb: u64) {
        self.sh(&format!(
            r#"avail=$(df -k --output=avail "$0" | tail -1); len=$(( (avail - {room_kb}) * 1024 )); if [ $len -gt 0 ]; then fallocate -l $len "$0/{name}"; else : > "$0/{name}"; fi"#
        ));
    }

    /// `rel` under the tmpfs, as this process (outside the namespace) reaches it: through the holder's
    /// view of the filesystem.
    pub(super) fn outside(&self, rel: &str) -> PathBuf {
        let inside = self.dir.join(rel);
        let inside = inside.strip_prefix("/").unwrap();
        PathBuf::from(format!("/proc/{}/root", self.holder.id())).join(inside)
    }

    pub(super) fn manifest(&self) -> serde_json::Value {
        let out = self.sh(r#"cat "$0/data/index/MANIFEST.json""#);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// Each file of an ingest's `--json` report: its path and outcome.
pub(super) fn outcomes(report: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().to_string(), f[1].clone()))
        .collect()
}

/// Stored documents by path, with their chunk counts.
pub(super) fn documents(disk: &SmallDisk) -> BTreeMap<String, u64> {
    let out = disk.docvec(&["documents", "--json"]);
    assert_success(&out);
    json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let path = d["path"].as_str().unwrap().to_string();
            (path, d["chunk_count"].as_u64().unwrap())
        })
        .collect()
}

pub(super) fn consistent_check(disk: &SmallDisk) -> serde_json::Value {
    let out = disk.docvec(&["check", "--json"]);
    let report = json(&out);
    assert!(
        out.status.success() && report["consistent"] == true,
        "{report:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

pub(super) fn hits(disk: &SmallDisk, query: &str) -> Vec<String> {
    let out = disk.docvec(&["search", query, "-k", "3", "--json"]);
    assert_success(&out);
    json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["document_path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_ingest_on_a_full_disk_stores_whole_files_or_names_the_cause_and_completes_once_space_is_freed()
 {
    let Some(corpus) = docvec_testkit::corpus(&["docs/sqlite-html"]) else {
        return;
    };
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let docs = corpus.join("docs/sqlite-html");
    let docs = docs.to_str().unwrap();

    // With room, a first generation of the index is saved.
    let samples = docvec_testkit::samples_dir();
    assert_success(&disk.docvec(&["ingest", samples.to_str().unwrap()]));
    let before = disk.manifest();
    assert!(before["generation"].as_u64().unwrap() >= 1, "{before}");

    // Filled part-way: each file is stored (then whole) or failed, naming the cause.
    disk.fill();
    let out = disk.docvec(&["ingest", docs, "--json"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(2), "{report:#}");
    let files = outcomes(&report);
    let stored: BTreeSet<&String> = files
        .keys()
        .filter(|p| files[*p]["status"] == "added")
        .collect();
    for (path, outcome) in &files {
        let cause = outcome["cause"].as_str().unwrap_or_default();
        assert!(
            outcome["status"] == "added" || cause.contains("no space left on device"),
            "{path}: {outcome}"
        );
    }
    assert!(
        !stored.is_empty() && stored.len() < files.len(),
        "{report:#}"
    );
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no space left on device"),
        "{report:#}"
    );
    let check = consistent_check(&disk);
    let present = documents(&disk);
    for path in &stored {
        let canonical = std::fs::canonicalize(path).unwrap();
        let chunks = present.get(canonical.to_str().unwrap());
        assert_eq!(chunks, files[*path]["chunks"].as_u64().as_ref(), "{path}");
    }
    assert_eq!(present.len(), 4 + stored.len(), "{present:#?}");
    assert_eq!(check["store"]["documents"], present.len() as u64);

    // The saves found no room: the previous generation is still the one named, whole, and serving.
    let after = disk.manifest();
    assert_eq!(after["generation"], before["generation"], "{after}");
    let leftovers = disk.sh(r#"ls "$0/data/index""#);
    let leftovers = String::from_utf8_lossy(&leftovers.stdout);
    assert!(!leftovers.contains("tmp"), "{leftovers}");
    assert!(hits(&disk, "how long to bake the loaf")[0].ends_with("sourdough-bread.txt"));

    // Space freed, the same ingest completes and everything agrees.
    disk.sh(r#"rm "$0/filler""#);
    let out = disk.docvec(&["ingest", docs, "--json"]);
    let report = json(&out);
    assert_success(&out);
    assert!(report.get("warnings").is_none(), "{report:#}");
    for (path, outcome) in outcomes(&report) {
        let expected = if stored.contains(&path) {
            "unchanged"
        } else {
            "added"
        };
        assert_eq!(outcome["status"], expected, "{path}: {outcome}");
    }
    let check = consistent_check(&disk);
    assert!(check["text_index"].get("pending").is_none(), "{check:#}");
    assert_eq!(documents(&disk).len(), 4 + files.len());
    assert!(disk.manifest()["generation"].as_u64() > before["generation"].as_u64());
    let wal = hits(&disk, "how does write-ahead logging work in SQLite");
    assert!(wal.iter().any(|p| p.ends_with("wal.html")), "{wal:?}");
}
