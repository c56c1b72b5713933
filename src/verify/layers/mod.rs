//! The layers of verification that `lockchan verify` cannot run in-process — loom, shuttle and
//! the race smoke test — folded into `verification.json`, so that "verified" means every
//! layer and not the in-process checks alone.
//!
//! Why a log: loom and shuttle need builds of their own (`--cfg lockchan_loom`,
//! `--cfg lockchan_shuttle`) and all three run as test binaries, many tests at once. So each
//! test appends its tally, per engine, to the file `LOCKCHAN_LAYER_LOG` names ([`log`]: one
//! JSON line per test, declared once there), and `verify --merge-layers` sums the lines and
//! judges them ([`fold`]) into the summary, where [`EngineVerification::passed`] reads them.
//! `scripts/verify-all` runs the whole chain as one command.
//!
//! Silence never passes: an engine the summary checks gets a result from every layer, and a
//! layer that recorded nothing for it fails it ("not run") unless its harness declared that
//! it cannot run that engine, and why (loom's five threads cannot hold actor/4).
//!
//! [`EngineVerification::passed`]: crate::verify::EngineVerification::passed

mod fold;
pub mod log;
mod render;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use fold::{DEFAULT_INCONCLUSIVE_CEILING, fold};
pub use log::{Entry, LAYER_LOG, LayerLine, read_log, record};
pub(crate) use render::render_layers;

use crate::verify::VerificationReport;

/// A layer of verification that runs outside `lockchan verify`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// `tests/loom.rs`: every interleaving of fixed races, within a preemption bound.
    Loom,
    /// `tests/shuttle.rs`: generated races under a controlled scheduler, each schedule
    /// checked for linearizability.
    Shuttle,
    /// `tests/race_smoke.rs`: the same generated races on real threads.
    RaceSmoke,
}

impl Layer {
    /// Every layer, in the order tables list them.
    pub const ALL: [Layer; 3] = [Layer::Loom, Layer::Shuttle, Layer::RaceSmoke];

    /// Its name in `verification.json` and in the log.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Loom => "loom",
            Layer::Shuttle => "shuttle",
            Layer::RaceSmoke => "race_smoke",
        }
    }

    /// What one of its runs is.
    pub fn run(self) -> &'static str {
        match self {
            Layer::Loom => "scenario test (every interleaving loom explores)",
            Layer::Shuttle => "schedule",
            Layer::RaceSmoke => "generated case",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong recording, reading or folding the layers' results.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("cannot open or write the layer log {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("wrote {written} of {len} bytes of a line to the layer log {path}: a torn line")]
    ShortWrite {
        path: PathBuf,
        written: usize,
        len: usize,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: not a layer result: {source}")]
    Line {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{path} is not a verification summary: {source}")]
    Summary {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the inconclusive ceiling must be a share between 0 and 1, not {0}")]
    Ceiling(f64),
    #[error("cannot write the reports into {path}: {source}")]
    Reports {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What `verify --merge-layers` did.
pub struct Merged {
    pub report: VerificationReport,
    /// Engines the log has results for that the summary does not check: left out.
    pub unchecked: Vec<String>,
}

/// Reads `dir`'s `verification.json` and the layer log at `log`, folds the log in under
/// `ceiling` and writes `verification.json` and `VERIFICATION.md` into `dir` again.
pub fn merge_layers(dir: &Path, log: &Path, ceiling: f64) -> Result<Merged, LayerError> {
    let path = dir.join("verification.json");
    let text = std::fs::read_to_string(&path).map_err(|source| LayerError::Read {
        path: path.clone(),
        source,
    })?;
    let mut report: VerificationReport =
        serde_json::from_str(&text).map_err(|source| LayerError::Summary {
            path: path.clone(),
            source,
        })?;
    let lines = read_log(log)?;
    let unchecked = fold(&mut report, &lines, ceiling)?;
    crate::verify::write_reports(&report, dir).map_err(|source| LayerError::Reports {
        path: dir.to_owned(),
        source,
    })?;
    Ok(Merged { report, unchecked })
}

#[cfg(test)]
mod tests;
