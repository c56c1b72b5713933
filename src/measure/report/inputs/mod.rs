//! What the report is built from, each input read into its producer's type and none declared
//! again here:
//!
//! - criterion's results: [`crate::measure::criterion`], shared with the gate;
//! - the benches' extra records ([`BenchRecord`]): `extras.rs`;
//! - the duel ([`DuelReport`]) and the verification summary ([`VerificationReport`]): the
//!   producer's type is the whole reader, so each is one call below;
//! - the end-to-end duel's table, plots and where its trials were measured: `e2e.rs`;
//! - the interleaved trials of `lockchan rounds` ([`ResultSet`]) and the gate ([`Gate`]).
//!
//! Every input is optional; one that is absent is recorded as absent, never filled in. To add
//! an input, give it a reader and a field in [`Inputs`]; the sections that use it read that
//! field and say what is missing when it is `None`.

mod e2e;
mod extras;

use std::path::{Path, PathBuf};

use super::{DUEL_FILE, VERIFICATION_FILE};
use crate::bench_extras::BenchRecord;
use crate::duel::DuelReport;
use crate::gate::{GATE_FILE, Gate};
use crate::measure::criterion::{BenchResult, read_criterion};
use crate::measure::files::{InputError, read_json_if_present};
use crate::measure::trials::ROUNDS_FILE;
use crate::measure::verdict::{EngineSources, ResultSet};
use crate::verify::VerificationReport;

pub(crate) use e2e::EndToEnd;
pub(crate) use extras::read_extras;

/// One input: where it was looked for and what was there.
#[derive(Clone, Debug)]
pub(crate) struct Source<T> {
    pub(crate) path: PathBuf,
    /// `None` when the input is absent (or, for a directory, holds nothing usable).
    pub(crate) data: Option<T>,
}

/// Everything the report reads, each part optional.
#[derive(Clone, Debug)]
pub(crate) struct Inputs {
    pub(crate) criterion: Source<Vec<BenchResult>>,
    pub(crate) extra: Source<Vec<BenchRecord>>,
    pub(crate) duel: Source<DuelReport>,
    pub(crate) verification: Source<VerificationReport>,
    /// Every engine in interleaved rounds (`lockchan rounds`).
    pub(crate) trials: Source<ResultSet>,
    pub(crate) gate: Source<Gate>,
    pub(crate) e2e: EndToEnd,
    /// Things found but not used, such as a criterion result without its estimates, so the
    /// report can say why a figure is absent.
    pub(crate) notes: Vec<String>,
}

impl Inputs {
    /// Reads criterion's results under `criterion_dir`, the benches' records in `extra_dir`,
    /// and the duel, the verification summary and the end-to-end duel in `reports_dir`.
    pub(crate) fn read(
        criterion_dir: &Path,
        extra_dir: &Path,
        reports_dir: &Path,
    ) -> Result<Inputs, InputError> {
        let mut notes = Vec::new();
        let criterion = read_criterion(criterion_dir, &mut notes)?;
        let extra = read_extras(extra_dir)?;
        let duel = reports_dir.join(DUEL_FILE);
        let verification = reports_dir.join(VERIFICATION_FILE);
        let trials = reports_dir.join(ROUNDS_FILE);
        let gate = reports_dir.join(GATE_FILE);
        Ok(Inputs {
            criterion: Source {
                path: criterion_dir.to_owned(),
                data: (!criterion.is_empty()).then_some(criterion),
            },
            extra: Source {
                path: extra_dir.to_owned(),
                data: (!extra.is_empty()).then_some(extra),
            },
            duel: Source {
                data: read_json_if_present(&duel)?,
                path: duel,
            },
            verification: Source {
                data: read_json_if_present(&verification)?,
                path: verification,
            },
            trials: Source {
                data: if trials.exists() {
                    Some(ResultSet::read(&trials)?)
                } else {
                    None
                },
                path: trials,
            },
            gate: Source {
                data: read_json_if_present(&gate)?,
                path: gate,
            },
            e2e: EndToEnd::read(reports_dir, &mut notes),
            notes,
        })
    }

    pub(crate) fn results(&self) -> &[BenchResult] {
        self.criterion.data.as_deref().unwrap_or_default()
    }

    pub(crate) fn extra_stats(&self) -> &[BenchRecord] {
        self.extra.data.as_deref().unwrap_or_default()
    }

    /// The inputs that record the engine sources they checked or measured, in the inputs
    /// table's order: the verification summary, the interleaved trials, the gate and the
    /// end-to-end trials.
    pub(crate) fn fingerprinted(&self) -> [Fingerprinted<'_>; 4] {
        [
            Fingerprinted {
                name: "verification",
                path: &self.verification.path,
                recorded: self
                    .verification
                    .data
                    .as_ref()
                    .map(|summary| summary.engine_source_hash.as_deref()),
                command: VERIFY_COMMAND,
            },
            Fingerprinted {
                name: "interleaved trials",
                path: &self.trials.path,
                recorded: self
                    .trials
                    .data
                    .as_ref()
                    .map(|set| set.provenance.engine_source_hash.as_deref()),
                command: ROUNDS_COMMAND,
            },
            Fingerprinted {
                name: "gate",
                path: &self.gate.path,
                recorded: self
                    .gate
                    .data
                    .as_ref()
                    .map(|gate| gate.engine_source_hash.as_deref()),
                command: GATE_COMMAND,
            },
            Fingerprinted {
                name: "end-to-end trials",
                path: &self.e2e.trials.path,
                recorded: self
                    .e2e
                    .trials
                    .data
                    .as_ref()
                    .map(|provenance| provenance.engine_source_hash.as_deref()),
                command: E2E_COMMAND,
            },
        ]
    }

    /// The inputs that measured engine sources other than this build's, each with why and the
    /// command that measures it again: their figures describe other engine code.
    pub(crate) fn stale(&self) -> Vec<String> {
        self.fingerprinted()
            .into_iter()
            .filter_map(|input| {
                let why = stale_because(input.recorded?)?;
                Some(format!(
                    "{} at {}: {why}; run {} again",
                    input.name,
                    input.path.display(),
                    input.command
                ))
            })
            .collect()
    }

    /// The inputs that were absent, each with the command that produces it. The end-to-end
    /// duel is not listed: it is optional even for a full report.
    pub(crate) fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.criterion.data.is_none() {
            missing.push(format!(
                "criterion results in {}: run `cargo bench`",
                self.criterion.path.display()
            ));
        }
        if self.extra.data.is_none() {
            missing.push(format!(
                "extra bench stats in {}: run `cargo bench`",
                self.extra.path.display()
            ));
        }
        if self.duel.data.is_none() {
            missing.push(format!(
                "duel at {}: run `cargo run --release -- duel`",
                self.duel.path.display()
            ));
        }
        if self.verification.data.is_none() {
            missing.push(format!(
                "verification at {}: run `lockchan verify`",
                self.verification.path.display()
            ));
        }
        missing
    }
}

/// An input that records the engine sources it checked or measured.
pub(crate) struct Fingerprinted<'a> {
    /// Its name in the inputs table.
    pub(crate) name: &'static str,
    pub(crate) path: &'a Path,
    /// `None` when the input is absent; otherwise the fingerprint it recorded, if any.
    pub(crate) recorded: Option<Option<&'a str>>,
    /// What checks or measures it again.
    pub(crate) command: &'static str,
}

/// What measures the verification summary, the interleaved trials, the gate and the
/// end-to-end duel.
pub(crate) const VERIFY_COMMAND: &str = "`lockchan verify` (`cargo run --release -- verify`)";
pub(crate) const ROUNDS_COMMAND: &str = "`lockchan rounds` (`cargo run --release -- rounds`)";
pub(crate) const GATE_COMMAND: &str = "`lockchan gate`";
pub(crate) const E2E_COMMAND: &str = "`lockchan duel --e2e`";

/// Why an input that recorded the engine sources it measured (`recorded`) does not describe
/// this build's engines, or `None` when it does.
pub(crate) fn stale_because(recorded: Option<&str>) -> Option<String> {
    let this = crate::engines::ENGINE_SOURCE_HASH;
    match EngineSources::of(recorded) {
        EngineSources::This => None,
        EngineSources::Other(hash) => Some(format!(
            "measured on engine sources {hash}, and this binary was built from {this}"
        )),
        EngineSources::Unrecorded => Some(format!(
            "no engine-source fingerprint recorded, so nothing says it measured this binary's \
             engines ({this})"
        )),
    }
}
