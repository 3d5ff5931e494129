//! The execution providers a device registers, with their options. Options are ONNX Runtime's own
//! key/value pairs, built by plain functions so that the mapping is unit-tested on machines without a
//! GPU: TensorRT has run nowhere here, only its option names are checked (against ONNX Runtime's
//! documentation of the TensorRT provider).

use std::path::Path;

use ort::ep::{self, ArbitrarilyConfigurableExecutionProvider, ExecutionProviderDispatch};

use crate::config::{Device, EmbedderConfig};

/// ONNX Runtime's names of the providers docvec registers.
pub const CPU: &str = "CPUExecutionProvider";
pub const CUDA: &str = "CUDAExecutionProvider";
pub const TENSORRT: &str = "TensorrtExecutionProvider";

/// The providers a session on `device` holds, in ONNX Runtime's order of preference. The CPU provider
/// is always last: ONNX Runtime gives it the nodes the others do not take.
pub fn provider_names(device: Device) -> Vec<&'static str> {
    match device {
        Device::Cpu => vec![CPU],
        Device::Cuda => vec![CUDA, CPU],
        Device::Tensorrt => vec![TENSORRT, CUDA, CPU],
    }
}

/// The sequence length TensorRT tunes its kernels for: most chunks and queries are shorter.
const OPT_TOKENS: usize = 128;

/// One TensorRT optimisation profile, the same for every input: the smallest, the tuned-for and the
/// largest batch, as `[rows, tokens]`. One engine built for it serves every batch `embed` sends, so
/// TensorRT never rebuilds for a new shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeProfile {
    pub min: [usize; 2],
    pub opt: [usize; 2],
    pub max: [usize; 2],
}

impl ShapeProfile {
    /// From one row of one token up to `batch_rows` rows of `max_tokens`. A batch of several rows keeps
    /// rows x tokens within `batch_tokens` (`batching::plan`), so it never has more rows than that
    /// budget; a single input longer than the budget goes alone, up to `max_tokens`.
    pub fn for_batches(config: &EmbedderConfig) -> Self {
        let tokens = config.max_tokens.max(1);
        let rows = config.batch_rows.min(config.batch_tokens).max(1);
        let opt_tokens = tokens.min(OPT_TOKENS);
        let opt_rows = (config.batch_tokens / opt_tokens).clamp(1, rows);
        Self {
            min: [1, 1],
            opt: [opt_rows, opt_tokens],
            max: [rows, tokens],
        }
    }
}

/// ONNX Runtime's form of one profile bound: `input_ids:1x1,attention_mask:1x1`. Every dynamic input
/// must be named, and only those the model has.
fn shapes(dims: [usize; 2], inputs: &[String]) -> String {
    inputs
        .iter()
        .map(|name| format!("{name}:{}x{}", dims[0], dims[1]))
        .collect::<Vec<_>>()
        .join(",")
}

fn flag(on: bool) -> String {
    if on { "1" } else { "0" }.to_string()
}

/// The file-name prefix of this model's engines in the cache: its id, in characters safe in a file name.
pub fn engine_prefix(config: &EmbedderConfig) -> String {
    let id: String = config
        .model_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("docvec_{id}")
}

/// The TensorRT provider's options for a model with these `inputs`.
pub fn tensorrt_options(config: &EmbedderConfig, inputs: &[String]) -> Vec<(&'static str, String)> {
    let gpu = &config.gpu;
    let profile = ShapeProfile::for_batches(config);
    let mut options = vec![
        ("device_id", gpu.device_id.to_string()),
        ("trt_fp16_enable", flag(gpu.tensorrt_fp16)),
        ("trt_profile_min_shapes", shapes(profile.min, inputs)),
        ("trt_profile_opt_shapes", shapes(profile.opt, inputs)),
        ("trt_profile_max_shapes", shapes(profile.max, inputs)),
    ];
    if gpu.tensorrt_fp16 {
        // LayerNorm's sums of squares overflow fp16; kept in fp32 they hold the vectors to fp32's.
        options.push(("trt_layer_norm_fp32_fallback", flag(true)));
    }
    if let Some(dir) = &gpu.tensorrt_cache {
        let dir = dir.display().to_string();
        options.extend([
            ("trt_engine_cache_enable", flag(true)),
            ("trt_engine_cache_path", dir.clone()),
            ("trt_engine_cache_prefix", engine_prefix(config)),
            // Kernel timings outlive an engine: a rebuild after a model or profile change is faster.
            ("trt_timing_cache_enable", flag(true)),
            ("trt_timing_cache_path", dir),
        ]);
    }
    options
}

/// The CUDA provider's options (alone, or under TensorRT for the nodes TensorRT does not take).
pub fn cuda_options(config: &EmbedderConfig) -> Vec<(&'static str, String)> {
    vec![("device_id", config.gpu.device_id.to_string())]
}

/// Whether the cache already holds an engine of this model (built at an earlier start).
pub fn engine_cached(dir: &Path, prefix: &str) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(prefix) && name.ends_with(".engine")
            })
        })
        .unwrap_or(false)
}

/// The providers to register for `config.device`, configured; empty for the CPU (ONNX Runtime's
/// default). Each fails the session's creation when it cannot be registered: never a silent fall-back.
pub(crate) fn dispatch(
    config: &EmbedderConfig,
    inputs: &[String],
) -> Vec<ExecutionProviderDispatch> {
    let cuda = || {
        cuda_options(config)
            .into_iter()
            .fold(ep::CUDA::default(), |p, (k, v)| {
                p.with_arbitrary_config(k, v)
            })
            .build()
            .error_on_failure()
    };
    match config.device {
        Device::Cpu => vec![],
        Device::Cuda => vec![cuda()],
        Device::Tensorrt => {
            let trt = tensorrt_options(config, inputs)
                .into_iter()
                .fold(ep::TensorRT::default(), |p, (k, v)| {
                    p.with_arbitrary_config(k, v)
                });
            vec![trt.build().error_on_failure(), cuda()]
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::{GpuOptions, Pooling};

    fn config(device: Device) -> EmbedderConfig {
        EmbedderConfig {
            model_id: "all-MiniLM-L6-v2".into(),
            model_path: "model.onnx".into(),
            tokenizer_path: "tokenizer.json".into(),
            ort_library: "libonnxruntime.so".into(),
            dimension: 384,
            max_tokens: 256,
            pooling: Pooling::Mean,
            normalize: true,
            device,
            intra_threads: 0,
            sessions: 0,
            batch_tokens: 1024,
            batch_rows: 256,
            gpu: GpuOptions::default(),
        }
    }

    fn inputs() -> Vec<String> {
        ["input_ids", "attention_mask", "token_type_ids"]
            .map(String::from)
            .to_vec()
    }

    fn get<'a>(options: &'a [(&'static str, String)], key: &str) -> Option<&'a str> {
        options
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_profile_covers_every_batch_the_planner_can_cut() {
        let c = config(Device::Tensorrt);
        let p = ShapeProfile::for_batches(&c);
        assert_eq!(p.min, [1, 1]);
        assert_eq!(p.max, [256, 256]);
        assert_eq!(p.opt, [8, 128]);
        // Every batch the planner makes lies inside the profile, for lengths of 1 to max_tokens.
        let lengths: Vec<usize> = (1..=300).rev().map(|l: usize| l.min(256)).collect();
        for range in crate::batching::plan(&lengths, c.batch_tokens, c.batch_rows) {
            let rows = range.len();
            let tokens = lengths[range.start];
            assert!(rows <= p.max[0] && tokens <= p.max[1], "{rows}x{tokens}");
        }
        // A small token budget caps the rows; a GPU-sized one fills them.
        let small = EmbedderConfig {
            batch_tokens: 64,
            ..config(Device::Tensorrt)
        };
        assert_eq!(ShapeProfile::for_batches(&small).max, [64, 256]);
        let big = EmbedderConfig {
            batch_tokens: 512 * 256,
            batch_rows: 512,
            ..config(Device::Tensorrt)
        };
        let p = ShapeProfile::for_batches(&big);
        assert_eq!((p.opt, p.max), ([512, 128], [512, 256]));
    }

    #[test]
    fn tensorrt_options_name_every_input_and_cache_on_disk() {
        let mut c = config(Device::Tensorrt);
        c.gpu = GpuOptions {
            device_id: 1,
            tensorrt_cache: Some(PathBuf::from("/data/tensorrt-cache")),
            tensorrt_fp16: true,
        };
        let o = tensorrt_options(&c, &inputs());
        assert_eq!(get(&o, "device_id"), Some("1"));
        assert_eq!(get(&o, "trt_fp16_enable"), Some("1"));
        assert_eq!(get(&o, "trt_layer_norm_fp32_fallback"), Some("1"));
        assert_eq!(
            get(&o, "trt_profile_max_shapes"),
            Some("input_ids:256x256,attention_mask:256x256,token_type_ids:256x256")
        );
        assert_eq!(
            get(&o, "trt_profile_min_shapes"),
            Some("input_ids:1x1,attention_mask:1x1,token_type_ids:1x1")
        );
        assert_eq!(
            get(&o, "trt_profile_opt_shapes"),
            Some("input_ids:8x128,attention_mask:8x128,token_type_ids:8x128")
        );
        assert_eq!(get(&o, "trt_engine_cache_enable"), Some("1"));
        assert_eq!(
            get(&o, "trt_engine_cache_path"),
            Some("/data/tensorrt-cache")
        );
        assert_eq!(get(&o, "trt_timing_cache_enable"), Some("1"));
        assert_eq!(
            get(&o, "trt_timing_cache_path"),
            Some("/data/tensorrt-cache")
        );
        assert_eq!(
            get(&o, "trt_engine_cache_prefix"),
            Some("docvec_all-MiniLM-L6-v2")
        );
        // Every key is one the TensorRT provider knows (ONNX Runtime rejects unknown ones).
        let known = [
            "device_id",
            "trt_fp16_enable",
            "trt_layer_norm_fp32_fallback",
            "trt_profile_min_shapes",
            "trt_profile_opt_shapes",
            "trt_profile_max_shapes",
            "trt_engine_cache_enable",
            "trt_engine_cache_path",
            "trt_engine_cache_prefix",
            "trt_timing_cache_enable",
            "trt_timing_cache_path",
        ];
        assert!(o.iter().all(|(k, _)| known.contains(k)), "{o:?}");
    }

    #[test]
    fn fp32_and_no_cache_leave_those_options_out() {
        let mut c = config(Device::Tensorrt);
        c.gpu.tensorrt_fp16 = false;
        c.model_id = "bge small/v1.5".into();
        let two = ["input_ids", "attention_mask"].map(String::from);
        let o = tensorrt_options(&c, &two);
        assert_eq!(get(&o, "trt_fp16_enable"), Some("0"));
        assert_eq!(get(&o, "trt_layer_norm_fp32_fallback"), None);
        assert_eq!(get(&o, "trt_engine_cache_enable"), None);
        assert_eq!(get(&o, "trt_timing_cache_path"), None);
        // A model without token_type_ids gets no profile for it.
        assert_eq!(
            get(&o, "trt_profile_max_shapes"),
            Some("input_ids:256x256,attention_mask:256x256")
        );
        assert_eq!(engine_prefix(&c), "docvec_bge_small_v1_5");
        assert_eq!(get(&cuda_options(&c), "device_id"), Some("0"));
    }

    #[test]
    fn each_device_names_its_providers_cpu_last() {
        assert_eq!(provider_names(Device::Cpu), [CPU]);
        assert_eq!(provider_names(Device::Cuda), [CUDA, CPU]);
        assert_eq!(provider_names(Device::Tensorrt), [TENSORRT, CUDA, CPU]);
        assert!(dispatch(&config(Device::Cpu), &inputs()).is_empty());
        assert_eq!(dispatch(&config(Device::Cuda), &inputs()).len(), 1);
        assert_eq!(dispatch(&config(Device::Tensorrt), &inputs()).len(), 2);
    }

    #[test]
    fn an_engine_in_the_cache_is_found_by_its_prefix() {
        let dir = std::env::temp_dir().join(format!("docvec-trt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let prefix = engine_prefix(&config(Device::Tensorrt));
        assert!(!engine_cached(&dir, &prefix));
        std::fs::write(dir.join(format!("{prefix}_123_sm90.profile")), b"").unwrap();
        assert!(!engine_cached(&dir, &prefix), "a profile is not an engine");
        std::fs::write(dir.join("docvec_other_1_sm90.engine"), b"").unwrap();
        assert!(!engine_cached(&dir, &prefix), "another model's engine");
        std::fs::write(dir.join(format!("{prefix}_123_sm90.engine")), b"").unwrap();
        assert!(engine_cached(&dir, &prefix));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
