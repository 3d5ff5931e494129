//! A whole document as the mirror needs it: its rows as JSON objects keyed by the remote schema's column
//! names, and its chunks with their vectors.
//!
//! The store builds these (`docvec_store::Store::export_document`) and the mirror writes them; they live
//! here, as plain data, so that the mirror needs only this crate and not the SQLite store.

/// One document and everything derived from it, ready for the remote.
#[derive(Debug, Clone)]
pub struct DocumentExport {
    pub id: String,
    pub path: String,
    pub content_hash: String,
    /// The `documents` row.
    pub document: serde_json::Value,
    /// The `artifacts` row, when the document was stored with one.
    pub artifact: Option<serde_json::Value>,
    /// JSON arrays of rows, one per remote table.
    pub sections: serde_json::Value,
    pub tables: serde_json::Value,
    pub endpoints: serde_json::Value,
    pub log_entries: serde_json::Value,
    pub tags: serde_json::Value,
    pub facts: serde_json::Value,
    pub evidence: serde_json::Value,
    pub chunks: Vec<ExportChunk>,
}

/// One chunk of an exported document, with its vector.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportChunk {
    pub ordinal: i32,
    pub key: String,
    /// Ordinal of the chunk's section in the document.
    pub section: i32,
    pub text: String,
    pub context: String,
    pub page_start: Option<i32>,
    pub page_end: Option<i32>,
    pub token_count: i32,
    pub model_id: String,
    pub vector: Vec<f32>,
    /// Where the chunk came from; the mirror keeps it in `search_chunks.meta` as `{"span": ...}`.
    pub span: Option<crate::Span>,
}
