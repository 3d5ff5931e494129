//! Migrations, embedded in the binary so a data directory can be opened from anywhere, and the data
//! directory's format version they define.
//!
//! The format version is the number of the last schema migration applied to `docvec.db`, as sqlx
//! records it in `_sqlx_migrations` in the same transaction as the migration itself. That table is the
//! one source of truth: a separate version (a `store_meta` row, a field in the index manifest) could
//! disagree with the schema it describes after a crash or a hand edit, this one cannot. A change to the
//! meaning of stored data that alters no table is therefore shipped as a migration too (one that only
//! updates rows, or a comment), so it moves the format. The index files (`index/`, `fulltext/`) are
//! derived from the store and carry their own file formats: one this docvec does not read is rebuilt
//! from the store at open, so they never refuse a directory.

use std::path::Path;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqlitePool;

use crate::StoreError;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "documents chunks embeddings",
        include_str!("../../../migrations/sqlite/0001_documents_chunks_embeddings.sql"),
    ),
    (
        2,
        "api endpoints",
        include_str!("../../../migrations/sqlite/0002_api_endpoints.sql"),
    ),
    (
        3,
        "log entries",
        include_str!("../../../migrations/sqlite/0003_log_entries.sql"),
    ),
    (
        4,
        "document tables",
        include_str!("../../../migrations/sqlite/0004_document_tables.sql"),
    ),
    (
        5,
        "artifacts tags facts evidence",
        include_str!("../../../migrations/sqlite/0005_artifacts_tags_facts.sql"),
    ),
    (
        6,
        "mirror outbox",
        include_str!("../../../migrations/sqlite/0006_mirror_outbox.sql"),
    ),
    (
        7,
        "jobs api keys chunk log spans",
        include_str!("../../../migrations/sqlite/0007_jobs_api_keys.sql"),
    ),
    (
        8,
        "staged embeddings",
        include_str!("../../../migrations/sqlite/0008_staged_embeddings.sql"),
    ),
    (
        9,
        "chunk spans document text",
        include_str!("../../../migrations/sqlite/0009_spans.sql"),
    ),
    (
        10,
        "document metadata",
        include_str!("../../../migrations/sqlite/0010_document_meta.sql"),
    ),
    (
        11,
        "chunk input hash index",
        include_str!("../../../migrations/sqlite/0011_chunk_input_hash.sql"),
    ),
];

/// The data directory format this docvec writes and reads up to: its last migration's number.
pub const FORMAT_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Test-only: set to a migration's number, a read-write open stops right after that migration commits
/// (when the store had not reached it yet), says so on stderr and waits to be killed, so a test can
/// kill -9 an upgrade half done. Never set it otherwise: the open does not finish.
pub const PAUSE_AFTER_MIGRATION_ENV: &str = "DOCVEC_TEST_PAUSE_AFTER_MIGRATION";

/// Whether the database has sqlx's table of applied migrations (every docvec store has).
pub(crate) async fn has_migration_table(pool: &SqlitePool) -> Result<bool, StoreError> {
    let found: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(migrator().table_name.to_string())
            .fetch_one(pool)
            .await?;
    Ok(found > 0)
}

/// The format recorded in the database: its last applied migration, `None` where sqlx's table is
/// missing (a new database, or not a docvec one).
pub(crate) async fn recorded_format(pool: &SqlitePool) -> Result<Option<i64>, StoreError> {
    if !has_migration_table(pool).await? {
        return Ok(None);
    }
    let table = migrator().table_name.to_string();
    let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT MAX(version) FROM {table}"
    )))
    .fetch_one(pool)
    .await?;
    Ok(Some(found.unwrap_or(0)))
}

/// The refusal of a store made by a newer docvec.
pub(crate) fn newer(path: &Path, found: i64) -> StoreError {
    StoreError::SchemaNewer {
        path: path.display().to_string(),
        found,
        current: FORMAT_VERSION,
    }
}

/// Bring the store at `path` up to [`FORMAT_VERSION`]. A newer format is refused before anything is
/// written. Each migration runs in its own transaction with its bookkeeping row, so a crash leaves the
/// store at the last migration that committed and the next open goes on from there.
pub(crate) async fn upgrade(pool: &SqlitePool, path: &Path) -> Result<(), StoreError> {
    let found = recorded_format(pool).await?.unwrap_or(0);
    if found > FORMAT_VERSION {
        return Err(newer(path, found));
    }
    let migrator = migrator();
    if let Some(stop) = pause_point(found) {
        migrator.run_to(stop, pool).await?;
        eprintln!(
            "docvec: {PAUSE_AFTER_MIGRATION_ENV}: paused after schema migration {stop} of {}; \
             waiting to be killed",
            path.display()
        );
        std::future::pending::<()>().await;
    }
    migrator.run(pool).await?;
    Ok(())
}

/// The migration to pause after ([`PAUSE_AFTER_MIGRATION_ENV`]), when it is one this open applies.
fn pause_point(found: i64) -> Option<i64> {
    let stop: i64 = std::env::var(PAUSE_AFTER_MIGRATION_ENV)
        .ok()?
        .parse()
        .ok()?;
    (found < stop && stop <= FORMAT_VERSION).then_some(stop)
}

pub(crate) fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_the_last_migration_and_migrations_are_in_order() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
        let expected: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(versions, expected, "numbered 1, 2, ... with no gap");
        assert_eq!(FORMAT_VERSION, *versions.last().unwrap());
    }
}
