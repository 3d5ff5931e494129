//! A consistent copy of the database while writers go on: SQLite's `VACUUM INTO` reads one snapshot
//! (a read transaction) and writes it as a new, compact file. For `docvec export`.

use std::path::Path;

use crate::{Store, StoreError};

impl Store {
    /// Copy the whole database as of one moment into `target`, a file that must not exist yet. The
    /// copy is in rollback journal mode, so it needs no WAL beside it, and carries the log position it
    /// was taken at.
    pub async fn snapshot_into(&self, target: &Path) -> Result<(), StoreError> {
        sqlx::query("VACUUM INTO ?")
            .bind(target.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
