//! The duel: one fixed, seeded workload run on the sequential model and on every registered
//! engine, with throughput, latency and the invariants of every client's stream side by side.
//!
//! [`DuelReport`] is `reports/duel.json`'s format, declared here once: `lockchan duel` writes it
//! and the report reads it back with the same type.

mod table;
mod workload;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::Snapshot;
use crate::engines::engine::Engine;
use crate::engines::registry::{EngineKind, EngineSpec};
use crate::invariants::check_empty;
use crate::measure::verdict::schedule;
use crate::spec::model::Model;
use workload::{Shared, run_thread};

pub use table::{render_table, verdict_lines};

/// The duel's knobs; the defaults finish well inside a minute on two cores.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DuelConfig {
    pub clients: usize,
    pub threads: usize,
    pub shards: Vec<usize>,
    /// User limit of every room; `clients` should be a multiple of it so every room fills.
    pub room_size: u8,
    pub rounds: usize,
    /// `Say`s per client per round.
    pub says: usize,
    /// `Shout`s per round, spread over the threads.
    pub shouts: usize,
    pub outbox_capacity: usize,
    pub seed: u64,
    /// Interleaved rounds of the contenders: each round runs every one once, in a shuffled
    /// order, and the verdicts compare the rounds' figures. Absent (1) in older duel files.
    #[serde(default = "one_trial")]
    pub trials: usize,
}

fn one_trial() -> usize {
    1
}

impl Default for DuelConfig {
    fn default() -> DuelConfig {
        DuelConfig {
            clients: 8000,
            threads: 4,
            shards: vec![1, 4],
            room_size: 4,
            rounds: 10,
            says: 4,
            shouts: 8,
            outbox_capacity: crate::DEFAULT_OUTBOX_CAPACITY,
            seed: 1,
            trials: 5,
        }
    }
}

impl DuelConfig {
    /// The engines the duel runs after the model, in order: for each of `shards` in turn, every
    /// registered engine that takes it. An engine without shards runs once, with the first.
    pub fn contenders(&self) -> Vec<EngineSpec> {
        let mut specs: Vec<EngineSpec> = Vec::new();
        for &shards in &self.shards {
            for kind in EngineKind::all() {
                let spec = EngineSpec::new(kind, shards);
                if !specs.contains(&spec) {
                    specs.push(spec);
                }
            }
        }
        specs
    }
}

/// One contender's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DuelRow {
    pub engine: String,
    pub threads: usize,
    pub ops: u64,
    pub seconds: f64,
    pub ops_per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub events_delivered: u64,
    pub slow_consumer_cuts: u64,
    /// Every rule held: each client's stream, and nothing left behind at the end.
    pub invariants_held: bool,
    /// The first rules broken; absent from a row that broke none.
    #[serde(default)]
    pub broken: Vec<String>,
}

/// The machine a duel ran on, so a figure is never read without it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub os: String,
    pub unix_time: u64,
    pub lockchan: String,
}

/// `reports/duel.json`: the knobs, the machine, one row per contender (model first; for an
/// engine, its trial of median throughput, with the invariants of all its trials), and every
/// trial's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DuelReport {
    pub config: DuelConfig,
    pub machine: Machine,
    pub rows: Vec<DuelRow>,
    /// Every engine trial, in the order run. Absent in duel files written before trials.
    #[serde(default)]
    pub trials: Vec<DuelTrial>,
}

/// One engine's figures in one round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuelTrial {
    pub engine: String,
    pub round: usize,
    pub ops_per_sec: f64,
    pub p99_us: u64,
}

/// Runs the model once (the floor), then every contender ([`DuelConfig::contenders`]) in
/// `config.trials` interleaved rounds, each trial on a fresh engine; reports the model first
/// and the contenders in their order.
pub fn run_duel(config: &DuelConfig, mut progress: impl FnMut(&DuelRow)) -> DuelReport {
    let mut rows = Vec::new();
    let model = SequentialModel::new(EngineConfig::default());
    let row = run_one(&model, "model", 1, config);
    progress(&row);
    rows.push(row);
    let contenders = config.contenders();
    let mut runs: Vec<Vec<DuelRow>> = vec![Vec::new(); contenders.len()];
    let mut trials = Vec::new();
    for (round, order) in schedule(contenders.len(), config.trials.max(1), config.seed)
        .into_iter()
        .enumerate()
    {
        for index in order {
            let engine = contenders[index].build(EngineConfig::default());
            let row = run_one(&*engine, &engine.name(), config.threads, config);
            progress(&row);
            trials.push(DuelTrial {
                engine: row.engine.clone(),
                round,
                ops_per_sec: row.ops_per_sec,
                p99_us: row.p99_us,
            });
            runs[index].push(row);
        }
    }
    rows.extend(runs.into_iter().filter_map(median_row));
    DuelReport {
        config: config.clone(),
        machine: machine(),
        rows,
        trials,
    }
}

/// A contender's row: its trial of median throughput (the lower middle one of an even count),
/// holding only if every trial held, with the first rules any trial broke.
fn median_row(mut runs: Vec<DuelRow>) -> Option<DuelRow> {
    let held = runs.iter().all(|row| row.invariants_held);
    let broken: Vec<String> = runs
        .iter()
        .flat_map(|row| row.broken.iter().cloned())
        .take(20)
        .collect();
    runs.sort_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec));
    let middle = runs.len().checked_sub(1)? / 2;
    let mut row = runs.swap_remove(middle);
    row.invariants_held = held;
    row.broken = broken;
    Some(row)
}

fn run_one(engine: &dyn Engine, name: &str, threads: usize, config: &DuelConfig) -> DuelRow {
    let threads = threads.clamp(1, config.clients.max(1));
    let barrier = Barrier::new(threads);
    let shared = Shared {
        engine,
        config,
        barrier: &barrier,
        start: Instant::now(),
        threads,
    };
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let shared = &shared;
                scope.spawn(move || run_thread(shared, thread))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a duel thread panicked"))
            .collect()
    });
    let seconds = shared.start.elapsed().as_secs_f64();
    let snapshot = engine.snapshot();
    let mut latency = latency_histogram();
    let mut ops = 0;
    let mut broken = check_empty(&snapshot);
    for result in results {
        ops += result.ops;
        latency
            .add(&result.latency)
            .expect("same-shaped histograms add");
        broken.extend(result.broken);
    }
    DuelRow {
        engine: name.to_owned(),
        threads,
        ops,
        seconds,
        ops_per_sec: ops as f64 / seconds,
        p50_us: latency.value_at_quantile(0.5),
        p99_us: latency.value_at_quantile(0.99),
        max_us: latency.max(),
        events_delivered: snapshot.counters.events_delivered,
        slow_consumer_cuts: snapshot.counters.slow_consumer_cuts,
        invariants_held: broken.is_empty(),
        broken: broken.into_iter().take(20).collect(),
    }
}

/// The model as an [`Engine`] for the duel's single caller thread. The mutex is never
/// contended, so what it measures is the model's own work: the floor under both engines.
struct SequentialModel(std::sync::Mutex<Model>);

impl SequentialModel {
    fn new(config: EngineConfig) -> SequentialModel {
        SequentialModel(std::sync::Mutex::new(Model::new(config)))
    }

    fn model(&self) -> std::sync::MutexGuard<'_, Model> {
        // A panic while the model was held already failed the duel; its state is still sound.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Engine for SequentialModel {
    fn name(&self) -> String {
        "model".to_owned()
    }
    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId {
        self.model().connect(player, outbox)
    }
    fn submit(&self, client: ClientId, command: Command) {
        self.model().submit(client, command)
    }
    fn disconnect(&self, client: ClientId) {
        self.model().disconnect(client)
    }
    fn tick(&self, now: Duration) {
        self.model().tick(now)
    }
    fn snapshot(&self) -> Snapshot {
        self.model().snapshot()
    }
    fn quiesce(&self) {}
}

/// Microseconds from 1 µs to a minute at three significant figures; a slower delivery is
/// recorded as a minute, which no healthy run comes near.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("the bounds are valid")
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split(':').nth(1))
        .map_or_else(|| "unknown".to_owned(), |name| name.trim().to_owned());
    let unix_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        unix_time,
        lockchan: env!("CARGO_PKG_VERSION").to_owned(),
    }
}
