//! [`DataDir`]: the layout of a data directory, each name in it spelled here and nowhere else.

use std::path::{Path, PathBuf};

/// The manifest's file name in a bundle.
pub const BUNDLE_MANIFEST: &str = "BUNDLE.json";

const STORE: &str = "docvec.db";
const INDEX: &str = "index";
const FULLTEXT: &str = "fulltext";
const FULLTEXT_NEW: &str = "fulltext.new";
const FULLTEXT_OLD: &str = "fulltext.old";
const LOCK: &str = "LOCK";
const UPLOADS: &str = "uploads";
const STAGING: &str = ".staging";
const SNAPSHOTS: &str = "snapshots";
const TENSORRT_CACHE: &str = "tensorrt-cache";

/// Where each part of a data directory lives:
///
/// - `docvec.db`: the SQLite store, the source of truth;
/// - `index/`: the HNSW index and `fulltext/`: the tantivy BM25 index, both derived from the store and
///   rebuilt from it whenever they are missing, stale or unreadable (`fulltext.new/` and
///   `fulltext.old/` only while a rebuild swaps a fresh one in);
/// - `LOCK`: held by the one process that writes;
/// - `uploads/`: files sent to the server, received into `uploads/.staging/` first;
/// - `snapshots/`: bundles the server writes;
/// - `tensorrt-cache/`: TensorRT's engines and timing cache, with `device = "tensorrt"` only (not part
///   of a bundle: an engine belongs to one GPU and one TensorRT version);
/// - `BUNDLE.json`: in a bundle only, its manifest.
///
/// A bundle is an ordinary data directory with the same layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `docvec.db`: the SQLite store.
    pub fn store(&self) -> PathBuf {
        self.root.join(STORE)
    }

    /// `index/`: the HNSW index (manifest and generations).
    pub fn index(&self) -> PathBuf {
        self.root.join(INDEX)
    }

    /// `fulltext/`: the BM25 index.
    pub fn fulltext(&self) -> PathBuf {
        self.root.join(FULLTEXT)
    }

    /// `fulltext.new/`: the full-text index a rebuild fills before swapping it in.
    pub fn fulltext_new(&self) -> PathBuf {
        self.root.join(FULLTEXT_NEW)
    }

    /// `fulltext.old/`: the full-text index a rebuild swapped out, kept until the next open or rebuild.
    pub fn fulltext_old(&self) -> PathBuf {
        self.root.join(FULLTEXT_OLD)
    }

    /// `LOCK`: the writer's lock file.
    pub fn lock(&self) -> PathBuf {
        self.root.join(LOCK)
    }

    /// `uploads/`: where uploaded files live once their job runs (documents keep pointing at them).
    pub fn uploads(&self) -> PathBuf {
        self.root.join(UPLOADS)
    }

    /// `uploads/.staging/`: uploads being received, one folder per batch.
    pub fn staging(&self) -> PathBuf {
        self.uploads().join(STAGING)
    }

    /// `snapshots/`: bundles written by the server.
    pub fn snapshots(&self) -> PathBuf {
        self.root.join(SNAPSHOTS)
    }

    /// `tensorrt-cache/`: TensorRT's built engines and timing cache (`[model] tensorrt_cache` moves it).
    pub fn tensorrt_cache(&self) -> PathBuf {
        self.root.join(TENSORRT_CACHE)
    }

    /// `BUNDLE.json`: a bundle's manifest.
    pub fn bundle_manifest(&self) -> PathBuf {
        self.root.join(BUNDLE_MANIFEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_lies_where_the_layout_says() {
        let d = DataDir::new("/data");
        assert_eq!(d.root(), Path::new("/data"));
        let parts = [
            (d.store(), "/data/docvec.db"),
            (d.index(), "/data/index"),
            (d.fulltext(), "/data/fulltext"),
            (d.fulltext_new(), "/data/fulltext.new"),
            (d.fulltext_old(), "/data/fulltext.old"),
            (d.lock(), "/data/LOCK"),
            (d.uploads(), "/data/uploads"),
            (d.staging(), "/data/uploads/.staging"),
            (d.snapshots(), "/data/snapshots"),
            (d.tensorrt_cache(), "/data/tensorrt-cache"),
            (d.bundle_manifest(), "/data/BUNDLE.json"),
        ];
        for (path, expected) in parts {
            assert_eq!(path, PathBuf::from(expected));
        }
    }
}
