//! The mirror's settings: storage mode and how to reach Supabase.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where documents are written and searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
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
        Self::named(s).map(|(mode, _)| mode)
    }
}

impl StorageMode {
    /// The mode `name` stands for, and whether it is a name of the deployments docvec replaces
    /// (`file_only`, `db_only`, `dual`) rather than docvec's own.
    fn named(name: &str) -> Result<(Self, bool), String> {
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "local" => Ok((StorageMode::Local, false)),
            "supabase" => Ok((StorageMode::Supabase, false)),
            "fallback" => Ok((StorageMode::Fallback, false)),
            "dual_write" => Ok((StorageMode::DualWrite, false)),
            "file_only" => Ok((StorageMode::Local, true)),
            "db_only" => Ok((StorageMode::Supabase, true)),
            "dual" => Ok((StorageMode::DualWrite, true)),
            other => Err(format!(
                "unknown storage mode `{other}` (local, supabase, fallback or dual_write; \
                 file_only, db_only and dual are read as local, supabase and dual_write)"
            )),
        }
    }

    /// Parse the setting `key` = `value`, with a one-line notice when `value` is another system's name
    /// for the mode.
    fn setting(key: &str, value: &str) -> Result<(Self, Option<String>), String> {
        let (mode, alias) = Self::named(value).map_err(|e| format!("{key}: {e}"))?;
        let notice = alias.then(|| {
            format!(
                "{key} `{value}` is read as storage mode `{mode}`; docvec's own name is `{mode}`"
            )
        });
        Ok((mode, notice))
    }
}

fn notify(notice: Option<String>) {
    if let Some(n) = notice {
        tracing::warn!("{n}");
    }
}

impl<'de> Deserialize<'de> for StorageMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let (mode, notice) =
            Self::setting("[mirror] mode", &name).map_err(serde::de::Error::custom)?;
        notify(notice);
        Ok(mode)
    }
}

/// The storage mode as the deployments docvec replaces configure it: `USE_DB_STORAGE` (Postgres is the
/// store of record), `SUPABASE_DUAL_WRITE` (write both) and `DB_BACKEND` (which must be Supabase or
/// Postgres). `None` when none of them is set; else the mode and a notice naming docvec's setting.
fn mode_from_seed_env(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<(StorageMode, String)>, String> {
    let flag = |key: &str| -> Result<Option<bool>, String> {
        get(key)
            .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" | "" => Ok(false),
                _ => Err(format!("{key}={v}: expected true or false")),
            })
            .transpose()
    };
    if let Some(b) = get("DB_BACKEND") {
        let b = b.trim().to_ascii_lowercase();
        if !matches!(
            b.as_str(),
            "supabase" | "postgres" | "postgresql" | "pgvector"
        ) {
            return Err(format!(
                "DB_BACKEND={b}: docvec mirrors to Supabase or Postgres with pgvector only"
            ));
        }
    }
    let mode = match (flag("USE_DB_STORAGE")?, flag("SUPABASE_DUAL_WRITE")?) {
        (None, None) => return Ok(None),
        // Postgres first, the local copy kept too: docvec's fallback reads Postgres and falls back.
        (Some(true), Some(true)) => StorageMode::Fallback,
        (Some(true), _) => StorageMode::Supabase,
        (_, Some(true)) => StorageMode::DualWrite,
        _ => StorageMode::Local,
    };
    let notice = format!(
        "USE_DB_STORAGE / SUPABASE_DUAL_WRITE are read as storage mode `{mode}`; docvec's own setting \
         is DOCVEC_STORAGE_MODE={mode} ([mirror] mode = \"{mode}\")"
    );
    Ok(Some((mode, notice)))
}

/// `[mirror]` in docvec.toml, then `DOCVEC_STORAGE_MODE` (or, without it, `USE_DB_STORAGE` /
/// `SUPABASE_DUAL_WRITE` / `DB_BACKEND`), `DATABASE_URL` / `SUPABASE_DB_URL`, `SUPABASE_URL`,
/// `SUPABASE_SERVICE_KEY`.
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
            let (mode, notice) = StorageMode::setting("DOCVEC_STORAGE_MODE", &v)
                .map_err(crate::EngineError::Config)?;
            self.mode = mode;
            notify(notice);
        } else if let Some((mode, notice)) =
            mode_from_seed_env(get).map_err(crate::EngineError::Config)?
        {
            self.mode = mode;
            notify(Some(notice));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn mode(vars: &[(&str, &str)]) -> Result<StorageMode, String> {
        let mut c = MirrorConfig::default();
        c.apply_env(&env(vars)).map_err(|e| e.to_string())?;
        Ok(c.mode)
    }

    #[test]
    fn other_systems_mode_names_are_read_with_a_notice() {
        for (name, want) in [
            ("file_only", StorageMode::Local),
            ("db_only", StorageMode::Supabase),
            ("dual", StorageMode::DualWrite),
        ] {
            let (got, notice) = StorageMode::setting("DOCVEC_STORAGE_MODE", name).unwrap();
            assert_eq!(got, want);
            let notice = notice.expect("a notice for an alias");
            assert!(notice.contains(&format!("`{}`", want.as_str())), "{notice}");
        }
        let (got, notice) = StorageMode::setting("DOCVEC_STORAGE_MODE", "dual-write").unwrap();
        assert_eq!((got, notice), (StorageMode::DualWrite, None));
        let err = StorageMode::setting("[mirror] mode", "cloud").unwrap_err();
        assert!(
            err.contains("[mirror] mode") && err.contains("file_only"),
            "{err}"
        );
    }

    #[test]
    fn the_seed_deployments_environment_maps_to_modes() {
        let cases: &[(&[(&str, &str)], StorageMode)] = &[
            (&[], StorageMode::Local),
            (&[("USE_DB_STORAGE", "false")], StorageMode::Local),
            (
                &[("USE_DB_STORAGE", "true"), ("DB_BACKEND", "supabase")],
                StorageMode::Supabase,
            ),
            (
                &[("USE_DB_STORAGE", "true"), ("SUPABASE_DUAL_WRITE", "true")],
                StorageMode::Fallback,
            ),
            (&[("SUPABASE_DUAL_WRITE", "1")], StorageMode::DualWrite),
            // docvec's own setting wins.
            (
                &[("USE_DB_STORAGE", "true"), ("DOCVEC_STORAGE_MODE", "local")],
                StorageMode::Local,
            ),
        ];
        for (vars, want) in cases {
            assert_eq!(mode(vars).unwrap(), *want, "{vars:?}");
        }
        let (_, notice) = mode_from_seed_env(&env(&[("USE_DB_STORAGE", "true")]))
            .unwrap()
            .unwrap();
        assert!(notice.contains("DOCVEC_STORAGE_MODE=supabase"), "{notice}");
        let err = mode(&[("USE_DB_STORAGE", "maybe")]).unwrap_err();
        assert!(err.contains("USE_DB_STORAGE=maybe"), "{err}");
        let err = mode(&[("DB_BACKEND", "mysql"), ("USE_DB_STORAGE", "true")]).unwrap_err();
        assert!(err.contains("DB_BACKEND=mysql"), "{err}");
    }

    #[test]
    fn a_config_file_may_use_the_other_names() {
        let c: MirrorConfig = toml::from_str("mode = \"db_only\"").unwrap();
        assert_eq!(c.mode, StorageMode::Supabase);
        let err = toml::from_str::<MirrorConfig>("mode = \"cloud\"").unwrap_err();
        assert!(err.to_string().contains("unknown storage mode"), "{err}");
    }
}
