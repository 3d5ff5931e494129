//! Glyphs to words and lines, from where each glyph sits: a space where the pen skipped more than
//! the font's word gap, a new line where the baseline moved or the pen jumped back or far ahead.
//! Kerning (small gaps and overlaps) never splits a word; an accent drawn over its letter joins it.

/// One glyph as the interpreter placed it, in device space.
pub(super) struct Placed<'a> {
    pub origin: (f32, f32),
    /// Where the glyph's own advance ends (character and word spacing not included).
    pub end: (f32, f32),
    /// Unit vector along the baseline.
    pub dir: (f32, f32),
    /// Font size in device units (the em's height).
    pub size: f32,
    pub text: &'a str,
    pub gap_em: f32,
    pub bold: bool,
}

/// A line of text in its own upright frame: `x` along the baseline, `y` across it, growing down
/// the page, so rotated text lays out like upright text.
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub text: String,
    /// Baseline direction in quarter turns (0: left to right, 1: upwards, ...).
    pub rot: u8,
    pub x0: f32,
    pub x1: f32,
    pub y: f32,
    /// The largest glyph's size.
    pub size: f32,
    pub bold: bool,
}

/// The pen after the last glyph of the line being built.
struct Pen {
    origin: (f32, f32),
    end: (f32, f32),
    dir: (f32, f32),
    size: f32,
    gap_em: f32,
    /// A space glyph was drawn since the last visible glyph.
    space: bool,
    /// The last glyph is an accent overlapping the letter before it: it is that letter's, unless
    /// the next glyph is drawn under it.
    accent_back: bool,
}

/// A page's visible area in device space: (x0, y0, x1, y1).
pub(super) type Rect = (f32, f32, f32, f32);

#[derive(Default)]
pub(super) struct LineBuilder {
    /// Glyphs placed outside it are not on the page (Beamer hides covered overlays 2000 pt away).
    clip: Option<Rect>,
    lines: Vec<Line>,
    current: Option<(Line, Pen)>,
    bold_chars: usize,
    chars: usize,
}

/// A pen jump back of more than this many ems starts a new line (an accent overlaps its letter by
/// less than one).
const BACK_EM: f32 = 1.0;
/// A jump ahead of more than this many ems on the same baseline starts a new line: a table cell or
/// another column, not a word space.
const AHEAD_EM: f32 = 1.5;
/// Baselines closer than this many ems are one line (superscripts and subscripts stay in it).
const BASELINE_EM: f32 = 0.5;

impl LineBuilder {
    pub fn new(clip: Rect) -> LineBuilder {
        LineBuilder {
            clip: Some(clip),
            ..LineBuilder::default()
        }
    }

    pub fn glyph(&mut self, g: &Placed) {
        if let Some((x0, y0, x1, y1)) = self.clip {
            // A glyph straddling the edge by up to its own size still counts, as in pdftotext.
            let (x, y) = g.origin;
            if x < x0 - g.size || x > x1 + g.size || y < y0 - g.size || y > y1 + g.size {
                return;
            }
        }
        let blank = g.text.chars().all(char::is_whitespace);
        if let Some((line, pen)) = &mut self.current
            && continues(pen, g)
        {
            let along = dot(sub(g.origin, pen.end), pen.dir);
            if blank {
                // A glyph with no known text leaves its advance as a gap (it is most often an
                // unmapped space glyph); a space glyph is a space.
                if !g.text.is_empty() {
                    pen.space = true;
                    pen.end = g.end;
                }
                return;
            }
            let overlap = along < 0.0;
            if overlap && accent_over(&mut line.text, g.text) {
                pen.end = furthest(pen.end, g.end, pen.dir);
                pen.accent_back = false;
                return;
            }
            if pen.accent_back {
                accent_back(&mut line.text);
            }
            let threshold = pen.gap_em.max(g.gap_em) * 0.5 * (pen.size + g.size);
            let space = (pen.space || along > threshold) && !line.text.ends_with(' ');
            if space {
                line.text.push(' ');
            }
            let accent_back = !space
                && overlap
                && lone_accent(g.text)
                && line.text.chars().last().is_some_and(char::is_alphabetic);
            line.text.push_str(g.text);
            *pen = Pen {
                origin: g.origin,
                end: furthest(g.end, pen.end, pen.dir),
                dir: pen.dir,
                size: g.size,
                gap_em: g.gap_em,
                space: false,
                accent_back,
            };
            let (u0, u1) = (along_axis(g.origin, line.rot), along_axis(g.end, line.rot));
            line.x0 = line.x0.min(u0.min(u1));
            line.x1 = line.x1.max(u0.max(u1));
            line.size = line.size.max(g.size);
            self.count(g);
            return;
        }
        self.finish_line();
        if blank {
            return;
        }
        let rot = quarter_turns(g.dir);
        let (u0, u1) = (along_axis(g.origin, rot), along_axis(g.end, rot));
        let line = Line {
            text: g.text.to_string(),
            rot,
            x0: u0.min(u1),
            x1: u0.max(u1),
            y: across_axis(g.origin, rot),
            size: g.size,
            bold: false,
        };
        let pen = Pen {
            origin: g.origin,
            end: g.end,
            dir: g.dir,
            size: g.size,
            gap_em: g.gap_em,
            space: false,
            accent_back: false,
        };
        self.current = Some((line, pen));
        self.count(g);
    }

    fn count(&mut self, g: &Placed) {
        self.chars += 1;
        self.bold_chars += usize::from(g.bold);
    }

    fn finish_line(&mut self) {
        if let Some((mut line, pen)) = self.current.take() {
            if pen.accent_back {
                accent_back(&mut line.text);
            }
            let trimmed = line.text.trim_end().len();
            line.text.truncate(trimmed);
            line.bold = self.bold_chars * 2 > self.chars;
            (self.chars, self.bold_chars) = (0, 0);
            if !line.text.is_empty() {
                self.lines.push(line);
            }
        }
    }

    /// The lines of the page, in the order they were drawn.
    pub fn finish(mut self) -> Vec<Line> {
        self.finish_line();
        self.lines
    }
}

/// Whether glyph `g` continues the line the pen is on.
fn continues(pen: &Pen, g: &Placed) -> bool {
    if dot(pen.dir, g.dir) < 0.95 {
        return false;
    }
    let size = pen.size.max(g.size).max(f32::EPSILON);
    let across = cross(pen.dir, sub(g.origin, pen.origin));
    let along = dot(sub(g.origin, pen.end), pen.dir);
    across.abs() < BASELINE_EM * size && along > -BACK_EM * size && along < AHEAD_EM * size
}

/// A letter drawn under the spacing accent just before it (TeX's `\accent` draws the accent
/// first): the letter and its combining mark replace the accent. False when that is not the case.
fn accent_over(text: &mut String, next: &str) -> bool {
    let mut next_chars = next.chars();
    let (Some(letter), None) = (next_chars.next(), next_chars.next()) else {
        return false;
    };
    match text.chars().last().and_then(combining) {
        Some(mark) if letter.is_alphabetic() => {
            text.pop();
            text.push(letter);
            text.push(mark);
            true
        }
        _ => false,
    }
}

/// The accent at the end of `text` belongs to the letter before it: make it a combining mark.
fn accent_back(text: &mut String) {
    if let Some(mark) = text.chars().last().and_then(combining) {
        text.pop();
        text.push(mark);
    }
}

fn lone_accent(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(
        (chars.next().and_then(combining), chars.next()),
        (Some(_), None)
    )
}

/// The combining mark of a spacing accent.
fn combining(c: char) -> Option<char> {
    Some(match c {
        '`' | '\u{2CB}' => '\u{300}',
        '\u{B4}' | '\u{2CA}' => '\u{301}',
        '^' | '\u{2C6}' => '\u{302}',
        '~' | '\u{2DC}' => '\u{303}',
        '\u{AF}' | '\u{2C9}' => '\u{304}',
        '\u{2D8}' => '\u{306}',
        '\u{2D9}' => '\u{307}',
        '\u{A8}' => '\u{308}',
        '\u{2DA}' => '\u{30A}',
        '\u{2DD}' => '\u{30B}',
        '\u{2C7}' => '\u{30C}',
        '\u{B8}' => '\u{327}',
        '\u{2DB}' => '\u{328}',
        _ => return None,
    })
}

fn furthest(a: (f32, f32), b: (f32, f32), dir: (f32, f32)) -> (f32, f32) {
    if dot(a, dir) >= dot(b, dir) { a } else { b }
}

fn quarter_turns(dir: (f32, f32)) -> u8 {
    if dir.0.abs() >= dir.1.abs() {
        if dir.0 >= 0.0 { 0 } else { 2 }
    } else if dir.1 >= 0.0 {
        1
    } else {
        3
    }
}

/// The unit vector of `rot` quarter turns.
fn axis(rot: u8) -> (f32, f32) {
    match rot {
        0 => (1.0, 0.0),
        1 => (0.0, 1.0),
        2 => (-1.0, 0.0),
        _ => (0.0, -1.0),
    }
}

fn along_axis(p: (f32, f32), rot: u8) -> f32 {
    dot(p, axis(rot))
}

/// Distance across the baseline, growing down the page in the line's own frame.
fn across_axis(p: (f32, f32), rot: u8) -> f32 {
    -cross(axis(rot), p)
}

fn sub(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 - b.0, a.1 - b.1)
}

fn dot(a: (f32, f32), b: (f32, f32)) -> f32 {
    a.0 * b.0 + a.1 * b.1
}

fn cross(a: (f32, f32), b: (f32, f32)) -> f32 {
    a.0 * b.1 - a.1 * b.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyphs of a 10-unit font along y = `y`, each (x, width, text).
    fn line_of(b: &mut LineBuilder, y: f32, glyphs: &[(f32, f32, &str)]) {
        for &(x, w, text) in glyphs {
            b.glyph(&Placed {
                origin: (x, y),
                end: (x + w, y),
                dir: (1.0, 0.0),
                size: 10.0,
                text,
                gap_em: 0.15,
                bold: false,
            });
        }
    }

    fn texts(b: LineBuilder) -> Vec<String> {
        b.finish().into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn spaces_words_by_gap_not_by_kerning() {
        let mut b = LineBuilder::default();
        // "AV" kerned together (-0.8 units), then a 3.3-unit word gap, then a tiny +0.5 kern.
        line_of(
            &mut b,
            700.0,
            &[
                (0.0, 7.0, "A"),
                (6.2, 7.0, "V"),
                (16.5, 5.0, "o"),
                (22.0, 5.0, "k"),
            ],
        );
        assert_eq!(texts(b), ["AV ok"]);
    }

    #[test]
    fn explicit_spaces_count_once_and_baseline_moves_break_lines() {
        let mut b = LineBuilder::default();
        line_of(
            &mut b,
            700.0,
            &[(0.0, 5.0, "a"), (5.0, 2.5, " "), (10.0, 5.0, "b")],
        );
        line_of(&mut b, 688.0, &[(0.0, 5.0, "c")]);
        // A superscript 3.5 units up stays on its line.
        line_of(&mut b, 691.5, &[(5.0, 3.0, "2")]);
        assert_eq!(texts(b), ["a b", "c2"]);
    }

    #[test]
    fn jumps_back_or_far_ahead_start_new_lines() {
        let mut b = LineBuilder::default();
        line_of(
            &mut b,
            700.0,
            &[(300.0, 5.0, "r"), (0.0, 5.0, "l"), (40.0, 5.0, "x")],
        );
        assert_eq!(texts(b), ["r", "l", "x"]);
    }

    #[test]
    fn accents_drawn_over_letters_join_them() {
        let mut b = LineBuilder::default();
        // TeX's \'e: the accent, then the letter drawn back under it.
        let glyphs = [
            (0.0, 4.4, "c"),
            (4.4, 5.0, "a"),
            (9.4, 3.0, "f"),
            (12.9, 5.0, "\u{B4}"),
        ];
        line_of(&mut b, 700.0, &glyphs);
        line_of(&mut b, 700.0, &[(12.4, 4.4, "e")]);
        // An accent wider than its letter starts over the letter before; it still goes forward.
        line_of(
            &mut b,
            700.0,
            &[(17.0, 3.0, "s"), (19.8, 5.0, "\u{B4}"), (20.0, 4.4, "e")],
        );
        // An accent after its letter, nothing drawn under it.
        line_of(
            &mut b,
            700.0,
            &[(24.4, 4.0, "o"), (25.0, 4.0, "\u{A8}"), (29.0, 4.0, "k")],
        );
        assert_eq!(texts(b), ["cafe\u{301}se\u{301}o\u{308}k"]);
    }

    #[test]
    fn glyphs_off_the_page_are_not_text() {
        let mut b = LineBuilder::new((0.0, 0.0, 600.0, 800.0));
        line_of(&mut b, 700.0, &[(10.0, 5.0, "a")]);
        line_of(&mut b, 2700.0, &[(2010.0, 5.0, "hidden")]);
        assert_eq!(texts(b), ["a"]);
    }

    #[test]
    fn rotated_text_lays_out_in_its_own_frame() {
        let mut b = LineBuilder::default();
        for (i, c) in ["u", "p"].iter().enumerate() {
            let y = 100.0 + 6.0 * i as f32;
            b.glyph(&Placed {
                origin: (50.0, y),
                end: (50.0, y + 5.0),
                dir: (0.0, 1.0),
                size: 10.0,
                text: c,
                gap_em: 0.15,
                bold: false,
            });
        }
        let lines = b.finish();
        assert_eq!(lines[0].text, "up");
        assert_eq!(lines[0].rot, 1);
        assert_eq!((lines[0].x0, lines[0].x1), (100.0, 111.0));
    }
}
