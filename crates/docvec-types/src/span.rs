//! Where a chunk came from: the exact place in its source a hit points at.
//!
//! Every chunk's span holds byte offsets into its document's *stored text* (the text the parser read,
//! kept with the document) and the 1-based lines they cover; then, where the format has them, the
//! pages, the table rows or the API operation. Parsers mark each block with its [`Origin`]; the chunker
//! turns the origins of a chunk's blocks into its [`Span`].

use serde::{Deserialize, Serialize};

/// Where one block stands in its source, as the parser knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Byte range of the block in `ParsedDocument::text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<(usize, usize)>,
    /// For a table row: the index of the table in `ParsedDocument::tables` and of the row in its rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<(u32, u32)>,
    /// For an API operation: its index in `ParsedDocument::endpoints`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<u32>,
}

impl Origin {
    pub fn bytes(start: usize, end: usize) -> Self {
        Self {
            bytes: Some((start, end)),
            ..Self::default()
        }
    }
}

/// The source span of one chunk. Absent fields do not apply to the format (or the chunk was stored by
/// a version before spans).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Byte offsets into the document's stored text: `start..end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_start: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_end: Option<u64>,
    /// First and last 1-based line of the stored text the chunk covers. For text, Markdown, logs, CSV
    /// and API descriptions the stored text is the file itself, so these are the file's lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_start: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_end: Option<u32>,
    /// First and last page, for PDFs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_start: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_end: Option<u32>,
    /// The table rows a chunk of table rows holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowSpan>,
    /// The API operation a chunk describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

impl Span {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Rows of one table: where they stand in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowSpan {
    /// Index of the table in the document (0 for a CSV file; the sheet's table in a workbook).
    pub table: u32,
    /// Sheet name, for workbooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// 1-based row (sheet) or record (CSV) of the header.
    pub header_row: u32,
    /// First and last row as the source numbers them (sheet rows; the line a CSV record starts on).
    pub first_row: u32,
    pub last_row: u32,
    /// Index of the first and last row in the stored table (`/documents/{id}/tables`), for the cells.
    pub first_index: u32,
    pub last_index: u32,
}

/// One API operation: its method and path (a webhook's name, a Postman request's URL path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub method: String,
    pub path: String,
}

/// The 1-based line of each byte offset, from the offsets where lines start.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// The line holding byte `offset` (an offset at a line's end counts in that line).
    pub fn line(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&s| s <= offset) as u32
    }

    /// Byte offset where 1-based `line` starts (the text's end past the last line).
    pub fn start(&self, line: u32, text_len: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(text_len)
    }

    /// Byte offset where 1-based `line` ends, its newline excluded.
    pub fn end(&self, line: u32, text_len: usize) -> usize {
        self.starts
            .get(line as usize)
            .map(|&next| next - 1)
            .unwrap_or(text_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_offsets() {
        let text = "ab\ncd\n\nef";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(2), 1);
        assert_eq!(idx.line(3), 2);
        assert_eq!(idx.line(6), 3);
        assert_eq!(idx.line(8), 4);
        assert_eq!(
            &text[idx.start(2, text.len())..idx.end(2, text.len())],
            "cd"
        );
        assert_eq!(
            &text[idx.start(4, text.len())..idx.end(4, text.len())],
            "ef"
        );
    }
}
