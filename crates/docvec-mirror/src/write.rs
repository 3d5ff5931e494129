//! Writes: a document's remote rows replaced in one transaction, deletes, and the bulk-load helpers of a
//! backfill. Structured rows travel as one JSON array per table (`jsonb_populate_recordset` maps keys to
//! columns); chunks travel as typed arrays through `UNNEST`, vectors in pgvector's binary form, in
//! batches of `batch_rows`.

use docvec_store::{DocumentExport, ExportChunk};
use pgvector::Vector;

use crate::{Mirror, MirrorError};

/// Remote tables filled from JSON arrays, with the export field that holds their rows.
const JSON_TABLES: &[&str] = &[
    "document_sections",
    "document_tables",
    "api_endpoints",
    "log_entries",
    "tags",
    "facts",
    "evidence",
];

impl Mirror {
    /// Replace the remote copy of a document with `doc`, in one transaction (retried when transient).
    pub async fn put_document(&self, doc: &DocumentExport) -> Result<(), MirrorError> {
        self.retry("put document", || self.put_once(doc)).await
    }

    async fn put_once(&self, doc: &DocumentExport) -> Result<(), MirrorError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM documents WHERE id = $1 OR path = $2")
            .bind(&doc.id)
            .bind(&doc.path)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO documents SELECT * FROM jsonb_populate_record(NULL::documents, $1::jsonb)",
        )
        .bind(&doc.document)
        .execute(&mut *tx)
        .await?;
        if let Some(artifact) = &doc.artifact {
            sqlx::query(
                "INSERT INTO artifacts SELECT * FROM jsonb_populate_record(NULL::artifacts, $1::jsonb)",
            )
            .bind(artifact)
            .execute(&mut *tx)
            .await?;
        }
        for (table, rows) in JSON_TABLES.iter().zip([
            &doc.sections,
            &doc.tables,
            &doc.endpoints,
            &doc.log_entries,
            &doc.tags,
            &doc.facts,
            &doc.evidence,
        ]) {
            if rows.as_array().is_none_or(|a| a.is_empty()) {
                continue;
            }
            let sql = format!(
                "INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb)"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(rows)
                .execute(&mut *tx)
                .await?;
        }
        for batch in doc.chunks.chunks(self.options.batch_rows.max(1)) {
            insert_chunks(&mut tx, &doc.id, batch).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Remove a document and everything derived from it (cascading).
    pub async fn delete_document(&self, id: &str) -> Result<(), MirrorError> {
        self.retry("delete document", || async {
            sqlx::query("DELETE FROM documents WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Remove every document (a backfill's `--reset`).
    pub async fn reset(&self) -> Result<(), MirrorError> {
        self.retry("reset", || async {
            sqlx::query("TRUNCATE documents CASCADE")
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Drop the HNSW index before a bulk load: rows go in several times faster without it, and one build
    /// at the end beats growing it row by row.
    pub async fn drop_vector_index(&self) -> Result<(), MirrorError> {
        sqlx::query("DROP INDEX IF EXISTS search_chunks_embedding_hnsw")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Build the HNSW index with `maintenance_work_mem` raised for the session: a graph that fits in
    /// memory builds several times faster than one spilled to disk.
    pub async fn build_vector_index(&self, maintenance_work_mem: &str) -> Result<(), MirrorError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT set_config('maintenance_work_mem', $1, false)")
            .bind(maintenance_work_mem)
            .execute(&mut *conn)
            .await?;
        let sql = crate::MIGRATIONS
            .iter()
            .find(|(v, _, _)| *v == 2)
            .map(|(_, _, sql)| *sql)
            .unwrap_or_default();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut *conn)
            .await?;
        sqlx::query("RESET maintenance_work_mem")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

async fn insert_chunks(
    tx: &mut sqlx::PgConnection,
    document_id: &str,
    chunks: &[ExportChunk],
) -> Result<(), MirrorError> {
    let ordinals: Vec<i32> = chunks.iter().map(|c| c.ordinal).collect();
    let keys: Vec<&str> = chunks.iter().map(|c| c.key.as_str()).collect();
    let sections: Vec<i32> = chunks.iter().map(|c| c.section).collect();
    let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
    let contexts: Vec<&str> = chunks.iter().map(|c| c.context.as_str()).collect();
    let page_starts: Vec<Option<i32>> = chunks.iter().map(|c| c.page_start).collect();
    let page_ends: Vec<Option<i32>> = chunks.iter().map(|c| c.page_end).collect();
    let tokens: Vec<i32> = chunks.iter().map(|c| c.token_count).collect();
    let models: Vec<&str> = chunks.iter().map(|c| c.model_id.as_str()).collect();
    let vectors: Vec<Vector> = chunks
        .iter()
        .map(|c| Vector::from(c.vector.clone()))
        .collect();
    sqlx::query(
        "INSERT INTO search_chunks (document_id, ordinal, key, section, text, context, page_start, page_end, token_count, model_id, embedding)
         SELECT $1, * FROM UNNEST($2::int4[], $3::text[], $4::int4[], $5::text[], $6::text[], $7::int4[], $8::int4[], $9::int4[], $10::text[], $11::vector[])",
    )
    .bind(document_id)
    .bind(&ordinals)
    .bind(&keys)
    .bind(&sections)
    .bind(&texts)
    .bind(&contexts)
    .bind(&page_starts)
    .bind(&page_ends)
    .bind(&tokens)
    .bind(&models)
    .bind(&vectors)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
