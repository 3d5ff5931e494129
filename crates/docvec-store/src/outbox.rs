//! The mirror's durable outbox: which documents changed since the remote last caught up.

use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// One change waiting for the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub seq: i64,
    pub op: OutboxOp,
    pub document_id: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxOp {
    /// Replace the remote copy with the document's current local state (or delete it when gone).
    Put,
    Delete,
}

/// How far the remote is behind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    pub pending: i64,
    /// Unix milliseconds of the oldest pending change.
    pub oldest_ms: Option<i64>,
    pub last_error: Option<String>,
}

pub(crate) async fn enqueue(
    tx: &mut sqlx::SqliteConnection,
    op: OutboxOp,
    document_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO mirror_outbox (op, document_id, created_at) VALUES (?, ?, ?)")
        .bind(match op {
            OutboxOp::Put => "put",
            OutboxOp::Delete => "delete",
        })
        .bind(document_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

impl Store {
    /// Record every later document write and delete in the outbox (a mirror is configured).
    pub fn enable_outbox(&self, on: bool) {
        self.outbox.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn outbox_enabled(&self) -> bool {
        self.outbox.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The oldest `limit` pending changes, in the order they were made.
    pub async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, op, document_id, attempts FROM mirror_outbox ORDER BY seq LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let op: String = r.try_get("op")?;
                Ok(OutboxItem {
                    seq: r.try_get("seq")?,
                    op: if op == "delete" {
                        OutboxOp::Delete
                    } else {
                        OutboxOp::Put
                    },
                    document_id: r.try_get("document_id")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// The remote committed this change.
    pub async fn outbox_done(&self, seq: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mirror_outbox WHERE seq = ?")
            .bind(seq)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The remote refused or could not be reached; the change stays for the next attempt.
    pub async fn outbox_failed(&self, seq: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mirror_outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
        )
        .bind(error)
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queue every stored document for the remote (a backfill through the outbox).
    pub async fn outbox_enqueue_all(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query(ENQUEUE_ALL)
            .bind(now_ms())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    pub async fn outbox_backlog(&self) -> Result<Backlog, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest,
                    (SELECT last_error FROM mirror_outbox WHERE last_error IS NOT NULL ORDER BY seq LIMIT 1) AS err
             FROM mirror_outbox",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Backlog {
            pending: row.try_get("n")?,
            oldest_ms: row.try_get("oldest")?,
            last_error: row.try_get("err")?,
        })
    }
}

/// Queue every document for the mirror (a full re-sync), oldest path first.
pub(crate) const ENQUEUE_ALL: &str = "INSERT INTO mirror_outbox (op, document_id, created_at) SELECT 'put', id, ? FROM documents ORDER BY path";
