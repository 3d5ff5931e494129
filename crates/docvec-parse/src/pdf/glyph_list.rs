//! The Adobe Glyph List (glyph name to Unicode text), from `glyphlist.txt` beside this file: the
//! AGL's own format (`name;HHHH ...`, sorted by name), written by tools/gen_glyph_list.py from
//! fontTools' copy plus TeX names, with Adobe's notice. Parsed once, on the first name looked up.

use std::sync::OnceLock;

static TEXT: &str = include_str!("glyphlist.txt");

/// The text of glyph `name`, if the list has it.
pub(super) fn glyph_text(name: &str) -> Option<&'static str> {
    static GLYPHS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let glyphs = GLYPHS.get_or_init(|| {
        TEXT.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, codes) = l.split_once(';')?;
                let text = codes
                    .split_whitespace()
                    .filter_map(|h| u32::from_str_radix(h, 16).ok().and_then(char::from_u32))
                    .collect();
                Some((name, text))
            })
            .collect()
    });
    let i = glyphs
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
        .ok()?;
    Some(glyphs[i].1.as_str())
}

#[cfg(test)]
mod tests {
    use super::glyph_text;

    #[test]
    fn the_list_is_sorted_and_maps_names_to_text() {
        let names: Vec<&str> = super::TEXT
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(';').map(|(n, _)| n))
            .collect();
        assert!(names.len() > 4000);
        assert!(names.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
        assert_eq!(glyph_text("A"), Some("A"));
        assert_eq!(glyph_text("ffi"), Some("\u{FB03}"));
        assert_eq!(glyph_text("zerothai"), Some("\u{0E50}"));
        assert_eq!(glyph_text("cwm"), Some(""));
        assert_eq!(glyph_text("no-such-glyph"), None);
    }
}
