//! Chunking: cuts a [`ParsedDocument`] into [`Chunk`]s the embedding model can take whole.
//!
//! Chunks never cross a section; within a section whole blocks are packed together, long blocks are
//! split at sentence (prose) or line (code) boundaries, and a sentence longer than the budget at word
//! boundaries; a chunk never spans two pages. Sizes are counted in the model's own tokens through [`TokenCounter`], so no chunk is
//! silently truncated by the model. Consecutive chunks of a section overlap by a few sentences so a
//! passage cut in two is still found whole in one of them.

mod span;
mod split;

use std::ops::Range;

use docvec_types::{BlockKind, Chunk, ParsedDocument, TokenCounter, stable_id};

pub use span::render_text;
pub use split::{Limit, sentences, split_to_budget};

use span::{Locator, Part};

/// Sizes in model tokens.
#[derive(Debug, Clone)]
pub struct ChunkOptions {
    /// Largest input the model takes, special tokens included (256 for all-MiniLM-L6-v2).
    pub max_tokens: usize,
    /// Tokens of trailing text repeated at the start of the next chunk of the same section.
    pub overlap_tokens: usize,
    /// Tokens the model adds around every input ([CLS] and [SEP] for BERT models).
    pub special_tokens: usize,
    /// Heading context is cut to this many tokens so it never crowds out the text.
    pub max_context_tokens: usize,
    /// A chunk holds at most this many bytes per token of its budget. Tokens alone do not bound a
    /// chunk: a WordPiece model reads any word over 100 characters as one unknown token, so a 100 MB
    /// run without spaces would otherwise be a single 3-token chunk.
    pub max_bytes_per_token: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            overlap_tokens: 32,
            special_tokens: 2,
            max_context_tokens: 32,
            max_bytes_per_token: 16,
        }
    }
}

/// A unit of text that is never split further: a whole block, a sentence, a line of code or a word run.
struct Unit {
    text: String,
    tokens: usize,
    page: Option<u32>,
    /// Units of one block are joined by a space (or newline for code); blocks by a blank line.
    block: usize,
    kind: BlockKind,
}

/// Cut `doc` into chunks. `document_id` only seeds the stable chunk keys. Chunks carry their span in
/// `doc.text` (see [`render_text`] for documents that have none yet).
pub fn chunk_document(
    document_id: &str,
    doc: &ParsedDocument,
    counter: &dyn TokenCounter,
    opts: &ChunkOptions,
) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let locator = Locator::new(doc);
    // Where the previous chunk started, and in which block, so the next one's words are looked for
    // after it.
    let mut previous: Option<((usize, usize), usize)> = None;
    for (section_index, section) in doc.sections.iter().enumerate() {
        let context = context_line(
            doc.title.as_deref(),
            &section.heading_path,
            counter,
            opts.max_context_tokens,
        );
        let context_tokens = if context.is_empty() {
            0
        } else {
            counter.count_tokens(&context)
        };
        // Keep at least half the window for text even under a long heading path.
        let budget = opts
            .max_tokens
            .saturating_sub(opts.special_tokens + context_tokens)
            .max(opts.max_tokens / 2);

        let limit = Limit {
            tokens: budget,
            bytes: budget * opts.max_bytes_per_token.max(1),
        };
        let mut units = Vec::new();
        for (block_index, block) in section.blocks.iter().enumerate() {
            if let Some(tokens) = limit.fits(&block.text, counter) {
                units.push(Unit {
                    text: block.text.clone(),
                    tokens,
                    page: block.page,
                    block: block_index,
                    kind: block.kind,
                });
                continue;
            }
            // A sentence too long for a chunk is cut into runs of about the overlap's size, so
            // packing can carry its tail into the next chunk and fill chunks evenly.
            let run = opts.overlap_tokens.max(budget / 8).max(1);
            let code = block.kind == BlockKind::Code;
            for piece in split_to_budget(&block.text, code, limit, run, counter) {
                units.push(Unit {
                    tokens: piece.1,
                    text: piece.0,
                    page: block.page,
                    block: block_index,
                    kind: block.kind,
                });
            }
        }
        // A heading with nothing under it adds no chunk: it is the context of the sections below it.
        if units.is_empty() {
            continue;
        }
        pack(
            &units,
            limit,
            opts.overlap_tokens,
            |window, text, tokens, pages| {
                let ordinal = chunks.len() as u32;
                let mut parts: Vec<Part> = Vec::new();
                for u in window {
                    if parts.last().is_none_or(|p| p.block != u.block) {
                        parts.push(Part {
                            section: section_index,
                            block: u.block,
                        });
                    }
                }
                let first = (section_index, window[0].block);
                let from = previous
                    .filter(|(block, _)| *block == first)
                    .map(|(_, at)| at);
                let (mut span, start) = locator.span(&parts, &text, from);
                previous = start.map(|at| (first, at));
                span.page_start = pages.0;
                span.page_end = pages.1;
                let key = stable_id(&[
                    document_id.as_bytes(),
                    &ordinal.to_le_bytes(),
                    context.as_bytes(),
                    text.as_bytes(),
                ]);
                chunks.push(Chunk {
                    key,
                    ordinal,
                    section: section_index as u32,
                    text,
                    context: context.clone(),
                    page_start: pages.0,
                    page_end: pages.1,
                    token_count: (tokens + context_tokens) as u32,
                    span,
                });
            },
        );
    }
    chunks
}

/// Pack units into windows within `limit`, with `overlap` tokens carried over, and emit each. A window
/// never spans two pages, so every hit cites the one page its text is on.
fn pack(
    units: &[Unit],
    limit: Limit,
    overlap: usize,
    mut emit: impl FnMut(&[Unit], String, usize, (Option<u32>, Option<u32>)),
) {
    for window in balanced_windows(units, limit, overlap) {
        let window = &units[window];
        let tokens = window.iter().map(|u| u.tokens).sum();
        let pages = (
            window.iter().filter_map(|u| u.page).min(),
            window.iter().filter_map(|u| u.page).max(),
        );
        emit(window, join(window), tokens, pages);
    }
}

/// As many windows as greedy packing needs, but evenly filled: greedy packing fills every window to
/// the brim and leaves the remainder, often a few words, as a last chunk of its own, whose vector
/// then matches short queries by accident. The smallest cap that needs no more windows spreads the
/// text evenly; the count is monotone enough in the cap for a bisection, and the cap it returns
/// always needs no more windows than greedy packing did.
fn balanced_windows(units: &[Unit], limit: Limit, overlap: usize) -> Vec<Range<usize>> {
    let greedy = windows(units, limit.tokens, limit, overlap);
    if greedy.len() < 2 {
        return greedy;
    }
    let (mut lo, mut hi) = (1, limit.tokens);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if windows(units, mid, limit, overlap).len() <= greedy.len() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    windows(units, hi, limit, overlap)
}

/// Greedy packing of units into windows of at most `cap` tokens (a unit alone may exceed it, never
/// `limit`), stepping back over up to `overlap` tokens of whole units between windows.
fn windows(units: &[Unit], cap: usize, limit: Limit, overlap: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < units.len() {
        let mut end = start;
        let (mut tokens, mut bytes) = (0, 0);
        while end < units.len()
            && (end == start
                || (tokens + units[end].tokens <= cap
                    && bytes + 2 + units[end].text.len() <= limit.bytes
                    && units[end].page == units[start].page))
        {
            tokens += units[end].tokens;
            bytes += units[end].text.len() + if end == start { 0 } else { 2 };
            end += 1;
        }
        out.push(start..end);
        if end == units.len() {
            break;
        }
        // Step back over trailing units worth at most `overlap` tokens, but always move forward.
        let mut next = end;
        let mut carried = 0;
        while next > start + 1
            && carried + units[next - 1].tokens <= overlap
            && units[next - 1].kind != BlockKind::Code
            && units[next - 1].page == units[end].page
        {
            carried += units[next - 1].tokens;
            next -= 1;
        }
        start = next;
    }
    out
}

fn join(units: &[Unit]) -> String {
    let mut out = String::new();
    for (i, unit) in units.iter().enumerate() {
        if i > 0 {
            let same_block = units[i - 1].block == unit.block;
            out.push_str(match (same_block, unit.kind) {
                (true, BlockKind::Code) => "\n",
                (true, _) => " ",
                (false, _) => "\n\n",
            });
        }
        out.push_str(&unit.text);
    }
    out
}

/// "Title > Heading > Subheading", without repeating the title when the first heading is the title.
fn context_line(
    title: Option<&str>,
    path: &[String],
    counter: &dyn TokenCounter,
    max_tokens: usize,
) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(title) = title
        && path.first().map(String::as_str) != Some(title)
    {
        parts.push(title);
    }
    parts.extend(path.iter().map(String::as_str));
    let mut line = parts.join(" > ");
    while !line.is_empty() && counter.count_tokens(&line) > max_tokens {
        // Drop the outermost headings first: the nearest heading says most about the text.
        if parts.len() > 1 {
            parts.remove(0);
            line = parts.join(" > ");
        } else {
            let keep = line.chars().count() * 3 / 4;
            line = line.chars().take(keep).collect();
        }
    }
    line
}

#[cfg(test)]
mod tests;
