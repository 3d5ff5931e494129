//! Reads: search in Postgres (cosine distance through the HNSW index, iterative scans so filtered
//! queries still fill k), a live probe for `/config` and `docvec status`, and what `docvec parity`
//! compares.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pgvector::Vector;
use serde::Serialize;
use sqlx::Row;

use docvec_types::{Format, SearchHit};

use crate::{Mirror, MirrorError};

/// Tables `docvec parity` counts, local and remote.
pub const COUNTED_TABLES: &[&str] = &[
    "documents",
    "artifacts",
    "document_sections",
    "search_chunks",
    "document_tables",
    "api_endpoints",
    "log_entries",
    "tags",
    "facts",
    "evidence",
];

/// Search filters, as the local ones (`ChunkFilter` in docvec-store).
#[derive(Debug, Clone, Default)]
pub struct RemoteFilter {
    pub tags: Vec<String>,
    pub formats: Vec<String>,
    pub document: Option<String>,
    pub path_prefix: Option<String>,
    /// Conditions on the document's own metadata, in the form `docvec.meta_matches` reads
    /// (`docvec_types::meta_filter_json`); `None` for none.
    pub meta: Option<serde_json::Value>,
}

/// What a live probe of the remote found.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub reachable: bool,
    pub latency_ms: Option<f64>,
    pub server_version: Option<String>,
    pub schema_version: Option<i64>,
    pub model_id: Option<String>,
    pub error: Option<String>,
}

/// What parity compares per document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentDigest {
    pub content_hash: String,
    pub chunk_count: i64,
    /// The chunk keys in order, joined: equal when the chunks are the same.
    pub chunk_keys: String,
}

impl Mirror {
    /// Connect and ask the server who it is, within `timeout`. Never fails: an unreachable remote is a
    /// finding, not an error.
    pub async fn probe(&self, timeout: Duration) -> Probe {
        let started = Instant::now();
        let run = async {
            let mut conn = self.pool.acquire().await?;
            let version: String = sqlx::query_scalar("SHOW server_version")
                .fetch_one(&mut *conn)
                .await?;
            // A deployment made before schema docvec keeps its bookkeeping in `public` until migrated.
            let table: Option<String> = sqlx::query_scalar(
                "SELECT CASE WHEN to_regclass('docvec.docvec_meta') IS NOT NULL THEN 'docvec.docvec_meta'
                             WHEN to_regclass('public.docvec_meta') IS NOT NULL THEN 'public.docvec_meta' END",
            )
            .fetch_one(&mut *conn)
            .await?;
            let meta: Vec<(String, String)> = match table {
                Some(table) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT key, value FROM {table} WHERE key IN ('schema_version', 'model_id')"
                )))
                .fetch_all(&mut *conn)
                .await
                .unwrap_or_default(),
                None => Vec::new(),
            };
            Ok::<_, MirrorError>((version, meta))
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(Ok((version, meta))) => {
                let get = |k: &str| {
                    meta.iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.clone())
                };
                Probe {
                    reachable: true,
                    latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
                    server_version: Some(version),
                    schema_version: get("schema_version").and_then(|v| v.parse().ok()),
                    model_id: get("model_id"),
                    error: None,
                }
            }
            Ok(Err(e)) => unreachable_probe(e.to_string()),
            Err(_) => unreachable_probe(format!("no answer within {timeout:?}")),
        }
    }

    /// The `k` chunks nearest to `vector` by cosine among those `filter` allows, best first.
    pub async fn search(
        &self,
        vector: &[f32],
        k: usize,
        ef_search: usize,
        filter: &RemoteFilter,
    ) -> Result<Vec<SearchHit>, MirrorError> {
        let mut tx = self.pool.begin().await?;
        // Iterative scans keep walking the graph until k rows pass the filter (pgvector 0.8).
        sqlx::query("SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            .bind(ef_search.clamp(k.min(1000), 1000).to_string())
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT c.document_id, c.key, c.text, c.page_start, c.meta -> 'span' AS span, d.meta AS doc_meta, d.path, d.title, d.format,
                    s.heading_path, (1 - (c.embedding <=> $1))::float4 AS score
             FROM docvec.search_chunks c
             JOIN docvec.documents d ON d.id = c.document_id
             LEFT JOIN docvec.document_sections s ON s.document_id = c.document_id AND s.ordinal = c.section
             WHERE (cardinality($3::text[]) = 0 OR d.format = ANY($3))
               AND ($4::text IS NULL OR d.id = $4 OR d.path = $4)
               AND ($5::text IS NULL OR starts_with(d.path, $5))
               AND NOT EXISTS (
                   SELECT 1 FROM unnest($6::text[]) AS wanted(tag)
                   WHERE NOT EXISTS (
                       SELECT 1 FROM docvec.tags t WHERE t.document_id = c.document_id AND t.tag = wanted.tag
                         AND (t.chunk_ordinal IS NULL OR t.chunk_ordinal = c.ordinal)))
               AND ($7::jsonb IS NULL OR docvec.meta_matches(d.meta, $7))
             ORDER BY c.embedding <=> $1
             LIMIT $2",
        )
        .bind(Vector::from(vector.to_vec()))
        .bind(k as i64)
        .bind(&filter.formats)
        .bind(&filter.document)
        .bind(&filter.path_prefix)
        .bind(
            filter
                .tags
                .iter()
                .map(|t| docvec_types::normalise_label(t))
                .collect::<Vec<_>>(),
        )
        .bind(&filter.meta)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut hits = rows
            .iter()
            .map(|r| {
                let section: Option<String> = r.try_get("heading_path")?;
                let format: String = r.try_get("format")?;
                Ok(SearchHit {
                    score: r.try_get("score")?,
                    chunk_id: 0,
                    chunk_key: r.try_get("key")?,
                    document_id: r.try_get("document_id")?,
                    document_path: r.try_get("path")?,
                    document_title: r.try_get("title")?,
                    format: format.parse().unwrap_or(Format::Text),
                    section: section.filter(|s| !s.is_empty()),
                    page: r.try_get::<Option<i32>, _>("page_start")?.map(|p| p as u32),
                    text: r.try_get("text")?,
                    span: r
                        .try_get::<Option<serde_json::Value>, _>("span")?
                        .and_then(|v| serde_json::from_value(v).ok()),
                    meta: r
                        .try_get::<Option<serde_json::Value>, _>("doc_meta")?
                        .and_then(|v| match v {
                            serde_json::Value::Object(m) if !m.is_empty() => Some(m),
                            _ => None,
                        }),
                    snippet: None,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        // Relaxed order: the index returns near-sorted rows; the order users see is exact.
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(hits)
    }

    /// Row counts of the mirrored tables.
    pub async fn table_counts(&self) -> Result<Vec<(String, i64)>, MirrorError> {
        let mut out = Vec::new();
        for table in COUNTED_TABLES {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM docvec.{table}"
            )))
            .fetch_one(&self.pool)
            .await?;
            out.push((table.to_string(), n));
        }
        Ok(out)
    }

    /// Content hash, chunk count and chunk keys of every remote document.
    pub async fn document_digests(&self) -> Result<HashMap<String, DocumentDigest>, MirrorError> {
        let rows = sqlx::query(
            "SELECT d.id, d.content_hash, d.chunk_count::int8 AS chunk_count,
                    COALESCE((SELECT string_agg(c.key, ',' ORDER BY c.ordinal) FROM docvec.search_chunks c
                              WHERE c.document_id = d.id), '') AS keys
             FROM docvec.documents d",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    DocumentDigest {
                        content_hash: r.try_get("content_hash")?,
                        chunk_count: r.try_get("chunk_count")?,
                        chunk_keys: r.try_get("keys")?,
                    },
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Vectors of the given (document, ordinal) chunks, where the remote has them.
    pub async fn vectors(
        &self,
        chunks: &[(String, i32)],
    ) -> Result<HashMap<(String, i32), Vec<f32>>, MirrorError> {
        let docs: Vec<&str> = chunks.iter().map(|(d, _)| d.as_str()).collect();
        let ordinals: Vec<i32> = chunks.iter().map(|(_, o)| *o).collect();
        let rows = sqlx::query(
            "SELECT c.document_id, c.ordinal, c.embedding FROM docvec.search_chunks c
             JOIN UNNEST($1::text[], $2::int4[]) AS w(document_id, ordinal)
               ON w.document_id = c.document_id AND w.ordinal = c.ordinal",
        )
        .bind(&docs)
        .bind(&ordinals)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let v: Vector = r.try_get("embedding")?;
                Ok((
                    (r.try_get("document_id")?, r.try_get("ordinal")?),
                    v.to_vec(),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}

fn unreachable_probe(error: String) -> Probe {
    Probe {
        reachable: false,
        latency_ms: None,
        server_version: None,
        schema_version: None,
        model_id: None,
        error: Some(error),
    }
}
