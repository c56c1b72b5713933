//! `reports/verification.json`: the format `verify` writes and the gate, the report and the
//! tests read back, declared once, and the one definition of "verified".
//!
//! This file is the whole of verify that its readers may use: it names nothing of the checks
//! themselves, so a reader of the summary does not depend on how it was produced.
//!
//! A summary written by hand or by an older version may leave out the run's seed and time, a
//! check's count and duration, and the seeded bugs; they read back as absent (or zero), never
//! as an error.

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

/// Every check one engine ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EngineVerification {
    pub checks: Vec<CheckResult>,
}

impl EngineVerification {
    /// Verified: at least one check ran and every check passed. An empty list proves nothing,
    /// so it is not verified. This is the only definition; the gate, the report, `verify`'s
    /// exit status and the tests all ask here.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|check| check.passed)
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
