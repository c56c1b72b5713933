//! Fan-out admission: the server's budget of deliveries per second, charged by `shout`s.
//!
//! A `shout` costs one delivery per connected client, so a single client within its own rate
//! limit can ask for more deliveries a second than the server can write: at 19,000 clients,
//! 50 shouts a second are 950,000 frames. The frames that cannot be written pile up in every
//! reader's outbox, and readers that keep reading are cut off as slow consumers for someone
//! else's flood. Admission refuses a shout (`busy`, never submitted to the engine) that would
//! take the deliveries admitted beyond the budget, so the outboxes only hold what the server
//! can write.
//!
//! `say` is not charged. The server does not know a room's size (rooms are the engine's insides),
//! and a say reaches at most `MAX_ROOM_LIMIT - 1` others, so its fan-out is bounded by the
//! sender's rate limit; a shout's grows with the crowd.
//!
//! # The rule
//!
//! A generic cell rate algorithm over deliveries, as `governor` implements it, with one
//! difference. `paid_until` is the time at which the budget will have paid for every delivery
//! admitted so far; a shout to `n` clients costs `n / budget` seconds. It is admitted if, with
//! its cost added, `paid_until` stays within the *tolerance* of now:
//!
//! - never less than the shout's own cost, so an idle server always admits a shout, however
//!   many clients it reaches;
//! - at most an outbox's capacity divided by [`BURST_SHARE_OF_OUTBOX`] shouts at the current
//!   number of clients (each shout is one event in every outbox, so a burst fills at most a
//!   quarter of one);
//! - at most [`BURST_WINDOW`] of the budget.
//!
//! `governor` was the first choice and its clock is no obstacle (a `Clock` over tokio's
//! `Instant` is a dozen lines). Its tolerance is what does not fit: it is fixed when the limiter
//! is built, in cells, and a batch larger than it can never pass (`InsufficientCapacity`). A
//! tolerance in deliveries large enough for one shout at `--max-clients` (19,000) admits 95
//! shouts at once to 200 clients and 380 to 50, more than an outbox of 256 holds. The burst
//! that protects readers is a number of shouts, so its size in deliveries follows the number
//! of clients; here it is computed per shout. Like `rate.rs`, this keeps no clock: the caller
//! passes `now`, so tests need no sleeping.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// At most this share of an outbox may be filled by a burst of admitted shouts (1 / 4: 64
/// shouts with the default outbox of 256), leaving the rest for the client's room events,
/// ticks and the server's lag.
pub(crate) const BURST_SHARE_OF_OUTBOX: usize = 4;

/// A burst is never worth more than this much of the budget, however few clients there are
/// and however large their outboxes.
pub(crate) const BURST_WINDOW: Duration = Duration::from_secs(1);

/// The budget of deliveries per second, shared by every connection's task.
pub(crate) struct Admission {
    /// Deliveries per second; `None`: every shout is admitted.
    budget: Option<NonZeroU32>,
    /// Shouts a burst may hold: `BURST_SHARE_OF_OUTBOX` of an outbox, at least one.
    burst_shouts: u32,
    /// When the budget will have paid for every delivery admitted so far (the algorithm's
    /// theoretical arrival time). A std mutex, not an atomic compare-and-swap loop: it is held
    /// for a comparison and an addition, never across an await, and only shouts take it.
    paid_until: Mutex<Instant>,
}

impl Admission {
    pub(crate) fn new(
        budget: Option<NonZeroU32>,
        outbox_capacity: usize,
        now: Instant,
    ) -> Admission {
        let burst = (outbox_capacity / BURST_SHARE_OF_OUTBOX).max(1);
        Admission {
            budget,
            burst_shouts: u32::try_from(burst).unwrap_or(u32::MAX),
            paid_until: Mutex::new(now),
        }
    }

    /// Whether a shout to `recipients` clients, received at `now`, is within the budget; if it
    /// is, it is charged.
    pub(crate) fn admit(&self, recipients: u64, now: Instant) -> bool {
        let Some(budget) = self.budget else {
            return true;
        };
        let cost = Duration::from_nanos(
            u64::try_from(u128::from(recipients.max(1)) * 1_000_000_000 / u128::from(budget.get()))
                .unwrap_or(u64::MAX),
        );
        let tolerance = cost
            .saturating_mul(self.burst_shouts)
            .min(BURST_WINDOW)
            .max(cost);
        let mut paid_until = self
            .paid_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // An instant past what the clock can hold is a shout no budget pays for.
        let Some(after) = (*paid_until).max(now).checked_add(cost) else {
            return false;
        };
        if after.saturating_duration_since(now) > tolerance {
            return false;
        }
        *paid_until = after;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(budget: u32, outbox: usize, now: Instant) -> Admission {
        Admission::new(NonZeroU32::new(budget), outbox, now)
    }

    #[test]
    fn a_burst_of_a_quarter_outbox_passes_then_one_shout_per_refill() {
        let start = Instant::now();
        // 1,000 deliveries a second to 100 clients: 10 shouts a second, a burst of 32 / 4.
        let gate = admission(1_000, 32, start);
        let admitted = (0..20).filter(|_| gate.admit(100, start)).count();
        assert_eq!(admitted, 8);
        let later = start + Duration::from_millis(99);
        assert!(!gate.admit(100, later), "not paid for yet");
        let later = start + Duration::from_millis(100);
        assert!(gate.admit(100, later), "one shout's worth refilled");
        assert!(!gate.admit(100, later));
    }

    #[test]
    fn the_long_run_rate_is_the_budget() {
        let start = Instant::now();
        let gate = admission(5_000, 256, start);
        let mut deliveries = 0;
        // A shout every millisecond for 10 s, to 50 clients: ten times the budget.
        for ms in 0..10_000 {
            if gate.admit(50, start + Duration::from_millis(ms)) {
                deliveries += 50;
            }
        }
        // Ten seconds of budget plus one burst (a second's worth at most).
        assert!(
            (50_000..=55_000).contains(&deliveries),
            "{deliveries} deliveries"
        );
    }

    #[test]
    fn an_idle_server_admits_a_shout_larger_than_its_budget_then_waits_for_it() {
        let start = Instant::now();
        let gate = admission(1_000, 256, start);
        assert!(gate.admit(3_000, start), "idle: admitted however large");
        // Two seconds in, a shout to one client would leave a second of the first unpaid.
        assert!(!gate.admit(1, start + Duration::from_secs(2)));
        assert!(gate.admit(1, start + Duration::from_secs(3)));
    }

    #[test]
    fn a_burst_is_at_most_one_second_of_budget() {
        let start = Instant::now();
        // 256 / 4 = 64 shouts would be 6,400 deliveries: more than a second of 1,000.
        let gate = admission(1_000, 256, start);
        let admitted = (0..100).filter(|_| gate.admit(100, start)).count();
        assert_eq!(admitted, 10);
    }

    #[test]
    fn without_a_budget_everything_passes() {
        let start = Instant::now();
        let gate = Admission::new(None, 1, start);
        assert!((0..1_000).all(|_| gate.admit(1_000_000, start)));
    }
}
