//! Bundles: a consistent copy of a data directory to carry to another machine (an edge device), made
//! while writers go on. A bundle is a data directory like any other (`docvec.db`, `index/`,
//! `fulltext/`) plus `BUNDLE.json`, which says what made it and which model its vectors need:
//! `docvec --data-dir BUNDLE search ...` and `docvec serve` use it as they are, `docvec check`
//! verifies it against its manifest.
//!
//! The store is copied by `VACUUM INTO` (one read transaction: a moment in the store's history). The
//! HNSW graph is written as the engine holds it, at a log position at or before that moment (this
//! process saves, prunes and catches up nothing meanwhile); opening the bundle replays the log entries
//! between the two, as every open does. The full-text index is filled from the copied store, so it
//! stands exactly at the copy's moment.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use docvec_fulltext::TextIndex;
use docvec_store::Store;

use crate::model_sha::vectors_sha256;
use crate::sync::{blocking, poisoned};
use crate::{DataDir, Engine, EngineError};

const BUNDLE_FORMAT: u32 = 1;

/// `BUNDLE.json`: what a bundle holds and what it needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BundleManifest {
    pub format: u32,
    /// The docvec release that wrote it.
    pub docvec_version: String,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// The model the vectors come from, and the sha256 of its ONNX file on the exporting machine (a
    /// device must embed queries with the same file, or the per-row build's twin, which stands for it:
    /// `model_sha::vectors_sha256`; `None` when it could not be read there).
    pub model_id: String,
    pub dimension: usize,
    pub model_file: String,
    pub model_sha256: Option<String>,
    pub documents: i64,
    pub chunks: i64,
    /// The store's log position at the copy's moment, and the vector index's (at or before it).
    pub log_position: i64,
    pub index_position: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub path: PathBuf,
    pub manifest: BundleManifest,
    pub bytes: u64,
    pub elapsed_ms: u64,
}

impl Engine {
    /// Write a bundle of this data directory to `out`, a folder that must not exist (or be empty). It
    /// is written beside `out` and renamed into place whole, so `out` never holds half a bundle.
    pub async fn export_bundle(&self, out: &Path) -> Result<ExportReport, EngineError> {
        let started = Instant::now();
        refuse_existing(out)?;
        let tmp = partial_dir(out)?;
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
        let written = self.write_bundle(&tmp).await;
        let manifest = match written {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        let bytes = blocking({
            let (tmp, out) = (tmp.clone(), out.to_path_buf());
            move || publish(&tmp, &out)
        })
        .await?;
        Ok(ExportReport {
            path: out.to_path_buf(),
            manifest,
            bytes,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    async fn write_bundle(&self, dir: &Path) -> Result<BundleManifest, EngineError> {
        self.catch_up_if_idle().await?;
        // No save (and so no log pruning) and no catch-up in this process until both copies are made:
        // the store copy then still holds every log entry after the graph's position.
        let _saving = self.saving.lock().await;
        let _catch_up = self.catching_up.lock().await;
        let index = self.index.clone();
        let layout = DataDir::new(dir);
        let index_dir = layout.index();
        let index_position = blocking(move || {
            let index = index.read().map_err(poisoned)?;
            index.write_copy(&index_dir)?;
            Ok(index.info().applied_seq)
        })
        .await?;
        let db = layout.store();
        self.store.snapshot_into(&db).await?;
        drop((_saving, _catch_up));

        // Read-only: the copy stays in rollback journal mode as `VACUUM INTO` wrote it, so a bundle
        // needs no -wal/-shm beside it and is searched without writing (`Store::open_read_only`).
        let copy = Store::open_read_only(&db).await?;
        let filled = fill_text(&copy, &layout.fulltext()).await;
        let counts = copy.stats().await;
        let log_position = copy.last_log_seq().await;
        copy.close().await;
        filled?;
        let counts = counts?;
        let model_path = self.model_path();
        let model_sha256 = blocking(move || Ok(vectors_sha256(&model_path))).await?;
        let manifest = BundleManifest {
            format: BUNDLE_FORMAT,
            docvec_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            model_id: self.model_id(),
            dimension: self.dimension(),
            model_file: self
                .model_path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            model_sha256,
            documents: counts.documents,
            chunks: counts.chunks,
            log_position: log_position?,
            index_position,
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let path = layout.bundle_manifest();
        blocking(move || {
            docvec_index::write_atomic(&path, &json).map_err(|e| EngineError::io(&path, e))
        })
        .await?;
        Ok(manifest)
    }

    /// The ONNX file of the model the data directory's vectors come from.
    pub(crate) fn model_path(&self) -> PathBuf {
        let id = self.model_id();
        match self.config.embedder_config() {
            Ok(c) if c.model_id == id => c.model_path,
            _ => self
                .config
                .named_embedder_config(&id)
                .map(|c| c.model_path)
                .unwrap_or_default(),
        }
    }
}

/// What `docvec check` found of a bundle's manifest.
#[derive(Debug, Clone, Serialize)]
pub struct BundleCheck {
    pub manifest: BundleManifest,
    /// Whether the model file configured here is the one the bundle was made with (`None`: not
    /// known, as the file or the manifest's sum is missing; searches by keyword or vector still work).
    pub model_verified: Option<bool>,
    /// Where the bundle differs from its manifest; empty when it is whole.
    pub problems: Vec<String>,
}

impl Engine {
    /// Compare a bundle with its manifest; `None` for a data directory that is not a bundle.
    pub(crate) async fn check_bundle(&self) -> Result<Option<BundleCheck>, EngineError> {
        let Some(manifest) = read_manifest(self.data_dir())? else {
            return Ok(None);
        };
        let mut problems = Vec::new();
        if (manifest.model_id.as_str(), manifest.dimension) != (&*self.model_id(), self.dimension())
        {
            problems.push(format!(
                "made for `{}` ({}-d), but holds vectors of `{}` ({}-d)",
                manifest.model_id,
                manifest.dimension,
                self.model_id(),
                self.dimension()
            ));
        }
        let stats = self.store.stats().await?;
        if (stats.documents, stats.chunks) != (manifest.documents, manifest.chunks) {
            problems.push(format!(
                "the manifest lists {} documents and {} chunks, the store holds {} and {}",
                manifest.documents, manifest.chunks, stats.documents, stats.chunks
            ));
        }
        let model_path = self.model_path();
        let local = blocking(move || Ok(vectors_sha256(&model_path))).await?;
        let model_verified = match (&manifest.model_sha256, local) {
            (Some(want), Some(got)) if *want == got => Some(true),
            (Some(want), Some(got)) => {
                problems.push(format!(
                    "the model file {} here has sha256 {got}, the bundle was made with {want}: queries \
                     embedded here would not match its vectors",
                    self.model_path().display()
                ));
                Some(false)
            }
            _ => None,
        };
        Ok(Some(BundleCheck {
            manifest,
            model_verified,
            problems,
        }))
    }
}

/// The bundle manifest of a data directory, if it is a bundle.
pub fn read_manifest(data_dir: &Path) -> Result<Option<BundleManifest>, EngineError> {
    let path = DataDir::new(data_dir).bundle_manifest();
    match std::fs::read(&path) {
        Ok(raw) => serde_json::from_slice(&raw).map(Some).map_err(|e| {
            EngineError::Config(format!("{} is not a bundle manifest: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EngineError::io(&path, e)),
    }
}

fn refuse_existing(out: &Path) -> Result<(), EngineError> {
    let non_empty = match std::fs::read_dir(out) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => true,
    };
    if non_empty {
        return Err(EngineError::Conflict(format!(
            "{} exists and is not an empty folder; a bundle is written to a new one",
            out.display()
        )));
    }
    Ok(())
}

/// `.NAME.partial` beside `out`: on the same filesystem, so the final rename is atomic.
fn partial_dir(out: &Path) -> Result<PathBuf, EngineError> {
    let name = out
        .file_name()
        .ok_or_else(|| EngineError::InvalidRequest(format!("{} names no folder", out.display())))?;
    Ok(out.with_file_name(format!(".{}.partial", name.to_string_lossy())))
}

async fn fill_text(store: &Store, dir: &Path) -> Result<(), EngineError> {
    let dir = dir.to_path_buf();
    let text = blocking(move || {
        TextIndex::open(&dir)
            .map(Arc::new)
            .map_err(EngineError::from)
    })
    .await?;
    crate::text::fill(store, &text, &|_, _| {}, None).await
}

/// fsync every file of the finished bundle, then rename it into place. Returns its size in bytes.
fn publish(tmp: &Path, out: &Path) -> Result<u64, EngineError> {
    let mut bytes = 0;
    for entry in walkdir::WalkDir::new(tmp) {
        let entry = entry.map_err(|e| EngineError::Internal(e.to_string()))?;
        if entry.file_type().is_file() || entry.file_type().is_dir() {
            let f =
                std::fs::File::open(entry.path()).map_err(|e| EngineError::io(entry.path(), e))?;
            f.sync_all().map_err(|e| EngineError::io(entry.path(), e))?;
            if entry.file_type().is_file() {
                bytes += f.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    if out.exists() {
        // Empty (checked before): rename cannot replace a folder.
        std::fs::remove_dir(out).map_err(|e| EngineError::io(out, e))?;
    }
    std::fs::rename(tmp, out).map_err(|e| EngineError::io(out, e))?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(parent)
            .and_then(|f| f.sync_all())
            .map_err(|e| EngineError::io(parent, e))?;
    }
    Ok(bytes)
}
