//! A private PostgreSQL (tools/pg.sh with its own state dir) that a fault test may crash and restart
//! without disturbing the shared test server.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivateServer {
    state: PathBuf,
    pub url: String,
}

impl PrivateServer {
    fn pg(state: &Path, arg: &str) -> std::process::Output {
        Command::new(crate::repo_root().join("tools/pg.sh"))
            .arg(arg)
            .env("DOCVEC_PG_STATE", state)
            .output()
            .expect("tools/pg.sh runs")
    }

    /// Start a fresh server whose state lives under `dir`.
    pub fn start(dir: &Path) -> Self {
        let state = dir.join("pg-state");
        let out = Self::pg(&state, "start");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("export DATABASE_URL="))
            .expect("a DATABASE_URL line")
            .to_string();
        Self { state, url }
    }

    /// A fresh server under `dir`, or [`crate::require`]'s rule where there is no Postgres: the server
    /// comes from tools/pg.sh as the test server does, so no `DOCVEC_TEST_DATABASE_URL`, no Postgres.
    pub fn require(dir: &Path) -> Option<Self> {
        crate::require_database()?;
        Some(Self::start(dir))
    }

    /// `pg_ctl stop -m immediate`: a crash, the data dir kept.
    pub fn kill(&self) {
        assert!(Self::pg(&self.state, "kill").status.success());
    }

    /// Start again on the same port and data dir (crash recovery runs).
    pub fn restart(&self) {
        assert!(Self::pg(&self.state, "restart").status.success());
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        Self::pg(&self.state, "stop");
    }
}
