//! `docvec migrate`: the schema in `migrations/postgres/`, applied in order under an advisory lock, each
//! file in its own transaction and recorded in `docvec_meta`. Every statement is idempotent, so running
//! it again (or from two processes at once) changes nothing.

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
];

pub const SCHEMA_VERSION: i64 = 2;

/// Any constant: the advisory lock that serialises migrations.
const LOCK_KEY: i64 = 0x646f_6376_6563;

impl Mirror {
    /// Bring the remote schema up to date for vectors of `model_id` with `dimension` components.
    /// Refuses a database that already holds another model's or dimension's vectors.
    pub async fn migrate(&self, model_id: &str, dimension: usize) -> Result<i64, MirrorError> {
        self.retry("migrate", || self.migrate_once(model_id, dimension))
            .await
    }

    async fn migrate_once(&self, model_id: &str, dimension: usize) -> Result<i64, MirrorError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await?;
        let result = async {
            let current = current_version(&mut conn).await?;
            if current > 0 {
                check_model(&mut conn, model_id, dimension).await?;
            }
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
            current_version(&mut conn).await
        }
        .await;
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await;
        result
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
        if current_version(&mut conn).await? == 0 {
            drop(conn);
            self.migrate_once(model_id, dimension).await?;
            return Ok(());
        }
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await?;
        let result = async {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT value FROM docvec_meta WHERE key = 'dimension'")
                    .fetch_optional(&mut *conn)
                    .await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            if stored.as_deref() != Some(dimension.to_string().as_str()) {
                // pgvector cannot cast a vector to another dimension: the rows go, the re-sync refills them.
                let sql = format!(
                    "DROP INDEX IF EXISTS search_chunks_embedding_hnsw;
                     DELETE FROM search_chunks;
                     ALTER TABLE search_chunks ALTER COLUMN embedding TYPE vector({dimension});
                     CREATE INDEX search_chunks_embedding_hnsw ON search_chunks
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
        }
        .await;
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await;
        result
    }
}

/// Set one `docvec_meta` row inside `tx`.
async fn set_meta(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    key: &str,
    value: &str,
) -> Result<(), MirrorError> {
    sqlx::query(
        "INSERT INTO docvec_meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn current_version(conn: &mut sqlx::PgConnection) -> Result<i64, MirrorError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('docvec_meta') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(0);
    }
    let v: Option<String> =
        sqlx::query_scalar("SELECT value FROM docvec_meta WHERE key = 'schema_version'")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

async fn check_model(
    conn: &mut sqlx::PgConnection,
    model_id: &str,
    dimension: usize,
) -> Result<(), MirrorError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value FROM docvec_meta WHERE key IN ('model_id', 'dimension')")
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
                 (use another database, or `docvec backfill --reset` after dropping the tables)"
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
                assert!(line.contains("IF NOT EXISTS"), "{line}");
            }
        }
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
