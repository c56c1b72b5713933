//! The gate's trials: interleaved rounds of the `mixed` benchmark at four caller threads.
//!
//! A trial is one run of the criterion bench binary (`benches/engines.rs`) filtered to one
//! case, `mixed/<engine>-<shards>/t4`, in a fresh process: the same workload, harness and
//! settings as `cargo bench`, so the gate judges what the report shows. Each round runs every
//! candidate once, in the order [`schedule`] shuffles for it, so that the shared machine's
//! drift lands on all candidates alike. A trial's figures are the case's throughput
//! (criterion's mean time per iteration over its ten samples) and the p99 latency the bench's
//! record gives; both are kept, one per round, in a [`ResultSet`].
//!
//! Why a process per trial: each trial starts from the same state (no allocator or cache
//! warmed by the previous candidate, no threads left behind), and the bench binary is the one
//! `cargo bench` runs, not a second copy of its workload.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{GATE_THREADS, GATE_WORKLOAD, OPS_METRIC, P99_METRIC, gate_case};
use crate::engines::registry::EngineSpec;
use crate::measure::bench_extras::BenchRecord;
use crate::measure::criterion::read_criterion;
use crate::measure::files::read_json;
use crate::measure::verdict::{Better, Provenance, ResultSet, schedule};

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
    #[error("the gate needs at least one round")]
    NoRounds,
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
}

/// One finished trial, for progress output.
#[derive(Clone, Debug)]
pub struct TrialDone {
    pub round: usize,
    pub spec: EngineSpec,
    pub ops_per_sec: f64,
    pub p99_us: f64,
    pub seconds: f64,
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
    let mut set = ResultSet::new(Provenance::read());
    set.declare(OPS_METRIC, "ops/s", Better::Higher);
    set.declare(P99_METRIC, "µs", Better::Lower);
    let case = gate_case();
    for (round, order) in schedule(specs.len(), settings.rounds, settings.seed)
        .into_iter()
        .enumerate()
    {
        for index in order {
            let spec = specs[index];
            let started = Instant::now();
            let (ops_per_sec, p99_us) = trial(bench, spec, settings)?;
            let name = spec.to_string();
            // Both figures are finite and declared: a trial that is not has already failed.
            let pushed = set
                .push(&case, &name, OPS_METRIC, ops_per_sec)
                .and_then(|()| set.push(&case, &name, P99_METRIC, p99_us));
            if pushed.is_err() {
                return Err(TrialError::Missing {
                    case,
                    spec,
                    what: "finite figure",
                });
            }
            progress(&TrialDone {
                round,
                spec,
                ops_per_sec,
                p99_us,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }
    Ok(set)
}

/// The criterion id of a candidate's case, as the benches name it: `mixed/lock-4/t4`.
fn bench_id(spec: EngineSpec) -> String {
    format!(
        "{GATE_WORKLOAD}/{}-{}/t{GATE_THREADS}",
        spec.kind, spec.shards
    )
}

/// Runs one trial and reads its throughput and p99.
fn trial(
    bench: &BenchBinary,
    spec: EngineSpec,
    settings: &RunSettings,
) -> Result<(f64, f64), TrialError> {
    let id = bench_id(spec);
    let criterion_dir = settings.scratch.join("criterion");
    let record_dir = settings.scratch.join("lockchan-bench");
    // The previous trial's files must not pass for this one's.
    let _ = std::fs::remove_dir_all(criterion_dir.join(&id));
    let record = record_dir.join(format!(
        "{GATE_WORKLOAD}__{}-{}__t{GATE_THREADS}.json",
        spec.kind, spec.shards
    ));
    let _ = std::fs::remove_file(&record);
    let mut command = Command::new(bench.path());
    command
        .args(["--bench", &format!("^{id}$")])
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
    let failed = |status: String, stderr: String| TrialError::Failed {
        case: gate_case(),
        spec,
        status,
        stderr,
    };
    if !output.status.success() {
        return Err(failed(output.status.to_string(), tail(&output.stderr)));
    }
    let missing = |what| TrialError::Missing {
        case: gate_case(),
        spec,
        what,
    };
    let results = read_criterion(&criterion_dir, &mut Vec::new())
        .map_err(|err| failed("unreadable results".to_owned(), err.to_string()))?;
    let ops_per_sec = results
        .iter()
        .filter(|r| r.group == GATE_WORKLOAD && r.contender.spec() == Some(spec))
        .filter(|r| r.param.raw == format!("t{GATE_THREADS}"))
        .find_map(|r| r.ops_per_sec())
        .ok_or_else(|| missing("criterion result"))?;
    if !record.exists() {
        return Err(missing("bench record"));
    }
    let record: BenchRecord = read_json(&record)
        .map_err(|err| failed("unreadable record".to_owned(), err.to_string()))?;
    if record.latency_us.p99 == 0 {
        return Err(missing("p99 latency"));
    }
    Ok((ops_per_sec, record.latency_us.p99 as f64))
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

    #[test]
    fn a_trial_runs_the_benches_own_case_id() {
        assert_eq!(
            bench_id(EngineSpec::new(EngineKind::LOCK, 4)),
            "mixed/lock-4/t4"
        );
        assert_eq!(
            bench_id(EngineSpec::new(EngineKind::ACTOR, 1)),
            "mixed/actor-1/t4"
        );
    }

    #[test]
    fn zero_rounds_is_an_error_not_an_empty_verdict() {
        let bench = BenchBinary::at(PathBuf::from("/nonexistent"));
        let settings = RunSettings {
            rounds: 0,
            seed: 1,
            quick: true,
            scratch: std::env::temp_dir(),
        };
        let err = measure(&bench, &[], &settings, |_| {}).expect_err("no rounds");
        assert_eq!(err.to_string(), "the gate needs at least one round");
    }

    #[test]
    fn a_bench_that_cannot_start_is_named() {
        let bench = BenchBinary::at(PathBuf::from("/nonexistent/engines"));
        let settings = RunSettings {
            rounds: 1,
            seed: 1,
            quick: true,
            scratch: std::env::temp_dir().join("lockchan-gate-nonexistent"),
        };
        let specs = [EngineSpec::new(EngineKind::LOCK, 1)];
        let err = measure(&bench, &specs, &settings, |_| {}).expect_err("no binary");
        assert_eq!(err.to_string(), "cannot run /nonexistent/engines");
    }
}
