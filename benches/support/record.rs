//! The per-case JSON record the report reads from
//! `target/lockchan-bench/{group}__{engine}__{param}.json`: the totals a case adds up, the
//! machine it was measured on, and where it is written. The record's format is the library's
//! `lockchan::bench_extras::BenchRecord`, so the report reads exactly what is written here.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use hdrhistogram::Histogram;
use lockchan::bench_extras::{BenchMachine, BenchRecord, ContextSwitches, Fairness, Latency};

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
    ) -> BenchRecord {
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
        BenchRecord {
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

/// The machine, read once per bench binary. Each bench calls it before its first case, so
/// the commands it runs never overlap a measurement.
pub fn machine() -> &'static BenchMachine {
    static MACHINE: OnceLock<BenchMachine> = OnceLock::new();
    MACHINE.get_or_init(|| {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split(':').nth(1))
            .map(str::trim)
            .filter(|name| !name.is_empty());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok();
        BenchMachine {
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
pub fn write_record(record: &BenchRecord) {
    if profile() == Profile::Test {
        return;
    }
    let dir = record_dir();
    let name = record.file_name();
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
