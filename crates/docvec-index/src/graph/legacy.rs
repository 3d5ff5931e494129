//! The graph file of docvec 0.x's index format 2: a header, then per node its id, layer, vector and
//! links, then a checksum. No longer written (see `file.rs`), still read, so an upgrade keeps the
//! index instead of rebuilding it: the next save writes the current format.

use std::io::Read;
use std::sync::atomic::Ordering;

use super::{Graph, NO_ENTRY, NOT_READY, Shape};

pub(crate) const MAGIC: &[u8; 8] = b"DVHNSW01";

/// FNV-style over 8-byte words of the whole stream (however it is cut into writes): catches a torn
/// or altered file at memory speed.
struct Sum {
    h: u64,
    pending: [u8; 8],
    len: usize,
}
impl Sum {
    fn new() -> Self {
        Self {
            h: 0xCBF2_9CE4_8422_2325,
            pending: [0; 8],
            len: 0,
        }
    }
    fn mix(&mut self, w: [u8; 8]) {
        self.h = (self.h ^ u64::from_le_bytes(w)).wrapping_mul(0x100_0000_01B3);
    }
    fn add(&mut self, mut bytes: &[u8]) {
        if self.len > 0 {
            let take = (8 - self.len).min(bytes.len());
            self.pending[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            self.len += take;
            bytes = &bytes[take..];
            if self.len < 8 {
                return;
            }
            self.mix(self.pending);
            self.len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.mix(w.try_into().expect("8 bytes"));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.len = rest.len();
    }
    fn finish(mut self) -> u64 {
        if self.len > 0 {
            let mut w = [0u8; 8];
            w[..self.len].copy_from_slice(&self.pending[..self.len]);
            self.mix(w);
        }
        self.h
    }
}

struct In<R: Read> {
    r: R,
    sum: Sum,
}
impl<R: Read> In<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("truncated: {e}"))?;
        self.sum.add(&b);
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes::<4>()?))
    }
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.r
            .read_exact(buf)
            .map_err(|e| format!("truncated: {e}"))?;
        self.sum.add(buf);
        Ok(())
    }
}

/// Read a format-2 graph, checking its shape, every link and the checksum.
pub(crate) fn read(
    r: impl Read,
    expect_dim: usize,
    quantization: crate::Quantization,
) -> Result<Graph, String> {
    let mut inp = In { r, sum: Sum::new() };
    if &inp.bytes::<8>()? != MAGIC {
        return Err("not a docvec HNSW graph file".into());
    }
    let dim = inp.u32()? as usize;
    let m = inp.u32()? as usize;
    let ef_construction = inp.u32()? as usize;
    let count = inp.u32()? as usize;
    let entry = inp.u32()?;
    let top = inp.u32()?;
    if dim != expect_dim || !(2..=1024).contains(&m) || top > super::MAX_LEVEL || count >= 1 << 31 {
        return Err(format!(
            "bad header (dimension {dim}, M {m}, top layer {top}, {count} nodes)"
        ));
    }
    let g = Graph::new(
        Shape {
            dim,
            m,
            ef_construction,
            quantization,
        },
        count,
    );
    let mut v = vec![0f32; dim];
    let mut raw = vec![0u8; dim * 4];
    let mut pending: Vec<(u32, u32, Vec<u32>)> = Vec::new();
    for i in 0..count as u32 {
        let ext = u64::from_le_bytes(inp.bytes::<8>()?);
        let level = inp.u32()?;
        if level > super::MAX_LEVEL || ext == NOT_READY {
            return Err(format!("node {i}: bad level {level} or id"));
        }
        inp.fill(&mut raw)?;
        for (x, b) in v.iter_mut().zip(raw.chunks_exact(4)) {
            *x = f32::from_le_bytes(b.try_into().expect("4 bytes"));
        }
        let placed = g.place(&v, ext, Some(level));
        debug_assert_eq!(placed, i);
        for layer in 0..=level {
            let n = inp.u32()? as usize;
            let max = if layer == 0 { 2 * m } else { m };
            if n > max {
                return Err(format!("node {i}: {n} links at layer {layer}"));
            }
            let mut to = Vec::with_capacity(n);
            for _ in 0..n {
                to.push(inp.u32()?);
            }
            pending.push((i, layer, to));
        }
    }
    let mut sum = [0u8; 8];
    inp.r
        .read_exact(&mut sum)
        .map_err(|e| format!("truncated: {e}"))?;
    if u64::from_le_bytes(sum) != inp.sum.finish() {
        return Err("checksum mismatch: the graph file is damaged".into());
    }
    for (i, layer, to) in pending {
        let bad = to
            .iter()
            .find(|&&n| n as usize >= count || g.node(n).level.load(Ordering::Relaxed) < layer);
        if let Some(n) = bad {
            return Err(format!(
                "node {i} links to {n}, which is not on layer {layer}"
            ));
        }
        g.set_links(i, layer, &to);
    }
    if count > 0 {
        if entry as usize >= count || g.node(entry).level.load(Ordering::Relaxed) != top {
            return Err(format!("bad entry node {entry}"));
        }
        g.entry
            .store(entry as u64 | (top as u64) << 32, Ordering::Release);
    } else if entry != u32::MAX && count == 0 {
        g.entry.store(NO_ENTRY, Ordering::Release);
    }
    Ok(g)
}

/// The format-2 writer, kept to make fixtures for the tests of the reader above (a graph with every
/// node published; no renumbering).
#[cfg(test)]
pub(crate) fn write(g: &Graph, w: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut sum = Sum::new();
    let mut put = |bytes: &[u8]| {
        sum.add(bytes);
        w.write_all(bytes)
    };
    put(MAGIC)?;
    let (entry, top) = g.load_entry().unwrap_or((u32::MAX, 0));
    for v in [g.dim, g.m, g.ef_construction, g.capacity_used()] {
        put(&(v as u32).to_le_bytes())?;
    }
    put(&entry.to_le_bytes())?;
    put(&top.to_le_bytes())?;
    let mut links = Vec::new();
    for i in 0..g.capacity_used() as u32 {
        put(&g.ext(i).to_le_bytes())?;
        let level = g.node(i).level.load(Ordering::Acquire);
        put(&level.to_le_bytes())?;
        let v: Vec<u8> = g.vector(i).iter().flat_map(|x| x.to_le_bytes()).collect();
        put(&v)?;
        for layer in 0..=level {
            g.neighbours(i, layer, &mut links);
            put(&(links.len() as u32).to_le_bytes())?;
            for &n in &links {
                put(&n.to_le_bytes())?;
            }
        }
    }
    let sum = sum.finish();
    w.write_all(&sum.to_le_bytes())
}
