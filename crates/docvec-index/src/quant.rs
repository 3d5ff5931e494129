//! Scalar quantization for the graph walk. A search spends its time waiting for the vectors of the
//! nodes it compares (perf: the loads, not the arithmetic), so the walk reads each vector as one signed
//! byte per component, a quarter of the f32 bytes, and the final candidates are re-ranked with the
//! exact f32 vectors. Each vector has its own scale (its largest component maps to 127), so no training
//! pass is needed and a graph that grows one insert at a time quantizes as well as one built at once.
//! The query keeps 15 bits a component (i16), so the only rounding is the stored side's.
//!
//! A vector's code block is its codes, zeros, and in the last four bytes its step (the value of one
//! code): one load brings both, and the query's zeros past its last component cancel the step's
//! bytes in the sum. At 50 dimensions the block is one cache line.

use crate::distance::Isa;

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

/// A query made ready for the walk: i16 components (zeros up to the code block's length) and their
/// step.
#[derive(Default)]
pub(crate) struct Query {
    pub(crate) codes: Vec<i16>,
    pub(crate) step: f32,
}

impl Query {
    /// Make this the query for `v`, reusing the buffer.
    pub(crate) fn set(&mut self, v: &[f32]) {
        let len = block(v.len());
        // The i32 sum of `len` products |q| * 127 must not overflow.
        let top = (i32::MAX as usize / (127 * len)).min(i16::MAX as usize) as f32;
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

    #[test]
    fn quantized_dot_products_stay_close_to_the_exact_ones() {
        for dim in [1, 3, 50, 384, 1024, 4096] {
            for seed in 1..20 {
                let (a, b) = (unit(seed, dim), unit(seed + 1000, dim));
                let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                let words = encode(&b);
                let codes: Vec<i8> = words
                    .iter()
                    .flat_map(|w| w.to_ne_bytes())
                    .map(|b| b as i8)
                    .collect();
                assert_eq!(codes.len(), block(dim));
                let step = f32::from_bits(*words.last().unwrap());
                let mut q = Query::default();
                q.set(&a);
                let mut got = vec![dot_portable(&q.codes, &codes)];
                #[cfg(target_arch = "x86_64")]
                {
                    if std::arch::is_x86_feature_detected!("avx2") {
                        got.push(unsafe { dot_avx2(&q.codes, &codes) });
                    }
                    if avx512_usable(crate::distance::isa()) {
                        got.push(unsafe { dot_avx512(&q.codes, &codes) });
                    }
                }
                for g in &got {
                    assert_eq!(*g, got[0], "kernels disagree at {dim}");
                }
                let approx = got[0] as f32 * step * q.step;
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
