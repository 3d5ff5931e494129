//! The engine's side of the Supabase mirror: draining the outbox after writes, the remote search that
//! `search/routing.rs` routes to by storage mode, and reporting the remote's state.

#[cfg(not(feature = "mirror"))]
mod absent;
mod config;
#[cfg(feature = "mirror")]
mod parity;
#[cfg(feature = "mirror")]
mod remote;
#[cfg(not(feature = "mirror"))]
pub(crate) use absent::refuse_remote;

use serde::Serialize;

pub use config::{MirrorConfig, StorageMode};
#[cfg(feature = "mirror")]
pub use parity::{BackfillEvent, BackfillOptions, BackfillReport, ParityReport, TableCount};
#[cfg(feature = "mirror")]
pub use remote::MirrorStatus;

use crate::Engine;

/// What a drain of the outbox did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DrainReport {
    pub pushed: u64,
    /// Changes still waiting (the remote failed, or more arrived meanwhile).
    pub pending: i64,
    pub error: Option<String>,
}

impl Engine {
    pub fn storage_mode(&self) -> StorageMode {
        self.config.mirror.mode
    }
}
