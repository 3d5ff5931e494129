//! `docvec serve`'s settings: the `[server]` table of docvec.toml and its `DOCVEC_*` overrides.
//!
//! The engine reads the file once and keeps `[server]` as written ([`Config::server`]); this module
//! owns what the keys mean, their defaults and the environment variables, in the same order as the
//! engine's own sections: compiled defaults, then the file, then the environment. The flags of
//! `docvec serve` go on top of all three.

use std::path::Path;

use serde::Deserialize;

use docvec_engine::Config;

use crate::ServerError;

/// `docvec serve`: where it listens and the limits it applies to each request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port. A non-loopback address is refused until an API key exists.
    pub bind: String,
    /// Largest JSON request body (413 beyond).
    pub max_body_bytes: usize,
    /// Largest body of `POST /search`: a query within `[search] max_query_bytes`, a 4096-d vector
    /// and filters fit many times over; a larger body is refused from its `Content-Length`, before
    /// it is read (413), so oversized queries cost the server next to nothing.
    pub max_search_body_bytes: usize,
    /// Largest body of `POST /search/batch` (a thousand 384-d vectors take about 8 MB as JSON).
    pub max_batch_bytes: usize,
    /// Largest upload request to `POST /documents`, all files together.
    pub max_upload_bytes: usize,
    /// Requests running longer get 408 (uploads and event streams excepted).
    pub request_timeout_secs: u64,
    /// Uploads running longer get 408.
    pub upload_timeout_secs: u64,
    /// Searches running at once; more wait their turn (0 = one query batch per core,
    /// `[search] query_batch_size` each: concurrent queries are embedded together).
    pub max_concurrent_searches: usize,
    /// Queries of more wordpieces than this are long: they run one at a time and are paced while
    /// other searches run (0 = no query is long). A topic title is some 10; the model reads 256.
    pub long_query_tokens: usize,
    /// Share of one search permit's time long queries get while other searches wait (0-1; 1 = no
    /// pacing).
    pub long_query_share: f64,
    /// Origins allowed to call the API from a browser; empty = none (CORS closed).
    pub cors_origins: Vec<String>,
    /// How long `/config` and `/readyz` wait for Postgres to answer.
    pub probe_timeout_ms: u64,
    /// Serve searches and reads only, writing nothing to the data directory (a bundle, read-only
    /// media); every route that changes data answers 403 `read_only`.
    pub read_only: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:7700".into(),
            max_body_bytes: 1024 * 1024,
            max_search_body_bytes: 256 * 1024,
            max_batch_bytes: 16 * 1024 * 1024,
            max_upload_bytes: 512 * 1024 * 1024,
            request_timeout_secs: 30,
            upload_timeout_secs: 600,
            max_concurrent_searches: 0,
            long_query_tokens: 64,
            long_query_share: 0.1,
            cors_origins: Vec::new(),
            probe_timeout_ms: 2000,
            read_only: false,
        }
    }
}

impl ServerConfig {
    /// The settings of a loaded configuration: its file's `[server]` table over the defaults, then
    /// the process environment.
    pub fn load(config: &Config) -> Result<Self, ServerError> {
        Self::from_table(&config.server, config.file.as_deref(), |k| {
            std::env::var(k).ok()
        })
    }

    /// `table` (a `[server]` table, from `file` when named) over the defaults, then the variables
    /// `get` returns, so tests need not touch the process environment. Unknown keys are errors, as
    /// everywhere in docvec.toml.
    pub fn from_table(
        table: &toml::Table,
        file: Option<&Path>,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ServerError> {
        let mut cfg: Self = table.clone().try_into().map_err(|e| {
            let file = file.map_or_else(|| "docvec.toml".into(), |f| f.display().to_string());
            ServerError::Config(format!("{file} [server]: {e}"))
        })?;
        cfg.apply_env(get)?;
        if !(cfg.long_query_share > 0.0 && cfg.long_query_share <= 1.0) {
            return Err(ServerError::Config(format!(
                "[server] long_query_share = {}: must be above 0 and at most 1",
                cfg.long_query_share
            )));
        }
        Ok(cfg)
    }

    /// Apply the server's `DOCVEC_*` variables (the names the README lists).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ServerError> {
        fn parse<T: std::str::FromStr>(key: &str, v: String) -> Result<T, ServerError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse()
                .map_err(|e| ServerError::Config(format!("{key}={v}: {e}")))
        }
        if let Some(v) = get("DOCVEC_BIND") {
            self.bind = v;
        }
        if let Some(v) = get("DOCVEC_MAX_BODY_BYTES") {
            self.max_body_bytes = parse("DOCVEC_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_SEARCH_BODY_BYTES") {
            self.max_search_body_bytes = parse("DOCVEC_MAX_SEARCH_BODY_BYTES", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_BATCH_BYTES") {
            self.max_batch_bytes = parse("DOCVEC_MAX_BATCH_BYTES", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_UPLOAD_BYTES") {
            self.max_upload_bytes = parse("DOCVEC_MAX_UPLOAD_BYTES", v)?;
        }
        if let Some(v) = get("DOCVEC_REQUEST_TIMEOUT_SECS") {
            self.request_timeout_secs = parse("DOCVEC_REQUEST_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_CONCURRENT_SEARCHES") {
            self.max_concurrent_searches = parse("DOCVEC_MAX_CONCURRENT_SEARCHES", v)?;
        }
        if let Some(v) = get("DOCVEC_LONG_QUERY_TOKENS") {
            self.long_query_tokens = parse("DOCVEC_LONG_QUERY_TOKENS", v)?;
        }
        if let Some(v) = get("DOCVEC_LONG_QUERY_SHARE") {
            self.long_query_share = parse("DOCVEC_LONG_QUERY_SHARE", v)?;
        }
        if let Some(v) = get("DOCVEC_SERVER_READ_ONLY") {
            self.read_only = parse("DOCVEC_SERVER_READ_ONLY", v)?;
        }
        if let Some(v) = get("DOCVEC_CORS_ORIGINS") {
            self.cors_origins = v
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_partial_table_keeps_the_other_defaults() {
        let cfg = ServerConfig::from_table(&toml::Table::new(), None, no_env).unwrap();
        assert_eq!(cfg.bind, "127.0.0.1:7700");
        assert!(!cfg.read_only);
        let cfg = ServerConfig::from_table(
            &table("bind = \"0.0.0.0:80\"\nmax_body_bytes = 10\ncors_origins = [\"https://a\"]"),
            None,
            no_env,
        )
        .unwrap();
        assert_eq!(
            (cfg.bind.as_str(), cfg.max_body_bytes, cfg.cors_origins),
            ("0.0.0.0:80", 10, vec!["https://a".to_string()])
        );
        assert_eq!(cfg.request_timeout_secs, 30, "the default");
        assert_eq!(cfg.probe_timeout_ms, 2000, "the default");
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let file = table("bind = \"0.0.0.0:80\"\nread_only = false\nmax_concurrent_searches = 2");
        let env = |k: &str| match k {
            "DOCVEC_BIND" => Some("127.0.0.1:9000".into()),
            "DOCVEC_SERVER_READ_ONLY" => Some("true".into()),
            "DOCVEC_CORS_ORIGINS" => Some(" https://a , ,https://b".into()),
            _ => None,
        };
        let cfg = ServerConfig::from_table(&file, None, env).unwrap();
        assert_eq!(cfg.bind, "127.0.0.1:9000");
        assert!(cfg.read_only);
        assert_eq!(cfg.cors_origins, ["https://a", "https://b"]);
        assert_eq!(cfg.max_concurrent_searches, 2, "the file, with no variable");
        let err = ServerConfig::from_table(&file, None, |k| {
            (k == "DOCVEC_MAX_BODY_BYTES").then(|| "lots".into())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("DOCVEC_MAX_BODY_BYTES=lots"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_file_and_section() {
        let err = ServerConfig::from_table(
            &table("bindd = \"0.0.0.0:80\""),
            Some(Path::new("/etc/docvec.toml")),
            no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/etc/docvec.toml [server]"), "{err}");
        assert!(err.contains("bindd"), "{err}");
        let err = ServerConfig::from_table(&table("read_only = \"yes\""), None, no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("read_only") && err.contains("boolean"),
            "{err}"
        );
    }

    #[test]
    fn a_loaded_configuration_hands_over_its_server_table() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        std::fs::write(
            &file,
            "[server]\nprobe_timeout_ms = 50\nupload_timeout_secs = 5\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), None).unwrap();
        let cfg = ServerConfig::from_table(&config.server, config.file.as_deref(), no_env).unwrap();
        assert_eq!((cfg.probe_timeout_ms, cfg.upload_timeout_secs), (50, 5));
        std::fs::write(&file, "[server]\nprobe_timeout = 50\n").unwrap();
        let config = Config::load(Some(&file), None).unwrap();
        let err = ServerConfig::from_table(&config.server, config.file.as_deref(), no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("probe_timeout") && err.contains("docvec.toml [server]"),
            "{err}"
        );
    }
}
