//! The Postgres side of the mirror (the `mirror` feature): the connection, the outbox drain, remote
//! search and the remote's status.

use std::time::Duration;

use serde::Serialize;

use docvec_mirror::{Mirror, Probe, RemoteFilter};
use docvec_store::{Backlog, ChunkFilter, OutboxOp};
use docvec_types::SearchHit;

use super::{DrainReport, StorageMode};
use crate::{Engine, EngineError};

/// Outbox entries replayed per round trip to the local store.
const DRAIN_BATCH: i64 = 100;

/// The mirror as `docvec status` and `/config` report it.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorStatus {
    pub mode: StorageMode,
    /// The connection string with its password hidden.
    pub url: Option<String>,
    pub transaction_pooler: bool,
    pub supabase_url: Option<String>,
    pub supabase_service_key_set: bool,
    pub remote: Option<Probe>,
    pub outbox: Backlog,
    pub warnings: Vec<String>,
}

impl Engine {
    pub(crate) fn mirror(&self) -> Result<&Mirror, EngineError> {
        self.mirror.as_ref().ok_or_else(|| {
            EngineError::Config(
                "no Postgres configured: set DATABASE_URL or SUPABASE_DB_URL (or mirror.url in docvec.toml)"
                    .into(),
            )
        })
    }

    /// Fails unless a Postgres connection is configured.
    pub(crate) fn require_mirror(&self) -> Result<(), EngineError> {
        self.mirror().map(|_| ())
    }

    /// Create or update the remote schema for this engine's model (`docvec migrate`).
    pub async fn migrate_remote(&self) -> Result<i64, EngineError> {
        Ok(self
            .mirror()?
            .migrate(self.embedder().model_id(), self.embedder().dimension())
            .await?)
    }

    /// Replay the outbox to Postgres in order, stopping at the first failure (later changes wait behind
    /// it, so the remote never applies them out of order). Each replay sends the document's current
    /// local state, so replaying twice is harmless.
    pub async fn drain_outbox(&self) -> Result<DrainReport, EngineError> {
        // Each item sent is marked done in the store.
        self.require_write("sending the outbox to Postgres")?;
        let mirror = self.mirror()?;
        let mut report = DrainReport::default();
        let ready = async {
            // A model switch re-queued every document for a remote that may still hold the old model.
            self.finish_mirror_switch().await?;
            self.migrate_remote().await
        };
        if let Err(e) = ready.await {
            report.error = Some(e.to_string());
            report.pending = self.store.outbox_backlog().await?.pending;
            return Ok(report);
        }
        'drain: loop {
            let items = self.store.outbox_pending(DRAIN_BATCH).await?;
            if items.is_empty() {
                break;
            }
            for item in items {
                let result = match item.op {
                    OutboxOp::Put => match self.store.export_document(&item.document_id).await? {
                        Some(doc) => mirror.put_document(&doc).await,
                        // Deleted locally since: the delete entry behind this one says so too.
                        None => mirror.delete_document(&item.document_id).await,
                    },
                    OutboxOp::Delete => mirror.delete_document(&item.document_id).await,
                };
                match result {
                    Ok(()) => {
                        self.store.outbox_done(item.seq).await?;
                        report.pushed += 1;
                    }
                    Err(e) => {
                        self.store.outbox_failed(item.seq, &e.to_string()).await?;
                        tracing::warn!("mirror: {e}; the change stays in the outbox");
                        report.error = Some(e.to_string());
                        break 'drain;
                    }
                }
            }
        }
        report.pending = self.store.outbox_backlog().await?.pending;
        Ok(report)
    }

    /// Vector search in Postgres, for the modes that read the remote.
    pub(crate) async fn search_remote(
        &self,
        vector: &crate::QueryVector,
        k: usize,
        filter: &ChunkFilter,
    ) -> Result<Vec<SearchHit>, EngineError> {
        let remote_filter = RemoteFilter {
            tags: filter.tags.clone(),
            formats: filter.formats.clone(),
            document: filter.document.clone(),
            path_prefix: filter.path_prefix.clone(),
            meta: (!filter.meta.is_empty()).then(|| docvec_types::meta_filter_json(&filter.meta)),
        };
        let ef = self.config.hnsw.ef_search.max(k);
        Ok(self
            .mirror()?
            .search(&vector.values, k, ef, &remote_filter)
            .await?)
    }

    /// The mirror's configuration, a live probe of Postgres (bounded by `timeout`) and the outbox.
    pub async fn mirror_status(&self, timeout: Duration) -> Result<MirrorStatus, EngineError> {
        let cfg = &self.config.mirror;
        let remote = match &self.mirror {
            Some(m) => Some(m.probe(timeout).await),
            None => None,
        };
        let mut warnings = Vec::new();
        if cfg.mode.mirrors() && remote.as_ref().is_some_and(|p| !p.reachable) {
            warnings.push(format!(
                "Postgres is unreachable: {} writes wait in the outbox",
                if cfg.mode == StorageMode::Supabase {
                    "ingests fail and"
                } else {
                    "searches use the local index and"
                }
            ));
        }
        if let Some(p) = remote.as_ref().filter(|p| p.reachable) {
            if p.schema_version
                .is_none_or(|v| v < docvec_mirror::SCHEMA_VERSION)
            {
                warnings.push("the remote schema is missing or old: run `docvec migrate`".into());
            }
            if p.model_id
                .as_deref()
                .is_some_and(|m| m != self.embedder().model_id())
            {
                warnings.push(format!(
                    "the remote holds vectors of `{}`, this docvec embeds with `{}`",
                    p.model_id.as_deref().unwrap_or_default(),
                    self.embedder().model_id()
                ));
            }
        }
        Ok(MirrorStatus {
            mode: cfg.mode,
            url: cfg.url.as_deref().map(docvec_mirror::redact),
            transaction_pooler: self.mirror.as_ref().is_some_and(|m| m.pooled),
            supabase_url: cfg.supabase_url.clone(),
            supabase_service_key_set: cfg.supabase_service_key.is_some(),
            remote,
            outbox: self.store.outbox_backlog().await?,
            warnings,
        })
    }
}
