//! `docvec check`: whether a data directory is consistent, as it must be after any crash. The store
//! holds only whole documents (each chunk with its vector), and once the automatic catch-up has run
//! both indexes hold exactly the store's chunks: none missing, none that the store does not have.

use std::collections::HashSet;

use serde::Serialize;

use docvec_store::StoreCheck;

use crate::model_sha::vectors_sha256;
use crate::sync::{blocking, net_effect, poisoned, unless_disk_full};
use crate::{Engine, EngineError};

/// `store_meta` key of the sha256 of the model file a model's stored vectors were made with.
fn model_key(model_id: &str) -> String {
    format!("model_sha256:{model_id}")
}

/// Ids listed as examples when an index and the store disagree.
const EXAMPLES: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub consistent: bool,
    /// The database file checked.
    pub database: std::path::PathBuf,
    pub store: StoreCheck,
    pub vector_index: IndexCheck,
    pub text_index: IndexCheck,
    /// Why the indexes could not catch up (a full disk), when they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Damaged derived indexes this check rebuilt from the store, each with what was wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rebuilt: Vec<String>,
    /// The model file differs from the one the stored vectors were made with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// For a bundle (`docvec export`): whether it still holds what its manifest says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<crate::bundle::BundleCheck>,
}

/// How one index compares with the store's chunks.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IndexCheck {
    pub entries: usize,
    /// Stored chunks the index lacks.
    pub missing: usize,
    /// Index entries for chunks the store does not have.
    pub extra: usize,
    /// A few of the ids behind `missing` and `extra`.
    pub examples: Vec<i64>,
    /// Why the index's files are damaged, when they are (the vector index's re-ranking vectors are
    /// summed here, not at open).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damaged: Option<String>,
    /// Log entries not applied yet because the disk is full (the store holds them; the next catch-up
    /// with space applies them): their chunks count as neither missing nor extra.
    #[serde(skip_serializing_if = "is_zero")]
    pub pending: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl IndexCheck {
    /// Compare two ascending id lists.
    fn compare(stored: &[i64], indexed: &[i64]) -> Self {
        let (mut i, mut j) = (0, 0);
        let mut check = IndexCheck {
            entries: indexed.len(),
            ..Default::default()
        };
        let note = |check: &mut IndexCheck, id: i64| {
            if check.examples.len() < EXAMPLES {
                check.examples.push(id);
            }
        };
        while i < stored.len() || j < indexed.len() {
            match (stored.get(i), indexed.get(j)) {
                (Some(a), Some(b)) if a == b => {
                    i += 1;
                    j += 1;
                }
                (Some(&a), b) if b.is_none_or(|&b| a < b) => {
                    check.missing += 1;
                    note(&mut check, a);
                    i += 1;
                }
                (_, Some(&b)) => {
                    check.extra += 1;
                    note(&mut check, b);
                    j += 1;
                }
                (_, None) => unreachable!("the loop runs while one list has ids left"),
            }
        }
        check
    }

    pub fn agrees(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.damaged.is_none()
    }
}

impl Engine {
    /// Check the store and compare both indexes with it, after catching them up with the store's log
    /// (as every start does). Reads only, apart from that catch-up, except that derived indexes found
    /// damaged are rebuilt from a sound store when the engine may write (and `rebuilt` says so); a
    /// damaged store is only reported: repairing it would mean dropping rows.
    pub async fn check(&self) -> Result<CheckReport, EngineError> {
        // A full disk can keep the full-text index behind the log; the check still runs and says so.
        let warning = unless_disk_full(self.catch_up().await, "the indexes' catch-up")?;
        let mut report = self.compare().await?;
        report.warning = warning;
        report.rebuilt = self.damaged_at_open.clone();
        let damaged: Vec<String> = [&report.vector_index, &report.text_index]
            .iter()
            .filter_map(|i| i.damaged.clone())
            .collect();
        if !damaged.is_empty()
            && self.access == crate::Access::ReadWrite
            && report.store.is_consistent()
        {
            for why in &damaged {
                tracing::warn!("{why}; rebuilding the indexes from the store");
            }
            let never = std::sync::atomic::AtomicBool::new(false);
            self.rebuild_index(&crate::RebuildOptions::default(), &|_| {}, &never)
                .await?;
            let at_open = std::mem::take(&mut report.rebuilt);
            let warning = report.warning.take();
            report = self.compare().await?;
            report.warning = warning;
            report.rebuilt = at_open.into_iter().chain(damaged).collect();
        }
        report.model = self.check_model().await?;
        report.consistent &= report.model.is_none();
        Ok(report)
    }

    /// Whether the model file is the one the stored vectors were made with: a damaged or replaced file
    /// loads and embeds without a word, into vectors that match nothing stored.
    async fn check_model(&self) -> Result<Option<String>, EngineError> {
        let key = model_key(&self.model_id());
        let Some(want) = self.store.get_meta(&key).await? else {
            // A directory from before the sha256 was recorded: record it now, where that is allowed.
            if self.access == crate::Access::ReadWrite {
                self.record_model(true).await?;
            }
            return Ok(None);
        };
        let path = self.model_path();
        let p = path.clone();
        let got = blocking(move || Ok(vectors_sha256(&p))).await?;
        Ok(match got {
            Some(got) if got == want => None,
            Some(got) => Some(format!(
                "the model file {} has sha256 {got}, but this directory's vectors were made with a \
                 file of sha256 {want}: it is damaged or was replaced; restore it (python3 \
                 tools/setup_models.py checks and restores the default model), or run `docvec rebuild \
                 --reembed` if the change is meant",
                path.display()
            )),
            None => Some(format!("the model file {} cannot be read", path.display())),
        })
    }

    /// Record the sha256 of the model file in use, once per model (`replace`: again, after vectors were
    /// made anew with it).
    pub(crate) async fn record_model(&self, replace: bool) -> Result<(), EngineError> {
        let key = model_key(&self.model_id());
        if !replace && self.store.get_meta(&key).await?.is_some() {
            return Ok(());
        }
        let path = self.model_path();
        if let Some(sha) = blocking(move || Ok(vectors_sha256(&path))).await? {
            self.store.set_meta(&key, &sha).await?;
        }
        Ok(())
    }

    /// The store, both indexes and the bundle manifest, compared.
    async fn compare(&self) -> Result<CheckReport, EngineError> {
        let store = self.store.check().await?;
        if !store.integrity_errors.is_empty() {
            // Nothing to compare the indexes with: what the damaged file yields is not the truth.
            return Ok(CheckReport {
                consistent: false,
                database: self.layout().store(),
                store,
                vector_index: IndexCheck::default(),
                text_index: IndexCheck::default(),
                bundle: None,
                warning: None,
                rebuilt: Vec::new(),
                model: None,
            });
        }
        let stored = self.store.chunk_ids().await?;
        let index = self.index.clone();
        let text = self.text_index();
        let (vectors, damaged, texts) = blocking(move || {
            let index = index.read().map_err(poisoned)?;
            let damaged = index.verify().err().map(|e| e.to_string());
            let mut vectors: Vec<i64> = index.ids().collect();
            vectors.sort_unstable();
            let texts = text.verify().and_then(|()| text.ids());
            Ok((vectors, damaged, texts))
        })
        .await?;
        let vector_index = IndexCheck {
            damaged,
            ..IndexCheck::compare(&stored, &vectors)
        };
        let text_index = match texts {
            Ok(texts) => self.compare_text(&stored, texts).await?,
            Err(e) => IndexCheck {
                damaged: Some(e.to_string()),
                ..Default::default()
            },
        };
        let bundle = self.check_bundle().await?;
        Ok(CheckReport {
            consistent: store.is_consistent()
                && vector_index.agrees()
                && text_index.agrees()
                && bundle.as_ref().is_none_or(|b| b.problems.is_empty()),
            database: self.layout().store(),
            store,
            vector_index,
            text_index,
            bundle,
            warning: None,
            rebuilt: Vec::new(),
            model: None,
        })
    }

    /// Compare the full-text index with the store, leaving out the chunks of log entries it has not
    /// applied (only a catch-up that found the disk full leaves any).
    async fn compare_text(
        &self,
        stored: &[i64],
        texts: Vec<i64>,
    ) -> Result<IndexCheck, EngineError> {
        let from = self.text_index().applied_seq();
        let entries = self.store.log_after(from, i64::MAX).await?;
        if entries.is_empty() {
            return Ok(IndexCheck::compare(stored, &texts));
        }
        let (adds, deletes) = net_effect(&entries);
        let (adds, deletes): (HashSet<i64>, HashSet<i64>) =
            (adds.into_iter().collect(), deletes.into_iter().collect());
        let stored: Vec<i64> = stored
            .iter()
            .copied()
            .filter(|id| !adds.contains(id))
            .collect();
        let texts: Vec<i64> = texts
            .into_iter()
            .filter(|id| !deletes.contains(id))
            .collect();
        Ok(IndexCheck {
            pending: entries.len(),
            ..IndexCheck::compare(&stored, &texts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::IndexCheck;

    #[test]
    fn compare_counts_missing_and_extra_ids() {
        let c = IndexCheck::compare(&[1, 2, 3, 5, 8], &[2, 3, 4, 8, 9]);
        assert_eq!((c.entries, c.missing, c.extra), (5, 2, 2));
        assert_eq!(c.examples, vec![1, 4, 5, 9]);
        assert!(IndexCheck::compare(&[1, 2], &[1, 2]).agrees());
        let empty = IndexCheck::compare(&[], &[7]);
        assert_eq!((empty.missing, empty.extra), (0, 1));
    }
}
