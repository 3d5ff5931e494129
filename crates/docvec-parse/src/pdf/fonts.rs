//! Fonts as the text extractor needs them: how a string's bytes split into codes, each code's text
//! and advance width, the gap that separates words, and whether the face is bold.
//!
//! Loading never fails: a font whose widths or maps cannot be read still yields codes with a default
//! width, so its page's text comes out, only with rougher spacing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use lopdf::{Dictionary, Document, Object, ObjectId};

use super::cmap::{CMap, TextRef};
use super::encoding::{self, Base};
use super::objects::{as_number, deref, dict_at, name, number};
use super::widths;

/// Bytes one embedded font program or CMap may decompress to.
const MAX_FONT_STREAM: usize = 32 * 1024 * 1024;

/// One code of a shown string: its text (if any is known) and its advance in text space units per
/// unit of font size.
pub(super) struct Glyph<'a> {
    pub text: Option<TextRef<'a>>,
    pub width: f32,
    /// A single-byte code 32, the only code `Tw` (word spacing) applies to.
    pub word_space: bool,
}

/// A simple font's code: its text and width in glyph units.
struct Slot {
    text: Option<Box<str>>,
    width: f32,
}

enum Codes {
    /// One byte per code, 256 slots.
    Simple(Vec<Slot>),
    Composite(Box<Composite>),
}

struct Composite {
    /// The embedded encoding CMap: codespace and code-to-CID; `None` for `Identity-H/V` and the
    /// predefined CMaps, read as two-byte codes.
    encoding: Option<CMap>,
    /// Codes are UCS-2 / UTF-16 (the `Uni*-UCS2-*`, `Uni*-UTF16-*` CMaps): text without `ToUnicode`.
    unicode_codes: bool,
    to_unicode: Option<CMap>,
    /// (first CID, last CID, width) from `W`, sorted.
    widths: Vec<(u32, u32, f32)>,
    default_width: f32,
}

pub(super) struct Font {
    codes: Codes,
    /// Glyph units to text space: 0.001, or a Type 3 font's `FontMatrix` x scale.
    width_scale: f32,
    /// This font's em relative to the font size (1 except for Type 3 fonts).
    pub em: f32,
    /// A gap wider than this (in ems) between glyphs is a word space.
    pub gap_em: f32,
    pub bold: bool,
}

impl Font {
    pub fn load(doc: &Document, dict: &Dictionary) -> Font {
        let subtype = name(doc, dict, b"Subtype").unwrap_or_default();
        if subtype == b"Type0" {
            return load_composite(doc, dict);
        }
        load_simple(doc, dict, subtype == b"Type3")
    }

    /// Each code of `bytes` with its text and width.
    pub fn glyphs<'a>(&'a self, bytes: &'a [u8]) -> impl Iterator<Item = Glyph<'a>> + 'a {
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= bytes.len() {
                return None;
            }
            Some(match &self.codes {
                Codes::Simple(slots) => {
                    let code = bytes[pos];
                    pos += 1;
                    let slot = &slots[code as usize];
                    Glyph {
                        text: slot.text.as_deref().map(text_ref),
                        width: slot.width * self.width_scale,
                        word_space: code == b' ',
                    }
                }
                Codes::Composite(c) => {
                    let (code, len) = match &c.encoding {
                        Some(cmap) => cmap.next_code(bytes, pos),
                        None if pos + 1 < bytes.len() => {
                            (u32::from(bytes[pos]) << 8 | u32::from(bytes[pos + 1]), 2)
                        }
                        None => (u32::from(bytes[pos]), 1),
                    };
                    pos += len;
                    let cid = c.encoding.as_ref().map_or(Some(code), |e| e.cid(code));
                    Glyph {
                        text: c.text(code),
                        width: cid.map_or(c.default_width, |cid| c.width(cid)) * self.width_scale,
                        word_space: len == 1 && code == 32,
                    }
                }
            })
        })
    }
}

fn text_ref(s: &str) -> TextRef<'_> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => TextRef::Char(c),
        _ => TextRef::Str(s),
    }
}

impl Composite {
    fn text(&self, code: u32) -> Option<TextRef<'_>> {
        if let Some(t) = self.to_unicode.as_ref().and_then(|m| m.text(code)) {
            return Some(t);
        }
        if self.unicode_codes {
            return char::from_u32(code).map(TextRef::Char);
        }
        None
    }

    fn width(&self, cid: u32) -> f32 {
        let i = self.widths.partition_point(|w| w.0 <= cid);
        match i.checked_sub(1).map(|i| self.widths[i]) {
            Some((_, hi, w)) if cid <= hi => w,
            _ => self.default_width,
        }
    }
}

fn load_simple(doc: &Document, dict: &Dictionary, type3: bool) -> Font {
    let descriptor = dict_at(doc, dict, b"FontDescriptor");
    let (program, is_type1) = descriptor.map_or((None, false), |d| font_program(doc, d));
    let builtin = match (&program, is_type1) {
        (Some(p), true) => encoding::type1_builtin(p),
        _ => Vec::new(),
    };
    let symbolic = descriptor
        .and_then(|d| number(doc, d, b"Flags"))
        .is_some_and(|f| (f as i64) & 4 != 0);
    let truetype = name(doc, dict, b"Subtype") == Some(b"TrueType");
    let default = if !builtin.is_empty() || (symbolic && !truetype) {
        Base::BuiltIn
    } else if truetype {
        Base::WinAnsi
    } else {
        Base::Standard
    };
    let encoding = dict.get(b"Encoding").ok();
    let mut encoded = encoding::simple_codes(doc, encoding, default, &builtin, type3);
    if default == Base::BuiltIn && builtin.is_empty() && encoded.iter().all(Option::is_none) {
        // A symbolic font with no readable program: its codes are most often plain Latin-1.
        for (code, slot) in encoded.iter_mut().enumerate().skip(32) {
            *slot = char::from_u32(code as u32).map(|c| Cow::Owned(c.to_string()));
        }
    }
    let to_unicode = to_unicode(doc, dict);
    let (widths, widths_known) = widths::simple_widths(doc, dict, descriptor);
    let slots: Vec<Slot> = (0..256u32)
        .map(|code| {
            let mapped = to_unicode
                .as_ref()
                .and_then(|m| m.text(code))
                .map(|t| match t {
                    TextRef::Char(c) => c.to_string(),
                    TextRef::Str(s) => s.to_string(),
                });
            // Last, a printable ASCII code stands for itself, as pdftotext and PyMuPDF read
            // glyphs whose names say nothing (TeX's picture and symbol fonts).
            let text = mapped
                .filter(|t| !t.is_empty() && t != "\0" && t != "\u{FFFD}")
                .or_else(|| encoded[code as usize].take().map(Cow::into_owned))
                .or_else(|| {
                    (0x21..0x7F)
                        .contains(&code)
                        .then(|| char::from(code as u8).to_string())
                });
            Slot {
                text: text.map(String::into_boxed_str),
                width: widths[code as usize],
            }
        })
        .collect();
    let matrix = type3.then(|| font_matrix(doc, dict)).flatten();
    let width_scale = matrix.map_or(0.001, |m| m[0].abs());
    let em = match matrix {
        Some(m) => widths::type3_em(&widths, m),
        None => 1.0,
    };
    let space = slots
        .iter()
        .find(|s| s.text.as_deref() == Some(" ") && s.width > 0.0)
        .map(|s| s.width * width_scale / em);
    Font {
        codes: Codes::Simple(slots),
        width_scale,
        em,
        gap_em: widths::gap_em(space, widths_known),
        bold: is_bold(doc, dict, descriptor),
    }
}

fn load_composite(doc: &Document, dict: &Dictionary) -> Font {
    let descendant = match dict.get(b"DescendantFonts").ok().map(|d| deref(doc, d)) {
        Some(Object::Array(a)) => a.first().and_then(|d| deref(doc, d).as_dict().ok()),
        _ => None,
    };
    let (mut encoding, mut unicode_codes) = (None, false);
    match dict.get(b"Encoding").ok().map(|e| deref(doc, e)) {
        Some(Object::Name(n)) => {
            unicode_codes =
                n.windows(4).any(|w| w == b"UCS2") || n.windows(5).any(|w| w == b"UTF16");
        }
        Some(Object::Stream(s)) => {
            let cmap = stream_bytes(s).map(|b| CMap::parse(&b));
            encoding = cmap.filter(CMap::has_codespace);
        }
        _ => {}
    }
    let default_width = descendant
        .and_then(|d| number(doc, d, b"DW"))
        .unwrap_or(1000.0);
    let widths = descendant.map_or_else(Vec::new, |d| widths::cid_widths(doc, d));
    let descriptor = descendant.and_then(|d| dict_at(doc, d, b"FontDescriptor"));
    let composite = Composite {
        encoding,
        unicode_codes,
        to_unicode: to_unicode(doc, dict),
        widths,
        default_width,
    };
    Font {
        codes: Codes::Composite(Box::new(composite)),
        width_scale: 0.001,
        em: 1.0,
        gap_em: widths::gap_em(None, true),
        bold: is_bold(doc, dict, descriptor),
    }
}

fn to_unicode(doc: &Document, dict: &Dictionary) -> Option<CMap> {
    let stream = deref(doc, dict.get(b"ToUnicode").ok()?).as_stream().ok()?;
    let cmap = CMap::parse(&stream_bytes(stream)?);
    (!cmap.is_empty()).then_some(cmap)
}

/// The embedded program (`FontFile` Type 1, `FontFile2` TrueType, `FontFile3` CFF/OpenType) and
/// whether it is a Type 1 program, whose clear text holds its encoding.
fn font_program(doc: &Document, descriptor: &Dictionary) -> (Option<Vec<u8>>, bool) {
    if let Ok(Object::Stream(s)) = descriptor.get(b"FontFile").map(|f| deref(doc, f)) {
        return (stream_bytes(s).map(Cow::into_owned), true);
    }
    (None, false)
}

pub(super) fn stream_bytes(stream: &lopdf::Stream) -> Option<Cow<'_, [u8]>> {
    if stream.filters().map_or(true, |f| f.is_empty()) {
        return Some(Cow::Borrowed(&stream.content));
    }
    stream
        .decompressed_content_with_limit(MAX_FONT_STREAM)
        .ok()
        .map(Cow::Owned)
}

fn font_matrix(doc: &Document, dict: &Dictionary) -> Option<[f32; 6]> {
    let Object::Array(a) = deref(doc, dict.get(b"FontMatrix").ok()?) else {
        return None;
    };
    let v: Vec<f32> = a.iter().filter_map(|o| as_number(deref(doc, o))).collect();
    let m: [f32; 6] = v.try_into().ok()?;
    (m[0].is_finite() && m[0] != 0.0 && m[3].is_finite()).then_some(m)
}

fn is_bold(doc: &Document, dict: &Dictionary, descriptor: Option<&Dictionary>) -> bool {
    if let Some(d) = descriptor {
        let weight = number(doc, d, b"FontWeight").unwrap_or(0.0);
        let flags = number(doc, d, b"Flags").unwrap_or(0.0) as i64;
        if weight >= 600.0 || flags & (1 << 18) != 0 {
            return true;
        }
    }
    let base = name(doc, dict, b"BaseFont").unwrap_or_default();
    let base = String::from_utf8_lossy(base).to_ascii_lowercase();
    // After a subset tag (`ABCDEF+`); TeX's bold faces are `cmbx`, `sfbx` and friends.
    let base = base.rsplit('+').next().unwrap_or(&base);
    ["bold", "black", "heavy", "semibold", "demi"]
        .iter()
        .any(|w| base.contains(w))
        || ["cmbx", "cmb10", "sfbx", "ecbx", "cmssbx"]
            .iter()
            .any(|p| base.starts_with(p))
}

/// Loaded fonts of one document, shared by every page and form that uses them.
#[derive(Default)]
pub(super) struct FontCache {
    fonts: HashMap<FontKey, Rc<Font>>,
}

#[derive(Hash, PartialEq, Eq)]
enum FontKey {
    Object(ObjectId),
    /// A font dictionary written inline in a resource dictionary, by its address in the document.
    Inline(usize),
}

impl FontCache {
    pub fn get(&mut self, doc: &Document, font: &Object) -> Option<Rc<Font>> {
        let (key, dict) = match font {
            Object::Reference(id) => (FontKey::Object(*id), doc.get_dictionary(*id).ok()?),
            Object::Dictionary(d) => (FontKey::Inline(d as *const Dictionary as usize), d),
            _ => return None,
        };
        let font = self
            .fonts
            .entry(key)
            .or_insert_with(|| Rc::new(Font::load(doc, dict)));
        Some(Rc::clone(font))
    }
}
