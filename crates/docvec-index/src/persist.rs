//! Crash-safe persistence: generation directories for the graph, an atomically replaced manifest for
//! everything else (model, dimension, applied log position, tombstones).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::graph::{file, legacy, load as graph_load};
use crate::{IndexError, IndexInfo, Quantization, VectorIndex, new_graph};

const MANIFEST: &str = "MANIFEST.json";
/// 3: the graph file laid out as memory, loaded by map (`graph/file.rs`). 2: docvec's first graph
/// file plus an id list, still read; the next save writes format 3. 1 was hnsw_rs's dump: such an
/// index is rebuilt from the store.
const FORMAT: u32 = 3;
const FORMAT_2: u32 = 2;
const GRAPH: &str = "graph.bin";

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    info: IndexInfo,
    /// Generation directory holding the graph; 0 = the graph is empty and has no files.
    generation: u64,
    points: usize,
    deleted: Vec<u64>,
}

fn gen_dir(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("gen-{generation}"))
}

/// The graph file of one generation, as errors name it.
pub(crate) fn graph_path(dir: &Path, generation: u64) -> PathBuf {
    gen_dir(dir, generation).join(GRAPH)
}

/// An index state written to disk (its graph, when that changed, as a new generation directory) but not
/// yet made current: [`commit_snapshot`] does that by replacing the manifest. Writing needs only shared
/// access, so searches go on while a large graph is dumped; the commit is quick.
pub struct Snapshot {
    generation: u64,
    info: IndexInfo,
    points: usize,
    deleted: Vec<u64>,
    changes: u64,
    graph_changes: u64,
}

impl Snapshot {
    /// The store log position the snapshot holds.
    pub fn applied_seq(&self) -> i64 {
        self.info.applied_seq
    }
}

pub(crate) fn write_snapshot(index: &VectorIndex) -> Result<Option<Snapshot>, IndexError> {
    if index.changes == index.saved_changes {
        return Ok(None);
    }
    let dir = index.dir.clone();
    let werr = |cause: String| IndexError::Write {
        path: dir.clone(),
        cause,
    };
    fs::create_dir_all(&dir).map_err(|e| werr(e.to_string()))?;
    let mut generation = index.generation;
    if index.graph_changes != index.saved_graph_changes && !index.ids.is_empty() {
        generation += 1;
        let tmp = dir.join(format!("tmp-gen-{generation}"));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| werr(e.to_string()))?;
        }
        if let Err(e) = write_graph_files(index, &tmp) {
            // Give the space back at once (a full disk is the likely cause); the manifest still names
            // the previous generation.
            let _ = fs::remove_dir_all(&tmp);
            return Err(write_err(&dir, e));
        }
        let target = gen_dir(&dir, generation);
        if target.exists() {
            fs::remove_dir_all(&target).map_err(|e| werr(e.to_string()))?;
        }
        fs::rename(&tmp, &target).map_err(|e| werr(e.to_string()))?;
        sync_dir(&dir).map_err(|e| werr(e.to_string()))?;
    }
    let mut deleted: Vec<u64> = index.deleted.iter().map(|&i| i as u64).collect();
    deleted.sort_unstable();
    Ok(Some(Snapshot {
        generation,
        info: index.info.clone(),
        points: index.ids.len(),
        deleted,
        changes: index.changes,
        graph_changes: index.graph_changes,
    }))
}

/// The graph file in `dir` (created), the file and the folder fsynced. Errors keep their kind, so a
/// full disk can be told apart ([`write_err`]).
fn write_graph_files(index: &VectorIndex, dir: &Path) -> std::io::Result<()> {
    let context = |what: String| {
        move |e: std::io::Error| std::io::Error::new(e.kind(), format!("{what}: {e}"))
    };
    fs::create_dir_all(dir)?;
    let file = File::create(dir.join(GRAPH))?;
    file::write(&index.graph, BufWriter::with_capacity(1 << 20, file))
        .map_err(context("graph".into()))?;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(context(format!("fsync {}", path.display())))?;
    }
    sync_dir(dir)
}

/// A failed index write at `dir`: [`IndexError::DiskFull`] when the disk or quota is full, else
/// [`IndexError::Write`].
fn write_err(dir: &Path, e: std::io::Error) -> IndexError {
    let path = dir.to_path_buf();
    let cause = e.to_string();
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            IndexError::DiskFull { path, cause }
        }
        _ => IndexError::Write { path, cause },
    }
}

/// Write the index as it is now, saved or not, into the new folder `dir`: its manifest and a first
/// generation (a bundle's copy; the index's own folder is left alone). Needs only shared access.
pub(crate) fn write_copy(index: &VectorIndex, dir: &Path) -> Result<(), IndexError> {
    let werr = |cause: String| IndexError::Write {
        path: dir.to_path_buf(),
        cause,
    };
    fs::create_dir_all(dir).map_err(|e| werr(e.to_string()))?;
    let generation = if index.ids.is_empty() {
        0
    } else {
        write_graph_files(index, &gen_dir(dir, 1)).map_err(|e| write_err(dir, e))?;
        1
    };
    let mut deleted: Vec<u64> = index.deleted.iter().map(|&i| i as u64).collect();
    deleted.sort_unstable();
    let manifest = Manifest {
        format: FORMAT,
        info: index.info.clone(),
        generation,
        points: index.ids.len(),
        deleted,
    };
    let json = serde_json::to_vec(&manifest).map_err(|e| werr(e.to_string()))?;
    write_atomic(&dir.join(MANIFEST), &json).map_err(|e| write_err(dir, e))
}

pub(crate) fn commit_snapshot(index: &mut VectorIndex, snap: Snapshot) -> Result<(), IndexError> {
    let dir = index.dir.clone();
    let werr = |cause: String| IndexError::Write {
        path: dir.clone(),
        cause,
    };
    let generation = snap.generation;
    let manifest = Manifest {
        format: FORMAT,
        info: snap.info,
        generation,
        points: snap.points,
        deleted: snap.deleted,
    };
    let json = serde_json::to_vec(&manifest).map_err(|e| werr(e.to_string()))?;
    write_atomic(&dir.join(MANIFEST), &json).map_err(|e| write_err(&dir, e))?;
    index.generation = generation;
    index.saved_changes = snap.changes;
    index.saved_graph_changes = snap.graph_changes;
    // Older generations are unreachable now; removing them is best-effort.
    if let Ok(entries) = fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale_gen = name
                .strip_prefix("gen-")
                .and_then(|g| g.parse::<u64>().ok())
                .is_some_and(|g| g != generation);
            if stale_gen || name.starts_with("tmp-gen-") {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(())
}

/// Load the index saved in `dir`, walking it with `quantization` when given (the file holds the f32
/// vectors either way, so the choice costs nothing at load) or else as it was saved.
pub(crate) fn load(
    dir: &Path,
    quantization: Option<Quantization>,
) -> Result<Option<VectorIndex>, IndexError> {
    // The error names the file at fault: the manifest, or the generation's graph file.
    let manifest_path = dir.join(MANIFEST);
    let unreadable = |path: &Path, cause: String| IndexError::Unreadable {
        path: path.to_path_buf(),
        cause,
    };
    let raw = match fs::read(&manifest_path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(&manifest_path, e.to_string())),
    };
    let mut manifest: Manifest = serde_json::from_slice(&raw)
        .map_err(|e| unreadable(&manifest_path, format!("manifest: {e}")))?;
    if let Some(q) = quantization {
        manifest.info.params.quantization = q;
    }
    if manifest.format != FORMAT && manifest.format != FORMAT_2 {
        return Err(unreadable(
            &manifest_path,
            format!(
                "index format {} (this docvec reads {FORMAT_2} and {FORMAT})",
                manifest.format
            ),
        ));
    }
    let (graph, ids) = if manifest.generation == 0 {
        (
            new_graph(manifest.info.dimension, &manifest.info.params, 0),
            HashSet::new(),
        )
    } else {
        let graph_path = gen_dir(dir, manifest.generation).join(GRAPH);
        let unreadable = |cause: String| unreadable(&graph_path, cause);
        let (dim, q) = (manifest.info.dimension, manifest.info.params.quantization);
        let graph = if manifest.format == FORMAT_2 {
            let file = File::open(&graph_path).map_err(|e| unreadable(format!("graph: {e}")))?;
            legacy::read(BufReader::with_capacity(1 << 20, file), dim, q)
        } else {
            graph_load::load(&graph_path, dim, q)
        }
        .map_err(|e| unreadable(format!("graph: {e}")))?;
        // Every node's id is in the graph; a format-2 index also listed them apart.
        let ids: HashSet<usize> = graph.points().map(|(id, _)| id as usize).collect();
        let points = graph.len();
        if points != ids.len() || ids.len() != manifest.points {
            return Err(unreadable(format!(
                "graph holds {points} points ({} distinct ids), manifest {}",
                ids.len(),
                manifest.points
            )));
        }
        (graph, ids)
    };
    let deleted = manifest.deleted.iter().map(|&i| i as usize).collect();
    Ok(Some(VectorIndex {
        dir: dir.to_path_buf(),
        info: manifest.info,
        graph,
        ids,
        deleted,
        generation: manifest.generation,
        // A format-2 index is saved again (as format 3) at the first save.
        changes: u64::from(manifest.format != FORMAT),
        graph_changes: u64::from(manifest.format != FORMAT),
        saved_changes: 0,
        saved_graph_changes: 0,
    }))
}

/// Write `bytes` to `path` through a temp file in the same directory: fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        // The old file stays in place; a partial temp file would only hold on to space.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
