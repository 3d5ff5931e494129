//! Counting the model's work as it runs, for `/metrics` and ingest reports: lock-free, since every
//! query and ingest batch adds to it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::TokenCounts;

#[derive(Debug, Default)]
pub(crate) struct Tally {
    real: AtomicU64,
    padded: AtomicU64,
    calls: AtomicU64,
}

impl Tally {
    /// One model call over inputs of `lengths` tokens, padded to the longest.
    pub(crate) fn add_call(&self, lengths: impl Iterator<Item = usize>) {
        let (mut rows, mut real, mut longest) = (0u64, 0u64, 0u64);
        for n in lengths {
            rows += 1;
            real += n as u64;
            longest = longest.max(n as u64);
        }
        self.real.fetch_add(real, Ordering::Relaxed);
        self.padded.fetch_add(rows * longest, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> TokenCounts {
        TokenCounts {
            real: self.real.load(Ordering::Relaxed),
            padded: self.padded.load(Ordering::Relaxed),
            calls: self.calls.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_counts_its_real_and_padded_tokens() {
        let t = Tally::default();
        t.add_call([10, 4, 6].into_iter());
        t.add_call([3].into_iter());
        let c = t.counts();
        assert_eq!(
            c,
            TokenCounts {
                real: 23,
                padded: 33,
                calls: 2
            }
        );
        assert!((c.padding_ratio() - 33.0 / 23.0).abs() < 1e-12);
        let later = TokenCounts {
            real: 30,
            padded: 40,
            calls: 3,
        };
        assert_eq!(
            later.since(c),
            TokenCounts {
                real: 7,
                padded: 7,
                calls: 1
            }
        );
    }
}
