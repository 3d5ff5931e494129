//! Scalar quantization for the graph walk. A search spends its time waiting for the vectors of the
//! nodes it compares (perf: the loads, not the arithmetic), so the walk reads each vector as one signed
//! byte per component, a quarter of the f32 bytes, and the final candidates are re-ranked with the
//! exact f32 vectors. Each vector has its own scale (its largest component maps to 127), so no training
//! pass is needed and a graph that grows one insert at a time quantizes as well as one built at once.
//! The query keeps 15 bits a component (i16, up to [`TOP`]), so the only rounding is the stored side's.
//! Every kernel's sum is the exact integer one, whatever the instruction set.
//!
//! A vector's code block is its codes, zeros, and in the last four bytes its step (the value of one
//! code): one load brings both, and the query's zeros past its last component cancel the step's
//! bytes in the sum. At 50 dimensions the block is one cache line.

use crate::distance::Isa;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "aarch64")]
pub(crate) use neon::{dot_neon, dot_sdot};

/// Code blocks are a multiple of this many bytes: whole 256-bit loads, no tail loop.
pub(crate) const LANES: usize = 32;

/// Bytes of a `dim`-long vector's code block: its codes and the 4-byte step, rounded up to `LANES`.
pub(crate) fn block(dim: usize) -> usize {
    (dim + 4).div_ceil(LANES) * LANES
}

/// `v`'s code block as native-endian words (codes, zeros, the step's bits last).
pub(crate) fn encode(v: &[f32]) -> Vec<u32> {
    let len = block(v.len());
    let mut codes = vec![0u8; len];
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let step = if max > 0.0 && max.is_finite() {
        let s = 127.0 / max;
        for (o, x) in codes.iter_mut().zip(v) {
            *o = round(x * s, 127.0) as i8 as u8;
        }
        max / 127.0
    } else {
        0.0
    };
    codes[len - 4..].copy_from_slice(&step.to_ne_bytes());
    codes
        .chunks_exact(4)
        .map(|b| u32::from_ne_bytes(b.try_into().expect("4 bytes")))
        .collect()
}

/// `x` (at most `top` + 1 in size) rounded half away from zero and bounded by `top`. Not
/// `f32::round`: without SSE4.1 in the baseline that is a libm call per component, a few per cent of
/// a query.
#[inline(always)]
fn round(x: f32, top: f32) -> f32 {
    ((x + 0.5f32.copysign(x)) as i32 as f32).clamp(-top, top)
}

/// The largest query component: i16's less 128, so that every component is exactly `hi * 256 + lo`
/// with both signed bytes (32,639 = 127 * 256 + 127), the form `sdot` multiplies (see `neon.rs`). Its
/// step is 0.4% coarser than at i16::MAX, against the codes' steps of 1/127 of their largest component.
const TOP: usize = i16::MAX as usize - 128;

/// A query made ready for the walk: i16 components (zeros up to the code block's length) and their
/// step; on aarch64 also their low and high bytes, for `sdot`.
#[derive(Default)]
pub(crate) struct Query {
    pub(crate) codes: Vec<i16>,
    pub(crate) step: f32,
    #[cfg(target_arch = "aarch64")]
    pub(crate) lo: Vec<i8>,
    #[cfg(target_arch = "aarch64")]
    pub(crate) hi: Vec<i8>,
}

impl Query {
    pub(crate) const fn new() -> Self {
        Self {
            codes: Vec::new(),
            step: 0.0,
            #[cfg(target_arch = "aarch64")]
            lo: Vec::new(),
            #[cfg(target_arch = "aarch64")]
            hi: Vec::new(),
        }
    }

    /// Make this the query for `v`, reusing the buffers.
    pub(crate) fn set(&mut self, v: &[f32]) {
        self.quantize(v);
        #[cfg(target_arch = "aarch64")]
        self.split();
    }

    fn quantize(&mut self, v: &[f32]) {
        let len = block(v.len());
        // The i32 sum of `len` products |q| * 127 must not overflow.
        let top = (i32::MAX as usize / (127 * len)).min(TOP) as f32;
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        self.codes.clear();
        self.codes.resize(len, 0);
        self.step = 0.0;
        if !(max > 0.0 && max.is_finite()) {
            return;
        }
        let s = top / max;
        for (o, x) in self.codes.iter_mut().zip(v) {
            *o = round(x * s, top) as i16;
        }
        self.step = max / top;
    }

    /// Each component as `hi * 256 + lo`, both signed bytes (`lo` its low byte): exact up to [`TOP`].
    #[cfg(target_arch = "aarch64")]
    pub(crate) fn split(&mut self) {
        self.lo.clear();
        self.hi.clear();
        for &q in &self.codes {
            let lo = q as i8;
            self.lo.push(lo);
            // |q| <= TOP: `q - lo` fits an i16 and is a multiple of 256 within 127 * 256 of zero.
            self.hi.push(((q - lo as i16) >> 8) as i8);
        }
    }
}

/// Sum of products of a query's i16 components and a vector's code block (both `block` long).
#[inline(always)]
pub(crate) fn dot_portable(q: &[i16], c: &[i8]) -> i32 {
    q.iter().zip(c).map(|(&a, &b)| a as i32 * b as i32).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) fn dot_avx2(q: &[i16], c: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = q.len().min(c.len()) / LANES * LANES;
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    // SAFETY: every load reads 16 codes / 16 i16 at i + 16 <= n of both slices.
    unsafe {
        let (mut acc0, mut acc1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut i = 0;
        while i < n {
            let c0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pc.add(i) as *const __m128i));
            let c1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pc.add(i + 16) as *const __m128i));
            let q0 = _mm256_loadu_si256(pq.add(i) as *const __m256i);
            let q1 = _mm256_loadu_si256(pq.add(i + 16) as *const __m256i);
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(q0, c0));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(q1, c1));
            i += LANES;
        }
        let v = _mm256_add_epi32(acc0, acc1);
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        _mm_cvtsi128_si32(s)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub(crate) fn dot_avx512(q: &[i16], c: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = q.len().min(c.len()) / LANES * LANES;
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    // SAFETY: every load reads 32 codes / 32 i16 at i + 32 <= n of both slices.
    unsafe {
        let (mut acc0, mut acc1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let mut i = 0;
        while i + 2 * LANES <= n {
            let c0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pc.add(i) as *const __m256i));
            let c1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pc.add(i + 32) as *const __m256i));
            let q0 = _mm512_loadu_si512(pq.add(i) as *const __m512i);
            let q1 = _mm512_loadu_si512(pq.add(i + 32) as *const __m512i);
            acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(q0, c0));
            acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(q1, c1));
            i += 2 * LANES;
        }
        if i < n {
            let c0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pc.add(i) as *const __m256i));
            let q0 = _mm512_loadu_si512(pq.add(i) as *const __m512i);
            acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(q0, c0));
        }
        _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1))
    }
}

/// Whether this CPU's AVX-512 has the byte/word instructions the code kernel needs (every AVX-512 CPU
/// since Skylake-SP does; the first Xeon Phis did not).
pub(crate) fn avx512_usable(isa: Isa) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        isa == Isa::Avx512 && std::arch::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = isa;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u32, dim: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32) - 0.5
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.iter_mut().for_each(|a| *a /= n);
        v
    }

    /// A code block as the walk reads it.
    fn bytes(words: &[u32]) -> Vec<i8> {
        words
            .iter()
            .flat_map(|w| w.to_ne_bytes())
            .map(|b| b as i8)
            .collect()
    }

    /// The sum of every code kernel this CPU runs (the portable one first), each by name.
    fn kernels(q: &Query, c: &[i8]) -> Vec<(&'static str, i32)> {
        let mut got = vec![("portable", dot_portable(&q.codes, c))];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                got.push(("avx2", unsafe { dot_avx2(&q.codes, c) }));
            }
            if avx512_usable(crate::distance::isa()) {
                got.push(("avx512", unsafe { dot_avx512(&q.codes, c) }));
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            got.push(("neon", dot_neon(&q.codes, c)));
            if std::arch::is_aarch64_feature_detected!("dotprod") {
                got.push(("sdot", unsafe { dot_sdot(&q.lo, &q.hi, c) }));
            }
        }
        got
    }

    /// The portable kernel's sum, after checking that every other kernel's is the same.
    fn agreed(q: &Query, c: &[i8], what: &str) -> i32 {
        let got = kernels(q, c);
        for (name, sum) in &got {
            assert_eq!(
                *sum, got[0].1,
                "{what}: {name} disagrees with the portable kernel"
            );
        }
        got[0].1
    }

    #[test]
    fn quantized_dot_products_stay_close_to_the_exact_ones() {
        for dim in [1, 3, 50, 384, 1024, 4096] {
            for seed in 1..20 {
                let (a, b) = (unit(seed, dim), unit(seed + 1000, dim));
                let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                let words = encode(&b);
                let codes = bytes(&words);
                assert_eq!(codes.len(), block(dim));
                let step = f32::from_bits(*words.last().unwrap());
                let mut q = Query::default();
                q.set(&a);
                let approx = agreed(&q, &codes, &format!("{dim}")) as f32 * step * q.step;
                // Half a code step per component of a unit vector, summed as independent errors.
                let bound = 0.5 * (step + q.step) * (dim as f32).sqrt() + 1e-4;
                assert!(
                    (approx - exact).abs() <= bound,
                    "{dim}: {approx} vs {exact} (bound {bound})"
                );
            }
        }
    }

    #[test]
    fn every_code_kernel_matches_the_portable_one_at_every_dimension() {
        // Every dimension up to two code blocks and a bit (each kernel's tail), and a common one.
        let mut q = Query::default();
        for dim in (0..=70).chain([384]) {
            for seed in 1..4 {
                q.set(&unit(seed, dim));
                let codes = bytes(&encode(&unit(seed + 500, dim)));
                agreed(&q, &codes, &format!("{dim}, seed {seed}"));
            }
        }
    }

    /// Every kernel's sum of `q` and `c` is the exact one.
    fn exact_sum(q: Vec<i16>, c: &[i8], what: &str) {
        let want: i64 = q.iter().zip(c).map(|(&a, &b)| a as i64 * b as i64).sum();
        let query = Query {
            codes: q,
            ..Query::new()
        };
        #[cfg(target_arch = "aarch64")]
        let query = {
            let mut query = query;
            query.split();
            query
        };
        assert_eq!(agreed(&query, c, what) as i64, want, "{what}");
    }

    #[test]
    fn code_kernels_are_exact_at_the_largest_sums() {
        // Queries at their largest (with every low byte), codes at +-127, the step's bytes at the end.
        for dim in [1, 31, 64, 384, 4096] {
            let len = block(dim);
            let top = (i32::MAX as usize / (127 * len)).min(TOP) as i16;
            for sign in [1i16, -1] {
                let q = |i: usize| {
                    if i < dim {
                        sign * (top - (i % 256) as i16)
                    } else {
                        0
                    }
                };
                let mut c: Vec<i8> = (0..len)
                    .map(|i| if i % 3 == 0 { -127 } else { 127 })
                    .collect();
                c[len - 4..].copy_from_slice(&[-128, 127, -1, -128]);
                exact_sum(
                    (0..len).map(q).collect(),
                    &c,
                    &format!("{dim}, {sign}, mixed"),
                );
                c[..len - 4].fill(127);
                exact_sum((0..len).map(q).collect(), &c, &format!("{dim}, {sign}"));
            }
        }
        // A sum within 0.03% of i32's range, of components whose split is (+-127, -128).
        for q in [32_384i16, -32_384] {
            let codes = (0..544).map(|i| if i < 522 { q } else { 0 }).collect();
            exact_sum(codes, &[127; 544], &format!("{q} x 522"));
        }
    }

    #[test]
    fn a_zero_vector_quantizes_to_zero() {
        assert!(encode(&[0.0; 5]).iter().all(|&w| w == 0));
        let mut q = Query::default();
        q.set(&[0.0; 5]);
        assert_eq!(q.step, 0.0);
        assert_eq!(round(2.5, 127.0), 3.0);
        assert_eq!(round(-2.5, 127.0), -3.0);
        assert_eq!(round(-0.4, 127.0), 0.0);
        assert_eq!(round(127.4, 127.0), 127.0);
    }
}
