//! The report: reads every result there is (criterion's, the benches' extra stats, the duel,
//! the verification summary), derives the comparisons, and writes `REPORT.md` with SVG plots
//! under `plots/`. Nothing is invented: a section without its input says what produces it.
//!
//! - `inputs`: one reader per input, each on its producer's type; a missing one is `None`.
//! - `figures`: throughput panels, the headline (every engine at its best shard count),
//!   floors, the talk's table.
//! - `verdicts`: the verdicts from interleaved trials, the report's first section.
//! - `plots`: the SVG charts. `markdown`: the document and its appendix. Numbers are written by
//!   `crate::measure::format`, as the gate writes them.

mod figures;
mod inputs;
mod markdown;
pub(crate) mod plots;
mod verdicts;

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

pub use crate::measure::files::InputError;
use inputs::Inputs;

/// The report's file name inside the reports directory.
pub const REPORT_FILE: &str = "REPORT.md";
/// The appendix beside it: the long per-case fairness, CPU and context-switch tables.
pub const APPENDIX_FILE: &str = "APPENDIX.md";
/// The plots' directory inside the reports directory, linked from the report by this
/// relative path.
pub const PLOTS_DIR: &str = "plots";
/// The duel's results inside the reports directory, as `lockchan duel` writes them.
pub const DUEL_FILE: &str = "duel.json";
/// The verification summary inside the reports directory, as `lockchan verify` writes it.
pub const VERIFICATION_FILE: &str = "verification.json";
/// Where `lockchan load` and `duel --e2e` draw their plots, under the reports directory: a
/// folder of its own, because `report` redraws (and first clears) `plots/` itself.
pub const LOAD_PLOTS_DIR: &str = "plots/load";

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot clear the old plots at {}", path.display())]
    ClearPlots {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot draw {}: {message}", path.display())]
    Plot { path: PathBuf, message: String },
}

/// What a report run wrote and what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSummary {
    /// The Markdown report.
    pub report: PathBuf,
    /// Every SVG written, in the order the report shows them.
    pub plots: Vec<PathBuf>,
    /// Criterion results read (each a `new/benchmark.json` with its `estimates.json`).
    pub criterion_results: usize,
    /// Extra-stats files read.
    pub extra_stats: usize,
    pub duel_found: bool,
    pub verification_found: bool,
    /// The inputs that were absent, each with the command that produces it.
    pub missing: Vec<String>,
    /// The inputs that measured other engine sources than this build's, each with why and the
    /// command that measures it again.
    pub stale: Vec<String>,
}

/// Reads criterion's results under `criterion_dir` (normally `target/criterion`), the
/// benches' extra stats in `extra_dir` (normally `target/lockchan-bench`), and `duel.json`
/// and `verification.json` in `reports_dir`; writes `REPORT.md` there and the SVG plots in
/// its `plots/` directory, replacing the plots of an earlier run.
pub fn write_report(
    criterion_dir: &Path,
    extra_dir: &Path,
    reports_dir: &Path,
) -> Result<ReportSummary, ReportError> {
    let inputs = Inputs::read(criterion_dir, extra_dir, reports_dir)?;
    let plots_dir = reports_dir.join(PLOTS_DIR);
    create_dir(&plots_dir)?;
    remove_stale_plots(&plots_dir)?;

    let mut plots = Vec::new();
    for (file, chart) in charts(&inputs) {
        let path = plots_dir.join(&file);
        let svg = plots::render_svg(&chart).map_err(|message| ReportError::Plot {
            path: path.clone(),
            message,
        })?;
        write(&path, &svg)?;
        plots.push((file, path));
    }
    let drawn: BTreeSet<String> = plots.iter().map(|(file, _)| file.clone()).collect();
    let report = reports_dir.join(REPORT_FILE);
    write(&report, &markdown::render(&inputs, PLOTS_DIR, &drawn))?;
    write(
        &reports_dir.join(APPENDIX_FILE),
        &markdown::render_appendix(&inputs, PLOTS_DIR, &drawn),
    )?;

    Ok(ReportSummary {
        report,
        plots: plots.into_iter().map(|(_, path)| path).collect(),
        criterion_results: inputs.results().len(),
        extra_stats: inputs.extra_stats().len(),
        duel_found: inputs.duel.data.is_some(),
        verification_found: inputs.verification.data.is_some(),
        missing: inputs.missing(),
        stale: inputs.stale(),
    })
}

/// Every chart the report shows, with its file name: each workload's throughput panels, then
/// the latency panels of `mixed`.
fn charts(inputs: &Inputs) -> Vec<(String, plots::LineChart)> {
    let results = inputs.results();
    let mut charts = Vec::new();
    for group in figures::workload_groups(results) {
        for panel in figures::panels(results, &group) {
            charts.push((panel.file_name(), plots::throughput_chart(&panel)));
        }
    }
    for panel in figures::latency_panels(inputs.extra_stats()) {
        charts.push((panel.file_name(), plots::latency_chart(&panel)));
    }
    charts
}

fn create_dir(path: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(path).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), ReportError> {
    std::fs::write(path, contents).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Removes the SVGs an earlier run left in `plots/`: a plot whose results are gone would
/// otherwise sit beside the report as if it were current. Only `.svg` files directly inside
/// are touched; the directory is the report's own.
fn remove_stale_plots(plots_dir: &Path) -> Result<(), ReportError> {
    let read_error = |source| ReportError::ClearPlots {
        path: plots_dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(plots_dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.extension().is_some_and(|ext| ext == "svg") && path.is_file() {
            std::fs::remove_file(&path)
                .map_err(|source| ReportError::ClearPlots { path, source })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
