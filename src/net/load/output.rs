//! A load run's results: the per-second lines, the final report as JSON, a summary for the
//! terminal, and SVG plots of throughput, latency and the server's memory over time.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

use super::stats::{LatencySummary, Recorded, Second, Stall, WorkerResult};
use super::{LoadConfig, ServerStats, merged};
use crate::report::plots::{ChartLine, LineChart, render_svg};
use crate::server::Delivery;

/// One second of a run, as printed while it runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecondLine {
    /// Seconds since the run started.
    pub t: f64,
    pub connected: u64,
    /// Frames the clients sent in this second (the "TPS" of nGrinder).
    pub tps: f64,
    /// Frames the clients received in this second.
    pub received_per_s: f64,
    /// Errors of every kind in this second.
    pub errors: u64,
    pub mean_ms: f64,
    pub p99_ms: f64,
    /// CPU seconds the generator itself used in this second (every process of it). Absent
    /// from reports written before it.
    #[serde(default)]
    pub generator_cpu_s: f64,
}

impl SecondLine {
    pub(crate) fn between(t: f64, before: &Second, now: &Second) -> SecondLine {
        let latency = LatencySummary::of(&Recorded::histogram(&[&now.latency]));
        SecondLine {
            t,
            connected: now.connected,
            tps: now.sent.saturating_sub(before.sent) as f64,
            received_per_s: now.received.saturating_sub(before.received) as f64,
            errors: now.errors.saturating_sub(before.errors),
            mean_ms: latency.mean_ms,
            p99_ms: latency.p99_ms,
            generator_cpu_s: (now.cpu_seconds - before.cpu_seconds).max(0.0),
        }
    }

    pub(crate) fn render(&self) -> String {
        format!(
            "t={:>5.0}s clients={:>6} TPS={:>8.0} received/s={:>9.0} errors={:>4} \
             mean={:>7.2}ms p99={:>7.2}ms generator CPU={:>4.0}%",
            self.t,
            self.connected,
            self.tps,
            self.received_per_s,
            self.errors,
            self.mean_ms,
            self.p99_ms,
            100.0 * self.generator_cpu_s
        )
    }
}

/// The server as its admin stats showed it at one moment of the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerSample {
    pub t: f64,
    pub connections: u64,
    pub rss_bytes: u64,
    pub cpu_seconds: f64,
    pub tokio_alive_tasks: u64,
    pub rooms_open: u64,
    pub rooms_matched: u64,
    /// The server's delivery histogram at this moment, kept while the run lasts to take the
    /// steady window's difference, and not written: the report has its summary.
    #[serde(skip)]
    pub frame_delivery: Delivery,
    /// The same of the directed frames alone, kept and not written in the same way.
    #[serde(skip)]
    pub directed_delivery: Delivery,
}

impl ServerSample {
    pub(crate) fn of(t: f64, stats: &ServerStats) -> ServerSample {
        ServerSample {
            t,
            connections: stats.connections,
            rss_bytes: stats.rss_bytes,
            cpu_seconds: stats.cpu_seconds,
            tokio_alive_tasks: stats.tokio_alive_tasks,
            rooms_open: stats.rooms_open,
            rooms_matched: stats.rooms_matched,
            frame_delivery: stats.frame_delivery.clone(),
            directed_delivery: stats.directed_delivery.clone(),
        }
    }
}

/// Everything one load run measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadReport {
    pub scenario: String,
    pub engine: Option<String>,
    pub clients: usize,
    pub ramp_s: f64,
    pub duration_s: f64,
    pub room_size: u8,
    pub say_rate: f64,
    pub shout_rate: f64,
    pub workers: usize,
    pub connect_ok: u64,
    pub connect_failed: u64,
    pub peak_connected: u64,
    pub sent: u64,
    pub received: u64,
    /// Mean frames sent and received per second after the ramp.
    pub steady_tps: f64,
    pub steady_received_per_s: f64,
    pub errors_total: u64,
    pub errors: BTreeMap<String, u64>,
    /// Shouts the server refused with `busy` (its fan-out budget, `serve --fanout-budget`):
    /// not errors, the admission working. Absent from reports written before the count.
    #[serde(default)]
    pub shouts_refused_busy: u64,
    /// The stall scenario's figures; `None` in every other scenario and in reports written
    /// before it.
    #[serde(default)]
    pub stall: Option<StallReport>,
    /// `say` from one member to its arrival at another, from its intended send time.
    pub relay: LatencySummary,
    /// `shout` from its intended send time to its arrival at each client.
    pub shout: LatencySummary,
    /// `tick` from the server's stamp to its arrival at each client.
    pub tick: LatencySummary,
    /// Every frame the server wrote in the steady window, from its entry into the client's
    /// outbox to its write completing on the socket, as the server measured it: its latency
    /// without the generator's (see `server_delivery`). No samples without a window or from a
    /// server older than the figure, and absent from reports written before it.
    #[serde(default)]
    pub server_delivery: LatencySummary,
    /// `server_delivery` of the directed frames alone: all but broadcasts (`shouted`, `tick`),
    /// so mostly relays and room events. A relay's time in the server after the engine; the
    /// relay p99 beyond it was spent reading the `say`, in the engine, or in the kernel and
    /// the generator after the write. Absent from reports written before it.
    #[serde(default)]
    pub server_directed_delivery: LatencySummary,
    pub seconds: Vec<SecondLine>,
    pub server: Vec<ServerSample>,
    /// (resident memory at the most clients − before any) ÷ those clients.
    pub server_rss_per_client_bytes: Option<f64>,
    /// The server's CPU use over the steady part of the run, in % of one core.
    pub server_cpu_percent: Option<f64>,
    /// The server's CPU time per frame its clients received, in microseconds, over the same
    /// steady window, as `cpu_us_per_frame` below defines it. Absent from reports written before it.
    #[serde(default)]
    pub server_cpu_us_per_frame: Option<f64>,
    /// The generator's own CPU use (every process of it) over the same window, in % of one
    /// core: what the server's figures shared the machine with. Absent from reports written
    /// before it.
    #[serde(default)]
    pub generator_cpu_percent: Option<f64>,
    /// The generator's CPU time per frame its clients received, in microseconds, over the same
    /// window and the same frames as `server_cpu_us_per_frame`. Absent from reports written
    /// before it.
    #[serde(default)]
    pub generator_cpu_us_per_frame: Option<f64>,
    /// The cores the generator could run on (`available_parallelism`): under `duel --e2e`,
    /// which starts the server on the same machine, the cores the two shared, and so how far
    /// their CPU per frame can be spread. Absent from reports written before it.
    #[serde(default)]
    pub cores: Option<usize>,
}

impl LoadReport {
    pub(crate) fn build(
        config: &LoadConfig,
        workers: usize,
        results: &[WorkerResult],
        seconds: Vec<SecondLine>,
        server: Vec<ServerSample>,
        engine: Option<String>,
    ) -> LoadReport {
        let mut errors = BTreeMap::new();
        for result in results {
            for (kind, count) in &result.errors {
                *errors.entry(kind.clone()).or_insert(0) += count;
            }
        }
        let sum = |f: fn(&Second) -> u64| results.iter().map(|r| f(&r.last)).sum::<u64>();
        let ramp_s = config.ramp.as_secs_f64();
        let steady: Vec<&SecondLine> = seconds.iter().filter(|s| s.t > ramp_s + 1.0).collect();
        let generator = generator_cpu(&server, &seconds, ramp_s);
        let mean = |f: fn(&SecondLine) -> f64| {
            if steady.is_empty() {
                0.0
            } else {
                steady.iter().map(|s| f(s)).sum::<f64>() / steady.len() as f64
            }
        };
        LoadReport {
            scenario: config.scenario.to_string(),
            engine,
            clients: config.clients,
            ramp_s,
            duration_s: config.duration.as_secs_f64(),
            room_size: config.room_size,
            say_rate: config.say_rate,
            shout_rate: config.shout_rate,
            workers,
            connect_ok: sum(|s| s.connect_ok),
            connect_failed: sum(|s| s.connect_failed),
            peak_connected: seconds.iter().map(|s| s.connected).max().unwrap_or(0),
            sent: sum(|s| s.sent),
            received: sum(|s| s.received),
            steady_tps: mean(|s| s.tps),
            steady_received_per_s: mean(|s| s.received_per_s),
            errors_total: errors.values().sum(),
            errors,
            shouts_refused_busy: sum(|s| s.busy),
            stall: (config.scenario == super::Scenario::Stall).then(|| StallReport::of(results)),
            relay: merged(results, |r| &r.relay),
            shout: merged(results, |r| &r.shout),
            tick: merged(results, |r| &r.tick),
            server_delivery: server_delivery(&server, ramp_s, |s| &s.frame_delivery),
            server_directed_delivery: server_delivery(&server, ramp_s, |s| &s.directed_delivery),
            server_rss_per_client_bytes: rss_per_client(&server),
            server_cpu_percent: cpu_percent(&server, ramp_s),
            server_cpu_us_per_frame: cpu_us_per_frame(&server, &seconds, ramp_s),
            generator_cpu_percent: generator.map(|g| g.percent),
            generator_cpu_us_per_frame: generator.and_then(|g| g.us_per_frame),
            cores: std::thread::available_parallelism().ok().map(|n| n.get()),
            seconds,
            server,
        }
    }
}

/// Whether one client that stops reading stalls the others: the readers' longest gap between
/// two shouts against the shouter's own longest gap between two sends, both after the ramp.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StallReport {
    /// The longest gap between two shouts any reader received (or between its last shout and
    /// the end of the run), in ms.
    pub reader_gap_max_ms: f64,
    /// The shouter's longest gap between two of its sends, in ms: the generator's own
    /// hiccups, which no reader can be spared.
    pub sender_gap_max_ms: f64,
    /// The clients that stopped reading, and those of them the server cut off.
    pub stalled: u64,
    pub stalled_cut: u64,
}

impl StallReport {
    fn of(results: &[WorkerResult]) -> StallReport {
        let all = results.iter().map(|r| r.stall);
        let max = |f: fn(&Stall) -> u64| all.clone().map(|s| f(&s)).max().unwrap_or(0);
        let sum = |f: fn(&Stall) -> u64| all.clone().map(|s| f(&s)).sum();
        StallReport {
            reader_gap_max_ms: max(|s| s.reader_gap_max_us) as f64 / 1000.0,
            sender_gap_max_ms: max(|s| s.sender_gap_max_us) as f64 / 1000.0,
            stalled: sum(|s| s.stalled),
            stalled_cut: sum(|s| s.stalled_cut),
        }
    }

    /// How far the readers' longest gap lies above the shouter's, in ms (the figure a stalled
    /// client must keep small).
    pub fn excess_ms(&self) -> f64 {
        self.reader_gap_max_ms - self.sender_gap_max_ms
    }
}

fn rss_per_client(server: &[ServerSample]) -> Option<f64> {
    let baseline = server.first()?;
    let full = server.iter().rev().max_by_key(|s| s.connections)?;
    (full.connections > 0)
        .then(|| (full.rss_bytes as f64 - baseline.rss_bytes as f64) / full.connections as f64)
}

/// The steady window of the server's samples: its first and last sample after the ramp, when
/// they are more than half a second apart. Every CPU figure is taken over it.
fn steady_window(server: &[ServerSample], ramp_s: f64) -> Option<(&ServerSample, &ServerSample)> {
    let mut steady = server.iter().filter(|s| s.t > ramp_s);
    let first = steady.next()?;
    let last = steady.next_back()?;
    (last.t - first.t > 0.5).then_some((first, last))
}

/// The lines of the window from `from` to `to` (seconds since the start): every line after
/// `from` up to `to`, for a line counts what happened since the line before it, and each
/// server sample is taken just after the line of its second.
fn lines_between(
    seconds: &[SecondLine],
    (from, to): (f64, f64),
) -> impl Iterator<Item = &SecondLine> {
    seconds
        .iter()
        .filter(move |line| line.t > from && line.t <= to)
}

/// `cpu_seconds` per frame received in `lines`, in microseconds; `None` without a frame.
fn per_frame<'a>(cpu_seconds: f64, lines: impl Iterator<Item = &'a SecondLine>) -> Option<f64> {
    let frames: f64 = lines.map(|line| line.received_per_s).sum();
    (frames > 0.0).then(|| 1e6 * cpu_seconds / frames)
}

fn cpu_percent(server: &[ServerSample], ramp_s: f64) -> Option<f64> {
    let (first, last) = steady_window(server, ramp_s)?;
    Some(100.0 * (last.cpu_seconds - first.cpu_seconds) / (last.t - first.t))
}

/// The server's CPU time per delivered frame, in microseconds: the CPU seconds the server
/// spent between the first and the last sample of the steady window (`steady_window`),
/// divided by the frames the clients received in the same window (every line of the run
/// after the window's first sample up to its last: a line counts the frames since the line
/// before it, and each sample is taken just after the line of its second). Every frame a
/// client receives is one the server delivered, so this is the server's cost of a delivery,
/// whatever the mix of relays, shouts and ticks. `None` without a window or without a frame
/// received in it.
fn cpu_us_per_frame(server: &[ServerSample], seconds: &[SecondLine], ramp_s: f64) -> Option<f64> {
    let (first, last) = steady_window(server, ramp_s)?;
    let lines = lines_between(seconds, (first.t, last.t));
    per_frame(last.cpu_seconds - first.cpu_seconds, lines)
}

/// The server's delivery latency over the steady window, of the histogram `which` picks: its
/// reading at the window's last sample less its reading at the first, so exactly the frames
/// whose write completed between the two (the server's counts only grow; no reset, which a
/// second reader would disturb).
fn server_delivery(
    server: &[ServerSample],
    ramp_s: f64,
    which: fn(&ServerSample) -> &Delivery,
) -> LatencySummary {
    steady_window(server, ramp_s).map_or_else(LatencySummary::default, |(first, last)| {
        LatencySummary::of_delivery(&which(last).since(which(first)))
    })
}

/// The generator's CPU over the steady window.
#[derive(Clone, Copy, Debug, PartialEq)]
struct GeneratorCpu {
    percent: f64,
    /// `None` without a frame received in the window.
    us_per_frame: Option<f64>,
}

/// The generator's CPU over the server's steady window, summed from its lines as the frames
/// are, so that its CPU per frame and the server's divide by the same frames. Without a
/// sampled server (`--no-admin`) the window runs from the first line after the ramp to the
/// last. `None` without a window.
fn generator_cpu(
    server: &[ServerSample],
    seconds: &[SecondLine],
    ramp_s: f64,
) -> Option<GeneratorCpu> {
    let window = match steady_window(server, ramp_s) {
        Some((first, last)) => (first.t, last.t),
        None => {
            let mut steady = seconds.iter().filter(|line| line.t > ramp_s);
            let first = steady.next()?;
            let last = steady.next_back()?;
            (last.t - first.t > 0.5).then_some((first.t, last.t))?
        }
    };
    let cpu: f64 = lines_between(seconds, window)
        .map(|line| line.generator_cpu_s)
        .sum();
    Some(GeneratorCpu {
        percent: 100.0 * cpu / (window.1 - window.0),
        us_per_frame: per_frame(cpu, lines_between(seconds, window)),
    })
}

/// The report for people: what ran, connections, throughput, errors, latencies, the server.
pub fn render_summary(report: &LoadReport) -> String {
    let mut out = format!(
        "{} clients, scenario {}, engine {}, ramp {:.0} s + {:.0} s, {} worker process(es)\n",
        report.clients,
        report.scenario,
        report.engine.as_deref().unwrap_or("?"),
        report.ramp_s,
        report.duration_s,
        report.workers
    );
    out += &format!(
        "connections: {} ok, {} failed, peak {} at once\n",
        report.connect_ok, report.connect_failed, report.peak_connected
    );
    out += &format!(
        "steady: {:.0} TPS sent, {:.0} frames/s received\n",
        report.steady_tps, report.steady_received_per_s
    );
    out += &format!("errors: {}", report.errors_total);
    for (kind, count) in &report.errors {
        out += &format!("\n  {count:>8}  {kind}");
    }
    if report.shouts_refused_busy > 0 {
        out += &format!(
            "\nshouts refused busy (the server's fan-out budget, not errors): {}",
            report.shouts_refused_busy
        );
    }
    if let Some(stall) = &report.stall {
        out += &format!(
            "\nstall: readers' longest gap between shouts {:.1} ms, the shouter's own longest gap \
             between sends {:.1} ms ({:+.1} ms); {} of {} stalled client(s) cut off",
            stall.reader_gap_max_ms,
            stall.sender_gap_max_ms,
            stall.excess_ms(),
            stall.stalled_cut,
            stall.stalled
        );
    }
    out += "\nlatency (ms)        samples      mean       p50       p90       p99     p99.9       max\n";
    for (name, l) in [
        ("relay (say)", &report.relay),
        ("shout", &report.shout),
        ("tick", &report.tick),
        ("server delivery", &report.server_delivery),
        ("  directed", &report.server_directed_delivery),
    ] {
        out += &format!(
            "{name:<16} {:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}\n",
            l.samples, l.mean_ms, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms
        );
    }
    if let Some(per_client) = report.server_rss_per_client_bytes {
        out += &format!(
            "server memory per connected client: {:.0} bytes\n",
            per_client
        );
    }
    if let Some(cpu) = report.server_cpu_percent {
        out += &format!("server CPU over the steady part: {cpu:.0}% of one core\n");
    }
    if let Some(cpu) = report.generator_cpu_percent {
        out += &format!("generator CPU over the same window: {cpu:.0}% of one core\n");
    }
    let us = |figure: Option<f64>| figure.map_or("–".to_owned(), |us| format!("{us:.2} µs"));
    if report.server_cpu_us_per_frame.is_some() || report.generator_cpu_us_per_frame.is_some() {
        out += &format!(
            "CPU per frame received: server {}, generator {}\n",
            us(report.server_cpu_us_per_frame),
            us(report.generator_cpu_us_per_frame)
        );
    }
    out
}

/// Draws TPS, p99 latency and the server's memory over time as SVGs named
/// `<stem>-tps.svg`, `<stem>-latency.svg` and `<stem>-memory.svg` in `dir`.
pub fn write_plots(report: &LoadReport, dir: &Path, stem: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let title = format!(
        "{} clients, {} scenario, {}",
        report.clients,
        report.scenario,
        report.engine.as_deref().unwrap_or("server")
    );
    let line = |label: &str, points: Vec<(f64, f64)>, color: RGBColor| ChartLine {
        label: label.to_owned(),
        points,
        color,
        dashed: false,
    };
    let series = |f: fn(&SecondLine) -> f64| report.seconds.iter().map(|s| (s.t, f(s))).collect();
    let charts = [
        (
            "tps",
            "frames per second",
            vec![
                line("sent (TPS)", series(|s| s.tps), RGBColor(31, 119, 180)),
                line(
                    "received",
                    series(|s| s.received_per_s),
                    RGBColor(255, 127, 14),
                ),
            ],
        ),
        (
            "latency",
            "latency of the second (ms)",
            vec![
                line("p99", series(|s| s.p99_ms), RGBColor(214, 39, 40)),
                line("mean", series(|s| s.mean_ms), RGBColor(44, 160, 44)),
            ],
        ),
        (
            "memory",
            "server resident memory (MiB)",
            vec![line(
                "RSS",
                report
                    .server
                    .iter()
                    .map(|s| (s.t, s.rss_bytes as f64 / (1024.0 * 1024.0)))
                    .collect(),
                RGBColor(148, 103, 189),
            )],
        ),
    ];
    let last_t = report.seconds.last().map_or(1.0, |s| s.t.max(1.0));
    for (name, y_title, lines) in charts {
        let step = (last_t / 6.0).ceil().max(1.0);
        let chart = LineChart {
            title: title.clone(),
            x_title: "seconds since start".to_owned(),
            y_title: y_title.to_owned(),
            x_ticks: (0..=6)
                .map(|n| n as f64 * step)
                .map(|x| (x, format!("{x:.0}")))
                .collect(),
            lines,
            references: Vec::new(),
            log_y: false,
        };
        let svg = render_svg(&chart).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("{stem}-{name}.svg")), svg)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, cpu_seconds: f64) -> ServerSample {
        ServerSample {
            t,
            connections: 0,
            rss_bytes: 0,
            cpu_seconds,
            tokio_alive_tasks: 0,
            rooms_open: 0,
            rooms_matched: 0,
            frame_delivery: Delivery::default(),
            directed_delivery: Delivery::default(),
        }
    }

    fn line(t: f64, received: f64) -> SecondLine {
        SecondLine {
            t,
            connected: 0,
            tps: 0.0,
            received_per_s: received,
            errors: 0,
            mean_ms: 0.0,
            p99_ms: 0.0,
            generator_cpu_s: 0.0,
        }
    }

    /// Workers' stall figures merge as the run's: the longest gap of any worker on each side,
    /// the stalled clients and their cuts summed.
    #[test]
    fn the_stall_takes_the_longest_gaps_and_sums_the_stalled() {
        let worker = |reader, sender, stalled, cut| WorkerResult {
            stall: Stall {
                reader_gap_max_us: reader,
                sender_gap_max_us: sender,
                stalled,
                stalled_cut: cut,
            },
            ..WorkerResult::default()
        };
        let stall = StallReport::of(&[worker(30_000, 4_000, 1, 0), worker(12_000, 9_500, 2, 2)]);
        assert_eq!(stall.reader_gap_max_ms, 30.0);
        assert_eq!(stall.sender_gap_max_ms, 9.5);
        assert_eq!((stall.stalled, stall.stalled_cut), (3, 2));
        assert_eq!(stall.excess_ms(), 20.5);
        assert_eq!(StallReport::of(&[]).reader_gap_max_ms, 0.0);
    }

    #[test]
    fn cpu_per_frame_is_the_windows_cpu_over_the_windows_frames() {
        // Ramp of 2 s: the window runs from the sample at 3 s to the one at 5 s, 0.3 CPU
        // seconds; the frames are the lines at 4 s and 5 s (the line at 3 s counts the
        // second before the window, the one at 6 s a second after it).
        let server = [
            sample(0.0, 0.0),
            sample(2.0, 0.5),
            sample(3.0, 1.0),
            sample(4.0, 1.1),
            sample(5.0, 1.3),
        ];
        let seconds = [
            line(1.0, 100.0),
            line(2.0, 100.0),
            line(3.0, 7_000.0),
            line(4.0, 10_000.0),
            line(5.0, 20_000.0),
            line(6.0, 50_000.0),
        ];
        let per_frame = cpu_us_per_frame(&server, &seconds, 2.0).expect("a window");
        assert!((per_frame - 10.0).abs() < 1e-9, "{per_frame}");
        // The same window as the CPU share: 0.3 s over 2 s is 15% of a core.
        let percent = cpu_percent(&server, 2.0).expect("a window");
        assert!((percent - 15.0).abs() < 1e-9, "{percent}");
    }

    #[test]
    fn the_generators_cpu_per_frame_divides_by_the_servers_frames() {
        // The server's window as above (3 s to 5 s, 30,000 frames); the generator spent
        // 0.2 s in the line at 4 s and 0.4 s in the one at 5 s, and its other lines fall
        // outside the window.
        let server = [sample(2.0, 0.5), sample(3.0, 1.0), sample(5.0, 1.3)];
        let cpu = [
            (3.0, 7_000.0, 9.0),
            (4.0, 10_000.0, 0.2),
            (5.0, 20_000.0, 0.4),
        ];
        let mut seconds: Vec<SecondLine> = cpu
            .iter()
            .map(|&(t, received, cpu)| SecondLine {
                generator_cpu_s: cpu,
                ..line(t, received)
            })
            .collect();
        seconds.push(SecondLine {
            generator_cpu_s: 9.0,
            ..line(6.0, 50_000.0)
        });
        let generator = generator_cpu(&server, &seconds, 2.0).expect("a window");
        assert!((generator.percent - 30.0).abs() < 1e-9, "{generator:?}");
        let per_frame = generator.us_per_frame.expect("frames");
        assert!((per_frame - 20.0).abs() < 1e-9, "{per_frame}");
        // Without the server's samples the window is the lines' after the ramp: 3 s to 6 s.
        let alone = generator_cpu(&[], &seconds, 2.0).expect("a window of lines");
        assert!(
            (alone.percent - 100.0 * 9.6 / 3.0).abs() < 1e-9,
            "{alone:?}"
        );
    }

    #[test]
    fn the_servers_delivery_is_the_windows_last_reading_less_its_first() {
        let histogram = |buckets: Vec<(u64, u64)>| Delivery {
            sum_us: buckets.iter().map(|&(lower, n)| lower * n).sum(),
            buckets,
        };
        // The directed frames here are the fast ones.
        let reading = |t: f64, buckets: Vec<(u64, u64)>| ServerSample {
            directed_delivery: histogram(
                buckets
                    .iter()
                    .copied()
                    .filter(|&(l, _)| l < 1_000)
                    .collect(),
            ),
            frame_delivery: histogram(buckets),
            ..sample(t, 0.0)
        };
        // A slow frame in the ramp is before the window and does not count; in the window,
        // 98 fast frames and 2 slow ones.
        let server = [
            reading(2.0, vec![(2_816, 1)]),
            reading(3.0, vec![(96, 10), (2_816, 1)]),
            reading(5.0, vec![(96, 108), (2_816, 3)]),
        ];
        let delivery = server_delivery(&server, 2.0, |s| &s.frame_delivery);
        assert_eq!(delivery.samples, 100, "{delivery:?}");
        assert!((0.096..=0.104).contains(&delivery.p50_ms), "{delivery:?}");
        assert!((2.816..=3.072).contains(&delivery.p99_ms), "{delivery:?}");
        let directed = server_delivery(&server, 2.0, |s| &s.directed_delivery);
        assert_eq!(directed.samples, 98, "{directed:?}");
        assert!((0.096..=0.104).contains(&directed.p99_ms), "{directed:?}");
        let short = server_delivery(&server[..2], 2.0, |s| &s.frame_delivery);
        assert_eq!(short.samples, 0);
    }

    #[test]
    fn no_window_or_no_frame_is_no_figure() {
        let seconds = [line(3.0, 10.0), line(4.0, 10.0)];
        // One sample after the ramp is no window.
        let one = [sample(0.0, 0.0), sample(3.0, 1.0)];
        assert_eq!(cpu_us_per_frame(&one, &seconds, 2.0), None);
        // A window in which nothing was received.
        let two = [sample(3.0, 1.0), sample(4.0, 2.0)];
        assert_eq!(cpu_us_per_frame(&two, &[line(4.0, 0.0)], 2.0), None);
        assert!(cpu_us_per_frame(&two, &seconds, 2.0).is_some());
    }
}
