use serde::{Deserialize, Serialize};

use crate::{Format, Span};

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
    /// Where the chunk came from: byte offsets and lines of the stored text, pages, table rows or the
    /// API operation (`None` for chunks stored before spans, until their file is ingested again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// The document's own metadata (what ingest was given), when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::Metadata>,
    /// The passage of `text` that best matches the query's words, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<Snippet>,
}

/// A passage of a chunk's text around the query's words, with where those words stand in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    pub fragment: String,
    /// Byte ranges of the matched words in `fragment`, in order, not overlapping.
    pub highlights: Vec<(usize, usize)>,
}

impl Snippet {
    /// The fragment with each match wrapped in `open` and `close` (e.g. `<b>` and `</b>`).
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.fragment.len() + 8 * self.highlights.len());
        let mut at = 0;
        for &(start, end) in &self.highlights {
            out.push_str(&self.fragment[at..start]);
            out.push_str(open);
            out.push_str(&self.fragment[start..end]);
            out.push_str(close);
            at = end;
        }
        out.push_str(&self.fragment[at..]);
        out
    }
}
