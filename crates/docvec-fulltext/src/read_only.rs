//! The directory a read-only [`crate::TextIndex`] opens: tantivy's memory-mapped one, refusing every
//! write, so a bundle or a data directory on read-only media is searched without changing a byte.
//!
//! A tantivy reader takes the meta lock (the file `.tantivy-meta.lock`, created if missing and opened
//! for writing) while it opens segments, so that a writer in another process does not delete them
//! meanwhile. Here the lock is taken when its file exists and opens: a writer has worked here and may
//! still be working. When the file is missing (creating it would be a write; every docvec writer's
//! first commit leaves one) or cannot be opened for writing (a read-only mount, another user's
//! directory), no writer of this process's can be at work there and the reader goes on without it;
//! at worst a writer of another user removes a segment while it opens, and that refresh fails.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};

#[derive(Debug, Clone)]
pub(crate) struct ReadOnlyDirectory {
    root: PathBuf,
    inner: MmapDirectory,
}

impl ReadOnlyDirectory {
    pub(crate) fn open(root: &Path) -> Result<Self, String> {
        Ok(Self {
            root: root.to_path_buf(),
            inner: MmapDirectory::open(root).map_err(|e| e.to_string())?,
        })
    }
}

fn refused() -> Arc<io::Error> {
    Arc::new(io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the full-text index was opened read-only",
    ))
}

impl Directory for ReadOnlyDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        Err(DeleteError::IoError {
            io_error: refused(),
            filepath: path.to_path_buf(),
        })
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        Err(OpenWriteError::IoError {
            io_error: refused(),
            filepath: path.to_path_buf(),
        })
    }

    fn atomic_write(&self, _path: &Path, _data: &[u8]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the full-text index was opened read-only",
        ))
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        if self.root.join(&lock.filepath).exists() {
            match self.inner.acquire_lock(lock) {
                Err(LockError::IoError(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied
                    ) => {}
                taken => return taken,
            }
        }
        Ok(DirectoryLock::from(Box::new(())))
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}
