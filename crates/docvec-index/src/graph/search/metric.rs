//! How a walk measures a node against the query: exactly over the f32 vectors, or roughly over the
//! byte codes, through the kernel of the instruction set the walk is compiled for.

use crate::distance;
use crate::graph::Graph;
use crate::graph::parts::prefetch;
use crate::quant::{self, Query};

/// Kernels as const parameters, so each walk is one monomorphic function whose distance inlines
/// (closures passed into a `target_feature` function were left as calls: perf showed them).
#[cfg(target_arch = "x86_64")]
pub(super) const AVX512: u8 = 0;
#[cfg(target_arch = "x86_64")]
pub(super) const AVX2: u8 = 1;
#[cfg(not(target_arch = "aarch64"))]
pub(super) const PORTABLE: u8 = 2;
/// NEON is baseline on aarch64: its walks need no `target_feature`, only the `sdot` one does.
#[cfg(target_arch = "aarch64")]
pub(super) const NEON: u8 = 3;
#[cfg(target_arch = "aarch64")]
pub(super) const NEON_DOT: u8 = 4;

/// How a walk measures a node against the query, and asks for a node's data ahead of time.
pub(super) trait Metric {
    fn dist(&self, n: u32) -> f32;
    fn ahead(&self, n: u32);
}

/// Exact: `1 - dot` over the f32 vectors.
pub(super) struct Exact<'a, const K: u8> {
    pub(super) g: &'a Graph,
    pub(super) q: &'a [f32],
}

impl<const K: u8> Metric for Exact<'_, K> {
    #[inline(always)]
    fn dist(&self, n: u32) -> f32 {
        let v = self.g.vector(n);
        // SAFETY: a walk is instantiated with `K` only for the instruction set detected on this CPU.
        let dot = match K {
            #[cfg(target_arch = "x86_64")]
            AVX512 => unsafe { distance::dot_avx512(self.q, v) },
            #[cfg(target_arch = "x86_64")]
            AVX2 => unsafe { distance::dot_avx2(self.q, v) },
            #[cfg(target_arch = "aarch64")]
            NEON | NEON_DOT => distance::dot_neon(self.q, v),
            _ => distance::dot_portable(self.q, v),
        };
        (1.0 - dot).max(0.0)
    }

    #[inline(always)]
    fn ahead(&self, n: u32) {
        prefetch(self.g.vector(n).as_ptr() as *const u8);
    }
}

/// Exact through the kernel looked up at run time (a call per distance, not inlined).
pub(super) struct Called<'a> {
    pub(super) g: &'a Graph,
    pub(super) q: &'a [f32],
}

impl Metric for Called<'_> {
    #[inline(always)]
    fn dist(&self, n: u32) -> f32 {
        self.g.dist(self.q, self.g.vector(n))
    }

    #[inline(always)]
    fn ahead(&self, n: u32) {
        prefetch(self.g.vector(n).as_ptr() as *const u8);
    }
}

/// Approximate: `1 - dot` of the query's i16 components and the byte codes.
pub(super) struct Codes<'a, const K: u8> {
    pub(super) g: &'a Graph,
    pub(super) q: &'a Query,
}

impl<const K: u8> Metric for Codes<'_, K> {
    #[inline(always)]
    fn dist(&self, n: u32) -> f32 {
        let codes = self.g.codes(n);
        let tail: [u8; 4] = std::array::from_fn(|i| codes[codes.len() - 4 + i] as u8);
        let step = f32::from_ne_bytes(tail);
        let q = &self.q.codes;
        // SAFETY: as for `Exact` (AVX512 only where AVX-512 BW was detected too).
        let dot = match K {
            #[cfg(target_arch = "x86_64")]
            AVX512 => unsafe { quant::dot_avx512(q, codes) },
            #[cfg(target_arch = "x86_64")]
            AVX2 => unsafe { quant::dot_avx2(q, codes) },
            #[cfg(target_arch = "aarch64")]
            NEON => quant::dot_neon(q, codes),
            #[cfg(target_arch = "aarch64")]
            NEON_DOT => unsafe { quant::dot_sdot(&self.q.lo, &self.q.hi, codes) },
            _ => quant::dot_portable(q, codes),
        };
        (1.0 - self.q.step * step * dot as f32).max(0.0)
    }

    #[inline(always)]
    fn ahead(&self, n: u32) {
        prefetch(self.g.codes(n).as_ptr() as *const u8);
    }
}
