//! Writes: a document's remote rows replaced in one transaction, deletes, and the bulk-load helpers of a
//! backfill. Structured rows travel as one JSON array per table (`jsonb_populate_recordset` maps keys to
//! columns); chunks and their vectors go in with binary `COPY`, the fastest way into Postgres, and stay
//! idempotent because the document's old rows are deleted in the same transaction.

use docvec_types::{DocumentExport, ExportChunk};

use crate::{Mirror, MirrorError};

impl Mirror {
    /// Replace the remote copy of a document with `doc`, in one transaction (retried when transient).
    pub async fn put_document(&self, doc: &DocumentExport) -> Result<(), MirrorError> {
        self.put_documents(std::slice::from_ref(doc)).await
    }

    /// Replace the remote copies of several documents in one transaction: one round trip per table
    /// instead of per document, which is what makes a backfill fast.
    pub async fn put_documents(&self, docs: &[DocumentExport]) -> Result<(), MirrorError> {
        if docs.is_empty() {
            return Ok(());
        }
        self.retry("put documents", || self.put_once(docs)).await
    }

    async fn put_once(&self, docs: &[DocumentExport]) -> Result<(), MirrorError> {
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        let paths: Vec<&str> = docs.iter().map(|d| d.path.as_str()).collect();
        let rows = |pick: &dyn Fn(&DocumentExport) -> Vec<serde_json::Value>| {
            serde_json::Value::Array(docs.iter().flat_map(pick).collect())
        };
        let array = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM docvec.documents WHERE id = ANY($1) OR path = ANY($2)")
            .bind(&ids)
            .bind(&paths)
            .execute(&mut *tx)
            .await?;
        let tables: [(&str, serde_json::Value); 9] = [
            ("documents", rows(&|d| vec![with_meta(&d.document)])),
            ("artifacts", rows(&|d| d.artifact.iter().cloned().collect())),
            ("document_sections", rows(&|d| array(&d.sections))),
            ("document_tables", rows(&|d| array(&d.tables))),
            ("api_endpoints", rows(&|d| array(&d.endpoints))),
            ("log_entries", rows(&|d| array(&d.log_entries))),
            ("tags", rows(&|d| array(&d.tags))),
            ("facts", rows(&|d| array(&d.facts))),
            ("evidence", rows(&|d| array(&d.evidence))),
        ];
        for (table, rows) in &tables {
            if rows.as_array().is_none_or(|a| a.is_empty()) {
                continue;
            }
            let sql = format!(
                "INSERT INTO docvec.{table} SELECT * FROM jsonb_populate_recordset(NULL::docvec.{table}, $1::jsonb)"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(rows)
                .execute(&mut *tx)
                .await?;
        }
        let chunks: Vec<(&str, &ExportChunk)> = docs
            .iter()
            .flat_map(|d| d.chunks.iter().map(move |c| (d.id.as_str(), c)))
            .collect();
        copy_chunks(&mut tx, &chunks, self.options.batch_rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove a document and everything derived from it (cascading).
    pub async fn delete_document(&self, id: &str) -> Result<(), MirrorError> {
        self.retry("delete document", || async {
            sqlx::query("DELETE FROM docvec.documents WHERE id = $1")
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
            sqlx::query("TRUNCATE docvec.documents CASCADE")
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Drop the search indexes before a bulk load, the HNSW index and the full-text GIN index together:
    /// rows go in several times faster without the first, about a quarter faster without the second
    /// (on ~100-word chunks), and one build at the end beats growing them row by row.
    pub async fn drop_vector_index(&self) -> Result<(), MirrorError> {
        // One simple query, one transaction: both go or neither.
        sqlx::raw_sql(
            "DROP INDEX IF EXISTS docvec.search_chunks_embedding_hnsw;
             DROP INDEX IF EXISTS docvec.search_chunks_fts;",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the HNSW index exists: a backfill cut off by a crash may have dropped it.
    pub async fn vector_index_exists(&self) -> Result<bool, MirrorError> {
        let exists: bool = sqlx::query_scalar(
            "SELECT to_regclass('docvec.search_chunks_embedding_hnsw') IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(exists)
    }

    /// Build the search indexes with `maintenance_work_mem` raised for the session: a graph that fits in
    /// memory builds several times faster than one spilled to disk. The full-text index comes first, so
    /// that where the HNSW index exists (what [`Mirror::vector_index_exists`] asks) both do.
    pub async fn build_vector_index(&self, maintenance_work_mem: &str) -> Result<(), MirrorError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT set_config('maintenance_work_mem', $1, false)")
            .bind(maintenance_work_mem)
            .execute(&mut *conn)
            .await?;
        sqlx::raw_sql(FULL_TEXT_INDEX).execute(&mut *conn).await?;
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

/// The full-text index of migration 4 (a unit test keeps the two the same).
const FULL_TEXT_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS search_chunks_fts ON docvec.search_chunks USING gin (fts);";

/// PostgreSQL's binary COPY header: signature, flags, header extension length.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end-of-data marker: a tuple with -1 fields.
const COPY_TRAILER: [u8; 2] = (-1i16).to_be_bytes();

/// The chunks' rows in the binary COPY format, vectors in pgvector's binary `vector` form.
fn encode_rows(chunks: &[(&str, &ExportChunk)]) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as i32).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn int4(out: &mut Vec<u8>, v: Option<i32>) {
        match v {
            Some(v) => {
                out.extend_from_slice(&4i32.to_be_bytes());
                out.extend_from_slice(&v.to_be_bytes());
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    let row_bytes = |c: &ExportChunk| 200 + c.text.len() + c.context.len() + c.vector.len() * 4;
    let mut out = Vec::with_capacity(chunks.iter().map(|(_, c)| row_bytes(c)).sum::<usize>());
    for (document_id, c) in chunks {
        out.extend_from_slice(&12i16.to_be_bytes());
        text(&mut out, document_id);
        int4(&mut out, Some(c.ordinal));
        text(&mut out, &c.key);
        int4(&mut out, Some(c.section));
        text(&mut out, &c.text);
        text(&mut out, &c.context);
        int4(&mut out, c.page_start);
        int4(&mut out, c.page_end);
        int4(&mut out, Some(c.token_count));
        text(&mut out, &c.model_id);
        // int16 dimension, int16 unused, then float4 values, all big-endian.
        out.extend_from_slice(&((4 + 4 * c.vector.len()) as i32).to_be_bytes());
        out.extend_from_slice(&(c.vector.len() as i16).to_be_bytes());
        out.extend_from_slice(&0i16.to_be_bytes());
        for x in &c.vector {
            out.extend_from_slice(&x.to_be_bytes());
        }
        // jsonb's binary form: a version byte (1), then the JSON text.
        let meta = match &c.span {
            Some(span) => serde_json::json!({ "span": span }),
            None => serde_json::json!({}),
        }
        .to_string();
        out.extend_from_slice(&(1 + meta.len() as i32).to_be_bytes());
        out.push(1);
        out.extend_from_slice(meta.as_bytes());
    }
    out
}

async fn copy_chunks(
    tx: &mut sqlx::PgConnection,
    chunks: &[(&str, &ExportChunk)],
    batch_rows: usize,
) -> Result<(), MirrorError> {
    if chunks.is_empty() {
        return Ok(());
    }
    let mut copy = tx
        .copy_in_raw(
            "COPY docvec.search_chunks (document_id, ordinal, key, section, text, context, page_start, page_end, token_count, model_id, embedding, meta) FROM STDIN (FORMAT BINARY)",
        )
        .await?;
    // sqlx leaves Nagle's algorithm on: a small write behind unacknowledged data waits for the
    // server's delayed ACK (40 ms). So the header, rows and trailer go out as few, large writes:
    // one per `batch_rows` rows, the header in the first and the trailer in the last.
    let batches: Vec<&[(&str, &ExportChunk)]> = chunks.chunks(batch_rows.max(1)).collect();
    let mut sent = Ok(());
    for (i, batch) in batches.iter().enumerate() {
        let mut buf = Vec::new();
        if i == 0 {
            buf.extend_from_slice(COPY_HEADER);
        }
        buf.extend_from_slice(&encode_rows(batch));
        if i + 1 == batches.len() {
            buf.extend_from_slice(&COPY_TRAILER);
        }
        sent = copy.send(buf).await.map(|_| ());
        if sent.is_err() {
            break;
        }
    }
    match sent {
        Ok(()) => {
            copy.finish().await?;
            Ok(())
        }
        Err(e) => {
            let _ = copy.abort(e.to_string()).await;
            Err(e.into())
        }
    }
}

/// A bulk load (backfill): documents grouped into transactions of about `transaction_rows` chunks, up
/// to `parallel` of them in flight on separate connections. Groups hold distinct documents, so their
/// order does not matter.
pub struct BulkWriter {
    mirror: Mirror,
    group: Vec<DocumentExport>,
    rows: usize,
    running: tokio::task::JoinSet<Result<(), MirrorError>>,
}

impl BulkWriter {
    pub fn new(mirror: &Mirror) -> Self {
        Self {
            mirror: mirror.clone(),
            group: Vec::new(),
            rows: 0,
            running: tokio::task::JoinSet::new(),
        }
    }

    /// Queue a document; sends a group when it is full, waiting first when enough are in flight.
    pub async fn push(&mut self, doc: DocumentExport) -> Result<(), MirrorError> {
        self.rows += doc.chunks.len().max(1);
        self.group.push(doc);
        if self.rows >= self.mirror.options.transaction_rows.max(1) {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> Result<(), MirrorError> {
        while self.running.len() >= self.mirror.options.parallel.max(1) {
            self.join_one().await?;
        }
        let group = std::mem::take(&mut self.group);
        self.rows = 0;
        let mirror = self.mirror.clone();
        self.running
            .spawn(async move { mirror.put_documents(&group).await });
        Ok(())
    }

    async fn join_one(&mut self) -> Result<(), MirrorError> {
        match self.running.join_next().await {
            Some(Ok(result)) => result,
            Some(Err(e)) => Err(MirrorError::Unreachable(format!(
                "a bulk write task failed: {e}"
            ))),
            None => Ok(()),
        }
    }

    /// Send what is queued and wait for every group; the first failure is returned.
    pub async fn finish(mut self) -> Result<(), MirrorError> {
        if !self.group.is_empty() {
            self.send().await?;
        }
        let mut first = Ok(());
        while !self.running.is_empty() {
            if let Err(e) = self.join_one().await {
                first = first.and(Err(e));
            }
        }
        first
    }
}

/// A `documents` row with its `meta`: `jsonb_populate_recordset` fills a missing key with NULL, not
/// the column's default, and rows exported by a docvec before metadata have none.
fn with_meta(row: &serde_json::Value) -> serde_json::Value {
    let mut row = row.clone();
    if let Some(obj) = row.as_object_mut()
        && obj.get("meta").is_none_or(serde_json::Value::is_null)
    {
        obj.insert("meta".into(), serde_json::json!({}));
    }
    row
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_full_text_index_is_the_one_migration_4_makes() {
        assert!(crate::MIGRATIONS[3].2.contains(super::FULL_TEXT_INDEX));
    }
}
