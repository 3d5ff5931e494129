//! Sections under a stack of headings, shared by the parsers of formats with headings (Markdown, HTML).

use docvec_types::{Block, BlockKind, Origin, Section};

#[derive(Default)]
pub(crate) struct Outline {
    pub sections: Vec<Section>,
    /// (level, heading) of the open headings above the current point.
    stack: Vec<(u8, String)>,
    /// The first level-1 heading, a title for documents that declare none.
    pub first_h1: Option<String>,
}

impl Outline {
    /// Open a section under `heading`, closing the sections of the same or deeper level.
    pub fn heading(&mut self, level: u8, heading: String) {
        while self.stack.last().is_some_and(|(l, _)| *l >= level) {
            self.stack.pop();
        }
        self.stack.push((level, heading.clone()));
        if level == 1 && self.first_h1.is_none() && !heading.is_empty() {
            self.first_h1 = Some(heading.clone());
        }
        self.sections.push(Section {
            heading: Some(heading),
            level,
            heading_path: self.stack.iter().map(|(_, h)| h.clone()).collect(),
            blocks: Vec::new(),
        });
    }

    /// Add a block of `kind` to the current section: code keeps its layout, tables their rows, other
    /// text is tidied; whitespace-only text adds nothing. `bytes` is where the text stands in the
    /// source, where the parser knows it.
    pub fn block(&mut self, raw: &str, kind: BlockKind, bytes: Option<(usize, usize)>) {
        let text = match kind {
            BlockKind::Code => raw.trim_matches('\n').trim_end().to_string(),
            BlockKind::Table => raw
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => crate::tidy_whitespace(raw)
                .split('\n')
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
        };
        if text.trim().is_empty() {
            return;
        }
        let text = if kind == BlockKind::ListItem {
            format!("- {text}")
        } else {
            text
        };
        if self.sections.is_empty() {
            self.sections.push(Section::untitled());
        }
        let current = self.sections.last_mut().expect("a section exists");
        current.blocks.push(Block {
            text,
            kind,
            page: None,
            origin: Origin {
                bytes,
                ..Origin::default()
            },
        });
    }
}
