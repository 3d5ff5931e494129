//! Writes: a whole document in one transaction, and deletes, each logged for the vector index.

use docvec_types::{ApiEndpoint, Fact, Format, LogEntry, Span, Table, Tag};
use sqlx::Row;

use crate::{Store, StoreError, now_ms, vector_to_blob};

/// A document ready to store: everything parsed, chunked and embedded.
pub struct NewDocument<'a> {
    pub id: &'a str,
    pub path: &'a str,
    pub content_hash: &'a str,
    pub format: Format,
    pub title: Option<&'a str>,
    pub size_bytes: u64,
    pub metadata: &'a serde_json::Map<String, serde_json::Value>,
    pub tags: &'a [String],
    pub model_id: &'a str,
    pub sections: Vec<NewSection<'a>>,
    pub chunks: Vec<NewChunk<'a>>,
    /// Operations of an API description, stored as structured rows.
    pub endpoints: &'a [ApiEndpoint],
    /// Entries of a log file, stored as structured rows.
    pub log_entries: &'a [LogEntry],
    /// Tables of the document, stored with header, rows and column types.
    pub tables: &'a [Table],
    /// Media type of the source file, for its `artifacts` row.
    pub media_type: &'a str,
    /// Tags of the document (format, user, keyphrases) and of each chunk, in chunk order.
    pub document_tags: &'a [Tag],
    pub chunk_tags: &'a [Vec<Tag>],
    /// Facts with their evidence.
    pub facts: &'a [Fact],
    /// The text chunk spans point into (`None` keeps no text).
    pub text: Option<&'a str>,
    /// The document's own metadata (checked by `docvec_types::check_metadata`).
    pub meta: &'a docvec_types::Metadata,
}

pub struct NewSection<'a> {
    pub heading: Option<&'a str>,
    pub level: u8,
    pub heading_path: String,
    pub page_start: Option<u32>,
    pub page_end: Option<u32>,
}

pub struct NewChunk<'a> {
    pub key: &'a str,
    /// Index into `NewDocument::sections`.
    pub section: usize,
    pub ordinal: u32,
    pub text: &'a str,
    pub context: &'a str,
    pub input_hash: String,
    pub page_start: Option<u32>,
    pub page_end: Option<u32>,
    pub token_count: u32,
    pub vector: &'a [f32],
    /// Where the chunk came from.
    pub span: Option<&'a Span>,
}

/// What a `put_document` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// Ids of the new chunks, in chunk order.
    pub chunk_ids: Vec<i64>,
    /// Chunks of the previous version that were removed.
    pub replaced_chunks: u64,
}

impl Store {
    /// Store `doc`, replacing any earlier version at the same path, in one transaction.
    pub async fn put_document(&self, doc: &NewDocument<'_>) -> Result<PutOutcome, StoreError> {
        if let Some(c) = doc.chunks.iter().find(|c| c.section >= doc.sections.len()) {
            return Err(StoreError::Corrupt(format!(
                "chunk {} points at section {} of {}",
                c.ordinal,
                c.section,
                doc.sections.len()
            )));
        }
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let old: Option<(String, i64)> =
            sqlx::query_as("SELECT id, created_at FROM documents WHERE path = ? OR id = ?")
                .bind(doc.path)
                .bind(doc.id)
                .fetch_optional(&mut *tx)
                .await?;
        let mut replaced_chunks = 0;
        if let Some((old_id, _)) = &old {
            replaced_chunks = log_and_delete(&mut tx, old_id).await?;
        }
        let created_at = old.map(|(_, c)| c).unwrap_or(now);
        sqlx::query(
            "INSERT INTO documents (id, path, content_hash, format, title, size_bytes, metadata, tags, chunk_count, model_id, created_at, updated_at, meta)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(doc.id)
        .bind(doc.path)
        .bind(doc.content_hash)
        .bind(doc.format.as_str())
        .bind(doc.title)
        .bind(doc.size_bytes as i64)
        .bind(serde_json::Value::Object(doc.metadata.clone()).to_string())
        .bind(serde_json::to_string(doc.tags).unwrap_or_else(|_| "[]".into()))
        .bind(doc.chunks.len() as i64)
        .bind(doc.model_id)
        .bind(created_at)
        .bind(now)
        .bind(serde_json::Value::Object(doc.meta.clone()).to_string())
        .execute(&mut *tx)
        .await?;

        if let Some(text) = doc.text {
            sqlx::query("INSERT OR REPLACE INTO document_text (document_id, text) VALUES (?, ?)")
                .bind(doc.id)
                .bind(text)
                .execute(&mut *tx)
                .await?;
        }

        let mut section_ids = Vec::with_capacity(doc.sections.len());
        for (ordinal, s) in doc.sections.iter().enumerate() {
            let row = sqlx::query(
                "INSERT INTO document_sections (document_id, ordinal, heading, level, heading_path, page_start, page_end)
                 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(doc.id)
            .bind(ordinal as i64)
            .bind(s.heading)
            .bind(s.level as i64)
            .bind(&s.heading_path)
            .bind(s.page_start.map(i64::from))
            .bind(s.page_end.map(i64::from))
            .fetch_one(&mut *tx)
            .await?;
            section_ids.push(row.try_get::<i64, _>(0)?);
        }

        let mut chunk_ids = Vec::with_capacity(doc.chunks.len());
        let spans =
            crate::logs::chunk_log_spans(doc.chunks.iter().map(|c| c.text), doc.log_entries);
        for (c, span) in doc.chunks.iter().zip(spans) {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO search_chunks (key, document_id, section_id, ordinal, text, context, input_hash, page_start, page_end, token_count, log_first, log_last, span)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(c.key)
            .bind(doc.id)
            .bind(section_ids[c.section])
            .bind(c.ordinal as i64)
            .bind(c.text)
            .bind(c.context)
            .bind(&c.input_hash)
            .bind(c.page_start.map(i64::from))
            .bind(c.page_end.map(i64::from))
            .bind(c.token_count as i64)
            .bind(span.map(|s| s.0 as i64))
            .bind(span.map(|s| s.1 as i64))
            .bind(
                c.span
                    .filter(|s| !s.is_empty())
                    .and_then(|s| serde_json::to_string(s).ok()),
            )
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO chunk_embeddings (chunk_id, model_id, dimension, vector) VALUES (?, ?, ?, ?)")
                .bind(id)
                .bind(doc.model_id)
                .bind(c.vector.len() as i64)
                .bind(vector_to_blob(c.vector))
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO index_log (op, chunk_id) VALUES ('add', ?)")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            chunk_ids.push(id);
        }
        crate::api::insert_endpoints(&mut tx, doc.id, doc.endpoints).await?;
        crate::logs::insert_log_entries(&mut tx, doc.id, doc.log_entries).await?;
        crate::tables::insert_tables(&mut tx, doc.id, doc.tables).await?;
        let artifact = crate::enrich::NewArtifact {
            uri: doc.path,
            content_hash: doc.content_hash,
            size_bytes: doc.size_bytes,
            media_type: doc.media_type,
        };
        let artifact_id = crate::enrich::insert_artifact(&mut tx, doc.id, &artifact, now).await?;
        let tags: Vec<(Option<u32>, &Tag)> = doc
            .document_tags
            .iter()
            .map(|t| (None, t))
            .chain(
                doc.chunk_tags
                    .iter()
                    .zip(&doc.chunks)
                    .flat_map(|(tags, c)| tags.iter().map(move |t| (Some(c.ordinal), t))),
            )
            .collect();
        crate::enrich::insert_tags(&mut tx, doc.id, &tags).await?;
        crate::enrich::insert_facts(&mut tx, doc.id, artifact_id, doc.facts).await?;
        if self.outbox_enabled() {
            crate::outbox::enqueue(&mut tx, crate::OutboxOp::Put, doc.id).await?;
        }
        tx.commit().await?;
        Ok(PutOutcome {
            chunk_ids,
            replaced_chunks,
        })
    }

    /// Delete a document (by id or path) with its sections, chunks and vectors. Returns its path, or
    /// `None` when no such document exists.
    pub async fn delete_document(
        &self,
        id_or_path: &str,
    ) -> Result<Option<(String, u64)>, StoreError> {
        let mut tx = self.write_tx().await?;
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT id, path FROM documents WHERE id = ? OR path = ?")
                .bind(id_or_path)
                .bind(id_or_path)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((id, path)) = found else {
            return Ok(None);
        };
        let removed = log_and_delete(&mut tx, &id).await?;
        if self.outbox_enabled() {
            crate::outbox::enqueue(&mut tx, crate::OutboxOp::Delete, &id).await?;
        }
        tx.commit().await?;
        Ok(Some((path, removed)))
    }

    /// Drop index log entries up to `seq`, once the index has durably applied them.
    pub async fn prune_log(&self, seq: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM index_log WHERE seq <= ?")
            .bind(seq)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Log a delete for every chunk of the document, then remove it (sections, chunks and vectors cascade).
async fn log_and_delete(
    tx: &mut sqlx::SqliteConnection,
    document_id: &str,
) -> Result<u64, StoreError> {
    let logged = sqlx::query("INSERT INTO index_log (op, chunk_id) SELECT 'delete', id FROM search_chunks WHERE document_id = ? ORDER BY id")
        .bind(document_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM documents WHERE id = ?")
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
    Ok(logged)
}
