//! The `jobs` table: each job's kind, state, progress, what was asked (`params`) and what came of it
//! (`result`), both JSON; an upload's files are child jobs of it.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use docvec_engine::{Store, StoreError};

use super::now_ms;

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

/// Insert or replace a job's row. What was asked (kind, parent, params, creation time) never changes.
pub async fn put_job(store: &Store, job: &JobRow) -> Result<(), StoreError> {
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
    .execute(store.pool())
    .await?;
    Ok(())
}

pub async fn get_job(store: &Store, id: &str) -> Result<Option<JobRow>, StoreError> {
    let row = sqlx::query("SELECT * FROM jobs WHERE id = ?")
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

pub async fn list_jobs(store: &Store, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
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
    let rows = q.build().fetch_all(store.pool()).await?;
    rows.iter().map(job_from_row).collect()
}

/// How many jobs are in each state.
pub async fn job_counts(store: &Store) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(store.pool())
            .await?,
    )
}

/// Mark jobs left queued or running by a process that stopped as failed. Returns how many.
pub async fn fail_interrupted_jobs(store: &Store, reason: &str) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'failed', error = ?, finished_at = ? WHERE state IN ('queued', 'running')",
    )
    .bind(reason)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected())
}
