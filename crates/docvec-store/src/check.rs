//! Consistency checks of the stored data: what `docvec check` reports after a crash, and what the crash
//! tests assert. A document is whole when its row, its chunks and each chunk's vector are all there.

use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError};

/// What [`Store::check`] found. Every list is empty in a consistent store.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StoreCheck {
    pub documents: i64,
    pub chunks: i64,
    /// `PRAGMA integrity_check` lines other than "ok" (a damaged database file).
    pub integrity_errors: Vec<String>,
    /// Rows whose parent is gone (`PRAGMA foreign_key_check`), as "table -> parent".
    pub orphans: Vec<String>,
    /// Documents whose recorded chunk count differs from the chunks stored, or that have none.
    pub partial_documents: Vec<String>,
    /// Chunks without a vector of the store's model.
    pub chunks_without_vector: i64,
}

impl StoreCheck {
    pub fn is_consistent(&self) -> bool {
        self.integrity_errors.is_empty()
            && self.orphans.is_empty()
            && self.partial_documents.is_empty()
            && self.chunks_without_vector == 0
    }
}

impl Store {
    /// Check the database file and the wholeness of every document (reads only).
    /// A damaged file is reported in `integrity_errors`, not as an error, when SQLite can say so.
    pub async fn check(&self) -> Result<StoreCheck, StoreError> {
        let integrity: Result<Vec<String>, StoreError> =
            sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from);
        let mut integrity_errors: Vec<String> = match integrity {
            Ok(lines) => lines.into_iter().filter(|line| line != "ok").collect(),
            Err(e) => vec![e.damage().ok_or(e)?],
        };
        match self.wholeness().await {
            Ok(check) => Ok(StoreCheck {
                integrity_errors,
                ..check
            }),
            // The rows a damaged file still yields are not counted: the damage is the finding.
            Err(e) if !integrity_errors.is_empty() || e.damage().is_some() => {
                integrity_errors.extend(e.damage());
                Ok(StoreCheck {
                    integrity_errors,
                    ..Default::default()
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Foreign keys, chunk counts and vectors of every document.
    async fn wholeness(&self) -> Result<StoreCheck, StoreError> {
        let orphans = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let table: String = r.try_get(0).unwrap_or_default();
                let parent: String = r.try_get(2).unwrap_or_default();
                format!("{table} -> {parent}")
            })
            .collect();
        let partial_documents = sqlx::query_scalar(
            "SELECT d.path FROM documents d
             LEFT JOIN (SELECT document_id, COUNT(*) AS n FROM search_chunks GROUP BY document_id) c
               ON c.document_id = d.id
             WHERE COALESCE(c.n, 0) = 0 OR COALESCE(c.n, 0) <> d.chunk_count
             ORDER BY d.path",
        )
        .fetch_all(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM search_chunks),
                    (SELECT COUNT(*) FROM search_chunks c JOIN documents d ON d.id = c.document_id
                      WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e
                                         WHERE e.chunk_id = c.id AND e.model_id = d.model_id))",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(StoreCheck {
            documents: row.try_get(0)?,
            chunks: row.try_get(1)?,
            integrity_errors: Vec::new(),
            orphans,
            partial_documents,
            chunks_without_vector: row.try_get(2)?,
        })
    }

    /// Ids of every stored chunk, ascending: what both indexes must hold once caught up.
    pub async fn chunk_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM search_chunks ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
