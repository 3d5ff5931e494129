//! The mirror's settings: storage mode and how to reach Supabase.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where documents are written and searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageMode {
    /// SQLite and the local index only (the default; works offline).
    #[default]
    Local,
    /// Postgres is the store of record: an ingest counts once Postgres has it, search runs there. The
    /// local store stages writes (its outbox) and the local index serves as a cache.
    Supabase,
    /// Write both; read Postgres first and the local index when Postgres fails (the failure reported).
    Fallback,
    /// Write both (Postgres through the durable outbox), read locally.
    DualWrite,
}

impl StorageMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageMode::Local => "local",
            StorageMode::Supabase => "supabase",
            StorageMode::Fallback => "fallback",
            StorageMode::DualWrite => "dual_write",
        }
    }

    /// Whether writes go to Postgres too.
    pub fn mirrors(self) -> bool {
        self != StorageMode::Local
    }

    /// Whether searches go to Postgres first.
    pub fn reads_remote(self) -> bool {
        matches!(self, StorageMode::Supabase | StorageMode::Fallback)
    }
}

impl fmt::Display for StorageMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "local" => Ok(StorageMode::Local),
            "supabase" => Ok(StorageMode::Supabase),
            "fallback" => Ok(StorageMode::Fallback),
            "dual_write" | "dual" => Ok(StorageMode::DualWrite),
            other => Err(format!(
                "unknown storage mode `{other}` (local, supabase, fallback or dual_write)"
            )),
        }
    }
}

/// `[mirror]` in docvec.toml, then `DOCVEC_STORAGE_MODE`, `DATABASE_URL` / `SUPABASE_DB_URL`,
/// `SUPABASE_URL`, `SUPABASE_SERVICE_KEY`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MirrorConfig {
    pub mode: StorageMode,
    /// Postgres connection string (Supabase: direct, or the session pooler on 5432; the transaction
    /// pooler on 6543 works with statement caching off).
    pub url: Option<String>,
    /// Rows per COPY message.
    pub batch_rows: usize,
    /// Rows per transaction and transactions in flight during a backfill.
    pub transaction_rows: usize,
    pub parallel: usize,
    /// Bound on one remote operation, retries included, and on a connection attempt.
    pub timeout_secs: u64,
    pub connect_timeout_secs: u64,
    /// The Supabase project's API URL and service key: recognised and reported, not needed by the
    /// mirror itself (it speaks Postgres).
    pub supabase_url: Option<String>,
    #[serde(skip_serializing)]
    pub supabase_service_key: Option<String>,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        Self {
            mode: StorageMode::Local,
            url: None,
            batch_rows: 500,
            transaction_rows: 5000,
            parallel: 2,
            timeout_secs: 60,
            connect_timeout_secs: 5,
            supabase_url: None,
            supabase_service_key: None,
        }
    }
}

impl MirrorConfig {
    pub(crate) fn apply_env(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), crate::EngineError> {
        if let Some(v) = get("DOCVEC_STORAGE_MODE") {
            self.mode = v
                .parse()
                .map_err(|e| crate::EngineError::Config(format!("DOCVEC_STORAGE_MODE: {e}")))?;
        }
        #[cfg(feature = "mirror")]
        if let Some(url) = docvec_mirror::url_from_env(get) {
            self.url = Some(url);
        }
        if let Some(v) = get("DOCVEC_MIRROR_BATCH_ROWS") {
            self.batch_rows = v.parse().map_err(|e| {
                crate::EngineError::Config(format!("DOCVEC_MIRROR_BATCH_ROWS={v}: {e}"))
            })?;
        }
        if let Some(v) = get("SUPABASE_URL") {
            self.supabase_url = Some(v);
        }
        if let Some(v) = get("SUPABASE_SERVICE_KEY").or_else(|| get("SUPABASE_SERVICE_ROLE_KEY")) {
            self.supabase_service_key = Some(v);
        }
        Ok(())
    }

    /// The options for the mirror's pool, or an error naming what is missing.
    #[cfg(feature = "mirror")]
    pub fn options(&self) -> Result<docvec_mirror::MirrorOptions, crate::EngineError> {
        let url = self.url.clone().ok_or_else(|| {
            crate::EngineError::Config(format!(
                "storage mode {} needs a Postgres connection string: set DATABASE_URL or SUPABASE_DB_URL \
                 (or mirror.url in docvec.toml)",
                self.mode
            ))
        })?;
        let mut o = docvec_mirror::MirrorOptions::new(url);
        o.batch_rows = self.batch_rows.max(1);
        o.transaction_rows = self.transaction_rows.max(1);
        o.parallel = self.parallel.max(1);
        o.timeout = std::time::Duration::from_secs(self.timeout_secs.max(1));
        o.connect_timeout = std::time::Duration::from_secs(self.connect_timeout_secs.max(1));
        Ok(o)
    }
}
