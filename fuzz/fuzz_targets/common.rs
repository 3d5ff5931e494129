// Shared by every target: parse the input as one format with tight limits, then run extraction on
// what comes back, so a parser's output is fuzzed through the next stage as well.

use docvec_parse::{ParseOptions, parse};
use docvec_types::Format;

pub fn run(format: Format, data: &[u8]) {
    let options = ParseOptions {
        max_file_bytes: 4 * 1024 * 1024,
        pdf_password: None,
        max_table_rows: 10_000,
        max_decompressed_bytes: 16 * 1024 * 1024,
        max_nesting_depth: 64,
    };
    // Errors are fine (they are the user's input); panics and hangs are what the fuzzer looks for.
    if let Ok(mut doc) = parse(format, data, &options) {
        // Chunking places each chunk in the parser's text by the blocks' byte ranges: fuzz that too.
        docvec_chunk::render_text(&mut doc);
        let _ = docvec_chunk::chunk_document("fuzz", &doc, &Words, &Default::default());
        let source = std::str::from_utf8(data).ok();
        let _ = docvec_extract::extract_facts(&doc, source, 1_000);
        let text: String = doc
            .sections
            .iter()
            .flat_map(|s| &s.blocks)
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let _ = docvec_extract::keyphrases(&text, 5, 10_000);
    }
}

/// One token per word: the chunker's sizes without a model.
struct Words;

impl docvec_types::TokenCounter for Words {
    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}
