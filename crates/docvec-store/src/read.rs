//! Reads: documents, the index log, vectors for the index, and the rows behind search hits.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::{Store, StoreError, blob_to_vector};

#[derive(Debug, Clone, Serialize)]
pub struct DocumentRow {
    pub id: String,
    pub path: String,
    pub content_hash: String,
    pub format: String,
    pub title: Option<String>,
    pub size_bytes: i64,
    pub chunk_count: i64,
    pub model_id: String,
    pub tags: Vec<String>,
    pub updated_at: i64,
    /// The document's own metadata.
    pub meta: docvec_types::Metadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOp {
    Add,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    pub seq: i64,
    pub op: LogOp,
    pub chunk_id: i64,
}

/// Which documents to list.
#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub format: Option<String>,
    /// A tag on the document itself (format, user tag or keyphrase).
    pub tag: Option<String>,
    pub path_prefix: Option<String>,
    /// Cursor: documents whose path sorts after this one.
    pub after: Option<String>,
    pub limit: i64,
}

/// The stored rows behind one search hit.
#[derive(Debug, Clone)]
pub struct ChunkHit {
    pub chunk_id: i64,
    pub key: String,
    pub text: String,
    pub page_start: Option<u32>,
    pub section: String,
    pub document_id: String,
    pub path: String,
    pub title: Option<String>,
    pub format: String,
    /// Where the chunk came from (`None` for chunks stored before spans).
    pub span: Option<docvec_types::Span>,
    /// The document's own metadata.
    pub meta: docvec_types::Metadata,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub documents: i64,
    pub sections: i64,
    pub chunks: i64,
    pub tokens: i64,
    pub bytes: i64,
    pub by_format: Vec<(String, i64)>,
    /// Models that embedded the stored chunks, with chunk counts.
    pub models: Vec<(String, i64)>,
    pub pending_log: i64,
}

/// A chunk as the full-text index takes it.
#[derive(Debug, Clone)]
pub struct TextInput {
    pub id: i64,
    /// The heading context: document title and section path ("Title > Heading").
    pub context: String,
    /// The embedding input: heading context, then text.
    pub input: String,
}

impl From<(i64, String, String)> for TextInput {
    fn from((id, context, input): (i64, String, String)) -> Self {
        Self { id, context, input }
    }
}

/// A chunk's embedding input in SQL, as `Chunk::embedding_input` builds it.
pub(crate) const EMBEDDING_INPUT: &str =
    "CASE WHEN context = '' THEN text ELSE context || char(10) || char(10) || text END";

/// Keys per `IN (...)` list: well inside SQLite's limit on bound parameters (32,766 since 3.32,
/// 999 before), and large enough that a batch of a few thousand keys takes a handful of queries.
const IN_LIST: usize = 500;

const DOCUMENT_COLUMNS: &str = "id, path, content_hash, format, title, size_bytes, chunk_count, model_id, tags, updated_at, meta";

fn document_row(row: &sqlx::sqlite::SqliteRow) -> Result<DocumentRow, sqlx::Error> {
    let tags: String = row.try_get("tags")?;
    Ok(DocumentRow {
        id: row.try_get("id")?,
        path: row.try_get("path")?,
        content_hash: row.try_get("content_hash")?,
        format: row.try_get("format")?,
        title: row.try_get("title")?,
        size_bytes: row.try_get("size_bytes")?,
        chunk_count: row.try_get("chunk_count")?,
        model_id: row.try_get("model_id")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        updated_at: row.try_get("updated_at")?,
        meta: serde_json::from_str(row.try_get("meta")?).unwrap_or_default(),
    })
}

impl Store {
    /// The document stored under this id or path.
    pub async fn document(&self, id_or_path: &str) -> Result<Option<DocumentRow>, StoreError> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ? OR path = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_or_path)
            .bind(id_or_path)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(document_row).transpose()?)
    }

    pub async fn list_documents(&self) -> Result<Vec<DocumentRow>, StoreError> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY path");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(document_row).collect::<Result<_, _>>()?)
    }

    /// One page of documents in path order, after the cursor `after` (a path).
    pub async fn documents_page(
        &self,
        filter: &DocumentFilter,
    ) -> Result<Vec<DocumentRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE 1 = 1"
        ));
        if let Some(f) = &filter.format {
            q.push(" AND d.format = ").push_bind(f.to_ascii_lowercase());
        }
        if let Some(t) = &filter.tag {
            q.push(" AND EXISTS (SELECT 1 FROM tags t WHERE t.document_id = d.id AND t.chunk_ordinal IS NULL AND t.name = ")
                .push_bind(crate::normalise_key(t))
                .push(")");
        }
        if let Some(p) = &filter.path_prefix {
            q.push(" AND substr(d.path, 1, length(")
                .push_bind(p.clone())
                .push(")) = ")
                .push_bind(p.clone());
        }
        if let Some(a) = &filter.after {
            q.push(" AND d.path > ").push_bind(a.clone());
        }
        q.push(" ORDER BY d.path LIMIT ")
            .push_bind(filter.limit.clamp(1, 1000));
        let rows = q.build().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(document_row).collect::<Result<_, _>>()?)
    }

    /// What the full-text index holds of the given chunks: heading context and embedding input
    /// (heading context, then text); chunks deleted since are absent.
    pub async fn text_inputs(&self, ids: &[i64]) -> Result<Vec<TextInput>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for part in ids.chunks(IN_LIST) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT id, context, {EMBEDDING_INPUT} FROM search_chunks WHERE id IN ("
            ));
            let mut sep = q.separated(", ");
            for id in part {
                sep.push_bind(*id);
            }
            q.push(")");
            let rows = q
                .build_query_as::<(i64, String, String)>()
                .fetch_all(&self.pool)
                .await?;
            out.extend(rows.into_iter().map(TextInput::from));
        }
        Ok(out)
    }

    /// One page of chunks (id above `after`) as [`Store::text_inputs`] gives them, for refilling the
    /// full-text index.
    pub async fn text_inputs_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TextInput>, StoreError> {
        let sql = format!(
            "SELECT id, context, {EMBEDDING_INPUT} FROM search_chunks WHERE id > ? ORDER BY id LIMIT ?"
        );
        let rows: Vec<(i64, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(TextInput::from).collect())
    }

    /// One page of chunks (id above `after`) with the text their vector was made from, for re-embedding.
    pub async fn embedding_inputs_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = format!(
            "SELECT id, {EMBEDDING_INPUT} FROM search_chunks WHERE id > ? ORDER BY id LIMIT ?"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Stored vectors of `model_id` for those of `hashes` (embedding-input hashes) that any chunk in
    /// the store already has, by hash: an input embedded once, in whichever document, is not embedded
    /// again (a changed file's unchanged chunks, table rows and boilerplate repeated across files).
    /// Looked up through the `search_chunks_input_hash` index, [`IN_LIST`] hashes per query.
    pub async fn vectors_by_input(
        &self,
        hashes: &[&str],
        model_id: &str,
    ) -> Result<HashMap<String, Vec<f32>>, StoreError> {
        let mut out = HashMap::new();
        for part in hashes.chunks(IN_LIST) {
            // One row per hash, however many chunks share the input: a repeated row's vector is read
            // once, not once per copy.
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT c.input_hash, e.vector FROM search_chunks c
                 JOIN chunk_embeddings e ON e.chunk_id = c.id WHERE e.model_id = ",
            );
            q.push_bind(model_id).push(" AND c.input_hash IN (");
            let mut sep = q.separated(", ");
            for h in part {
                sep.push_bind(*h);
            }
            q.push(") GROUP BY c.input_hash");
            for row in q.build().fetch_all(&self.pool).await? {
                out.insert(
                    row.try_get(0)?,
                    blob_to_vector(row.try_get::<&[u8], _>(1)?)?,
                );
            }
        }
        Ok(out)
    }

    /// Index log entries after `seq`, oldest first, at most `limit`.
    pub async fn log_after(&self, seq: i64, limit: i64) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, op, chunk_id FROM index_log WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let op: &str = r.try_get("op")?;
                let op = match op {
                    "add" => LogOp::Add,
                    "delete" => LogOp::Delete,
                    other => {
                        return Err(StoreError::Corrupt(format!(
                            "unknown index log op `{other}`"
                        )));
                    }
                };
                Ok(LogEntry {
                    seq: r.try_get("seq")?,
                    op,
                    chunk_id: r.try_get("chunk_id")?,
                })
            })
            .collect()
    }

    /// The highest log sequence number ever issued (pruned entries included).
    pub async fn last_log_seq(&self) -> Result<i64, StoreError> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'index_log'")
                .fetch_optional(&self.pool)
                .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Vectors of the given chunks that still exist, embedded by `model_id`.
    pub async fn vectors(
        &self,
        chunk_ids: &[i64],
        model_id: &str,
    ) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
        let mut out = Vec::with_capacity(chunk_ids.len());
        for ids in chunk_ids.chunks(IN_LIST) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT chunk_id, vector FROM chunk_embeddings WHERE model_id = ",
            );
            q.push_bind(model_id).push(" AND chunk_id IN (");
            let mut sep = q.separated(", ");
            for id in ids {
                sep.push_bind(*id);
            }
            q.push(")");
            for row in q.build().fetch_all(&self.pool).await? {
                out.push((
                    row.try_get(0)?,
                    blob_to_vector(row.try_get::<&[u8], _>(1)?)?,
                ));
            }
        }
        Ok(out)
    }

    /// One page of all vectors by `model_id` with chunk id above `after`, in id order: for full rebuilds.
    pub async fn vectors_page(
        &self,
        model_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
        let rows = sqlx::query("SELECT chunk_id, vector FROM chunk_embeddings WHERE model_id = ? AND chunk_id > ? ORDER BY chunk_id LIMIT ?")
            .bind(model_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, blob_to_vector(r.try_get::<&[u8], _>(1)?)?)))
            .collect()
    }

    /// The stored rows behind the given chunk ids; ids with no chunk (deleted since) are absent.
    pub async fn chunk_hits(
        &self,
        chunk_ids: &[i64],
    ) -> Result<HashMap<i64, ChunkHit>, StoreError> {
        let mut out = HashMap::with_capacity(chunk_ids.len());
        if chunk_ids.is_empty() {
            return Ok(out);
        }
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT c.id, c.key, c.text, c.page_start, c.span, s.heading_path, d.id AS document_id, d.path, d.title, d.format, d.meta
             FROM search_chunks c JOIN document_sections s ON s.id = c.section_id JOIN documents d ON d.id = c.document_id
             WHERE c.id IN (",
        );
        let mut sep = q.separated(", ");
        for id in chunk_ids {
            sep.push_bind(*id);
        }
        q.push(")");
        for row in q.build().fetch_all(&self.pool).await? {
            let hit = chunk_hit(&row)?;
            out.insert(hit.chunk_id, hit);
        }
        Ok(out)
    }

    /// The chunk a user names by its id (a number) or its key (a hit's `chunk_key`).
    pub async fn chunk_hit_by_ref(&self, reference: &str) -> Result<Option<ChunkHit>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM search_chunks WHERE key = ?1 OR CAST(id AS TEXT) = ?1 ORDER BY key = ?1 DESC LIMIT 1",
        )
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        Ok(self.chunk_hits(&[id]).await?.remove(&id))
    }

    /// A document's stored text: what its chunks' byte offsets point into. `None` for a document
    /// stored before spans (or an unknown id).
    pub async fn document_text(&self, document_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT text FROM document_text WHERE document_id = ?")
                .bind(document_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Paths of stored documents that have no stored text (stored before spans): an ingest reads them
    /// again even when unchanged, so their hits gain spans.
    pub async fn paths_without_text(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT path FROM documents WHERE id NOT IN (SELECT document_id FROM document_text)",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn stats(&self) -> Result<Stats, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM document_sections),
                    (SELECT COUNT(*) FROM search_chunks), (SELECT COALESCE(SUM(token_count), 0) FROM search_chunks),
                    (SELECT COALESCE(SUM(size_bytes), 0) FROM documents), (SELECT COUNT(*) FROM index_log)",
        )
        .fetch_one(&self.pool)
        .await?;
        let by_format = sqlx::query_as(
            "SELECT format, COUNT(*) FROM documents GROUP BY format ORDER BY format",
        )
        .fetch_all(&self.pool)
        .await?;
        let models = sqlx::query_as(
            "SELECT model_id, COUNT(*) FROM chunk_embeddings GROUP BY model_id ORDER BY model_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(Stats {
            documents: row.try_get(0)?,
            sections: row.try_get(1)?,
            chunks: row.try_get(2)?,
            tokens: row.try_get(3)?,
            bytes: row.try_get(4)?,
            pending_log: row.try_get(5)?,
            by_format,
            models,
        })
    }
}

/// A `ChunkHit` from a row of `chunk_hits`' query.
fn chunk_hit(row: &sqlx::sqlite::SqliteRow) -> Result<ChunkHit, StoreError> {
    let span: Option<String> = row.try_get("span")?;
    Ok(ChunkHit {
        chunk_id: row.try_get("id")?,
        key: row.try_get("key")?,
        text: row.try_get("text")?,
        page_start: row
            .try_get::<Option<i64>, _>("page_start")?
            .map(|p| p as u32),
        section: row.try_get("heading_path")?,
        document_id: row.try_get("document_id")?,
        path: row.try_get("path")?,
        title: row.try_get("title")?,
        format: row.try_get("format")?,
        span: span.and_then(|s| serde_json::from_str(&s).ok()),
        meta: serde_json::from_str(row.try_get("meta")?).unwrap_or_default(),
    })
}
