//! Fusing ranked lists: pure functions over N lists of (chunk id, score), best first, each with a
//! weight. Dense vectors miss exact terms (names, error codes, endpoint paths), keywords miss
//! paraphrases; hybrid takes the best candidates of each and fuses them, by reciprocal rank or by a
//! convex sum of normalised scores, min-max or z-score (the default; distribution-based, as Qdrant's DBSF and Elasticsearch's linear
//! retriever offer; Bruch et al., TOIS 2023, found convex combination ahead of RRF in and out of
//! domain).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// How hybrid search merges its lists.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
pub enum Fusion {
    /// Reciprocal rank fusion: each list adds 1 / (k + rank). k = 60 is the usual choice.
    Rrf { k: f32 },
    /// `vector_weight` x vector score + (1 - `vector_weight`) x BM25 score, each min-max normalised
    /// over its candidates.
    #[serde(alias = "minmax")]
    Weighted { vector_weight: f32 },
    /// The same convex sum over z-scores: each list's scores less their mean, over their standard
    /// deviation, so one outlying score does not squash the rest as it does under min-max.
    Zscore { vector_weight: f32 },
}

/// The default: z-score fusion at vector weight 0.6 led every development set (nDCG@10 with BM25 at
/// k1 0.9 b 0.4: Vaswani 0.5235, Cranfield 0.4216, CISI 0.4563, against RRF's 0.5138, 0.4093, 0.4381);
/// see BENCHMARKS.md, "Fusion on the development sets", and `docvec eval --sweep`.
impl Default for Fusion {
    fn default() -> Self {
        Fusion::Zscore { vector_weight: 0.6 }
    }
}

/// Most candidates a request may ask of each list: ten times the most hits a query may return. Each
/// candidate is a heap entry in BM25's collector and an entry in the vector search's candidate list,
/// so without a bound one request could ask for millions.
pub const MAX_CANDIDATES: usize = 10 * super::MAX_K;

/// Hybrid parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HybridOptions {
    pub fusion: Fusion,
    /// Candidates taken from each list before fusing; 0 = max(4k, 50).
    pub candidates: usize,
}

impl HybridOptions {
    /// A weight must be within 0..=1 and RRF's constant positive, or the fused order means nothing;
    /// candidates are at most [`MAX_CANDIDATES`].
    pub(crate) fn check(&self) -> Result<(), crate::EngineError> {
        let bad = |what: String| Err(crate::EngineError::InvalidRequest(what));
        if self.candidates > MAX_CANDIDATES {
            return bad(format!(
                "hybrid candidates must be at most {MAX_CANDIDATES}, got {}",
                self.candidates
            ));
        }
        match self.fusion {
            Fusion::Rrf { k } if !(k.is_finite() && k > 0.0) => {
                bad(format!("rrf's k must be a positive number, got {k}"))
            }
            Fusion::Weighted { vector_weight: w } | Fusion::Zscore { vector_weight: w }
                if !(0.0..=1.0).contains(&w) =>
            {
                bad(format!("vector_weight must be between 0 and 1, got {w}"))
            }
            _ => Ok(()),
        }
    }

    /// Candidates each list gives for a fused top `k`.
    pub(crate) fn candidates_for(&self, k: usize) -> usize {
        match self.candidates {
            0 => (4 * k).max(50),
            c => c.max(k),
        }
    }
}

/// One ranked list and its weight in the fusion.
pub type Weighted<'a> = (&'a [(i64, f32)], f32);

/// The best `k` ids of `lists` fused by `fusion`, best first; ties go to the smaller id, so the order
/// is the same on every run.
pub fn fuse(lists: &[Weighted<'_>], fusion: Fusion, k: usize) -> Vec<(i64, f32)> {
    let mut scores = match fusion {
        Fusion::Rrf { k: c } => reciprocal_rank(lists, c),
        Fusion::Weighted { .. } => convex(lists, min_max),
        Fusion::Zscore { .. } => convex(lists, z_scores),
    };
    let mut out: Vec<(i64, f32)> = scores.drain().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(k);
    out
}

/// Hybrid's two lists: the vector list then the keyword list, weighted as `fusion` says (RRF gives
/// each weight 1, the classic form).
pub(crate) fn fuse_pair(
    vector: &[(i64, f32)],
    keyword: &[(i64, f32)],
    fusion: Fusion,
    k: usize,
) -> Vec<(i64, f32)> {
    let (v, w) = match fusion {
        Fusion::Rrf { .. } => (1.0, 1.0),
        Fusion::Weighted { vector_weight } | Fusion::Zscore { vector_weight } => {
            (vector_weight, 1.0 - vector_weight)
        }
    };
    fuse(&[(vector, v), (keyword, w)], fusion, k)
}

/// Each list adds weight / (c + rank), rank from 1; with weights of 1, the classic RRF.
fn reciprocal_rank(lists: &[Weighted<'_>], c: f32) -> HashMap<i64, f32> {
    let mut scores: HashMap<i64, f32> = HashMap::new();
    for (list, weight) in lists {
        for (rank, (id, _)) in list.iter().enumerate() {
            *scores.entry(*id).or_default() += weight / (c + rank as f32 + 1.0);
        }
    }
    scores
}

/// Each list adds weight x its scores as `normalise` scales them; an id a list does not hold counts
/// as that list's lowest normalised score (it ranked below every candidate the list gave).
fn convex(lists: &[Weighted<'_>], normalise: fn(&[(i64, f32)]) -> Vec<f32>) -> HashMap<i64, f32> {
    let normalised: Vec<Vec<f32>> = lists.iter().map(|(list, _)| normalise(list)).collect();
    let floor = |n: &[f32]| {
        let m = n.iter().copied().fold(f32::INFINITY, f32::min);
        if m.is_finite() { m } else { 0.0 }
    };
    // Every id starts at each list's floor, then gains what its own lists score above their floors:
    // one pass over each list, no per-list lookup table.
    let base: f32 = lists
        .iter()
        .zip(&normalised)
        .map(|((_, weight), n)| weight * floor(n))
        .sum();
    let mut scores: HashMap<i64, f32> = HashMap::new();
    for ((list, weight), n) in lists.iter().zip(&normalised) {
        let f = floor(n);
        for ((id, _), s) in list.iter().zip(n) {
            *scores.entry(*id).or_insert(base) += weight * (s - f);
        }
    }
    scores
}

/// Scores scaled to 0..1 over the list's own candidates.
fn min_max(list: &[(i64, f32)]) -> Vec<f32> {
    let max = list.iter().map(|x| x.1).fold(f32::MIN, f32::max);
    let min = list.iter().map(|x| x.1).fold(f32::MAX, f32::min);
    let span = (max - min).max(f32::EPSILON);
    list.iter().map(|(_, s)| (s - min) / span).collect()
}

/// Scores less their mean, over their standard deviation (0 for a list of equal scores).
fn z_scores(list: &[(i64, f32)]) -> Vec<f32> {
    let n = list.len().max(1) as f32;
    let mean = list.iter().map(|x| x.1).sum::<f32>() / n;
    let var = list.iter().map(|x| (x.1 - mean).powi(2)).sum::<f32>() / n;
    let sd = var.sqrt().max(f32::EPSILON);
    list.iter().map(|(_, s)| (s - mean) / sd).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const VECTOR: [(i64, f32); 3] = [(1, 0.9), (2, 0.8), (3, 0.7)];
    const KEYWORD: [(i64, f32); 3] = [(3, 12.0), (4, 9.0), (1, 1.0)];

    #[test]
    fn rrf_rewards_agreement_and_weighted_follows_its_weight() {
        let rrf = fuse_pair(&VECTOR, &KEYWORD, Fusion::Rrf { k: 60.0 }, 4);
        // 1 and 3 are in both lists and beat the rest; 1 ranks first in one and last in the other, as 3.
        let top: HashSet<i64> = rrf[..2].iter().map(|x| x.0).collect();
        assert_eq!(top, [1, 3].into_iter().collect());
        assert_eq!(rrf.len(), 4);
        let dense_only = fuse_pair(
            &VECTOR,
            &KEYWORD,
            Fusion::Weighted { vector_weight: 1.0 },
            1,
        );
        assert_eq!(dense_only[0].0, 1);
        let sparse_only = fuse_pair(
            &VECTOR,
            &KEYWORD,
            Fusion::Weighted { vector_weight: 0.0 },
            1,
        );
        assert_eq!(sparse_only[0].0, 3);
    }

    #[test]
    fn z_scores_follow_their_weight_and_an_absent_id_counts_as_the_lists_lowest() {
        for fusion in [
            Fusion::Zscore { vector_weight: 1.0 },
            Fusion::Weighted { vector_weight: 1.0 },
        ] {
            let fused = fuse_pair(&VECTOR, &KEYWORD, fusion, 4);
            let ids: Vec<i64> = fused.iter().map(|x| x.0).collect();
            // Keyword weight 0: the vector list's order, then 4, which the vector list lacks, level
            // with 3, its lowest (ties go to the smaller id).
            assert_eq!(ids, [1, 2, 3, 4], "{fusion:?}");
        }
        // z-scores at equal weights: vector 1.22, 0, -1.22 for 1, 2, 3; keyword 1.73, -0.53, -0.59,
        // -0.62 for 3, 4, 1, 5. So 1 = 0.32, 3 = 0.25, 2 = -0.31 (absent: keyword floor), 4 = -0.88,
        // 5 = -0.92.
        let keyword = [(3, 40.0), (4, 2.0), (1, 1.0), (5, 0.5)];
        let z = fuse_pair(&VECTOR, &keyword, Fusion::Zscore { vector_weight: 0.5 }, 5);
        let ids: Vec<i64> = z.iter().map(|x| x.0).collect();
        assert_eq!(ids, [1, 3, 2, 4, 5], "{z:?}");
        assert!((z[0].1 - 0.319).abs() < 0.01, "{z:?}");
    }

    #[test]
    fn candidates_are_bounded() {
        let at = HybridOptions {
            candidates: MAX_CANDIDATES,
            ..Default::default()
        };
        assert!(at.check().is_ok());
        let over = HybridOptions {
            candidates: MAX_CANDIDATES + 1,
            ..at
        };
        let err = over.check().unwrap_err().to_string();
        assert!(err.contains("at most 10000, got 10001"), "{err}");
    }

    #[test]
    fn any_number_of_lists_fuse_and_ties_break_by_id() {
        let third = [(4, 0.3), (2, 0.2)];
        let fused = fuse(
            &[(&VECTOR, 1.0), (&KEYWORD, 1.0), (&third, 1.0)],
            Fusion::Rrf { k: 60.0 },
            10,
        );
        let ids: Vec<i64> = fused.iter().map(|x| x.0).collect();
        // 1 and 3 are in two lists at ranks (1, 3) and (3, 1): a tie, broken by id; 4 is in two lists at
        // ranks 2 and 1, ahead of both.
        assert_eq!(ids, [4, 1, 3, 2]);
        // A list of weight 0 changes nothing.
        let without = fuse(
            &[(&VECTOR, 1.0), (&KEYWORD, 1.0), (&third, 0.0)],
            Fusion::Rrf { k: 60.0 },
            10,
        );
        assert_eq!(
            without,
            fuse_pair(&VECTOR, &KEYWORD, Fusion::Rrf { k: 60.0 }, 10)
        );
    }
}
