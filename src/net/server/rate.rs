//! The per-client rate limit: a token bucket that holds one second's worth of messages.

use tokio::time::Instant;

/// What the limit says about one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    /// Dropped; the first drop of a run, so the client is told.
    DropAndWarn,
    /// Dropped, and the client was told already.
    Drop,
    /// The client kept going over the limit for a second's worth of messages: close it.
    Close,
}

/// A token bucket refilled at `per_second`, holding at most `per_second` tokens, plus a count
/// of messages dropped in a row. A crate such as `governor` does the bucket too; this one is a
/// dozen lines, keeps no clock of its own (the caller passes `now`, so tests need no sleeping)
/// and adds the one thing the protocol needs on top: when to give up on a client.
pub(crate) struct RateLimit {
    per_second: f64,
    tokens: f64,
    refilled_at: Instant,
    dropped_in_a_row: u32,
}

impl RateLimit {
    pub(crate) fn new(per_second: u32, now: Instant) -> RateLimit {
        let per_second = f64::from(per_second.max(1));
        RateLimit {
            per_second,
            tokens: per_second,
            refilled_at: now,
            dropped_in_a_row: 0,
        }
    }

    pub(crate) fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.dropped_in_a_row = 0;
            return Verdict::Allow;
        }
        self.dropped_in_a_row += 1;
        if f64::from(self.dropped_in_a_row) >= self.per_second {
            Verdict::Close
        } else if self.dropped_in_a_row == 1 {
            Verdict::DropAndWarn
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_drops_warn_once_then_close() {
        let start = Instant::now();
        let mut limit = RateLimit::new(5, start);
        let verdicts: Vec<Verdict> = (0..11).map(|_| limit.check(start)).collect();
        use Verdict::*;
        assert_eq!(
            verdicts,
            [
                Allow,
                Allow,
                Allow,
                Allow,
                Allow,
                DropAndWarn,
                Drop,
                Drop,
                Drop,
                Close,
                Close
            ]
        );
    }

    #[test]
    fn a_client_at_the_rate_is_never_dropped_and_a_pause_resets_the_count() {
        let start = Instant::now();
        let mut limit = RateLimit::new(10, start);
        for n in 0..100 {
            let now = start + Duration::from_millis(100 * n);
            assert_eq!(limit.check(now), Verdict::Allow, "message {n}");
        }
        let later = start + Duration::from_secs(10);
        for _ in 0..10 {
            assert_eq!(limit.check(later), Verdict::Allow);
        }
        assert_eq!(limit.check(later), Verdict::DropAndWarn);
        assert_eq!(limit.check(later + Duration::from_secs(1)), Verdict::Allow);
        assert_eq!(limit.check(later + Duration::from_secs(1)), Verdict::Allow);
    }
}
