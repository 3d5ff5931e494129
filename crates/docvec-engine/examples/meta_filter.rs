//! Metadata filter latency (issue 22): N chunks of random unit vectors in documents of 100 chunks,
//! each document with metadata {"shard": d % 100, "year": 2000 + d % 25}; the same query vectors
//! searched unfiltered, with a filter matching 1% of the chunks (`shard = 7`) and with a range
//! matching 12% (`year` 2010..2012), k = 10, through `Engine::search` (the HNSW graph above 20,000
//! vectors, the filter applied inside the walk). Prints one JSON line; fails if a filtered search
//! returns fewer than k hits or a hit outside its filter.
//!
//!     cargo run --release -p docvec-engine --example meta_filter -- [N] [QUERIES]
//!
//! `-- --seed DIR MODEL_ID [N | FILE.fvecs]` only writes the N chunks (or the file's vectors) into the data directory DIR's store, under
//! MODEL_ID, for another program to open (benches/python.sh opens it from Python with the real model,
//! whose id it names, and the index is built from the store at that open).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use docvec_engine::{
    Access, ChunkFilter, Config, Embedder, Engine, HashEmbedder, SearchMode, SearchRequest,
    parse_meta_filter,
};
use docvec_store::{NewChunk, NewDocument, NewSection, Store};
use docvec_types::Format;

const DIM: usize = 384;
const PER_DOC: usize = 100;

/// xorshift64*: the same vectors in every run.
struct Rng(u64);

impl Rng {
    fn unit_vector(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM)
            .map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}

/// The vectors of an `.fvecs` file (each row: its dimension as i32, then that many f32).
fn read_fvecs(path: &Path) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path)?;
    let row = 4 * (DIM + 1);
    if bytes.len() % row != 0 || bytes.get(..4) != Some(&(DIM as i32).to_le_bytes()[..]) {
        return Err(format!("{}: not {DIM}-d fvecs", path.display()).into());
    }
    Ok(bytes
        .chunks(row)
        .map(|r| {
            r[4..]
                .chunks(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect())
}

async fn seed(data: &Path, n: usize, model: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let vectors = (0..n).map(|_| rng.unit_vector()).collect();
    seed_vectors(data, vectors, model).await
}

async fn seed_vectors(
    data: &Path,
    all: Vec<Vec<f32>>,
    model: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let n = all.len();
    let store = Store::open(&data.join("docvec.db")).await?;
    store.set_meta("model_id", model).await?;
    store.set_meta("dimension", &DIM.to_string()).await?;
    let empty = serde_json::Map::new();
    for d in 0..n.div_ceil(PER_DOC) {
        let (start, end) = (d * PER_DOC, ((d + 1) * PER_DOC).min(n));
        let vectors = &all[start..end];
        let keys: Vec<String> = (start..end).map(|i| format!("chunk-{i}")).collect();
        let texts: Vec<String> = (start..end).map(|i| format!("chunk {i}")).collect();
        let id = format!("doc{d:05}");
        let path = format!("/bench/{id}.txt");
        let meta = serde_json::json!({"shard": d % 100, "year": 2000 + d % 25});
        let chunks = (0..end - start)
            .map(|i| NewChunk {
                key: &keys[i],
                section: 0,
                ordinal: i as u32,
                text: &texts[i],
                context: "",
                input_hash: keys[i].clone(),
                page_start: None,
                page_end: None,
                token_count: 10,
                vector: &vectors[i],
                span: None,
            })
            .collect();
        store
            .put_document(&NewDocument {
                id: &id,
                path: &path,
                content_hash: &id,
                format: Format::Text,
                title: None,
                size_bytes: 0,
                metadata: &empty,
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
                meta: meta.as_object().unwrap(),
            })
            .await?;
    }
    store.close().await;
    Ok(())
}

/// Median and 95th percentile, in milliseconds.
fn summary(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() * 95 / 100])
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, dir, model, rest @ ..] = args.as_slice()
        && flag == "--seed"
    {
        std::fs::create_dir_all(dir)?;
        match rest.first() {
            Some(f) if f.ends_with(".fvecs") => {
                seed_vectors(Path::new(dir), read_fvecs(Path::new(f))?, model).await?
            }
            n => seed(Path::new(dir), n.map_or(Ok(100_000), |s| s.parse())?, model).await?,
        }
        return Ok(());
    }
    let n: usize = args.get(1).map_or(Ok(100_000), |s| s.parse())?;
    let queries: usize = args.get(2).map_or(Ok(300), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let embedder: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(DIM));
    let started = Instant::now();
    seed(dir.path(), n, embedder.model_id()).await?;
    let seeded = started.elapsed().as_secs_f64();
    let config = Config::load(Some(Path::new("/dev/null")), Some(dir.path()))?;
    let engine = Engine::open_with(config, Access::ReadWrite, embedder).await?;
    let built = started.elapsed().as_secs_f64() - seeded;

    let filters = [
        ("none", serde_json::json!({})),
        ("shard=7 (1%)", serde_json::json!({"shard": 7})),
        (
            "year 2010..2012 (12%)",
            serde_json::json!({"year": {"gte": 2010, "lte": 2012}}),
        ),
    ];
    let mut rng = Rng(42);
    let vectors: Vec<Vec<f32>> = (0..queries).map(|_| rng.unit_vector()).collect();
    let mut out = serde_json::Map::new();
    for (name, f) in &filters {
        let meta = parse_meta_filter(f)?;
        let filter = ChunkFilter {
            meta: meta.clone(),
            ..Default::default()
        };
        // The filter's resolution to chunk ids alone (SQLite), the first part of a filtered search.
        let mut resolve = Vec::new();
        for _ in 0..20.min(queries) {
            let t = Instant::now();
            let ids = engine.store().chunk_ids_matching(&filter).await?;
            resolve.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(ids);
        }
        let mut times = Vec::with_capacity(queries);
        for v in &vectors {
            let mut request = SearchRequest::text("", 10).mode(SearchMode::Vector);
            request.text = None;
            request.vector = Some(v.clone());
            request.filter = filter.clone();
            let t = Instant::now();
            let hits = engine.search(&request).await?.hits;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if hits.len() != 10 {
                return Err(format!("{name}: {} hits, not 10", hits.len()).into());
            }
            if *name == "shard=7 (1%)"
                && let Some(h) = hits.iter().find(|h| h.meta.as_ref().unwrap()["shard"] != 7)
            {
                return Err(format!("{name}: a hit of shard {:?}", h.meta).into());
            }
        }
        let (p50, p95) = summary(times);
        let (resolve_p50, _) = summary(resolve);
        out.insert(
            name.to_string(),
            serde_json::json!({"p50_ms": p50, "p95_ms": p95, "resolve_ids_p50_ms": resolve_p50}),
        );
    }
    out.insert("chunks".into(), n.into());
    out.insert("queries".into(), queries.into());
    out.insert("seed_s".into(), seeded.into());
    out.insert("index_build_s".into(), built.into());
    println!("{}", serde_json::Value::Object(out));
    engine.close().await?;
    Ok(())
}
