//! The server's running figures: counters bumped on the hot path (one relaxed atomic add each)
//! and the frame delivery histogram (`delivery`), exported as Prometheus text on `/metrics` and
//! as JSON on `/admin/stats`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;

use super::delivery::DeliveryHistogram;

/// Counters and gauges of one server. Each is an atomic shared with the registry, so the
/// Prometheus export reads the same numbers the server bumps, with no copy to keep in step.
pub(crate) struct Metrics {
    registry: Registry,
    /// WebSocket clients connected, upgrades in progress included: the number the
    /// `--max-clients` cap is checked against.
    pub connections: Gauge,
    pub connections_peak: Gauge,
    pub connections_total: Counter,
    pub messages_in: Counter,
    pub messages_out: Counter,
    pub slow_consumer_cuts: Counter,
    pub panics_caught: Counter,
    pub rejected_over_capacity: Counter,
    pub protocol_errors: Counter,
    pub rate_limited: Counter,
    /// Shouts refused with `busy`: over the fan-out budget, never submitted.
    pub shouts_refused_busy: Counter,
    /// 1 when the gate that chose the engine was decided on other engine sources.
    pub gate_stale: Gauge,
    /// Each frame's time from its outbox to the socket, recorded by its connection.
    pub frame_delivery: DeliveryHistogram,
    /// The same for directed frames alone: every frame but a broadcast's (`Shouted`, `Tick`).
    pub directed_delivery: DeliveryHistogram,
    // Sampled, not counted: set just before each export.
    rooms_open: Gauge,
    rooms_matched: Gauge,
    tokio_alive_tasks: Gauge,
    os_threads: Gauge,
    rss_bytes: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("lockchan");
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let frame_delivery = DeliveryHistogram::new();
        registry.register_with_unit(
            "frame_delivery",
            "Time from a frame's entry into its client's outbox to its write completing on the socket",
            Unit::Seconds,
            frame_delivery.clone(),
        );
        let directed_delivery = DeliveryHistogram::new();
        registry.register_with_unit(
            "directed_delivery",
            "frame_delivery of directed frames alone (not shouts or ticks)",
            Unit::Seconds,
            directed_delivery.clone(),
        );
        let r = &mut registry;
        Metrics {
            frame_delivery,
            directed_delivery,
            connections: gauge(r, "connections", "WebSocket clients connected"),
            connections_peak: gauge(r, "connections_peak", "Most clients connected at once"),
            connections_total: counter(r, "connections", "WebSocket clients accepted"),
            messages_in: counter(r, "messages_in", "Frames received from clients"),
            messages_out: counter(r, "messages_out", "Frames sent to clients"),
            slow_consumer_cuts: counter(
                r,
                "slow_consumer_cuts",
                "Clients cut off for not reading (full outbox or write timeout)",
            ),
            panics_caught: counter(r, "panics_caught", "Panics caught while handling a message"),
            rejected_over_capacity: counter(
                r,
                "rejected_over_capacity",
                "Upgrades refused with 503 at --max-clients",
            ),
            protocol_errors: counter(r, "protocol_errors", "Frames refused as malformed"),
            rate_limited: counter(r, "rate_limited", "Frames dropped over the rate limit"),
            shouts_refused_busy: counter(
                r,
                "shouts_refused_busy",
                "Shouts refused with busy: over the fan-out budget (--fanout-budget)",
            ),
            gate_stale: gauge(
                r,
                "gate_stale",
                "1 when the gate that chose the engine measured other engine sources (stale gate)",
            ),
            rooms_open: gauge(r, "rooms_open", "Rooms waiting for members"),
            rooms_matched: gauge(r, "rooms_matched", "Full rooms"),
            tokio_alive_tasks: gauge(r, "tokio_alive_tasks", "Tasks alive in the runtime"),
            os_threads: gauge(r, "os_threads", "Threads of the server process"),
            rss_bytes: gauge(r, "resident_memory_bytes", "Resident memory of the process"),
            registry,
        }
    }

    /// Takes a place under the cap of `max` clients and returns its number among all places
    /// ever taken, or `None` when the server is full. Give it back with `connections.dec()`.
    pub(crate) fn take_seat(&self, max: usize) -> Option<u64> {
        let now = self.connections.inc() + 1;
        if now > i64::try_from(max).unwrap_or(i64::MAX) {
            self.connections.dec();
            return None;
        }
        self.connections_peak
            .inner()
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
        Some(self.connections_total.inc() + 1)
    }

    /// Sets the sampled gauges and returns every figure, for `/admin/stats`.
    pub(crate) fn sample(&self, sampled: Sampled) -> Figures {
        self.rooms_open.set(sampled.rooms_open as i64);
        self.rooms_matched.set(sampled.rooms_matched as i64);
        self.tokio_alive_tasks.set(sampled.tokio_alive_tasks as i64);
        self.os_threads.set(sampled.os_threads as i64);
        self.rss_bytes.set(sampled.rss_bytes as i64);
        Figures {
            connections: self.connections.get().max(0) as u64,
            connections_peak: self.connections_peak.get().max(0) as u64,
            messages_in: self.messages_in.get(),
            messages_out: self.messages_out.get(),
            slow_consumer_cuts: self.slow_consumer_cuts.get(),
            panics_caught: self.panics_caught.get(),
            rejected_over_capacity: self.rejected_over_capacity.get(),
            protocol_errors: self.protocol_errors.get(),
            rate_limited: self.rate_limited.get(),
            shouts_refused_busy: self.shouts_refused_busy.get(),
            sampled,
        }
    }

    /// Everything in the Prometheus text format (call [`sample`](Self::sample) first).
    pub(crate) fn prometheus(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The figures that are read off the engine and the process rather than counted.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Sampled {
    pub rooms_open: u64,
    pub rooms_matched: u64,
    pub tokio_alive_tasks: u64,
    pub os_threads: u64,
    pub rss_bytes: u64,
}

/// One reading of every figure.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct Figures {
    pub connections: u64,
    pub connections_peak: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub slow_consumer_cuts: u64,
    pub panics_caught: u64,
    pub rejected_over_capacity: u64,
    pub protocol_errors: u64,
    pub rate_limited: u64,
    pub shouts_refused_busy: u64,
    #[serde(flatten)]
    pub sampled: Sampled,
}
