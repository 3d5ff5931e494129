//! The server's own state, kept beside the documents so it survives restarts: API keys (hashes only) and
//! jobs with their progress.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::{Store, StoreError, now_ms};

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

/// A job as stored. `params` and `result` are JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub parent_id: Option<String>,
    pub label: String,
    pub done: i64,
    pub total: i64,
    pub params: serde_json::Value,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// Which jobs to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<String>,
    pub kind: Option<String>,
    /// Children of this job; `None` lists top-level jobs only.
    pub parent: Option<String>,
    /// Cursor: jobs created before this one.
    pub before: Option<String>,
    pub limit: i64,
}

fn job_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<JobRow, StoreError> {
    let json = |col: &str| -> Result<Option<serde_json::Value>, StoreError> {
        Ok(r.try_get::<Option<String>, _>(col)?
            .and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(JobRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        parent_id: r.try_get("parent_id")?,
        label: r.try_get("label")?,
        done: r.try_get("done")?,
        total: r.try_get("total")?,
        params: json("params")?.unwrap_or(serde_json::Value::Null),
        result: json("result")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

impl Store {
    /// Record a new key by its hash.
    pub async fn create_api_key(
        &self,
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
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
    pub async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now_ms())
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many keys are live, and the role of the one with this hash (if live). One statement, so a
    /// request is checked against a consistent view.
    pub async fn check_api_key(
        &self,
        key_hash: Option<&str>,
    ) -> Result<(i64, Option<String>), StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL),
                    (SELECT role FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL)",
        )
        .bind(key_hash.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Insert or replace a job's row.
    pub async fn put_job(&self, job: &JobRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, state, parent_id, label, done, total, params, result, error, created_at, started_at, finished_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, label = excluded.label, done = excluded.done,
               total = excluded.total, result = excluded.result, error = excluded.error,
               started_at = excluded.started_at, finished_at = excluded.finished_at",
        )
        .bind(&job.id)
        .bind(&job.kind)
        .bind(&job.state)
        .bind(&job.parent_id)
        .bind(&job.label)
        .bind(job.done)
        .bind(job.total)
        .bind(job.params.to_string())
        .bind(job.result.as_ref().map(|r| r.to_string()))
        .bind(&job.error)
        .bind(job.created_at)
        .bind(job.started_at)
        .bind(job.finished_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    pub async fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM jobs WHERE 1 = 1");
        match &filter.parent {
            Some(p) => q.push(" AND parent_id = ").push_bind(p.clone()),
            None => q.push(" AND parent_id IS NULL"),
        };
        if let Some(s) = &filter.state {
            q.push(" AND state = ").push_bind(s.clone());
        }
        if let Some(k) = &filter.kind {
            q.push(" AND kind = ").push_bind(k.clone());
        }
        if let Some(b) = &filter.before {
            q.push(" AND (created_at, id) < (SELECT created_at, id FROM jobs WHERE id = ")
                .push_bind(b.clone())
                .push(")");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(filter.limit.clamp(1, 1000));
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// How many jobs are in each state.
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Mark jobs left queued or running by a process that stopped as failed. Returns how many.
    pub async fn fail_interrupted_jobs(&self, reason: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'failed', error = ?, finished_at = ? WHERE state IN ('queued', 'running')",
        )
        .bind(reason)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
