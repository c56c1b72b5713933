//! Trials: interleaved rounds of the engine benchmarks at one caller-thread count, for the
//! gate (`mixed` at four threads) and for the report's verdicts (`lockchan rounds`: every
//! closed-loop workload).
//!
//! A trial is one run of the criterion bench binary (`benches/engines.rs`) filtered to one
//! contender's cases, `^(mixed|churn)/<engine>-<shards>/t4$`, in a fresh process: the same
//! workloads, harness and settings as `cargo bench`, so the verdicts judge what the report
//! shows. Each round runs every contender once, in the order [`schedule`] shuffles for it, so
//! that the shared machine's drift lands on all contenders alike. A trial's figures per
//! workload are the case's throughput (criterion's mean time per iteration over its ten
//! samples) and, where the workload times deliveries, the p99 latency the bench's record
//! gives; both are kept, one per round, in a [`ResultSet`] under the case `workload/t4`.
//!
//! Why a process per trial: each trial starts from the same state (no allocator or cache
//! warmed by the previous candidate, no threads left behind), and the bench binary is the one
//! `cargo bench` runs, not a second copy of its workload.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::engines::registry::EngineSpec;
use crate::measure::bench_extras::BenchRecord;
use crate::measure::criterion::read_criterion;
use crate::measure::files::read_json;
use crate::measure::verdict::{Better, Provenance, ResultSet, schedule};

/// The throughput metric of the trials: operations per second, higher is better.
pub const OPS_METRIC: &str = "ops_per_sec";
/// The latency metric of the trials: the case's p99 submission-to-delivery, microseconds,
/// lower is better.
pub const P99_METRIC: &str = "p99_us";

/// The result set of `lockchan rounds` inside the reports directory.
pub const ROUNDS_FILE: &str = "trials.json";

/// The closed-loop workloads of the engine benches, each measured at every thread count:
/// what `lockchan rounds` measures by default.
pub const CLOSED_LOOP_WORKLOADS: [&str; 6] = [
    "churn",
    "room_chat",
    "shout_fanout_1k",
    "shout_fanout_10k",
    "tick_all",
    "mixed",
];

/// Why a trial could not run or be read.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    #[error("cannot run {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("building the bench failed ({status}):\n{stderr}")]
    Build { status: String, stderr: String },
    #[error("cargo named no executable for the `engines` bench")]
    NoExecutable,
    #[error("the {case} trial of {spec} failed ({status}):\n{stderr}")]
    Failed {
        case: String,
        spec: EngineSpec,
        status: String,
        stderr: String,
    },
    #[error("the {case} trial of {spec} left no {what}")]
    Missing {
        case: String,
        spec: EngineSpec,
        what: &'static str,
    },
    #[error("trials need at least one round")]
    NoRounds,
    #[error("trials need at least one workload")]
    NoWorkloads,
}

/// The criterion bench binary the trials run.
#[derive(Clone, Debug)]
pub struct BenchBinary {
    path: PathBuf,
}

impl BenchBinary {
    /// Builds the `engines` bench with `cargo bench --no-run` (in the current directory,
    /// which must be the project's) and finds its executable.
    pub fn build() -> Result<BenchBinary, TrialError> {
        let output = Command::new("cargo")
            .args([
                "bench",
                "--bench",
                "engines",
                "--no-run",
                "--message-format=json",
            ])
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| TrialError::Spawn {
                program: "cargo".to_owned(),
                source,
            })?;
        if !output.status.success() {
            return Err(TrialError::Build {
                status: output.status.to_string(),
                stderr: tail(&output.stderr),
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let path = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["reason"] == "compiler-artifact")
            .filter(|message| message["target"]["name"] == "engines")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .ok_or(TrialError::NoExecutable)?;
        Ok(BenchBinary { path })
    }

    /// A bench binary already built.
    pub fn at(path: PathBuf) -> BenchBinary {
        BenchBinary { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// How the trials are run.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// Interleaved rounds: each runs every candidate once.
    pub rounds: usize,
    /// Seeds the order of each round.
    pub seed: u64,
    /// The bench's quick profile (`LOCKCHAN_BENCH_QUICK=1`): tiny sizes, for CI. Its figures
    /// show the procedure works, not which engine is faster.
    pub quick: bool,
    /// Where the trials' criterion and record files go, overwritten trial by trial.
    pub scratch: PathBuf,
    /// The bench groups measured (`mixed`, `churn`, …), each at `threads`.
    pub workloads: Vec<String>,
    /// Caller threads: the cases `…/t{threads}`.
    pub threads: u32,
}

impl RunSettings {
    /// The case id of a workload's trials in the result set: `mixed/t4`.
    pub fn case(&self, workload: &str) -> String {
        case_id(workload, self.threads)
    }
}

/// A case id in a trials result set: the workload at a thread count, `mixed/t4`.
pub fn case_id(workload: &str, threads: u32) -> String {
    format!("{workload}/t{threads}")
}

/// One finished trial, for progress output.
#[derive(Clone, Debug)]
pub struct TrialDone {
    pub round: usize,
    pub spec: EngineSpec,
    /// Per workload: throughput, and p99 where the workload times deliveries.
    pub figures: Vec<Figures>,
    pub seconds: f64,
}

/// One workload's figures from one trial.
#[derive(Clone, Debug)]
pub struct Figures {
    pub workload: String,
    pub ops_per_sec: f64,
    pub p99_us: Option<f64>,
}

/// Runs `settings.rounds` interleaved rounds of every one of `specs` and returns every
/// trial's figures, calling `progress` after each trial.
pub fn measure(
    bench: &BenchBinary,
    specs: &[EngineSpec],
    settings: &RunSettings,
    mut progress: impl FnMut(&TrialDone),
) -> Result<ResultSet, TrialError> {
    if settings.rounds == 0 {
        return Err(TrialError::NoRounds);
    }
    if settings.workloads.is_empty() {
        return Err(TrialError::NoWorkloads);
    }
    let mut set = ResultSet::new(Provenance::read());
    set.declare(OPS_METRIC, "ops/s", Better::Higher);
    set.declare(P99_METRIC, "µs", Better::Lower);
    for (round, order) in schedule(specs.len(), settings.rounds, settings.seed)
        .into_iter()
        .enumerate()
    {
        for index in order {
            let spec = specs[index];
            let started = Instant::now();
            let figures = trial(bench, spec, settings)?;
            let name = spec.to_string();
            for figure in &figures {
                let case = settings.case(&figure.workload);
                // A trial's figures are finite: `trial` refused any other.
                let mut pushed = set.push(&case, &name, OPS_METRIC, figure.ops_per_sec);
                if let Some(p99) = figure.p99_us {
                    pushed = pushed.and_then(|()| set.push(&case, &name, P99_METRIC, p99));
                }
                if pushed.is_err() {
                    return Err(TrialError::Missing {
                        case,
                        spec,
                        what: "finite figure",
                    });
                }
            }
            progress(&TrialDone {
                round,
                spec,
                figures,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }
    Ok(set)
}

/// The criterion filter of one contender's trial: `^(mixed|churn)/lock-4/t4$`, the ids the
/// benches give their cases.
fn bench_filter(spec: EngineSpec, settings: &RunSettings) -> String {
    format!(
        "^({})/{}-{}/t{}$",
        settings.workloads.join("|"),
        spec.kind,
        spec.shards,
        settings.threads
    )
}

/// Runs one trial (every workload of one contender) and reads its figures.
fn trial(
    bench: &BenchBinary,
    spec: EngineSpec,
    settings: &RunSettings,
) -> Result<Vec<Figures>, TrialError> {
    let criterion_dir = settings.scratch.join("criterion");
    let record_dir = settings.scratch.join("lockchan-bench");
    let param = format!("t{}", settings.threads);
    let id = format!("{}-{}", spec.kind, spec.shards);
    let record_of = |workload: &str| record_dir.join(format!("{workload}__{id}__{param}.json"));
    // The previous trial's files must not pass for this one's.
    for workload in &settings.workloads {
        let _ = std::fs::remove_dir_all(criterion_dir.join(workload).join(&id));
        let _ = std::fs::remove_file(record_of(workload));
    }
    let mut command = Command::new(bench.path());
    command
        .args(["--bench", &bench_filter(spec, settings)])
        // Criterion writes under `$CARGO_TARGET_DIR/criterion` and the bench its records
        // under `$CARGO_TARGET_DIR/lockchan-bench`.
        .env("CARGO_TARGET_DIR", &settings.scratch)
        .env_remove("CRITERION_HOME")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if settings.quick {
        command.env("LOCKCHAN_BENCH_QUICK", "1");
    } else {
        command.env_remove("LOCKCHAN_BENCH_QUICK");
    }
    let output = command.output().map_err(|source| TrialError::Spawn {
        program: bench.path().display().to_string(),
        source,
    })?;
    let all = settings.workloads.join(",");
    let failed = |status: String, stderr: String| TrialError::Failed {
        case: settings.case(&format!("{{{all}}}")),
        spec,
        status,
        stderr,
    };
    if !output.status.success() {
        return Err(failed(output.status.to_string(), tail(&output.stderr)));
    }
    let results = read_criterion(&criterion_dir, &mut Vec::new())
        .map_err(|err| failed("unreadable results".to_owned(), err.to_string()))?;
    let mut figures = Vec::new();
    for workload in &settings.workloads {
        let missing = |what| TrialError::Missing {
            case: settings.case(workload),
            spec,
            what,
        };
        let ops_per_sec = results
            .iter()
            .filter(|r| r.group == *workload && r.contender.spec() == Some(spec))
            .filter(|r| r.param.raw == param)
            .find_map(|r| r.ops_per_sec())
            .filter(|ops| ops.is_finite())
            .ok_or_else(|| missing("criterion result"))?;
        let record = record_of(workload);
        if !record.exists() {
            return Err(missing("bench record"));
        }
        let record: BenchRecord = read_json(&record)
            .map_err(|err| failed("unreadable record".to_owned(), err.to_string()))?;
        // A workload that does not time deliveries records a p99 of 0: no latency figure.
        let p99 = record.latency_us.p99;
        figures.push(Figures {
            workload: workload.clone(),
            ops_per_sec,
            p99_us: (p99 > 0).then_some(p99 as f64),
        });
    }
    Ok(figures)
}

/// The last lines of a process's error output, enough to say what went wrong.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::registry::EngineKind;

    fn settings(rounds: usize, workloads: &[&str]) -> RunSettings {
        RunSettings {
            rounds,
            seed: 1,
            quick: true,
            scratch: std::env::temp_dir().join("lockchan-trials-nonexistent"),
            workloads: workloads.iter().map(|w| (*w).to_owned()).collect(),
            threads: 4,
        }
    }

    #[test]
    fn a_trial_runs_the_benches_own_case_ids() {
        let one = settings(1, &["mixed"]);
        assert_eq!(
            bench_filter(EngineSpec::new(EngineKind::LOCK, 4), &one),
            "^(mixed)/lock-4/t4$"
        );
        let two = settings(1, &["mixed", "churn"]);
        assert_eq!(
            bench_filter(EngineSpec::new(EngineKind::ACTOR, 1), &two),
            "^(mixed|churn)/actor-1/t4$"
        );
        assert_eq!(two.case("churn"), "churn/t4");
    }

    #[test]
    fn zero_rounds_or_no_workload_is_an_error_not_an_empty_verdict() {
        let bench = BenchBinary::at(PathBuf::from("/nonexistent"));
        let err = measure(&bench, &[], &settings(0, &["mixed"]), |_| {}).expect_err("no rounds");
        assert_eq!(err.to_string(), "trials need at least one round");
        let err = measure(&bench, &[], &settings(1, &[]), |_| {}).expect_err("no workloads");
        assert_eq!(err.to_string(), "trials need at least one workload");
    }

    #[test]
    fn a_bench_that_cannot_start_is_named() {
        let bench = BenchBinary::at(PathBuf::from("/nonexistent/engines"));
        let specs = [EngineSpec::new(EngineKind::LOCK, 1)];
        let err = measure(&bench, &specs, &settings(1, &["mixed"]), |_| {}).expect_err("no binary");
        assert_eq!(err.to_string(), "cannot run /nonexistent/engines");
    }
}
