//! Sections for PDFs: from the outline (bookmarks) when the file has one, each entry opening a
//! section where its destination points; otherwise from headings found by font size and weight.

use std::collections::{BTreeMap, HashMap, HashSet};

use docvec_types::{Block, BlockKind, Section};
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::blocks::TextBlock;
use super::objects::{as_number, deref};

/// Outline entries read at most; a bound on hostile outlines.
const MAX_ENTRIES: usize = 20_000;
const MAX_DEPTH: u8 = 16;

/// One outline entry: its title and depth, and where on which page it points (`top` in the
/// blocks' frame, growing down the page; `None`: the top of the page).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    pub title: String,
    pub level: u8,
    pub page: u32,
    pub top: Option<f32>,
    pub left: Option<f32>,
}

/// The outline's entries whose destination resolves to a page, in document order, and how many
/// entries the outline has in all.
pub(super) fn outline(doc: &Document) -> (Vec<Entry>, usize) {
    let Some(first) = doc
        .catalog()
        .ok()
        .and_then(|c| dict(doc, c.get(b"Outlines").ok()?))
        .and_then(|o| o.get(b"First").ok())
    else {
        return (Vec::new(), 0);
    };
    let pages: HashMap<ObjectId, u32> =
        doc.get_pages().into_iter().map(|(n, id)| (id, n)).collect();
    let mut walk = Walk {
        doc,
        pages,
        names: None,
        seen: HashSet::new(),
        entries: Vec::new(),
        total: 0,
    };
    walk.siblings(first, 1);
    let mut entries = walk.entries;
    // Stable: entries pointing at one spot keep the outline's order (a chapter before its section).
    entries.sort_by(|a, b| {
        let (ta, tb) = (a.top.unwrap_or(f32::MIN), b.top.unwrap_or(f32::MIN));
        a.page.cmp(&b.page).then(ta.total_cmp(&tb))
    });
    (entries, walk.total)
}

struct Walk<'d> {
    doc: &'d Document,
    pages: HashMap<ObjectId, u32>,
    /// Named destinations, read on first use.
    names: Option<HashMap<Vec<u8>, &'d Object>>,
    seen: HashSet<ObjectId>,
    entries: Vec<Entry>,
    total: usize,
}

impl<'d> Walk<'d> {
    fn siblings(&mut self, mut node: &'d Object, level: u8) {
        while let Object::Reference(id) = node {
            if level > MAX_DEPTH || self.total >= MAX_ENTRIES || !self.seen.insert(*id) {
                return;
            }
            let Ok(item) = self.doc.get_dictionary(*id) else {
                return;
            };
            self.total += 1;
            let title = item
                .get(b"Title")
                .ok()
                .and_then(|t| lopdf::decode_text_string(deref(self.doc, t)).ok());
            let title = title.map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "));
            if let (Some(title), Some((page, left, top))) = (title, self.destination(item))
                && !title.is_empty()
            {
                let level = level.min(6);
                self.entries.push(Entry {
                    title,
                    level,
                    page,
                    top,
                    left,
                });
            }
            if let Ok(child) = item.get(b"First") {
                self.siblings(child, level + 1);
            }
            match item.get(b"Next") {
                Ok(next) => node = next,
                Err(_) => return,
            }
        }
    }

    /// The page, left and top of an item's `/Dest`, or of its `/A` GoTo action's `/D`.
    fn destination(&mut self, item: &'d Dictionary) -> Option<(u32, Option<f32>, Option<f32>)> {
        let dest = match item.get(b"Dest") {
            Ok(d) => d,
            Err(_) => {
                let action = dict(self.doc, item.get(b"A").ok()?)?;
                if action.get(b"S").ok()? != &Object::Name(b"GoTo".to_vec()) {
                    return None;
                }
                action.get(b"D").ok()?
            }
        };
        let dest = match deref(self.doc, dest) {
            Object::Name(n) | Object::String(n, _) => self.named(n)?,
            other => other,
        };
        let array = match deref(self.doc, dest) {
            Object::Array(a) => a,
            // A named destination may be a dictionary holding the array under /D.
            Object::Dictionary(d) => deref(self.doc, d.get(b"D").ok()?).as_array().ok()?,
            _ => return None,
        };
        let page = *self.pages.get(&array.first()?.as_reference().ok()?)?;
        let kind = array
            .get(1)
            .and_then(|k| k.as_name().ok())
            .unwrap_or(b"Fit");
        let (left_at, top_at) = match kind {
            b"XYZ" => (Some(2), Some(3)),
            b"FitH" | b"FitBH" => (None, Some(2)),
            b"FitR" => (Some(2), Some(5)),
            _ => (None, None),
        };
        let number = |i: Option<usize>| {
            i.and_then(|i| array.get(i))
                .and_then(|t| as_number(deref(self.doc, t)))
        };
        // Device y grows up the page; the blocks' frame grows down.
        Some((page, number(left_at), number(top_at).map(|t| -t)))
    }

    fn named(&mut self, name: &[u8]) -> Option<&'d Object> {
        if self.names.is_none() {
            self.names = Some(named_destinations(self.doc));
        }
        self.names.as_ref()?.get(name).copied()
    }
}

/// The catalog's `/Dests` dictionary and its `/Names /Dests` name tree, by name.
fn named_destinations(doc: &Document) -> HashMap<Vec<u8>, &Object> {
    let mut out = HashMap::new();
    let Ok(catalog) = doc.catalog() else {
        return out;
    };
    if let Some(dests) = catalog.get(b"Dests").ok().and_then(|d| dict(doc, d)) {
        for (k, v) in dests.iter() {
            out.insert(k.clone(), v);
        }
    }
    let tree = catalog
        .get(b"Names")
        .ok()
        .and_then(|n| dict(doc, n))
        .and_then(|n| n.get(b"Dests").ok());
    if let Some(tree) = tree {
        name_tree(doc, tree, 0, &mut HashSet::new(), &mut out);
    }
    out
}

fn name_tree<'d>(
    doc: &'d Document,
    node: &'d Object,
    depth: u8,
    seen: &mut HashSet<ObjectId>,
    out: &mut HashMap<Vec<u8>, &'d Object>,
) {
    if let Object::Reference(id) = node
        && !seen.insert(*id)
    {
        return;
    }
    let Some(node) = dict(doc, node).filter(|_| depth < 32) else {
        return;
    };
    if let Ok(Object::Array(names)) = node.get(b"Names").map(|n| deref(doc, n)) {
        for pair in names.chunks_exact(2) {
            if let Object::String(key, _) = deref(doc, &pair[0]) {
                out.insert(key.clone(), &pair[1]);
            }
        }
    }
    if let Ok(Object::Array(kids)) = node.get(b"Kids").map(|k| deref(doc, k)) {
        for kid in kids {
            name_tree(doc, kid, depth + 1, seen, out);
        }
    }
}

fn dict<'d>(doc: &'d Document, object: &'d Object) -> Option<&'d Dictionary> {
    deref(doc, object).as_dict().ok()
}

/// Sections under headings: each heading `(level, title)` opens a section before the block at
/// its index in `blocks`; blocks before the first heading go to an untitled section.
pub(super) fn assemble(
    blocks: Vec<Block>,
    headings: &BTreeMap<usize, Vec<(u8, String)>>,
) -> Vec<Section> {
    let mut sections = vec![Section::untitled()];
    let mut stack: Vec<(u8, String)> = Vec::new();
    for (i, block) in blocks.into_iter().enumerate() {
        for (level, title) in headings.get(&i).into_iter().flatten() {
            // A heading repeated at once (a slide title over several slides) continues its section.
            if stack.last() == Some(&(*level, title.clone())) {
                continue;
            }
            while stack.last().is_some_and(|(l, _)| l >= level) {
                stack.pop();
            }
            stack.push((*level, title.clone()));
            sections.push(Section {
                heading: Some(title.clone()),
                level: *level,
                heading_path: stack.iter().map(|(_, h)| h.clone()).collect(),
                blocks: Vec::new(),
            });
        }
        sections.last_mut().expect("one section").blocks.push(block);
    }
    // Headings with nothing under them before the next stay in the paths of those below.
    sections.retain(|s| !s.blocks.is_empty());
    sections
}

/// Which block each outline entry opens its section before: on the entry's page, the nearest
/// block at or below its top (anchors sit a little above the heading's baseline), preferring one
/// that spans the anchor's left edge, so an entry in the right column finds its block there.
pub(super) fn place_entries(
    entries: &[Entry],
    blocks: &[TextBlock],
) -> BTreeMap<usize, Vec<(u8, String)>> {
    let mut out: BTreeMap<usize, Vec<(u8, String)>> = BTreeMap::new();
    for e in entries {
        let first = blocks.partition_point(|b| b.page < e.page);
        let on_page = blocks[first..].iter().take_while(|b| b.page == e.page);
        let best = on_page
            .enumerate()
            .filter(|(_, b)| e.top.is_none_or(|t| b.top >= t - 2.0 * b.size))
            .min_by(|(_, a), (_, b)| placement(e, a).total_cmp(&placement(e, b)))
            .map(|(i, _)| first + i);
        // Nothing below the anchor on its page: the section starts on the next page with text.
        let index = best.unwrap_or(first);
        if index < blocks.len() {
            out.entry(index)
                .or_default()
                .push((e.level, e.title.clone()));
        }
    }
    out
}

/// How far a block is from an entry's anchor; blocks beside the anchor's column rank last.
fn placement(e: &Entry, b: &TextBlock) -> f32 {
    let beside = e.left.is_some_and(|l| l < b.x0 - 2.0 * b.size || l > b.x1);
    let down = e.top.map_or(0.0, |t| (b.top - t).abs());
    down + if beside { 1e6 } else { 0.0 }
}

/// Headings from type when there is no outline: short blocks set larger than the body text (or
/// in bold at body size), levels by size, largest first.
pub(super) fn headings_by_size(blocks: &[TextBlock]) -> BTreeMap<usize, Vec<(u8, String)>> {
    let mut chars_by_size: HashMap<i32, usize> = HashMap::new();
    for b in blocks {
        *chars_by_size.entry(size_key(b.size)).or_default() += b.text.len();
    }
    let Some(body) = chars_by_size
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(s, _)| *s)
    else {
        return BTreeMap::new();
    };
    // A bold line is a heading only alone on its baseline: bold cells of a table header row are not.
    let alone = |i: usize| {
        let b = &blocks[i];
        let beside = |j: usize| {
            blocks
                .get(j)
                .is_some_and(|o| o.page == b.page && (o.top - b.top).abs() < 0.5 * b.size)
        };
        !beside(i + 1) && !i.checked_sub(1).is_some_and(beside)
    };
    let is_heading = |i: usize| {
        let b = &blocks[i];
        let key = size_key(b.size);
        let short = b.lines <= 3 && b.text.len() <= 160 && b.text.chars().any(char::is_alphabetic);
        let larger = key as f32 >= body as f32 * 1.15;
        let bold_line = b.bold && key >= body && b.lines == 1 && !b.text.ends_with('.') && alone(i);
        b.rot == 0 && short && (larger || bold_line)
    };
    let mut sizes: Vec<i32> = (0..blocks.len())
        .filter(|&i| is_heading(i))
        .map(|i| size_key(blocks[i].size))
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    let mut out: BTreeMap<usize, Vec<(u8, String)>> = BTreeMap::new();
    for (i, b) in blocks.iter().enumerate().filter(|(i, _)| is_heading(*i)) {
        let rank = sizes
            .iter()
            .position(|s| *s == size_key(b.size))
            .unwrap_or(0);
        out.entry(i)
            .or_default()
            .push(((rank + 1).min(6) as u8, b.text.clone()));
    }
    out
}

/// Sizes to the half point, so 9.96 and 10.0 are one size.
fn size_key(size: f32) -> i32 {
    (size * 2.0).round() as i32
}

/// A block as docvec stores it.
pub(super) fn block(b: &TextBlock, text: String) -> Block {
    Block {
        text,
        kind: BlockKind::Paragraph,
        page: Some(b.page),
        origin: Default::default(),
    }
}
