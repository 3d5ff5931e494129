use std::collections::HashSet;

use super::*;

fn chunk(id: i64, text: &str) -> TextChunk {
    TextChunk {
        id,
        text: text.into(),
    }
}

#[test]
fn exact_terms_rank_first_and_stems_match() {
    let dir = tempfile::tempdir().unwrap();
    let idx = TextIndex::open(dir.path()).unwrap();
    idx.apply(
        0,
        &[
            chunk(1, "The datanode reported ERR_BLOCK_MISSING for blk_123"),
            chunk(2, "Connections were refused by the server"),
            chunk(3, "A block was served to the client"),
        ],
        &[],
        3,
    )
    .unwrap();
    let hits = idx.search("ERR_BLOCK_MISSING", 3, None).unwrap();
    assert_eq!(hits.first().map(|h| h.0), Some(1));
    // "refusing" and "refused" share a stem.
    let hits = idx.search("refusing connection", 3, None).unwrap();
    assert_eq!(hits.first().map(|h| h.0), Some(2));
    // Unbalanced syntax is not an error.
    assert!(idx.search("block AND (", 3, None).is_ok());
}

#[test]
fn a_filter_applies_before_the_top_k() {
    let dir = tempfile::tempdir().unwrap();
    let idx = TextIndex::open(dir.path()).unwrap();
    let chunks: Vec<TextChunk> = (1..=200)
        .map(|i| chunk(i, &format!("disk failure report number {i}")))
        .collect();
    idx.apply(0, &chunks, &[], 200).unwrap();
    let allowed: HashSet<i64> = [7, 150].into_iter().collect();
    let hits = idx.search("disk failure", 2, Some(&allowed)).unwrap();
    let ids: HashSet<i64> = hits.iter().map(|h| h.0).collect();
    assert_eq!(ids, allowed);
}

#[test]
fn the_applied_position_survives_reopening_and_replays_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = TextIndex::open(dir.path()).unwrap();
        idx.apply(0, &[chunk(1, "alpha"), chunk(2, "beta")], &[], 2)
            .unwrap();
        // A stale position is refused: another writer got there first.
        assert!(!idx.apply(0, &[chunk(3, "gamma")], &[], 3).unwrap());
        idx.apply(2, &[chunk(2, "beta again")], &[1], 4).unwrap();
    }
    let idx = TextIndex::open(dir.path()).unwrap();
    assert_eq!(idx.applied_seq(), 4);
    assert_eq!(idx.len(), 1);
    assert!(idx.search("alpha", 5, None).unwrap().is_empty());
    assert_eq!(idx.search("beta", 5, None).unwrap().len(), 1);
    idx.clear().unwrap();
    assert_eq!((idx.applied_seq(), idx.len()), (0, 0));
}

#[test]
fn a_damaged_index_is_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = TextIndex::open(dir.path()).unwrap();
        idx.apply(0, &[chunk(1, "alpha")], &[], 1).unwrap();
    }
    std::fs::write(dir.path().join("meta.json"), b"{ not json").unwrap();
    let idx = TextIndex::open(dir.path()).unwrap();
    assert_eq!((idx.applied_seq(), idx.len()), (0, 0));
}
