//! Extraction: what a parsed document says beyond its text. Tags for the document and each chunk (its
//! format, the tags given at ingest, and keyphrases found by YAKE), and facts (label/value statements and
//! numeric table cells) with evidence pointing back into the source.
//!
//! Runs after parsing and chunking on the same parser thread. It never fails a document: a text with no
//! keyphrases or facts simply has none.

mod facts;
mod keyphrases;

use docvec_types::{Chunk, Fact, ParsedDocument, Tag, TagKind, TextSource};

pub use docvec_types::normalise_label as normalise;
pub use facts::{extract_facts, parse_number};
pub use keyphrases::keyphrases;

/// Knobs for extraction. Defaults suit documents people keep on disk.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Keyphrases kept per document and per chunk (0 turns keyphrase tags off).
    pub document_keyphrases: usize,
    pub chunk_keyphrases: usize,
    /// Characters of a document read for its keyphrases (bounds the cost on very long files).
    pub keyphrase_chars: usize,
    /// Facts kept per document; the rest are left out with a warning.
    pub max_facts_per_document: usize,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            document_keyphrases: 10,
            chunk_keyphrases: 5,
            keyphrase_chars: 100_000,
            max_facts_per_document: 10_000,
        }
    }
}

/// Everything extracted from one document.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// Format, user tags, then keyphrases.
    pub document_tags: Vec<Tag>,
    /// Keyphrases of each chunk, in chunk order.
    pub chunk_tags: Vec<Vec<Tag>>,
    pub facts: Vec<Fact>,
    pub warnings: Vec<String>,
}

/// Tags and facts of `doc`. `source` is the file's decoded text for text formats, so that evidence can
/// give the file's own line numbers.
pub fn extract(
    doc: &ParsedDocument,
    chunks: &[Chunk],
    source: Option<&str>,
    user_tags: &[String],
    options: &ExtractOptions,
) -> Extracted {
    let mut document_tags = vec![Tag {
        name: doc.format.as_str().to_string(),
        kind: TagKind::Format,
        score: None,
    }];
    for t in user_tags {
        let name = normalise(t);
        if !name.is_empty()
            && !document_tags
                .iter()
                .any(|d| d.name == name && d.kind == TagKind::User)
        {
            document_tags.push(Tag {
                name,
                kind: TagKind::User,
                score: None,
            });
        }
    }
    let text = keyphrase_text(doc, options.keyphrase_chars);
    document_tags.extend(keyphrases(
        &text,
        options.document_keyphrases,
        options.keyphrase_chars,
    ));
    let chunk_tags = chunks
        .iter()
        .map(|c| keyphrases(&c.text, options.chunk_keyphrases, options.keyphrase_chars))
        .collect();
    let (facts, truncated) = extract_facts(doc, source, options.max_facts_per_document);
    let mut warnings = Vec::new();
    if truncated {
        warnings.push(format!(
            "only the first {} facts were kept (raise max_facts_per_document)",
            options.max_facts_per_document
        ));
    }
    Extracted {
        document_tags,
        chunk_tags,
        facts,
        warnings,
    }
}

/// The text keyphrases are drawn from: the title and the blocks in order, up to `max_chars`. Logs give
/// their messages only, so timestamps and ids do not crowd out topics.
fn keyphrase_text(doc: &ParsedDocument, max_chars: usize) -> String {
    let mut text = String::new();
    if let Some(t) = &doc.title {
        text.push_str(t);
        text.push_str(".\n");
    }
    let mut push = |s: &str| {
        if text.len() < max_chars * 4 {
            text.push_str(s);
            text.push('\n');
        }
    };
    if doc.format.text_source() == TextSource::LogMessages {
        doc.log_entries.iter().for_each(|e| push(&e.message));
    } else {
        doc.sections
            .iter()
            .flat_map(|s| &s.blocks)
            .for_each(|b| push(&b.text));
    }
    text
}

#[cfg(test)]
mod tests;
