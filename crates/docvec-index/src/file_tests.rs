//! The graph file: loaded by map it answers as the graph that was saved, takes inserts without
//! touching the file, names the section a damage is in, refuses links that lead nowhere even when
//! their checksum was made to match, and format-2 indexes still open and are rewritten.

use std::path::Path;

use super::*;
use crate::graph::file::{self, DATA, EXT, FULL, Header, LEVELS, UPPER};
use crate::graph::legacy;
use crate::tests::unit;

const DIM: usize = 32;

fn params(quantization: Quantization) -> HnswParams {
    HnswParams {
        quantization,
        ..HnswParams::default()
    }
}

fn items(from: i64, to: i64) -> Vec<(i64, Vec<f32>)> {
    (from..=to).map(|i| (i, unit(i as u64, DIM))).collect()
}

fn saved(dir: &Path, quantization: Quantization, n: i64) -> VectorIndex {
    let mut index = VectorIndex::create(dir, "m", DIM, params(quantization), n as usize);
    index.add(&items(1, n)).unwrap();
    index.save().unwrap();
    index
}

fn answers(index: &VectorIndex) -> Vec<Vec<(i64, f32)>> {
    (0..20)
        .map(|q| index.search_graph(&unit(90_000 + q, DIM), 10, 64))
        .collect()
}

fn graph_file(dir: &Path, generation: u64) -> std::path::PathBuf {
    dir.join(format!("gen-{generation}/graph.bin"))
}

#[test]
fn a_mapped_graph_answers_as_built_and_takes_inserts_without_touching_its_file() {
    for q in [Quantization::Int8, Quantization::None] {
        let dir = tempfile::tempdir().unwrap();
        let built = saved(dir.path(), q, 600);
        let on_disk = std::fs::read(graph_file(dir.path(), 1)).unwrap();
        let mut mapped = VectorIndex::open(dir.path()).unwrap().unwrap();
        assert!(mapped.graph.is_mapped(), "{q:?}: loaded by map");
        assert_eq!(answers(&mapped), answers(&built), "{q:?}");
        mapped.verify().unwrap();

        // Inserts link new nodes into mapped ones: the changes stay in memory.
        mapped.add(&items(601, 900)).unwrap();
        let found = (601..=900)
            .filter(|&i| mapped.search_graph(&unit(i as u64, DIM), 1, 64)[0].0 == i)
            .count();
        assert!(
            found >= 295,
            "{q:?}: {found} of 300 new vectors find themselves"
        );
        assert_eq!(std::fs::read(graph_file(dir.path(), 1)).unwrap(), on_disk);

        mapped.save().unwrap();
        let again = VectorIndex::open(dir.path()).unwrap().unwrap();
        assert_eq!(again.len(), 900);
        assert_eq!(answers(&again), answers(&mapped), "{q:?}: saved from a map");
    }
}

#[test]
fn a_graph_saved_with_one_walk_opens_with_the_other() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path(), Quantization::None, 600);
    let int8 = VectorIndex::open_with(dir.path(), Quantization::Int8)
        .unwrap()
        .unwrap();
    assert!(!int8.graph.is_mapped(), "converted, not mapped");
    let found = (1..=600)
        .filter(|&i| int8.search_graph(&unit(i as u64, DIM), 1, 64)[0].0 == i)
        .count();
    assert!(found >= 594, "{found} of 600 find themselves");
}

/// The saved graph file with `edit` applied to its bytes.
fn damaged(dir: &Path, edit: impl FnOnce(&mut Vec<u8>, &Header)) {
    let path = graph_file(dir, 1);
    let mut bytes = std::fs::read(&path).unwrap();
    let header = Header::decode(&bytes).unwrap();
    edit(&mut bytes, &header);
    std::fs::write(&path, bytes).unwrap();
}

fn open_error(dir: &Path) -> String {
    VectorIndex::open(dir)
        .err()
        .expect("the damage is found")
        .to_string()
}

#[test]
fn damage_is_found_and_named_by_section() {
    for (s, name) in [
        (DATA, "data"),
        (EXT, "ext"),
        (LEVELS, "levels"),
        (UPPER, "upper"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path(), Quantization::Int8, 600);
        damaged(dir.path(), |b, h| {
            let sec = h.sections[s];
            assert!(sec.len > 0, "{name} is not empty");
            b[(sec.offset + sec.len / 2) as usize] ^= 0x10;
        });
        let err = open_error(dir.path());
        assert!(
            err.contains(&format!("in the {name} section")),
            "{name}: {err}"
        );
    }

    // The re-ranking vectors are not read at open; `verify` (docvec check) finds their damage.
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path(), Quantization::Int8, 600);
    damaged(dir.path(), |b, h| {
        b[h.sections[FULL].offset as usize + 5] ^= 1
    });
    let index = VectorIndex::open(dir.path()).unwrap().unwrap();
    let err = index.verify().unwrap_err().to_string();
    assert!(err.contains("full section"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    saved(dir.path(), Quantization::Int8, 600);
    damaged(dir.path(), |b, _| b[20] ^= 1);
    assert!(open_error(dir.path()).contains("header checksum"));
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path(), Quantization::Int8, 600);
    damaged(dir.path(), |b, _| {
        let keep = b.len() - 5000;
        b.truncate(keep)
    });
    let err = open_error(dir.path());
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn a_link_to_no_node_is_refused_even_with_a_matching_checksum() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path(), Quantization::Int8, 600);
    damaged(dir.path(), |b, h| {
        let data = h.sections[DATA];
        // Node 7's layer-0 list: one link, to node 600 + 7 (there are 600).
        let at = data.offset as usize + 7 * h.lines as usize * 64 + h.walk_words as usize * 4;
        b[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
        b[at + 4..at + 8].copy_from_slice(&607u32.to_le_bytes());
        let mut h = h.clone();
        let range = data.offset as usize..(data.offset + data.len) as usize;
        h.sections[DATA].sum = file::checksum(&b[range]);
        b[..file::PAGE].copy_from_slice(&h.encode());
    });
    let err = open_error(dir.path());
    assert!(err.contains("node 7: a bad link list at layer 0"), "{err}");
}

#[test]
fn a_format_2_index_opens_and_its_next_save_writes_format_3() {
    let dir = tempfile::tempdir().unwrap();
    let built = saved(dir.path(), Quantization::Int8, 600);
    let mut old = Vec::new();
    legacy::write(&built.graph, &mut old).unwrap();
    std::fs::write(graph_file(dir.path(), 1), old).unwrap();
    let manifest = dir.path().join("MANIFEST.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["format"] = 2.into();
    std::fs::write(&manifest, serde_json::to_vec(&m).unwrap()).unwrap();

    let mut upgraded = VectorIndex::open(dir.path()).unwrap().unwrap();
    assert!(!upgraded.graph.is_mapped(), "read, not mapped");
    assert_eq!(answers(&upgraded), answers(&built));
    upgraded.save().unwrap();
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(m["format"], 3);
    assert_eq!(
        &std::fs::read(graph_file(dir.path(), 2)).unwrap()[..8],
        file::MAGIC
    );
    let mapped = VectorIndex::open(dir.path()).unwrap().unwrap();
    assert_eq!(answers(&mapped), answers(&built));
}
