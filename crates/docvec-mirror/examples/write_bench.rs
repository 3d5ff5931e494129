//! docvec's side of the mirror write benchmark (benches/mirror.sh): the rows of benches/mirror/gen_data.py
//! written through `Mirror::put_documents` as a backfill does (groups of batch_rows rows: delete old
//! rows, insert, binary COPY of the chunks, one transaction per group), first into empty tables, then again over them (the idempotent replace).
//! `cargo run --release -p docvec-mirror --example write_bench -- URL DATA_DIR DIM`; prints JSON.

use std::time::Instant;

use docvec_mirror::{Mirror, MirrorOptions};
use docvec_types::{DocumentExport, ExportChunk};
use serde_json::json;

const CHUNKS_PER_DOCUMENT: usize = 100;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, data, dim) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    let raw = std::fs::read(format!("{data}/vectors.f32")).unwrap();
    let vectors: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let texts: Vec<String> = std::fs::read_to_string(format!("{data}/texts.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let n = texts.len();
    let docs: Vec<DocumentExport> = (0..n.div_ceil(CHUNKS_PER_DOCUMENT))
        .map(|d| {
            let id = format!("doc{d}");
            let range = d * CHUNKS_PER_DOCUMENT..((d + 1) * CHUNKS_PER_DOCUMENT).min(n);
            let chunks: Vec<ExportChunk> = range
                .clone()
                .map(|i| ExportChunk {
                    ordinal: (i - range.start) as i32,
                    key: format!("key{i}"),
                    section: 0,
                    text: texts[i].clone(),
                    context: String::new(),
                    page_start: None,
                    page_end: None,
                    token_count: 256,
                    model_id: "bench".into(),
                    vector: vectors[i * dim..(i + 1) * dim].to_vec(),
                    span: None,
                })
                .collect();
            DocumentExport {
                path: format!("/bench/{id}.txt"),
                content_hash: "h".into(),
                document: json!({
                    "id": id, "path": format!("/bench/{id}.txt"), "content_hash": "h", "format": "text",
                    "title": null, "size_bytes": 1, "metadata": {}, "tags": [], "chunk_count": chunks.len(),
                    "model_id": "bench", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
                }),
                artifact: None,
                sections: json!([{"document_id": id, "ordinal": 0, "heading": null, "level": 0,
                                  "heading_path": "", "page_start": null, "page_end": null}]),
                tables: json!([]),
                endpoints: json!([]),
                log_entries: json!([]),
                tags: json!([]),
                facts: json!([]),
                evidence: json!([]),
                chunks,
                id,
            }
        })
        .collect();
    let mut options = MirrorOptions::new(url.as_str());
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
    if let Some(rows) = env("BENCH_TRANSACTION_ROWS") {
        options.transaction_rows = rows;
    }
    if let Some(n) = env("BENCH_PARALLEL") {
        options.parallel = n;
    }
    let mirror = Mirror::connect_lazy(options).unwrap();
    mirror.migrate("bench", dim).await.unwrap();
    mirror.reset().await.unwrap();
    mirror.drop_vector_index().await.unwrap();
    let run = |label: &'static str| {
        let mirror = mirror.clone();
        let docs = &docs;
        async move {
            let t = Instant::now();
            // As a backfill does: transactions of about 5,000 rows (COPY messages of 500), two in flight.
            let mut writer = docvec_mirror::BulkWriter::new(&mirror);
            for d in docs {
                writer.push(d.clone()).await.unwrap();
            }
            writer.finish().await.unwrap();
            (label, n as f64 / t.elapsed().as_secs_f64())
        }
    };
    let (_, insert) = run("insert").await;
    let (_, replace) = run("replace").await;
    let t = Instant::now();
    if std::env::var("BENCH_SKIP_INDEX").is_err() {
        mirror.build_vector_index("1GB").await.unwrap();
    }
    let build = t.elapsed().as_secs_f64();
    mirror.reset().await.unwrap();
    println!(
        "{}",
        json!({"rows": n, "docvec_put_rows_per_s": insert, "docvec_replace_rows_per_s": replace,
               "docvec_hnsw_build_s_1GB": build})
    );
}
