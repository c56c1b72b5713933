//! What a load run measures: counters and latency histograms, one set per worker (never one
//! per connection: a histogram is ~220 KB), read once a second and merged at the end.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::measure::process;
use crate::server::Delivery;

/// Latencies are recorded in microseconds, up to a minute.
const MAX_LATENCY_US: u64 = 60_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static histogram bounds are valid")
}

/// Which latency a sample belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Latency {
    /// A `say`, from its intended send time to its arrival at another member.
    Relay,
    /// A `shout`, from its intended send time to its arrival at each client.
    Shout,
    /// A `tick`, from the server's stamp to its arrival at each client.
    Tick,
}

/// The live figures of one worker's clients. Counters are relaxed atomics: each is a tally
/// read once a second, never a decision.
#[derive(Default)]
pub(crate) struct Live {
    pub connected: AtomicU64,
    pub connect_ok: AtomicU64,
    pub connect_failed: AtomicU64,
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// Shouts the server refused with `busy`: its fan-out budget at work, counted apart from
    /// the errors because a flood's shouter is meant to hear them.
    pub busy: AtomicU64,
    /// The stall's figures: the longest gap between two shouts any reader received, and the
    /// shouter's own longest gap between two sends (its control), in microseconds, after the
    /// ramp; the clients that stopped reading, and those of them the server cut.
    pub reader_gap_max_us: AtomicU64,
    pub sender_gap_max_us: AtomicU64,
    pub stalled: AtomicU64,
    pub stalled_cut: AtomicU64,
    /// Errors by kind (`connect: …`, `error: <code>`, `closed: <code>`, …); a mutex because
    /// errors are rare and their kinds open-ended.
    errors: Mutex<BTreeMap<String, u64>>,
    /// This second's latencies and the whole run's, by kind: clients record into both under
    /// one short lock hold.
    latencies: Mutex<Latencies>,
}

struct Latencies {
    second: Histogram<u64>,
    relay: Histogram<u64>,
    shout: Histogram<u64>,
    tick: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Latencies {
        Latencies {
            second: histogram(),
            relay: histogram(),
            shout: histogram(),
            tick: histogram(),
        }
    }
}

impl Live {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, kind: String) {
        *lock(&self.errors).entry(kind).or_default() += 1;
    }

    pub(crate) fn latency(&self, kind: Latency, micros: u64) {
        let mut latencies = lock(&self.latencies);
        latencies.second.saturating_record(micros.max(1));
        let whole = match kind {
            Latency::Relay => &mut latencies.relay,
            Latency::Shout => &mut latencies.shout,
            Latency::Tick => &mut latencies.tick,
        };
        whole.saturating_record(micros.max(1));
    }

    /// The counters now and this second's latencies (then forgotten).
    pub(crate) fn second(&self) -> Second {
        let histogram = {
            let mut latencies = lock(&self.latencies);
            let recorded = Recorded::of(&latencies.second);
            latencies.second.reset();
            recorded
        };
        Second {
            connected: self.connected.load(Ordering::Relaxed),
            connect_ok: self.connect_ok.load(Ordering::Relaxed),
            connect_failed: self.connect_failed.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
            errors: lock(&self.errors).values().sum(),
            cpu_seconds: process::cpu_seconds(),
            latency: histogram,
        }
    }

    /// Everything, at the end of the run.
    pub(crate) fn finish(&self) -> WorkerResult {
        let (relay, shout, tick) = {
            let latencies = lock(&self.latencies);
            (
                Recorded::of(&latencies.relay),
                Recorded::of(&latencies.shout),
                Recorded::of(&latencies.tick),
            )
        };
        WorkerResult {
            last: self.second(),
            errors: lock(&self.errors).clone(),
            relay,
            shout,
            tick,
            stall: Stall {
                reader_gap_max_us: self.reader_gap_max_us.load(Ordering::Relaxed),
                sender_gap_max_us: self.sender_gap_max_us.load(Ordering::Relaxed),
                stalled: self.stalled.load(Ordering::Relaxed),
                stalled_cut: self.stalled_cut.load(Ordering::Relaxed),
            },
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One worker's reading: cumulative counters and the latencies of the last second.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Second {
    pub connected: u64,
    pub connect_ok: u64,
    pub connect_failed: u64,
    pub sent: u64,
    pub received: u64,
    /// Shouts refused with `busy` so far (absent from a worker older than the count).
    #[serde(default)]
    pub busy: u64,
    pub errors: u64,
    /// CPU time the worker's process has used so far, user and system: the generator's own
    /// cost, which shares the machine with the server it measures.
    pub cpu_seconds: f64,
    pub latency: Recorded,
}

impl Second {
    /// Adds `other`'s counters to these and takes its latencies, so that a worker's second
    /// counts once however often the coordinator reads.
    pub(crate) fn absorb(&mut self, other: &mut Second) {
        self.connected += other.connected;
        self.connect_ok += other.connect_ok;
        self.connect_failed += other.connect_failed;
        self.sent += other.sent;
        self.received += other.received;
        self.busy += other.busy;
        self.errors += other.errors;
        self.cpu_seconds += other.cpu_seconds;
        self.latency.0.append(&mut other.latency.0);
    }
}

/// A worker's final result, sent to the coordinator as one JSON line.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct WorkerResult {
    pub last: Second,
    pub errors: BTreeMap<String, u64>,
    pub relay: Recorded,
    pub shout: Recorded,
    pub tick: Recorded,
    /// Absent from a worker older than the stall scenario.
    #[serde(default)]
    pub stall: Stall,
}

/// One worker's stall figures (see [`Live::reader_gap_max_us`]); zero gaps where none was
/// timed.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Stall {
    pub reader_gap_max_us: u64,
    pub sender_gap_max_us: u64,
    pub stalled: u64,
    pub stalled_cut: u64,
}

/// A histogram as its recorded values and counts: what crosses a process boundary.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Recorded(pub Vec<(u64, u64)>);

impl Recorded {
    fn of(histogram: &Histogram<u64>) -> Recorded {
        Recorded(
            histogram
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }

    /// Adds these samples to `into`.
    pub(crate) fn merge_into(&self, into: &mut Histogram<u64>) {
        for &(value, count) in &self.0 {
            into.saturating_record_n(value, count);
        }
    }

    pub(crate) fn histogram(parts: &[&Recorded]) -> Histogram<u64> {
        let mut merged = histogram();
        for part in parts {
            part.merge_into(&mut merged);
        }
        merged
    }
}

/// Percentiles of one latency, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub samples: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl LatencySummary {
    pub(crate) fn of(histogram: &Histogram<u64>) -> LatencySummary {
        let ms = |us: u64| us as f64 / 1000.0;
        if histogram.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            samples: histogram.len(),
            mean_ms: histogram.mean() / 1000.0,
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p90_ms: ms(histogram.value_at_quantile(0.90)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }

    /// The summary of a server's delivery histogram (or a window of it): its percentiles
    /// interpolated inside its buckets, its maximum the top of its highest bucket.
    pub(crate) fn of_delivery(delivery: &Delivery) -> LatencySummary {
        let ms = |us: Option<f64>| us.unwrap_or(0.0) / 1000.0;
        LatencySummary {
            samples: delivery.frames(),
            mean_ms: ms(delivery.mean_us()),
            p50_ms: ms(delivery.quantile_us(0.50)),
            p90_ms: ms(delivery.quantile_us(0.90)),
            p99_ms: ms(delivery.quantile_us(0.99)),
            p999_ms: ms(delivery.quantile_us(0.999)),
            max_ms: ms(delivery.max_us()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_cross_as_recorded_pairs_and_merge_exactly() {
        let a = Live::default();
        let b = Live::default();
        for us in [100, 200, 300] {
            a.latency(Latency::Relay, us);
        }
        b.latency(Latency::Relay, 10_000);
        b.latency(Latency::Tick, 5_000);
        let (a, b) = (a.finish(), b.finish());
        let json = serde_json::to_string(&a).unwrap();
        let a: WorkerResult = serde_json::from_str(&json).unwrap();
        let relay = LatencySummary::of(&Recorded::histogram(&[&a.relay, &b.relay]));
        assert_eq!(relay.samples, 4);
        assert!((relay.max_ms - 10.0).abs() < 0.01, "{relay:?}");
        assert!((relay.p50_ms - 0.2).abs() < 0.01, "{relay:?}");
        assert_eq!(a.last.latency.0.iter().map(|p| p.1).sum::<u64>(), 3);
        assert_eq!(
            LatencySummary::of(&Recorded::histogram(&[&b.tick])).samples,
            1
        );
    }
}
