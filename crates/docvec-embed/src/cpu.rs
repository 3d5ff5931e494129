//! What this CPU offers ONNX Runtime's int8 kernels. An int8 model is only faster than fp32 where the
//! CPU multiplies 8-bit integers in one instruction: measured 1.40x fp32 on an AVX-512 VNNI CPU (AMD
//! Zen 4), 0.99x on one with AVX2 alone (Zen 3), where ONNX Runtime's 8-bit MatMulNBits has no faster
//! product than fp32's fused multiply-add (BENCHMARKS.md, issue 21).

/// The int8 dot-product instructions this CPU has, by name, or `None` when it has none that ONNX
/// Runtime's int8 kernels use.
pub fn int8_dot_product() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        // Every CPU with AMX also has AVX-512 VNNI, so AMX needs no test of its own.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer agrees with what the kernel says the CPU has (Linux's /proc/cpuinfo), so a test run
    /// on either kind of CPU checks the detection, not only one branch of it.
    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    fn int8_dot_product_matches_the_kernels_cpu_flags() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let flags: Vec<&str> = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .unwrap()
            .split_whitespace()
            .collect();
        let expected = if flags.contains(&"avx512_vnni") {
            Some("AVX-512 VNNI")
        } else if flags.contains(&"avx_vnni") {
            Some("AVX-VNNI")
        } else {
            None
        };
        assert_eq!(int8_dot_product(), expected, "flags: {flags:?}");
    }
}
