//! A whole document as the mirror needs it: its rows as JSON objects keyed by the remote schema's column
//! names (SQLite builds them with `json_object`, Postgres reads them with `jsonb_populate_recordset`),
//! and its chunks with their vectors. The row types live in `docvec_types` so the mirror needs no store.

use docvec_types::{DocumentExport, ExportChunk};
use sqlx::Row;

use crate::{Store, StoreError, blob_to_vector};

/// Unix milliseconds as ISO 8601 UTC, in SQL.
const ISO: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', {} / 1000.0, 'unixepoch')";

fn iso(column: &str) -> String {
    ISO.replace("{}", column)
}

impl Store {
    /// Everything stored for one document, or `None` when it is gone.
    pub async fn export_document(&self, id: &str) -> Result<Option<DocumentExport>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // One read transaction: the document cannot change between the queries below.
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let result = export(&mut conn, id).await;
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        result
    }
}

async fn json_of(
    conn: &mut sqlx::SqliteConnection,
    sql: String,
    id: &str,
) -> Result<serde_json::Value, StoreError> {
    let text: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let text = text.unwrap_or_else(|| "[]".into());
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("export: {e}")))
}

async fn export(
    conn: &mut sqlx::SqliteConnection,
    id: &str,
) -> Result<Option<DocumentExport>, StoreError> {
    let doc_sql = format!(
        "SELECT id, path, content_hash, json_object('id', id, 'path', path, 'content_hash', content_hash,
            'format', format, 'title', title, 'size_bytes', size_bytes, 'metadata', json(metadata),
            'tags', json(tags), 'chunk_count', chunk_count, 'model_id', model_id,
            'created_at', {}, 'updated_at', {}, 'meta', json(meta)) AS row
         FROM documents WHERE id = ?",
        iso("created_at"),
        iso("updated_at")
    );
    let Some(doc) = sqlx::query(sqlx::AssertSqlSafe(doc_sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let parse = |s: String| {
        serde_json::from_str::<serde_json::Value>(&s)
            .map_err(|e| StoreError::Corrupt(format!("export: {e}")))
    };
    let document = parse(doc.try_get("row")?)?;
    let artifact_sql = format!(
        "SELECT json_object('document_id', document_id, 'kind', kind, 'uri', uri, 'content_hash', content_hash,
            'size_bytes', size_bytes, 'media_type', media_type, 'created_at', {})
         FROM artifacts WHERE document_id = ?",
        iso("created_at")
    );
    let artifact: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(artifact_sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let artifact = artifact.map(parse).transpose()?;

    let sections = json_of(
        conn,
        "SELECT json_group_array(json_object('document_id', document_id, 'ordinal', ordinal, 'heading', heading,
            'level', level, 'heading_path', heading_path, 'page_start', page_start, 'page_end', page_end))
         FROM (SELECT * FROM document_sections WHERE document_id = ? ORDER BY ordinal)"
            .into(),
        id,
    )
    .await?;
    let tables = json_of(
        conn,
        "SELECT json_group_array(json_object('document_id', document_id, 'ordinal', ordinal, 'name', name,
            'header', json(header), 'column_types', json(column_types), 'rows', json(rows),
            'source_rows', json(source_rows), 'row_count', row_count, 'column_count', column_count,
            'header_row', header_row, 'delimiter', delimiter))
         FROM (SELECT * FROM document_tables WHERE document_id = ? ORDER BY ordinal)"
            .into(),
        id,
    )
    .await?;
    let endpoints = json_of(
        conn,
        "SELECT json_group_array(json_object('document_id', document_id, 'ordinal', ordinal, 'method', method,
            'path', path, 'kind', kind, 'operation_id', operation_id, 'summary', summary,
            'description', description, 'parameters', json(parameters), 'request_schema', request_schema,
            'responses', json(responses), 'tags', json(tags)))
         FROM (SELECT * FROM api_endpoints WHERE document_id = ? ORDER BY ordinal)"
            .into(),
        id,
    )
    .await?;
    let log_entries = json_of(
        conn,
        "SELECT json_group_array(json_object('document_id', document_id, 'ordinal', ordinal, 'line', line,
            'end_line', end_line, 'ts', ts, 'level', level, 'code', component, 'host', host, 'pid', pid,
            'message', message, 'raw', raw))
         FROM (SELECT * FROM log_entries WHERE document_id = ? ORDER BY ordinal)"
            .into(),
        id,
    )
    .await?;
    let tags = json_of(
        conn,
        "SELECT json_group_array(json_object('document_id', document_id, 'ordinal', ordinal,
            'chunk_ordinal', chunk_ordinal, 'tag', name, 'kind', kind, 'score', score))
         FROM (SELECT *, row_number() OVER (ORDER BY id) - 1 AS ordinal FROM tags WHERE document_id = ? ORDER BY id)"
            .into(),
        id,
    )
    .await?;
    let facts = json_of(
        conn,
        "SELECT json_group_array(json_object('document_id', document_id, 'ordinal', ordinal, 'kind', kind,
            'key', key, 'key_norm', key_norm, 'value', value, 'subject', subject, 'number', number, 'unit', unit))
         FROM (SELECT * FROM facts WHERE document_id = ? ORDER BY ordinal)"
            .into(),
        id,
    )
    .await?;
    let evidence = json_of(
        conn,
        "SELECT json_group_array(json_object('document_id', f.document_id, 'fact_ordinal', f.ordinal,
            'locator', json_object('section', e.section, 'page', e.page, 'sheet', e.sheet,
                'table', e.table_ordinal, 'row', e.row_number, 'column', e.column_number, 'line', e.line,
                'char_start', e.char_start, 'char_end', e.char_end, 'scope', e.scope),
            'snippet', e.snippet))
         FROM (SELECT * FROM facts WHERE document_id = ? ORDER BY ordinal) f JOIN evidence e ON e.fact_id = f.id"
            .into(),
        id,
    )
    .await?;

    let rows = sqlx::query(
        "SELECT c.ordinal, c.key, s.ordinal AS section, c.text, c.context, c.page_start, c.page_end,
                c.token_count, c.span, e.model_id, e.vector
         FROM search_chunks c JOIN document_sections s ON s.id = c.section_id
         JOIN chunk_embeddings e ON e.chunk_id = c.id
         WHERE c.document_id = ? ORDER BY c.ordinal",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let chunks = rows
        .iter()
        .map(|r| {
            Ok(ExportChunk {
                ordinal: r.try_get::<i64, _>("ordinal")? as i32,
                key: r.try_get("key")?,
                section: r.try_get::<i64, _>("section")? as i32,
                text: r.try_get("text")?,
                context: r.try_get("context")?,
                page_start: r.try_get::<Option<i64>, _>("page_start")?.map(|p| p as i32),
                page_end: r.try_get::<Option<i64>, _>("page_end")?.map(|p| p as i32),
                token_count: r.try_get::<i64, _>("token_count")? as i32,
                model_id: r.try_get("model_id")?,
                vector: blob_to_vector(r.try_get::<&[u8], _>("vector")?)?,
                span: r
                    .try_get::<Option<String>, _>("span")?
                    .and_then(|s| serde_json::from_str(&s).ok()),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(DocumentExport {
        id: doc.try_get("id")?,
        path: doc.try_get("path")?,
        content_hash: doc.try_get("content_hash")?,
        document,
        artifact,
        sections,
        tables,
        endpoints,
        log_entries,
        tags,
        facts,
        evidence,
        chunks,
    }))
}

/// Local tables as the mirror counts them (the remote's names; `document_sections` etc. are shared).
const COUNTED: &[(&str, &str)] = &[
    ("documents", "documents"),
    ("artifacts", "artifacts"),
    ("document_sections", "document_sections"),
    ("search_chunks", "search_chunks"),
    ("document_tables", "document_tables"),
    ("api_endpoints", "api_endpoints"),
    ("log_entries", "log_entries"),
    ("tags", "tags"),
    ("facts", "facts"),
    ("evidence", "evidence"),
];

impl Store {
    /// Row counts per table, under the mirror's table names.
    pub async fn table_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut out = Vec::with_capacity(COUNTED.len());
        for (remote, local) in COUNTED {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {local}")))
                    .fetch_one(&self.pool)
                    .await?;
            out.push((remote.to_string(), n));
        }
        Ok(out)
    }

    /// Per document: content hash, chunk count, and its chunk keys in order joined by commas.
    pub async fn document_digests(&self) -> Result<Vec<(String, String, i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.content_hash, d.chunk_count,
                    COALESCE((SELECT group_concat(c.key, ',' ORDER BY c.ordinal) FROM search_chunks c
                              WHERE c.document_id = d.id), '') AS keys
             FROM documents d ORDER BY d.path",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("content_hash")?,
                    r.try_get("chunk_count")?,
                    r.try_get("keys")?,
                ))
            })
            .collect()
    }

    /// About `n` chunks spread evenly over the store: (document id, ordinal, vector).
    pub async fn sample_vectors(&self, n: i64) -> Result<Vec<(String, i32, Vec<f32>)>, StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM search_chunks")
            .fetch_one(&self.pool)
            .await?;
        let step = (total / n.max(1)).max(1);
        let rows = sqlx::query(
            "SELECT c.document_id, c.ordinal, e.vector FROM search_chunks c
             JOIN chunk_embeddings e ON e.chunk_id = c.id
             WHERE c.id % ? = 0 ORDER BY c.id LIMIT ?",
        )
        .bind(step)
        .bind(n)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("document_id")?,
                    r.try_get::<i64, _>("ordinal")? as i32,
                    blob_to_vector(r.try_get::<&[u8], _>("vector")?)?,
                ))
            })
            .collect()
    }
}
