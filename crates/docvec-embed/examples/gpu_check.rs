//! The GPU check's docvec side (`tools/gpu_check.sh` runs it on a GPU machine): the same texts
//! embedded on the CPU and on the GPU through one ONNX Runtime library (the `onnxruntime-gpu`
//! build, which carries both providers), every pair compared by cosine, then passages/s on the GPU
//! at each batch size.
//!
//!     gpu_check TEXTS.jsonl MODELS_DIR ORT_LIBRARY DEVICE BATCHES ROUNDS
//!
//! DEVICE is `cuda` or `tensorrt` (`cpu` runs the whole check on the CPU: a dry run of the script on
//! a machine without a GPU). BATCHES is a comma-separated list of batch sizes (rows per inference
//! call). Prints JSON lines: the runtime in use, the cosine check, one line per batch size.
use std::path::{Path, PathBuf};
use std::time::Instant;

use docvec_embed::{Device, Embedder, EmbedderConfig, OnnxEmbedder, Pooling, cosine};
use docvec_types::TokenCounter;

mod common;
use common::{encoder_flops, model_shape, read_texts};

const MAX_TOKENS: usize = 256;
/// What the check demands of every GPU vector against its CPU twin.
const MIN_COSINE: f32 = 0.999;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 6 {
        eprintln!("usage: gpu_check TEXTS.jsonl MODELS_DIR ORT_LIBRARY DEVICE BATCHES ROUNDS");
        std::process::exit(2);
    }
    let texts = read_texts(&args[0]);
    let models = PathBuf::from(&args[1]);
    let library = PathBuf::from(&args[2]);
    let device: Device = args[3].parse().unwrap_or_else(|e| fail(&e));
    let batches: Vec<usize> = args[4]
        .split(',')
        .map(|b| {
            b.trim()
                .parse()
                .unwrap_or_else(|e| fail(&format!("BATCHES: {e}")))
        })
        .collect();
    let rounds: usize = args[5]
        .parse()
        .unwrap_or_else(|e| fail(&format!("ROUNDS: {e}")));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    let cpu = load(&models, &library, Device::Cpu, 256);
    let reference = cpu.embed(&refs).unwrap_or_else(|e| fail(&e));
    let gpu = load(
        &models,
        &library,
        device,
        *batches.iter().max().unwrap_or(&256),
    );
    println!("{}", serde_json::json!({"runtime": gpu.runtime()}));
    let vectors = gpu.embed(&refs).unwrap_or_else(|e| fail(&e));
    let cosines: Vec<f32> = reference
        .iter()
        .zip(&vectors)
        .map(|(a, b)| cosine(a, b))
        .collect();
    let below = cosines.iter().filter(|&&c| c < MIN_COSINE).count();
    let min = cosines.iter().copied().fold(f32::INFINITY, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len().max(1) as f32;
    println!(
        "{}",
        serde_json::json!({"check": "cosine", "passages": cosines.len(), "min": min, "mean": mean,
            "below_min": below, "min_required": MIN_COSINE})
    );
    drop(gpu);

    let (hidden, layers, ffn) = model_shape(&models.join("all-MiniLM-L6-v2/config.json"));
    let lengths: Vec<usize> = refs
        .iter()
        .map(|t| (cpu.count_tokens(t) + 2).min(MAX_TOKENS))
        .collect();
    let flops: f64 = lengths
        .iter()
        .map(|&l| encoder_flops(l as f64, hidden, layers, ffn))
        .sum();
    for &batch in &batches {
        let embedder = load(&models, &library, device, batch);
        // The first call builds kernels (and a TensorRT engine); it is not timed.
        embedder.embed(&refs).unwrap_or_else(|e| fail(&e));
        let mut best = f64::INFINITY;
        for _ in 0..rounds {
            let started = Instant::now();
            embedder.embed(&refs).unwrap_or_else(|e| fail(&e));
            best = best.min(started.elapsed().as_secs_f64());
        }
        let counts = embedder.token_counts();
        println!(
            "{}",
            serde_json::json!({"engine": "docvec", "device": device, "batch": batch,
                "passages": refs.len(), "seconds": best,
                "passages_per_s": refs.len() as f64 / best, "gflops": flops / best / 1e9,
                "padding_ratio": counts.padding_ratio()})
        );
    }
    if below > 0 {
        eprintln!(
            "{below} of {} vectors below cosine {MIN_COSINE}",
            cosines.len()
        );
        std::process::exit(1);
    }
}

/// The default model on `device`, in batches of up to `rows` texts of up to `MAX_TOKENS` tokens.
fn load(models: &Path, library: &Path, device: Device, rows: usize) -> OnnxEmbedder {
    let dir = models.join("all-MiniLM-L6-v2");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    OnnxEmbedder::load(EmbedderConfig {
        model_id: "all-MiniLM-L6-v2".into(),
        model_path: dir.join("model.onnx"),
        tokenizer_path: dir.join("tokenizer.json"),
        ort_library: library.to_path_buf(),
        dimension: 384,
        max_tokens: MAX_TOKENS,
        pooling: Pooling::Mean,
        normalize: true,
        device,
        intra_threads: threads,
        sessions: 0,
        // On a GPU a call's rows are the batch size; the budget never cuts a batch short.
        batch_tokens: if device == Device::Cpu {
            1024
        } else {
            rows * MAX_TOKENS
        },
        batch_rows: rows,
        gpu: docvec_embed::GpuOptions {
            tensorrt_cache: Some(std::env::temp_dir().join("docvec-gpu-check-trt")),
            ..Default::default()
        },
    })
    .unwrap_or_else(|e| fail(&e))
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("gpu_check: {e}");
    std::process::exit(1);
}
