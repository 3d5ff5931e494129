//! Cutting a call's inputs into model batches. A batch is padded to its longest input, and each model
//! call has a fixed cost, so the cut trades padding against calls: 32 search queries of 6-31
//! wordpieces padded to 31 cost 1.9x their real tokens, while one call per query pays the fixed cost
//! 32 times. With the inputs sorted longest first, every batch is a run of the sorted list, and the
//! cheapest cut (padded tokens plus a fixed cost per call) is a small dynamic programme.

use std::ops::Range;

/// One model call's fixed cost, in padded tokens: measured with all-MiniLM-L6-v2 on ONNX Runtime's CPU
/// provider (2 threads), a 1 x 8 call took 2.8 ms where tokens cost 0.13 ms each in large batches, some
/// 12-14 tokens' worth of overhead; 1 x 16 came to 10.
pub(crate) const CALL_COST_TOKENS: usize = 12;

/// The cheapest cut of `lengths` (token counts, longest first) into consecutive batches: each of at
/// most `max_rows` inputs and `budget` padded tokens (a single input may exceed it alone), minimising
/// the padded tokens of all batches plus [`CALL_COST_TOKENS`] per batch.
pub(crate) fn plan(lengths: &[usize], budget: usize, max_rows: usize) -> Vec<Range<usize>> {
    debug_assert!(lengths.windows(2).all(|w| w[0] >= w[1]), "longest first");
    let n = lengths.len();
    // cost[i]: cheapest cut of the first i inputs; from[i]: where its last batch starts.
    let mut cost = vec![usize::MAX; n + 1];
    let mut from = vec![0; n + 1];
    cost[0] = 0;
    for end in 1..=n {
        let lowest = end.saturating_sub(max_rows.max(1));
        // The batch start..end is padded to lengths[start], its longest.
        for start in (lowest..end).rev() {
            let rows = end - start;
            let padded = rows * lengths[start].max(1);
            if rows > 1 && padded > budget {
                break; // an earlier start only adds rows and length
            }
            let total = cost[start].saturating_add(CALL_COST_TOKENS + padded);
            if total < cost[end] {
                cost[end] = total;
                from[end] = start;
            }
        }
    }
    let mut cuts = Vec::new();
    let mut end = n;
    while end > 0 {
        cuts.push(from[end]..end);
        end = from[end];
    }
    cuts.reverse();
    cuts
}

/// `cuts` with its batches of most rows halved until there are `sessions` batches or none has two rows
/// left: a call of one batch (a burst of queries) then keeps every session busy, not one. A halved
/// batch's second half pads only to its own longest input (the inputs are sorted longest first).
pub(crate) fn spread(mut cuts: Vec<Range<usize>>, sessions: usize) -> Vec<Range<usize>> {
    while cuts.len() < sessions {
        let Some(k) = (0..cuts.len()).max_by_key(|&k| cuts[k].len()) else {
            break;
        };
        let Range { start, end } = cuts[k];
        if end - start < 2 {
            break;
        }
        let mid = start + (end - start) / 2;
        cuts[k] = start..mid;
        cuts.insert(k + 1, mid..end);
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(lengths: &[usize], cuts: &[Range<usize>]) -> usize {
        cuts.iter().map(|r| r.len() * lengths[r.start]).sum()
    }

    #[test]
    fn batches_cover_every_input_once_in_order_within_the_limits() {
        let mut lengths: Vec<usize> = (0..500).map(|i| 1 + (i * 7919) % 256).collect();
        lengths.sort_by(|a, b| b.cmp(a));
        let cuts = plan(&lengths, 1024, 64);
        let mut next = 0;
        for r in &cuts {
            assert_eq!(r.start, next);
            assert!(!r.is_empty() && r.len() <= 64);
            assert!(r.len() == 1 || r.len() * lengths[r.start] <= 1024, "{r:?}");
            next = r.end;
        }
        assert_eq!(next, lengths.len());
    }

    #[test]
    fn queries_of_mixed_lengths_are_split_where_padding_costs_more_than_a_call() {
        // 32 queries of 6-31 tokens, as the Vaswani topics are: one batch pads to 1.9x.
        let mut lengths: Vec<usize> = (0..32).map(|i| 6 + (i * 13) % 26).collect();
        lengths.sort_by(|a, b| b.cmp(a));
        let real: usize = lengths.iter().sum();
        let cuts = plan(&lengths, 1024, 256);
        assert!(cuts.len() > 1, "{cuts:?}");
        let overhead = padded(&lengths, &cuts) + CALL_COST_TOKENS * cuts.len() - real;
        let one_batch = 32 * lengths[0] + CALL_COST_TOKENS - real;
        let each_alone = CALL_COST_TOKENS * 32;
        assert!(
            overhead < one_batch / 2,
            "{overhead} vs one batch {one_batch}"
        );
        assert!(
            overhead < each_alone / 2,
            "{overhead} vs alone {each_alone}"
        );
    }

    #[test]
    fn equal_lengths_fill_the_budget_and_long_inputs_go_alone() {
        assert_eq!(plan(&[16; 100], 1024, 256), [0..64, 64..100]);
        assert_eq!(plan(&[300, 300, 10], 256, 256), [0..1, 1..2, 2..3]);
        assert!(plan(&[], 1024, 256).is_empty());
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // a plan of one batch is meant
    fn one_batch_is_halved_for_idle_sessions_and_single_rows_stay_whole() {
        assert_eq!(spread(vec![0..32], 2), [0..16, 16..32]);
        assert_eq!(spread(vec![0..3], 4), [0..1, 1..2, 2..3]);
        assert_eq!(spread(vec![0..10, 10..12], 3), [0..5, 5..10, 10..12]);
        assert_eq!(spread(vec![0..1], 2), [0..1]);
        assert_eq!(spread(vec![0..4, 4..8], 2), [0..4, 4..8]);
        assert!(spread(Vec::new(), 2).is_empty());
    }
}
