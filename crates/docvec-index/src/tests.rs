use super::*;

pub(crate) fn unit(seed: u64, dim: usize) -> Vec<f32> {
    // xorshift: deterministic pseudo-random vectors without a rand dependency.
    let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut v: Vec<f32> = (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2000) as f32 / 1000.0 - 1.0
        })
        .collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.iter_mut().for_each(|a| *a /= n);
    v
}

/// `v` moved by `spread` times a random unit vector (seeded), normalised.
fn near_to(v: &[f32], spread: f32, seed: u64) -> Vec<f32> {
    let noise = unit(seed, v.len());
    let mut out: Vec<f32> = v.iter().zip(&noise).map(|(a, b)| a + spread * b).collect();
    let n = out.iter().map(|x| x * x).sum::<f32>().sqrt();
    out.iter_mut().for_each(|x| *x /= n);
    out
}

/// `n` vectors around `centres` in turn (as text embeddings cluster), ids from 1.
fn clustered(centres: &[Vec<f32>], n: i64, spread: f32, seed: u64) -> Vec<(i64, Vec<f32>)> {
    (0..n)
        .map(|i| {
            let c = &centres[i as usize % centres.len()];
            (i + 1, near_to(c, spread, i as u64 + seed))
        })
        .collect()
}

fn exact(items: &[(i64, Vec<f32>)], q: &[f32], k: usize, skip: &HashSet<i64>) -> Vec<i64> {
    let mut scored: Vec<(i64, f32)> = items
        .iter()
        .filter(|(id, _)| !skip.contains(id))
        .map(|(id, v)| (*id, distance::dot(q, v)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.into_iter().take(k).map(|(id, _)| id).collect()
}

#[test]
fn finds_neighbours_with_high_recall_and_skips_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<(i64, Vec<f32>)> = (1..=2000).map(|i| (i, unit(i as u64, 32))).collect();
    let mut index = VectorIndex::create(dir.path(), "m", 32, HnswParams::default(), 2000);
    index.add(&items).unwrap();
    assert_eq!(index.len(), 2000);

    let mut deleted = HashSet::new();
    for id in (1..=2000).step_by(3) {
        index.remove(id);
        deleted.insert(id);
    }
    let mut hits = 0;
    for q in 0..50 {
        let query = unit(10_000 + q, 32);
        let got = index.search_graph(&query, 10, 200);
        assert_eq!(
            got.len(),
            10,
            "k results even with a third of the graph deleted"
        );
        assert!(
            got.iter().all(|(id, _)| !deleted.contains(id)),
            "a deleted id came back"
        );
        assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
        let truth = exact(&items, &query, 10, &deleted);
        hits += got.iter().filter(|(id, _)| truth.contains(id)).count();
    }
    let recall = hits as f64 / 500.0;
    assert!(recall >= 0.95, "recall@10 {recall}");
}

#[test]
fn saves_and_reopens_with_tombstones_and_log_position() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<(i64, Vec<f32>)> = (1..=300).map(|i| (i, unit(i as u64, 16))).collect();
    let mut index = VectorIndex::create(dir.path(), "model-a", 16, HnswParams::default(), 300);
    index.add(&items).unwrap();
    index.remove(7);
    index.set_applied_seq(301);
    index.save().unwrap();

    let reopened = VectorIndex::open(dir.path())
        .unwrap()
        .expect("index present");
    assert_eq!(reopened.info().model_id, "model-a");
    assert_eq!(reopened.info().applied_seq, 301);
    assert_eq!(reopened.len(), 299);
    assert!(!reopened.contains(7) && reopened.contains(8));
    let got = reopened.search(&items[41].1, 1).unwrap();
    assert_eq!(got[0].0, 42);
    assert!(
        (got[0].1 - 1.0).abs() < 1e-4,
        "identical vector scores 1, got {}",
        got[0].1
    );

    // ef_search is a query-time setting: changed on a loaded index, kept by its next save.
    let mut again = reopened;
    again.set_ef_search(8);
    assert_eq!(again.info().params.ef_search, 8);
    assert_eq!(again.info().params.m, HnswParams::default().m);

    // A second save writes a new generation and removes the old one.
    again.add(&[(1000, unit(1000, 16))]).unwrap();
    again.save().unwrap();
    let gens: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    assert_eq!(gens, ["gen-2"]);
    let last = VectorIndex::open(dir.path()).unwrap().unwrap();
    assert!(last.contains(1000));
    assert_eq!(last.info().params.ef_search, 8);
}

#[test]
fn missing_and_damaged_indexes_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    assert!(VectorIndex::open(dir.path()).unwrap().is_none());
    std::fs::write(dir.path().join("MANIFEST.json"), b"{not json").unwrap();
    assert!(matches!(
        VectorIndex::open(dir.path()),
        Err(IndexError::Unreadable { .. })
    ));

    let mut index = VectorIndex::create(dir.path(), "m", 8, HnswParams::default(), 10);
    index.add(&[(1, unit(1, 8)), (2, unit(2, 8))]).unwrap();
    index.save().unwrap();
    let graph = dir.path().join("gen-1/graph.bin");
    let len = std::fs::metadata(&graph).unwrap().len();
    std::fs::write(&graph, vec![0u8; (len / 2) as usize]).unwrap();
    assert!(matches!(
        VectorIndex::open(dir.path()),
        Err(IndexError::Unreadable { .. })
    ));
}

#[test]
fn wrong_dimensions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = VectorIndex::create(dir.path(), "mini", 8, HnswParams::default(), 10);
    let err = index.add(&[(1, vec![0.5; 4])]).unwrap_err();
    assert!(err.to_string().contains("dimension 4"), "{err}");
    let err = index.search(&[0.1; 16], 3).unwrap_err();
    assert!(matches!(
        err,
        IndexError::DimensionMismatch {
            got: 16,
            expected: 8,
            ..
        }
    ));
}

#[test]
fn duplicate_vectors_do_not_break_the_distance() {
    let v = unit(5, 384);
    assert!(crate::distance(&v, &v) >= 0.0);
    let dir = tempfile::tempdir().unwrap();
    let mut index = VectorIndex::create(dir.path(), "m", 384, HnswParams::default(), 10);
    index
        .add(&[(1, v.clone()), (2, v.clone()), (3, v.clone())])
        .unwrap();
    assert_eq!(index.search(&v, 3).unwrap().len(), 3);
}

#[test]
fn re_adding_an_id_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = VectorIndex::create(dir.path(), "m", 8, HnswParams::default(), 10);
    index.add(&[(1, unit(1, 8))]).unwrap();
    index.add(&[(1, unit(1, 8))]).unwrap();
    assert_eq!(index.len(), 1);
}

#[test]
fn exact_search_finds_every_vector_among_many_duplicates() {
    // A table whose rows repeat gives hundreds of identical chunk vectors; they cut HNSW graphs apart
    // (seen on the corpus: a unique row unreachable). Small indexes are searched exactly.
    let dir = tempfile::tempdir().unwrap();
    let mut items: Vec<(i64, Vec<f32>)> = (1..=6).map(|i| (i, unit(i as u64, 32))).collect();
    let dup = unit(999, 32);
    items.extend((7..=400).map(|i| (i, dup.clone())));
    let mut index = VectorIndex::create(dir.path(), "m", 32, HnswParams::default(), 400);
    index.add(&items).unwrap();
    for (id, v) in items.iter().take(6) {
        let got = index.search(v, 1).unwrap();
        assert_eq!(got[0].0, *id, "unique vector {id} not found first");
        assert!((got[0].1 - 1.0).abs() < 1e-4);
    }
    let dups = index.search(&dup, 5).unwrap();
    assert_eq!(
        dups.iter().map(|h| h.0).collect::<Vec<_>>(),
        [7, 8, 9, 10, 11],
        "ties by id"
    );
    index.remove(7);
    assert_eq!(
        index.search(&dup, 1).unwrap()[0].0,
        8,
        "deleted ids are skipped"
    );
    let exact = index.search_exact(&items[0].1, 3);
    assert_eq!(exact, index.search(&items[0].1, 3).unwrap());
}

#[test]
fn inserts_on_many_threads_while_searching_keep_the_graph_whole_and_saved_as_built() {
    // Clustered data (as text embeddings are), inserted from every rayon thread under shared access
    // while another thread searches nonstop.
    let dim = 24;
    let centres: Vec<Vec<f32>> = (0..40).map(|c| unit(50_000 + c, dim)).collect();
    let items = clustered(&centres, 3000, 0.35, 1);
    let dir = tempfile::tempdir().unwrap();
    let index = std::sync::RwLock::new(VectorIndex::create(
        dir.path(),
        "m",
        dim,
        HnswParams::default(),
        0,
    ));
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut searches = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || searches == 0 {
                let q = unit(90_000 + searches, dim);
                let got = index.read().unwrap().search_graph(&q, 5, 32);
                assert!(got.len() <= 5);
                assert!(got.windows(2).all(|w| w[0].1 >= w[1].1));
                searches += 1;
            }
        });
        for batch in items.chunks(750) {
            let inserted = index.read().unwrap().insert_shared(batch).unwrap();
            index.write().unwrap().register(&inserted);
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let mut index = index.into_inner().unwrap();
    assert_eq!(index.len(), items.len());

    let recall = |index: &VectorIndex| {
        let mut hits = 0;
        for q in 0..100 {
            let query = &items[(q * 59) % items.len()].1;
            let truth = exact(&items, query, 10, &HashSet::new());
            let got = index.search_graph(query, 10, 64);
            hits += got.iter().filter(|(id, _)| truth.contains(id)).count();
        }
        hits as f64 / 1000.0
    };
    let before = recall(&index);
    assert!(before >= 0.95, "recall@10 {before}");
    // Every vector is reachable: searching for it finds it first.
    let lost = items
        .iter()
        .filter(|(id, v)| index.search_graph(v, 1, 64).first().map(|h| h.0) != Some(*id))
        .count();
    assert!(
        lost <= items.len() / 500,
        "{lost} vectors not found by themselves"
    );

    index.save().unwrap();
    let reopened = VectorIndex::open(dir.path()).unwrap().unwrap();
    for q in 0..20 {
        let query = unit(70_000 + q, dim);
        assert_eq!(
            reopened.search_graph(&query, 10, 64),
            index.search_graph(&query, 10, 64),
            "the saved graph answers as the built one"
        );
    }

    // One flipped bit in the first node's codes (the data section follows the 4 KiB header) is caught.
    let path = dir.path().join("gen-1/graph.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4096 + 9] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let err = VectorIndex::open(dir.path())
        .err()
        .expect("damage detected");
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn the_byte_code_walk_recalls_as_the_f32_walk_and_scores_exactly() {
    let dim = 64;
    let centres: Vec<Vec<f32>> = (0..20).map(|c| unit(60_000 + c, dim)).collect();
    let items = clustered(&centres, 3000, 0.3, 7);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(HnswParams::default().quantization, Quantization::Int8);
    let mut int8 = VectorIndex::create(dir.path(), "m", dim, HnswParams::default(), items.len());
    int8.add(&items).unwrap();
    int8.save().unwrap();
    // The same saved graph, walked over its f32 vectors.
    let f32_walk = VectorIndex::open_with(dir.path(), Quantization::None)
        .unwrap()
        .unwrap();
    assert_eq!(f32_walk.info().params.quantization, Quantization::None);
    let by_id: std::collections::HashMap<i64, &Vec<f32>> =
        items.iter().map(|(id, v)| (*id, v)).collect();
    let recall = |index: &VectorIndex| {
        let mut hits = 0;
        for q in 0..100 {
            // Near the data, as a query is near the documents it asks for.
            let near = &items[(q as usize * 29) % items.len()].1;
            let query = near_to(near, 0.2, 80_000 + q);
            let truth = exact(&items, &query, 10, &HashSet::new());
            let got = index.search_graph(&query, 10, 32);
            assert_eq!(got.len(), 10);
            for (id, sim) in &got {
                let want = distance::dot(&query, by_id[id]);
                assert!((sim - want).abs() < 1e-6, "{sim} is not the exact {want}");
            }
            assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
            hits += got.iter().filter(|(id, _)| truth.contains(id)).count();
        }
        hits as f64 / 1000.0
    };
    let (a, b) = (recall(&int8), recall(&f32_walk));
    assert!(a >= 0.95 && b >= 0.95, "recall@10: int8 {a}, f32 {b}");
    assert!((a - b).abs() <= 0.02, "recall@10: int8 {a}, f32 {b}");
    // A filter still applies inside the byte-code walk.
    let odd = |id: i64| id % 2 == 1;
    let allowed: HashSet<i64> = items
        .iter()
        .map(|(id, _)| *id)
        .filter(|&id| odd(id))
        .collect();
    let mut filtered = int8;
    for (id, _) in items.iter().filter(|(id, _)| !odd(*id)) {
        filtered.remove(*id);
    }
    let got = filtered.search_graph(&unit(99_999, dim), 10, 32);
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|(id, _)| allowed.contains(id)));
}
