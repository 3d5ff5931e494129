//! The local vector index: an HNSW graph (`graph/`, laid out like hnswlib) over unit-length vectors,
//! walked over byte codes with an exact f32 re-rank by default (`quant.rs`, [`Quantization`]),
//! persisted crash-safely in the data directory together with the model id and dimension it was built
//! with and the last store log entry it applied.
//!
//! On disk: `MANIFEST.json` names the current generation directory (`gen-N/graph.bin`, mapped at load). A save
//! writes a new generation into a temporary directory, fsyncs it, renames it into place and only then
//! replaces the manifest (temp file, fsync, rename), so a crash leaves the old or the new index, never a
//! torn one. HNSW cannot delete nodes: removed ids are tombstoned and filtered out during the graph
//! search (so k results still come back), and the owner rebuilds when tombstones pile up.

mod distance;
mod graph;
mod persist;
mod quant;
pub use persist::{Snapshot, write_atomic};

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use distance::{distance, dot};
use graph::{Graph, Shape};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// `path` is the damaged or unreadable file (the manifest or a graph file).
    #[error("the index file {path} is damaged or unreadable: {cause}")]
    Unreadable { path: PathBuf, cause: String },
    #[error("cannot write the index at {path}: {cause}")]
    Write { path: PathBuf, cause: String },
    /// A save found the disk full. The half-written generation is removed and the manifest still
    /// names the previous one, which keeps serving; the next save writes everything again.
    #[error("no space left on device to save the index at {path}: {cause}")]
    DiskFull { path: PathBuf, cause: String },
    #[error(
        "query vector has dimension {got}, but the index holds {expected}-dimensional vectors of model `{model}`"
    )]
    DimensionMismatch {
        got: usize,
        expected: usize,
        model: String,
    },
}

/// HNSW construction and search parameters.
///
/// `m` (links per node) trades memory and build time for recall: 16 suits 384-d text embeddings; raise
/// to 32 or 48 for higher-dimensional models or recall targets above 0.99. `ef_construction` is the
/// candidate list while building (higher builds slower, gives a better graph); `ef_search` the one while
/// querying (higher is slower, recalls more; it is raised to k when k is larger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HnswParams {
    pub m: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
    /// How the graph walk reads vectors (see [`Quantization`]).
    #[serde(default)]
    pub quantization: Quantization,
}

/// How the graph walk reads the vectors it compares.
///
/// `Int8` (the default) walks one byte per component and re-ranks the final candidates with the f32
/// vectors: the walk waits on a quarter of the memory, for a quarter more memory per vector (the
/// codes beside the f32 vectors). `None` walks the f32 vectors: the least memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    None,
    #[default]
    Int8,
}

impl std::str::FromStr for Quantization {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "int8" => Ok(Self::Int8),
            _ => Err(format!("unknown quantization `{s}` (int8 or none)")),
        }
    }
}

impl Default for HnswParams {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            quantization: Quantization::default(),
        }
    }
}

/// What the index is, as recorded in its manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexInfo {
    pub model_id: String,
    pub dimension: usize,
    pub params: HnswParams,
    /// Last store `index_log` sequence number whose effect the index holds.
    pub applied_seq: i64,
}

/// Up to this many live vectors a query scans them all (exact, and immune to the clusters of
/// identical vectors that cut HNSW graphs apart: a table whose rows repeat yields hundreds of identical
/// chunks); above it the HNSW graph answers.
pub const EXACT_SEARCH_MAX: usize = 20_000;

pub struct VectorIndex {
    dir: PathBuf,
    info: IndexInfo,
    graph: Graph,
    /// Every id inserted into the graph, deleted or not.
    ids: HashSet<usize>,
    deleted: HashSet<usize>,
    generation: u64,
    /// Changes made (any, and to the graph), and how many of each the saved state holds: the graph is
    /// dumped again only when it changed (the manifest alone changes on deletes and log replays).
    changes: u64,
    graph_changes: u64,
    saved_changes: u64,
    saved_graph_changes: u64,
}

impl VectorIndex {
    /// A new, empty index that will live in `dir`.
    pub fn create(
        dir: &Path,
        model_id: &str,
        dimension: usize,
        params: HnswParams,
        expected: usize,
    ) -> Self {
        let info = IndexInfo {
            model_id: model_id.to_string(),
            dimension,
            params,
            applied_seq: 0,
        };
        Self {
            dir: dir.to_path_buf(),
            graph: new_graph(dimension, &params, expected),
            info,
            ids: HashSet::new(),
            deleted: HashSet::new(),
            generation: 0,
            changes: 1,
            graph_changes: 1,
            saved_changes: 0,
            saved_graph_changes: 0,
        }
    }

    /// Make this (freshly built) index the successor of `old`: it saves into `old`'s directory as the
    /// next generation, so the switch on disk is one manifest rename and `old` stays whole until then.
    pub fn succeed(&mut self, old: &VectorIndex) {
        self.dir = old.dir.clone();
        self.generation = old.generation;
        self.changes += 1;
        self.graph_changes += 1;
    }

    /// Open the index saved in `dir`: `Ok(None)` when there is none yet, `Err` when it is unreadable.
    pub fn open(dir: &Path) -> Result<Option<Self>, IndexError> {
        persist::load(dir, None)
    }

    /// [`VectorIndex::open`], walking the graph with `quantization` whatever it was saved with (a
    /// setting of the loaded graph's memory, not of its shape: nothing is rebuilt).
    pub fn open_with(dir: &Path, quantization: Quantization) -> Result<Option<Self>, IndexError> {
        persist::load(dir, Some(quantization))
    }

    /// Check what the open left unchecked: the f32 vectors a loaded graph re-ranks with are summed
    /// here, not at load (that would read all of them from the disk). For `docvec check`.
    pub fn verify(&self) -> Result<(), IndexError> {
        self.graph
            .verify_file()
            .map_err(|cause| IndexError::Unreadable {
                path: persist::graph_path(&self.dir, self.generation),
                cause: format!("graph: {cause}"),
            })
    }

    pub fn info(&self) -> &IndexInfo {
        &self.info
    }

    /// Live (not deleted) vectors.
    pub fn len(&self) -> usize {
        self.ids.len() - self.deleted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Share of graph nodes that are tombstones; past ~0.3 a rebuild pays for itself.
    pub fn deleted_fraction(&self) -> f64 {
        if self.ids.is_empty() {
            0.0
        } else {
            self.deleted.len() as f64 / self.ids.len() as f64
        }
    }

    pub fn contains(&self, id: i64) -> bool {
        let id = id as usize;
        self.ids.contains(&id) && !self.deleted.contains(&id)
    }

    /// Insert vectors (in parallel on rayon). Ids already present are skipped, which makes replaying the
    /// store log idempotent.
    pub fn add(&mut self, items: &[(i64, Vec<f32>)]) -> Result<(), IndexError> {
        let mut batch: Vec<(&[f32], usize)> = Vec::with_capacity(items.len());
        for (id, v) in items {
            self.check_dimension(v)?;
            let id = *id as usize;
            if self.ids.insert(id) {
                batch.push((v.as_slice(), id));
            }
        }
        if !batch.is_empty() {
            self.insert_batch(&batch);
            self.changes += 1;
            self.graph_changes += 1;
        }
        Ok(())
    }

    /// The first half of an add that leaves searches running: put the vectors of ids not yet indexed
    /// into the graph under shared access (the graph takes concurrent inserts and searches). The caller
    /// must let no other add, save or swap of this index run until [`VectorIndex::register`] has recorded
    /// the returned ids, or the graph and the id set would disagree.
    ///
    /// The graph takes concurrent inserts and searches.
    pub fn insert_shared(&self, items: &[(i64, Vec<f32>)]) -> Result<Vec<usize>, IndexError> {
        let mut batch: Vec<(&[f32], usize)> = Vec::with_capacity(items.len());
        let mut seen = HashSet::new();
        for (id, v) in items {
            self.check_dimension(v)?;
            let id = *id as usize;
            if !self.ids.contains(&id) && seen.insert(id) {
                batch.push((v.as_slice(), id));
            }
        }
        if !batch.is_empty() {
            self.insert_batch(&batch);
        }
        Ok(batch.into_iter().map(|(_, id)| id).collect())
    }

    /// Insert on every core (rayon); one at a time below a few hundred, where threads cost more.
    fn insert_batch(&self, batch: &[(&[f32], usize)]) {
        if batch.len() < 256 {
            batch
                .iter()
                .for_each(|(v, id)| self.graph.insert(v, *id as u64));
        } else {
            batch
                .par_iter()
                .for_each(|(v, id)| self.graph.insert(v, *id as u64));
        }
    }

    /// The second half: record the ids [`VectorIndex::insert_shared`] put into the graph.
    pub fn register(&mut self, inserted: &[usize]) {
        if !inserted.is_empty() {
            self.ids.extend(inserted.iter().copied());
            self.changes += 1;
            self.graph_changes += 1;
        }
    }

    pub fn remove(&mut self, id: i64) {
        let id = id as usize;
        if self.ids.contains(&id) && self.deleted.insert(id) {
            self.changes += 1;
        }
    }

    /// Search with this candidate list from now on (a query-time setting: the graph is unchanged).
    pub fn set_ef_search(&mut self, ef: usize) {
        if ef != self.info.params.ef_search {
            self.info.params.ef_search = ef.max(1);
            self.changes += 1;
        }
    }

    pub fn set_applied_seq(&mut self, seq: i64) {
        if seq != self.info.applied_seq {
            self.info.applied_seq = seq;
            self.changes += 1;
        }
    }

    /// The `k` nearest live vectors as (id, cosine similarity), best first.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(i64, f32)>, IndexError> {
        self.search_ef(query, k, self.info.params.ef_search)
    }

    pub fn search_ef(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
    ) -> Result<Vec<(i64, f32)>, IndexError> {
        self.check_dimension(query)?;
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let hits = if self.len() <= EXACT_SEARCH_MAX {
            self.search_exact(query, k)
        } else {
            self.search_graph(query, k, ef)
        };
        self.finite(hits)
    }

    /// The hits, unless a score is not a number: the open sums only the graph, so damaged f32 vectors
    /// show first here (`docvec check` sums them and rebuilds the index from the store).
    fn finite(&self, hits: Vec<(i64, f32)>) -> Result<Vec<(i64, f32)>, IndexError> {
        if hits.iter().all(|(_, s)| s.is_finite()) {
            return Ok(hits);
        }
        Err(IndexError::Unreadable {
            path: persist::graph_path(&self.dir, self.generation),
            cause:
                "a stored vector is not a number; `docvec check` rebuilds the index from the store"
                    .into(),
        })
    }

    /// The `k` nearest live vectors among `allowed` (a search filter resolved to chunk ids). Exact over
    /// the allowed vectors while they are few enough to scan, else the graph walk skips the others: k
    /// hits come back whenever k allowed vectors exist.
    pub fn search_among(
        &self,
        query: &[f32],
        k: usize,
        allowed: &std::collections::HashSet<i64>,
    ) -> Result<Vec<(i64, f32)>, IndexError> {
        self.check_dimension(query)?;
        if k == 0 || allowed.is_empty() {
            return Ok(Vec::new());
        }
        let bits = AllowedBits::new(allowed);
        let keep = |id: usize| {
            bits.as_ref()
                .map_or_else(|| allowed.contains(&(id as i64)), |b| b.contains(id))
                && !self.deleted.contains(&id)
        };
        if self.len() <= EXACT_SEARCH_MAX || allowed.len() <= EXACT_SEARCH_MAX {
            let scored = self
                .graph
                .points()
                .filter(|(id, _)| keep(*id as usize))
                .map(|(id, v)| (id as i64, distance::dot(query, v)))
                .collect();
            return self.finite(top_k(scored, k));
        }
        let ef = self.info.params.ef_search.max(k);
        let filter = |id: u64| keep(id as usize);
        let hits = self
            .graph
            .search(query, k, ef, Some(&filter))
            .into_iter()
            .map(|(id, d)| (id as i64, 1.0 - d))
            .collect();
        self.finite(hits)
    }

    /// The `k` nearest live vectors by scanning all of them: exact, the ground truth for the graph.
    pub fn search_exact(&self, query: &[f32], k: usize) -> Vec<(i64, f32)> {
        let scored = self
            .graph
            .points()
            .filter(|(id, _)| !self.deleted.contains(&(*id as usize)))
            .map(|(id, v)| (id as i64, distance::dot(query, v)))
            .collect();
        top_k(scored, k)
    }

    /// The approximate `k` nearest live vectors through the HNSW graph (deleted ids filtered inside the
    /// walk, so k live hits come back).
    pub fn search_graph(&self, query: &[f32], k: usize, ef: usize) -> Vec<(i64, f32)> {
        let ef = ef.max(k);
        let found = if self.deleted.is_empty() {
            self.graph.search(query, k, ef, None)
        } else {
            let live = |id: u64| !self.deleted.contains(&(id as usize));
            self.graph.search(query, k, ef, Some(&live))
        };
        found
            .into_iter()
            .map(|(id, d)| (id as i64, 1.0 - d))
            .collect()
    }

    /// The live vectors (unit length, f32) with their ids, in no particular order: for exporting the
    /// index to another library.
    pub fn vectors(&self) -> impl Iterator<Item = (i64, &[f32])> + '_ {
        self.graph
            .points()
            .filter(|(id, _)| !self.deleted.contains(&(*id as usize)))
            .map(|(id, v)| (id as i64, v))
    }

    /// Ids of the live vectors, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.ids
            .iter()
            .filter(|id| !self.deleted.contains(id))
            .map(|&id| id as i64)
    }

    /// Persist the index if it changed since the last save (crash-safe; see the crate docs).
    pub fn save(&mut self) -> Result<(), IndexError> {
        if let Some(snap) = self.write_snapshot()? {
            self.commit_snapshot(snap)?;
        }
        Ok(())
    }

    /// The first half of a save, under shared access: write what changed since the last save (the graph
    /// as a new generation when it changed). `None` when nothing changed.
    pub fn write_snapshot(&self) -> Result<Option<persist::Snapshot>, IndexError> {
        persist::write_snapshot(self)
    }

    /// The second half: make the snapshot current (one manifest rename). Changes made after the
    /// snapshot was written stay unsaved until the next save.
    pub fn commit_snapshot(&mut self, snap: persist::Snapshot) -> Result<(), IndexError> {
        persist::commit_snapshot(self, snap)
    }

    /// Write the index as it is now into the new folder `dir`, as a saved index that
    /// [`VectorIndex::open`] loads there (a bundle's copy). Needs only shared access.
    pub fn write_copy(&self, dir: &Path) -> Result<(), IndexError> {
        persist::write_copy(self, dir)
    }

    fn check_dimension(&self, v: &[f32]) -> Result<(), IndexError> {
        if v.len() != self.info.dimension {
            return Err(IndexError::DimensionMismatch {
                got: v.len(),
                expected: self.info.dimension,
                model: self.info.model_id.clone(),
            });
        }
        Ok(())
    }
}

fn new_graph(dimension: usize, params: &HnswParams, expected: usize) -> Graph {
    Graph::new(
        Shape {
            dim: dimension,
            m: params.m,
            ef_construction: params.ef_construction,
            quantization: params.quantization,
        },
        expected,
    )
}

#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod tests;

/// The `k` best of `scored`, best first (ties by id, so results are deterministic).
fn top_k(mut scored: Vec<(i64, f32)>, k: usize) -> Vec<(i64, f32)> {
    let k = k.min(scored.len());
    if k == 0 {
        return Vec::new();
    }
    let order = |a: &(i64, f32), b: &(i64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    scored.select_nth_unstable_by(k - 1, order);
    scored.truncate(k);
    scored.sort_by(order);
    scored
}

/// The allowed ids of a filtered search as a bitset: the scan and the graph walk test every point they
/// pass, and one load and mask costs far less than hashing the id. Chunk ids are dense row ids, so the
/// set is small; ids past `MAX_BITSET_ID` keep the hash set.
struct AllowedBits(Vec<u64>);

const MAX_BITSET_ID: i64 = 1 << 26;

impl AllowedBits {
    fn new(allowed: &std::collections::HashSet<i64>) -> Option<Self> {
        let max = allowed.iter().copied().max()?;
        if max >= MAX_BITSET_ID || allowed.iter().any(|&id| id < 0) {
            return None;
        }
        let mut words = vec![0u64; max as usize / 64 + 1];
        for &id in allowed {
            words[id as usize / 64] |= 1 << (id % 64);
        }
        Some(Self(words))
    }

    fn contains(&self, id: usize) -> bool {
        self.0
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
}
