//! Switching the data directory to another embedding model without a moment of mixed vectors: the next
//! model's vectors are written to `staged_embeddings` beside the serving ones, and one transaction moves
//! them all over, records the model and, when a mirror is kept, queues every document for it.

use sqlx::Row;

use crate::outbox::ENQUEUE_ALL;
use crate::read::EMBEDDING_INPUT;
use crate::{Store, StoreError, UPSERT_META, blob_to_vector, now_ms, vector_to_blob};

/// What [`Store::commit_staged`] changes besides the vectors.
#[derive(Debug, Clone)]
pub struct ModelSwitch<'a> {
    pub model_id: &'a str,
    pub dimension: usize,
    /// `store_meta` rows written in the same transaction (the model, its dimension, a pending flag).
    pub meta: &'a [(&'a str, String)],
    /// Queue every document for the mirror in the same transaction.
    pub resync_mirror: bool,
}

impl Store {
    /// Forget staged vectors of an earlier, unfinished switch.
    pub async fn clear_staged(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM staged_embeddings")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn stage_vectors(
        &self,
        model_id: &str,
        vectors: &[(i64, Vec<f32>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for (id, v) in vectors {
            // A chunk deleted since its text was read has no row to stage for; the join skips it.
            sqlx::query(
                "INSERT INTO staged_embeddings (chunk_id, model_id, vector)
                 SELECT id, ?, ? FROM search_chunks WHERE id = ?
                 ON CONFLICT (chunk_id) DO UPDATE SET model_id = excluded.model_id, vector = excluded.vector",
            )
            .bind(model_id)
            .bind(vector_to_blob(v))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Chunks with no staged vector of `model_id` yet (stored after staging began), with their embedding
    /// input, in id order.
    pub async fn unstaged_inputs(
        &self,
        model_id: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = format!(
            "SELECT id, {EMBEDDING_INPUT} FROM search_chunks c WHERE NOT EXISTS
               (SELECT 1 FROM staged_embeddings s WHERE s.chunk_id = c.id AND s.model_id = ?)
             ORDER BY id LIMIT ?"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(model_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// One page of staged vectors of `model_id` with chunk id above `after`, in id order.
    pub async fn staged_vectors_page(
        &self,
        model_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT chunk_id, vector FROM staged_embeddings WHERE model_id = ? AND chunk_id > ? ORDER BY chunk_id LIMIT ?",
        )
        .bind(model_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, blob_to_vector(r.try_get::<&[u8], _>(1)?)?)))
            .collect()
    }

    /// Make the staged vectors the stored ones, in one transaction. Refused (nothing changes) when some
    /// chunk has no staged vector of the model. Returns the number of vectors moved.
    pub async fn commit_staged(&self, switch: &ModelSwitch<'_>) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let missing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM search_chunks c WHERE NOT EXISTS
               (SELECT 1 FROM staged_embeddings s WHERE s.chunk_id = c.id AND s.model_id = ?)",
        )
        .bind(switch.model_id)
        .fetch_one(&mut *tx)
        .await?;
        if missing > 0 {
            return Err(StoreError::Corrupt(format!(
                "{missing} chunks have no staged vector of `{}`; the model switch was not committed",
                switch.model_id
            )));
        }
        let moved = sqlx::query(
            "INSERT OR REPLACE INTO chunk_embeddings (chunk_id, model_id, dimension, vector)
             SELECT chunk_id, model_id, ?, vector FROM staged_embeddings WHERE model_id = ?",
        )
        .bind(switch.dimension as i64)
        .bind(switch.model_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE documents SET model_id = ?")
            .bind(switch.model_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM staged_embeddings")
            .execute(&mut *tx)
            .await?;
        for (key, value) in switch.meta {
            sqlx::query(UPSERT_META)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        if switch.resync_mirror {
            sqlx::query(ENQUEUE_ALL)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(moved)
    }
}
