//! Walking the graph: the greedy descent through the upper layers and the best-first search of a
//! layer, over exact f32 distances (inserts, and searches of an unquantized graph) or over the byte
//! codes (searches of a quantized graph, whose final candidates are then re-ranked exactly). Each walk
//! is compiled once per instruction set so its distance inlines into the loop.

use std::cmp::Reverse;
use std::sync::atomic::Ordering;

mod metric;

use super::Graph;
use super::parts::{Near, SCRATCH, Scratch, prefetch};
use crate::distance::Isa;
use crate::quant::Query;
use metric::*;

/// A filter on the caller's ids: only accepted nodes enter the results.
pub(crate) type Keep<'a> = Option<&'a dyn Fn(u64) -> bool>;

thread_local! {
    /// Each thread's query buffer, so a search allocates no codes.
    static QUERY: std::cell::Cell<Query> = const { std::cell::Cell::new(Query::new()) };
}

/// How many of the byte-code walk's best candidates the f32 vectors re-rank for a top `k`.
pub(crate) fn rerank_depth(k: usize) -> usize {
    (3 * k).max(k + 20)
}

impl Graph {
    /// Move to a nearer neighbour at `layer` until none is nearer.
    #[inline(always)]
    fn greedy_with(&self, metric: &impl Metric, mut cur: Near, layer: u32) -> Near {
        loop {
            let mut moved = false;
            for slot in self.live_links(cur.node, layer) {
                let other = slot.load(Ordering::Acquire);
                let d = metric.dist(other);
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

    /// The descent of an insert: a few distances a layer, through the run-time kernel.
    pub(super) fn greedy(&self, q: &[f32], cur: Near, layer: u32) -> Near {
        self.greedy_with(&Called { g: self, q }, cur, layer)
    }

    /// The best `ef` nodes of `layer` reachable from `start` by exact distance, nearest first. With
    /// `keep`, only nodes it accepts enter the result, but the walk goes through all.
    pub(super) fn search_layer(
        &self,
        q: &[f32],
        start: Near,
        ef: usize,
        layer: u32,
        keep: Keep,
    ) -> Vec<Near> {
        match self.isa {
            // SAFETY: `isa` was detected on this CPU.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { self.search_layer_avx512(q, start, ef, layer, keep) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { self.search_layer_avx2(q, start, ef, layer, keep) },
            #[cfg(target_arch = "aarch64")]
            Isa::Neon | Isa::NeonDot => {
                self.walk(&Exact::<NEON> { g: self, q }, start, ef, layer, keep)
            }
            #[cfg(not(target_arch = "aarch64"))]
            Isa::Portable => self.walk(&Exact::<PORTABLE> { g: self, q }, start, ef, layer, keep),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn search_layer_avx512(&self, q: &[f32], s: Near, ef: usize, l: u32, keep: Keep) -> Vec<Near> {
        self.walk(&Exact::<AVX512> { g: self, q }, s, ef, l, keep)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn search_layer_avx2(&self, q: &[f32], s: Near, ef: usize, l: u32, keep: Keep) -> Vec<Near> {
        self.walk(&Exact::<AVX2> { g: self, q }, s, ef, l, keep)
    }

    /// Best-first search of `layer` from `start` under `metric`: the best `ef` nodes reachable,
    /// nearest first. A node's data is asked for as soon as the node is found, so it arrives while the
    /// ones before are compared.
    #[inline(always)]
    fn walk(
        &self,
        metric: &impl Metric,
        start: Near,
        ef: usize,
        layer: u32,
        keep: Keep,
    ) -> Vec<Near> {
        if keep.is_some() {
            return self.walk_filtered(metric, start, ef, layer, keep);
        }
        let mut scratch = SCRATCH.take();
        let Scratch {
            visited,
            fresh,
            pool,
            ..
        } = &mut scratch;
        visited.reset(self.capacity_used());
        visited.first_visit(start.node);
        pool.reset(start);
        let mut from = 0;
        while let Some((at, c)) = pool.next(from) {
            if let Some(next) = pool.peek_after(at) {
                self.prefetch_links(next, layer);
            }
            fresh.clear();
            for slot in self.live_links(c.node, layer) {
                let n = slot.load(Ordering::Acquire);
                if visited.first_visit(n) {
                    metric.ahead(n);
                    fresh.push(n);
                }
            }
            from = at + 1;
            for &n in fresh.iter() {
                let d = metric.dist(n);
                if pool.admits(d, ef) {
                    from = from.min(pool.insert(Near { dist: d, node: n }, ef));
                }
            }
        }
        let out = pool.sorted();
        SCRATCH.set(scratch);
        out
    }

    /// [`Graph::walk`] with a filter: a result heap of accepted nodes and a candidate heap of all,
    /// since the walk must go through nodes the filter rejects.
    #[inline(always)]
    fn walk_filtered(
        &self,
        metric: &impl Metric,
        start: Near,
        ef: usize,
        layer: u32,
        keep: Keep,
    ) -> Vec<Near> {
        // Taken out of the thread-local for the search, so the loop below is compiled here (with the
        // caller's instruction set, the distance inlined), not inside std's generic accessor.
        let mut scratch = SCRATCH.take();
        let out = {
            let Scratch {
                visited,
                results,
                cands,
                fresh,
                ..
            } = &mut scratch;
            visited.reset(self.capacity_used());
            results.clear();
            cands.clear();
            visited.first_visit(start.node);
            cands.push(Reverse(start));
            if self.admits(keep, start.node) {
                results.push(start);
            }
            let mut worst = results.peek().map_or(f32::INFINITY, |r| r.dist);
            while let Some(Reverse(c)) = cands.pop() {
                if c.dist > worst && results.len() >= ef {
                    break;
                }
                // The next candidate's links are likely needed next: ask for them now.
                if let Some(Reverse(next)) = cands.peek() {
                    self.prefetch_links(next.node, layer);
                }
                fresh.clear();
                for slot in self.live_links(c.node, layer) {
                    let n = slot.load(Ordering::Acquire);
                    if visited.first_visit(n) {
                        metric.ahead(n);
                        fresh.push(n);
                    }
                }
                for &n in fresh.iter() {
                    let d = metric.dist(n);
                    if results.len() < ef || d < worst {
                        let near = Near { dist: d, node: n };
                        cands.push(Reverse(near));
                        if self.admits(keep, n) {
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

    #[inline(always)]
    fn admits(&self, keep: Keep, n: u32) -> bool {
        keep.is_none_or(|f| f(self.ext(n)))
    }

    /// The `k` nearest nodes accepted by `keep` as (caller's id, distance), nearest first.
    pub(crate) fn search(&self, q: &[f32], k: usize, ef: usize, keep: Keep) -> Vec<(u64, f32)> {
        let Some((entry, top)) = self.load_entry() else {
            return Vec::new();
        };
        let ef = ef.max(k);
        let mut sorted = if self.quantized() {
            let mut query = QUERY.take();
            query.set(q);
            let mut found = self.search_codes(&query, entry, top, ef, keep);
            QUERY.set(query);
            // The codes ranked them roughly; the f32 vectors decide among the best few times k
            // (Qdrant's rescoring with oversampling): a true top-k node ranked lower by the codes
            // than that is rare, while each re-ranked f32 vector is a cache miss (24 lines at 384-d).
            found.truncate(rerank_depth(k));
            for n in &found {
                prefetch(self.vector(n.node).as_ptr() as *const u8);
            }
            for n in &mut found {
                n.dist = self.dist(q, self.vector(n.node));
            }
            found.sort_unstable();
            found
        } else {
            self.search_f32(q, entry, top, ef, keep)
        };
        sorted.truncate(k);
        sorted
            .into_iter()
            .map(|n| (self.ext(n.node), n.dist))
            .collect()
    }

    /// The whole search (descent and layer 0) over the f32 vectors.
    fn search_f32(&self, q: &[f32], entry: u32, top: u32, ef: usize, keep: Keep) -> Vec<Near> {
        match self.isa {
            // SAFETY: `isa` was detected on this CPU.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { self.search_f32_avx512(q, entry, top, ef, keep) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { self.search_f32_avx2(q, entry, top, ef, keep) },
            #[cfg(target_arch = "aarch64")]
            Isa::Neon | Isa::NeonDot => {
                self.descend_and_walk(&Exact::<NEON> { g: self, q }, entry, top, ef, keep)
            }
            #[cfg(not(target_arch = "aarch64"))]
            Isa::Portable => {
                self.descend_and_walk(&Exact::<PORTABLE> { g: self, q }, entry, top, ef, keep)
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn search_f32_avx512(&self, q: &[f32], e: u32, t: u32, ef: usize, keep: Keep) -> Vec<Near> {
        self.descend_and_walk(&Exact::<AVX512> { g: self, q }, e, t, ef, keep)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn search_f32_avx2(&self, q: &[f32], e: u32, t: u32, ef: usize, keep: Keep) -> Vec<Near> {
        self.descend_and_walk(&Exact::<AVX2> { g: self, q }, e, t, ef, keep)
    }

    /// The whole search (descent and layer 0) over the byte codes.
    fn search_codes(&self, q: &Query, entry: u32, top: u32, ef: usize, keep: Keep) -> Vec<Near> {
        match self.isa {
            // SAFETY: `isa` (with `sdot` for `NeonDot`) and the extra AVX-512 feature were detected on
            // this CPU.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 if self.codes_avx512 => unsafe {
                self.search_codes_avx512(q, entry, top, ef, keep)
            },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 | Isa::Avx2 => unsafe { self.search_codes_avx2(q, entry, top, ef, keep) },
            #[cfg(target_arch = "aarch64")]
            Isa::NeonDot => unsafe { self.search_codes_sdot(q, entry, top, ef, keep) },
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => self.descend_and_walk(&Codes::<NEON> { g: self, q }, entry, top, ef, keep),
            #[cfg(not(target_arch = "aarch64"))]
            Isa::Portable => {
                self.descend_and_walk(&Codes::<PORTABLE> { g: self, q }, entry, top, ef, keep)
            }
        }
    }

    #[cfg(target_arch = "aarch64")]
    #[target_feature(enable = "dotprod")]
    fn search_codes_sdot(&self, q: &Query, e: u32, t: u32, ef: usize, keep: Keep) -> Vec<Near> {
        self.descend_and_walk(&Codes::<NEON_DOT> { g: self, q }, e, t, ef, keep)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn search_codes_avx512(&self, q: &Query, e: u32, t: u32, ef: usize, keep: Keep) -> Vec<Near> {
        self.descend_and_walk(&Codes::<AVX512> { g: self, q }, e, t, ef, keep)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn search_codes_avx2(&self, q: &Query, e: u32, t: u32, ef: usize, keep: Keep) -> Vec<Near> {
        self.descend_and_walk(&Codes::<AVX2> { g: self, q }, e, t, ef, keep)
    }

    #[inline(always)]
    fn descend_and_walk(
        &self,
        metric: &impl Metric,
        entry: u32,
        top: u32,
        ef: usize,
        keep: Keep,
    ) -> Vec<Near> {
        let mut cur = Near {
            dist: metric.dist(entry),
            node: entry,
        };
        for layer in (1..=top).rev() {
            cur = self.greedy_with(metric, cur, layer);
        }
        self.walk(metric, cur, ef, 0, keep)
    }
}
