//! HTML through html5ever (scraper): the main text, with headings as sections. Scripts, styles, forms
//! and navigation chrome (`nav`, `header`, `footer`, `aside`, ARIA navigation roles, and elements whose
//! class or id says menu, navbar, breadcrumb, sidebar or nosearch) are dropped.

use ego_tree::NodeRef;
use scraper::{ElementRef, Html, Node};

use docvec_types::{BlockKind, Format, ParsedDocument};

use crate::ParseError;
use crate::outline::Outline;

/// Elements whose whole subtree is not content.
const SKIP: &[&str] = &[
    "head", "script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object",
    "embed", "form", "button", "select", "option", "textarea", "input", "nav", "header", "footer",
    "aside", "dialog",
];
/// ARIA roles of page chrome.
const SKIP_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "search",
    "menu",
    "menubar",
    "complementary",
];
/// Class or id words that mark page chrome (matched as whole `-`/`_`-separated words).
const SKIP_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "mainmenu",
    "submenu",
    "breadcrumb",
    "breadcrumbs",
    "sidebar",
    "nosearch",
    "noindex",
    "cookie",
    "skip",
];
/// Elements that end the running paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "figure",
    "figcaption",
    "caption",
    "details",
    "summary",
    "address",
    "hr",
    "br",
    "center",
    "fieldset",
    "legend",
];

pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let source = crate::decode_text(bytes, Format::Html)?;
    let html = Html::parse_document(&source);
    let mut w = Walker::default();
    let title = html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "title")
        .map(|e| crate::tidy_whitespace(&e.text().collect::<String>()).replace('\n', " "))
        .filter(|t| !t.is_empty());
    let body = html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "body");
    w.walk(*body.unwrap_or_else(|| html.root_element()));
    w.flush();
    let mut doc = ParsedDocument::new(Format::Html);
    doc.title = title.or(w.outline.first_h1);
    doc.sections = w
        .outline
        .sections
        .into_iter()
        .filter(|s| !s.blocks.is_empty())
        .collect();
    Ok(doc)
}

#[derive(Default)]
struct Walker {
    outline: Outline,
    buf: String,
    kind: Option<BlockKind>,
}

fn is_chrome(e: &scraper::node::Element) -> bool {
    if SKIP.contains(&e.name())
        || e.attr("hidden").is_some()
        || e.attr("aria-hidden") == Some("true")
    {
        return true;
    }
    if e.attr("role").is_some_and(|r| SKIP_ROLES.contains(&r)) {
        return true;
    }
    let words = |s: &str| {
        s.split(['-', '_', ' '])
            .any(|w| SKIP_WORDS.contains(&w.to_ascii_lowercase().as_str()))
    };
    e.classes().any(words) || e.id().is_some_and(words)
}

impl Walker {
    fn flush(&mut self) {
        let kind = self.kind.take().unwrap_or(BlockKind::Paragraph);
        let raw = std::mem::take(&mut self.buf);
        self.outline.block(&raw, kind, None);
    }

    fn walk(&mut self, node: NodeRef<'_, Node>) {
        for child in node.children() {
            match child.value() {
                Node::Text(t) => {
                    if self.kind == Some(BlockKind::Code) {
                        self.buf.push_str(t);
                    } else {
                        self.buf.push_str(&t.replace(['\n', '\r', '\t'], " "));
                    }
                }
                Node::Element(e) => self.element(child, e),
                _ => {}
            }
        }
    }

    fn element(&mut self, node: NodeRef<'_, Node>, e: &scraper::node::Element) {
        if is_chrome(e) {
            return;
        }
        let name = e.name();
        if let Some(level) = name
            .strip_prefix('h')
            .and_then(|l| l.parse::<u8>().ok())
            .filter(|l| (1..=6).contains(l))
        {
            self.flush();
            let text = ElementRef::wrap(node)
                .map(|h| h.text().collect::<String>())
                .unwrap_or_default();
            let heading = crate::tidy_whitespace(&text).replace('\n', " ");
            if heading.is_empty() {
                return;
            }
            self.outline.heading(level, heading);
            return;
        }
        match name {
            "pre" | "listing" | "xmp" => self.container(node, BlockKind::Code),
            "table" => self.container(node, BlockKind::Table),
            "li" => self.container(node, BlockKind::ListItem),
            "tr" if self.kind == Some(BlockKind::Table) => {
                self.walk(node);
                let row = self.buf.trim_end().trim_end_matches('|').trim_end().len();
                self.buf.truncate(row);
                self.buf.push('\n');
            }
            "td" | "th" if self.kind == Some(BlockKind::Table) => {
                self.walk(node);
                self.buf.push_str(" | ");
            }
            "br" => self.buf.push('\n'),
            "img" => {
                if let Some(alt) = e.attr("alt").filter(|a| !a.trim().is_empty()) {
                    self.buf.push_str(alt);
                    self.buf.push(' ');
                }
            }
            _ if BLOCKS.contains(&name) && self.kind.is_none() => {
                self.flush();
                self.walk(node);
                self.flush();
            }
            _ => self.walk(node),
        }
    }

    /// A block whose whole subtree is one block of `kind` (nested blocks inside it are folded in).
    fn container(&mut self, node: NodeRef<'_, Node>, kind: BlockKind) {
        if self.kind.is_some() {
            // Already inside a code block, table or list item: keep collecting into it.
            if kind == BlockKind::ListItem {
                self.buf.push(' ');
            }
            self.walk(node);
            return;
        }
        self.flush();
        self.kind = Some(kind);
        self.walk(node);
        self.kind = Some(kind);
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html><html><head><title>The  Guide</title><style>p{}</style></head>
<body><div class="menu mainmenu"><ul><li><a href="/">Home</a></ul></div><nav>Skip me</nav>
<script>var x = 1;</script>
<h1>Guide</h1><p>Hello <b>bold</b>
world.</p><div>Loose text<br>next line</div>
<h2>Install</h2><ul><li>one</li><li>two <code>x</code></li></ul>
<pre>fn main() {
    go();
}</pre>
<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>
<footer>copyright</footer><div role="navigation">Prev Next</div><img alt="A diagram">
</body></html>"#;

    #[test]
    fn main_text_with_headings_as_sections() {
        let doc = parse(PAGE.as_bytes()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("The Guide"));
        let headings: Vec<_> = doc.sections.iter().map(|s| s.heading.as_deref()).collect();
        assert_eq!(headings, [Some("Guide"), Some("Install")]);
        let guide: Vec<_> = doc.sections[0]
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(guide, ["Hello bold world.", "Loose text\nnext line"]);
        let install = &doc.sections[1];
        assert_eq!(install.heading_path, ["Guide", "Install"]);
        let kinds: Vec<_> = install
            .blocks
            .iter()
            .map(|b| (b.kind, b.text.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (BlockKind::ListItem, "- one"),
                (BlockKind::ListItem, "- two x"),
                (BlockKind::Code, "fn main() {\n    go();\n}"),
                (BlockKind::Table, "a | b\n1 | 2"),
                (BlockKind::Paragraph, "A diagram"),
            ]
        );
    }

    #[test]
    fn chrome_is_dropped() {
        let doc = parse(PAGE.as_bytes()).unwrap();
        let all: String = doc
            .sections
            .iter()
            .flat_map(|s| &s.blocks)
            .map(|b| b.text.clone())
            .collect();
        for gone in ["Home", "Skip me", "var x", "copyright", "Prev Next", "p{}"] {
            assert!(!all.contains(gone), "{gone} leaked into {all:?}");
        }
    }

    #[test]
    fn fragments_and_empty_pages() {
        let doc = parse(b"<p>just a fragment</p>").unwrap();
        assert_eq!(doc.sections[0].blocks[0].text, "just a fragment");
        assert!(
            parse(b"<html><body><script>x</script></body></html>")
                .unwrap()
                .is_empty()
        );
    }
}
