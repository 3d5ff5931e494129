//! Simple fonts' codes to text without a `ToUnicode` map: the base encoding (`StandardEncoding`,
//! `WinAnsiEncoding`, `MacRomanEncoding`, or the embedded Type 1 program's own), `Differences`
//! glyph names through the Adobe Glyph List, `uniXXXX` / `uXXXXX` names and ligature names.

use std::borrow::Cow;

use lopdf::{Document, Object};

use super::encoding_tables::{MAC_ROMAN, STANDARD, WIN_ANSI};
use super::glyph_list::glyph_text;
use super::objects::deref;

/// The base encoding a font names, or the one its type implies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Base {
    Standard,
    WinAnsi,
    MacRoman,
    /// The font program's own encoding (symbolic fonts; embedded Type 1 programs).
    BuiltIn,
}

impl Base {
    pub fn from_name(name: &[u8]) -> Option<Base> {
        match name {
            b"StandardEncoding" => Some(Base::Standard),
            b"WinAnsiEncoding" => Some(Base::WinAnsi),
            b"MacRomanEncoding" | b"MacExpertEncoding" => Some(Base::MacRoman),
            _ => None,
        }
    }

    fn table(self) -> Option<&'static [u16; 256]> {
        match self {
            Base::Standard => Some(&STANDARD),
            Base::WinAnsi => Some(&WIN_ANSI),
            Base::MacRoman => Some(&MAC_ROMAN),
            Base::BuiltIn => None,
        }
    }
}

/// What each of the 256 codes of a simple font reads as, before `ToUnicode` is consulted.
/// `builtin` are the (code, glyph name) pairs of an embedded Type 1 program's encoding; `type3`
/// reads the numbered names of bitmap fonts (`/a36`: code 36).
pub(super) fn simple_codes(
    doc: &Document,
    encoding: Option<&Object>,
    default: Base,
    builtin: &[(u8, String)],
    type3: bool,
) -> Vec<Option<Cow<'static, str>>> {
    let mut base = default;
    let mut differences: Option<&Vec<Object>> = None;
    match encoding.map(|e| deref(doc, e)) {
        Some(Object::Name(n)) => base = Base::from_name(n).unwrap_or(base),
        Some(Object::Dictionary(d)) => {
            if let Ok(Object::Name(n)) = d.get(b"BaseEncoding").map(|e| deref(doc, e)) {
                base = Base::from_name(n).unwrap_or(base);
            }
            if let Ok(Object::Array(a)) = d.get(b"Differences").map(|e| deref(doc, e)) {
                differences = Some(a);
            }
        }
        _ => {}
    }
    let mut codes: Vec<Option<Cow<'static, str>>> = vec![None; 256];
    match base.table() {
        Some(table) => {
            for (code, &unit) in table.iter().enumerate() {
                codes[code] = char::from_u32(u32::from(unit))
                    .filter(|_| unit != 0)
                    .map(|c| Cow::Owned(c.to_string()));
            }
        }
        None => {
            for (code, name) in builtin {
                codes[*code as usize] = glyph_name_text(name);
            }
        }
    }
    if let Some(diffs) = differences {
        apply_differences(doc, diffs, &mut codes, type3);
    }
    codes
}

/// `[code /name /name code /name ...]`: each name takes the next code.
fn apply_differences(
    doc: &Document,
    diffs: &[Object],
    codes: &mut [Option<Cow<'static, str>>],
    type3: bool,
) {
    let mut code: i64 = 0;
    for item in diffs {
        match deref(doc, item) {
            Object::Integer(n) => code = *n,
            Object::Real(n) => code = *n as i64,
            Object::Name(name) => {
                if let Some(slot) = usize::try_from(code).ok().and_then(|c| codes.get_mut(c)) {
                    let name = std::str::from_utf8(name).unwrap_or_default();
                    *slot = glyph_name_text(name).or_else(|| numbered(name).filter(|_| type3));
                }
                code += 1;
            }
            _ => {}
        }
    }
}

/// The text a glyph name stands for: the Adobe Glyph List, then `uniXXXX` (one or more
/// four-digit groups), `uXXXX`-`uXXXXXX`, and names joined with `_` (ligatures, `f_f_i`); a suffix
/// after `.` (`a.sc`, `one.oldstyle`) names a variant of the same character.
pub(super) fn glyph_name_text(name: &str) -> Option<Cow<'static, str>> {
    let base = name.split('.').next().unwrap_or(name);
    if base.is_empty() {
        return None;
    }
    if base.contains('_') {
        let parts: Option<String> = base
            .split('_')
            .map(|p| component_text(p).map(Cow::into_owned))
            .collect();
        return parts.map(Cow::Owned);
    }
    component_text(base)
}

fn component_text(name: &str) -> Option<Cow<'static, str>> {
    if let Some(text) = glyph_text(name) {
        return Some(Cow::Borrowed(text));
    }
    if let Some(hex) = name.strip_prefix("uni")
        && hex.len() >= 4
        && hex.len() % 4 == 0
    {
        let text: Option<String> = (0..hex.len() / 4)
            .map(|k| scalar(&hex[k * 4..k * 4 + 4]))
            .collect();
        return text.map(Cow::Owned);
    }
    if let Some(hex) = name.strip_prefix('u')
        && (4..=6).contains(&hex.len())
    {
        return scalar(hex).map(|c| Cow::Owned(c.to_string()));
    }
    None
}

/// The character of a bitmap font's numbered glyph name (`/a36`, `/c65`: dvips and pdfTeX name
/// Type 3 glyphs by their code), printable ASCII only, as pdftotext reads them.
fn numbered(name: &str) -> Option<Cow<'static, str>> {
    let digits = name.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let prefix = name.len() - digits.len();
    if !(1..=2).contains(&prefix) || !(2..=3).contains(&digits.len()) {
        return None;
    }
    let code: u8 = digits.parse().ok()?;
    (32..127)
        .contains(&code)
        .then(|| Cow::Owned(char::from(code).to_string()))
}

/// A hex code point that is a Unicode scalar (not a surrogate), upper-case digits as the AGL
/// specification requires.
fn scalar(hex: &str) -> Option<char> {
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
}

/// The encoding an embedded Type 1 program declares in its clear-text part: `dup 65 /A put` lines
/// (TeX's fonts carry their own encodings and pdfTeX often writes no `/Encoding` for them).
pub(super) fn type1_builtin(program: &[u8]) -> Vec<(u8, String)> {
    let clear = match find(program, b"eexec") {
        Some(end) => &program[..end],
        None => program,
    };
    let Some(start) = find(clear, b"/Encoding") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut words = clear[start..]
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .peekable();
    while let Some(w) = words.next() {
        if w == b"readonly" || w == b"def" && !out.is_empty() {
            break;
        }
        if w != b"dup" {
            continue;
        }
        let code = words
            .next()
            .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u8>().ok());
        let name = words.next().and_then(|n| n.strip_prefix(b"/"));
        if let (Some(code), Some(name)) = (code, name)
            && let Ok(name) = std::str::from_utf8(name)
        {
            out.push((code, name.to_string()));
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str) -> Option<String> {
        glyph_name_text(name).map(Cow::into_owned)
    }

    #[test]
    fn glyph_names_through_the_agl_and_its_conventions() {
        assert_eq!(text("A").as_deref(), Some("A"));
        assert_eq!(text("quoteright").as_deref(), Some("\u{2019}"));
        assert_eq!(text("ffi").as_deref(), Some("\u{FB03}"));
        assert_eq!(text("dotlessj").as_deref(), Some("\u{237}"));
        assert_eq!(text("uni00E9").as_deref(), Some("é"));
        assert_eq!(text("uni00660069").as_deref(), Some("fi"));
        assert_eq!(text("u1D400").as_deref(), Some("\u{1D400}"));
        assert_eq!(text("f_f_i").as_deref(), Some("ffi"));
        assert_eq!(text("a.sc").as_deref(), Some("a"));
        assert_eq!(text("uniD800"), None);
        assert_eq!(text("g123"), None);
        assert_eq!(numbered("a36").as_deref(), Some("$"));
        assert_eq!(numbered("a136"), None);
        assert_eq!(numbered("abc12"), None);
        assert_eq!(text(".notdef"), None);
    }

    #[test]
    fn differences_override_the_base_encoding() {
        let doc = Document::new();
        let mut dict = lopdf::Dictionary::new();
        dict.set("BaseEncoding", Object::Name(b"WinAnsiEncoding".to_vec()));
        let names = |n: &str| Object::Name(n.as_bytes().to_vec());
        let diffs = vec![
            39.into(),
            names("quotesingle"),
            128.into(),
            names("fi"),
            names("uni2022"),
        ];
        dict.set("Differences", diffs);
        let enc = Object::Dictionary(dict);
        let codes = simple_codes(&doc, Some(&enc), Base::Standard, &[], false);
        assert_eq!(codes[b'A' as usize].as_deref(), Some("A"));
        assert_eq!(codes[39].as_deref(), Some("'"));
        assert_eq!(codes[128].as_deref(), Some("\u{FB01}"));
        assert_eq!(codes[129].as_deref(), Some("\u{2022}"));
        // WinAnsi, not Standard: 0xE9 is é.
        assert_eq!(codes[0xE9].as_deref(), Some("é"));
    }

    #[test]
    fn reads_a_type1_programs_own_encoding() {
        let program = b"%!PS-AdobeFont-1.0: CMR10\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\n\
            dup 11 /ff put\ndup 65 /A put\nreadonly def\ncurrentfile eexec\x80\x81";
        let enc = type1_builtin(program);
        assert_eq!(enc, [(11, "ff".to_string()), (65, "A".to_string())]);
        let codes = simple_codes(&Document::new(), None, Base::BuiltIn, &enc, false);
        assert_eq!(codes[11].as_deref(), Some("\u{FB00}"));
        assert_eq!(codes[66], None);
    }
}
