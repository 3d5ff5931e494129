//! The measures `docvec eval` reports, as pure functions of a ranking's relevance grades: nDCG@k,
//! recall, reciprocal rank, and latency percentiles.

use std::collections::HashMap;

/// nDCG at `k` of a ranking whose documents have the grades `gains` (0 for unjudged), against the
/// ideal ordering of the query's judgements `rels`.
pub(crate) fn ndcg_at(gains: &[f64], rels: &HashMap<String, f64>, k: usize) -> f64 {
    let dcg = discounted(gains.iter().copied().take(k));
    let mut ideal: Vec<f64> = rels.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg = discounted(ideal.into_iter().take(k));
    if idcg == 0.0 { 0.0 } else { dcg / idcg }
}

/// Sum of grades discounted by log2 of rank + 1 (rank counted from 1).
fn discounted(grades: impl Iterator<Item = f64>) -> f64 {
    grades
        .enumerate()
        .map(|(i, r)| r / ((i + 2) as f64).log2())
        .sum()
}

/// Share of the query's `judged` relevant documents that the ranking's `gains` hold.
pub(crate) fn recall(gains: &[f64], judged: usize) -> f64 {
    gains.iter().filter(|g| **g > 0.0).count() as f64 / judged as f64
}

/// 1 / the rank of the first relevant document within the first `k`, or 0 when there is none.
pub(crate) fn reciprocal_rank_at(gains: &[f64], k: usize) -> f64 {
    gains
        .iter()
        .take(k)
        .position(|g| *g > 0.0)
        .map_or(0.0, |p| 1.0 / (p + 1) as f64)
}

/// The `p` quantile (0..=1) of ascending `sorted` values, by the nearest rank; 0 when there are none.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rels() -> HashMap<String, f64> {
        [("a".to_string(), 2.0), ("b".to_string(), 1.0)].into()
    }

    #[test]
    fn ndcg_is_one_for_the_ideal_ranking_and_less_for_a_worse_one() {
        assert!((ndcg_at(&[2.0, 1.0], &rels(), 10) - 1.0).abs() < 1e-9);
        assert!(ndcg_at(&[1.0, 0.0, 2.0], &rels(), 10) < 0.9);
        // Beyond k nothing counts.
        assert_eq!(ndcg_at(&[0.0, 2.0, 1.0], &rels(), 1), 0.0);
        assert_eq!(ndcg_at(&[1.0], &HashMap::new(), 10), 0.0);
    }

    #[test]
    fn recall_and_reciprocal_rank_count_relevant_documents() {
        assert_eq!(recall(&[0.0, 2.0, 0.0], 2), 0.5);
        assert_eq!(recall(&[1.0, 2.0], 2), 1.0);
        assert_eq!(reciprocal_rank_at(&[0.0, 0.0, 1.0], 10), 1.0 / 3.0);
        assert_eq!(reciprocal_rank_at(&[0.0, 0.0, 1.0], 2), 0.0);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 0.5), 51.0);
        assert_eq!(percentile(&sorted, 0.99), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
