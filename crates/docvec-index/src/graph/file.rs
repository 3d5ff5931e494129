//! The graph file (index format 3): a 4 KiB header, then sections laid out exactly as the graph holds
//! them in memory, each starting on a page, so a load maps the file instead of reading it (`load.rs`):
//!
//! | section  | per node                                                                    |
//! |----------|-----------------------------------------------------------------------------|
//! | `data`   | the walk's words (f32 vector or code block), layer-0 link count and slots, padding to whole 64-byte lines |
//! | `full`   | the f32 vector (quantized graphs only; read only by inserts and re-ranking)   |
//! | `ext`    | the caller's id, u64                                                         |
//! | `levels` | the top layer, u32                                                           |
//! | `upper`  | nodes above layer 0 only: per layer 1..=level, count then `m` slots, u32      |
//!
//! All little-endian. The header holds each section's offset, length and checksum, and its own
//! checksum. Written only by a save into a fresh generation directory (then fsynced).

use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::{Graph, NOT_READY};
use crate::Quantization;

pub(crate) const MAGIC: &[u8; 8] = b"DVHNSW03";
/// Header size, and the alignment of every section (a page, so each maps on its own).
pub(crate) const PAGE: usize = 4096;
pub(crate) const SECTIONS: usize = 5;
pub(crate) const DATA: usize = 0;
pub(crate) const FULL: usize = 1;
pub(crate) const EXT: usize = 2;
pub(crate) const LEVELS: usize = 3;
pub(crate) const UPPER: usize = 4;
const NAMES: [&str; SECTIONS] = ["data", "full", "ext", "levels", "upper"];
/// Bytes of the header's fields before its own checksum.
const FIELDS: usize = 8 + 9 * 4 + 4 + SECTIONS * 24;

pub(crate) fn section_name(s: usize) -> &'static str {
    NAMES[s]
}

/// Where a section lies and what it sums to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Section {
    pub offset: u64,
    pub len: u64,
    pub sum: u64,
}

/// The header's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub dim: u32,
    pub m: u32,
    pub ef_construction: u32,
    pub count: u32,
    pub entry: u32,
    pub top: u32,
    pub quantization: Quantization,
    /// 64-byte lines per node in `data`, and the walk's words at their start.
    pub lines: u32,
    pub walk_words: u32,
    pub sections: [Section; SECTIONS],
}

impl Header {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(PAGE);
        b.extend_from_slice(MAGIC);
        let q = match self.quantization {
            Quantization::None => 0u32,
            Quantization::Int8 => 1,
        };
        for v in [
            self.dim,
            self.m,
            self.ef_construction,
            self.count,
            self.entry,
            self.top,
            q,
            self.lines,
            self.walk_words,
            0, // reserved, keeps the sections 8-byte aligned
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for s in &self.sections {
            for v in [s.offset, s.len, s.sum] {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        debug_assert_eq!(b.len(), FIELDS);
        let sum = checksum(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b.resize(PAGE, 0);
        b
    }

    /// The header at the start of `bytes`, or why it is not one.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < PAGE {
            return Err(format!("truncated: {} bytes, no whole header", bytes.len()));
        }
        if &bytes[..8] != MAGIC {
            return Err("not a docvec HNSW graph file".into());
        }
        let stored = u64::from_le_bytes(bytes[FIELDS..FIELDS + 8].try_into().expect("8 bytes"));
        if checksum(&bytes[..FIELDS]) != stored {
            return Err("header checksum mismatch: the graph file is damaged".into());
        }
        let u32_at = |i: usize| {
            u32::from_le_bytes(bytes[8 + 4 * i..12 + 4 * i].try_into().expect("4 bytes"))
        };
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let quantization = match u32_at(6) {
            0 => Quantization::None,
            1 => Quantization::Int8,
            q => return Err(format!("unknown quantization {q}")),
        };
        let mut sections = [Section::default(); SECTIONS];
        for (i, s) in sections.iter_mut().enumerate() {
            let at = 8 + 40 + 24 * i;
            *s = Section {
                offset: u64_at(at),
                len: u64_at(at + 8),
                sum: u64_at(at + 16),
            };
        }
        Ok(Header {
            dim: u32_at(0),
            m: u32_at(1),
            ef_construction: u32_at(2),
            count: u32_at(3),
            entry: u32_at(4),
            top: u32_at(5),
            quantization,
            lines: u32_at(7),
            walk_words: u32_at(8),
            sections,
        })
    }
}

/// Checksums are taken over blocks of this many bytes, so a load sums a section's blocks in parallel.
const BLOCK: usize = 1 << 20;

/// FNV-style over 8-byte words in four interleaved lanes (a multiply's latency per word in each, so
/// four run at once): any one changed word changes the sum. At memory speed on one core.
fn block_sum(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x100_0000_01B3;
    let mut lanes = [0xCBF2_9CE4_8422_2325u64; 4];
    let mut quads = bytes.chunks_exact(32);
    for q in &mut quads {
        for (lane, w) in lanes.iter_mut().zip(q.chunks_exact(8)) {
            *lane =
                (*lane ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(PRIME);
        }
    }
    let mut tail = [0u8; 32];
    let rest = quads.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    for (lane, w) in lanes.iter_mut().zip(tail.chunks_exact(8)) {
        *lane = (*lane ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(PRIME);
    }
    lanes
        .iter()
        .fold(bytes.len() as u64, |h, &l| (h ^ l).wrapping_mul(PRIME))
}

fn combine(acc: u64, block: u64) -> u64 {
    (acc ^ block).wrapping_mul(0x100_0000_01B3).rotate_left(29)
}

/// The checksum of `bytes`, its blocks summed on every core.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    let blocks: Vec<u64> = bytes.par_chunks(BLOCK).map(block_sum).collect();
    blocks.into_iter().fold(0, combine)
}

/// A writer that sums what passes through it the way [`checksum`] sums the whole.
struct Summed<'a, W: Write> {
    w: &'a mut W,
    block: Vec<u8>,
    acc: u64,
    len: u64,
}

impl<'a, W: Write> Summed<'a, W> {
    fn new(w: &'a mut W) -> Self {
        Self {
            w,
            block: Vec::with_capacity(BLOCK),
            acc: 0,
            len: 0,
        }
    }

    fn put(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        self.w.write_all(bytes)?;
        self.len += bytes.len() as u64;
        while !bytes.is_empty() {
            let take = (BLOCK - self.block.len()).min(bytes.len());
            self.block.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.block.len() == BLOCK {
                self.acc = combine(self.acc, block_sum(&self.block));
                self.block.clear();
            }
        }
        Ok(())
    }

    fn words(&mut self, words: impl IntoIterator<Item = u32>) -> std::io::Result<()> {
        let bytes: Vec<u8> = words.into_iter().flat_map(u32::to_le_bytes).collect();
        self.put(&bytes)
    }

    fn finish(self) -> (u64, u64) {
        let acc = if self.block.is_empty() {
            self.acc
        } else {
            combine(self.acc, block_sum(&self.block))
        };
        (self.len, acc)
    }
}

/// Write every published node. Nodes still being inserted by another thread are left out, and so
/// are links to them.
pub(crate) fn write<W: Write + Seek>(g: &Graph, mut w: W) -> std::io::Result<()> {
    // Renumber published nodes densely: a slot reserved by a running insert may sit among them.
    let used = g.capacity_used();
    let mut renumber = vec![u32::MAX; used];
    let mut order = Vec::with_capacity(used);
    for i in 0..used as u32 {
        if g.ext(i) != NOT_READY {
            renumber[i as usize] = order.len() as u32;
            order.push(i);
        }
    }
    let (entry, top) = match g.load_entry() {
        Some((e, t)) if renumber[e as usize] != u32::MAX => (renumber[e as usize], t),
        _ => (u32::MAX, 0),
    };
    let level = |i: u32| g.node(i).level.load(Ordering::Acquire);
    let line_words = g.data.stride() * super::parts::Line::WORDS;
    let mut header = Header {
        dim: g.dim as u32,
        m: g.m as u32,
        ef_construction: g.ef_construction as u32,
        count: order.len() as u32,
        entry,
        top,
        quantization: if g.quantized() {
            Quantization::Int8
        } else {
            Quantization::None
        },
        lines: g.data.stride() as u32,
        walk_words: g.walk_words as u32,
        sections: [Section::default(); SECTIONS],
    };
    w.write_all(&vec![0u8; PAGE])?;
    let mut at = PAGE as u64;
    let mut links = Vec::new();
    for s in 0..SECTIONS {
        let mut out = Summed::new(&mut w);
        for &i in &order {
            match s {
                DATA => {
                    g.neighbours(i, 0, &mut links);
                    links.retain(|&n| renumber[n as usize] != u32::MAX);
                    let walk = g.words(i)[..g.walk_words].iter();
                    let mut words: Vec<u32> = walk.map(|x| x.load(Ordering::Relaxed)).collect();
                    words.push(links.len() as u32);
                    words.extend(links.iter().map(|&n| renumber[n as usize]));
                    words.resize(line_words, 0);
                    out.words(words)?;
                }
                FULL if g.quantized() => out.words(g.vector(i).iter().map(|x| x.to_bits()))?,
                FULL => {}
                EXT => out.put(&g.ext(i).to_le_bytes())?,
                LEVELS => out.put(&level(i).to_le_bytes())?,
                _ => {
                    for layer in 1..=level(i) {
                        g.neighbours(i, layer, &mut links);
                        links.retain(|&n| renumber[n as usize] != u32::MAX);
                        let mut words = vec![links.len() as u32];
                        words.extend(links.iter().map(|&n| renumber[n as usize]));
                        words.resize(g.m + 1, 0);
                        out.words(words)?;
                    }
                }
            }
        }
        let (len, sum) = out.finish();
        header.sections[s] = Section {
            offset: at,
            len,
            sum,
        };
        let pad = (len as usize).next_multiple_of(PAGE) - len as usize;
        w.write_all(&vec![0u8; pad])?;
        at += len + pad as u64;
    }
    w.seek(SeekFrom::Start(0))?;
    w.write_all(&header.encode())?;
    w.flush()
}
