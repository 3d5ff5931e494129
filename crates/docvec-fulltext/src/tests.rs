use std::collections::HashSet;

use super::*;

fn chunk(id: i64, text: &str) -> TextChunk {
    TextChunk {
        id,
        heading: String::new(),
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
fn a_query_is_words_never_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let idx = TextIndex::open(dir.path()).unwrap();
    idx.apply(
        0,
        &[
            chunk(1, "the sound of a shock wave in a tube"),
            chunk(2, "calibration of pitot tubes at low reynolds numbers"),
            chunk(3, "bread and butter"),
        ],
        &[],
        3,
    )
    .unwrap();
    let ids = |q: &str| -> Vec<i64> {
        let hits = idx.search(q, 3, None).unwrap();
        hits.iter().map(|h| h.0).collect()
    };
    // A hyphenated pair is two words, not a phrase that must stand in that order.
    assert_eq!(ids("shock-sound interaction"), [1]);
    // "- (a)" and "NOT" are words of the query (here: no match), not exclusions.
    assert_eq!(ids("pitot tubes - (calibration)")[0], 2);
    assert_eq!(ids("NOT calibration"), [2]);
    // A colon is not a field name, and a query of no words matches nothing.
    assert_eq!(ids("reynolds: numbers"), [2]);
    assert!(ids("- ( ) :").is_empty());
}

#[test]
fn stop_words_weigh_nothing_unless_the_query_has_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let idx = TextIndex::open(dir.path()).unwrap();
    idx.apply(
        0,
        &[
            chunk(1, "of the of the of the of the model"),
            chunk(2, "a shell model"),
            chunk(3, "to be or not to be"),
        ],
        &[],
        3,
    )
    .unwrap();
    let ids = |q: &str| -> Vec<i64> {
        let hits = idx.search(q, 3, None).unwrap();
        hits.iter().map(|h| h.0).collect()
    };
    // Counted, "the" and "of" would lift chunk 1 over the chunk holding both content words.
    assert_eq!(idx.query_terms("the model of the shell"), 2);
    assert_eq!(ids("the model of the shell"), [2, 1]);
    // A query of nothing but stop words keeps them.
    assert_eq!(idx.query_terms("to be or not to be"), 4);
    assert_eq!(ids("to be or not to be"), [3]);
}

#[test]
fn bm25_scores_follow_the_chosen_k1_and_b() {
    let dir = tempfile::tempdir().unwrap();
    let idx = TextIndex::open(dir.path()).unwrap();
    // Three and five tokens: the average length is 4.
    idx.apply(
        0,
        &[
            chunk(1, "pear apple apple"),
            chunk(2, "pear pear banana banana banana"),
        ],
        &[],
        2,
    )
    .unwrap();
    let scores = |k1: f32, b: f32| -> Vec<(i64, f32)> {
        let params = Bm25 {
            k1,
            b,
            heading_weight: 0.0,
        };
        let mut hits = idx.search_with("pear", 2, None, params).unwrap();
        hits.sort_by_key(|h| h.0);
        hits
    };
    // Both chunks hold "pear": idf = ln(1 + 0.5 / 2.5).
    let idf = (1.0f32 + 0.5 / 2.5).ln();
    let bm25 = |tf: f32, len: f32, k1: f32, b: f32| {
        idf * (k1 + 1.0) * tf / (tf + k1 * (1.0 - b + b * len / 4.0))
    };
    for (k1, b) in [(0.9, 0.4), (1.2, 0.75), (2.0, 1.0)] {
        let got = scores(k1, b);
        let want = [(1, bm25(1.0, 3.0, k1, b)), (2, bm25(2.0, 5.0, k1, b))];
        for ((id, s), (wid, w)) in got.iter().zip(want) {
            assert_eq!(*id, wid);
            assert!(
                (s - w).abs() < 1e-5,
                "k1 {k1} b {b}: chunk {id} scored {s}, BM25 says {w}"
            );
        }
    }
    // k1 = 0 counts a term once: the two chunks tie, whatever their lengths.
    let tied = scores(0.0, 0.75);
    assert!((tied[0].1 - tied[1].1).abs() < 1e-6, "{tied:?}");
    let with = |k1, b, heading_weight| Bm25 {
        k1,
        b,
        heading_weight,
    };
    assert!(with(0.9, 1.5, 0.0).problem().is_some());
    assert!(with(-1.0, 0.4, 0.0).problem().is_some());
    assert!(with(0.9, 0.4, -1.0).problem().is_some());
    assert!(Bm25::default().problem().is_none());
}

#[test]
fn a_word_of_the_heading_adds_its_weighted_score() {
    let dir = tempfile::tempdir().unwrap();
    let idx = TextIndex::open(dir.path()).unwrap();
    // The same text in both chunks; only chunk 1's heading holds "turbine".
    let with_heading = |id, heading: &str| TextChunk {
        id,
        heading: heading.into(),
        text: format!("{heading}\n\nblade wear at the turbine inlet"),
    };
    idx.apply(
        0,
        &[
            with_heading(1, "Turbine maintenance"),
            with_heading(2, "Field notes"),
        ],
        &[],
        2,
    )
    .unwrap();
    let scores = |heading_weight: f32| -> Vec<(i64, f32)> {
        let params = Bm25 {
            heading_weight,
            ..Bm25::default()
        };
        let mut hits = idx.search_with("turbine", 2, None, params).unwrap();
        hits.sort_by_key(|h| h.0);
        hits
    };
    let text_only = scores(0.0);
    let once = scores(1.0);
    let twice = scores(2.0);
    // Chunk 2 has no heading match: its score is the text's alone at every weight.
    assert_eq!(text_only[1].1, once[1].1);
    assert_eq!(text_only[1].1, twice[1].1);
    // Chunk 1's heading score adds in proportion to the weight.
    let heading_part = once[0].1 - text_only[0].1;
    assert!(heading_part > 0.0, "{text_only:?} {once:?}");
    assert!(
        (twice[0].1 - text_only[0].1 - 2.0 * heading_part).abs() < 1e-5,
        "{text_only:?} {once:?} {twice:?}"
    );
    assert_eq!(once[0].0, 1);
}

#[test]
fn query_terms_are_counted_distinct_and_stemmed_as_searched() {
    let dir = tempfile::tempdir().unwrap();
    let idx = TextIndex::open(dir.path()).unwrap();
    // "refusing" and "refused" are one stem; the repeats, punctuation and case add nothing.
    assert_eq!(idx.query_terms("refusing refused REFUSED, connection"), 2);
    // The tokenizer splits what a word count would not.
    assert_eq!(idx.query_terms("w-x-y-z"), 4);
    assert_eq!(idx.query_terms("   "), 0);
    let many: Vec<String> = (0..300).map(|i| format!("w{i}")).collect();
    assert_eq!(idx.query_terms(&many.join(" ")), 300);
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

/// Every file in `dir` with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn a_read_only_open_searches_and_refreshes_without_writing_a_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = TextIndex::open(dir.path()).unwrap();
        idx.apply(0, &[chunk(1, "alpha pump"), chunk(2, "beta valve")], &[], 2)
            .unwrap();
    }
    // With the reader's lock file and without it (creating it would be a write).
    for remove_lock in [false, true] {
        if remove_lock {
            std::fs::remove_file(dir.path().join(".tantivy-meta.lock")).unwrap();
        }
        let before = files(dir.path());
        let ro = TextIndex::open_read_only(dir.path()).unwrap();
        assert_eq!(ro.applied_seq(), 2);
        ro.refresh().unwrap();
        assert_eq!(
            ro.search("pump", 2, None).unwrap().first().map(|h| h.0),
            Some(1)
        );
        assert!(ro.apply(2, &[chunk(3, "gamma")], &[], 3).is_err());
        drop(ro);
        assert!(
            files(dir.path()) == before,
            "files changed (lock removed: {remove_lock})"
        );
    }
}
