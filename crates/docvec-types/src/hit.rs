use serde::{Deserialize, Serialize};

use crate::Format;

/// One search result, as every search path (local HNSW now; keyword, hybrid and remote later) returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Similarity in [-1, 1] (cosine); higher is better.
    pub score: f32,
    pub chunk_id: i64,
    pub chunk_key: String,
    pub document_id: String,
    pub document_path: String,
    pub document_title: Option<String>,
    pub format: Format,
    /// Headings from the top of the document down to the chunk's section, joined by " > ".
    pub section: Option<String>,
    pub page: Option<u32>,
    pub text: String,
}
