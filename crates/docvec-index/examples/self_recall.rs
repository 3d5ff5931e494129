//! Search every stored vector for itself through the HNSW graph (recall diagnostics): `cargo run --example self_recall -- INDEX_DIR VECTORS.bin`.
//! VECTORS.bin: records of (u64 id, dim x f32), as `docvec` stores them.
fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("index dir");
    let raw = std::fs::read(args.next().expect("vectors file")).expect("readable");
    let index = docvec_index::VectorIndex::open(dir.as_ref())
        .expect("index")
        .expect("present");
    let dim = index.info().dimension;
    let rec = 8 + dim * 4;
    let (mut found, mut total) = (0, 0);
    for r in raw.chunks_exact(rec) {
        let id = u64::from_le_bytes(r[..8].try_into().unwrap()) as i64;
        let v: Vec<f32> = r[8..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let hits = index.search_graph(&v, 1, 64);
        total += 1;
        if hits.first().map(|h| h.0) == Some(id) || hits.first().is_some_and(|h| h.1 > 0.9999) {
            found += 1;
        } else if total < 20 || id < 50 {
            println!("id {id}: got {:?}", hits.first());
        }
    }
    println!("self recall@1: {found}/{total}");
}
