//! Opening a store for reading only: a bundle, or a data directory on read-only media, searched without
//! writing a byte. Nothing is created, the journal mode is left as it is (a bundle stays in rollback
//! journal mode) and no migration runs: the schema must already be this docvec's.

use std::path::Path;

use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError, schema};

impl Store {
    /// Open the existing database at `path` read-only. Writes through it fail (SQLite refuses them).
    ///
    /// On a read-only file system the database is opened `immutable`: SQLite then takes no locks and
    /// needs no `-shm`/`-wal` file beside it, which it could not create there (so a WAL-mode data
    /// directory copied to such media opens too; a `-wal` left beside it is not read, so copy it after
    /// docvec closed it). Nothing can change a file on a read-only mount, so the promise holds.
    /// Elsewhere the connection is an ordinary read-only one, which sees what a writer in another
    /// process commits: a bundle (rollback journal mode) is then only read and locked, never written;
    /// a WAL-mode store gets SQLite's `-wal`/`-shm` beside it if no writer left them there.
    pub async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let shown = || path.display().to_string();
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(StoreError::NotAStore { path: shown() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing { path: shown() });
            }
            Err(e) => {
                return Err(StoreError::Open {
                    path: shown(),
                    source: sqlx::Error::Io(e),
                });
            }
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let immutable = on_read_only_file_system(dir);
        let pool = crate::connect(path, |o| o.read_only(true).immutable(immutable)).await?;
        if let Err(e) = check_schema(&pool, path).await {
            pool.close().await;
            return Err(e.naming(path));
        }
        Ok(Self {
            pool,
            outbox: Default::default(),
        })
    }
}

/// The migrations applied to the database must be exactly this docvec's: fewer means an older docvec
/// made it (and only a read-write open can upgrade it), unknown ones a newer docvec.
async fn check_schema(pool: &SqlitePool, path: &Path) -> Result<(), StoreError> {
    let shown = || path.display().to_string();
    let migrator = schema::migrator();
    let table = migrator.table_name.to_string();
    if !schema::has_migration_table(pool).await? {
        return Err(StoreError::NotAStore { path: shown() });
    }
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT version, checksum, success FROM {table} ORDER BY version"
    )))
    .fetch_all(pool)
    .await?;
    let mut applied = Vec::with_capacity(rows.len());
    for row in &rows {
        let (version, checksum, success): (i64, Vec<u8>, bool) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        applied.push((version, checksum, success));
    }
    let known: Vec<_> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    let found = applied.iter().map(|a| a.0).max().unwrap_or(0);
    if found > schema::FORMAT_VERSION {
        return Err(schema::newer(path, found));
    }
    for (version, checksum, success) in &applied {
        let same = known
            .iter()
            .any(|m| m.version == *version && *m.checksum == **checksum);
        if !success || !same {
            return Err(StoreError::Corrupt(format!(
                "{}: schema migration {version} {}; open it read-write once with this docvec",
                shown(),
                if *success {
                    "differs from this docvec's"
                } else {
                    "did not finish"
                }
            )));
        }
    }
    if known
        .iter()
        .any(|m| !applied.iter().any(|a| a.0 == m.version))
    {
        return Err(StoreError::SchemaOlder {
            path: shown(),
            found,
            current: schema::FORMAT_VERSION,
        });
    }
    Ok(())
}

/// Whether this process may create and change files in `dir` (`access(2)` with `W_OK`: false on a
/// read-only mount, root included, and where permissions forbid it). For a clear refusal before a
/// read-write open; `false` when `dir` does not exist.
#[cfg(unix)]
pub fn dir_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is a NUL-terminated path; access only reads it.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(not(unix))]
pub fn dir_writable(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
}

/// Whether `dir` is on a file system mounted read-only (statvfs's `ST_RDONLY`). Not `access(W_OK)`: a
/// directory only this user cannot write may still be written by its owner, and an immutable open
/// would then read changing pages without locks.
#[cfg(unix)]
fn on_read_only_file_system(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated path and `stat` a buffer of the right type, which
    // statvfs fills when it returns 0 (and only then is it read).
    let filled = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) } == 0;
    filled && {
        // SAFETY: filled by the successful call above.
        let stat = unsafe { stat.assume_init() };
        stat.f_flag & libc::ST_RDONLY != 0
    }
}

#[cfg(not(unix))]
fn on_read_only_file_system(_dir: &Path) -> bool {
    false
}
