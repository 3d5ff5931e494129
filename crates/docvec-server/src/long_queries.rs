//! Scheduling by cost: a search's cost is the model run on its query, which grows with the query's
//! wordpieces (some 10 for a topic title, 256 for a page of prose, at 20-40x the time). First come,
//! first served over the search permits lets a few clients sending long queries take most of the
//! model's time from everyone else. So queries past `[server] long_query_tokens` run one at a time,
//! and while other searches are in flight, each waits until the previous long one has been paid for:
//! a long query that ran `t` holds the next one back for `t * (1/share - 1)`, which keeps long queries
//! to `share` of one permit's time. A server with nothing else to do runs them at once.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
// Tokio's clock, which tests can pause and move on.
use tokio::time::Instant;

/// The lane long queries go through.
pub(crate) struct LongQueries {
    /// Queries of more wordpieces than this are long (0: none is).
    threshold: usize,
    /// Share of one search permit's time long queries get while others wait (1.0: no pacing).
    share: f64,
    lane: Arc<Semaphore>,
    /// Before this, a long query waits if other searches are running.
    paid_until: Mutex<Instant>,
}

/// A long query's turn: the lane is held until [`Turn::finish`] (or drop).
pub(crate) struct Turn {
    _permit: OwnedSemaphorePermit,
    /// How long it waited for its turn, for the metrics.
    pub waited: Duration,
}

impl LongQueries {
    pub(crate) fn new(threshold: usize, share: f64) -> Self {
        Self {
            threshold,
            share: share.clamp(f64::MIN_POSITIVE, 1.0),
            lane: Arc::new(Semaphore::new(1)),
            paid_until: Mutex::new(Instant::now()),
        }
    }

    /// Whether a query of `tokens` wordpieces goes through the lane.
    pub(crate) fn is_long(&self, tokens: usize) -> bool {
        self.threshold > 0 && tokens > self.threshold
    }

    /// Wait for a long query's turn; `busy` says whether other searches are in flight now.
    pub(crate) async fn turn(&self, busy: impl Fn() -> bool) -> Option<Turn> {
        let asked = Instant::now();
        let permit = self.lane.clone().acquire_owned().await.ok()?;
        let paid_until = *self
            .paid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Pacing, not synchronisation: the wait is the price of the previous long query, and it is
        // not paid when nobody else wants the model.
        if paid_until > Instant::now() && busy() {
            tokio::time::sleep_until(paid_until).await;
        }
        Some(Turn {
            _permit: permit,
            waited: asked.elapsed(),
        })
    }

    /// A long query ran for `ran`: the next one waits for the rest of its price.
    pub(crate) fn finish(&self, turn: Turn, ran: Duration) {
        let price = ran.mul_f64(1.0 / self.share - 1.0);
        *self
            .paid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now() + price;
        drop(turn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queries_past_the_threshold_are_long() {
        let lane = LongQueries::new(64, 0.1);
        assert!(!lane.is_long(64));
        assert!(lane.is_long(65));
        assert!(!LongQueries::new(0, 0.1).is_long(10_000), "0 turns it off");
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_query_waits_for_the_last_ones_price_only_while_others_search() {
        let lane = LongQueries::new(8, 0.25);
        let first = lane.turn(|| true).await.unwrap();
        assert_eq!(first.waited, Duration::ZERO, "nothing to pay yet");
        lane.finish(first, Duration::from_millis(100));
        // At a quarter of the time, 100 ms of work costs the next one 300 ms of waiting.
        let second = lane.turn(|| true).await.unwrap();
        assert_eq!(second.waited, Duration::from_millis(300));
        lane.finish(second, Duration::from_millis(100));
        // With nobody else searching there is nothing to protect: no wait.
        let third = lane.turn(|| false).await.unwrap();
        assert_eq!(third.waited, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn long_queries_run_one_at_a_time() {
        let lane = Arc::new(LongQueries::new(8, 1.0));
        let held = lane.turn(|| true).await.unwrap();
        let other = {
            let lane = lane.clone();
            tokio::spawn(async move { lane.turn(|| true).await.map(|t| t.waited) })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!other.is_finished(), "the lane is held");
        lane.finish(held, Duration::from_millis(10));
        assert_eq!(other.await.unwrap(), Some(Duration::from_millis(50)));
    }
}
