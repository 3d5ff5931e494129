//! The HNSW graph (Malkov & Yashunin), laid out like hnswlib: each node's layer-0 links (fixed-size
//! arrays of node numbers) and vector side by side in contiguous slabs, a reusable visited list per
//! thread. Inserts and searches both take `&self`, so a batch is inserted on every core while searches
//! go on: each node's link lists are changed under that node's lock and read without one (every entry
//! a reader can see is a node whose vector is already written), and a node becomes reachable only
//! after its vector and links are in place. Storage never moves, so readers need no lock to follow a
//! link.

pub(crate) mod io;
mod parts;

use std::cmp::Reverse;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::distance::{self, Isa, Kernel, kernel};
use parts::{Near, Node, SCRATCH, Scratch, Slabs, prefetch};

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
    /// Per node, as in hnswlib: its layer-0 links (count, then `m0` slots) and right after them its
    /// vector (f32 bits), so expanding a node found by its vector finds its links in cache.
    data: Slabs<AtomicU32>,
    /// Entry node (low 32 bits) and the top layer (high 32 bits), or `NO_ENTRY`.
    entry: AtomicU64,
    /// Held by an insert that may raise the top layer.
    entry_lock: Mutex<()>,
}

/// The graph's settings, as saved with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub dim: usize,
    pub m: usize,
    pub ef_construction: usize,
}

impl Graph {
    pub(crate) fn new(shape: Shape, expected: usize) -> Self {
        let m = shape.m.max(2);
        let first = expected.max(64);
        Self {
            dot: kernel(),
            isa: distance::isa(),
            dim: shape.dim,
            m,
            m0: 2 * m,
            ef_construction: shape.ef_construction.max(m),
            level_mult: 1.0 / (m as f64).ln(),
            count: AtomicUsize::new(0),
            nodes: Slabs::new(first, 1, Node::empty),
            data: Slabs::new(first, 2 * m + 1 + shape.dim, || AtomicU32::new(0)),
            entry: AtomicU64::new(NO_ENTRY),
            entry_lock: Mutex::new(()),
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

    #[inline]
    fn vector(&self, i: u32) -> &[f32] {
        let words = &self.data.slot(i as usize)[self.m0 + 1..];
        // SAFETY: `AtomicU32` has the layout of `f32`. A vector is written (atomically) once, by the
        // insert that reserved the slot (a unique number from `count`), before the node is published:
        // its `ext` is stored with Release after the writes, and a reader reaches a vector only through
        // a node number loaded with Acquire from a link list or `entry` (stored after `ext`), or after
        // loading `ext` with Acquire. So these plain reads never race with a write.
        unsafe { std::slice::from_raw_parts(words.as_ptr() as *const f32, words.len()) }
    }

    /// The link list of `node` at `layer`: count, then up to `m0` (layer 0) or `m` node numbers.
    fn links(&self, node: u32, layer: u32) -> &[AtomicU32] {
        if layer == 0 {
            return &self.data.slot(node as usize)[..=self.m0];
        }
        let upper = self
            .node(node)
            .upper
            .get()
            .expect("a node linked at an upper layer has upper links");
        let stride = self.m + 1;
        &upper[(layer as usize - 1) * stride..layer as usize * stride]
    }

    /// The filled part of `node`'s link list at `layer` (the count bounded by the list's room).
    #[inline]
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
        assert!(
            i < u32::MAX as usize,
            "an HNSW graph holds fewer than 2^32 nodes"
        );
        let node = i as u32;
        let level = level.unwrap_or_else(|| self.random_level(node));
        let words = &self.data.slot(i)[self.m0 + 1..];
        for (w, x) in words.iter().zip(v) {
            w.store(x.to_bits(), Ordering::Relaxed);
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

    fn greedy(&self, q: &[f32], mut cur: Near, layer: u32) -> Near {
        loop {
            let mut moved = false;
            for slot in self.live_links(cur.node, layer) {
                let other = slot.load(Ordering::Acquire);
                let d = self.dist(q, self.vector(other));
                if d < cur.dist {
                    cur = Near {
                        dist: d,
                        node: other,
                    };
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
        }
    }

    /// The best `ef` nodes of `layer` reachable from `start`, nearest first. With `keep`, only nodes it
    /// accepts enter the result, but the walk goes through all.
    fn search_layer(
        &self,
        q: &[f32],
        start: Near,
        ef: usize,
        layer: u32,
        keep: Option<&dyn Fn(u64) -> bool>,
    ) -> Vec<Near> {
        match self.isa {
            // SAFETY: `isa` was detected on this CPU.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { self.search_layer_avx512(q, start, ef, layer, keep) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { self.search_layer_avx2(q, start, ef, layer, keep) },
            _ => self.search_layer_with(q, start, ef, layer, keep, distance::dot_portable),
        }
    }

    /// The layer search compiled for AVX-512, so the dot product inlines into the loop.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn search_layer_avx512(
        &self,
        q: &[f32],
        start: Near,
        ef: usize,
        layer: u32,
        keep: Option<&dyn Fn(u64) -> bool>,
    ) -> Vec<Near> {
        self.search_layer_with(q, start, ef, layer, keep, |a, b| distance::dot_avx512(a, b))
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn search_layer_avx2(
        &self,
        q: &[f32],
        start: Near,
        ef: usize,
        layer: u32,
        keep: Option<&dyn Fn(u64) -> bool>,
    ) -> Vec<Near> {
        self.search_layer_with(q, start, ef, layer, keep, |a, b| distance::dot_avx2(a, b))
    }

    #[inline(always)]
    fn search_layer_with(
        &self,
        q: &[f32],
        start: Near,
        ef: usize,
        layer: u32,
        keep: Option<&dyn Fn(u64) -> bool>,
        dot: impl Fn(&[f32], &[f32]) -> f32,
    ) -> Vec<Near> {
        let dist = |a: &[f32], b: &[f32]| (1.0 - dot(a, b)).max(0.0);
        // Taken out of the thread-local for the search, so the loop below is compiled here (with this
        // function's instruction set, the dot product inlined), not inside std's generic accessor.
        let mut scratch = SCRATCH.take();
        let out = {
            let Scratch {
                visited,
                results,
                cands,
                fresh,
            } = &mut scratch;
            visited.reset(self.capacity_used());
            results.clear();
            cands.clear();
            let admits = |n: u32| keep.is_none_or(|f| f(self.ext(n)));
            visited.first_visit(start.node);
            cands.push(Reverse(start));
            if admits(start.node) {
                results.push(start);
            }
            let mut worst = results.peek().map_or(f32::INFINITY, |r| r.dist);
            while let Some(Reverse(c)) = cands.pop() {
                if c.dist > worst && results.len() >= ef {
                    break;
                }
                fresh.clear();
                for slot in self.live_links(c.node, layer) {
                    let n = slot.load(Ordering::Acquire);
                    if visited.first_visit(n) {
                        // Ask for the vector now; it arrives while the ones before are compared.
                        prefetch(self.vector(n));
                        fresh.push(n);
                    }
                }
                for &n in fresh.iter() {
                    let d = dist(q, self.vector(n));
                    if results.len() < ef || d < worst {
                        let near = Near { dist: d, node: n };
                        cands.push(Reverse(near));
                        if admits(n) {
                            if results.len() < ef {
                                results.push(near);
                            } else if let Some(mut top) = results.peek_mut() {
                                // Replace the worst in place: one sift instead of a push and a pop.
                                *top = near;
                            }
                            worst = results.peek().map_or(f32::INFINITY, |r| r.dist);
                        }
                    }
                }
            }
            let mut out: Vec<Near> = results.drain().collect();
            out.sort_unstable();
            out
        };
        SCRATCH.set(scratch);
        out
    }

    /// The `k` nearest nodes accepted by `keep` as (caller's id, distance), nearest first.
    pub(crate) fn search(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        keep: Option<&dyn Fn(u64) -> bool>,
    ) -> Vec<(u64, f32)> {
        let Some((entry, top)) = self.load_entry() else {
            return Vec::new();
        };
        let mut cur = Near {
            dist: self.dist(q, self.vector(entry)),
            node: entry,
        };
        for layer in (1..=top).rev() {
            cur = self.greedy(q, cur, layer);
        }
        let mut sorted = self.search_layer(q, cur, ef.max(k), 0, keep);
        sorted.truncate(k);
        sorted
            .into_iter()
            .map(|n| (self.ext(n.node), n.dist))
            .collect()
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
