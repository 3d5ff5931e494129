//! `docvec check`: whether a data directory is consistent, as it must be after any crash. The store
//! holds only whole documents (each chunk with its vector), and once the automatic catch-up has run
//! both indexes hold exactly the store's chunks: none missing, none that the store does not have.

use std::collections::HashSet;

use serde::Serialize;

use docvec_store::StoreCheck;

use crate::sync::{blocking, net_effect, poisoned, unless_disk_full};
use crate::{Engine, EngineError};

/// Ids listed as examples when an index and the store disagree.
const EXAMPLES: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub consistent: bool,
    pub store: StoreCheck,
    pub vector_index: IndexCheck,
    pub text_index: IndexCheck,
    /// For a bundle (`docvec export`): whether it still holds what its manifest says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<crate::bundle::BundleCheck>,
    /// Why the indexes could not catch up (a full disk), when they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
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
    /// Log entries not applied yet because the disk is full (the store holds them; the next catch-up
    /// with space applies them): their chunks count as neither missing nor extra.
    #[serde(skip_serializing_if = "is_zero")]
    pub pending: usize,
    /// Why the index's files are damaged, when they are (the vector index's re-ranking vectors are
    /// summed here, not at open).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damaged: Option<String>,
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
    /// (as every start does). Reads only, apart from that catch-up.
    pub async fn check(&self) -> Result<CheckReport, EngineError> {
        // A full disk can keep the full-text index behind the log; the check still runs and says so.
        let warning = unless_disk_full(self.catch_up().await, "the indexes' catch-up")?;
        let store = self.store.check().await?;
        let stored = self.store.chunk_ids().await?;
        let index = self.index.clone();
        let text = self.text_index();
        let (vectors, damaged, texts) = blocking(move || {
            let index = index.read().map_err(poisoned)?;
            let damaged = index.verify().err().map(|e| e.to_string());
            let mut vectors: Vec<i64> = index.ids().collect();
            vectors.sort_unstable();
            let texts = text.ids().map_err(EngineError::from)?;
            Ok((vectors, damaged, texts))
        })
        .await?;
        let vector_index = IndexCheck {
            damaged,
            ..IndexCheck::compare(&stored, &vectors)
        };
        let text_index = self.compare_text(&stored, texts).await?;
        let bundle = self.check_bundle().await?;
        Ok(CheckReport {
            consistent: store.is_consistent()
                && vector_index.agrees()
                && text_index.agrees()
                && bundle.as_ref().is_none_or(|b| b.problems.is_empty()),
            store,
            vector_index,
            text_index,
            bundle,
            warning,
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
