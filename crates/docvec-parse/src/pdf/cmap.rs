//! CMaps: a font's `ToUnicode` map (codes to text) and the code-to-CID map of a composite font's
//! embedded `Encoding`, with the codespace ranges that say how many bytes each code takes.
//!
//! The parser is forgiving: producers write CMaps by hand-rolled code, so unknown tokens, unbalanced
//! sections and odd hex lengths are skipped rather than failing the font (a font whose map cannot
//! be read still has widths, so its text keeps its geometry).

use std::collections::HashMap;

use super::postscript::{Token, Tokens};

/// Codes one range may expand to in the per-code table; longer ranges stay ranges (a hostile
/// `<0000> <FFFFFFFF>` must not allocate gigabytes).
const EXPAND_LIMIT: u32 = 4096;
/// Per-code entries one CMap may hold, a bound on memory for hostile files.
const MAX_ENTRIES: usize = 1 << 18;

/// One codespace range: codes of `len` bytes between `lo` and `hi`, compared byte by byte.
#[derive(Debug, Clone, Copy)]
struct Codespace {
    len: u8,
    lo: [u8; 4],
    hi: [u8; 4],
}

/// Text a code stands for: one char (the common case) or several (ligatures, decompositions).
#[derive(Debug, Clone)]
pub(super) enum Text {
    Char(char),
    Str(Box<str>),
}

impl Text {
    fn from_utf16be(bytes: &[u8]) -> Option<Text> {
        // A one-byte destination is a producer's shorthand for that code point.
        if bytes.len() == 1 {
            return Some(Text::Char(char::from(bytes[0])));
        }
        let units = bytes
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        let text: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (None, _) => None,
            (Some(c), None) => Some(Text::Char(c)),
            _ => Some(Text::Str(text.into_boxed_str())),
        }
    }
}

/// A parsed CMap: codespace, code-to-text (bf) and code-to-CID (cid) mappings.
#[derive(Debug, Default)]
pub(super) struct CMap {
    codespace: Vec<Codespace>,
    text: HashMap<u32, Text>,
    /// Ranges too long to expand: (lo, hi, the first code's char).
    text_ranges: Vec<(u32, u32, u32)>,
    cids: HashMap<u32, u32>,
    cid_ranges: Vec<(u32, u32, u32)>,
    /// The predefined CMap this one builds on (`/Name usecmap`).
    pub use_cmap: Option<Vec<u8>>,
}

impl CMap {
    pub fn parse(data: &[u8]) -> CMap {
        let mut cmap = CMap::default();
        let tokens: Vec<Token> = Tokens::new(data).collect();
        let mut i = 0;
        while i < tokens.len() {
            i = match &tokens[i] {
                Token::Keyword(k) => match k.as_slice() {
                    b"begincodespacerange" => cmap.codespace_section(&tokens, i + 1),
                    b"beginbfchar" => cmap.char_section(&tokens, i + 1, false),
                    b"begincidchar" => cmap.char_section(&tokens, i + 1, true),
                    b"beginbfrange" => cmap.range_section(&tokens, i + 1, false),
                    b"begincidrange" => cmap.range_section(&tokens, i + 1, true),
                    b"usecmap" => {
                        if let Some(Token::Name(n)) = i.checked_sub(1).map(|j| &tokens[j]) {
                            cmap.use_cmap = Some(n.clone());
                        }
                        i + 1
                    }
                    _ => i + 1,
                },
                _ => i + 1,
            };
        }
        cmap.text_ranges.sort_unstable_by_key(|r| r.0);
        cmap.cid_ranges.sort_unstable_by_key(|r| r.0);
        cmap
    }

    fn codespace_section(&mut self, t: &[Token], mut i: usize) -> usize {
        while let (Some(Token::Hex(lo)), Some(Token::Hex(hi))) = (t.get(i), t.get(i + 1)) {
            let len = lo.len().clamp(1, 4);
            let (mut l, mut h) = ([0u8; 4], [0xFFu8; 4]);
            l[..len].copy_from_slice(&lo[..len]);
            h[..len.min(hi.len())].copy_from_slice(&hi[..len.min(hi.len())]);
            self.codespace.push(Codespace {
                len: len as u8,
                lo: l,
                hi: h,
            });
            i += 2;
        }
        i
    }

    fn char_section(&mut self, t: &[Token], mut i: usize, cid: bool) -> usize {
        while let (Some(Token::Hex(src)), Some(dst)) = (t.get(i), t.get(i + 1)) {
            let code = code_value(src);
            match (cid, dst) {
                (true, Token::Number(n)) => self.put_cid(code, *n),
                (false, Token::Hex(d)) => self.put_text(code, Text::from_utf16be(d)),
                (false, Token::Name(name)) => self.put_text(code, name_text(name)),
                _ => {}
            }
            i += 2;
        }
        i
    }

    fn range_section(&mut self, t: &[Token], mut i: usize, cid: bool) -> usize {
        loop {
            let (Some(Token::Hex(lo)), Some(Token::Hex(hi))) = (t.get(i), t.get(i + 1)) else {
                return i;
            };
            let (lo, hi) = (code_value(lo), code_value(hi));
            match t.get(i + 2) {
                Some(Token::Number(n)) if cid => self.cid_range(lo, hi, *n),
                Some(Token::Hex(d)) if !cid => self.text_range(lo, hi, d),
                Some(Token::ArrayStart) if !cid => {
                    let mut j = i + 3;
                    let mut code = lo;
                    while let Some(Token::Hex(d)) = t.get(j) {
                        self.put_text(code, Text::from_utf16be(d));
                        code = code.saturating_add(1);
                        j += 1;
                    }
                    // Past the array's `]`.
                    i = j + 1;
                    continue;
                }
                _ => {}
            }
            i += 3;
        }
    }

    fn text_range(&mut self, lo: u32, hi: u32, dst: &[u8]) {
        if hi < lo {
            return;
        }
        if hi - lo >= EXPAND_LIMIT {
            // Kept as a range: each code maps to one char (a long multi-char range is not text).
            if let Some(Text::Char(c)) = Text::from_utf16be(dst) {
                self.text_ranges.push((lo, hi, c as u32));
            }
            return;
        }
        let mut dst = dst.to_vec();
        for code in lo..=hi {
            self.put_text(code, Text::from_utf16be(&dst));
            // The spec increments the last byte; producers rely on a carry into the UTF-16 unit.
            if let Some(n) = dst.len().checked_sub(2) {
                let unit = u16::from_be_bytes([dst[n], dst[n + 1]]).wrapping_add(1);
                dst[n..].copy_from_slice(&unit.to_be_bytes());
            } else if let Some(last) = dst.last_mut() {
                *last = last.wrapping_add(1);
            }
        }
    }

    fn cid_range(&mut self, lo: u32, hi: u32, cid: i64) {
        if hi >= lo && (0..=u32::MAX as i64).contains(&cid) {
            self.cid_ranges.push((lo, hi, cid as u32));
        }
    }

    fn put_text(&mut self, code: u32, text: Option<Text>) {
        if let Some(text) = text
            && self.text.len() < MAX_ENTRIES
        {
            self.text.insert(code, text);
        }
    }

    fn put_cid(&mut self, code: u32, cid: i64) {
        if (0..=u32::MAX as i64).contains(&cid) && self.cids.len() < MAX_ENTRIES {
            self.cids.insert(code, cid as u32);
        }
    }

    pub fn has_codespace(&self) -> bool {
        !self.codespace.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.text_ranges.is_empty()
    }

    /// The text of `code`, from the per-code table or a range.
    pub fn text(&self, code: u32) -> Option<TextRef<'_>> {
        if let Some(t) = self.text.get(&code) {
            return Some(match t {
                Text::Char(c) => TextRef::Char(*c),
                Text::Str(s) => TextRef::Str(s),
            });
        }
        let r = find_range(&self.text_ranges, code)?;
        char::from_u32(r.2 + (code - r.0)).map(TextRef::Char)
    }

    /// The CID of `code` through the cid mappings, if any covers it.
    pub fn cid(&self, code: u32) -> Option<u32> {
        if let Some(c) = self.cids.get(&code) {
            return Some(*c);
        }
        find_range(&self.cid_ranges, code).map(|r| r.2 + (code - r.0))
    }

    /// The next code in `bytes` from `pos`: its value and length, by the codespace ranges (the
    /// shortest range that matches; an unmatched byte sequence takes the shortest length there is,
    /// as the spec's fallback for invalid input).
    pub fn next_code(&self, bytes: &[u8], pos: usize) -> (u32, usize) {
        let rest = &bytes[pos..];
        let mut best: Option<usize> = None;
        for cs in &self.codespace {
            let len = cs.len as usize;
            if rest.len() >= len
                && (0..len).all(|k| rest[k] >= cs.lo[k] && rest[k] <= cs.hi[k])
                && best.is_none_or(|b| len < b)
            {
                best = Some(len);
            }
        }
        let shortest = self.codespace.iter().map(|c| c.len as usize).min();
        let len = best.or(shortest).unwrap_or(2).clamp(1, rest.len().max(1));
        (code_value(&rest[..len.min(rest.len())]), len)
    }
}

/// A borrowed [`Text`].
#[derive(Debug, Clone, Copy)]
pub(super) enum TextRef<'a> {
    Char(char),
    Str(&'a str),
}

fn find_range(ranges: &[(u32, u32, u32)], code: u32) -> Option<&(u32, u32, u32)> {
    let i = ranges.partition_point(|r| r.0 <= code);
    ranges[..i].iter().rev().take(4).find(|r| code <= r.1)
}

fn code_value(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |v, b| (v << 8) | u32::from(*b))
}

/// A bfchar destination written as a glyph name (allowed by the spec, seldom used).
fn name_text(name: &[u8]) -> Option<Text> {
    let name = std::str::from_utf8(name).ok()?;
    super::encoding::glyph_name_text(name).map(|s| {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Text::Char(c),
            _ => Text::Str(s.into()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cmap: &CMap, code: u32) -> Option<String> {
        cmap.text(code).map(|t| match t {
            TextRef::Char(c) => c.to_string(),
            TextRef::Str(s) => s.to_string(),
        })
    }

    #[test]
    fn reads_bfchar_and_both_bfrange_forms() {
        let cmap = CMap::parse(
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
              /CMapName /Adobe-Identity-UCS def\n\
              1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
              2 beginbfchar <0003> <0020> <0011> <00660069> endbfchar\n\
              2 beginbfrange <0024> <0026> <0041>\n<0030> <0031> [<0078> <D835DC00>] endbfrange\n\
              endcmap CMapName currentdict /CMap defineresource pop end end",
        );
        assert_eq!(text(&cmap, 3).as_deref(), Some(" "));
        assert_eq!(text(&cmap, 0x11).as_deref(), Some("fi"));
        assert_eq!(text(&cmap, 0x24).as_deref(), Some("A"));
        assert_eq!(text(&cmap, 0x26).as_deref(), Some("C"));
        assert_eq!(text(&cmap, 0x27), None);
        assert_eq!(text(&cmap, 0x30).as_deref(), Some("x"));
        assert_eq!(text(&cmap, 0x31).as_deref(), Some("\u{1D400}"));
        assert_eq!(cmap.next_code(&[0x00, 0x24, 0x00], 0), (0x24, 2));
    }

    #[test]
    fn splits_mixed_length_codes_by_codespace() {
        let cmap = CMap::parse(
            b"2 begincodespacerange <00> <80> <8140> <9FFC> endcodespacerange\n\
              1 begincidrange <8140> <817E> 633 endcidrange 1 begincidchar <41> 34 endcidchar",
        );
        let bytes = [0x41, 0x81, 0x41, 0x20];
        assert_eq!(cmap.next_code(&bytes, 0), (0x41, 1));
        assert_eq!(cmap.next_code(&bytes, 1), (0x8141, 2));
        assert_eq!(cmap.next_code(&bytes, 3), (0x20, 1));
        assert_eq!(cmap.cid(0x8141), Some(634));
        assert_eq!(cmap.cid(0x41), Some(34));
    }

    #[test]
    fn survives_garbage_and_hostile_ranges() {
        let cmap = CMap::parse(b"beginbfrange <00> <FFFFFFFF> <0041> endbfrange (unclosed ( <zz");
        assert_eq!(text(&cmap, 1).as_deref(), Some("B"));
        assert_eq!(cmap.next_code(&[1, 2, 3], 2), (3, 1));
        let cmap = CMap::parse(b"");
        assert!(cmap.is_empty());
    }
}
