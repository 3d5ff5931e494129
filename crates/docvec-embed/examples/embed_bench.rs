//! Embedding throughput on real chunks: `benches/embed.sh` runs this beside the Python onnxruntime
//! peer (`benches/embed/peer.py`) on the same texts, model file and thread count.
//!
//!     embed_bench TEXTS.jsonl MODEL.onnx MODELS_DIR THREADS MODE ROUNDS [VECTORS_OUT]
//!
//! MODE `plain` feeds the model as the usual Python pipeline does: batches of 32 texts in input order,
//! each padded to its longest text. MODE `docvec` is the engine's path: the ingest hands the embedder
//! 256 chunks at a time (`EMBED_BATCH_CHUNKS`), which sorts them by length and cuts batches by token
//! budget. MODE `peak` measures this CPU's fp32 FMA peak on THREADS threads (register-resident AVX-512
//! or AVX2 FMAs), the yardstick for the GFLOP/s the model achieves.
//!
//! `BATCH_TOKENS=N` cuts batches at N tokens instead of the CPU default; `GROUP=N` hands the embedder N
//! texts per call instead of 256 (32: a burst of search queries).
//!
//! `SESSIONS=N` runs a call's batches on a pool of N sessions (`[model] sessions`; 0, the default here,
//! runs them on one session).
//!
//! Prints one JSON object: passages/s of the best round, real and padded tokens, and the GFLOP/s of
//! the useful work (BERT encoder FLOPs on the real tokens, from the model's config.json).
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use docvec_embed::{Embedder, EmbedderConfig, OnnxEmbedder, Pooling};

mod common;
use common::{encoder_flops, model_shape, read_texts};
use docvec_types::TokenCounter;

/// What the ingest hands the embedder at once (docvec-engine's `EMBED_BATCH_CHUNKS`).
const ENGINE_BATCH: usize = 256;
/// A Python pipeline's usual batch size (sentence-transformers' default).
const PLAIN_BATCH: usize = 32;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        eprintln!(
            "usage: embed_bench TEXTS.jsonl MODEL.onnx MODELS_DIR THREADS MODE ROUNDS [VECTORS_OUT]"
        );
        std::process::exit(2);
    }
    let threads: usize = args[3].parse().expect("THREADS");
    let mode = args[4].as_str();
    let rounds: usize = args[5].parse().expect("ROUNDS");
    if mode == "peak" {
        let gflops = peak_gflops(threads);
        println!("{{\"mode\":\"peak\",\"threads\":{threads},\"gflops\":{gflops:.1}}}");
        return;
    }
    let texts = read_texts(&args[0]);
    let models = PathBuf::from(&args[2]);
    let model_dir = models.join("all-MiniLM-L6-v2");
    let plain = mode == "plain";
    // Plain batching: one call per 32 texts, never cut by a budget. Otherwise the engine's default
    // on the CPU ([model] batch_tokens); BATCH_TOKENS tries others.
    let budget = if plain {
        usize::MAX / 2
    } else {
        std::env::var("BATCH_TOKENS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(docvec_embed::default_batch_tokens(
                docvec_embed::Device::Cpu,
            ))
    };
    let embedder = OnnxEmbedder::load(EmbedderConfig {
        model_id: "bench".into(),
        model_path: PathBuf::from(&args[1]),
        tokenizer_path: model_dir.join("tokenizer.json"),
        ort_library: models.join("onnxruntime/libonnxruntime.so"),
        dimension: 384,
        max_tokens: 256,
        pooling: Pooling::Mean,
        normalize: true,
        device: Default::default(),
        intra_threads: threads,
        // A pool of sessions for calls of several batches ([model] sessions); SESSIONS tries others.
        sessions: std::env::var("SESSIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        batch_tokens: budget,
        batch_rows: docvec_embed::DEFAULT_BATCH_ROWS,
        gpu: Default::default(),
    })
    .unwrap_or_else(|e| panic!("cannot load the model: {e}"));

    let (hidden, layers, ffn) = model_shape(&model_dir.join("config.json"));
    let lengths: Vec<usize> = texts
        .iter()
        .map(|t| (embedder.count_tokens(t) + 2).min(256))
        .collect();
    let real_tokens: usize = lengths.iter().sum();
    let flops: f64 = lengths
        .iter()
        .map(|&l| encoder_flops(l as f64, hidden, layers, ffn))
        .sum();
    let padded_tokens = padded(&lengths, if plain { PLAIN_BATCH } else { 0 }, budget);

    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let group = std::env::var("GROUP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if plain { PLAIN_BATCH } else { ENGINE_BATCH });
    let mut best = f64::INFINITY;
    let mut vectors = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        vectors = refs
            .chunks(group)
            .flat_map(|g| embedder.embed(g).expect("embedding failed"))
            .collect::<Vec<_>>();
        best = best.min(started.elapsed().as_secs_f64());
    }
    if let Some(out) = args.get(6) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(out).expect("VECTORS_OUT"));
        for v in &vectors {
            for x in v {
                f.write_all(&x.to_le_bytes()).unwrap();
            }
        }
    }
    println!(
        "{{\"mode\":\"{mode}\",\"threads\":{threads},\"passages\":{},\"seconds\":{best:.3},\"passages_per_s\":{:.1},\"real_tokens\":{real_tokens},\"padded_tokens\":{padded_tokens},\"gflops\":{:.1}}}",
        texts.len(),
        texts.len() as f64 / best,
        flops / best / 1e9
    );
}

/// Tokens the model actually runs on: every text padded to the longest of its batch. `batch` 0 means
/// docvec's batching (sorted by length within each engine batch, cut at the token budget).
fn padded(lengths: &[usize], batch: usize, budget: usize) -> usize {
    if batch > 0 {
        return lengths
            .chunks(batch)
            .map(|g| g.len() * g.iter().max().copied().unwrap_or(0))
            .sum();
    }
    let mut total = 0;
    for group in lengths.chunks(ENGINE_BATCH) {
        let mut sorted = group.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let mut start = 0;
        while start < sorted.len() {
            let rows = (budget / sorted[start].max(1)).clamp(1, 256);
            let end = (start + rows).min(sorted.len());
            total += (end - start) * sorted[start];
            start = end;
        }
    }
    total
}

/// fp32 FLOP/s of independent FMA chains on `threads` threads for half a second each.
fn peak_gflops(threads: usize) -> f64 {
    let per_thread: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(fma_rate)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    per_thread.iter().sum::<f64>() / 1e9
}

fn fma_rate() -> f64 {
    let mut best: f64 = 0.0;
    for _ in 0..5 {
        let iters = 20_000_000u64;
        let started = Instant::now();
        let flops = fma_loop(iters);
        best = best.max(flops / started.elapsed().as_secs_f64());
    }
    best
}

#[cfg(target_arch = "x86_64")]
fn fma_loop(iters: u64) -> f64 {
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, checked above.
        unsafe { fma_avx512(iters) }
    } else if std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has FMA (and AVX), checked above.
        unsafe { fma_avx2(iters) }
    } else {
        0.0
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_loop(_iters: u64) -> f64 {
    0.0
}

/// Twelve independent accumulators hide the FMA latency on both FMA pipes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_avx512(iters: u64) -> f64 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm512_fmadd_ps(*x, a, b);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for x in acc {
        sum = _mm512_add_ps(sum, x);
    }
    std::hint::black_box(_mm512_reduce_add_ps(sum));
    (iters * 12 * 16 * 2) as f64
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_avx2(iters: u64) -> f64 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_ps(0.999_999);
    let b = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm256_fmadd_ps(*x, a, b);
        }
    }
    let mut sum = _mm256_setzero_ps();
    for x in acc {
        sum = _mm256_add_ps(sum, x);
    }
    let mut out = [0f32; 8];
    // SAFETY: `out` holds the 8 floats the store writes.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
    std::hint::black_box(out);
    (iters * 12 * 8 * 2) as f64
}
