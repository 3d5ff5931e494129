//! The Supabase mirror: documents, their structured rows and their vectors copied to Postgres with
//! pgvector, through sqlx and the connection string a Supabase project gives (direct or pooler).
//!
//! The local SQLite store stays the source of every write: a change is recorded in its outbox in the same
//! transaction, and [`Mirror::put_document`] replays it by replacing the document's remote rows in one
//! Postgres transaction. Replays are idempotent (a document's rows are keyed by its stable id and
//! ordinals), so an interrupted replay or backfill simply runs again. Transient failures (connection
//! lost, server restarting) are retried with backoff within a time bound, then left in the outbox.
//!
//! Everything lives in the schema `docvec`, private by default (row-level security on every table, no
//! grants to Supabase's API roles); apps search it through `docvec.match_chunks` and
//! `docvec.hybrid_match_chunks` once `migrations/supabase/read_only_search.sql` opts them in.

mod migrate;
mod read;
mod write;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use migrate::{MIGRATIONS, SCHEMA_VERSION};
pub use read::{DocumentDigest, Probe, RemoteFilter};
pub use write::BulkWriter;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("the connection string is not valid: {0}")]
    Config(String),
    /// Postgres could not be reached or went away (worth retrying later).
    #[error("Postgres is unreachable: {0}")]
    Unreachable(String),
    #[error("the remote schema does not fit: {0}")]
    Schema(String),
    #[error("Postgres query failed: {0}")]
    Query(sqlx::Error),
}

impl MirrorError {
    /// Whether trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, MirrorError::Unreachable(_))
    }
}

impl From<sqlx::Error> for MirrorError {
    fn from(e: sqlx::Error) -> Self {
        if transient(&e) {
            MirrorError::Unreachable(e.to_string())
        } else {
            MirrorError::Query(e)
        }
    }
}

fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // 08: connection exception; 57P01-03: shutdown / cannot connect now; 53300: too many
            // connections; 40001 / 40P01: serialization failure / deadlock.
            c.starts_with("08")
                || matches!(
                    &*c,
                    "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
                )
        }),
        _ => false,
    }
}

/// How to reach the remote and how hard to try.
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    /// `postgres://user:pass@host:port/db?sslmode=require` (Supabase: Settings > Database).
    pub url: String,
    /// Rows per COPY message (one write on the wire).
    pub batch_rows: usize,
    /// Rows per transaction in bulk loads (backfill): fewer, larger transactions load faster.
    pub transaction_rows: usize,
    /// Bulk-load transactions in flight at once, each on its own connection.
    pub parallel: usize,
    /// Bound on one remote operation, retries included.
    pub timeout: Duration,
    /// Bound on opening a connection.
    pub connect_timeout: Duration,
    /// Attempts per operation on transient errors.
    pub attempts: u32,
}

impl MirrorOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            batch_rows: 500,
            transaction_rows: 5000,
            parallel: 2,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            attempts: 3,
        }
    }
}

/// A connection pool to the remote Postgres.
#[derive(Clone)]
pub struct Mirror {
    pool: PgPool,
    options: MirrorOptions,
    /// Connected through a transaction pooler (PgBouncer / Supavisor on 6543): no cached statements.
    pub pooled: bool,
}

impl Mirror {
    /// A lazily connected pool: nothing is dialled until the first operation, so a down remote does not
    /// stop docvec from starting.
    pub fn connect_lazy(options: MirrorOptions) -> Result<Self, MirrorError> {
        let mut connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| MirrorError::Config(e.to_string()))?
            .application_name("docvec");
        // Supabase's transaction pooler (port 6543) cannot keep prepared statements across
        // transactions; with the statement cache off every statement is prepared unnamed, which works.
        let pooled = connect.get_port() == 6543;
        if pooled {
            connect = connect.statement_cache_capacity(0);
        }
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(options.connect_timeout)
            .connect_lazy_with(connect);
        Ok(Self {
            pool,
            options,
            pooled,
        })
    }

    pub fn options(&self) -> &MirrorOptions {
        &self.options
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Run `op` until it succeeds, fails for good, or the time bound passes; transient failures are
    /// retried with exponential backoff (200 ms, 800 ms, ...).
    pub(crate) async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, MirrorError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, MirrorError>>,
    {
        let deadline = tokio::time::Instant::now() + self.options.timeout;
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let result = match tokio::time::timeout(left, op()).await {
                Ok(r) => r,
                Err(_) => Err(MirrorError::Unreachable(format!(
                    "{what} took longer than {:?}",
                    self.options.timeout
                ))),
            };
            match result {
                Err(e) if e.is_transient() && attempt < self.options.attempts => {
                    tracing::debug!("{what}: {e}; retrying in {delay:?}");
                    if tokio::time::Instant::now() + delay >= deadline {
                        return Err(e);
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// The connection string from the environment: `DATABASE_URL`, else `SUPABASE_DB_URL`.
pub fn url_from_env(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    get("DATABASE_URL")
        .or_else(|| get("SUPABASE_DB_URL"))
        .filter(|u| !u.trim().is_empty())
}

/// A connection string with its password hidden, for logs and `/config`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgresql://postgres.abc:s3cr@t@aws-0.pooler.supabase.com:6543/postgres"),
            "postgresql://postgres.abc:***@aws-0.pooler.supabase.com:6543/postgres"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn the_transaction_pooler_gets_no_statement_cache() {
        // The lazy pool still wants a runtime to live in.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let m = Mirror::connect_lazy(MirrorOptions::new(
                "postgres://u:p@aws-0-eu.pooler.supabase.com:6543/postgres",
            ))
            .unwrap();
            assert!(m.pooled);
            let m = Mirror::connect_lazy(MirrorOptions::new(
                "postgres://u:p@db.x.supabase.co:5432/postgres",
            ))
            .unwrap();
            assert!(!m.pooled);
            assert!(matches!(
                Mirror::connect_lazy(MirrorOptions::new("not a url")),
                Err(MirrorError::Config(_))
            ));
        });
    }

    #[test]
    fn url_from_the_usual_variables() {
        let env = |k: &str| (k == "SUPABASE_DB_URL").then(|| "postgres://x".to_string());
        assert_eq!(url_from_env(env).as_deref(), Some("postgres://x"));
        assert_eq!(url_from_env(|_| None), None);
    }
}
