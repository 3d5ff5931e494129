//! ANN recall and speed of docvec's HNSW graph on an fvecs/ivecs set with exact ground truth (issue 6):
//! build time on every core, then for each ef_search recall@10 and queries per second one at a time on
//! one thread and on all cores. `benches/ann.sh` runs it beside hnswlib and faiss on the same data.
//!
//!   ann_bench DIR [M] [EF_CONSTRUCTION]     (DIR holds base.fvecs, query.fvecs, groundtruth_cosine.ivecs)
//!   ann_bench DIR M EF_CONSTRUCTION EF PASSES  (profiling: build, then PASSES rounds of the queries at EF
//!                                             on one thread; prints only their CPU seconds, to stderr)
//!
//! Prints one JSON object per line. Vectors are normalised (docvec stores unit vectors; the ground truth
//! is by cosine). `DOCVEC_HNSW_QUANTIZATION=none` measures the f32 walk (reported as `docvec-f32`)
//! instead of the default int8 walk with its f32 re-rank.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use docvec_index::{HnswParams, Quantization, VectorIndex};

const EFS: &[usize] = &[10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384];
const K: usize = 10;
/// Each measurement repeats the query set until this much time has passed, in each of `ROUNDS` rounds;
/// the best round counts (the machine's other work only ever slows a round down).
const MIN_TIME: Duration = Duration::from_millis(500);
const ROUNDS: usize = 3;

fn read_vecs<T: Copy>(path: &Path, from: fn([u8; 4]) -> T) -> Vec<Vec<T>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        let d = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 4;
        let row = (0..d)
            .map(|i| from(bytes[at + 4 * i..at + 4 * i + 4].try_into().unwrap()))
            .collect();
        at += 4 * d;
        out.push(row);
    }
    out
}

/// Resident memory of this process in bytes (Linux), to charge the index what its build added.
fn rss_bytes() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0)
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

/// This thread's CPU time in seconds.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn wall_s(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

fn search_all(index: &VectorIndex, queries: &[Vec<f32>], ef: usize) {
    for q in queries {
        std::hint::black_box(index.search_graph(q, K, ef));
    }
}

/// Queries per second over `queries`, one at a time on each of `threads` threads, best of `ROUNDS`.
/// One thread is timed by its CPU clock (on a shared VM the wall clock also counts the time the host
/// gave the CPU to someone else); several by the wall clock.
fn qps(index: &VectorIndex, queries: &[Vec<f32>], ef: usize, threads: usize) -> f64 {
    let origin = Instant::now();
    let clock = || {
        if threads == 1 {
            thread_cpu_s()
        } else {
            wall_s(origin)
        }
    };
    (0..ROUNDS)
        .map(|_| {
            let (started, t0) = (Instant::now(), clock());
            let mut done = 0usize;
            while started.elapsed() < MIN_TIME {
                if threads == 1 {
                    search_all(index, queries, ef);
                } else {
                    std::thread::scope(|s| {
                        for part in queries.chunks(queries.len().div_ceil(threads)) {
                            s.spawn(move || search_all(index, part, ef));
                        }
                    });
                }
                done += queries.len();
            }
            done as f64 / (clock() - t0)
        })
        .fold(0.0, f64::max)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .expect("usage: ann_bench DIR [M] [EF_CONSTRUCTION]"),
    );
    let m = args.get(2).map_or(16, |s| s.parse().unwrap());
    let ef_construction = args.get(3).map_or(200, |s| s.parse().unwrap());
    let base: Vec<Vec<f32>> = read_vecs(&dir.join("base.fvecs"), f32::from_le_bytes)
        .into_iter()
        .map(normalised)
        .collect();
    let queries: Vec<Vec<f32>> = read_vecs(&dir.join("query.fvecs"), f32::from_le_bytes)
        .into_iter()
        .map(normalised)
        .collect();
    let truth = read_vecs(&dir.join("groundtruth_cosine.ivecs"), i32::from_le_bytes);
    let dim = base[0].len();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let (quantization, engine) = match std::env::var("DOCVEC_HNSW_QUANTIZATION").as_deref() {
        Ok("none") => (Quantization::None, "docvec-f32"),
        _ => (Quantization::Int8, "docvec"),
    };
    let params = HnswParams {
        m,
        ef_construction,
        ef_search: 64,
        quantization,
    };
    let items: Vec<(i64, Vec<f32>)> = base
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as i64, v))
        .collect();
    let tmp = std::env::temp_dir().join("docvec-ann-bench");
    let rss_before = rss_bytes();
    let started = Instant::now();
    let mut index = VectorIndex::create(&tmp, "bench", dim, params, items.len());
    index.add(&items).unwrap();
    let build_s = started.elapsed().as_secs_f64();
    let bytes_per_vector = (rss_bytes() - rss_before) / items.len() as f64;
    if let (Some(ef), Some(passes)) = (args.get(4), args.get(5)) {
        let (ef, passes): (usize, usize) = (ef.parse().unwrap(), passes.parse().unwrap());
        let t0 = thread_cpu_s();
        for _ in 0..passes {
            search_all(&index, &queries, ef);
        }
        eprintln!("search_cpu_s {:.4}", thread_cpu_s() - t0);
        return;
    }
    println!(
        "{{\"engine\":\"{engine}\",\"n\":{},\"dim\":{dim},\"m\":{m},\"ef_construction\":{ef_construction},\"build_s\":{build_s:.3},\"bytes_per_vector\":{bytes_per_vector:.0},\"threads\":{cores}}}",
        items.len()
    );
    for &ef in EFS {
        let mut hits = 0usize;
        for (q, t) in queries.iter().zip(&truth) {
            let want: std::collections::HashSet<i64> = t[..K].iter().map(|&i| i as i64).collect();
            hits += index
                .search_graph(q, K, ef)
                .iter()
                .filter(|(id, _)| want.contains(id))
                .count();
        }
        let recall = hits as f64 / (K * queries.len()) as f64;
        let one = qps(&index, &queries, ef, 1);
        let all = qps(&index, &queries, ef, cores);
        println!(
            "{{\"engine\":\"{engine}\",\"ef\":{ef},\"recall\":{recall:.4},\"qps_1\":{one:.0},\"qps_all\":{all:.0}}}"
        );
    }
}
