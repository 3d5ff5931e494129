//! Dot products of unit vectors (cosine similarity), the one distance docvec needs. On x86-64 the
//! widest instruction set this CPU has (AVX-512 with a masked tail, or AVX2 with FMA) is picked once at
//! run time, so one binary runs everywhere and fast where it can. On aarch64 (e.g. Jetson, Graviton)
//! NEON is baseline, so its kernel needs no check; only the int8 walk's `sdot` is looked for at run
//! time. Elsewhere a loop the compiler vectorises for the target's baseline.

use std::sync::OnceLock;

/// Unsafe to call only because the x86 kernels need the CPU features [`kernel`] checked for them.
pub(crate) type Kernel = unsafe fn(&[f32], &[f32]) -> f32;

/// Four accumulators of `W` lanes (so additions do not wait on each other), then one, then the tail.
/// The portable kernel; the compiler vectorises it for the target's baseline.
#[inline(always)]
fn dot_wide<const W: usize>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [[0f32; W]; 4];
    let mut i = 0;
    while i + 4 * W <= n {
        let (xa, xb) = (&a[i..i + 4 * W], &b[i..i + 4 * W]);
        for (u, lanes) in acc.iter_mut().enumerate() {
            for j in 0..W {
                lanes[j] += xa[u * W + j] * xb[u * W + j];
            }
        }
        i += 4 * W;
    }
    while i + W <= n {
        let (xa, xb) = (&a[i..i + W], &b[i..i + W]);
        for j in 0..W {
            acc[0][j] += xa[j] * xb[j];
        }
        i += W;
    }
    let mut lanes = [0f32; W];
    for part in &acc {
        for j in 0..W {
            lanes[j] += part[j];
        }
    }
    let mut sum: f32 = lanes.iter().sum();
    for j in i..n {
        sum += a[j] * b[j];
    }
    sum
}

pub(crate) fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    dot_wide::<4>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: every load reads 8 floats at i < n - 7 of both slices.
    unsafe {
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
                acc1,
            );
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            i += 8;
        }
        let v = _mm256_add_ps(acc0, acc1);
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        let mut sum = _mm_cvtss_f32(s);
        while i < n {
            sum += a[i] * b[i];
            i += 1;
        }
        sum
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: full loads read 16 floats at i < n - 15; the last, masked load reads only lanes below n.
    unsafe {
        let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        while i + 32 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
                acc1,
            );
            i += 32;
        }
        if i + 16 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            i += 16;
        }
        if i < n {
            let mask: __mmask16 = ((1u32 << (n - i)) - 1) as __mmask16;
            acc1 = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(mask, pa.add(i)),
                _mm512_maskz_loadu_ps(mask, pb.add(i)),
                acc1,
            );
        }
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
    }
}

#[cfg(target_arch = "aarch64")]
#[inline]
pub(crate) fn dot_neon(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::aarch64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: every load reads 4 floats at i < n - 3 of both slices; NEON is baseline on aarch64.
    unsafe {
        // Four accumulators: an FMA waits for its accumulator's last one (4 cycles on Cortex-A76).
        let mut acc = [vdupq_n_f32(0.0); 4];
        while i + 16 <= n {
            for (u, s) in acc.iter_mut().enumerate() {
                let j = i + 4 * u;
                *s = vfmaq_f32(*s, vld1q_f32(pa.add(j)), vld1q_f32(pb.add(j)));
            }
            i += 16;
        }
        while i + 4 <= n {
            acc[0] = vfmaq_f32(acc[0], vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
            i += 4;
        }
        let v = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
        let mut sum = vaddvq_f32(v);
        while i < n {
            sum += a[i] * b[i];
            i += 1;
        }
        sum
    }
}

/// The instruction set the walks are compiled for, found once: on x86-64 the widest this CPU has for
/// dot products; on aarch64 NEON, with `NeonDot` where the CPU has `sdot` for the int8 walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "aarch64")]
    Neon,
    #[cfg(target_arch = "aarch64")]
    NeonDot,
    #[cfg(not(target_arch = "aarch64"))]
    Portable,
}

pub(crate) fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Isa {
    if std::arch::is_x86_feature_detected!("avx512f") {
        Isa::Avx512
    } else if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        Isa::Avx2
    } else {
        Isa::Portable
    }
}

#[cfg(target_arch = "aarch64")]
fn detect() -> Isa {
    // `sdot` is optional before Armv8.4 (Cortex-A53/A72 lack it; A55, A76 and later have it).
    if std::arch::is_aarch64_feature_detected!("dotprod") {
        Isa::NeonDot
    } else {
        Isa::Neon
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect() -> Isa {
    Isa::Portable
}

/// The fastest dot product this CPU runs, chosen once.
pub(crate) fn kernel() -> Kernel {
    match isa() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => dot_avx512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => dot_avx2,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon | Isa::NeonDot => dot_neon,
        #[cfg(not(target_arch = "aarch64"))]
        Isa::Portable => dot_portable,
    }
}

/// Dot product of `a` and `b` (cosine similarity when both are unit length).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: `kernel` returns a function whose CPU features it has checked.
    unsafe { kernel()(a, b) }
}

/// `1 - dot(a, b)`, clamped at 0: rounding makes two identical unit vectors' dot 1.0000001.
#[inline]
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    (1.0 - dot(a, b)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel this CPU runs, beside the portable one.
    fn kernels() -> Vec<(&'static str, Kernel)> {
        let mut k: Vec<(&'static str, Kernel)> = vec![("chosen", kernel())];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                k.push(("avx512", dot_avx512));
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                k.push(("avx2", dot_avx2));
            }
        }
        #[cfg(target_arch = "aarch64")]
        k.push(("neon", dot_neon));
        k
    }

    #[test]
    fn every_kernel_agrees_with_the_plain_sum_and_the_portable_kernel() {
        // Every tail length of every kernel (up to 4 x 16 lanes and beyond), and the usual dimensions.
        for n in (0..=70).chain([384, 1024, 1027]) {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let portable = dot_portable(&a, &b);
            let close = |got: f32, want: f32| (got - want).abs() <= 1e-3 * (1.0 + want.abs());
            assert!(
                close(portable, plain),
                "{n}: portable {portable} vs {plain}"
            );
            assert!(close(dot(&a, &b), plain), "{n}: dot");
            for (name, k) in kernels() {
                // SAFETY: `kernels` lists only kernels whose CPU features were detected.
                let got = unsafe { k(&a, &b) };
                assert!(close(got, plain), "{n}: {name} {got} vs {plain}");
                assert!(
                    close(got, portable),
                    "{n}: {name} {got} vs portable {portable}"
                );
            }
        }
        let v = [0.6f32, 0.8];
        assert_eq!(distance(&v, &v), 0.0);
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn the_neon_kernels_are_picked_with_sdot_where_detected() {
        let dotprod = std::arch::is_aarch64_feature_detected!("dotprod");
        assert_eq!(isa(), if dotprod { Isa::NeonDot } else { Isa::Neon });
    }
}
