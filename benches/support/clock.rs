//! The latency clock every payload stamp counts from, and the histogram latencies go into.

use std::sync::OnceLock;
use std::time::Instant;

use hdrhistogram::Histogram;

/// The instant every latency stamp counts from: payloads carry nanoseconds since it.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds from the epoch to now.
pub fn now_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Microseconds from 1 µs to a minute at three significant figures; a slower delivery is
/// recorded as a minute, which no healthy run comes near.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("the bounds are valid")
}
