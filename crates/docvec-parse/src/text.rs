//! Plain text: paragraphs split on blank lines, one untitled section.

use docvec_types::{Block, BlockKind, Format, Origin, ParsedDocument, Section};

use crate::ParseError;

pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let text = decode_text(bytes, Format::Text)?;
    let mut doc = ParsedDocument::new(Format::Text);
    let mut section = Section::untitled();
    section.blocks = paragraphs(&text)
        .map(|(p, (start, end))| Block {
            text: p,
            kind: BlockKind::Paragraph,
            page: None,
            origin: Origin::bytes(start, end),
        })
        .collect();
    doc.sections.push(section);
    doc.text = Some(text);
    Ok(doc)
}

/// Split on blank lines; each paragraph's whitespace is tidied. Each comes with the byte range of its
/// text in `text`.
pub(crate) fn paragraphs(text: &str) -> impl Iterator<Item = (String, (usize, usize))> + '_ {
    let mut at = 0;
    text.split("\n\n").filter_map(move |raw| {
        let start = at;
        at += raw.len() + 2;
        let p = crate::tidy_whitespace(raw);
        if p.is_empty() {
            return None;
        }
        let lead = raw.len() - raw.trim_start().len();
        Some((p, (start + lead, start + raw.trim_end().len())))
    })
}

/// Decode text bytes: UTF-8 (BOM stripped), UTF-16 with a BOM, else Windows-1252-like Latin-1.
/// Text with NUL bytes (and no UTF-16 BOM) is refused as binary.
pub fn decode_text(bytes: &[u8], format: Format) -> Result<String, ParseError> {
    let utf16 = |le: bool| {
        let units = bytes[2..].chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>()
    };
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        String::from_utf8_lossy(rest).into_owned()
    } else if bytes.starts_with(b"\xFF\xFE") {
        utf16(true)
    } else if bytes.starts_with(b"\xFE\xFF") {
        utf16(false)
    } else if bytes.contains(&0) {
        return Err(ParseError::Binary(format));
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            // Not UTF-8: Latin-1 maps every byte to a char, so nothing is lost or refused.
            Err(_) => bytes.iter().map(|&b| b as char).collect(),
        }
    };
    Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paragraphs() {
        let doc = parse(b"First line\ncontinues.\n\n\n  Second   para.\r\n\r\nThird").unwrap();
        let texts: Vec<_> = doc.sections[0]
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(texts, ["First line\ncontinues.", "Second para.", "Third"]);
        let text = doc.text.as_deref().unwrap();
        let spans: Vec<&str> = doc.sections[0]
            .blocks
            .iter()
            .map(|b| b.origin.bytes.unwrap())
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(spans, ["First line\ncontinues.", "Second   para.", "Third"]);
    }

    #[test]
    fn decodes_boms_and_latin1() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFhi", Format::Text).unwrap(), "hi");
        assert_eq!(decode_text(b"\xFF\xFEh\0i\0", Format::Text).unwrap(), "hi");
        assert_eq!(decode_text(b"\xFE\xFF\0h\0i", Format::Text).unwrap(), "hi");
        assert_eq!(decode_text(b"caf\xE9", Format::Text).unwrap(), "caf\u{e9}");
        assert!(matches!(
            decode_text(b"a\0b", Format::Text),
            Err(ParseError::Binary(Format::Text))
        ));
    }
}
