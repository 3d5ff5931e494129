//! The int8 walk's kernels on aarch64, both exact like the x86 ones (the walk must rank the same on
//! every CPU). NEON is baseline there: [`dot_neon`] widens the codes to i16 and multiplies-accumulates
//! into i32 lanes (`smlal`, the counterpart of x86's `madd`). Where the CPU has `sdot` (Armv8.2's
//! dot product, optional before 8.4), [`dot_sdot`] multiplies four byte pairs a lane in one
//! instruction; it needs the query as bytes, so [`Query::split`](super::Query::split) keeps each i16
//! component as `hi * 256 + lo` and the kernel sums both halves against the same codes. Quantizing the
//! query to one byte instead would have doubled the bound on the walk's rounding error, and made the
//! kernels disagree.

use std::arch::aarch64::*;
use std::arch::asm;

use super::LANES;

/// Sum of products of a query's i16 components and a vector's code block (both `block` long).
#[inline]
pub(crate) fn dot_neon(q: &[i16], c: &[i8]) -> i32 {
    let n = q.len().min(c.len()) / LANES * LANES;
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    // SAFETY: every load reads 16 codes / 8 i16 at i + 16 <= n of both slices; NEON is baseline.
    unsafe {
        // Four accumulators, so a multiply-add need not wait for the one before.
        let mut acc = [vdupq_n_s32(0); 4];
        let mut i = 0;
        while i < n {
            let codes = vld1q_s8(pc.add(i));
            let (c0, c1) = (vmovl_s8(vget_low_s8(codes)), vmovl_high_s8(codes));
            let (q0, q1) = (vld1q_s16(pq.add(i)), vld1q_s16(pq.add(i + 8)));
            acc[0] = vmlal_s16(acc[0], vget_low_s16(q0), vget_low_s16(c0));
            acc[1] = vmlal_high_s16(acc[1], q0, c0);
            acc[2] = vmlal_s16(acc[2], vget_low_s16(q1), vget_low_s16(c1));
            acc[3] = vmlal_high_s16(acc[3], q1, c1);
            i += 16;
        }
        vaddvq_s32(vaddq_s32(
            vaddq_s32(acc[0], acc[1]),
            vaddq_s32(acc[2], acc[3]),
        ))
    }
}

/// [`dot_neon`] of the query split as `hi * 256 + lo` (see [`Query::split`](super::Query::split)).
#[target_feature(enable = "dotprod")]
#[inline]
pub(crate) fn dot_sdot(lo: &[i8], hi: &[i8], c: &[i8]) -> i32 {
    let n = lo.len().min(hi.len()).min(c.len()) / LANES * LANES;
    let (pl, ph, pc) = (lo.as_ptr(), hi.as_ptr(), c.as_ptr());
    // SAFETY: every load reads 16 bytes at i + 16 <= n of each slice; NEON is baseline.
    unsafe {
        let [mut l0, mut l1, mut h0, mut h1] = [vdupq_n_s32(0); 4];
        let mut i = 0;
        while i < n {
            let (c0, c1) = (vld1q_s8(pc.add(i)), vld1q_s8(pc.add(i + 16)));
            l0 = sdot(l0, vld1q_s8(pl.add(i)), c0);
            l1 = sdot(l1, vld1q_s8(pl.add(i + 16)), c1);
            h0 = sdot(h0, vld1q_s8(ph.add(i)), c0);
            h1 = sdot(h1, vld1q_s8(ph.add(i + 16)), c1);
            i += LANES;
        }
        // hi * 256 + lo. The lanes wrap modulo 2^32 (the high half alone may pass i32's range), but
        // the whole sum fits an i32 (`Query::set` bounds it), so the wrapped result is the exact one.
        let high = vshlq_n_s32::<8>(vaddq_s32(h0, h1));
        vaddvq_s32(vaddq_s32(high, vaddq_s32(l0, l1)))
    }
}

/// `acc` plus, in each i32 lane, the dot product of the lane's four bytes of `a` and of `b`. Inline
/// assembly: Rust's `vdotq_s32` is still unstable (`stdarch_neon_dotprod`).
#[target_feature(enable = "dotprod")]
#[inline]
fn sdot(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: `sdot` reads and writes only these registers, on a CPU with the feature (the caller's
    // `target_feature` says so).
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}
