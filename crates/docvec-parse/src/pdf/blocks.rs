//! Lines to blocks (paragraphs, headings, cells) by position, as pdfminer's layout analysis and
//! PyMuPDF's blocks do: a line joins an open block it sits just below and overlaps, so columns drawn
//! line by line across the page still read column by column; then running headers and footers that
//! repeat on most pages are dropped, and each block's lines are joined, hyphenated words mended.

use std::collections::HashMap;

use super::layout::Line;

/// A block of lines on one page.
#[derive(Debug, Clone)]
pub(super) struct TextBlock {
    pub text: String,
    pub page: u32,
    pub rot: u8,
    pub x0: f32,
    pub x1: f32,
    /// First and last baselines, in the lines' frame (growing down the page).
    pub top: f32,
    pub bottom: f32,
    /// The first line's size: a heading's, or the body size of a paragraph.
    pub size: f32,
    pub bold: bool,
    pub lines: usize,
    /// End of the last line, to tell a paragraph's short last line.
    last_x1: f32,
}

/// Open blocks a new line is compared with, most recent first.
const OPEN_BLOCKS: usize = 8;
/// Baselines further apart than this many ems are separate blocks.
const LINE_GAP_EM: f32 = 1.7;

/// Group one page's lines (in drawing order) into blocks, in reading order.
pub(super) fn page_blocks(lines: Vec<Line>, page: u32) -> Vec<TextBlock> {
    let mut blocks: Vec<TextBlock> = Vec::new();
    for line in lines {
        let open = blocks.len().saturating_sub(OPEN_BLOCKS);
        match (open..blocks.len())
            .rev()
            .find(|&i| fits(&blocks[i], &line))
        {
            Some(i) => append(&mut blocks[i], line),
            None => blocks.push(TextBlock {
                page,
                rot: line.rot,
                x0: line.x0,
                x1: line.x1,
                top: line.y,
                bottom: line.y,
                size: line.size,
                bold: line.bold,
                lines: 1,
                last_x1: line.x1,
                text: line.text,
            }),
        }
    }
    blocks
}

/// Whether `line` continues `block`: the next baseline down, overlapping it, at the same size and
/// weight, and not after a short line that ended a paragraph.
fn fits(block: &TextBlock, line: &Line) -> bool {
    let size = block.size.max(line.size);
    let down = line.y - block.bottom;
    let same_size = (block.size - line.size).abs() <= 0.15 * size;
    let overlaps = line.x0 < block.x1 + 0.5 * size && line.x1 > block.x0 - 0.5 * size;
    let width = block.x1 - block.x0;
    let ended = block.lines > 1 && block.last_x1 < block.x1 - (0.2 * width).max(2.0 * size);
    let heading_ends = block.lines == 1 && block.bold != line.bold;
    block.rot == line.rot
        && down > 0.2 * size
        && down < LINE_GAP_EM * size
        && same_size
        && overlaps
        && !ended
        && !heading_ends
}

fn append(block: &mut TextBlock, line: Line) {
    join_line(&mut block.text, &line.text);
    block.x0 = block.x0.min(line.x0);
    block.x1 = block.x1.max(line.x1);
    block.bottom = line.y;
    block.last_x1 = line.x1;
    block.lines += 1;
}

/// Join the next line to a block's text: a word broken by a hyphen at the line's end is mended,
/// otherwise a space separates the lines.
pub(super) fn join_line(text: &mut String, next: &str) {
    let mut tail = text.chars().rev();
    let (last, before) = (tail.next(), tail.next());
    let hyphen = matches!(last, Some('-' | '\u{AD}' | '\u{2010}'));
    let broken = hyphen
        && before.is_some_and(char::is_alphabetic)
        && next.chars().next().is_some_and(char::is_lowercase);
    if broken {
        text.pop();
    } else if last == Some('\u{AD}') {
        text.pop();
        text.push(' ');
    } else if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(next);
}

/// Where the running headers and footers are: the top and bottom tenth of each page.
pub(super) struct PageBox {
    pub top: f32,
    pub bottom: f32,
}

/// Drop blocks with words that repeat in a page's top or bottom margin on at least a third of the
/// pages (at least three): running heads and footers. Digits are masked so "Page 3" repeats.
pub(super) fn drop_running_heads(pages: &mut [Vec<TextBlock>], boxes: &[PageBox]) -> usize {
    if pages.len() < 3 {
        return 0;
    }
    // A page's only block is its text, not a running head (a file of "Page 1", "Page 2" ...).
    let margin_key = |b: &TextBlock, bx: &PageBox, page_blocks: usize| -> Option<String> {
        if page_blocks < 2 {
            return None;
        }
        let band = 0.1 * (bx.bottom - bx.top);
        let in_margin = b.top < bx.top + band || b.bottom > bx.bottom - band;
        // Words only: a page number alone repeats no words in every chunk, and pdftotext and
        // PyMuPDF keep it too.
        let words = b.text.chars().any(char::is_alphabetic);
        (b.rot == 0 && b.lines <= 2 && in_margin && words).then(|| signature(&b.text))
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (blocks, bx) in pages.iter().zip(boxes) {
        let mut seen: Vec<String> = blocks
            .iter()
            .filter_map(|b| margin_key(b, bx, blocks.len()))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for key in seen {
            *counts.entry(key).or_default() += 1;
        }
    }
    let needed = (pages.len() / 3).max(3);
    let mut dropped = 0;
    for (blocks, bx) in pages.iter_mut().zip(boxes) {
        let before = blocks.len();
        blocks.retain(|b| margin_key(b, bx, before).is_none_or(|k| counts[&k] < needed));
        dropped += before - blocks.len();
    }
    dropped
}

fn signature(text: &str) -> String {
    let masked: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                '#'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    masked.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, x0: f32, x1: f32, y: f32) -> Line {
        Line {
            text: text.into(),
            rot: 0,
            x0,
            x1,
            y,
            size: 10.0,
            bold: false,
        }
    }

    fn texts(blocks: &[TextBlock]) -> Vec<&str> {
        blocks.iter().map(|b| b.text.as_str()).collect()
    }

    #[test]
    fn columns_drawn_across_the_page_read_column_by_column() {
        // Left and right column lines interleaved as some producers draw them.
        let lines = vec![
            line("left one", 50.0, 250.0, 100.0),
            line("right one", 300.0, 500.0, 100.0),
            line("left two", 50.0, 250.0, 112.0),
            line("right two", 300.0, 500.0, 112.0),
        ];
        let blocks = page_blocks(lines, 1);
        assert_eq!(texts(&blocks), ["left one left two", "right one right two"]);
    }

    #[test]
    fn mends_hyphenated_words_and_splits_paragraphs_at_short_lines() {
        let lines = vec![
            line("a long line of text that is hyphen-", 50.0, 400.0, 100.0),
            line("ated and ends short.", 50.0, 200.0, 112.0),
            line("Next paragraph.", 50.0, 400.0, 124.0),
            line("Far below.", 50.0, 400.0, 200.0),
        ];
        let blocks = page_blocks(lines, 1);
        assert_eq!(
            texts(&blocks),
            [
                "a long line of text that is hyphenated and ends short.",
                "Next paragraph.",
                "Far below."
            ]
        );
        let mut text = String::from("well-");
        join_line(&mut text, "Known");
        assert_eq!(text, "well- Known");
    }

    #[test]
    fn drops_headers_repeated_in_the_margins() {
        let boxes: Vec<PageBox> = (0..4)
            .map(|_| PageBox {
                top: 0.0,
                bottom: 800.0,
            })
            .collect();
        let mut pages: Vec<Vec<TextBlock>> = (1..=4)
            .map(|p| {
                let lines = vec![
                    line("Journal of Things", 50.0, 200.0, 30.0),
                    line(&format!("Body text {p}"), 50.0, 500.0, 400.0),
                    line(&format!("{p}"), 290.0, 300.0, 780.0),
                ];
                page_blocks(lines, p)
            })
            .collect();
        assert_eq!(drop_running_heads(&mut pages, &boxes), 4);
        assert_eq!(texts(&pages[2]), ["Body text 3", "3"]);
        // Pages holding nothing but a line near the top keep it.
        let mut pages: Vec<Vec<TextBlock>> = (1..=4)
            .map(|p| page_blocks(vec![line(&format!("Potato {p}"), 50.0, 200.0, 30.0)], p))
            .collect();
        assert_eq!(drop_running_heads(&mut pages, &boxes), 0);
    }
}
