//! Search filters resolved to the chunks they allow, so the index can choose the top k among them
//! (a filter applied after the top k would return fewer than k hits).

use docvec_types::{MetaCondition, MetaOp, MetaValue};
use sqlx::{QueryBuilder, Sqlite};

use crate::{Store, StoreError};

/// Which chunks a search may return; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct ChunkFilter {
    /// Each tag must be on the chunk's document (format, user tag or keyphrase) or on the chunk itself.
    pub tags: Vec<String>,
    /// The document's format is one of these (`pdf`, `log` ...).
    pub formats: Vec<String>,
    /// Document id or path.
    pub document: Option<String>,
    /// The document's path starts with this.
    pub path_prefix: Option<String>,
    /// Chunks of logs holding an entry of this level (any case) ...
    pub log_level: Option<String>,
    /// ... and with a timestamp within these ISO 8601 bounds (inclusive). Chunks of other formats never
    /// match these three.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Conditions on the document's own metadata, every one required.
    pub meta: Vec<MetaCondition>,
}

impl ChunkFilter {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
            && self.formats.is_empty()
            && self.document.is_none()
            && self.path_prefix.is_none()
            && self.log_level.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.meta.is_empty()
    }
}

impl Store {
    /// Ids of the chunks `filter` allows.
    pub async fn chunk_ids_matching(&self, filter: &ChunkFilter) -> Result<Vec<i64>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT c.id FROM search_chunks c JOIN documents d ON d.id = c.document_id WHERE 1 = 1",
        );
        for tag in &filter.tags {
            let name = crate::normalise_key(tag);
            q.push(" AND EXISTS (SELECT 1 FROM tags t WHERE t.document_id = c.document_id AND t.name = ")
                .push_bind(name)
                .push(" AND (t.chunk_ordinal IS NULL OR t.chunk_ordinal = c.ordinal))");
        }
        if !filter.formats.is_empty() {
            q.push(" AND d.format IN (");
            let mut list = q.separated(", ");
            for f in &filter.formats {
                list.push_bind(f.to_ascii_lowercase());
            }
            q.push(")");
        }
        crate::filter::push_document(&mut q, filter.document.as_deref());
        if let Some(p) = &filter.path_prefix {
            q.push(" AND substr(d.path, 1, length(")
                .push_bind(p.clone())
                .push(")) = ")
                .push_bind(p.clone());
        }
        if filter.log_level.is_some() || filter.since.is_some() || filter.until.is_some() {
            q.push(
                " AND EXISTS (SELECT 1 FROM log_entries l WHERE l.document_id = c.document_id \
                 AND l.ordinal BETWEEN c.log_first AND c.log_last",
            );
            crate::logs::push_entry_bounds(
                &mut q,
                filter.log_level.as_deref(),
                filter.since.as_deref(),
                filter.until.as_deref(),
            );
            q.push(")");
        }
        if !filter.meta.is_empty() {
            // Each document's metadata is tested once: the matching documents first, then their
            // chunks through the (document_id, ordinal) index, not a JSON parse per chunk.
            q.push(" AND c.document_id IN (SELECT m.id FROM documents m WHERE 1 = 1");
            for condition in &filter.meta {
                push_meta(&mut q, condition);
            }
            q.push(")");
        }
        Ok(q.build_query_scalar().fetch_all(&self.pool).await?)
    }
}

/// `AND (d.id = ? OR d.path = ?)` for a document given by id or path, where the query joins `documents d`.
pub(crate) fn push_document(q: &mut QueryBuilder<Sqlite>, document: Option<&str>) {
    if let Some(d) = document {
        q.push(" AND (d.id = ")
            .push_bind(d.to_string())
            .push(" OR d.path = ")
            .push_bind(d.to_string())
            .push(")");
    }
}

/// `AND EXISTS (...)`, inside a query over `documents m`: one value under the condition's key in the
/// document's metadata (the value, or
/// an element of its array) passes every test. Numbers compare with numbers, strings with strings.
pub(crate) fn push_meta(q: &mut QueryBuilder<Sqlite>, condition: &MetaCondition) {
    // Keys are checked (letters, digits, `_`, `-`, `.`), so quoting them in the path is enough.
    q.push(" AND EXISTS (SELECT 1 FROM json_each(m.meta, ")
        .push_bind(format!("$.\"{}\"", condition.key))
        .push(") j WHERE 1 = 1");
    for test in &condition.tests {
        q.push(" AND (");
        for (i, value) in test.values.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            let op = match test.op {
                MetaOp::Eq | MetaOp::In => "=",
                MetaOp::Gt => ">",
                MetaOp::Gte => ">=",
                MetaOp::Lt => "<",
                MetaOp::Lte => "<=",
            };
            match value {
                MetaValue::Number(n) => {
                    q.push("(j.type IN ('integer', 'real') AND j.value ")
                        .push(op)
                        .push(" ")
                        .push_bind(*n);
                }
                MetaValue::Text(t) => {
                    q.push("(j.type = 'text' AND j.value ")
                        .push(op)
                        .push(" ")
                        .push_bind(t.clone());
                }
                MetaValue::Bool(b) => {
                    q.push("(j.type = ")
                        .push_bind(if *b { "true" } else { "false" });
                }
            }
            q.push(")");
        }
        q.push(")");
    }
    q.push(")");
}
