//! The gate: which engine a server may run. It reads the `mixed` benchmark and the
//! verification summary, scores every engine and shard count measured on `mixed`, and chooses
//! the fastest one that passed every check. An unverified engine is never chosen, however
//! fast; with no verification summary, nothing is.
//!
//! The decision goes to `reports/gate.json` so the server can read it back with
//! [`Gate::load`] without rereading the benchmarks.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engines::ENGINE_SOURCE_HASH;
use crate::engines::registry::{EngineKind, EngineSpec, UnknownEngine};
use crate::measure::criterion::{BenchResult, Contender, read_criterion};
use crate::measure::files::{InputError, read_json_if_present};
use crate::measure::format;
use crate::verify::VerificationReport;

/// The workload the gate scores engines on: joins, says, shouts and ticks together, the
/// closest of the benches to a server's day.
pub const GATE_WORKLOAD: &str = "mixed";

/// The score is taken at the highest measured thread count up to this. More caller threads
/// than that oversubscribe the machines the server runs on, and would reward whichever engine
/// copes best with oversubscription rather than with the work.
pub const MAX_SCORE_THREADS: u32 = 4;

/// The gate's file name inside the reports directory.
pub const GATE_FILE: &str = "gate.json";

/// Why the gate could not decide, be written, or be read back.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} chooses an engine that does not exist", path.display())]
    UnknownChoice {
        path: PathBuf,
        #[source]
        source: UnknownEngine,
    },
}

/// The gate's decision, as written to `gate.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// The engine to serve; `None` when no engine may be served.
    pub choice: Option<Choice>,
    /// Why, in one sentence.
    pub reason: String,
    /// Every engine and shard count measured on the gate's workload.
    pub candidates: Vec<Candidate>,
    pub inputs: GateInputs,
    /// The fingerprint of the engine sources the deciding binary was built from
    /// ([`ENGINE_SOURCE_HASH`]); absent in gates written before it was recorded.
    #[serde(default)]
    pub engine_source_hash: Option<String>,
}

/// The chosen engine: a registered engine's name (`lock`) and its shard count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub engine: String,
    pub shards: usize,
}

impl Choice {
    /// The engine to build.
    pub fn spec(&self) -> Result<EngineSpec, UnknownEngine> {
        Ok(EngineSpec::new(
            self.engine.parse::<EngineKind>()?,
            self.shards,
        ))
    }
}

/// One engine and shard count measured on the gate's workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub engine: String,
    pub shards: usize,
    /// Every check in the verification summary passed for it. Not named there, not verified.
    pub verified: bool,
    /// Operations per second at `threads`; `None` when it has no result at
    /// [`MAX_SCORE_THREADS`] caller threads or fewer.
    pub score_ops_per_sec: Option<f64>,
    /// The caller threads the score was measured with.
    pub threads: Option<u32>,
}

impl Candidate {
    fn label(&self) -> String {
        format!("{}/{}", self.engine, self.shards)
    }
}

/// Where the gate looked, and what it found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateInputs {
    pub criterion: InputStatus,
    pub verification: InputStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStatus {
    pub path: String,
    pub found: bool,
}

/// Scores every engine measured on [`GATE_WORKLOAD`] under `criterion_dir` (normally
/// `target/criterion`) and chooses the fastest one that passed every check in `verification`
/// (normally `reports/verification.json`). Missing inputs are a decision (nothing chosen),
/// not an error; an input that exists but cannot be read or parsed is an error.
pub fn decide(criterion_dir: &Path, verification: &Path) -> Result<Gate, GateError> {
    // Notes about half-written results matter to the report, not to the gate: such a result
    // has no score either way.
    let results = read_criterion(criterion_dir, &mut Vec::new())?;
    let summary: Option<VerificationReport> = read_json_if_present(verification)?;
    let candidates = candidates(&results, summary.as_ref());
    let (choice, reason) = choose(&candidates, summary.is_some(), criterion_dir, verification);
    Ok(Gate {
        choice,
        reason,
        candidates,
        inputs: GateInputs {
            criterion: InputStatus {
                path: criterion_dir.display().to_string(),
                found: !results.is_empty(),
            },
            verification: InputStatus {
                path: verification.display().to_string(),
                found: summary.is_some(),
            },
        },
        engine_source_hash: Some(ENGINE_SOURCE_HASH.to_owned()),
    })
}

/// Decides as [`decide`] does and writes the gate to `out` (normally `reports/gate.json`).
pub fn write_gate(
    criterion_dir: &Path,
    verification: &Path,
    out: &Path,
) -> Result<Gate, GateError> {
    let gate = decide(criterion_dir, verification)?;
    gate.save(out)?;
    Ok(gate)
}

impl Gate {
    /// Why this gate does not speak for the engines of this binary, or `None` when it does:
    /// a gate decided by a build of other engine sources measured other code.
    pub fn stale_reason(&self) -> Option<String> {
        match self.engine_source_hash.as_deref() {
            Some(hash) if hash == ENGINE_SOURCE_HASH => None,
            Some(hash) => Some(format!(
                "stale gate: it was decided on engine sources {hash}, and this binary was built \
                 from {ENGINE_SOURCE_HASH}; run `lockchan gate` again"
            )),
            None => Some(format!(
                "stale gate: it records no engine-source fingerprint, so nothing says it measured \
                 this binary's engines ({ENGINE_SOURCE_HASH}); run `lockchan gate` again"
            )),
        }
    }

    /// Writes the gate as pretty JSON, creating the directory it goes in.
    pub fn save(&self, path: &Path) -> Result<(), GateError> {
        let write_error = |source| GateError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        let json = serde_json::to_string_pretty(self).map_err(|err| write_error(err.into()))?;
        std::fs::write(path, json + "\n").map_err(write_error)
    }

    /// Reads a gate written by [`write_gate`]. A missing file is an error here: a server
    /// without a gate has no engine it may serve.
    pub fn load(path: &Path) -> Result<Gate, GateError> {
        let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
            path: path.to_owned(),
            source,
        })?;
        let gate: Gate = serde_json::from_str(&text).map_err(|source| InputError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if let Some(choice) = &gate.choice {
            choice.spec().map_err(|source| GateError::UnknownChoice {
                path: path.to_owned(),
                source,
            })?;
        }
        Ok(gate)
    }
}

/// Every engine and shard count with a result on the gate's workload, in registry order and
/// fewest shards first, each with its score. Only parameters that are a bare thread
/// count (`t4`) are scored, so a variant of the workload is never mistaken for it.
fn candidates(
    results: &[BenchResult],
    verification: Option<&VerificationReport>,
) -> Vec<Candidate> {
    let mut specs: Vec<Contender> = results
        .iter()
        .filter(|r| r.group == GATE_WORKLOAD && r.contender.spec().is_some())
        .map(|r| r.contender.clone())
        .collect();
    specs.sort();
    specs.dedup();
    specs
        .into_iter()
        .filter_map(|contender| contender.spec())
        .map(|spec| {
            let score = results
                .iter()
                .filter(|r| r.group == GATE_WORKLOAD && r.contender.spec() == Some(spec))
                .filter(|r| r.param.variant.is_empty())
                .filter_map(|r| {
                    let threads = r.param.threads.filter(|&t| t <= MAX_SCORE_THREADS)?;
                    Some((threads, r.ops_per_sec()?))
                })
                .max_by_key(|&(threads, _)| threads);
            Candidate {
                engine: spec.kind.to_string(),
                shards: spec.shards,
                verified: verification.is_some_and(|v| v.verified(spec)),
                score_ops_per_sec: score.map(|(_, ops)| ops),
                threads: score.map(|(threads, _)| threads),
            }
        })
        .collect()
}

/// The verified candidate with the best score, and the reason in one sentence. Equal scores
/// go to the candidate listed first (registry order, fewer shards first).
fn choose(
    candidates: &[Candidate],
    have_verification: bool,
    criterion_dir: &Path,
    verification: &Path,
) -> (Option<Choice>, String) {
    if !have_verification {
        return (
            None,
            format!(
                "no {}: run `lockchan verify` first; an unverified engine is never served",
                verification.display()
            ),
        );
    }
    if candidates.is_empty() {
        return (
            None,
            format!(
                "no `{GATE_WORKLOAD}` results under {}: run `cargo bench` first; an engine is \
                 chosen only on its measured score",
                criterion_dir.display()
            ),
        );
    }
    let verified: Vec<&Candidate> = candidates.iter().filter(|c| c.verified).collect();
    if verified.is_empty() {
        return (
            None,
            format!(
                "none of the {} engines measured on `{GATE_WORKLOAD}` passed every check in {}; \
                 an unverified engine is never served",
                candidates.len(),
                verification.display()
            ),
        );
    }
    let mut scored: Vec<(&Candidate, f64, u32)> = verified
        .iter()
        .filter_map(|c| Some((*c, c.score_ops_per_sec?, c.threads?)))
        .collect();
    // A stable sort keeps the listed order among equal scores.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let Some(&(winner, score, threads)) = scored.first() else {
        return (
            None,
            format!(
                "no verified engine has a `{GATE_WORKLOAD}` result at {MAX_SCORE_THREADS} caller \
                 threads or fewer: run `cargo bench` with those thread counts"
            ),
        );
    };
    let mut reason = match scored.get(1) {
        Some(&(runner_up, runner_score, runner_threads)) => format!(
            "{} is the fastest verified engine on `{GATE_WORKLOAD}`: {} ops/s at {threads} caller \
             threads, {}× {} ({} ops/s at {runner_threads})",
            winner.label(),
            format::rate(score),
            format::ratio(score / runner_score),
            runner_up.label(),
            format::rate(runner_score),
        ),
        None => format!(
            "{} is the only verified engine with a `{GATE_WORKLOAD}` score: {} ops/s at {threads} \
             caller threads",
            winner.label(),
            format::rate(score),
        ),
    };
    let faster_unverified: Vec<String> = candidates
        .iter()
        .filter(|c| !c.verified && c.score_ops_per_sec.is_some_and(|s| s > score))
        .map(Candidate::label)
        .collect();
    if !faster_unverified.is_empty() {
        let verb = if faster_unverified.len() == 1 {
            "scored higher but is"
        } else {
            "scored higher but are"
        };
        reason.push_str(&format!(
            "; {} {verb} not verified",
            faster_unverified.join(", ")
        ));
    }
    let choice = Choice {
        engine: winner.engine.clone(),
        shards: winner.shards,
    };
    (Some(choice), reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::testkit::Fixture;

    fn mixed(fixture: &Fixture, engine: &str, threads: u32, ops_per_sec: f64) {
        // 1000 operations per iteration, so the mean time follows from the rate wanted.
        fixture.bench(
            "mixed",
            engine,
            &format!("t{threads}"),
            Some(1000),
            1e12 / ops_per_sec,
        );
    }

    fn decide_in(fixture: &Fixture) -> Gate {
        decide(&fixture.criterion(), &fixture.verification_path()).expect("the gate decides")
    }

    #[test]
    fn the_faster_verified_engine_wins() {
        let fixture = Fixture::new("gate-faster");
        mixed(&fixture, "lock-4", 4, 1_000_000.0);
        mixed(&fixture, "actor-2", 4, 400_000.0);
        fixture.verification(&[("lock/4", &[true, true]), ("actor/2", &[true])]);
        let gate = decide_in(&fixture);
        assert_eq!(
            gate.choice,
            Some(Choice {
                engine: "lock".to_owned(),
                shards: 4
            })
        );
        assert_eq!(
            gate.reason,
            "lock/4 is the fastest verified engine on `mixed`: 1,000,000 ops/s at 4 caller \
             threads, 2.50× actor/2 (400,000 ops/s at 4)"
        );
        assert_eq!(
            gate.candidates,
            vec![
                Candidate {
                    engine: "lock".to_owned(),
                    shards: 4,
                    verified: true,
                    score_ops_per_sec: Some(1_000_000.0),
                    threads: Some(4),
                },
                Candidate {
                    engine: "actor".to_owned(),
                    shards: 2,
                    verified: true,
                    score_ops_per_sec: Some(400_000.0),
                    threads: Some(4),
                },
            ]
        );
        assert!(gate.inputs.criterion.found && gate.inputs.verification.found);
    }

    #[test]
    fn a_faster_engine_that_failed_a_check_is_refused() {
        let fixture = Fixture::new("gate-unverified");
        mixed(&fixture, "lock-4", 4, 1_000_000.0);
        mixed(&fixture, "lock-1", 4, 900_000.0);
        mixed(&fixture, "actor-2", 4, 400_000.0);
        // lock/1 is not named at all, which is as unverified as failing.
        fixture.verification(&[("lock/4", &[true, false]), ("actor/2", &[true, true])]);
        let gate = decide_in(&fixture);
        assert_eq!(
            gate.choice,
            Some(Choice {
                engine: "actor".to_owned(),
                shards: 2
            })
        );
        assert_eq!(
            gate.candidates
                .iter()
                .map(|c| c.verified)
                .collect::<Vec<_>>(),
            [false, false, true]
        );
        assert_eq!(
            gate.reason,
            "actor/2 is the only verified engine with a `mixed` score: 400,000 ops/s at 4 caller \
             threads; lock/1, lock/4 scored higher but are not verified"
        );
    }

    #[test]
    fn nothing_is_chosen_without_verification() {
        let fixture = Fixture::new("gate-no-verification");
        mixed(&fixture, "lock-4", 4, 1_000_000.0);
        let gate = decide_in(&fixture);
        assert_eq!(gate.choice, None);
        assert_eq!(
            gate.reason,
            format!(
                "no {}: run `lockchan verify` first; an unverified engine is never served",
                fixture.verification_path().display()
            )
        );
        assert!(!gate.candidates[0].verified);
        assert!(!gate.inputs.verification.found);
    }

    #[test]
    fn nothing_is_chosen_without_results_or_with_no_check_passed() {
        let fixture = Fixture::new("gate-no-results");
        fixture.verification(&[("lock/4", &[true])]);
        let gate = decide_in(&fixture);
        assert_eq!(gate.choice, None);
        assert!(gate.reason.starts_with("no `mixed` results under "));
        assert!(!gate.inputs.criterion.found);

        mixed(&fixture, "actor-1", 4, 500_000.0);
        // An engine with no checks at all proves nothing.
        fixture.verification(&[("actor/1", &[])]);
        let gate = decide_in(&fixture);
        assert_eq!(gate.choice, None);
        assert!(
            gate.reason
                .starts_with("none of the 1 engines measured on `mixed` passed every check in ")
        );
    }

    #[test]
    fn the_score_is_at_the_most_threads_up_to_four() {
        let fixture = Fixture::new("gate-threads");
        mixed(&fixture, "lock-1", 1, 300_000.0);
        mixed(&fixture, "lock-1", 2, 500_000.0);
        mixed(&fixture, "lock-1", 8, 9_000_000.0);
        mixed(&fixture, "actor-1", 1, 200_000.0);
        mixed(&fixture, "actor-1", 4, 450_000.0);
        // Another variant of the workload is not the workload.
        fixture.bench("mixed", "actor-1", "t4-open-50k", Some(1000), 1.0);
        mixed(&fixture, "actor-4", 8, 700_000.0);
        fixture.verification(&[
            ("lock/1", &[true]),
            ("actor/1", &[true]),
            ("actor/4", &[true]),
        ]);
        let gate = decide_in(&fixture);
        let scores: Vec<_> = gate
            .candidates
            .iter()
            .map(|c| (c.label(), c.score_ops_per_sec, c.threads))
            .collect();
        assert_eq!(
            scores,
            [
                ("lock/1".to_owned(), Some(500_000.0), Some(2)),
                ("actor/1".to_owned(), Some(450_000.0), Some(4)),
                ("actor/4".to_owned(), None, None),
            ]
        );
        assert_eq!(
            gate.choice
                .as_ref()
                .map(|c| c.spec().expect("a known engine")),
            Some(EngineSpec::new(EngineKind::LOCK, 1))
        );
        assert_eq!(
            gate.reason,
            "lock/1 is the fastest verified engine on `mixed`: 500,000 ops/s at 2 caller \
             threads, 1.11× actor/1 (450,000 ops/s at 4)"
        );
    }

    #[test]
    fn a_written_gate_loads_back_and_a_bad_one_does_not() {
        let fixture = Fixture::new("gate-roundtrip");
        mixed(&fixture, "lock-2", 4, 800_000.0);
        let out = fixture.reports().join(GATE_FILE);
        let written = write_gate(&fixture.criterion(), &fixture.verification_path(), &out)
            .expect("the gate is written");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("gate.json exists"))
                .expect("gate.json is JSON");
        assert_eq!(json["choice"], serde_json::Value::Null);
        assert_eq!(json["candidates"][0]["engine"], "lock");
        assert_eq!(json["candidates"][0]["score_ops_per_sec"], 800_000.0);
        assert_eq!(json["inputs"]["verification"]["found"], false);
        assert_eq!(Gate::load(&out).expect("the gate loads"), written);

        std::fs::write(
            &out,
            r#"{"choice": {"engine": "mutex", "shards": 1}, "reason": "", "candidates": [],
                "inputs": {"criterion": {"path": "", "found": false},
                           "verification": {"path": "", "found": false}}}"#,
        )
        .expect("the fixture is written");
        let err = Gate::load(&out).expect_err("an unknown engine is refused");
        assert_eq!(
            err.to_string(),
            format!("{} chooses an engine that does not exist", out.display())
        );
        let missing = fixture.reports().join("absent.json");
        let err = Gate::load(&missing).expect_err("a missing gate is an error");
        assert_eq!(
            err.to_string(),
            format!("cannot read {}", missing.display())
        );
    }

    #[test]
    fn a_corrupt_verification_file_is_an_error_naming_it() {
        let fixture = Fixture::new("gate-corrupt");
        mixed(&fixture, "lock-4", 4, 1_000_000.0);
        fixture.write(&fixture.verification_path(), "{\"engines\": ");
        let err = decide(&fixture.criterion(), &fixture.verification_path())
            .expect_err("a corrupt file is not a decision");
        assert_eq!(
            err.to_string(),
            format!("cannot parse {}", fixture.verification_path().display())
        );
    }
}
