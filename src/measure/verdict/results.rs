//! The result-set file, declared once: for each case (`mixed/4threads`) and contender
//! (`lock/1`), every trial's figure per metric in round order, the metrics' units and
//! directions, and where the figures came from. Every trial is kept, never only a summary,
//! so any later comparison can rerun the statistics on the raw figures.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::decide::Better;

/// The format this build writes and reads. A file of another format is refused with its
/// number rather than half-read.
pub const RESULTS_FORMAT: u32 = 1;

/// Metric → every trial's figure, in round order.
pub type ContenderTrials = BTreeMap<String, Vec<f64>>;
/// Contender → its trials.
pub type CaseTrials = BTreeMap<String, ContenderTrials>;

/// A saved set of measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultSet {
    pub format: u32,
    pub provenance: Provenance,
    /// Every metric the trials carry.
    pub metrics: BTreeMap<String, Metric>,
    /// Case id → contender → metric → trials.
    pub cases: BTreeMap<String, CaseTrials>,
}

/// What a metric's figures mean.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    /// As printed after a figure: `ops/s`, `µs`.
    pub unit: String,
    pub better: Better,
}

/// Where and from what a result set was measured. Each field is what could be read, `None`
/// (JSON `null`) where it could not: an unknown is recorded as unknown, never guessed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// `git rev-parse HEAD` in the working directory.
    pub commit: Option<String>,
    /// Whether tracked files outside `reports/` differed from that commit (`git status
    /// --porcelain`).
    pub dirty: Option<bool>,
    /// `rustc -V` on the PATH: the toolchain in use where the measurement ran, which is the
    /// one that built it when run through cargo.
    pub rustc: Option<String>,
    /// The first `model name` in /proc/cpuinfo.
    pub cpu: Option<String>,
    /// The cores this process may run on, as `nproc` counts them.
    pub cores: Option<usize>,
    /// The clock at reading, UTC, `2026-01-02T03:04:05Z`.
    pub date: Option<String>,
    /// The fingerprint of the engine sources of the measuring build
    /// ([`crate::ENGINE_SOURCE_HASH`]), so a reader can tell trials of other engine code from
    /// trials of its own; absent from sets written before it was recorded.
    #[serde(default)]
    pub engine_source_hash: Option<String>,
}

/// How the engine sources a measurement recorded stand against this build's
/// ([`crate::ENGINE_SOURCE_HASH`]): the one comparison behind every "stale" the gate and the
/// report print, each in its own words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineSources<'a> {
    /// Measured on this build's engine sources.
    This,
    /// Measured on other engine sources: their fingerprint.
    Other(&'a str),
    /// Written before the fingerprint was recorded, so nothing says which engines it measured.
    Unrecorded,
}

impl<'a> EngineSources<'a> {
    /// Judges a recorded fingerprint, `None` where none was recorded.
    pub fn of(recorded: Option<&'a str>) -> EngineSources<'a> {
        match recorded {
            Some(hash) if hash == crate::engines::ENGINE_SOURCE_HASH => EngineSources::This,
            Some(hash) => EngineSources::Other(hash),
            None => EngineSources::Unrecorded,
        }
    }
}

/// Why a result set could not be read, built or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a result set", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} is result-set format {found}, and this build reads format {RESULTS_FORMAT}", path.display())]
    Format { path: PathBuf, found: u64 },
    #[error("{} has trials of metric {metric:?} but does not declare it", path.display())]
    UndeclaredIn { path: PathBuf, metric: String },
    #[error("metric {metric:?} is not declared")]
    Undeclared { metric: String },
    #[error("a trial of {case} {contender} {metric} is not a finite number ({value})")]
    NotFinite {
        case: String,
        contender: String,
        metric: String,
        value: f64,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ResultSet {
    /// An empty set measured under `provenance`.
    pub fn new(provenance: Provenance) -> ResultSet {
        ResultSet {
            format: RESULTS_FORMAT,
            provenance,
            metrics: BTreeMap::new(),
            cases: BTreeMap::new(),
        }
    }

    /// Declares a metric; declaring it again replaces its unit and direction.
    pub fn declare(&mut self, metric: &str, unit: &str, better: Better) {
        self.metrics.insert(
            metric.to_owned(),
            Metric {
                unit: unit.to_owned(),
                better,
            },
        );
    }

    /// Appends one trial's figure: call it once per round, in round order.
    pub fn push(
        &mut self,
        case: &str,
        contender: &str,
        metric: &str,
        value: f64,
    ) -> Result<(), ResultsError> {
        if !self.metrics.contains_key(metric) {
            return Err(ResultsError::Undeclared {
                metric: metric.to_owned(),
            });
        }
        // JSON has no NaN or infinity; such a figure would come back as null and spoil the
        // whole file, so it is refused here, where the caller can still say which trial.
        if !value.is_finite() {
            return Err(ResultsError::NotFinite {
                case: case.to_owned(),
                contender: contender.to_owned(),
                metric: metric.to_owned(),
                value,
            });
        }
        self.cases
            .entry(case.to_owned())
            .or_default()
            .entry(contender.to_owned())
            .or_default()
            .entry(metric.to_owned())
            .or_default()
            .push(value);
        Ok(())
    }

    /// A contender's trials on one metric of one case.
    pub fn trials(&self, case: &str, contender: &str, metric: &str) -> Option<&[f64]> {
        self.cases
            .get(case)?
            .get(contender)?
            .get(metric)
            .map(Vec::as_slice)
    }

    /// Reads a result set, refusing another format or trials of an undeclared metric.
    pub fn read(path: &Path) -> Result<ResultSet, ResultsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Read {
            path: path.to_owned(),
            source,
        })?;
        let parse = |source| ResultsError::Parse {
            path: path.to_owned(),
            source,
        };
        // The format number is checked before the shape, so a file from another version is
        // named as such instead of failing on whichever field changed.
        let value: serde_json::Value = serde_json::from_str(&text).map_err(parse)?;
        let found = value.get("format").and_then(serde_json::Value::as_u64);
        if found != Some(u64::from(RESULTS_FORMAT)) {
            return Err(ResultsError::Format {
                path: path.to_owned(),
                found: found.unwrap_or(0),
            });
        }
        let set: ResultSet = serde_json::from_value(value).map_err(parse)?;
        let undeclared = set
            .cases
            .values()
            .flat_map(BTreeMap::values)
            .flat_map(BTreeMap::keys)
            .find(|metric| !set.metrics.contains_key(*metric));
        if let Some(metric) = undeclared {
            return Err(ResultsError::UndeclaredIn {
                path: path.to_owned(),
                metric: metric.clone(),
            });
        }
        Ok(set)
    }

    /// Writes the set as pretty JSON, creating its directory.
    pub fn write(&self, path: &Path) -> Result<(), ResultsError> {
        crate::measure::files::write_json(path, self).map_err(|source| ResultsError::Write {
            path: path.to_owned(),
            source,
        })
    }
}

impl Provenance {
    /// Reads the provenance of a measurement starting now: the commit checked out in the
    /// working directory, the toolchain, the CPU, the core count, the clock and the engine
    /// sources this build was made from. A reading that fails is left `None`.
    pub fn read() -> Provenance {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|line| line.strip_prefix("model name"))
                    .and_then(|rest| rest.split_once(':'))
                    .map(|(_, name)| name.trim().to_owned())
                    .filter(|name| !name.is_empty())
            });
        // The measurements' own outputs under reports/ (a gate procedure's trials, written
        // before the next procedure starts) are not a change to what was measured.
        let dirty = run(
            "git",
            &[
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)reports",
            ],
        )
        .map(|changes| !changes.is_empty());
        Provenance {
            commit: run("git", &["rev-parse", "HEAD"]).filter(|c| !c.is_empty()),
            dirty,
            rustc: run("rustc", &["-V"]).filter(|v| !v.is_empty()),
            cpu,
            cores: std::thread::available_parallelism().ok().map(|n| n.get()),
            date: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|since| utc_date(since.as_secs())),
            engine_source_hash: Some(crate::engines::ENGINE_SOURCE_HASH.to_owned()),
        }
    }
}

/// The trimmed standard output of a command that ran and succeeded.
fn run(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Seconds since the Unix epoch as an RFC 3339 UTC time. The civil date comes from Howard
/// Hinnant's `civil_from_days`, exact for every date after 1970; a date library for one
/// timestamp would be a dependency for nothing.
fn utc_date(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let seconds = unix_seconds % 86_400;
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of each year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_date(1_767_323_045), "2026-01-02T03:04:05Z");
    }

    #[test]
    fn round_trip_keeps_every_trial_in_order() {
        let dir = std::env::temp_dir().join(format!("lockchan-results-{}", std::process::id()));
        let path = dir.join("set.json");
        let mut set = ResultSet::new(Provenance::read());
        set.declare("throughput", "ops/s", Better::Higher);
        for value in [3.0, 1.0, 2.0] {
            set.push("mixed/4threads", "lock/1", "throughput", value)
                .unwrap();
        }
        set.write(&path).unwrap();
        let back = ResultSet::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(back, set);
        assert_eq!(
            back.trials("mixed/4threads", "lock/1", "throughput"),
            Some(&[3.0, 1.0, 2.0][..])
        );
    }

    #[test]
    fn the_engine_source_hash_is_recorded_and_a_set_without_it_still_reads() {
        assert_eq!(
            Provenance::read().engine_source_hash.as_deref(),
            Some(crate::engines::ENGINE_SOURCE_HASH)
        );
        let old: Provenance = serde_json::from_str(
            r#"{"commit": null, "dirty": null, "rustc": null, "cpu": null,
                                     "cores": 2, "date": null}"#,
        )
        .expect("a provenance without the hash reads");
        assert_eq!(old.engine_source_hash, None);
        assert_eq!(old.cores, Some(2));
    }

    #[test]
    fn refuses_undeclared_and_non_finite_figures() {
        let mut set = ResultSet::new(Provenance::default());
        assert!(matches!(
            set.push("c", "x", "p99", 1.0),
            Err(ResultsError::Undeclared { .. })
        ));
        set.declare("p99", "µs", Better::Lower);
        assert!(matches!(
            set.push("c", "x", "p99", f64::NAN),
            Err(ResultsError::NotFinite { .. })
        ));
    }

    #[test]
    fn refuses_another_format() {
        let dir = std::env::temp_dir().join(format!("lockchan-format-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.json");
        std::fs::write(&path, r#"{"format": 99, "cases": {}}"#).unwrap();
        let err = ResultSet::read(&path).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            matches!(err, ResultsError::Format { found: 99, .. }),
            "{err}"
        );
    }
}
