//! The local store: SQLite through sqlx. It owns documents, sections, chunks and their vectors, and the
//! `index_log` from which the vector index catches up after a crash.
//!
//! A document is written in one transaction, whole or not at all: its old version (if any) is removed,
//! the new rows and vectors inserted and the index log appended together, so a crash at any point leaves
//! either the old or the new version and a log that says which vectors the index must hold.

mod api;
mod check;
mod enrich;
mod export;
mod filter;
mod logs;
mod outbox;
mod read;
mod read_only;
mod schema;
mod snapshot;
mod staging;
mod tables;
mod wal;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use api::{EndpointFilter, EndpointRow};
pub use check::StoreCheck;
pub use enrich::{FactFilter, FactRow, TagCount, TagFilter, normalise_key};
pub use filter::ChunkFilter;
pub use logs::{LogFilter, LogRow, check_time_bound};
pub use outbox::{Backlog, OutboxItem, OutboxOp};
pub use read::{ChunkHit, DocumentFilter, DocumentRow, LogEntry, LogOp, Stats, TextInput};
pub use read_only::dir_writable;
pub use schema::{FORMAT_VERSION, PAUSE_AFTER_MIGRATION_ENV};
pub use staging::ModelSwitch;
pub use tables::TableRow;
pub use write::{NewChunk, NewDocument, NewSection, PutOutcome};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate the store schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store query failed: {0}")]
    Query(sqlx::Error),
    /// SQLite could not grow the database or its WAL (SQLITE_FULL): the disk (or quota) is full. Its
    /// own words, "database or disk is full", do not name the cause a user searches for, so this says
    /// it; the write was rolled back whole.
    #[error("no space left on device for the store (SQLite: {0})")]
    DiskFull(sqlx::Error),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The database file is damaged (SQLite's SQLITE_CORRUPT or SQLITE_NOTADB). Never "repaired":
    /// SQLite's recovery tools get back what they can by dropping what they cannot read.
    #[error(
        "the database file {path} is damaged ({cause}): docvec does not repair a database by dropping \
         rows; restore it from a backup or a bundle (`docvec export`), or ingest the files again into \
         a new --data-dir"
    )]
    Damaged { path: String, cause: String },
    /// The write-ahead log would be replayed only in part (see `wal.rs`).
    #[error(
        "the write-ahead log {path} is damaged: {cause}; SQLite would drop those committed writes \
         without a word, so docvec does not open the store. To open the database as it was at its last \
         checkpoint instead, accepting that loss, move {path} and its -shm file aside"
    )]
    WalDamaged { path: String, cause: String },
    #[error("no docvec store at {path}")]
    Missing { path: String },
    #[error("{path} is not a docvec store (it holds no docvec schema)")]
    NotAStore { path: String },
    /// Opened read-only, a store needing migrations cannot be brought up to date.
    #[error(
        "the store at {path} was made by an older docvec (format {found}; this docvec's is \
         {current}) and cannot be upgraded read-only: open it read-write once with this docvec, where \
         it is writable (`docvec check`, or `docvec serve` without --read-only), to upgrade it"
    )]
    SchemaOlder {
        path: String,
        found: i64,
        current: i64,
    },
    /// A store of a format (schema version) newer than this docvec's, refused as it is, read-write or
    /// read-only.
    #[error(
        "the store at {path} has format {found}, made by a newer docvec; this docvec reads up to format \
         {current}: upgrade docvec (the store was left as it is)"
    )]
    SchemaNewer {
        path: String,
        found: i64,
        current: i64,
    },
}

impl StoreError {
    /// SQLite's message, when this error says the database file is damaged.
    pub fn damage(&self) -> Option<String> {
        let e = match self {
            StoreError::Open { source, .. } | StoreError::Query(source) => source,
            StoreError::Migrate(
                sqlx::migrate::MigrateError::Execute(e)
                | sqlx::migrate::MigrateError::ExecuteMigration(e, _),
            ) => e,
            StoreError::Damaged { cause, .. } | StoreError::WalDamaged { cause, .. } => {
                return Some(cause.clone());
            }
            _ => return None,
        };
        let sqlx::Error::Database(db) = e else {
            return None;
        };
        // Extended result codes keep the primary code in the low byte.
        let code: i32 = db.code()?.parse().ok()?;
        const SQLITE_CORRUPT: i32 = 11;
        const SQLITE_NOTADB: i32 = 26;
        matches!(code & 0xff, SQLITE_CORRUPT | SQLITE_NOTADB).then(|| db.message().to_string())
    }

    /// This error naming `path` as the damaged file, when it says the database is damaged (a query
    /// does not know which file it read).
    pub fn naming(self, path: &Path) -> Self {
        if matches!(
            self,
            StoreError::Damaged { .. } | StoreError::WalDamaged { .. }
        ) {
            return self;
        }
        match self.damage() {
            Some(cause) => StoreError::Damaged {
                path: path.display().to_string(),
                cause,
            },
            None => self,
        }
    }
}

/// SQLITE_FULL, the primary result code SQLite gives when a write finds no space.
const SQLITE_FULL: &str = "13";

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let full = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code == SQLITE_FULL);
        if full {
            StoreError::DiskFull(e)
        } else {
            StoreError::Query(e)
        }
    }
}

impl StoreError {
    /// Whether the disk holding the store is full (the operation may succeed once space is freed).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::DiskFull(_))
    }
}

/// The SQLite store of one data directory.
/// A pool of four connections to the database at `path`, with the options `tune` adds. Another
/// connection or process may hold the write lock for a moment, so each waits for it up to 30 s.
pub(crate) async fn connect(
    path: &Path,
    tune: impl FnOnce(SqliteConnectOptions) -> SqliteConnectOptions,
) -> Result<SqlitePool, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.display().to_string(),
        source,
    };
    wal::check(path)?;
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(open_err)?
        .filename(path)
        .busy_timeout(Duration::from_secs(30));
    SqlitePoolOptions::new()
        .max_connections(4)
        .after_release(|conn, _| Box::pin(async move { release_outside_transaction(conn).await }))
        .connect_with(tune(options))
        .await
        .map_err(|e| open_err(e).naming(path))
}

/// Whether a connection handed back to the pool may be reused. After SQLITE_FULL SQLite may roll the
/// transaction back by itself; the rollback sqlx then sends fails ("no transaction is active") and
/// sqlx still counts the connection as inside a transaction, so its next `BEGIN IMMEDIATE` would be
/// refused ("begin_with at non-zero transaction depth") and fail the next document for no reason of
/// its own. Such a connection is closed instead; the pool opens a fresh one.
async fn release_outside_transaction(
    conn: &mut sqlx::SqliteConnection,
) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    // The ping runs after the rollback sqlx queued when the transaction was dropped.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Writes and deletes are recorded in the mirror outbox (see [`Store::enable_outbox`]).
    outbox: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date: migrate a store
    /// of an older format in place, refuse one of a newer format ([`StoreError::SchemaNewer`]) as it is.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let pool = connect(path, |o| {
            o.create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a committed document survives power loss, not only a killed process.
                .synchronous(SqliteSynchronous::Full)
        })
        .await?;
        // A newer format is refused before anything is written; the pool closes cleanly either way.
        if let Err(e) = schema::upgrade(&pool, path).await {
            pool.close().await;
            return Err(e.naming(path));
        }
        Ok(Self {
            pool,
            outbox: Default::default(),
        })
    }

    /// A write transaction holding the write lock from its start. A deferred one would fail at once with
    /// SQLITE_BUSY when another connection (the server's job records, another process) commits between
    /// its first read and its first write; this one waits for the lock (`busy_timeout`) instead.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The connection pool, for the tables whose queries another crate owns (the server's `api_keys` and
    /// `jobs`): the database file and its one ordered list of migrations stay here, so every table is
    /// made and upgraded in step with the rest.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Close the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM store_meta WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM store_meta WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(UPSERT_META)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Set one `store_meta` row.
pub(crate) const UPSERT_META: &str = "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// Vectors are stored as little-endian f32 bytes.
pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_vector(b: &[u8]) -> Result<Vec<f32>, StoreError> {
    if !b.len().is_multiple_of(4) {
        return Err(StoreError::Corrupt(format!(
            "vector blob of {} bytes is not a whole number of f32",
            b.len()
        )));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
