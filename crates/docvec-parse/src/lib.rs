//! Parsing: turns the bytes of one file into a [`ParsedDocument`] (sections of text blocks).
//!
//! The registry is [`parse`]: one `match` over [`Format`] picks the parser, so a new format is a new module
//! plus one arm here; the pipeline above only ever sees `ParsedDocument`. Parsers are pure (bytes in,
//! document out), never panic on bad input (a panic inside a third-party parser is caught and reported as
//! a [`ParseError`]) and are cheap to run on rayon threads.

mod api;
mod csv;
mod html;
mod log;
mod markdown;
mod outline;
mod pdf;
mod sheet;
mod text;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use docvec_types::{Format, ParsedDocument};

pub use api::{SNIFF_BYTES, endpoint_text, sniff as sniff_api};
pub use text::decode_text;

/// Why a file could not be parsed. Every variant is the user's input, not a bug in docvec; the engine
/// reports it with the file's path and goes on with the next file.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error(
        "unsupported file type (known: {}, OpenAPI/Swagger/Postman .json/.yaml, XML logs)",
        known_extensions()
    )]
    Unsupported,
    #[error(
        "file is {size} bytes, over the {limit}-byte limit (raise `max_file_bytes` to read it)"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error("the PDF is encrypted and needs a password")]
    PasswordRequired,
    #[error("wrong password for the encrypted PDF")]
    WrongPassword,
    #[error("damaged or unreadable {format} file: {cause}")]
    Corrupt { format: Format, cause: String },
    #[error("no text to index: {0}")]
    NoText(String),
    #[error("the file looks binary, not {0} text (it holds NUL bytes)")]
    Binary(Format),
    #[error(
        "the text holds a run of {run} bytes without a space or line break, over the {limit}-byte \
         limit for one word (encoded or minified data, not text to search)"
    )]
    RunawayWord { run: usize, limit: usize },
}

/// The longest run of text without whitespace a document may hold: the same bound as one CSV cell.
/// A tokenizer reads such a run as one unknown token, so nothing in it can be found, while chunking,
/// extraction and the tokenizer spend memory on it by the gigabyte (a 100 MB run took 6 GB).
pub const MAX_WORD_BYTES: usize = 1 << 20;

fn longest_run(doc: &ParsedDocument) -> usize {
    let mut longest = 0;
    for block in doc.sections.iter().flat_map(|s| &s.blocks) {
        let mut run = 0;
        for b in block.text.bytes() {
            // ASCII whitespace only: a run of other Unicode spaces is rare enough to count as a word.
            if b.is_ascii_whitespace() {
                run = 0;
            } else {
                run += 1;
                longest = longest.max(run);
            }
        }
    }
    longest
}

fn known_extensions() -> String {
    Format::ALL
        .iter()
        .flat_map(|f| f.extensions())
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Knobs for parsers. Defaults suit documents people keep on disk.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Files larger than this are refused before they are read.
    pub max_file_bytes: u64,
    /// Password for encrypted PDFs; the empty password is always tried first.
    pub pdf_password: Option<String>,
    /// Rows read from one table; the rest of a larger table is left out with a warning.
    pub max_table_rows: usize,
    /// Bytes a compressed container (XLSX, ODS) may inflate to; more is refused as a zip bomb.
    pub max_decompressed_bytes: u64,
    /// Deepest nesting of arrays and objects in a JSON or YAML document (at most 128, the JSON
    /// reader's own bound, which keeps a deeply nested file from overflowing the stack).
    pub max_nesting_depth: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 256 * 1024 * 1024,
            pdf_password: None,
            max_table_rows: 1_000_000,
            max_decompressed_bytes: 1024 * 1024 * 1024,
            max_nesting_depth: 64,
        }
    }
}

/// The format of a file: by extension, else by content (a `%PDF-` header; an OpenAPI, Swagger or
/// Postman document among JSON and YAML files; a log among XML files).
pub fn detect_format(path: &Path, head: &[u8]) -> Option<Format> {
    if let Some(f) = Format::from_path(path) {
        return Some(f);
    }
    if head.starts_with(b"%PDF-") {
        return Some(Format::Pdf);
    }
    sniff_by_content(path, head)
}

fn sniff_by_content(path: &Path, head: &[u8]) -> Option<Format> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let head = &head[..head.len().min(SNIFF_BYTES)];
    // Which extensions each sniffer looks at is in the format table; the sniffers are here.
    if Format::Log.sniffs(&ext) {
        return log::xml::sniff(&String::from_utf8_lossy(head)).then_some(Format::Log);
    }
    if Format::Openapi.sniffs(&ext) || Format::Postman.sniffs(&ext) {
        return api::sniff(head);
    }
    None
}

/// Whether docvec reads this file, telling JSON, YAML and XML files apart by their first bytes.
pub fn is_readable(path: &Path) -> bool {
    if Format::from_path(path).is_some() {
        return true;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !Format::is_sniffed_extension(&ext) {
        return false;
    }
    let mut head = vec![0u8; SNIFF_BYTES];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    });
    read.is_ok_and(|n| sniff_by_content(path, &head[..n]).is_some())
}

/// Parse `bytes` as `format`. This is the parser registry.
pub fn parse(
    format: Format,
    bytes: &[u8],
    options: &ParseOptions,
) -> Result<ParsedDocument, ParseError> {
    if bytes.len() as u64 > options.max_file_bytes {
        return Err(ParseError::TooLarge {
            size: bytes.len() as u64,
            limit: options.max_file_bytes,
        });
    }
    let run = || match format {
        Format::Text => text::parse(bytes),
        Format::Markdown => markdown::parse(bytes),
        Format::Html => html::parse(bytes),
        Format::Openapi | Format::Postman => api::parse(format, bytes, options.max_nesting_depth),
        Format::Log => log::parse(bytes),
        Format::Csv => csv::parse(bytes, options.max_table_rows),
        Format::Spreadsheet => sheet::parse(bytes, options),
        Format::Pdf => pdf::parse(bytes, options),
    };
    let doc = catch_unwind(AssertUnwindSafe(run)).map_err(|panic| ParseError::Corrupt {
        format,
        cause: format!(
            "the {format} parser failed on this input ({})",
            panic_message(&panic)
        ),
    })??;
    if doc.is_empty() {
        return Err(ParseError::NoText(match format {
            Format::Pdf => {
                "the PDF has no text layer (a scanned or image-only PDF; OCR is not supported)"
                    .into()
            }
            _ => "the file is empty or holds only whitespace".into(),
        }));
    }
    let run = longest_run(&doc);
    if run > MAX_WORD_BYTES {
        return Err(ParseError::RunawayWord {
            run,
            limit: MAX_WORD_BYTES,
        });
    }
    Ok(doc)
}

/// Read one file, refusing it before reading when it is over the size limit.
pub fn read_file(path: &Path, options: &ParseOptions) -> Result<Vec<u8>, ParseFileError> {
    let meta = std::fs::metadata(path).map_err(ParseFileError::Io)?;
    if meta.len() > options.max_file_bytes {
        return Err(ParseError::TooLarge {
            size: meta.len(),
            limit: options.max_file_bytes,
        }
        .into());
    }
    std::fs::read(path).map_err(ParseFileError::Io)
}

/// Detect the format of a file's bytes (extension first, then content) and parse them.
pub fn parse_bytes(
    path: &Path,
    bytes: &[u8],
    options: &ParseOptions,
) -> Result<(Format, ParsedDocument), ParseError> {
    let format = detect_format(path, bytes).ok_or(ParseError::Unsupported)?;
    Ok((format, parse(format, bytes, options)?))
}

/// Read and parse one file.
pub fn parse_file(
    path: &Path,
    options: &ParseOptions,
) -> Result<(Format, ParsedDocument), ParseFileError> {
    let bytes = read_file(path, options)?;
    Ok(parse_bytes(path, &bytes, options)?)
}

/// [`parse_file`]'s error: the file could not be read, or its content could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseFileError {
    #[error("cannot read the file: {0}")]
    Io(std::io::Error),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Collapse runs of spaces and tabs inside lines and trim each line; keeps line breaks.
pub(crate) fn tidy_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut first = true;
        for word in line.split_whitespace() {
            if !first {
                out.push(' ');
            }
            out.push_str(word);
            first = false;
        }
    }
    out.trim_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_pdf_by_content() {
        assert_eq!(
            detect_format(Path::new("noext"), b"%PDF-1.7\n"),
            Some(Format::Pdf)
        );
        assert_eq!(detect_format(Path::new("noext"), b"hello"), None);
    }

    #[test]
    fn refuses_oversized_input() {
        let opts = ParseOptions {
            max_file_bytes: 4,
            ..Default::default()
        };
        assert!(matches!(
            parse(Format::Text, b"hello", &opts),
            Err(ParseError::TooLarge { size: 5, limit: 4 })
        ));
    }

    #[test]
    fn empty_files_have_no_text() {
        assert!(matches!(
            parse(Format::Text, b"  \n\n ", &ParseOptions::default()),
            Err(ParseError::NoText(_))
        ));
        assert!(matches!(
            parse(Format::Markdown, b"", &ParseOptions::default()),
            Err(ParseError::NoText(_))
        ));
    }

    #[test]
    fn a_runaway_word_is_refused_and_a_long_one_is_not() {
        let mut text = b"Prose first. ".to_vec();
        text.extend(std::iter::repeat_n(b'q', MAX_WORD_BYTES + 1));
        text.extend(b" and an ending.");
        for format in [Format::Text, Format::Markdown, Format::Log] {
            let err = parse(format, &text, &ParseOptions::default()).unwrap_err();
            assert!(
                matches!(err, ParseError::RunawayWord { run, .. } if run == MAX_WORD_BYTES + 1),
                "{format}: {err}"
            );
        }
        // A long hash, URL or base64 line of up to 1 MiB is still text.
        let ok = format!("Prose first. {} and an ending.", "q".repeat(MAX_WORD_BYTES));
        assert!(parse(Format::Text, ok.as_bytes(), &ParseOptions::default()).is_ok());
    }

    #[test]
    fn tidies_whitespace_per_line() {
        assert_eq!(tidy_whitespace("  a   b \n\tc  "), "a b\nc");
    }
}
