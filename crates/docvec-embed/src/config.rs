use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where the model runs. CUDA and TensorRT need the GPU build of ONNX Runtime (`onnxruntime-gpu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
    /// TensorRT with CUDA for the nodes TensorRT does not take (Jetson and data-centre GPUs).
    Tensorrt,
}

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            "tensorrt" | "trt" => Ok(Device::Tensorrt),
            other => Err(format!(
                "unknown device `{other}` (expected cpu, cuda or tensorrt)"
            )),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
            Device::Tensorrt => "tensorrt",
        })
    }
}

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Average over the real (unpadded) tokens: all-MiniLM-L6-v2 and most sentence-transformers.
    #[default]
    Mean,
    /// The first ([CLS]) token: BGE and other CLS-pooled models.
    Cls,
}

impl FromStr for Pooling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mean" => Ok(Pooling::Mean),
            "cls" => Ok(Pooling::Cls),
            other => Err(format!("unknown pooling `{other}` (expected mean or cls)")),
        }
    }
}

/// Everything needed to load an ONNX sentence-embedding model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmbedderConfig {
    /// Names the model in the store and the index ("all-MiniLM-L6-v2").
    pub model_id: String,
    pub model_path: PathBuf,
    pub tokenizer_path: PathBuf,
    /// The ONNX Runtime shared library (`libonnxruntime.so`).
    pub ort_library: PathBuf,
    pub dimension: usize,
    /// Input limit in tokens, special tokens included.
    pub max_tokens: usize,
    pub pooling: Pooling,
    pub normalize: bool,
    pub device: Device,
    /// ONNX Runtime intra-op threads; 0 lets ONNX Runtime decide (one per core).
    pub intra_threads: usize,
    /// Sessions that run the batches of one call side by side on the CPU, each with `intra_threads /
    /// sessions` threads (at least one); a call of a single batch runs on one session of all
    /// `intra_threads`. 0 or 1: every batch runs on that one session. Unused on a GPU.
    #[serde(default)]
    pub sessions: usize,
    /// Tokens (sequence length x batch rows) per inference call; batches are cut to stay under it.
    pub batch_tokens: usize,
    /// Rows per inference call at most, whatever `batch_tokens` allows: bounds one call's memory, and
    /// is the largest batch a TensorRT engine is built for.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// Which GPU, and TensorRT's caches and precision; unused on the CPU.
    #[serde(default)]
    pub gpu: GpuOptions,
}

/// Rows per inference call unless configured: measured on CPU, larger batches gained nothing there.
pub const DEFAULT_BATCH_ROWS: usize = 256;

/// Tokens per inference call unless configured (`batch_tokens = 0`), by device.
///
/// On the CPU, one call of a full-length chunk (256 tokens: chunks of ~200 go one per call, short rows
/// and queries several together) embedded 1,000 corpus chunks 1.32x faster than 1,024 tokens did with
/// the per-row int8 build, 1.10x with the block int8 build and 1.12x with fp32 (BENCHMARKS.md, "Tokens
/// per call on the CPU"): a call's activations (200 x 1,536 floats in the feed-forward layer, 1.2 MB)
/// then stay in the core's cache between the element-wise operators, where five rows' did not. Bursts
/// of search queries ran alike at 256 and 1,024. A GPU wants large batches: 1,024, as before (raise
/// it with `batch_rows` there).
pub const fn default_batch_tokens(device: Device) -> usize {
    match device {
        Device::Cpu => 256,
        Device::Cuda | Device::Tensorrt => 1024,
    }
}

fn default_batch_rows() -> usize {
    DEFAULT_BATCH_ROWS
}

/// The settings of the CUDA and TensorRT execution providers (`providers.rs` maps them to ONNX
/// Runtime's options).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GpuOptions {
    /// CUDA's ordinal of the GPU to run on, for CUDA and TensorRT alike.
    pub device_id: u32,
    /// Where TensorRT keeps its built engines and its timing cache between starts. `None` builds the
    /// engine anew at every start (minutes on a Jetson).
    pub tensorrt_cache: Option<PathBuf>,
    /// Let TensorRT pick fp16 kernels (LayerNorm stays fp32, for accuracy).
    pub tensorrt_fp16: bool,
}

impl Default for GpuOptions {
    fn default() -> Self {
        Self {
            device_id: 0,
            tensorrt_cache: None,
            tensorrt_fp16: true,
        }
    }
}
