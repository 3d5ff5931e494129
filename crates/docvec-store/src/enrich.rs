//! What extraction adds to a document: its source `artifacts` row, `tags` of the document and its
//! chunks, and `facts` with their `evidence`. Rows go in with multi-row inserts, since a table can give
//! thousands of facts.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use docvec_types::{Evidence, Fact, FactKind, SpanScope, Tag, TagKind};

use crate::{Store, StoreError};

/// Rows per multi-row insert; 12 columns each stays far below SQLite's bound-parameter limit.
const BATCH: usize = 500;

/// The source file of a document.
pub struct NewArtifact<'a> {
    pub uri: &'a str,
    pub content_hash: &'a str,
    pub size_bytes: u64,
    pub media_type: &'a str,
}

pub(crate) async fn insert_artifact(
    tx: &mut sqlx::SqliteConnection,
    document_id: &str,
    a: &NewArtifact<'_>,
    now: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO artifacts (document_id, uri, content_hash, size_bytes, media_type, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(document_id)
    .bind(a.uri)
    .bind(a.content_hash)
    .bind(a.size_bytes as i64)
    .bind(a.media_type)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?)
}

/// Document tags (`chunk` None) and chunk tags (`chunk` = the chunk's ordinal).
pub(crate) async fn insert_tags(
    tx: &mut sqlx::SqliteConnection,
    document_id: &str,
    tags: &[(Option<u32>, &Tag)],
) -> Result<(), StoreError> {
    for batch in tags.chunks(BATCH) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO tags (document_id, chunk_ordinal, name, kind, score) ",
        );
        q.push_values(batch, |mut b, (chunk, t)| {
            b.push_bind(document_id)
                .push_bind(chunk.map(i64::from))
                .push_bind(&t.name)
                .push_bind(t.kind.as_str())
                .push_bind(t.score.map(f64::from));
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Facts and their evidence. Evidence shares its fact's id, which is taken above the largest in use:
/// the write transaction holds SQLite's lock, so no other writer can take the same ids.
pub(crate) async fn insert_facts(
    tx: &mut sqlx::SqliteConnection,
    document_id: &str,
    artifact_id: i64,
    facts: &[Fact],
) -> Result<(), StoreError> {
    if facts.is_empty() {
        return Ok(());
    }
    let base: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM facts")
        .fetch_one(&mut *tx)
        .await?;
    let numbered: Vec<(i64, usize, &Fact)> = facts
        .iter()
        .enumerate()
        .map(|(i, f)| (base + 1 + i as i64, i, f))
        .collect();
    for batch in numbered.chunks(BATCH) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO facts (id, document_id, ordinal, kind, key, key_norm, value, subject, number, unit) ",
        );
        q.push_values(batch, |mut b, (id, ordinal, f)| {
            b.push_bind(*id)
                .push_bind(document_id)
                .push_bind(*ordinal as i64)
                .push_bind(f.kind.as_str())
                .push_bind(&f.key)
                .push_bind(normalise_key(&f.key))
                .push_bind(&f.value)
                .push_bind(&f.subject)
                .push_bind(f.number.filter(|n| n.is_finite()))
                .push_bind(&f.unit);
        });
        q.build().execute(&mut *tx).await?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO evidence (id, fact_id, document_id, artifact_id, section, page, sheet, table_ordinal, row_number, column_number, line, char_start, char_end, scope, snippet) ",
        );
        q.push_values(batch, |mut b, (id, _, f)| {
            let e = &f.evidence;
            b.push_bind(*id)
                .push_bind(*id)
                .push_bind(document_id)
                .push_bind(artifact_id)
                .push_bind(e.section.map(i64::from))
                .push_bind(e.page.map(i64::from))
                .push_bind(&e.sheet)
                .push_bind(e.table.map(i64::from))
                .push_bind(e.row.map(i64::from))
                .push_bind(e.column.map(i64::from))
                .push_bind(e.line.map(i64::from))
                .push_bind(e.char_start.map(i64::from))
                .push_bind(e.char_end.map(i64::from))
                .push_bind(e.scope.map(scope_str))
                .push_bind(&e.snippet);
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// How fact keys and tag names are matched: lower case, single spaces.
pub use docvec_types::normalise_label as normalise_key;

fn scope_str(s: SpanScope) -> &'static str {
    match s {
        SpanScope::File => "file",
        SpanScope::Page => "page",
        SpanScope::Section => "section",
    }
}

/// A tag with how many documents and chunks carry it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagCount {
    pub name: String,
    pub kind: TagKind,
    pub documents: i64,
    pub chunks: i64,
}

/// Which tags to list.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    pub kind: Option<TagKind>,
    /// Document id or path.
    pub document: Option<String>,
    /// Names starting with this (lower case).
    pub prefix: Option<String>,
    pub limit: Option<i64>,
    /// Rows skipped before the first one returned (with `limit`, for paging).
    pub offset: Option<i64>,
}

/// Which facts to list; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct FactFilter {
    /// Document id or path.
    pub document: Option<String>,
    /// The key, compared case-insensitively with spaces collapsed.
    pub key: Option<String>,
    /// The subject (a table row's label), case-insensitively.
    pub subject: Option<String>,
    pub kind: Option<FactKind>,
    pub limit: Option<i64>,
    /// Rows skipped before the first one returned (with `limit`, for paging).
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactRow {
    /// The fact's id, which is also its evidence's id.
    pub id: i64,
    pub document_id: String,
    pub document_path: String,
    #[serde(flatten)]
    pub fact: Fact,
}

impl Store {
    /// Tags with the number of documents and chunks carrying them, the most used first.
    pub async fn tags(&self, filter: &TagFilter) -> Result<Vec<TagCount>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT t.name, t.kind, COUNT(DISTINCT t.document_id) AS documents,
                    SUM(t.chunk_ordinal IS NOT NULL) AS chunks
             FROM tags t JOIN documents d ON d.id = t.document_id WHERE 1 = 1",
        );
        if let Some(kind) = filter.kind {
            q.push(" AND t.kind = ").push_bind(kind.as_str());
        }
        crate::filter::push_document(&mut q, filter.document.as_deref());
        if let Some(p) = &filter.prefix {
            q.push(" AND substr(t.name, 1, length(")
                .push_bind(p.to_lowercase())
                .push(")) = ")
                .push_bind(p.to_lowercase());
        }
        q.push(" GROUP BY t.name, t.kind ORDER BY documents DESC, chunks DESC, t.name");
        if let Some(limit) = filter.limit {
            q.push(" LIMIT ").push_bind(limit);
            if let Some(offset) = filter.offset {
                q.push(" OFFSET ").push_bind(offset.max(0));
            }
        }
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(TagCount {
                    name: r.try_get("name")?,
                    kind: TagKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("tag kind `{kind}`")))?,
                    documents: r.try_get("documents")?,
                    chunks: r.try_get("chunks")?,
                })
            })
            .collect()
    }

    /// Facts matching `filter`, in document then source order.
    pub async fn facts(&self, filter: &FactFilter) -> Result<Vec<FactRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(FACT_SELECT);
        crate::filter::push_document(&mut q, filter.document.as_deref());
        if let Some(k) = &filter.key {
            q.push(" AND f.key_norm = ").push_bind(normalise_key(k));
        }
        if let Some(s) = &filter.subject {
            q.push(" AND lower(f.subject) = lower(")
                .push_bind(s.clone())
                .push(")");
        }
        if let Some(kind) = filter.kind {
            q.push(" AND f.kind = ").push_bind(kind.as_str());
        }
        q.push(" ORDER BY d.path, f.ordinal");
        if let Some(limit) = filter.limit {
            q.push(" LIMIT ").push_bind(limit);
            if let Some(offset) = filter.offset {
                q.push(" OFFSET ").push_bind(offset.max(0));
            }
        }
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(fact_row).collect()
    }

    /// One fact with its evidence, by id.
    pub async fn evidence(&self, id: i64) -> Result<Option<FactRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(FACT_SELECT);
        q.push(" AND f.id = ").push_bind(id);
        let row = q.build().fetch_optional(&self.pool).await?;
        row.as_ref().map(fact_row).transpose()
    }

    /// Tags of one document (chunk tags excluded), in the order they were given.
    pub async fn document_tags(&self, document_id: &str) -> Result<Vec<Tag>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, kind, score FROM tags WHERE document_id = ? AND chunk_ordinal IS NULL ORDER BY id",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Tag {
                    name: r.try_get("name")?,
                    kind: TagKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("tag kind `{kind}`")))?,
                    score: r.try_get::<Option<f64>, _>("score")?.map(|s| s as f32),
                })
            })
            .collect()
    }
}

const FACT_SELECT: &str = "SELECT f.id, f.document_id, d.path AS document_path, f.kind, f.key, f.value, f.subject, f.number, f.unit,
        e.section, e.page, e.sheet, e.table_ordinal, e.row_number, e.column_number, e.line, e.char_start, e.char_end, e.scope, e.snippet
 FROM facts f JOIN evidence e ON e.fact_id = f.id JOIN documents d ON d.id = f.document_id WHERE 1 = 1";

fn fact_row(r: &sqlx::sqlite::SqliteRow) -> Result<FactRow, StoreError> {
    let u32_of = |name: &str| -> Result<Option<u32>, StoreError> {
        Ok(r.try_get::<Option<i64>, _>(name)?.map(|v| v as u32))
    };
    let kind: String = r.try_get("kind")?;
    let scope: Option<String> = r.try_get("scope")?;
    Ok(FactRow {
        id: r.try_get("id")?,
        document_id: r.try_get("document_id")?,
        document_path: r.try_get("document_path")?,
        fact: Fact {
            key: r.try_get("key")?,
            value: r.try_get("value")?,
            subject: r.try_get("subject")?,
            number: r.try_get("number")?,
            unit: r.try_get("unit")?,
            kind: match kind.as_str() {
                "table_cell" => FactKind::TableCell,
                "label_value" => FactKind::LabelValue,
                other => return Err(StoreError::Corrupt(format!("fact kind `{other}`"))),
            },
            evidence: Evidence {
                section: u32_of("section")?,
                page: u32_of("page")?,
                sheet: r.try_get("sheet")?,
                table: u32_of("table_ordinal")?,
                row: u32_of("row_number")?,
                column: u32_of("column_number")?,
                line: u32_of("line")?,
                char_start: u32_of("char_start")?,
                char_end: u32_of("char_end")?,
                scope: match scope.as_deref() {
                    Some("file") => Some(SpanScope::File),
                    Some("page") => Some(SpanScope::Page),
                    Some("section") => Some(SpanScope::Section),
                    _ => None,
                },
                snippet: r.try_get("snippet")?,
            },
        },
    })
}
