//! Shared vocabulary of docvec's pipeline: formats, parsed documents, chunks and search hits.
//!
//! Every stage crate depends on this one and on nothing above it, so these types stay plain data:
//! no I/O, no async, no heavy dependencies.

mod document;
mod enrich;
mod export;
mod format;
mod hit;
mod meta;
mod span;

pub use document::{
    ApiEndpoint, ApiParameter, Block, BlockKind, Chunk, ColumnType, EndpointKind, LogEntry,
    ParsedDocument, Section, Table,
};
pub use enrich::{Evidence, Fact, FactKind, SpanScope, Tag, TagKind};
pub use export::{DocumentExport, ExportChunk};
pub use format::{FORMATS, Format, FormatFacts, TextSource};
pub use hit::{SearchHit, Snippet};
pub use meta::{
    MAX_META_BYTES, MAX_META_IN, MAX_META_KEY, MetaCondition, MetaError, MetaOp, MetaTest,
    MetaValue, Metadata, check_metadata, meta_filter_json, parse_meta_filter,
};
pub use span::{LineIndex, Operation, Origin, RowSpan, Span};

/// Counts model tokens in a piece of text. The chunker sizes chunks with it; the embedder implements it
/// with the model's own tokenizer so that "256 tokens" means what the model will see.
pub trait TokenCounter: Send + Sync {
    /// Tokens `text` takes, without the special tokens the model adds around a whole input.
    fn count_tokens(&self, text: &str) -> usize;
}

/// A short, stable, hex id derived from the given parts (blake3, 128 bits).
pub fn stable_id(parts: &[&[u8]]) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        // Length-prefix each part so ("ab","c") and ("a","bc") differ.
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let hash = hasher.finalize();
    hash.to_hex()[..32].to_string()
}

/// Lower case with single spaces: how tag names and fact keys are stored and matched, locally and in
/// the mirror.
pub fn normalise_label(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Hex blake3 of some content (full length), used as the content hash of files and chunk texts.
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_id_separates_parts() {
        assert_ne!(stable_id(&[b"ab", b"c"]), stable_id(&[b"a", b"bc"]));
        assert_eq!(stable_id(&[b"x"]), stable_id(&[b"x"]));
        assert_eq!(stable_id(&[b"x"]).len(), 32);
    }
}
