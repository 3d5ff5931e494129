//! The engine's one error type. The server maps its variants to HTTP statuses in one place
//! (`docvec-server`'s `error.rs`); the CLI prints them.

use std::path::Path;

/// Errors of engine operations. Per-file ingest failures are not errors: they are reported in
/// [`IngestReport`] and the batch goes on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A mistake in the configuration (file, environment, model files); the message says how to fix
    /// it.
    #[error("{0}")]
    Config(String),
    /// A request the caller must correct (an empty query, k out of range, a malformed filter or date
    /// bound, a vector of the wrong dimension, a model name that is not configured); the message says
    /// what is wrong.
    #[error("{0}")]
    InvalidRequest(String),
    /// What the request names does not exist (a data directory without docvec data, a store to copy
    /// from).
    #[error("{0}")]
    NotFound(String),
    /// The request is sound but clashes with the state of things now (a rebuild already running, a
    /// model switched under a running process, an output folder that is already there).
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the data directory {data_dir} holds vectors of model `{stored}` ({stored_dim}-d), but the configured model is \
         `{configured}` ({configured_dim}-d); configure that model (as [model], or as a [models.NAME] table with its \
         files), switch the directory with `docvec rebuild --model NAME`, or use a new --data-dir"
    )]
    ModelMismatch {
        data_dir: String,
        stored: String,
        stored_dim: usize,
        configured: String,
        configured_dim: usize,
    },
    /// The data directory was written by a newer docvec: its format (the store's schema version) is
    /// past this docvec's. Refused at open, read-write or read-only, with nothing changed.
    #[error(
        "data directory {data_dir} has format {found}; this docvec reads up to format {current}: \
         upgrade docvec (the directory was left as it is)"
    )]
    FormatNewer {
        data_dir: String,
        found: i64,
        current: i64,
    },
    #[error(
        "the data directory {0} is in use by another docvec process that writes to it; wait for it to finish"
    )]
    Busy(String),
    #[error(transparent)]
    Embed(#[from] docvec_embed::EmbedError),
    #[error(transparent)]
    Store(#[from] docvec_store::StoreError),
    #[error(transparent)]
    Index(#[from] docvec_index::IndexError),
    #[error(transparent)]
    FullText(#[from] docvec_fulltext::TextIndexError),
    #[cfg(feature = "mirror")]
    #[error(transparent)]
    Mirror(#[from] docvec_mirror::MirrorError),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A change asked of an engine (or a server) that opened the data directory read-only; the message
    /// says what was refused.
    #[error("read-only: {0}")]
    ReadOnly(String),
    /// A job was asked to stop (server shutdown) and stopped at a safe point.
    #[error("stopped before it finished: docvec is shutting down")]
    Cancelled,
    #[error("internal error: {0}")]
    Internal(String),
}

/// Refuse time bounds that are not ISO 8601 (a user error), naming the bound.
pub(crate) fn check_time_bounds(
    since: Option<&str>,
    until: Option<&str>,
) -> Result<(), EngineError> {
    for (name, bound) in [("since", since), ("until", until)] {
        if let Some(b) = bound {
            docvec_store::check_time_bound(b)
                .map_err(|e| EngineError::InvalidRequest(format!("{name}: {e}")))?;
        }
    }
    Ok(())
}

impl EngineError {
    /// A store error met opening the data directory `dir`, naming the directory where it is about the
    /// directory's format.
    pub fn opening(dir: &Path, e: docvec_store::StoreError) -> Self {
        match e {
            docvec_store::StoreError::SchemaNewer { found, current, .. } => {
                EngineError::FormatNewer {
                    data_dir: dir.display().to_string(),
                    found,
                    current,
                }
            }
            other => other.naming(&crate::DataDir::new(dir).store()).into(),
        }
    }

    /// This error naming `db` (the data directory's database file) when it says that file is damaged.
    pub fn naming_store(self, db: &Path) -> Self {
        match self {
            EngineError::Store(e) => EngineError::Store(e.naming(db)),
            other => other,
        }
    }

    /// Whether this failed for want of disk space: a store write (rolled back whole), an index save
    /// or a full-text commit (the previous state keeps serving). Each can succeed once space is freed.
    pub fn is_disk_full(&self) -> bool {
        match self {
            EngineError::Store(e) => e.is_disk_full(),
            EngineError::Index(e) => matches!(e, docvec_index::IndexError::DiskFull { .. }),
            EngineError::FullText(e) => e.is_disk_full(),
            EngineError::Io { source, .. } => source.kind() == std::io::ErrorKind::StorageFull,
            _ => false,
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
