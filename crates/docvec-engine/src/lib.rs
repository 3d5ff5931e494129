//! The engine: ties parsing, chunking, embedding, the SQLite store and the HNSW index into the operations
//! users run (ingest, search, delete, stats), over one data directory.
//!
//! The data directory's layout is [`DataDir`]'s. CPU-heavy work (parsing, embedding, HNSW) runs on
//! rayon or `spawn_blocking`, never on the async runtime's threads.

mod bundle;
mod check;
mod config;
mod data_dir;
mod discover;
mod error;
mod ingest;
mod mirror;
mod model_sha;
mod model_status;
mod model_switch;
mod rebuild;
mod search;
mod source;
mod sync;
mod text;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, RwLock};

use docvec_embed::LazyEmbedder;
use docvec_index::VectorIndex;

pub use bundle::{BundleManifest, ExportReport, read_manifest};
pub use check::{CheckReport, IndexCheck};
pub use config::{Builtin, Config, DEFAULT_MODEL, IngestConfig, ModelConfig, SearchConfig};
pub use data_dir::{BUNDLE_MANIFEST, DataDir};
pub use discover::SIDECAR_SUFFIX;
pub use docvec_embed::{EmbedError, Embedder, HashEmbedder, RuntimeInfo, TokenCounts};
pub use docvec_fulltext::TextIndexError;
pub use docvec_index::IndexError;
pub use docvec_store::{
    ChunkFilter, DocumentFilter, DocumentRow, EndpointFilter, EndpointRow, FORMAT_VERSION,
    FactFilter, FactRow, LogFilter, LogRow, PAUSE_AFTER_MIGRATION_ENV, Stats, Store, StoreError,
    TableRow, TagCount, TagFilter, dir_writable,
};
/// An [`Embedder`] given to [`Engine::open_with`] counts tokens too, for the chunker.
pub use docvec_types::TokenCounter;
pub use docvec_types::{
    FactKind, Format, MetaCondition, MetaOp, MetaValue, Metadata, Operation, RowSpan, SearchHit,
    Snippet, Span, TagKind, check_metadata, parse_meta_filter,
};
pub use error::EngineError;
pub(crate) use error::check_time_bounds;
pub use ingest::{FileOutcome, IngestEvent, IngestOptions, IngestReport, StageTimes};
#[cfg(feature = "mirror")]
pub use mirror::{
    BackfillEvent, BackfillOptions, BackfillReport, MirrorStatus, ParityReport, TableCount,
};
pub use mirror::{DrainReport, MirrorConfig, StorageMode};
pub use model_status::ModelStatus;
pub use rebuild::{RebuildEvent, RebuildOptions, RebuildReport};
pub use search::{
    DEFAULT_K, DEFAULT_QUERY_CACHE_SIZE, DEFAULT_SNIPPET_CHARS, Fusion, HybridOptions, MAX_K,
    QueryBatchStats, QueryCacheStats, QueryVector, SearchMode, SearchRequest, SearchResponse,
    SearchResults, VectorBatchResults, cap_per_document, fuse,
};
pub use source::{DEFAULT_SOURCE_CONTEXT, MAX_SOURCE_CONTEXT, ShownChunk, SourceView};

/// Whether this engine may change the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Search and read. Several readers and one writer may share a data directory. Writes nothing to
    /// it (the store is opened with [`Store::open_read_only`], the indexes are only read), so a bundle
    /// or a directory on read-only media can be searched; changes fail with [`EngineError::ReadOnly`].
    ReadOnly,
    /// Ingest and delete; holds the directory's lock while open.
    ReadWrite,
}

pub struct Engine {
    config: Config,
    store: Store,
    /// The model the data directory's vectors come from; swapped (with the index, under its write lock)
    /// when a rebuild switches models.
    embedder: Arc<RwLock<Arc<dyn Embedder>>>,
    /// What the models swapped out had run, so the engine's token counts only grow.
    retired_tokens: std::sync::Mutex<TokenCounts>,
    index: Arc<RwLock<VectorIndex>>,
    /// Query texts' vectors, by model; its generation moves on with every model swap.
    query_cache: search::QueryCache,
    query_batcher: search::QueryBatcher,
    /// BM25 over the chunks; swapped whole by a rebuild.
    text: RwLock<Arc<docvec_fulltext::TextIndex>>,
    access: Access,
    /// Postgres, when a connection string is configured (whatever the storage mode).
    #[cfg(feature = "mirror")]
    mirror: Option<docvec_mirror::Mirror>,
    /// Index log entries at or above this stay unpruned (a rebuild replays them); `i64::MAX` when none runs.
    prune_floor: AtomicI64,
    /// One rebuild at a time.
    rebuilding: tokio::sync::Mutex<()>,
    /// One index save at a time, and no swap in the middle of one.
    saving: tokio::sync::Mutex<()>,
    /// One catch-up at a time: its graph inserts run beside searches, not beside other writes.
    catching_up: tokio::sync::Mutex<()>,
    /// Ingests hold it shared from start to end; a model switch takes it to commit, so no document
    /// embedded by the old model lands after the switch.
    model_gate: tokio::sync::RwLock<()>,
    /// Damaged index files this open found and rebuilt from the store, for `docvec check` to report.
    damaged_at_open: Vec<String>,
    _lock: Option<File>,
}

pub(crate) const META_MODEL: &str = "model_id";
pub(crate) const META_DIMENSION: &str = "dimension";

impl Engine {
    /// Open the data directory (creating it for [`Access::ReadWrite`]), load the model, and bring the
    /// vector index up to date with the store.
    pub async fn open(config: Config, access: Access) -> Result<Self, EngineError> {
        Self::open_inner(config, access, None).await
    }

    /// [`Engine::open`] with `embedder` instead of the configured model: it embeds queries and new
    /// chunks, and the data directory records its model id and dimension as for any model (a
    /// directory of another model is refused with [`EngineError::ModelMismatch`]). For tests and
    /// examples (with [`docvec_embed::HashEmbedder`], no model files are needed) and for applications
    /// with an embedder of their own. A rebuild that embeds again (`reembed`, or a switch to another
    /// model) still loads the configured model by name.
    pub async fn open_with(
        config: Config,
        access: Access,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Self, EngineError> {
        Self::open_inner(config, access, Some(embedder)).await
    }

    /// Open with `embedder`, or, without one, with the configured model the directory's vectors come
    /// from.
    async fn open_inner(
        config: Config,
        access: Access,
        embedder: Option<Arc<dyn Embedder>>,
    ) -> Result<Self, EngineError> {
        let dir = DataDir::new(&config.data_dir);
        let lock = match access {
            Access::ReadWrite => {
                std::fs::create_dir_all(dir.root()).map_err(|e| EngineError::io(dir.root(), e))?;
                Some(lock_dir(&dir)?)
            }
            Access::ReadOnly => {
                if !dir.store().exists() {
                    return Err(EngineError::NotFound(format!(
                        "no docvec data in {} (run `docvec ingest PATH...` first, or pass --data-dir)",
                        dir.root().display()
                    )));
                }
                None
            }
        };
        let db = dir.store();
        // An older format is migrated here (read-write); a newer one is refused before anything is
        // written, naming the directory and both formats.
        let store = match access {
            Access::ReadWrite => Store::open(&db).await,
            Access::ReadOnly => Store::open_read_only(&db).await,
        }
        .map_err(|e| EngineError::opening(dir.root(), e))?;
        #[cfg(feature = "mirror")]
        let mirror = if config.mirror.url.is_some() || config.mirror.mode.mirrors() {
            Some(docvec_mirror::Mirror::connect_lazy(
                config.mirror.options()?,
            )?)
        } else {
            None
        };
        #[cfg(not(feature = "mirror"))]
        mirror::refuse_remote(&config.mirror)?;
        // Every write made while a mirror is on is recorded for it in the same transaction.
        store.enable_outbox(config.mirror.mode.mirrors() && access == Access::ReadWrite);
        let embedder: Arc<dyn Embedder> = match embedder {
            Some(given) => given,
            // Loaded when something first embeds (see `warm_model`): searches by keyword or by
            // vector, `check` and `stats` never load ONNX Runtime.
            None => Arc::new(LazyEmbedder::new(choose_model(&config, &store).await?)),
        };
        check_model(&store, embedder.as_ref(), dir.root(), access).await?;
        let (index, index_damage) =
            sync::open_index(&store, embedder.as_ref(), &dir.index(), &config.hnsw).await?;
        let text = text::open_text(&dir, access).await?;
        let damaged_at_open = index_damage
            .into_iter()
            .chain(text.damaged_at_open().map(str::to_string))
            .collect();
        let query_cache = search::QueryCache::new(config.search.query_cache_size);
        let query_batcher = search::QueryBatcher::new(config.search.batch_options());
        let engine = Engine {
            config,
            store,
            embedder: Arc::new(RwLock::new(embedder)),
            retired_tokens: Default::default(),
            index: Arc::new(RwLock::new(index)),
            query_cache,
            query_batcher,
            text: RwLock::new(text),
            access,
            #[cfg(feature = "mirror")]
            mirror,
            prune_floor: AtomicI64::new(i64::MAX),
            rebuilding: tokio::sync::Mutex::new(()),
            saving: tokio::sync::Mutex::new(()),
            catching_up: tokio::sync::Mutex::new(()),
            model_gate: tokio::sync::RwLock::new(()),
            damaged_at_open,
            _lock: lock,
        };
        // On a full disk the data directory still opens (to search, check, or delete to make room);
        // the indexes finish catching up at a later save.
        sync::unless_disk_full(engine.catch_up().await, "the indexes' catch-up at open")?;
        if access == Access::ReadWrite {
            sync::unless_disk_full(engine.save_index().await, "the index save at open")?;
        }
        Ok(engine)
    }

    /// Load the embedding model now (it is otherwise loaded by the first query or ingest that needs
    /// it), so that a missing or broken model or runtime is reported before any work starts.
    pub async fn warm_model(&self) -> Result<(), EngineError> {
        let embedder = self.embedder();
        sync::blocking(move || Ok(embedder.warm()?)).await
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The data directory's layout: where its store, indexes, lock, uploads and snapshots lie.
    pub fn layout(&self) -> DataDir {
        DataDir::new(&self.config.data_dir)
    }

    pub fn model_id(&self) -> String {
        self.embedder().model_id().to_string()
    }

    pub fn dimension(&self) -> usize {
        self.embedder().dimension()
    }

    /// The model embedding queries and new chunks now.
    pub(crate) fn embedder(&self) -> Arc<dyn Embedder> {
        self.embedder_and_generation().0
    }

    /// The model with its query-cache generation, read under the lock a switch swaps both under, so
    /// the pair always belongs together.
    pub(crate) fn embedder_and_generation(&self) -> (Arc<dyn Embedder>, u64) {
        let slot = match self.embedder.read() {
            Ok(e) => e,
            // Only a panic while swapping poisons it, and the swap is one assignment: the value is whole.
            Err(poisoned) => poisoned.into_inner(),
        };
        (slot.clone(), self.query_cache.generation())
    }

    /// The query-embedding cache's counters since the engine opened.
    pub fn query_cache_stats(&self) -> QueryCacheStats {
        self.query_cache.stats()
    }

    /// Tokens the models ran since the engine opened, real and padded, and their calls (every model
    /// this engine used, queries and ingests alike).
    pub fn token_counts(&self) -> TokenCounts {
        let retired = *self
            .retired_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        retired.plus(self.embedder().token_counts())
    }

    /// Query batches embedded so far, and the queries in them.
    pub fn query_batch_stats(&self) -> QueryBatchStats {
        self.query_batcher.stats()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Live vectors in the index.
    pub fn index_len(&self) -> usize {
        self.index.read().map(|i| i.len()).unwrap_or(0)
    }

    /// Chunks in the full-text index.
    pub fn text_index_len(&self) -> u64 {
        self.text_index().len()
    }

    /// Delete a document by id or path. Returns its path and the number of chunks removed.
    pub async fn delete(&self, id_or_path: &str) -> Result<Option<(String, u64)>, EngineError> {
        self.require_write("deleting a document")?;
        let key = match std::fs::canonicalize(id_or_path) {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(_) => id_or_path.to_string(),
        };
        let mut removed = self.store.delete_document(&key).await?;
        if removed.is_none() && key != id_or_path {
            removed = self.store.delete_document(id_or_path).await?;
        }
        self.catch_up().await?;
        self.save_index().await?;
        if self.storage_mode().mirrors() {
            let drained = self.drain_outbox().await?;
            if let Some(e) = drained.error {
                tracing::warn!("the delete waits in the outbox for Postgres: {e}");
            }
        }
        Ok(removed)
    }

    pub async fn stats(&self) -> Result<Stats, EngineError> {
        Ok(self.store.stats().await?)
    }

    pub async fn documents(&self) -> Result<Vec<DocumentRow>, EngineError> {
        Ok(self.store.list_documents().await?)
    }

    /// Tables of one document (id or path), or of all documents.
    pub async fn tables(&self, document: Option<&str>) -> Result<Vec<TableRow>, EngineError> {
        Ok(self.store.tables(document).await?)
    }

    /// Entries of the stored log files.
    pub async fn log_entries(&self, filter: &LogFilter) -> Result<Vec<LogRow>, EngineError> {
        check_time_bounds(filter.since.as_deref(), filter.until.as_deref())?;
        Ok(self.store.log_entries(filter).await?)
    }

    /// Operations of the stored API descriptions (OpenAPI, Swagger, Postman).
    pub async fn endpoints(
        &self,
        filter: &EndpointFilter,
    ) -> Result<Vec<EndpointRow>, EngineError> {
        Ok(self.store.endpoints(filter).await?)
    }

    /// Tags with how many documents and chunks carry them.
    pub async fn tags(&self, filter: &TagFilter) -> Result<Vec<TagCount>, EngineError> {
        Ok(self.store.tags(filter).await?)
    }

    /// Facts found in the stored documents, with their evidence.
    pub async fn facts(&self, filter: &FactFilter) -> Result<Vec<FactRow>, EngineError> {
        Ok(self.store.facts(filter).await?)
    }

    /// One fact with its evidence, by id.
    pub async fn evidence(&self, id: i64) -> Result<Option<FactRow>, EngineError> {
        Ok(self.store.evidence(id).await?)
    }

    /// Save the index and release the data directory.
    pub async fn close(self) -> Result<(), EngineError> {
        if self.access == Access::ReadWrite {
            // The previous generation stays on disk and the log is kept: the next start replays it.
            sync::unless_disk_full(self.save_index().await, "the index save at close")?;
        }
        self.store.close().await;
        Ok(())
    }

    /// Refuse `what` (a change) on an engine opened read-only.
    pub(crate) fn require_write(&self, what: &str) -> Result<(), EngineError> {
        match self.access {
            Access::ReadWrite => Ok(()),
            Access::ReadOnly => Err(EngineError::ReadOnly(format!(
                "{what} needs the data directory {} opened read-write, and it was opened read-only",
                self.config.data_dir.display()
            ))),
        }
    }
}

/// Take the data directory's write lock without waiting.
fn lock_dir(dir: &DataDir) -> Result<File, EngineError> {
    let path = dir.lock();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| EngineError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(EngineError::Busy(dir.root().display().to_string()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(EngineError::io(&path, e)),
    }
}

/// The configured model the data directory's vectors come from: `[model]`, or the `[models.NAME]` a
/// rebuild switched it to. A directory of a model not configured at all gets `[model]`, and
/// [`check_model`] says what is wrong.
async fn choose_model(
    config: &Config,
    store: &Store,
) -> Result<docvec_embed::EmbedderConfig, EngineError> {
    let default = config.embedder_config()?;
    let Some(stored) = store.get_meta(META_MODEL).await? else {
        return Ok(default);
    };
    if stored == default.model_id {
        return Ok(default);
    }
    // A directory made with another build of the default model (fp32 from before int8 became the
    // default, say) keeps being searched and filled with that build.
    if let Some(builtin) = config.builtin_embedder_config(&stored) {
        return builtin;
    }
    if config.models.is_empty() {
        return Ok(default);
    }
    match config.named_embedder_config(&stored) {
        Ok(alternate) => {
            tracing::info!(
                "{} holds vectors of `{stored}`: embedding with that configured model",
                config.data_dir.display()
            );
            Ok(alternate)
        }
        Err(_) => Ok(default),
    }
}

/// A data directory belongs to one model: the first writer records it, later opens must match.
async fn check_model(
    store: &Store,
    embedder: &dyn Embedder,
    dir: &Path,
    access: Access,
) -> Result<(), EngineError> {
    let stored = store.get_meta(META_MODEL).await?;
    let stored_dim = store
        .get_meta(META_DIMENSION)
        .await?
        .and_then(|d| d.parse::<usize>().ok());
    match (stored, stored_dim) {
        (Some(model), Some(dim)) if model == embedder.model_id() && dim == embedder.dimension() => {
            Ok(())
        }
        (Some(model), Some(dim)) => Err(EngineError::ModelMismatch {
            data_dir: dir.display().to_string(),
            stored: model,
            stored_dim: dim,
            configured: embedder.model_id().to_string(),
            configured_dim: embedder.dimension(),
        }),
        _ if access == Access::ReadWrite => {
            store.set_meta(META_MODEL, embedder.model_id()).await?;
            store
                .set_meta(META_DIMENSION, &embedder.dimension().to_string())
                .await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Canonical absolute path of a file, as stored in `documents.path`.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
