//! PDF through lopdf: the text of each page, with its page number.
//!
//! lopdf repairs damaged cross-reference data on load; a page whose content cannot be decoded is
//! skipped with a warning so the readable pages still get indexed. Encrypted files are opened with the
//! empty user password (how most "protected" PDFs are shipped), else with the configured password,
//! else refused with [`ParseError::PasswordRequired`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::{Document, LoadOptions, Object};

use docvec_types::{Block, BlockKind, Format, ParsedDocument, Section};

use crate::{ParseError, ParseOptions};

/// Decompressed content a single page may expand to; bounds memory on hostile streams.
const MAX_PAGE_CONTENT: usize = 64 * 1024 * 1024;

pub(crate) fn parse(bytes: &[u8], options: &ParseOptions) -> Result<ParsedDocument, ParseError> {
    let corrupt = |cause: String| ParseError::Corrupt {
        format: Format::Pdf,
        cause,
    };
    if !bytes.windows(5).take(1024).any(|w| w == b"%PDF-") {
        return Err(corrupt("no %PDF- header in the first 1 KiB".into()));
    }
    let mut doc = Document::load_mem(bytes).map_err(|e| corrupt(e.to_string()))?;
    // Still encrypted after load means the empty user password did not open it (for some AES-256
    // files lopdf only shows that as a page tree it cannot read).
    // The trailer's /Encrypt may be a direct dictionary, which `Document::is_encrypted` does not see.
    let locked = |doc: &Document| {
        doc.trailer.get(b"Encrypt").is_ok() && (!doc.was_encrypted() || doc.get_pages().is_empty())
    };
    if locked(&doc) {
        // The empty user password did not open it.
        let Some(password) = options.pdf_password.as_deref() else {
            return Err(ParseError::PasswordRequired);
        };
        doc = Document::load_mem_with_options(bytes, LoadOptions::with_password(password))
            .map_err(|e| match e {
                lopdf::Error::InvalidPassword => ParseError::WrongPassword,
                other => corrupt(other.to_string()),
            })?;
        if locked(&doc) {
            return Err(ParseError::WrongPassword);
        }
    }

    let mut parsed = ParsedDocument::new(Format::Pdf);
    parsed.title = info_string(&doc, b"Title").filter(|t| !t.trim().is_empty());
    let pages = doc.get_pages();
    parsed.metadata.insert("pages".into(), pages.len().into());
    if let Some(producer) = info_string(&doc, b"Producer") {
        parsed.metadata.insert("producer".into(), producer.into());
    }
    if doc.was_encrypted() {
        parsed.metadata.insert("encrypted".into(), true.into());
    }
    if pages.is_empty() {
        return Err(corrupt("no page tree could be found".into()));
    }

    let mut section = Section::untitled();
    let mut failed = 0usize;
    for &number in pages.keys() {
        let text = catch_unwind(AssertUnwindSafe(|| {
            doc.extract_text_with_limit(&[number], MAX_PAGE_CONTENT)
        }));
        match text {
            Ok(Ok(text)) => {
                for para in page_paragraphs(&text) {
                    section.blocks.push(Block {
                        text: para,
                        kind: BlockKind::Paragraph,
                        page: Some(number),
                    });
                }
            }
            Ok(Err(e)) => {
                failed += 1;
                parsed
                    .warnings
                    .push(format!("page {number}: text could not be extracted ({e})"));
            }
            Err(_) => {
                failed += 1;
                parsed.warnings.push(format!(
                    "page {number}: the PDF reader failed on this page's content"
                ));
            }
        }
    }
    if failed == pages.len() {
        return Err(corrupt(format!(
            "no page could be read ({})",
            parsed.warnings.first().cloned().unwrap_or_default()
        )));
    }
    parsed.sections.push(section);
    Ok(parsed)
}

/// lopdf yields one line per text-showing run; rebuild paragraphs: blank lines split, short runs join.
fn page_paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() {
            // A hyphen at a line end is most often a word broken across lines.
            if current.ends_with('-') && line.chars().next().is_some_and(char::is_lowercase) {
                current.pop();
            } else {
                current.push(' ');
            }
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A string from the document's Info dictionary, decoded from PDFDocEncoding or UTF-16.
fn info_string(doc: &Document, key: &[u8]) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = match info {
        Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        Object::Dictionary(d) => d,
        _ => return None,
    };
    let value = info.get(key).ok()?;
    let bytes = match value {
        Object::String(bytes, _) => bytes,
        _ => return None,
    };
    let text = if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        let units = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]));
        char::decode_utf16(units).filter_map(Result::ok).collect()
    } else {
        bytes.iter().map(|&b| b as char).collect::<String>()
    };
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_paragraphs_from_lines() {
        let paras = page_paragraphs("Hello  wor-\nld and\nmore\n\n\nNext para");
        assert_eq!(paras, ["Hello world and more", "Next para"]);
    }

    #[test]
    fn refuses_non_pdf_bytes() {
        let err = parse(b"not a pdf at all", &ParseOptions::default()).unwrap_err();
        assert!(matches!(err, ParseError::Corrupt { .. }), "{err}");
    }
}
