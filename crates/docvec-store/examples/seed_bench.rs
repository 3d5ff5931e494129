//! Fill a data directory with N chunks whose vectors come from a file, for load benchmarks that need a
//! large index without embedding it first (benches/server.sh). The server rebuilds its index from them.
//!
//!     seed_bench DATA_DIR VECTORS.f32 TEXTS.txt DIM MODEL_ID [CHUNKS_PER_DOCUMENT]

use std::path::PathBuf;

use docvec_store::{NewChunk, NewDocument, NewSection, Store};
use docvec_types::Format;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        return Err(
            "usage: seed_bench DATA_DIR VECTORS.f32 TEXTS.txt DIM MODEL_ID [PER_DOC]".into(),
        );
    }
    let data = PathBuf::from(&args[1]);
    let dim: usize = args[4].parse()?;
    let model = &args[5];
    let per_doc: usize = args.get(6).map_or(Ok(1000), |s| s.parse())?;
    let raw = std::fs::read(&args[2])?;
    let vectors: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let texts = std::fs::read_to_string(&args[3])?;
    let texts: Vec<&str> = texts.lines().collect();
    let n = texts.len().min(vectors.len() / dim);
    std::fs::create_dir_all(&data)?;
    let store = Store::open(&data.join("docvec.db")).await?;
    store.set_meta("model_id", model).await?;
    store.set_meta("dimension", &dim.to_string()).await?;
    let metadata = serde_json::Map::new();
    for (d, start) in (0..n).step_by(per_doc).enumerate() {
        let end = (start + per_doc).min(n);
        let path = format!("/bench/doc-{d:05}.txt");
        let id = format!("bench{d:05}");
        let keys: Vec<String> = (start..end).map(|i| format!("bench-chunk-{i}")).collect();
        let chunks = (start..end)
            .map(|i| NewChunk {
                key: &keys[i - start],
                section: 0,
                ordinal: (i - start) as u32,
                text: texts[i],
                context: "",
                input_hash: format!("bench-{i}"),
                page_start: None,
                page_end: None,
                token_count: 100,
                vector: &vectors[i * dim..(i + 1) * dim],
                span: None,
            })
            .collect();
        store
            .put_document(&NewDocument {
                id: &id,
                path: &path,
                content_hash: &id,
                format: Format::Text,
                title: Some(&id),
                size_bytes: 0,
                metadata: &metadata,
                tags: &[],
                model_id: model,
                sections: vec![NewSection {
                    heading: None,
                    level: 0,
                    heading_path: String::new(),
                    page_start: None,
                    page_end: None,
                }],
                chunks,
                endpoints: &[],
                log_entries: &[],
                tables: &[],
                media_type: "text/plain",
                document_tags: &[],
                chunk_tags: &[],
                facts: &[],
                text: None,
                meta: &Default::default(),
            })
            .await?;
    }
    store.close().await;
    println!("{n}");
    Ok(())
}
