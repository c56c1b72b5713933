//! `reports/verification.json`: the format `verify` writes and the gate, the report and the
//! tests read back, declared once, and the one definition of "verified".
//!
//! This file is the whole of verify that its readers may use: it names nothing of the checks
//! themselves, so a reader of the summary does not depend on how it was produced.
//!
//! An engine is verified when its checks passed and so did every other layer that can run it
//! (loom, shuttle, the race smoke test: [`LayerResult`], folded in by `verify --merge-layers`).
//! A layer passes only when it ran, nothing failed, and the linearizability checker gave up on
//! no more of its runs than the ceiling allows: a search that gives up proves nothing, so too
//! many of them fail the layer instead of passing it silently.
//!
//! A summary written by hand or by an older version may leave out the run's seed and time, a
//! check's count and duration, the seeded bugs and the layers; they read back as absent (or
//! zero), never as an error, and an engine without layers is verified by its checks alone.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engines::registry::EngineSpec;

/// One check's outcome on one engine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    /// Scripts, races or cycles run.
    #[serde(default)]
    pub explored: u64,
    #[serde(default)]
    pub seconds: f64,
    /// What went wrong, when something did.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Every check one engine ran, and what each other layer (loom, shuttle, the race smoke test)
/// made of it once `verify --merge-layers` folded them in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EngineVerification {
    pub checks: Vec<CheckResult>,
    /// Layer name (`loom`, `shuttle`, `race_smoke`) → its runs on this engine. Empty in a
    /// summary written by `verify` alone or by an older version.
    #[serde(default)]
    pub layers: BTreeMap<String, LayerResult>,
}

impl EngineVerification {
    /// Verified: at least one check ran, every check passed, and every recorded layer holds
    /// ([`LayerResult::verdict`]). An empty list of checks proves nothing, so it is not
    /// verified. This is the only definition; the gate, the report, `verify`'s exit status
    /// and the tests all ask here.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty()
            && self.checks.iter().all(|check| check.passed)
            && self.layers.values().all(|layer| layer.verdict().holds())
    }
}

/// Runs of one layer on one engine: what a run is depends on the layer (a loom scenario test, a
/// shuttle schedule, a race smoke case).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    /// Runs the linearizability checker gave up on: neither explained nor refuted.
    pub inconclusive: u64,
}

impl Tally {
    pub fn runs(&self) -> u64 {
        self.passed + self.failed + self.inconclusive
    }

    /// The share of runs that were inconclusive; 0 when nothing ran.
    pub fn inconclusive_rate(&self) -> f64 {
        match self.runs() {
            0 => 0.0,
            runs => self.inconclusive as f64 / runs as f64,
        }
    }
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.inconclusive += other.inconclusive;
    }
}

/// One layer's result on one engine, as `verification.json` keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerResult {
    #[serde(flatten)]
    pub tally: Tally,
    /// `inconclusive / runs`, for readers of the JSON; the verdict recomputes it.
    pub inconclusive_rate: f64,
    /// The highest inconclusive rate the layer may have and still pass.
    pub inconclusive_ceiling: f64,
    /// Why the layer cannot run this engine, when its harness said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cannot_run: Option<String>,
    /// [`LayerResult::verdict`] when the summary was written, for readers of the JSON.
    /// [`EngineVerification::passed`] never trusts it: it judges the counts again.
    pub verdict: LayerVerdict,
}

/// What one layer's runs on one engine amount to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerVerdict {
    /// It ran, nothing failed, and the inconclusive rate is within the ceiling.
    Passed,
    /// A run failed.
    Failed,
    /// Nothing failed, but the checker gave up on more runs than the ceiling allows.
    TooInconclusive,
    /// The layer could run this engine, yet no run of it was recorded.
    NotRun,
    /// The layer's harness declared that it cannot run this engine, and why.
    CannotRun,
}

impl LayerVerdict {
    /// Whether the engine may still be verified: it passed, or the layer cannot run it.
    pub fn holds(self) -> bool {
        matches!(self, LayerVerdict::Passed | LayerVerdict::CannotRun)
    }
}

impl LayerResult {
    /// The result of `tally` under `ceiling`; `cannot_run` counts only when nothing ran.
    pub fn new(tally: Tally, ceiling: f64, cannot_run: Option<String>) -> LayerResult {
        let mut result = LayerResult {
            tally,
            inconclusive_rate: tally.inconclusive_rate(),
            inconclusive_ceiling: ceiling,
            cannot_run: if tally.runs() == 0 { cannot_run } else { None },
            verdict: LayerVerdict::NotRun,
        };
        result.verdict = result.verdict();
        result
    }

    /// Judged from the counts and the ceiling: it must have run at least once (or have been
    /// declared impossible to run), failed never, and given up on at most `ceiling` of its
    /// runs. A ceiling that is not a number lets nothing pass.
    pub fn verdict(&self) -> LayerVerdict {
        let tally = &self.tally;
        if tally.runs() == 0 {
            return match self.cannot_run {
                Some(_) => LayerVerdict::CannotRun,
                None => LayerVerdict::NotRun,
            };
        }
        if tally.failed > 0 {
            LayerVerdict::Failed
        } else {
            // Incomparable (a ceiling that is not a number) fails like a rate above it.
            match tally
                .inconclusive_rate()
                .partial_cmp(&self.inconclusive_ceiling)
            {
                Some(Ordering::Less | Ordering::Equal) => LayerVerdict::Passed,
                Some(Ordering::Greater) | None => LayerVerdict::TooInconclusive,
            }
        }
    }
}

/// Everything `verify` found, keyed by engine (`lock/4`, an [`EngineSpec`]'s display).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerificationReport {
    pub engines: BTreeMap<String, EngineVerification>,
    /// The detection matrix, when the seeded bugs were run too.
    #[serde(default)]
    pub seeded: Vec<Detection>,
    /// The run's seed; `verify` always records it.
    #[serde(default)]
    pub seed: Option<u64>,
    /// When the run finished, in seconds since the Unix epoch; `verify` always records it.
    #[serde(default)]
    pub unix_time: Option<u64>,
    /// The fingerprint of the engine sources the checks ran on ([`crate::ENGINE_SOURCE_HASH`]);
    /// `verify` always records it, `verify --merge-layers` keeps it. The gate serves nothing
    /// on a summary of other engine sources, or of none recorded.
    #[serde(default)]
    pub engine_source_hash: Option<String>,
}

impl VerificationReport {
    /// Whether `spec` passed every check ([`EngineVerification::passed`]). An engine the
    /// summary does not name is not verified.
    pub fn verified(&self, spec: EngineSpec) -> bool {
        self.engines
            .get(&spec.to_string())
            .is_some_and(EngineVerification::passed)
    }
}

/// What the checks made of one seeded bug: each check that failed caught it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Detection {
    pub bug: String,
    pub engine: String,
    pub checks: Vec<CheckResult>,
}

impl Detection {
    /// The checks that caught the bug.
    pub fn caught_by(&self) -> Vec<&str> {
        let failed = self.checks.iter().filter(|check| !check.passed);
        failed.map(|check| check.name.as_str()).collect()
    }
}
