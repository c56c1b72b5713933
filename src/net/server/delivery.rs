//! The server's own latency: each frame's time from entering its client's outbox (the
//! engine's push, [`Stamped`](crate::Stamped)) to its write completing on the socket (the
//! flush that ends the connection's drain), measured inside the server, so no load
//! generator's cost is in it.
//!
//! Every connection records into one [`DeliveryHistogram`] of atomic buckets: a relaxed add
//! to one bucket and one to the sum per frame, no lock, no allocation, nothing per
//! connection. Its counts only grow, so a reader takes two [`Delivery`] readings and
//! subtracts ([`Delivery::since`]) to get the frames of the window between them; that is what
//! the load generator does with `/admin/stats` over its steady window.
//!
//! The buckets are log-linear in microseconds: one per microsecond below 16 µs, then every
//! power of two split into eight, so a bucket is at most an eighth of its lower bound wide,
//! up to 2²⁶ µs (67 s); slower frames share the last bucket. A quantile is interpolated
//! linearly inside its bucket, as Prometheus's `histogram_quantile` does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use serde::{Deserialize, Serialize};

/// Below this many microseconds every microsecond has its bucket.
const LINEAR_US: u64 = 16;
/// Each power of two above [`LINEAR_US`] is split into `1 << SUB_BITS` buckets.
const SUB_BITS: u32 = 3;
/// The power of two at which the last bucket starts: 2²⁶ µs, 67 s.
const TOP_POWER: u32 = 26;
/// How many buckets there are, the last one open-ended.
const BUCKETS: usize = LINEAR_US as usize + ((TOP_POWER - 4) << SUB_BITS) as usize + 1;

/// The bucket `us` falls in.
fn bucket(us: u64) -> usize {
    if us < LINEAR_US {
        return us as usize;
    }
    let power = 63 - us.leading_zeros();
    if power >= TOP_POWER {
        return BUCKETS - 1;
    }
    let sub = (us >> (power - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    LINEAR_US as usize + (((power - 4) << SUB_BITS) as usize) + sub as usize
}

/// The lowest value of bucket `index`, in µs.
fn lower_us(index: usize) -> u64 {
    if index < LINEAR_US as usize {
        return index as u64;
    }
    let above = index - LINEAR_US as usize;
    let power = (above >> SUB_BITS) as u32 + 4;
    let sub = (above & ((1 << SUB_BITS) - 1)) as u64;
    ((1 << SUB_BITS) + sub) << (power - SUB_BITS)
}

/// The first value past bucket `index`, in µs; the last bucket is given the width of the one
/// before it, which is how far a quantile that lands there is interpolated.
fn upper_us(index: usize) -> u64 {
    if index + 1 < BUCKETS {
        lower_us(index + 1)
    } else {
        2 * lower_us(index) - lower_us(index - 1)
    }
}

/// The frame delivery histogram of one server: a handle, cloned into the Prometheus registry
/// as its counters are, onto counts every connection shares.
#[derive(Clone)]
pub(crate) struct DeliveryHistogram {
    counts: Arc<Counts>,
}

/// Each field is an atomic on its own, added to with `Relaxed`: the counts are tallies that
/// decide nothing, and a reading taken while frames are recorded may see a frame's bucket
/// and not yet its share of the sum (or the reverse), an error of one frame in a window of
/// thousands.
struct Counts {
    buckets: [AtomicU64; BUCKETS],
    /// Every recorded latency added up, in µs, for the mean and Prometheus's `_sum`.
    sum_us: AtomicU64,
}

impl DeliveryHistogram {
    pub(crate) fn new() -> DeliveryHistogram {
        DeliveryHistogram {
            counts: Arc::new(Counts {
                buckets: std::array::from_fn(|_| AtomicU64::new(0)),
                sum_us: AtomicU64::new(0),
            }),
        }
    }

    /// Counts one frame that took `latency` from its outbox to the socket.
    pub(crate) fn record(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.counts.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.counts.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Every frame counted so far.
    pub(crate) fn read(&self) -> Delivery {
        Delivery {
            sum_us: self.counts.sum_us.load(Ordering::Relaxed),
            buckets: self
                .counts
                .buckets
                .iter()
                .enumerate()
                .map(|(index, count)| (lower_us(index), count.load(Ordering::Relaxed)))
                .filter(|&(_, count)| count > 0)
                .collect(),
        }
    }
}

impl std::fmt::Debug for DeliveryHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryHistogram")
            .field("frames", &self.read().frames())
            .finish()
    }
}

/// Exported as a Prometheus histogram in seconds, with a bucket boundary at every power of two
/// microseconds (the fine buckets summed: each power of two is a boundary of theirs), so a
/// scrape stays short.
impl EncodeMetric for DeliveryHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut coarse: Vec<(f64, u64)> = (0..=TOP_POWER)
            .map(|power| ((1u64 << power) as f64 / 1e6, 0))
            .collect();
        coarse.push((f64::INFINITY, 0));
        let mut count = 0;
        for (index, bucket) in self.counts.buckets.iter().enumerate() {
            let n = bucket.load(Ordering::Relaxed);
            count += n;
            // The first boundary at or above this bucket's upper end holds it.
            let upper = upper_us(index);
            let slot = if index + 1 == BUCKETS {
                coarse.len() - 1
            } else {
                upper.next_power_of_two().trailing_zeros() as usize
            };
            coarse[slot].1 += n;
        }
        let sum = self.counts.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &coarse, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// One reading of the histogram, as `/admin/stats` carries it (key `frame_delivery`): the
/// sum in µs and the non-empty buckets as `[lower bound in µs, frames]`, lowest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub sum_us: u64,
    pub buckets: Vec<(u64, u64)>,
}

impl Delivery {
    /// How many frames it counts.
    pub fn frames(&self) -> u64 {
        self.buckets.iter().map(|&(_, count)| count).sum()
    }

    /// The frames counted after `earlier`, a reading of the same server taken before this one.
    pub fn since(&self, earlier: &Delivery) -> Delivery {
        let before = |lower: u64| {
            earlier
                .buckets
                .iter()
                .find(|&&(l, _)| l == lower)
                .map_or(0, |&(_, count)| count)
        };
        Delivery {
            sum_us: self.sum_us.saturating_sub(earlier.sum_us),
            buckets: self
                .buckets
                .iter()
                .map(|&(lower, count)| (lower, count.saturating_sub(before(lower))))
                .filter(|&(_, count)| count > 0)
                .collect(),
        }
    }

    /// The mean, in µs; `None` without a frame.
    pub fn mean_us(&self) -> Option<f64> {
        let frames = self.frames();
        (frames > 0).then(|| self.sum_us as f64 / frames as f64)
    }

    /// The `q` quantile (0 to 1), in µs, interpolated inside its bucket; `None` without a
    /// frame.
    pub fn quantile_us(&self, q: f64) -> Option<f64> {
        let frames = self.frames();
        if frames == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * frames as f64).max(1.0);
        let mut below = 0u64;
        for &(lower, count) in &self.buckets {
            if (below + count) as f64 >= rank {
                let index = bucket(lower);
                let width = (upper_us(index) - lower) as f64;
                let into = (rank - below as f64) / count as f64;
                return Some(lower as f64 + width * into);
            }
            below += count;
        }
        // Rounding can leave the rank a hair above the total: the top of the last bucket.
        let &(lower, _) = self.buckets.last()?;
        Some(upper_us(bucket(lower)) as f64)
    }

    /// The upper end of the highest bucket with a frame, in µs: the most a frame took, to
    /// the histogram's precision.
    pub fn max_us(&self) -> Option<f64> {
        let &(lower, _) = self.buckets.last()?;
        Some(upper_us(bucket(lower)) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range_without_gaps_and_each_is_at_most_an_eighth_wide() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(15), 15);
        assert_eq!(bucket(16), 16);
        for index in 0..BUCKETS - 1 {
            let (lower, upper) = (lower_us(index), upper_us(index));
            assert_eq!(bucket(lower), index, "{index}");
            assert_eq!(bucket(upper - 1), index, "{index}");
            assert_eq!(bucket(upper), index + 1, "{index}");
            assert!(
                upper - lower <= (lower / 8).max(1),
                "{index}: {lower}..{upper}"
            );
        }
        assert_eq!(lower_us(BUCKETS - 1), 1 << TOP_POWER);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn a_window_is_the_difference_of_two_readings_and_its_quantiles_fall_in_their_buckets() {
        let histogram = DeliveryHistogram::new();
        histogram.record(Duration::from_millis(500));
        let before = histogram.read();
        // 98 fast frames, one at 3 ms and one at 40 ms.
        for _ in 0..98 {
            histogram.record(Duration::from_micros(100));
        }
        histogram.record(Duration::from_millis(3));
        histogram.record(Duration::from_millis(40));
        let window = histogram.read().since(&before);
        assert_eq!(window.frames(), 100);
        assert_eq!(window.sum_us, 98 * 100 + 3_000 + 40_000);
        let p50 = window.quantile_us(0.5).expect("frames");
        assert!((96.0..=104.0).contains(&p50), "{p50}");
        let p99 = window.quantile_us(0.99).expect("frames");
        assert!((2_816.0..=3_072.0).contains(&p99), "{p99}");
        let max = window.max_us().expect("frames");
        assert!((40_000.0..=45_100.0).contains(&max), "{max}");
        assert!(window.quantile_us(1.0).expect("frames") <= max);
        assert_eq!(before.since(&before), Delivery::default());
        assert_eq!(Delivery::default().quantile_us(0.5), None);
    }

    #[test]
    fn the_prometheus_export_is_a_histogram_in_seconds_with_power_of_two_bounds() {
        let histogram = DeliveryHistogram::new();
        histogram.record(Duration::from_micros(3));
        histogram.record(Duration::from_micros(100));
        histogram.record(Duration::from_secs(100));
        let mut registry = prometheus_client::registry::Registry::with_prefix("lockchan");
        registry.register_with_unit(
            "frame_delivery",
            "Outbox to socket",
            prometheus_client::registry::Unit::Seconds,
            histogram,
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
        assert!(
            text.contains("# TYPE lockchan_frame_delivery_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("lockchan_frame_delivery_seconds_count 3"),
            "{text}"
        );
        // 3 µs is under the 4 µs bound; 100 µs under 128 µs; 100 s only under +Inf.
        for (le, cumulative) in [
            ("0.000002", 0),
            ("0.000004", 1),
            ("0.000128", 2),
            ("67.108864", 2),
            ("+Inf", 3),
        ] {
            let line =
                format!("lockchan_frame_delivery_seconds_bucket{{le=\"{le}\"}} {cumulative}");
            assert!(text.contains(&line), "no `{line}` in:\n{text}");
        }
    }
}
