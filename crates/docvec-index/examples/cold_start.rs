//! Cold start and memory of a saved index (issue 16): how long a fresh process takes from opening a
//! saved index to its first answer, and how much memory it then holds. `benches/coldstart.sh` runs it
//! beside hnswlib's `load_index` and faiss's `read_index` (with and without `IO_FLAG_MMAP`).
//!
//!   cold_start build DIR OUT [M] [EF_CONSTRUCTION]   (DIR/base.fvecs; the index is saved in OUT)
//!   cold_start open OUT QUERIES.fvecs                (DOCVEC_HNSW_QUANTIZATION=none: the f32 walk)
//!
//! `open` prints one JSON line: milliseconds from before the open to after the first query's answer,
//! the first query's own milliseconds, and the resident memory (VmRSS) and its peak (VmHWM) then.

use std::path::{Path, PathBuf};
use std::time::Instant;

use docvec_index::{HnswParams, Quantization, VectorIndex};

fn read_fvecs(path: &Path, limit: usize) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() && out.len() < limit {
        let d = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 4;
        let mut v: Vec<f32> = bytes[at..at + 4 * d]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let n = v
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        v.iter_mut().for_each(|x| *x /= n);
        out.push(v);
        at += 4 * d;
    }
    out
}

/// A line of /proc/self/status in MB (VmRSS, VmHWM).
fn status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn quantization() -> (Quantization, &'static str) {
    match std::env::var("DOCVEC_HNSW_QUANTIZATION").as_deref() {
        Ok("none") => (Quantization::None, "docvec-f32"),
        _ => (Quantization::Int8, "docvec"),
    }
}

fn build(dir: &Path, out: &Path, m: usize, ef_construction: usize) {
    let base = read_fvecs(&dir.join("base.fvecs"), usize::MAX);
    let params = HnswParams {
        m,
        ef_construction,
        ef_search: 64,
        quantization: quantization().0,
    };
    let started = Instant::now();
    let mut index = VectorIndex::create(out, "bench", base[0].len(), params, base.len());
    let items: Vec<(i64, Vec<f32>)> = base
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as i64, v))
        .collect();
    index.add(&items).expect("add");
    index.save().expect("save");
    eprintln!(
        "docvec: built and saved {} vectors in {:.1}s",
        items.len(),
        started.elapsed().as_secs_f64()
    );
}

fn open(saved: &Path, queries: &Path) {
    let query = read_fvecs(queries, 1).remove(0);
    let (q, engine) = quantization();
    let started = Instant::now();
    let index = VectorIndex::open_with(saved, q)
        .expect("open")
        .expect("an index is saved there");
    let searched = Instant::now();
    let hits = index.search_graph(&query, 10, 64);
    let first_query_ms = searched.elapsed().as_secs_f64() * 1e3;
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(hits.len(), 10);
    println!(
        "{{\"engine\": \"{engine}\", \"vectors\": {}, \"open_to_first_answer_ms\": {total_ms:.1}, \
         \"first_query_ms\": {first_query_ms:.2}, \"rss_mb\": {:.1}, \"peak_rss_mb\": {:.1}}}",
        index.len(),
        status_mb("VmRSS:"),
        status_mb("VmHWM:")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: cold_start build DIR OUT [M] [EFC] | cold_start open OUT QUERIES.fvecs";
    match args.get(1).map(String::as_str) {
        Some("build") => build(
            &PathBuf::from(args.get(2).expect(usage)),
            &PathBuf::from(args.get(3).expect(usage)),
            args.get(4).map_or(16, |s| s.parse().unwrap()),
            args.get(5).map_or(200, |s| s.parse().unwrap()),
        ),
        Some("open") => open(
            &PathBuf::from(args.get(2).expect(usage)),
            &PathBuf::from(args.get(3).expect(usage)),
        ),
        _ => panic!("{usage}"),
    }
}
