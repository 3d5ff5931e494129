//! What this CPU offers ONNX Runtime's int8 kernels. An int8 model is only faster than fp32 where the
//! CPU multiplies 8-bit integers in one instruction: measured 1.40x fp32 on an AVX-512 VNNI CPU (AMD
//! Zen 4), 0.99x on one with AVX2 alone (Zen 3), where ONNX Runtime's 8-bit MatMulNBits has no faster
//! product than fp32's fused multiply-add. With AMX (Intel Xeon 4th gen and later) its integer GEMM
//! runs on the tile unit, and the per-row int8 build that uses it embedded 1.5-1.6x as fast as fp32
//! where MatMulNBits gave 1.0-1.1x (BENCHMARKS.md, issue 21).

/// How much of ONNX Runtime's int8 work this CPU does in hardware, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Int8Support {
    /// No int8 instruction that beats fp32's fused multiply-add (AVX2 alone, older Arm).
    None,
    /// Int8 dot products: AVX-512 VNNI or AVX-VNNI on x86-64, SDOT/UDOT on Arm.
    DotProduct,
    /// AMX tiles (AMX-INT8), enabled by the OS: ONNX Runtime's integer GEMM runs on them.
    MatrixTiles,
}

/// This CPU's [`Int8Support`].
pub fn int8_support() -> Int8Support {
    if amx_int8() {
        Int8Support::MatrixTiles
    } else if int8_dot_product().is_some() {
        Int8Support::DotProduct
    } else {
        Int8Support::None
    }
}

/// The int8 instructions this CPU has, by name, or `None` when it has none that ONNX Runtime's int8
/// kernels use.
pub fn int8_dot_product() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        // Every CPU with AMX also has AVX-512 VNNI, which the dot-product kernels use.
        if amx_int8() {
            return Some("AMX-INT8 and AVX-512 VNNI");
        }
        if std::arch::is_x86_feature_detected!("avx512vnni") {
            return Some("AVX-512 VNNI");
        }
        if std::arch::is_x86_feature_detected!("avxvnni") {
            return Some("AVX-VNNI");
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SDOT/UDOT: Armv8.2 and later, Jetson Orin's Cortex-A78AE included.
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            return Some("Arm dot product");
        }
    }
    None
}

/// AMX-INT8 with its tile state saved by the OS. std's detection of AMX is unstable in Rust 1.95, so
/// this reads CPUID and XCR0 itself, as ONNX Runtime's MLAS does before it picks its AMX kernels.
#[cfg(target_arch = "x86_64")]
fn amx_int8() -> bool {
    use std::arch::x86_64::__cpuid_count;
    const AMX_TILE: u32 = 1 << 24;
    const AMX_INT8: u32 = 1 << 25;
    const XTILE_STATE: u64 = (1 << 17) | (1 << 18); // XTILECFG and XTILEDATA
    // CPUID leaf 7 exists on every x86-64 CPU that can have AMX; on older ones EDX reads 0.
    #[allow(unused_unsafe)]
    let leaf7 = unsafe { __cpuid_count(7, 0) };
    if leaf7.edx & (AMX_TILE | AMX_INT8) != AMX_TILE | AMX_INT8 {
        return false;
    }
    // is_x86_feature_detected!("xsave") includes the OS's OSXSAVE bit, which XGETBV needs.
    std::arch::is_x86_feature_detected!("xsave") && xcr0() & XTILE_STATE == XTILE_STATE
}

#[cfg(target_arch = "x86_64")]
fn xcr0() -> u64 {
    #[target_feature(enable = "xsave")]
    unsafe fn read() -> u64 {
        // SAFETY: XGETBV is available whenever `read` may be called (below).
        unsafe { std::arch::x86_64::_xgetbv(0) }
    }
    // SAFETY: called only after is_x86_feature_detected!("xsave") said XGETBV is available.
    unsafe { read() }
}

#[cfg(not(target_arch = "x86_64"))]
fn amx_int8() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer agrees with what the kernel says the CPU has (Linux's /proc/cpuinfo, where the AMX
    /// flags show only when the kernel enabled the tile state), so a test run on any kind of CPU
    /// checks the detection, not only one branch of it.
    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    fn int8_support_matches_the_kernels_cpu_flags() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let flags: Vec<&str> = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .unwrap()
            .split_whitespace()
            .collect();
        let amx = flags.contains(&"amx_int8") && flags.contains(&"amx_tile");
        let (expected_name, expected) = if amx {
            (Some("AMX-INT8 and AVX-512 VNNI"), Int8Support::MatrixTiles)
        } else if flags.contains(&"avx512_vnni") {
            (Some("AVX-512 VNNI"), Int8Support::DotProduct)
        } else if flags.contains(&"avx_vnni") {
            (Some("AVX-VNNI"), Int8Support::DotProduct)
        } else {
            (None, Int8Support::None)
        };
        assert_eq!(int8_dot_product(), expected_name, "flags: {flags:?}");
        assert_eq!(int8_support(), expected, "flags: {flags:?}");
    }
}
