//! Each chunk's [`Span`]: where its text stands in the document's stored text, and which pages, table
//! rows or API operation it covers.
//!
//! A chunk's blocks give the region its text came from (their [`Origin`] bytes). The chunk's own text
//! is then found inside that region word by word, so a chunk cut from the middle of a long paragraph
//! points at its own sentences, and a Markdown chunk at its source despite the markup between words.

use docvec_types::{LineIndex, Operation, ParsedDocument, RowSpan, Span};

/// Give a document without stored text one: its sections' headings and blocks, a blank line apart,
/// with each block's byte range in it. Formats read as text (text, Markdown, logs, CSV, API
/// descriptions) keep their file as it is; this renders PDFs, HTML and workbooks.
pub fn render_text(doc: &mut ParsedDocument) {
    if doc.text.is_some() {
        return;
    }
    let mut text = String::new();
    for section in &mut doc.sections {
        if let Some(heading) = &section.heading {
            text.push_str(heading);
            text.push_str("\n\n");
        }
        for block in &mut section.blocks {
            let start = text.len();
            text.push_str(&block.text);
            block.origin.bytes = Some((start, text.len()));
            text.push_str("\n\n");
        }
    }
    text.truncate(text.trim_end().len());
    doc.text = Some(text);
}

/// What span computation needs of a document, built once per document.
pub(crate) struct Locator<'a> {
    doc: &'a ParsedDocument,
    text: &'a str,
    lines: LineIndex,
}

/// One block a chunk holds part or all of.
pub(crate) struct Part {
    pub section: usize,
    pub block: usize,
}

impl<'a> Locator<'a> {
    pub fn new(doc: &'a ParsedDocument) -> Self {
        let text = doc.text.as_deref().unwrap_or_default();
        Self {
            doc,
            text,
            lines: LineIndex::new(text),
        }
    }

    /// The span of a chunk with `chunk_text`, made of `parts`, whose search may start at `from` (the
    /// previous chunk's start, when both begin in the same block: their words come in order). Returns
    /// the span and where this chunk starts.
    pub fn span(
        &self,
        parts: &[Part],
        chunk_text: &str,
        from: Option<usize>,
    ) -> (Span, Option<usize>) {
        let blocks: Vec<_> = parts
            .iter()
            .filter_map(|p| self.doc.sections.get(p.section)?.blocks.get(p.block))
            .collect();
        let mut span = Span::default();
        let region = blocks
            .iter()
            .filter_map(|b| b.origin.bytes)
            .filter(|&(s, e)| s <= e && e <= self.text.len())
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        // Table rows and API operations are rendered ("header: value", a summary of the
        // operation), not copied: their words are not the source's, so they keep their blocks'
        // whole range.
        let rendered = blocks
            .iter()
            .any(|b| b.origin.row.is_some() || b.origin.endpoint.is_some());
        // Where the next chunk's search may start: this chunk's start when found, else where this
        // one's search started, so one miss does not send the rest back to the block's start.
        let mut cursor = None;
        let found = match region {
            Some((start, end)) if rendered => Some((start, end)),
            Some((start, end)) => {
                let from = from.map_or(start, |f| f.clamp(start, end));
                // The chunk stands near the previous one's start: looking no further than a few
                // times its own length (markup and link targets) keeps a huge block, cut into
                // thousands of chunks, linear to place.
                let mut to = (from + 4 * chunk_text.len() + 4096).min(end);
                while !self.text.is_char_boundary(to) {
                    to += 1;
                }
                let found = find_words(self.text, (from, to), chunk_text);
                cursor = Some(found.map_or(from, |f| f.0));
                Some(found.unwrap_or((start, end)))
            }
            // A block the parser could not place (an API description's overview, written from
            // several fields) is looked for in the whole text.
            None if !rendered => find_words(self.text, (0, self.text.len()), chunk_text),
            None => None,
        };
        if let Some((s, e)) = found {
            span.byte_start = Some(s as u64);
            span.byte_end = Some(e as u64);
            span.line_start = Some(self.lines.line(s));
            span.line_end = Some(self.lines.line(e.saturating_sub(1).max(s)));
        }
        let rows: Vec<(u32, u32)> = blocks.iter().filter_map(|b| b.origin.row).collect();
        if let (Some(first), Some(last)) = (rows.iter().min(), rows.iter().max())
            && first.0 == last.0
            && let Some(table) = self.doc.tables.get(first.0 as usize)
        {
            let source = |i: u32| table.source_rows.get(i as usize).copied().unwrap_or(i + 1);
            span.rows = Some(RowSpan {
                table: first.0,
                sheet: table.name.clone(),
                header_row: table.header_row,
                first_row: source(first.1),
                last_row: source(last.1),
                first_index: first.1,
                last_index: last.1,
            });
        }
        span.operation = blocks
            .iter()
            .find_map(|b| self.doc.endpoints.get(b.origin.endpoint? as usize))
            .map(|e| Operation {
                method: e.method.clone(),
                path: e.path.clone(),
            });
        (span, cursor)
    }
}

/// Words (runs of letters and digits) of `s`, as byte ranges.
fn words(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                out.push((st, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

/// Where `chunk` stands in `text[region]`: from its first few words to its last few, with a few words
/// allowed between each (markup, link targets). `None` when its opening words are not there.
pub(crate) fn find_words(
    text: &str,
    region: (usize, usize),
    chunk: &str,
) -> Option<(usize, usize)> {
    const N: usize = 3;
    /// Words the source may hold between two of the chunk's (a link's target, an image's alt text).
    const GAP: usize = 8;
    let hay = &text[region.0..region.1];
    let have = words(hay);
    let want = words(chunk);
    let n = N.min(want.len());
    if n == 0 {
        return None;
    }
    let w = |i: usize| &chunk[want[i].0..want[i].1];
    let h = |i: usize| &hay[have[i].0..have[i].1];
    // The source's word where want[from..from + n] ends, when they start at source word `at` with at
    // most `gap` other words between each two.
    let run_at = |at: usize, from: usize, gap: usize| -> Option<usize> {
        if h(at) != w(from) {
            return None;
        }
        let mut j = at;
        for k in 1..n {
            j = (j + 1..(j + 2 + gap).min(have.len())).find(|&i| h(i) == w(from + k))?;
        }
        Some(j)
    };
    // The words as they are first; with words between them (markup) only where they never stand
    // together, or a repeated phrase would match across its neighbours.
    let first = [0, GAP]
        .into_iter()
        .find_map(|gap| (0..have.len()).find(|&i| run_at(i, 0, gap).is_some()))?;
    // The closing words stand at least as far on as the chunk has words, less a few the parser
    // added (a code block's language, a task box) that the source spells otherwise.
    let earliest = (first + want.len()).saturating_sub(n + GAP).max(first);
    // A chunk copied word for word ends exactly its word count on (repeated log lines end alike,
    // so any earlier match would cut it short); else the first match from the earliest place.
    let exact = first + want.len() - n;
    let last = (exact < have.len())
        .then(|| run_at(exact, want.len() - n, 0))
        .flatten()
        .or_else(|| {
            [0, GAP]
                .into_iter()
                .find_map(|gap| (earliest..have.len()).find_map(|i| run_at(i, want.len() - n, gap)))
        })
        .map_or(region.1, |j| region.0 + have[j].1);
    // Take in the closing punctuation and markup that touch the last word ("end.", "`code`").
    let tail = text[last..region.1]
        .find(|c: char| c.is_whitespace() || c.is_alphanumeric())
        .unwrap_or(region.1 - last);
    // And the opening ones ("[Sun", "**bold").
    let first = region.0 + have[first].0;
    let head = text[region.0..first]
        .rfind(|c: char| c.is_whitespace() || c.is_alphanumeric())
        .map_or(region.0, |i| {
            i + text[region.0 + i..]
                .chars()
                .next()
                .map_or(0, char::len_utf8)
                + region.0
        });
    Some((head, last + tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_chunk_through_markup() {
        let text =
            "# T\n\nSome **bold** words and a [link](http://x.org) at the end.\n\nNext para.";
        let chunk = "Some bold words and a link at the end.";
        let (s, e) = find_words(text, (0, text.len()), chunk).unwrap();
        assert_eq!(
            &text[s..e],
            "Some **bold** words and a [link](http://x.org) at the end."
        );
        let (s, e) = find_words(text, (0, text.len()), "a link at the end.").unwrap();
        assert_eq!(&text[s..e], "a [link](http://x.org) at the end.");
        assert_eq!(find_words(text, (0, text.len()), "nothing here"), None);
        let log = "x\n[Sun Dec 04] [error] state 8\n";
        let (s, e) = find_words(log, (2, log.len()), "[Sun Dec 04] [error] state 8").unwrap();
        assert_eq!(&log[s..e], "[Sun Dec 04] [error] state 8");
    }
}
