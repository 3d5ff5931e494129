//! Markdown (CommonMark + tables) through pulldown-cmark: every heading opens a section; paragraphs,
//! list items, quotes, tables and code blocks become blocks of that section. Code blocks keep their
//! text verbatim so a chunk never re-flows code.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use docvec_types::{BlockKind, Format, ParsedDocument};

use crate::ParseError;
use crate::outline::Outline;

pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let source = crate::decode_text(bytes, Format::Markdown)?;
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let mut b = Builder::default();
    for (event, range) in Parser::new_ext(&source, options).into_offset_iter() {
        let opens = !matches!(event, Event::End(_) | Event::Rule);
        b.event(event);
        // A block's bytes run from the first event that opened it; closing events add nothing, as
        // their start events already spanned them, and they would leak into the next block.
        if opens && b.in_heading.is_none() && !b.in_metadata {
            let (start, end) = b.bytes.map_or((range.start, range.end), |(s, e)| {
                (s.min(range.start), e.max(range.end))
            });
            b.bytes = Some((start, end));
        }
    }
    b.flush();
    let mut doc = ParsedDocument::new(Format::Markdown);
    doc.title = b.outline.first_h1;
    doc.sections = b
        .outline
        .sections
        .into_iter()
        .filter(|s| s.heading.is_some() || !s.blocks.is_empty())
        .collect();
    doc.text = Some(source);
    Ok(doc)
}

#[derive(Default)]
struct Builder {
    outline: Outline,
    buf: String,
    in_heading: Option<u8>,
    in_code: bool,
    in_metadata: bool,
    items: usize,
    quotes: usize,
    in_table: bool,
    /// Bytes of the source the pending text came from.
    bytes: Option<(usize, usize)>,
}

impl Builder {
    fn kind(&self) -> BlockKind {
        if self.in_code {
            BlockKind::Code
        } else if self.in_table {
            BlockKind::Table
        } else if self.items > 0 {
            BlockKind::ListItem
        } else if self.quotes > 0 {
            BlockKind::Quote
        } else {
            BlockKind::Paragraph
        }
    }

    /// Close the pending text as a block of the current kind.
    fn flush(&mut self) {
        let raw = std::mem::take(&mut self.buf);
        let bytes = self.bytes.take();
        self.outline.block(&raw, self.kind(), bytes);
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => self.in_metadata = true,
            Event::End(TagEnd::MetadataBlock(_)) => self.in_metadata = false,
            _ if self.in_metadata => {}
            Event::Start(Tag::Heading { level, .. }) => {
                self.flush();
                self.in_heading = Some(heading_level(level));
            }
            Event::End(TagEnd::Heading(_)) => {
                let level = self.in_heading.take().unwrap_or(1);
                let heading =
                    crate::tidy_whitespace(&std::mem::take(&mut self.buf)).replace('\n', " ");
                self.bytes = None;
                self.outline.heading(level, heading);
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                self.flush();
                self.in_code = true;
                if let CodeBlockKind::Fenced(lang) = kind {
                    let lang = lang.split([',', ' ']).next().unwrap_or_default();
                    if !lang.is_empty() {
                        // Keep the language: it is a useful search term ("toml", "rust").
                        self.buf.push_str(&format!("[{lang}]\n"));
                    }
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                self.flush();
                self.in_code = false;
            }
            Event::Start(Tag::Item) => {
                self.flush();
                self.items += 1;
            }
            Event::End(TagEnd::Item) => {
                self.flush();
                self.items = self.items.saturating_sub(1);
            }
            Event::Start(Tag::BlockQuote(_)) => {
                self.flush();
                self.quotes += 1;
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                self.flush();
                self.quotes = self.quotes.saturating_sub(1);
            }
            Event::Start(Tag::Table(_)) => {
                self.flush();
                self.in_table = true;
            }
            Event::End(TagEnd::Table) => {
                self.flush();
                self.in_table = false;
            }
            Event::End(TagEnd::TableCell) => self.buf.push_str(" | "),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                let row = self.buf.trim_end().trim_end_matches('|').trim_end().len();
                self.buf.truncate(row);
                self.buf.push('\n');
            }
            Event::End(TagEnd::Paragraph) => {
                if self.items > 0 {
                    // Loose list items hold paragraphs; keep them in the item's block.
                    self.buf.push('\n');
                } else {
                    self.flush();
                }
            }
            Event::Text(t) | Event::Code(t) => self.buf.push_str(&t),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.buf.push_str(&t),
            Event::SoftBreak => self.buf.push(' '),
            Event::HardBreak => self.buf.push('\n'),
            Event::TaskListMarker(done) => self.buf.push_str(if done { "[x] " } else { "[ ] " }),
            Event::Rule => self.flush(),
            // Raw HTML and footnote markers carry markup, not prose.
            _ => {}
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---\ntitle: x\n---\nIntro text.\n\n# Guide\n\nHello *world*.\n\n## Install\n\n- one\n- two `code`\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n# Next\n\n> quoted\n";

    #[test]
    fn headings_open_sections_with_paths() {
        let doc = parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("Guide"));
        let headings: Vec<_> = doc.sections.iter().map(|s| s.heading.clone()).collect();
        assert_eq!(
            headings,
            [
                None,
                Some("Guide".into()),
                Some("Install".into()),
                Some("Next".into())
            ]
        );
        assert_eq!(doc.sections[2].heading_path, ["Guide", "Install"]);
        assert_eq!(doc.sections[3].heading_path, ["Next"]);
        assert_eq!(doc.sections[0].blocks[0].text, "Intro text.");
    }

    #[test]
    fn keeps_code_lists_and_tables_in_their_section() {
        let doc = parse(SAMPLE.as_bytes()).unwrap();
        let install = &doc.sections[2];
        let kinds: Vec<_> = install.blocks.iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            [
                BlockKind::ListItem,
                BlockKind::ListItem,
                BlockKind::Code,
                BlockKind::Table
            ]
        );
        assert_eq!(install.blocks[1].text, "- two code");
        assert_eq!(
            install.blocks[2].text,
            "[rust]\nfn main() {\n    println!(\"hi\");\n}"
        );
        assert_eq!(install.blocks[3].text, "a | b\n1 | 2");
        assert_eq!(doc.sections[3].blocks[0].kind, BlockKind::Quote);
    }

    #[test]
    fn front_matter_is_not_text() {
        let doc = parse(SAMPLE.as_bytes()).unwrap();
        assert!(
            doc.sections
                .iter()
                .flat_map(|s| &s.blocks)
                .all(|b| !b.text.contains("title: x"))
        );
    }
}
