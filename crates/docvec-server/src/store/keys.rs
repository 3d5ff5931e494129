//! The `api_keys` table: an id, a name and a role per key, and the blake3 hash of the key itself,
//! which is never stored (see `crate::auth`).

use serde::Serialize;
use sqlx::Row;

use docvec_engine::{Store, StoreError};

use super::now_ms;

/// An API key as listed; the key itself is never stored.
#[derive(Debug, Clone, Serialize)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Record a new key by its hash.
pub async fn create_api_key(
    store: &Store,
    id: &str,
    name: &str,
    role: &str,
    key_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_keys (id, name, role, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(name)
    .bind(role)
    .bind(key_hash)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Every key, revoked ones included, oldest first.
pub async fn list_api_keys(store: &Store) -> Result<Vec<ApiKeyRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_keys ORDER BY created_at, id",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiKeyRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revoke a key by id; false when there is no such live key.
pub async fn revoke_api_key(store: &Store, id: &str) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(store.pool())
            .await?;
    Ok(done.rows_affected() > 0)
}

/// How many keys are live, and the role of the one with this hash (if live). One statement, so a
/// request is checked against a consistent view.
pub async fn check_api_key(
    store: &Store,
    key_hash: Option<&str>,
) -> Result<(i64, Option<String>), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL),
                (SELECT role FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL)",
    )
    .bind(key_hash.unwrap_or(""))
    .fetch_one(store.pool())
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
