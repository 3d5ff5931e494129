//! Loading a graph file (`file.rs`) by memory map: the `data` and `full` sections become the graph's
//! first slabs as they lie in the file (copy-on-write), so opening costs what checking costs, and
//! vectors the queries never reach are never read from the disk. What a walk follows is checked
//! before the graph is used: the small sections and `data` against their checksums, every link
//! against the node count and the layers. The `full` section (re-ranking only) is summed by
//! [`Graph::verify_file`] (`docvec check`), since summing it would read the whole file.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::file::{self, DATA, EXT, FULL, Header, LEVELS, PAGE, Section, UPPER};
use super::parts::{FileMap, Line, Node, Region, Slabs};
use super::{Graph, MAX_LEVEL, NO_ENTRY, NOT_READY, Shape};
use crate::Quantization;

/// The graph in the file at `path`, walked with `quantization`: mapped when that is what the file
/// holds, else converted (read and re-laid out, as slow as a format-2 load).
pub(crate) fn load(path: &Path, dim: usize, quantization: Quantization) -> Result<Graph, String> {
    if cfg!(target_endian = "big") {
        return Err("graph files are little-endian; this machine is not".into());
    }
    let f = File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: a graph file is written once into a new generation directory and never changed after;
    // the private mapping keeps the graph's own writes out of it.
    let map = unsafe { memmap2::MmapOptions::new().map_copy(&f) }.map_err(|e| e.to_string())?;
    let map = Arc::new(FileMap::new(map));
    let bytes = map.bytes();
    let h = Header::decode(bytes)?;
    let shape = Shape {
        dim: h.dim as usize,
        m: h.m as usize,
        ef_construction: h.ef_construction as usize,
        quantization: h.quantization,
    };
    check_shape(&h, dim, bytes.len())?;
    let section = |s: usize| {
        let Section { offset, len, .. } = h.sections[s];
        &bytes[offset as usize..(offset + len) as usize]
    };
    for s in [EXT, LEVELS, UPPER, DATA] {
        if file::checksum(section(s)) != h.sections[s].sum {
            return Err(format!(
                "checksum mismatch in the {} section: the graph file is damaged",
                file::section_name(s)
            ));
        }
    }
    let count = h.count as usize;
    let ext = le_u64s(section(EXT));
    let levels = le_u32s(section(LEVELS));
    let upper = le_u32s(section(UPPER));
    check_nodes(&h, &ext, &levels, &upper)?;
    check_layer0(&h, section(DATA), count)?;
    let nodes = Slabs::new(count, 1, Node::empty);
    let mut at = 0;
    let upper_at: Vec<usize> = levels
        .iter()
        .map(|&l| {
            let here = at;
            at += l as usize * (h.m as usize + 1);
            here
        })
        .collect();
    (0..count).into_par_iter().for_each(|i| {
        let node = &nodes.slot(i)[0];
        node.level.store(levels[i], Ordering::Relaxed);
        if levels[i] > 0 {
            let words = &upper[upper_at[i]..upper_at[i] + levels[i] as usize * (h.m as usize + 1)];
            let _ = node
                .upper
                .set(words.iter().map(|&w| AtomicU32::new(w)).collect());
        }
        node.ext.store(ext[i], Ordering::Release);
    });
    let g = if quantization == h.quantization {
        let data = Region::mapped(
            map.clone(),
            h.sections[DATA].offset as usize,
            count * h.lines as usize,
        )
        .ok_or("the data section is misaligned")?;
        let full = match h.quantization {
            Quantization::None => None,
            Quantization::Int8 => Some(
                Region::mapped(
                    map.clone(),
                    h.sections[FULL].offset as usize,
                    count * h.dim as usize,
                )
                .ok_or("the full section is misaligned")?,
            ),
        };
        let mut g = Graph::assemble(shape, count, nodes, data, full);
        g.unverified = Some((map.clone(), h.sections[FULL]));
        g
    } else {
        convert(&h, section(DATA), section(FULL), nodes, quantization)
    };
    g.count.store(count, Ordering::Release);
    let entry = if count == 0 {
        NO_ENTRY
    } else {
        h.entry as u64 | (h.top as u64) << 32
    };
    g.entry.store(entry, Ordering::Release);
    Ok(g)
}

/// The header agrees with the index's dimension, the layout this build would make, and the file.
fn check_shape(h: &Header, dim: usize, file_len: usize) -> Result<(), String> {
    let m = h.m as usize;
    if h.dim as usize != dim || !(2..=1024).contains(&m) || h.top > MAX_LEVEL || h.count >= 1 << 31
    {
        return Err(format!(
            "bad header (dimension {}, M {m}, top layer {}, {} nodes)",
            h.dim, h.top, h.count
        ));
    }
    let walk_words = Graph::walk_words(dim, h.quantization);
    if h.walk_words as usize != walk_words || h.lines as usize != Graph::lines(walk_words, m) {
        return Err(format!(
            "bad layout ({} words, {} lines a node)",
            h.walk_words, h.lines
        ));
    }
    let count = h.count as u64;
    let full = match h.quantization {
        Quantization::None => 0,
        Quantization::Int8 => count * dim as u64 * 4,
    };
    let expect = [count * h.lines as u64 * 64, full, count * 8, count * 4];
    for (s, &len) in expect.iter().enumerate() {
        if h.sections[s].len != len {
            return Err(format!(
                "the {} section has the wrong size",
                file::section_name(s)
            ));
        }
    }
    for (s, sec) in h.sections.iter().enumerate() {
        if !(sec.offset as usize).is_multiple_of(PAGE) || sec.offset + sec.len > file_len as u64 {
            return Err(format!(
                "truncated: the {} section ends past the file's {file_len} bytes",
                file::section_name(s)
            ));
        }
    }
    Ok(())
}

/// Every node's id and layer, the upper layers' links, and the entry.
fn check_nodes(h: &Header, ext: &[u64], levels: &[u32], upper: &[u32]) -> Result<(), String> {
    let m = h.m as usize;
    if let Some(i) = (0..levels.len()).find(|&i| levels[i] > MAX_LEVEL || ext[i] == NOT_READY) {
        return Err(format!("node {i}: bad level {} or id", levels[i]));
    }
    let words: usize = levels.iter().map(|&l| l as usize * (m + 1)).sum();
    if words != upper.len() {
        return Err("the upper section has the wrong size".into());
    }
    let mut lists = upper.chunks_exact(m + 1);
    for (i, &level) in levels.iter().enumerate() {
        for layer in 1..=level {
            let list = lists.next().expect("sized above");
            let n = list[0] as usize;
            let bad = n > m
                || list[1..=n]
                    .iter()
                    .any(|&t| t as usize >= levels.len() || levels[t as usize] < layer);
            if bad {
                return Err(format!("node {i}: a bad link list at layer {layer}"));
            }
        }
    }
    if !levels.is_empty() && (h.entry as usize >= levels.len() || levels[h.entry as usize] != h.top)
    {
        return Err(format!("bad entry node {}", h.entry));
    }
    Ok(())
}

/// Every layer-0 link list holds at most `2 M` nodes that exist.
fn check_layer0(h: &Header, data: &[u8], count: usize) -> Result<(), String> {
    let node_bytes = h.lines as usize * Line::WORDS * 4;
    let at = h.walk_words as usize * 4;
    let m0 = 2 * h.m as usize;
    let word =
        |b: &[u8], i: usize| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    let bad = data.par_chunks(node_bytes).position_any(|node| {
        let list = &node[at..at + 4 * (m0 + 1)];
        let n = word(list, 0) as usize;
        n > m0 || (1..=n).any(|i| word(list, i) as usize >= count)
    });
    match bad {
        Some(i) => Err(format!("node {i}: a bad link list at layer 0")),
        None => Ok(()),
    }
}

/// A graph saved with the other quantization: placed node by node into fresh memory.
fn convert(h: &Header, data: &[u8], full: &[u8], nodes: Slabs<Node>, q: Quantization) -> Graph {
    let count = h.count as usize;
    let dim = h.dim as usize;
    let shape = Shape {
        dim,
        m: h.m as usize,
        ef_construction: h.ef_construction as usize,
        quantization: q,
    };
    let words = (h.lines as usize * Line::WORDS).max(1);
    let data = le_u32s(data);
    let g = Graph::new(shape, count);
    for i in 0..count {
        let node = &nodes.slot(i)[0];
        let level = node.level.load(Ordering::Relaxed);
        let v: Vec<f32> = match h.quantization {
            Quantization::None => data[i * words..i * words + dim]
                .iter()
                .map(|&w| f32::from_bits(w))
                .collect(),
            Quantization::Int8 => le_u32s(&full[i * dim * 4..(i + 1) * dim * 4])
                .into_iter()
                .map(f32::from_bits)
                .collect(),
        };
        let placed = g.place(&v, node.ext.load(Ordering::Relaxed), Some(level));
        debug_assert_eq!(placed as usize, i);
        let at = i * words + h.walk_words as usize;
        let n = data[at] as usize;
        g.set_links(placed, 0, &data[at + 1..=at + n]);
        for layer in 1..=level {
            let list = &node.upper.get().expect("levels above 0 have upper links")
                [(layer as usize - 1) * (h.m as usize + 1)..];
            let n = list[0].load(Ordering::Relaxed) as usize;
            let to: Vec<u32> = list[1..=n]
                .iter()
                .map(|x| x.load(Ordering::Relaxed))
                .collect();
            g.set_links(placed, layer, &to);
        }
    }
    g
}

impl Graph {
    /// Whether this graph's first slots are mapped from its file.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        self.unverified.is_some()
    }

    /// Sum the parts of a mapped file that the load left unchecked (the f32 vectors of a quantized
    /// graph). Reads them from the disk.
    pub(crate) fn verify_file(&self) -> Result<(), String> {
        let Some((map, full)) = &self.unverified else {
            return Ok(());
        };
        let bytes = &map.bytes()[full.offset as usize..(full.offset + full.len) as usize];
        if file::checksum(bytes) != full.sum {
            return Err("checksum mismatch in the full section: the graph file is damaged".into());
        }
        Ok(())
    }
}

fn le_u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}

fn le_u64s(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}
