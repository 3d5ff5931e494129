//! The source behind a hit: a span of a document's stored text with the text around it, for
//! `docvec show`, `GET /documents/{id}/source` and a hit's "open source" link.

use serde::Serialize;

use docvec_types::{LineIndex, Span};

use crate::{Engine, EngineError};

/// Bytes of context shown on each side of a span unless the caller asks for another amount.
pub const DEFAULT_SOURCE_CONTEXT: usize = 400;
/// The most context a caller may ask for on each side.
pub const MAX_SOURCE_CONTEXT: usize = 64 * 1024;

/// A span of a document's stored text and its surroundings: `before`, `text` (the span itself) and
/// `after` are consecutive, so a client marks the span by styling `text`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceView {
    pub document_id: String,
    pub path: String,
    pub format: String,
    /// The span: byte offsets into the stored text, and the 1-based lines they cover.
    pub start: u64,
    pub end: u64,
    pub line_start: u32,
    pub line_end: u32,
    /// Byte offset of `before` in the stored text.
    pub context_start: u64,
    pub before: String,
    pub text: String,
    pub after: String,
    /// Size of the whole stored text, in bytes.
    pub total_bytes: u64,
    /// For `docvec show`: the chunk and its full span (pages, rows, operation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<ShownChunk>,
}

/// The chunk a `show` names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShownChunk {
    pub chunk_id: i64,
    pub chunk_key: String,
    pub section: Option<String>,
    pub chunk_text: String,
    pub span: Span,
}

impl Engine {
    /// `start..end` of a document's (id or path) stored text with `context` bytes around it, cut
    /// back to whole lines.
    pub async fn document_source(
        &self,
        document: &str,
        start: Option<u64>,
        end: Option<u64>,
        context: Option<usize>,
    ) -> Result<SourceView, EngineError> {
        let doc = self
            .store
            .document(document)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no document {document}")))?;
        let text = self.store.document_text(&doc.id).await?.ok_or_else(|| {
            EngineError::NotFound(format!(
                "document {} was stored before docvec kept source text; ingest {} again",
                doc.id, doc.path
            ))
        })?;
        let context = context.unwrap_or(DEFAULT_SOURCE_CONTEXT);
        if context > MAX_SOURCE_CONTEXT {
            return Err(EngineError::InvalidRequest(format!(
                "context must be at most {MAX_SOURCE_CONTEXT} bytes, got {context}"
            )));
        }
        let len = text.len() as u64;
        let start = start.unwrap_or(0);
        let end = end.unwrap_or(len);
        if start > end || end > len {
            return Err(EngineError::InvalidRequest(format!(
                "start {start} and end {end} must satisfy start <= end <= {len}, the stored text's size"
            )));
        }
        let (start, end) = (start as usize, end as usize);
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return Err(EngineError::InvalidRequest(format!(
                "start {start} or end {end} falls inside a UTF-8 character"
            )));
        }
        let (from, to) = surroundings(&text, start, end, context);
        let lines = LineIndex::new(&text);
        Ok(SourceView {
            document_id: doc.id,
            path: doc.path,
            format: doc.format,
            start: start as u64,
            end: end as u64,
            line_start: lines.line(start),
            line_end: lines.line(end.saturating_sub(1).max(start)),
            context_start: from as u64,
            before: text[from..start].to_string(),
            text: text[start..end].to_string(),
            after: text[end..to].to_string(),
            total_bytes: len,
            chunk: None,
        })
    }

    /// The source of one chunk, named by its id or key (a hit's `chunk_id` or `chunk_key`).
    pub async fn show_chunk(
        &self,
        reference: &str,
        context: Option<usize>,
    ) -> Result<SourceView, EngineError> {
        let hit = self
            .store
            .chunk_hit_by_ref(reference)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no chunk {reference}")))?;
        let span = hit.span.clone().unwrap_or_default();
        let (Some(start), Some(end)) = (span.byte_start, span.byte_end) else {
            return Err(EngineError::NotFound(format!(
                "chunk {reference} was stored before docvec kept spans; ingest {} again",
                hit.path
            )));
        };
        let mut view = self
            .document_source(&hit.document_id, Some(start), Some(end), context)
            .await?;
        view.chunk = Some(ShownChunk {
            chunk_id: hit.chunk_id,
            chunk_key: hit.key,
            section: (!hit.section.is_empty()).then_some(hit.section),
            chunk_text: hit.text,
            span,
        });
        Ok(view)
    }
}

/// Bytes `from..to` around `start..end`: `context` bytes each side, widened to character
/// boundaries, then cut back to the nearest whole line where one starts within the context.
fn surroundings(text: &str, start: usize, end: usize, context: usize) -> (usize, usize) {
    let mut from = start.saturating_sub(context);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    if from > 0
        && let Some(nl) = text[from..start].find('\n')
    {
        from += nl + 1;
    }
    let mut to = (end + context).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    if to < text.len()
        && let Some(nl) = text[end..to].rfind('\n')
    {
        to = end + nl;
    }
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::surroundings;

    #[test]
    fn context_is_cut_to_whole_lines() {
        let text = "one\ntwo\nthree four five\nsix\nseven";
        let (s, e) = (text.find("four").unwrap(), text.find(" five").unwrap());
        let (from, to) = surroundings(text, s, e, 6);
        assert_eq!(&text[from..to], "three four five");
        let (from, to) = surroundings(text, s, e, 1000);
        assert_eq!(&text[from..to], text);
        assert_eq!(surroundings(text, 0, 0, 0), (0, 0));
    }
}
