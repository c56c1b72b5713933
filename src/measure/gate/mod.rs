//! The gate: which engine a server may run. It measures every verified engine and shard
//! count on the `mixed` benchmark in interleaved rounds ([`crate::measure::trials`]), judges every pair on
//! throughput and p99 latency with the project's verdicts ([`choose`]), and serves the engine
//! that beats every other one, or, when none does, the one the stated tie rule picks among
//! those nobody beats. An unverified engine is never measured nor chosen; with no
//! verification summary, nothing is.
//!
//! The decision goes to `reports/gate.json`, with every verdict behind it, the sample counts
//! and the provenance of the trials, so the server can read it back with [`Gate::load`]; the
//! trials themselves go to a result set (`reports/gate-trials.json`) that `lockchan compare`
//! and `lockchan gate --from-trials` read.
//!
//! When the end-to-end duel's trials are there too (`reports/e2e-trials.json`, written by
//! `lockchan duel --e2e`: see [`crate::measure::e2e`]), the candidates that have them are
//! also judged on relay p99 and on the server's CPU per delivered frame, on the `mixed`
//! scenario's run. They are used only when they were measured on this build's engine sources
//! and on the machine of the `mixed` trials; otherwise the gate says why it left them out.
//!
//! - `choose.rs`: candidates, standings, the tie rule and the reason.
//! - `stability.rs`: `--repeat`'s procedures, whether they agree, how far medians moved.

mod choose;
pub mod stability;

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engines::ENGINE_SOURCE_HASH;
use crate::engines::registry::{EngineKind, EngineSpec, UnknownEngine};
pub use crate::measure::e2e::E2E_TRIALS_FILE;
use crate::measure::files::{InputError, read_json_if_present, write_json};
use crate::measure::verdict::{
    Criteria, EngineSources, Provenance, ResultSet, ResultsError, Verdict, VerdictError,
};
use crate::verify::VerificationReport;

pub use self::choose::TIE_RULE;
pub use self::stability::{STABILITY_FILE, Stability};
use crate::measure::trials::case_id;
pub use crate::measure::trials::{OPS_METRIC, P99_METRIC};

/// The workload the gate judges engines on: joins, says, shouts and ticks together, the
/// closest of the benches to a server's day.
pub const GATE_WORKLOAD: &str = "mixed";

/// The caller threads of the judged case. More than that oversubscribes the machines the
/// server runs on, and would reward whichever engine copes best with oversubscription rather
/// than with the work.
pub const GATE_THREADS: u32 = 4;

/// The scenario of the end-to-end trials the gate judges on: the load's mixed profile, the
/// end-to-end counterpart of [`GATE_WORKLOAD`].
pub const GATE_E2E_SCENARIO: &str = "mixed";

/// The shard counts the gate measures for an engine that has shards.
pub const GATE_SHARDS: [usize; 3] = [1, 2, 4];

/// The case id of the judged trials in the result set: `mixed/t4`.
pub fn gate_case() -> String {
    case_id(GATE_WORKLOAD, GATE_THREADS)
}

/// The gate's file name inside the reports directory.
pub const GATE_FILE: &str = "gate.json";
/// The trials' file name inside the reports directory.
pub const TRIALS_FILE: &str = "gate-trials.json";

/// Why the gate could not measure, decide, be written, or be read back.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error(transparent)]
    Trial(#[from] crate::measure::trials::TrialError),
    #[error("the trials cannot be judged")]
    Verdict(#[from] VerdictError),
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
    /// Why, in a few sentences that state the verdicts.
    pub reason: String,
    /// Every engine and shard count the gate considered.
    pub candidates: Vec<Candidate>,
    /// The statistics behind the choice; absent when nothing was judged, and in gates
    /// written before the gate judged on verdicts.
    #[serde(default)]
    pub decision: Option<Decision>,
    pub inputs: GateInputs,
    /// The fingerprint of the engine sources the gate speaks for: those its trials measured
    /// (their provenance's), or, with no trials, those of the deciding binary
    /// ([`ENGINE_SOURCE_HASH`]). Absent when the trials do not record one, and in gates
    /// written before it was recorded: either way such a gate is stale.
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
    /// How it is named everywhere else: `lock/1`.
    pub fn label(&self) -> String {
        label(&self.engine, self.shards)
    }

    /// The engine to build.
    pub fn spec(&self) -> Result<EngineSpec, UnknownEngine> {
        Ok(EngineSpec::new(
            self.engine.parse::<EngineKind>()?,
            self.shards,
        ))
    }
}

/// One engine and shard count, and what its trials say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub engine: String,
    pub shards: usize,
    /// Every check in the verification summary passed for it. Not named there, not verified.
    pub verified: bool,
    /// Its trials on the judged case (one per round); 0 when it was not measured.
    #[serde(default)]
    pub trials: usize,
    #[serde(default)]
    pub median_ops_per_sec: Option<f64>,
    #[serde(default)]
    pub median_p99_us: Option<f64>,
    /// Its end-to-end runs with a relay p99 when the end-to-end trials were used; 0 otherwise,
    /// and in gates written before the gate read them.
    #[serde(default)]
    pub e2e_trials: usize,
    #[serde(default)]
    pub median_relay_p99_ms: Option<f64>,
    #[serde(default)]
    pub median_server_cpu_us_per_frame: Option<f64>,
}

impl Candidate {
    /// How verdicts and trials name it: `lock/4`, or the bare name of an engine without
    /// shards.
    pub fn label(&self) -> String {
        label(&self.engine, self.shards)
    }
}

/// An engine and shard count as an [`EngineSpec`] displays it (`lock/4`, `serial`); one the
/// registry does not know as `name/shards`.
fn label(engine: &str, shards: usize) -> String {
    match engine.parse::<EngineKind>() {
        Ok(kind) => EngineSpec::new(kind, shards).to_string(),
        Err(_) => format!("{engine}/{shards}"),
    }
}

/// The statistics of a decision: every pair of measured verified candidates judged on each
/// metric, who beat everyone, who nobody beat, and the rule that picked among those.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The judged case, `mixed/t4`.
    pub case: String,
    /// Interleaved rounds behind the trials: each round ran every candidate once.
    pub rounds: usize,
    pub criteria: Criteria,
    /// The candidate that beats every other one on some metric and loses to none on any.
    pub winner: Option<String>,
    /// The candidates no other one beats (the winner alone when there is one).
    pub unbeaten: Vec<String>,
    /// How the served engine is picked among `unbeaten` when there is no winner.
    pub tie_rule: String,
    /// Every pair on every metric.
    pub verdicts: Vec<MetricVerdict>,
    /// Where and from what the trials were measured.
    pub provenance: Provenance,
    /// The end-to-end trials the verdicts also rest on; absent when no pair was judged on
    /// them, and in gates written before the gate read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end: Option<EndToEndEvidence>,
}

/// The end-to-end trials behind some of a decision's verdicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndToEndEvidence {
    /// Their case, `e2e/mixed/c19000`.
    pub case: String,
    /// The most runs any judged candidate has there.
    pub rounds: usize,
    pub provenance: Provenance,
}

/// One verdict between two candidates on one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricVerdict {
    pub metric: String,
    pub verdict: Verdict,
}

/// Where the gate looked, and what it found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateInputs {
    /// The result set of the trials (older gates named criterion's directory here).
    #[serde(alias = "criterion")]
    pub trials: InputStatus,
    pub verification: InputStatus,
    /// The end-to-end trials; absent in gates written before the gate read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_trials: Option<InputStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStatus {
    pub path: String,
    pub found: bool,
    /// Why an input that was found was not used; absent when it was used (or not found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// Where the gate's inputs are.
#[derive(Clone, Debug)]
pub struct GatePaths {
    /// The `mixed` trials' result set: where `lockchan gate` writes them and
    /// `--from-trials` reads them (the trials themselves are passed to [`decide`]).
    pub trials: PathBuf,
    /// The verification summary; without it nothing is chosen.
    pub verification: PathBuf,
    /// The end-to-end trials ([`E2E_TRIALS_FILE`]); used when present and fresh.
    pub e2e_trials: PathBuf,
}

/// The verified engines the gate measures: every registered engine at each of
/// [`GATE_SHARDS`] (once for an engine without shards) that the summary says passed every
/// check. With no summary, or a stale one ([`verification_stale`]), none.
pub fn verified_specs(verification: Option<&VerificationReport>) -> Vec<EngineSpec> {
    let Some(summary) = verification.filter(|summary| verification_stale(summary).is_none()) else {
        return Vec::new();
    };
    crate::engines::registry::all_specs(&GATE_SHARDS)
        .into_iter()
        .filter(|&spec| summary.verified(spec))
        .collect()
}

/// Why a verification summary does not speak for this build's engines, or `None` when it
/// does: its checks ran on other engine sources, or it records none. The gate serves nothing
/// on a stale summary, since its checks passed on other code.
pub fn verification_stale(summary: &VerificationReport) -> Option<String> {
    match EngineSources::of(summary.engine_source_hash.as_deref()) {
        EngineSources::This => None,
        EngineSources::Other(hash) => Some(format!(
            "its checks ran on engine sources {hash}, and this binary was built from \
             {ENGINE_SOURCE_HASH}"
        )),
        EngineSources::Unrecorded => Some(format!(
            "it records no engine-source fingerprint, so nothing says its checks ran on this \
             binary's engines ({ENGINE_SOURCE_HASH})"
        )),
    }
}

/// Reads the verification summary the gate trusts; a missing file is `None`, a corrupt one
/// an error naming it.
pub fn read_verification(path: &Path) -> Result<Option<VerificationReport>, GateError> {
    Ok(read_json_if_present(path)?)
}

/// Decides from `trials` (the result set written by [`crate::measure::trials::measure`], at
/// `paths.trials`; `None` when there are none), the verification summary and, when present,
/// the end-to-end trials, each at its path in `paths`. Missing inputs are a decision (nothing
/// chosen, or no end-to-end verdict), not an error; an input that exists but cannot be read
/// is.
pub fn decide(
    trials: Option<&ResultSet>,
    paths: &GatePaths,
    criteria: Criteria,
) -> Result<Gate, GateError> {
    let summary = read_verification(&paths.verification)?;
    let e2e = if paths.e2e_trials.exists() {
        Some(ResultSet::read(&paths.e2e_trials)?)
    } else {
        None
    };
    let decided = choose::choose(trials, e2e.as_ref(), summary.as_ref(), criteria, paths)?;
    let status = |path: &Path, found: bool| InputStatus {
        path: path.display().to_string(),
        found,
        ignored: None,
    };
    Ok(Gate {
        choice: decided.choice,
        reason: decided.reason,
        candidates: decided.candidates,
        decision: decided.decision,
        inputs: GateInputs {
            trials: status(&paths.trials, trials.is_some()),
            verification: status(&paths.verification, summary.is_some()),
            e2e_trials: Some(InputStatus {
                ignored: decided.e2e_ignored,
                ..status(&paths.e2e_trials, e2e.is_some())
            }),
        },
        // `--from-trials` on trials of other engine code decides for that code, not this.
        engine_source_hash: match trials {
            Some(trials) => trials.provenance.engine_source_hash.clone(),
            None => Some(ENGINE_SOURCE_HASH.to_owned()),
        },
    })
}

impl Gate {
    /// Why this gate does not speak for the engines of this binary, or `None` when it does:
    /// a gate decided by a build of other engine sources measured other code.
    pub fn stale_reason(&self) -> Option<String> {
        match EngineSources::of(self.engine_source_hash.as_deref()) {
            EngineSources::This => None,
            EngineSources::Other(hash) => Some(format!(
                "stale gate: it was decided on engine sources {hash}, and this binary was built \
                 from {ENGINE_SOURCE_HASH}; run `lockchan gate` again"
            )),
            EngineSources::Unrecorded => Some(format!(
                "stale gate: it records no engine-source fingerprint, so nothing says it measured \
                 this binary's engines ({ENGINE_SOURCE_HASH}); run `lockchan gate` again"
            )),
        }
    }

    /// The verdict the gate reached, in a form two gates can be compared by: the winner, or
    /// the tie set. Two procedures agree when these are equal.
    pub fn verdict_key(&self) -> String {
        match &self.decision {
            Some(Decision {
                winner: Some(winner),
                ..
            }) => format!("{winner} wins"),
            Some(decision) => format!("tie among {}", decision.unbeaten.join(", ")),
            None => "no decision".to_owned(),
        }
    }

    /// Writes the gate as pretty JSON, creating the directory it goes in.
    pub fn save(&self, path: &Path) -> Result<(), GateError> {
        write_json(path, self).map_err(|source| GateError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads a gate written by [`Gate::save`]. A missing file is an error here: a server
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::testkit::Fixture;

    #[test]
    fn a_saved_gate_loads_back_and_one_naming_no_engine_does_not() {
        let fixture = Fixture::new("gate-roundtrip");
        let out = fixture.reports().join(GATE_FILE);
        let gate =
            decide(None, &fixture.gate_paths(), Criteria::default()).expect("the gate decides");
        gate.save(&out).expect("the gate is written");
        assert_eq!(Gate::load(&out).expect("the gate loads"), gate);

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
    fn a_gate_written_before_verdicts_still_loads() {
        let fixture = Fixture::new("gate-old");
        let out = fixture.reports().join(GATE_FILE);
        fixture.write(
            &out,
            r#"{"choice": {"engine": "lock", "shards": 1}, "reason": "fastest",
                "candidates": [{"engine": "lock", "shards": 1, "verified": true,
                                "score_ops_per_sec": 1291873.2, "threads": 4}],
                "inputs": {"criterion": {"path": "target/criterion", "found": true},
                           "verification": {"path": "v.json", "found": true}}}"#,
        );
        let gate = Gate::load(&out).expect("an old gate loads");
        assert_eq!(gate.decision, None);
        assert_eq!(gate.candidates[0].trials, 0);
        assert_eq!(gate.inputs.trials.path, "target/criterion");
        assert_eq!(gate.verdict_key(), "no decision");
        assert!(gate.stale_reason().is_some());
    }

    #[test]
    fn a_summary_of_other_engine_sources_verifies_nothing_for_this_build() {
        let fixture = Fixture::new("gate-stale-verification");
        fixture.verification(&[("lock/1", &[true]), ("actor/1", &[true])]);
        let fresh = read_verification(&fixture.verification_path())
            .expect("the fixture reads")
            .expect("the fixture is there");
        assert_eq!(verification_stale(&fresh), None);
        let specs: Vec<String> = verified_specs(Some(&fresh))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(specs, ["lock/1", "actor/1"]);
        for (hash, why) in [
            (
                Some("0123abcd0123abcd"),
                "its checks ran on engine sources 0123abcd0123abcd",
            ),
            (None, "it records no engine-source fingerprint"),
        ] {
            let stale = VerificationReport {
                engine_source_hash: hash.map(str::to_owned),
                ..fresh.clone()
            };
            assert!(
                verification_stale(&stale).is_some_and(|reason| reason.starts_with(why)),
                "{hash:?}"
            );
            assert!(verified_specs(Some(&stale)).is_empty(), "{hash:?}");
        }
    }

    #[test]
    fn a_corrupt_verification_file_is_an_error_naming_it() {
        let fixture = Fixture::new("gate-corrupt");
        fixture.write(&fixture.verification_path(), "{\"engines\": ");
        let err = decide(None, &fixture.gate_paths(), Criteria::default())
            .expect_err("a corrupt file is not a decision");
        assert_eq!(
            err.to_string(),
            format!("cannot parse {}", fixture.verification_path().display())
        );
    }
}
