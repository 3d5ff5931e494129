//! Glyph advances: a simple font's `FirstChar`/`Widths`/`MissingWidth`, a CID font's `W` array,
//! a Type 3 font's em, and the gap between glyphs that counts as a word space.

use lopdf::{Dictionary, Document, Object};

use super::objects::{as_number, deref, name, number};

/// 256 widths in glyph units and whether they came from the file (not guessed).
pub(super) fn simple_widths(
    doc: &Document,
    dict: &Dictionary,
    descriptor: Option<&Dictionary>,
) -> (Vec<f32>, bool) {
    let missing = descriptor
        .and_then(|d| number(doc, d, b"MissingWidth"))
        .unwrap_or(0.0);
    let first = number(doc, dict, b"FirstChar").unwrap_or(0.0) as i64;
    let mut widths = vec![missing; 256];
    match dict.get(b"Widths").ok().map(|w| deref(doc, w)) {
        Some(Object::Array(a)) if !a.is_empty() => {
            for (i, w) in a.iter().enumerate() {
                let code = first + i as i64;
                if let (Ok(code), Some(w)) = (usize::try_from(code), as_number(deref(doc, w)))
                    && code < 256
                {
                    widths[code] = w;
                }
            }
            (widths, true)
        }
        _ => {
            // The standard 14 fonts may omit widths; only Courier's are known without metrics.
            let base = name(doc, dict, b"BaseFont").unwrap_or_default();
            let courier = base.windows(7).any(|w| w == b"Courier");
            (vec![if courier { 600.0 } else { 500.0 }; 256], courier)
        }
    }
}

/// A CID font's `W` array: `c [w1 w2 ...]` and `c_first c_last w` entries.
pub(super) fn cid_widths(doc: &Document, font: &Dictionary) -> Vec<(u32, u32, f32)> {
    let Some(Object::Array(w)) = font.get(b"W").ok().map(|w| deref(doc, w)) else {
        return Vec::new();
    };
    let items: Vec<&Object> = w.iter().map(|o| deref(doc, o)).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < items.len() {
        let Some(first) = as_number(items[i]).map(|f| f as u32) else {
            i += 1;
            continue;
        };
        match items[i + 1] {
            Object::Array(list) => {
                for (k, w) in list.iter().enumerate() {
                    if let Some(w) = as_number(deref(doc, w)) {
                        let cid = first.saturating_add(k as u32);
                        out.push((cid, cid, w));
                    }
                }
                i += 2;
            }
            last => {
                let last = as_number(last).map(|l| l as u32);
                if let (Some(last), Some(w)) = (last, items.get(i + 2).and_then(|w| as_number(w))) {
                    out.push((first, last, w));
                }
                i += 3;
            }
        }
    }
    out.sort_unstable_by_key(|w| w.0);
    out
}

/// Type 3 glyphs have no em square: take twice the mean advance (text glyphs average half an em).
pub(super) fn type3_em(widths: &[f32], matrix: [f32; 6]) -> f32 {
    let widths: Vec<f32> = widths.iter().copied().filter(|w| *w > 0.0).collect();
    if widths.is_empty() {
        return (matrix[3].abs() * 1000.0).clamp(1e-3, 1e3);
    }
    let mean = widths.iter().sum::<f32>() / widths.len() as f32;
    (2.0 * mean * matrix[0].abs()).clamp(1e-3, 1e3)
}

/// The word-gap threshold in ems: half a space where the font has one, kept between the largest
/// kerns (about 0.1 em) and the narrowest justified spaces (about 0.2 em); loose when widths are
/// unknown, since guessed advances make every gap uncertain.
pub(super) fn gap_em(space: Option<f32>, widths_known: bool) -> f32 {
    if !widths_known {
        return 0.5;
    }
    space.map_or(0.15, |s| (0.5 * s).clamp(0.1, 0.2))
}
