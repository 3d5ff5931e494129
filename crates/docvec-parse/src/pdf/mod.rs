//! PDF: the text of each page as it reads on the page, in sections.
//!
//! lopdf loads the file (repairing damaged cross-reference data) and decodes content streams; our
//! own interpreter ([`content`]) places every glyph, with text from [`fonts`] (`ToUnicode`,
//! encodings, glyph names), so words are spaced by geometry ([`layout`]), lines grouped into
//! blocks in reading order with running heads dropped ([`blocks`]), and sections taken from the
//! outline or from heading sizes ([`sections`]).
//!
//! A page whose content cannot be decoded is skipped with a warning so the readable pages still get
//! indexed. Encrypted files are opened with the empty user password (how most "protected" PDFs are
//! shipped), else with the configured password, else refused with [`ParseError::PasswordRequired`].

mod blocks;
mod cmap;
mod content;
mod encoding;
mod encoding_tables;
mod fonts;
mod glyph_list;
mod layout;
mod objects;
mod postscript;
mod sections;
mod widths;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::{Document, LoadOptions, Object, ObjectId};
use unicode_normalization::UnicodeNormalization;

use docvec_types::{Format, ParsedDocument};

use crate::{ParseError, ParseOptions};
use blocks::{PageBox, TextBlock};
use content::{FormCache, Interpreter, Matrix, Resources};
use fonts::FontCache;
use layout::{LineBuilder, Rect};
use objects::{as_number, deref};

/// Decompressed content a single page may expand to (forms included); bounds memory on hostile
/// streams.
const MAX_PAGE_CONTENT: usize = 64 * 1024 * 1024;

pub(crate) fn parse(bytes: &[u8], options: &ParseOptions) -> Result<ParsedDocument, ParseError> {
    let doc = load(bytes, options)?;
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(corrupt("no page tree could be found".into()));
    }
    let mut parsed = ParsedDocument::new(Format::Pdf);
    parsed.title = info_string(&doc, b"Title").filter(|t| !t.trim().is_empty());
    parsed.metadata.insert("pages".into(), pages.len().into());
    if let Some(producer) = info_string(&doc, b"Producer") {
        parsed.metadata.insert("producer".into(), producer.into());
    }
    if doc.was_encrypted() {
        parsed.metadata.insert("encrypted".into(), true.into());
    }

    let (mut page_blocks, boxes) = read_pages(&doc, &pages, &mut parsed.warnings)?;
    blocks::drop_running_heads(&mut page_blocks, &boxes);
    let blocks: Vec<TextBlock> = page_blocks.into_iter().flatten().collect();

    let (entries, outline_total) = sections::outline(&doc);
    let headings = if entries.is_empty() {
        sections::headings_by_size(&blocks)
    } else {
        parsed
            .metadata
            .insert("outline_entries".into(), outline_total.into());
        parsed
            .metadata
            .insert("outline_entries_placed".into(), entries.len().into());
        sections::place_entries(&entries, &blocks)
    };
    if parsed.title.is_none() {
        parsed.title = headings
            .values()
            .flatten()
            .find(|(level, _)| *level == 1)
            .map(|(_, t)| normalize(t));
    }
    let headings: BTreeMap<usize, Vec<(u8, String)>> = headings
        .into_iter()
        .map(|(i, hs)| (i, hs.into_iter().map(|(l, t)| (l, normalize(&t))).collect()))
        .collect();
    let stored = blocks
        .iter()
        .map(|b| sections::block(b, normalize(&b.text)))
        .collect();
    parsed.sections = sections::assemble(stored, &headings);
    Ok(parsed)
}

fn corrupt(cause: String) -> ParseError {
    ParseError::Corrupt {
        format: Format::Pdf,
        cause,
    }
}

/// Load the document, opening encrypted files with the empty and then the configured password.
fn load(bytes: &[u8], options: &ParseOptions) -> Result<Document, ParseError> {
    if !bytes.windows(5).take(1024).any(|w| w == b"%PDF-") {
        return Err(corrupt("no %PDF- header in the first 1 KiB".into()));
    }
    let doc = Document::load_mem(bytes).map_err(|e| corrupt(e.to_string()))?;
    // Still encrypted after load means the empty user password did not open it (for some AES-256
    // files lopdf only shows that as a page tree it cannot read). The trailer's /Encrypt may be a
    // direct dictionary, which `Document::is_encrypted` does not see.
    let locked = |doc: &Document| {
        doc.trailer.get(b"Encrypt").is_ok() && (!doc.was_encrypted() || doc.get_pages().is_empty())
    };
    if !locked(&doc) {
        return Ok(doc);
    }
    let Some(password) = options.pdf_password.as_deref() else {
        return Err(ParseError::PasswordRequired);
    };
    let doc = Document::load_mem_with_options(bytes, LoadOptions::with_password(password))
        .map_err(|e| match e {
            lopdf::Error::InvalidPassword => ParseError::WrongPassword,
            other => corrupt(other.to_string()),
        })?;
    if locked(&doc) {
        return Err(ParseError::WrongPassword);
    }
    Ok(doc)
}

/// Every page's blocks and box; a page that fails is skipped with a warning, all failing is an
/// error.
fn read_pages(
    doc: &Document,
    pages: &BTreeMap<u32, ObjectId>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Vec<TextBlock>>, Vec<PageBox>), ParseError> {
    let (mut fonts, mut forms) = (FontCache::default(), FormCache::default());
    let (mut out, mut boxes, mut failed) = (Vec::new(), Vec::new(), 0usize);
    for (&number, &page_id) in pages {
        let read = catch_unwind(AssertUnwindSafe(|| {
            page_lines(doc, page_id, &mut fonts, &mut forms)
        }));
        let lines = match read {
            Ok(Ok((lines, complete))) => {
                if !complete {
                    warnings.push(format!(
                        "page {number}: text cut short after {} content operators",
                        content::MAX_OPS
                    ));
                }
                lines
            }
            Ok(Err(e)) => {
                failed += 1;
                warnings.push(format!("page {number}: text could not be extracted ({e})"));
                Vec::new()
            }
            Err(_) => {
                failed += 1;
                warnings.push(format!(
                    "page {number}: the PDF reader failed on this page's content"
                ));
                Vec::new()
            }
        };
        out.push(blocks::page_blocks(lines, number));
        boxes.push(page_box(doc, page_id));
    }
    if failed == pages.len() {
        return Err(corrupt(format!(
            "no page could be read ({})",
            warnings.first().cloned().unwrap_or_default()
        )));
    }
    Ok((out, boxes))
}

/// One page's lines, and false if its content ran past the operator budget.
fn page_lines(
    doc: &Document,
    page_id: ObjectId,
    fonts: &mut FontCache,
    forms: &mut FormCache,
) -> Result<(Vec<layout::Line>, bool), lopdf::Error> {
    let content = doc.get_page_content_with_limit(page_id, MAX_PAGE_CONTENT)?;
    let (direct, referenced) = doc.get_page_resources(page_id)?;
    let mut resources: Vec<&lopdf::Dictionary> = direct.into_iter().collect();
    resources.extend(
        referenced
            .iter()
            .filter_map(|id| doc.get_dictionary(*id).ok()),
    );
    let mut builder = LineBuilder::new(page_rect(doc, page_id));
    let budget = MAX_PAGE_CONTENT.saturating_sub(content.len());
    let complete = Interpreter::new(doc, fonts, forms, &mut builder, budget).run(
        &content,
        &Resources(resources),
        Matrix::IDENTITY,
    );
    Ok((builder.finish(), complete))
}

/// The page's crop box (else media box, inherited through the page tree) in device space.
fn page_rect(doc: &Document, page_id: ObjectId) -> Rect {
    let mut node = doc.get_dictionary(page_id).ok();
    for _ in 0..32 {
        let Some(dict) = node else { break };
        for key in [b"CropBox".as_slice(), b"MediaBox"] {
            if let Ok(Object::Array(a)) = dict.get(key).map(|b| deref(doc, b)) {
                let v: Vec<f32> = a.iter().filter_map(|o| as_number(deref(doc, o))).collect();
                if let [x0, y0, x1, y1] = v[..] {
                    return (x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1));
                }
            }
        }
        node = dict
            .get(b"Parent")
            .ok()
            .and_then(|p| deref(doc, p).as_dict().ok());
    }
    // US Letter, the spec's default.
    (0.0, 0.0, 612.0, 792.0)
}

/// The page's box in the blocks' frame (growing down the page).
fn page_box(doc: &Document, page_id: ObjectId) -> PageBox {
    let (_, y0, _, y1) = page_rect(doc, page_id);
    PageBox {
        top: -y1,
        bottom: -y0,
    }
}

/// Text for indexing: compatibility characters (ligatures, full-width forms) decomposed and
/// accents composed (NFKC), soft hyphens left inside lines dropped.
fn normalize(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    text.nfkc().filter(|c| *c != '\u{AD}').collect()
}

/// A string from the document's Info dictionary, decoded from PDFDocEncoding or UTF-16.
fn info_string(doc: &Document, key: &[u8]) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = deref(doc, info).as_dict().ok()?;
    let text = lopdf::decode_text_string(deref(doc, info.get(key).ok()?)).ok()?;
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_pdf_bytes() {
        let err = parse(b"not a pdf at all", &ParseOptions::default()).unwrap_err();
        assert!(matches!(err, ParseError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn normalizes_ligatures_and_accents_for_indexing() {
        assert_eq!(
            normalize("\u{FB01}nd e\u{301}t\u{E9} co\u{AD}op"),
            "find été coop"
        );
        assert_eq!(normalize("plain"), "plain");
    }
}
