//! `lockchan load`: WebSocket clients that play a scenario against a running server, measure
//! end-to-end latency and errors, and sample the server's memory and CPU, in the manner of the
//! original team's nGrinder runs.
//!
//! Data flow: the coordinator (`run_load`) paces connections over the ramp across workers —
//! in-process, or `lockchan load-worker` processes once one process's open-files limit would
//! not hold them — reads every worker's figures once a second, prints a line, samples the
//! server's `/admin/stats` (`probe`), and at the end merges the workers' histograms into one
//! [`LoadReport`] (`output`).

mod client;
mod frames;
mod output;
mod probe;
mod stats;
mod worker;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use output::{LoadReport, SecondLine, ServerSample, StallReport, render_summary, write_plots};
pub use probe::{ServerStats, fetch as fetch_server_stats};
pub use stats::LatencySummary;
pub use worker::worker_process;

use stats::{Live, Recorded, Second, WorkerResult};
use worker::Line;

/// What the clients do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Connect and stay: for memory per idle connection.
    Idle,
    /// Join, get matched, say a few times, leave, again.
    Match,
    /// Full rooms; every client says at `--say-rate`.
    Chat,
    /// Ticks and `--shout-rate` shouts a second, each to everyone.
    Broadcast,
    /// The original game's profile: 70% chatting in rooms, 30% in matchmaking churn, and
    /// shouts over everyone.
    Mixed,
    /// One client (the first) shouts as fast as it can, up to `--shout-rate` (100,000 a
    /// second unless told), while every other client reads: the fan-out admission's case.
    /// Run the server with its per-client rate raised (`serve --rate 100000`; `duel --e2e`
    /// does) so that the shouter meets the fan-out budget and not the rate limit. It holds when
    /// the shouter hears `busy` and no reader is cut.
    Flood,
    /// One client (the first) shouts at `--shout-rate` (500 a second unless told) and one
    /// (the last) never reads, among readers: a client that stops reading must not stall the
    /// others. Run the server with `serve --rate 100000` too (`duel --e2e` does). Reports the readers' longest gap between two shouts beside the shouter's own
    /// longest gap between two sends, and whether the server cut the one that stopped.
    Stall,
}

impl Scenario {
    /// `say`s per second per talking client unless told otherwise: the mixed profile is a
    /// game's lobby and rooms, where a player speaks every couple of seconds.
    pub fn default_say_rate(self) -> f64 {
        match self {
            Scenario::Mixed => 0.5,
            _ => 1.0,
        }
    }

    /// `shout`s per second over all clients unless told otherwise.
    pub fn default_shout_rate(self) -> f64 {
        match self {
            Scenario::Broadcast => 5.0,
            Scenario::Mixed => 1.0,
            Scenario::Flood => 100_000.0,
            Scenario::Stall => 500.0,
            _ => 0.0,
        }
    }

    /// The `serve` flags a run of this scenario needs: the flood's and the stall's shouter
    /// sends more than the default 50 frames a second, and must meet the fan-out budget (or
    /// none), not the per-client rate limit in front of it.
    pub fn serve_args(self) -> &'static [&'static str] {
        match self {
            Scenario::Flood | Scenario::Stall => &["--rate", "100000"],
            _ => &[],
        }
    }

    /// Why `clients` clients cannot play this scenario, if they cannot.
    pub fn check_clients(self, clients: usize) -> Result<(), String> {
        match self {
            Scenario::Flood if clients < 2 => {
                Err("the flood needs at least 2 clients: a shouter and a reader".to_owned())
            }
            Scenario::Stall if clients < 3 => Err(
                "the stall needs at least 3 clients: a shouter, a reader and one that stops reading"
                    .to_owned(),
            ),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.to_possible_value().map(|v| v.get_name().to_owned());
        f.write_str(&name.unwrap_or_default())
    }
}

/// Everything a worker needs to play its share; crosses to worker processes as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadConfig {
    /// The server's WebSocket endpoint, `ws://host:port/ws`.
    pub url: String,
    pub clients: usize,
    pub ramp: Duration,
    /// How long the run lasts after the ramp.
    pub duration: Duration,
    pub scenario: Scenario,
    pub room_size: u8,
    /// `say`s per second per chatting or matched client.
    pub say_rate: f64,
    /// `shout`s per second over all clients (broadcast and mixed).
    pub shout_rate: f64,
    /// Source addresses for client sockets, dealt round-robin (empty: the kernel's choice).
    pub sources: Vec<Ipv4Addr>,
    /// When the server started, to time ticks; from its admin stats.
    pub server_started_unix_ms: Option<u64>,
}

impl LoadConfig {
    fn shouters(&self) -> usize {
        match self.scenario {
            Scenario::Broadcast | Scenario::Mixed if self.shout_rate > 0.0 => {
                (self.shout_rate.ceil() as usize).clamp(1, self.clients.max(1))
            }
            Scenario::Flood | Scenario::Stall if self.shout_rate > 0.0 => 1,
            _ => 0,
        }
    }

    fn shout_period(&self) -> Duration {
        let per_shouter = self.shout_rate / self.shouters().max(1) as f64;
        Duration::from_secs_f64(1.0 / per_shouter.max(1e-3))
    }

    fn say_period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.say_rate.max(1e-3))
    }
}

/// How a run is carried out, beside what it does.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The server's admin address (`host:port`), sampled once a second; `None` to skip.
    pub admin: Option<String>,
    /// Most clients per process; more clients than this start worker processes.
    pub clients_per_worker: usize,
    /// Show a progress bar and a line per second.
    pub progress: bool,
}

/// Why a load run could not run (failures of clients are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("starting a worker process: {0}")]
    Spawn(std::io::Error),
    #[error("a worker process ended without its result")]
    WorkerLost,
    #[error("running the clients' runtimes: {0}")]
    Clients(std::io::Error),
}

/// Runs the load described by `config` and returns what it measured.
pub async fn run_load(
    mut config: LoadConfig,
    options: RunOptions,
) -> Result<LoadReport, LoadError> {
    let first_stats = match &options.admin {
        Some(admin) => fetch_server_stats(admin).await.ok(),
        None => None,
    };
    if let Some(stats) = &first_stats {
        config.server_started_unix_ms = Some(stats.started_unix_ms);
    }
    let engine = first_stats.as_ref().map(|stats| stats.engine.clone());
    let config = Arc::new(config);
    let workers = config
        .clients
        .div_ceil(options.clients_per_worker.max(1))
        .max(1);
    let started = Instant::now();
    let end = started + config.ramp + config.duration;
    let source = if workers == 1 {
        Source::in_process(config.clone(), started)
    } else {
        Source::processes(&config, workers)?
    };
    let progress = progress_bar(&options, config.clients);
    let mut seconds = Vec::new();
    let mut server = Vec::new();
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.tick().await;
    let mut last = Second::default();
    if let Some(stats) = first_stats {
        server.push(ServerSample::of(0.0, &stats));
    }
    while Instant::now() < end {
        tokio::select! {
            _ = interval.tick() => {}
            () = tokio::time::sleep_until(end) => break,
        }
        let t = started.elapsed().as_secs_f64();
        let now = source.second();
        let line = SecondLine::between(t, &last, &now);
        progress.set_position(now.connected);
        let text = line.render();
        if progress.is_hidden() {
            if options.progress {
                eprintln!("{text}");
            }
        } else {
            progress.println(text);
        }
        seconds.push(line);
        last = now;
        if let Some(admin) = &options.admin
            && let Ok(stats) = fetch_server_stats(admin).await
        {
            server.push(ServerSample::of(t, &stats));
        }
    }
    progress.finish_and_clear();
    let results = source.finish().await?;
    Ok(LoadReport::build(
        &config, workers, &results, seconds, server, engine,
    ))
}

fn progress_bar(options: &RunOptions, clients: usize) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(clients as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} clients connected")
    {
        bar.set_style(style);
    }
    bar
}

/// A worker process's latest second (taken when read) and its result once it ended.
type WorkerLatest = (Second, Option<WorkerResult>);

/// Where the coordinator's figures come from: its own clients, or worker processes.
enum Source {
    InProcess {
        live: Arc<Live>,
        stop: CancellationToken,
        clients: tokio::task::JoinHandle<std::io::Result<()>>,
    },
    Processes {
        /// Each worker's latest second (taken when read) and its result once it ends.
        latest: Arc<Mutex<Vec<WorkerLatest>>>,
        readers: Vec<tokio::task::JoinHandle<()>>,
    },
}

impl Source {
    fn in_process(config: Arc<LoadConfig>, started: Instant) -> Source {
        let live = Arc::new(Live::default());
        let stop = CancellationToken::new();
        let range = 0..config.clients;
        let clients = tokio::spawn(worker::run_on_runtimes(
            config,
            range,
            live.clone(),
            started,
            stop.clone(),
            worker::runtimes_per_worker(1),
        ));
        Source::InProcess {
            live,
            stop,
            clients,
        }
    }

    fn processes(config: &LoadConfig, workers: usize) -> Result<Source, LoadError> {
        let exe = std::env::current_exe().map_err(LoadError::Spawn)?;
        let json = serde_json::to_string(config).unwrap_or_default();
        let latest = Arc::new(Mutex::new(vec![(Second::default(), None); workers]));
        let per_worker = config.clients.div_ceil(workers);
        let mut readers = Vec::new();
        for n in 0..workers {
            let first = n * per_worker;
            let count = per_worker.min(config.clients.saturating_sub(first));
            let mut child = tokio::process::Command::new(&exe)
                .arg("load-worker")
                .arg("--config")
                .arg(&json)
                .arg("--first")
                .arg(first.to_string())
                .arg("--count")
                .arg(count.to_string())
                .arg("--runtimes")
                .arg(worker::runtimes_per_worker(workers).to_string())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(LoadError::Spawn)?;
            let stdout = child.stdout.take().ok_or(LoadError::WorkerLost)?;
            let latest = latest.clone();
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut latest = latest.lock().unwrap_or_else(|e| e.into_inner());
                    match serde_json::from_str::<Line>(&line) {
                        Ok(Line::Second(second)) => latest[n].0 = second,
                        Ok(Line::Result(result)) => latest[n].1 = Some(result),
                        Err(error) => tracing::warn!(%error, "a worker printed a bad line"),
                    }
                }
                let _ = child.wait().await;
            }));
        }
        Ok(Source::Processes { latest, readers })
    }

    /// Every worker's counters now, summed, and their latencies of the last second, merged.
    /// The CPU time is the whole generator's: this process's (which runs the clients itself
    /// when they are in-process) plus every worker process's.
    fn second(&self) -> Second {
        match self {
            Source::InProcess { live, .. } => live.second(),
            Source::Processes { latest, .. } => {
                let mut latest = latest.lock().unwrap_or_else(|e| e.into_inner());
                let mut sum = Second {
                    cpu_seconds: crate::measure::process::cpu_seconds(),
                    ..Second::default()
                };
                for (second, _) in latest.iter_mut() {
                    sum.absorb(second);
                }
                sum
            }
        }
    }

    async fn finish(self) -> Result<Vec<WorkerResult>, LoadError> {
        match self {
            Source::InProcess {
                live,
                stop,
                clients,
            } => {
                stop.cancel();
                match clients.await {
                    Ok(Ok(())) => Ok(vec![live.finish()]),
                    Ok(Err(error)) => Err(LoadError::Clients(error)),
                    Err(error) => Err(LoadError::Clients(std::io::Error::other(error))),
                }
            }
            Source::Processes { latest, readers } => {
                for reader in readers {
                    let _ = reader.await;
                }
                let mut latest = latest.lock().unwrap_or_else(|e| e.into_inner());
                latest
                    .iter_mut()
                    .map(|(_, result)| result.take().ok_or(LoadError::WorkerLost))
                    .collect()
            }
        }
    }
}

/// Merges the workers' histograms of one kind.
fn merged(results: &[WorkerResult], pick: impl Fn(&WorkerResult) -> &Recorded) -> LatencySummary {
    let parts: Vec<&Recorded> = results.iter().map(pick).collect();
    LatencySummary::of(&Recorded::histogram(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(scenario: Scenario, clients: usize, shout_rate: f64) -> LoadConfig {
        LoadConfig {
            url: String::new(),
            clients,
            ramp: Duration::ZERO,
            duration: Duration::ZERO,
            scenario,
            room_size: 4,
            say_rate: 1.0,
            shout_rate,
            sources: Vec::new(),
            server_started_unix_ms: None,
        }
    }

    /// The flood and the stall have one shouter whatever the rate, which is its own rate: a
    /// broadcast spreads its rate over one shouter per shout a second.
    #[test]
    fn the_flood_and_the_stall_have_one_shouter_at_the_whole_rate() {
        for scenario in [Scenario::Flood, Scenario::Stall] {
            let rate = scenario.default_shout_rate();
            let one = config(scenario, 200, rate);
            assert_eq!(one.shouters(), 1, "{scenario}");
            assert_eq!(one.shout_period(), Duration::from_secs_f64(1.0 / rate));
            assert_eq!(config(scenario, 200, 0.0).shouters(), 0, "{scenario}");
            assert_eq!(scenario.serve_args(), ["--rate", "100000"]);
        }
        assert_eq!(config(Scenario::Broadcast, 200, 5.0).shouters(), 5);
        assert!(Scenario::Mixed.serve_args().is_empty());
    }

    #[test]
    fn too_few_clients_for_a_role_are_refused() {
        assert!(Scenario::Flood.check_clients(1).is_err());
        assert!(Scenario::Flood.check_clients(2).is_ok());
        assert!(Scenario::Stall.check_clients(2).is_err());
        assert!(Scenario::Stall.check_clients(3).is_ok());
        assert!(Scenario::Mixed.check_clients(1).is_ok());
    }
}
