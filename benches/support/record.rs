//! The per-case JSON record the report reads from
//! `target/lockchan-bench/{group}__{engine}__{param}.json`: the totals a case adds up, the
//! record's schema, the machine it was measured on, and where it is written.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::fairness::jain;
use super::profile::{Profile, profile};
use super::usage::{PeakRss, Usage};

/// Totals of one case over every batch criterion ran (warm-up included, since criterion does
/// not say which calls are warm-up), from which the record's per-operation figures come.
pub struct Tally {
    pub ops: u64,
    /// Per thread: operations made while every thread was still working (see
    /// [`Window`](super::Window)).
    window: Vec<u64>,
    cpu: Duration,
    voluntary: u64,
    involuntary: u64,
}

impl Tally {
    pub fn new(threads: usize) -> Tally {
        Tally {
            ops: 0,
            window: vec![0; threads],
            cpu: Duration::ZERO,
            voluntary: 0,
            involuntary: 0,
        }
    }

    /// Adds one batch: each thread's total operations and its count when the first finished.
    pub fn add_batch(&mut self, per_thread: impl IntoIterator<Item = (u64, u64)>) {
        for (slot, (ops, window)) in self.window.iter_mut().zip(per_thread) {
            self.ops += ops;
            *slot += window;
        }
    }

    /// Adds the resources used between two readings taken around some batches.
    pub fn add_usage(&mut self, before: &Usage, after: &Usage) {
        self.cpu += after.cpu.saturating_sub(before.cpu);
        self.voluntary += after.voluntary.saturating_sub(before.voluntary);
        self.involuntary += after.involuntary.saturating_sub(before.involuntary);
    }

    /// The record of a case.
    pub fn record(
        &self,
        case: Case<'_>,
        latency: Option<&Histogram<u64>>,
        peak: &PeakRss,
    ) -> Record {
        let per_op = |total: f64| {
            if self.ops == 0 {
                0.0
            } else {
                total / self.ops as f64
            }
        };
        let latency = latency.map_or(
            Latency {
                p50: 0,
                p99: 0,
                p999: 0,
                max: 0,
            },
            |h| Latency {
                p50: h.value_at_quantile(0.5),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
            },
        );
        Record {
            group: case.group.to_owned(),
            engine: case.engine.to_owned(),
            param: case.param.to_owned(),
            threads: case.threads,
            ops: self.ops,
            latency_us: latency,
            fairness: Fairness {
                min_ops: self.window.iter().copied().min().unwrap_or(0),
                max_ops: self.window.iter().copied().max().unwrap_or(0),
                jain: jain(&self.window),
            },
            cpu_us_per_op: per_op(self.cpu.as_secs_f64() * 1e6),
            ctx_switches_per_op: ContextSwitches {
                voluntary: per_op(self.voluntary as f64),
                involuntary: per_op(self.involuntary as f64),
            },
            peak_rss_kb: peak.kb(),
            peak_queue_depth: None,
            machine: machine().clone(),
        }
    }
}

/// Names a case the way criterion and the record do: `group/engine/param`.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    pub group: &'a str,
    pub engine: &'a str,
    pub param: &'a str,
    pub threads: usize,
}

/// One case's figures beside criterion's, in the schema the report reads.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub group: String,
    pub engine: String,
    pub param: String,
    pub threads: usize,
    pub ops: u64,
    pub latency_us: Latency,
    pub fairness: Fairness,
    pub cpu_us_per_op: f64,
    pub ctx_switches_per_op: ContextSwitches,
    pub peak_rss_kb: u64,
    /// The deepest any engine queue got during the case (the actor engine's mailboxes);
    /// `null` for a contender without queues.
    pub peak_queue_depth: Option<usize>,
    pub machine: Machine,
}

#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Fairness {
    pub min_ops: u64,
    pub max_ops: u64,
    pub jain: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ContextSwitches {
    pub voluntary: f64,
    pub involuntary: f64,
}

/// The machine and build a figure came from, so that none is read without them.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub rustc: String,
    pub commit: String,
    pub date: String,
}

/// The machine, read once per bench binary. Each bench calls it before its first case, so
/// the commands it runs never overlap a measurement.
pub fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(|| {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split(':').nth(1))
            .map(str::trim)
            .filter(|name| !name.is_empty());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok();
        Machine {
            cpu: known(cpu.map(str::to_owned)),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: known(kernel.map(|k| k.trim().to_owned())),
            rustc: known(command("rustc", &["--version"])),
            commit: known(command("git", &["rev-parse", "--short", "HEAD"])),
            date: known(command("date", &["-u", "+%FT%TZ"])),
        }
    })
}

fn known(value: Option<String>) -> String {
    value
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The trimmed standard output of a command that succeeded; `None` if it could not run or
/// failed (no git checkout, no `date`), which the record shows as "unknown".
fn command(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Where the records go: `target/lockchan-bench` under `CARGO_TARGET_DIR` if it is set, else
/// under the package.
pub fn record_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("lockchan-bench")
}

/// Writes a case's record as `{group}__{engine}__{param}.json`, unless this is a test run.
/// A record that cannot be written is reported and skipped: the criterion figures stand
/// without it.
pub fn write_record(record: &Record) {
    if profile() == Profile::Test {
        return;
    }
    let dir = record_dir();
    let name = format!("{}__{}__{}.json", record.group, record.engine, record.param);
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let json = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(&name), json + "\n")
    });
    if let Err(err) = written {
        eprintln!(
            "lockchan-bench: could not write {}: {err}",
            dir.join(name).display()
        );
    }
}
