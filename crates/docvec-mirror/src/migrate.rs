//! `docvec migrate`: the schema in `migrations/postgres/`, applied in order under an advisory lock, each
//! file in its own transaction and recorded in `docvec.docvec_meta`. Every statement is idempotent, so
//! running it again (or from two processes at once) changes nothing.
//!
//! Everything lives in the `docvec` schema (migration 1 says why). A deployment made before that holds
//! the tables in `public`: migration 1 moves them, so such a database is migrated from the start again
//! (after its recorded model is checked), which the idempotent migrations allow.

use crate::{Mirror, MirrorError};

/// The migrations, in order. `{{DIM}}` stands for the model's dimension.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "schema",
        include_str!("../../../migrations/postgres/0001_schema.sql"),
    ),
    (
        2,
        "hnsw index",
        include_str!("../../../migrations/postgres/0002_hnsw_index.sql"),
    ),
    (
        3,
        "row level security",
        include_str!("../../../migrations/postgres/0003_row_level_security.sql"),
    ),
    (
        4,
        "match functions",
        include_str!("../../../migrations/postgres/0004_match_functions.sql"),
    ),
    (
        5,
        "drop jobs",
        include_str!("../../../migrations/postgres/0005_drop_jobs.sql"),
    ),
    (
        6,
        "document meta",
        include_str!("../../../migrations/postgres/0006_document_meta.sql"),
    ),
];

pub const SCHEMA_VERSION: i64 = 6;

/// Any constant: the advisory lock that serialises migrations.
const LOCK_KEY: i64 = 0x646f_6376_6563;

/// Run `work` holding the migration lock, and release it whatever `work` returns.
async fn under_lock<T>(
    conn: &mut sqlx::PgConnection,
    work: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<T, MirrorError>,
) -> Result<T, MirrorError> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let result = work(&mut *conn).await;
    // A failed unlock is harmless: the lock is the session's and goes with the connection.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await;
    result
}

impl Mirror {
    /// Bring the remote schema up to date for vectors of `model_id` with `dimension` components.
    /// Refuses a database that already holds another model's or dimension's vectors.
    pub async fn migrate(&self, model_id: &str, dimension: usize) -> Result<i64, MirrorError> {
        self.retry("migrate", || self.migrate_once(model_id, dimension))
            .await
    }

    async fn migrate_once(&self, model_id: &str, dimension: usize) -> Result<i64, MirrorError> {
        let mut conn = self.pool.acquire().await?;
        under_lock(&mut conn, async |conn| {
            let state = schema_state(&mut *conn).await?;
            if state.version > 0 || state.legacy {
                check_model(&mut *conn, &state, model_id, dimension).await?;
            }
            // A legacy layout starts again from migration 1, which moves its tables.
            let current = if state.legacy { 0 } else { state.version };
            for (version, name, sql) in MIGRATIONS {
                if *version <= current {
                    continue;
                }
                let sql = sql.replace("{{DIM}}", &dimension.to_string());
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        MirrorError::Schema(format!("migration {version} ({name}): {e}"))
                    })?;
                for (key, value) in [
                    ("schema_version", version.to_string()),
                    ("model_id", model_id.to_string()),
                    ("dimension", dimension.to_string()),
                ] {
                    set_meta(&mut tx, key, &value).await?;
                }
                tx.commit().await?;
                tracing::info!("remote schema migrated to version {version} ({name})");
            }
            Ok(schema_state(&mut *conn).await?.version)
        })
        .await
    }
}

impl Mirror {
    /// Point the remote at another model before every document is sent again with its vectors. With the
    /// same dimension only the recorded model changes (each re-sent document replaces its chunks); with
    /// another, the chunk rows are emptied and the vector column and its HNSW index are remade for the
    /// new dimension, in one transaction. Creates the schema when there is none. Safe to run twice.
    pub async fn switch_model(&self, model_id: &str, dimension: usize) -> Result<(), MirrorError> {
        self.retry("switch model", || {
            self.switch_model_once(model_id, dimension)
        })
        .await
    }

    async fn switch_model_once(&self, model_id: &str, dimension: usize) -> Result<(), MirrorError> {
        let mut conn = self.pool.acquire().await?;
        let state = schema_state(&mut conn).await?;
        if state.version == 0 && !state.legacy {
            drop(conn);
            self.migrate_once(model_id, dimension).await?;
            return Ok(());
        }
        if state.legacy {
            // Move the tables into schema docvec first, for the model they hold.
            let stored = stored_model(&mut conn, &state).await?;
            drop(conn);
            let (old_model, old_dimension) = stored.unwrap_or((model_id.to_string(), dimension));
            self.migrate_once(&old_model, old_dimension).await?;
            conn = self.pool.acquire().await?;
        }
        under_lock(&mut conn, async |conn| {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT value FROM docvec.docvec_meta WHERE key = 'dimension'")
                    .fetch_optional(&mut *conn)
                    .await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            if stored.as_deref() != Some(dimension.to_string().as_str()) {
                // pgvector cannot cast a vector to another dimension: the rows go, the re-sync refills them.
                let sql = format!(
                    "DROP INDEX IF EXISTS docvec.search_chunks_embedding_hnsw;
                     DELETE FROM docvec.search_chunks;
                     ALTER TABLE docvec.search_chunks ALTER COLUMN embedding TYPE vector({dimension});
                     CREATE INDEX search_chunks_embedding_hnsw ON docvec.search_chunks
                         USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);"
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| MirrorError::Schema(format!("switching to {dimension}-d vectors: {e}")))?;
            }
            for (key, value) in [("model_id", model_id.to_string()), ("dimension", dimension.to_string())] {
                set_meta(&mut tx, key, &value).await?;
            }
            tx.commit().await?;
            tracing::info!("the remote now holds vectors of `{model_id}` ({dimension}-d)");
            Ok(())
        })
        .await
    }
}

/// Set one `docvec.docvec_meta` row inside `tx`.
async fn set_meta(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    key: &str,
    value: &str,
) -> Result<(), MirrorError> {
    sqlx::query(
        "INSERT INTO docvec.docvec_meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where the remote schema stands.
struct SchemaState {
    /// The last migration applied; 0 for none.
    version: i64,
    /// docvec's tables are in `public`, as made before schema `docvec` (migration 1 moves them).
    legacy: bool,
    /// The table holding the recorded schema version and model, if any.
    meta: Option<&'static str>,
}

async fn schema_state(conn: &mut sqlx::PgConnection) -> Result<SchemaState, MirrorError> {
    let (current, old): (bool, bool) = sqlx::query_as(
        "SELECT to_regclass('docvec.docvec_meta') IS NOT NULL, to_regclass('public.docvec_meta') IS NOT NULL",
    )
    .fetch_one(&mut *conn)
    .await?;
    let meta = match (current, old) {
        (true, _) => Some("docvec.docvec_meta"),
        (false, true) => Some("public.docvec_meta"),
        (false, false) => None,
    };
    let version = match meta {
        Some(table) => {
            let v: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT value FROM {table} WHERE key = 'schema_version'"
            )))
            .fetch_optional(&mut *conn)
            .await?;
            v.and_then(|v| v.parse().ok()).unwrap_or(0)
        }
        None => 0,
    };
    Ok(SchemaState {
        version,
        legacy: !current && old,
        meta,
    })
}

/// The model and dimension the remote records, when it records both.
async fn stored_model(
    conn: &mut sqlx::PgConnection,
    state: &SchemaState,
) -> Result<Option<(String, usize)>, MirrorError> {
    let Some(table) = state.meta else {
        return Ok(None);
    };
    let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT key, value FROM {table} WHERE key IN ('model_id', 'dimension')"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let get = |k: &str| {
        rows.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    Ok(get("model_id").zip(get("dimension").and_then(|d| d.parse().ok())))
}

async fn check_model(
    conn: &mut sqlx::PgConnection,
    state: &SchemaState,
    model_id: &str,
    dimension: usize,
) -> Result<(), MirrorError> {
    let Some(table) = state.meta else {
        return Ok(());
    };
    let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT key, value FROM {table} WHERE key IN ('model_id', 'dimension')"
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (key, value) in rows {
        let expected = if key == "model_id" {
            model_id.to_string()
        } else {
            dimension.to_string()
        };
        if value != expected {
            return Err(MirrorError::Schema(format!(
                "the database holds vectors with {key} `{value}`, this docvec uses `{expected}` \
                 (use another database, or `DROP SCHEMA docvec CASCADE` and then `docvec backfill`)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_in_order_and_the_dimension_is_a_placeholder() {
        for (i, (version, _, sql)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1);
            assert!(!sql.trim().is_empty());
        }
        assert_eq!(MIGRATIONS.last().unwrap().0, SCHEMA_VERSION);
        assert!(MIGRATIONS[0].2.contains("vector({{DIM}})"));
        // Idempotent statements only: every CREATE can run twice.
        for (_, _, sql) in MIGRATIONS {
            for line in sql
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("CREATE"))
            {
                assert!(
                    line.contains("IF NOT EXISTS") || line.starts_with("CREATE OR REPLACE"),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn everything_is_made_in_schema_docvec_and_private() {
        let creates = |what: &'static str| {
            MIGRATIONS.iter().flat_map(move |(version, _, sql)| {
                sql.lines()
                    .map(str::trim)
                    .filter(move |l| l.starts_with(what))
                    .map(move |l| (*version, l))
            })
        };
        for (_, line) in creates("CREATE TABLE") {
            assert!(
                line.starts_with("CREATE TABLE IF NOT EXISTS docvec."),
                "{line}"
            );
        }
        for (_, line) in creates("CREATE INDEX") {
            assert!(
                line.contains(" ON docvec.") || !line.contains(" ON "),
                "{line}"
            );
        }
        for (_, line) in creates("CREATE OR REPLACE FUNCTION") {
            assert!(
                line.starts_with("CREATE OR REPLACE FUNCTION docvec."),
                "{line}"
            );
        }
        // Row-level security comes with migration 3 for the tables made before it; a later migration that
        // makes a table enables it there too. Functions never run with their owner's rights, and lose
        // PUBLIC's EXECUTE in the migration that makes them.
        for (version, _, sql) in MIGRATIONS {
            let sql: String = sql
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            if *version > 3 && sql.contains("CREATE TABLE") {
                assert!(
                    sql.contains("ENABLE ROW LEVEL SECURITY"),
                    "migration {version}"
                );
            }
            if sql.contains("CREATE OR REPLACE FUNCTION") {
                assert!(sql.contains("FROM PUBLIC"), "migration {version}");
                assert!(!sql.contains("SECURITY DEFINER"), "migration {version}");
            }
            assert!(
                !sql.contains("GRANT "),
                "migration {version} grants something"
            );
        }
        assert!(MIGRATIONS[2].2.contains("ENABLE ROW LEVEL SECURITY"));
    }

    #[test]
    fn the_compose_file_parses_and_mounts_these_migrations() {
        let text = include_str!("../../../docker-compose.supabase.yml");
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).expect("valid YAML");
        let services = doc["services"].as_mapping().expect("services");
        for name in ["db", "migrate", "rest"] {
            assert!(services.contains_key(name), "service {name}");
        }
        assert!(
            doc["services"]["db"]["image"]
                .as_str()
                .unwrap()
                .starts_with("supabase/postgres:")
        );
        let volumes = doc["services"]["migrate"]["volumes"].as_sequence().unwrap();
        assert!(
            volumes[0]
                .as_str()
                .unwrap()
                .starts_with("./migrations/postgres:")
        );
        assert!(
            std::path::Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../migrations/postgres"
            ))
            .is_dir()
        );
    }
}
