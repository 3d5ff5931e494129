//! The HNSW graph (Malkov & Yashunin), laid out like hnswlib: each node's layer-0 links (fixed-size
//! arrays of node numbers) and vector side by side in contiguous slabs, a reusable visited list per
//! thread. Inserts and searches both take `&self`, so a batch is inserted on every core while searches
//! go on: each node's link lists are changed under that node's lock and read without one (every entry
//! a reader can see is a node whose vector is already written), and a node becomes reachable only
//! after its vector and links are in place. Storage never moves, so readers need no lock to follow a
//! link.
//!
//! A quantized graph keeps in that slab, in place of the f32 vector, its byte codes (see `quant`),
//! and the f32 vectors in a slab of their own: the walk reads a quarter of the bytes, and only
//! inserts and the final re-rank touch the f32 vectors.

pub(crate) mod file;
pub(crate) mod legacy;
pub(crate) mod load;
mod parts;
mod search;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::Quantization;
use crate::distance::{self, Isa, Kernel, kernel};
use crate::quant;
use parts::{FileMap, Line, Near, Node, Region, Slabs};

/// Highest layer a node may get; ample for billions of nodes at M = 16.
const MAX_LEVEL: u32 = 15;
/// `entry` when the graph is empty.
const NO_ENTRY: u64 = u64::MAX;
/// `ext` of a slot reserved by an insert that has not written its vector yet.
const NOT_READY: u64 = u64::MAX;

pub(crate) struct Graph {
    /// The dot product for this CPU, looked up once.
    dot: Kernel,
    /// Which instruction set the layer search is compiled for (its dot product inlined).
    isa: Isa,
    dim: usize,
    m: usize,
    m0: usize,
    ef_construction: usize,
    level_mult: f64,
    /// Slots reserved by inserts (some may still be being written).
    count: AtomicUsize,
    nodes: Slabs<Node>,
    /// Per node, starting on a cache line: what the walk compares (its vector as f32 bits, or when
    /// quantized its code block) and right after it, as in hnswlib, its layer-0 links (count, then `m0`
    /// slots), so expanding a node found by its vector finds its links in cache.
    data: Slabs<Line>,
    /// Words of the walk's part of a node's data (the vector or the code block).
    walk_words: usize,
    /// The f32 vectors of a quantized graph, `dim` words a node.
    full: Option<Slabs<AtomicU32>>,
    /// Whether the byte-code walk may use AVX-512 (it needs AVX-512 BW too); read on x86_64 only.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    codes_avx512: bool,
    /// Entry node (low 32 bits) and the top layer (high 32 bits), or `NO_ENTRY`.
    entry: AtomicU64,
    /// Held by an insert that may raise the top layer.
    entry_lock: Mutex<()>,
    /// The file a loaded graph is mapped from and the section of it the load did not sum.
    unverified: Option<(std::sync::Arc<FileMap>, file::Section)>,
}

/// The graph's settings, as saved with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub dim: usize,
    pub m: usize,
    pub ef_construction: usize,
    pub quantization: Quantization,
}

impl Graph {
    pub(crate) fn new(shape: Shape, expected: usize) -> Self {
        let first = expected.max(64);
        let walk_words = Self::walk_words(shape.dim, shape.quantization);
        let lines = Self::lines(walk_words, shape.m.max(2));
        let full = (shape.quantization == Quantization::Int8)
            .then(|| Region::Owned((0..first * shape.dim).map(|_| zero()).collect()));
        let data = Region::Owned((0..first * lines).map(|_| Line::zero()).collect());
        let nodes = Slabs::new(first, 1, Node::empty);
        Self::assemble(shape, first, nodes, data, full)
    }

    /// Words of the walk's part of a node's data: the vector, or when quantized its code block.
    fn walk_words(dim: usize, quantization: Quantization) -> usize {
        match quantization {
            Quantization::None => dim,
            Quantization::Int8 => quant::block(dim) / 4,
        }
    }

    /// Cache lines of a node's data: the walk's words, the layer-0 link count and `2 m` slots.
    fn lines(walk_words: usize, m: usize) -> usize {
        (walk_words + 1 + 2 * m).div_ceil(Line::WORDS)
    }

    /// A graph over storage whose first `first` slots are `data` and `full` (allocated or mapped),
    /// holding no node yet (`count` is 0; a load sets it once the slots are filled).
    fn assemble(
        shape: Shape,
        first: usize,
        nodes: Slabs<Node>,
        data: Region<Line>,
        full: Option<Region<AtomicU32>>,
    ) -> Self {
        let m = shape.m.max(2);
        let walk_words = Self::walk_words(shape.dim, shape.quantization);
        let lines = Self::lines(walk_words, m);
        Self {
            dot: kernel(),
            isa: distance::isa(),
            codes_avx512: quant::avx512_usable(distance::isa()),
            dim: shape.dim,
            m,
            m0: 2 * m,
            ef_construction: shape.ef_construction.max(m),
            level_mult: 1.0 / (m as f64).ln(),
            count: AtomicUsize::new(0),
            nodes,
            data: Slabs::with_first(data, first, lines, Line::zero),
            walk_words,
            full: full.map(|f| Slabs::with_first(f, first, shape.dim, zero)),
            entry: AtomicU64::new(NO_ENTRY),
            entry_lock: Mutex::new(()),
            unverified: None,
        }
    }

    /// Slots reserved so far: every node number is below this.
    pub(crate) fn capacity_used(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// `1 - dot`, clamped at 0 (two identical unit vectors' dot rounds to 1.0000001).
    #[inline(always)]
    fn dist(&self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: `kernel` returned this function after checking the CPU features it needs.
        (1.0 - unsafe { (self.dot)(a, b) }).max(0.0)
    }

    fn node(&self, i: u32) -> &Node {
        &self.nodes.slot(i as usize)[0]
    }

    #[inline(always)]
    fn vector(&self, i: u32) -> &[f32] {
        let words = match &self.full {
            None => &self.words(i)[..self.dim],
            Some(full) => full.slot(i as usize),
        };
        // SAFETY: `AtomicU32` has the layout of `f32`. A vector is written (atomically) once, by the
        // insert that reserved the slot (a unique number from `count`), before the node is published:
        // its `ext` is stored with Release after the writes, and a reader reaches a vector only through
        // a node number loaded with Acquire from a link list or `entry` (stored after `ext`), or after
        // loading `ext` with Acquire. So these plain reads never race with a write.
        unsafe { std::slice::from_raw_parts(words.as_ptr() as *const f32, words.len()) }
    }

    fn quantized(&self) -> bool {
        self.full.is_some()
    }

    /// Node `i`'s data: the walk's words, then its layer-0 links, then padding to a whole line.
    #[inline(always)]
    fn words(&self, i: u32) -> &[AtomicU32] {
        Line::words(self.data.slot(i as usize))
    }

    /// A quantized node's code block; its last four bytes are the step (the value of one code). The
    /// query's zeros there cancel them in the sum.
    #[inline(always)]
    fn codes(&self, i: u32) -> &[i8] {
        let block = &self.words(i)[..self.walk_words];
        // SAFETY: as for `vector`: written once before the node is published, read only after.
        unsafe { std::slice::from_raw_parts(block.as_ptr() as *const i8, block.len() * 4) }
    }

    /// The link list of `node` at `layer`: count, then up to `m0` (layer 0) or `m` node numbers.
    #[inline(always)]
    fn links(&self, node: u32, layer: u32) -> &[AtomicU32] {
        if layer == 0 {
            return &self.words(node)[self.walk_words..=self.walk_words + self.m0];
        }
        let upper = self
            .node(node)
            .upper
            .get()
            .expect("a node linked at an upper layer has upper links");
        let stride = self.m + 1;
        &upper[(layer as usize - 1) * stride..layer as usize * stride]
    }

    /// Ask for the start of `node`'s link list at `layer` (layer 0's sits in the node's data).
    #[inline(always)]
    fn prefetch_links(&self, node: u32, layer: u32) {
        if layer == 0 {
            parts::prefetch(self.words(node)[self.walk_words..].as_ptr() as *const u8);
        }
    }

    /// The filled part of `node`'s link list at `layer` (the count bounded by the list's room).
    #[inline(always)]
    fn live_links(&self, node: u32, layer: u32) -> &[AtomicU32] {
        let list = self.links(node, layer);
        let n = (list[0].load(Ordering::Acquire) as usize).min(list.len() - 1);
        &list[1..=n]
    }

    fn neighbours(&self, node: u32, layer: u32, out: &mut Vec<u32>) {
        out.clear();
        out.extend(
            self.live_links(node, layer)
                .iter()
                .map(|x| x.load(Ordering::Acquire)),
        );
    }

    fn set_links(&self, node: u32, layer: u32, to: &[u32]) {
        let list = self.links(node, layer);
        let n = to.len().min(list.len() - 1);
        for (slot, &t) in list[1..=n].iter().zip(to) {
            slot.store(t, Ordering::Release);
        }
        list[0].store(n as u32, Ordering::Release);
    }

    /// The caller's id of a published node.
    pub(crate) fn ext(&self, node: u32) -> u64 {
        self.node(node).ext.load(Ordering::Acquire)
    }

    fn random_level(&self, node: u32) -> u32 {
        // splitmix64 of the node number: the same inserts build the same layers.
        let mut z = (node as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln() * self.level_mult) as u32).min(MAX_LEVEL)
    }

    fn load_entry(&self) -> Option<(u32, u32)> {
        match self.entry.load(Ordering::Acquire) {
            NO_ENTRY => None,
            e => Some((e as u32, (e >> 32) as u32)),
        }
    }

    /// Reserve a slot, write `v` into it and publish it as `ext` (not linked yet). Returns its number.
    fn place(&self, v: &[f32], ext: u64, level: Option<u32>) -> u32 {
        let i = self.count.fetch_add(1, Ordering::AcqRel);
        // A search pool marks expanded nodes in their number's top bit.
        assert!(i < 1 << 31, "an HNSW graph holds fewer than 2^31 nodes");
        let node = i as u32;
        let level = level.unwrap_or_else(|| self.random_level(node));
        let words = self.words(node);
        match &self.full {
            None => store(words, v.iter().map(|x| x.to_bits())),
            Some(full) => {
                store(full.slot(i), v.iter().map(|x| x.to_bits()));
                store(words, quant::encode(v).into_iter());
            }
        }
        let meta = self.node(node);
        meta.level.store(level, Ordering::Release);
        if level > 0 {
            let upper = (0..level as usize * (self.m + 1))
                .map(|_| AtomicU32::new(0))
                .collect();
            let _ = meta.upper.set(upper);
        }
        meta.ext.store(ext, Ordering::Release);
        node
    }

    /// Insert `v` (unit length, `dim` long) under the caller's id `ext`.
    pub(crate) fn insert(&self, v: &[f32], ext: u64) {
        let node = self.place(v, ext, None);
        let level = self.node(node).level.load(Ordering::Acquire);
        if self.load_entry().is_none() {
            let _first = self.entry_lock.lock().unwrap_or_else(|e| e.into_inner());
            if self.load_entry().is_none() {
                self.entry
                    .store(node as u64 | (level as u64) << 32, Ordering::Release);
                return;
            }
        }
        let (entry, top) = self.load_entry().expect("set once, never cleared");
        if level <= top {
            return self.link_from(node, level, entry, top);
        }
        // Only one insert at a time may raise the top layer; it holds the lock to the end.
        let _raise = self.entry_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (entry, top) = self.load_entry().expect("set once, never cleared");
        self.link_from(node, level, entry, top);
        if level > top {
            self.entry
                .store(node as u64 | (level as u64) << 32, Ordering::Release);
        }
    }

    fn link_from(&self, node: u32, level: u32, entry: u32, top: u32) {
        let v = self.vector(node);
        let mut cur = Near {
            dist: self.dist(v, self.vector(entry)),
            node: entry,
        };
        for layer in (level + 1..=top).rev() {
            cur = self.greedy(v, cur, layer);
        }
        for layer in (0..=level.min(top)).rev() {
            let mut sorted = self.search_layer(v, cur, self.ef_construction, layer, None);
            sorted.retain(|c| c.node != node);
            let chosen = self.select(&sorted, self.m);
            {
                let _own = self
                    .node(node)
                    .lock
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                // Another insert may already have linked this node here (it found it through an upper
                // layer): keep those links too, or that insert's node could lose its only way in.
                let mut existing = Vec::new();
                self.neighbours(node, layer, &mut existing);
                existing.retain(|n| chosen.iter().all(|c| c.node != *n));
                let to: Vec<u32> = if existing.is_empty() {
                    chosen.iter().map(|c| c.node).collect()
                } else {
                    let mut all: Vec<Near> = chosen.clone();
                    all.extend(existing.iter().map(|&n| Near {
                        dist: self.dist(v, self.vector(n)),
                        node: n,
                    }));
                    all.sort_unstable();
                    let max = if layer == 0 { self.m0 } else { self.m };
                    self.select(&all, max).iter().map(|c| c.node).collect()
                };
                self.set_links(node, layer, &to);
            }
            let max = if layer == 0 { self.m0 } else { self.m };
            for c in &chosen {
                self.add_link(c.node, node, c.dist, layer, max);
            }
            if let Some(best) = sorted.first() {
                cur = *best;
            }
        }
    }

    /// Give `target` a link to `new` at `layer`; when its list is full, keep the best `max` by the
    /// neighbour-selection heuristic.
    fn add_link(&self, target: u32, new: u32, dist: f32, layer: u32, max: usize) {
        let _lock = self
            .node(target)
            .lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let list = self.links(target, layer);
        let n = list[0].load(Ordering::Acquire) as usize;
        if list[1..=n].iter().any(|x| x.load(Ordering::Relaxed) == new) {
            return;
        }
        if n < max {
            list[n + 1].store(new, Ordering::Release);
            list[0].store(n as u32 + 1, Ordering::Release);
            return;
        }
        let tv = self.vector(target);
        let mut cands: Vec<Near> = list[1..=n]
            .iter()
            .map(|x| {
                let o = x.load(Ordering::Relaxed);
                Near {
                    dist: self.dist(tv, self.vector(o)),
                    node: o,
                }
            })
            .collect();
        cands.push(Near { dist, node: new });
        cands.sort_unstable();
        let kept: Vec<u32> = self.select(&cands, max).iter().map(|c| c.node).collect();
        self.set_links(target, layer, &kept);
    }

    /// hnswlib's heuristic: take candidates nearest first, skipping one that is nearer to an already
    /// taken neighbour than to the query, so links spread in every direction.
    fn select(&self, sorted: &[Near], m: usize) -> Vec<Near> {
        if sorted.len() <= m {
            return sorted.to_vec();
        }
        let mut out: Vec<Near> = Vec::with_capacity(m);
        for c in sorted {
            if out.len() >= m {
                break;
            }
            let cv = self.vector(c.node);
            if out
                .iter()
                .all(|r| self.dist(cv, self.vector(r.node)) >= c.dist)
            {
                out.push(*c);
            }
        }
        out
    }

    /// Every published node as (caller's id, vector).
    pub(crate) fn points(&self) -> impl Iterator<Item = (u64, &[f32])> + '_ {
        (0..self.capacity_used() as u32).filter_map(move |i| {
            let ext = self.ext(i);
            (ext != NOT_READY).then(|| (ext, self.vector(i)))
        })
    }

    /// Published nodes.
    pub(crate) fn len(&self) -> usize {
        self.points().count()
    }
}

fn zero() -> AtomicU32 {
    AtomicU32::new(0)
}

fn store(words: &[AtomicU32], from: impl Iterator<Item = u32>) {
    for (w, x) in words.iter().zip(from) {
        w.store(x, Ordering::Relaxed);
    }
}
