//! `lockchan compare OLD NEW`: read two saved result sets, print the markdown table of
//! verdicts on stdout and a summary on stderr, and exit the way `diff` does: 0 when nothing
//! regressed beyond the threshold, 1 when something did, 2 when the comparison could not be
//! made at all (a file unreadable, not a result set, or incomparable).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use lockchan::verdict::{CompareSettings, Criteria, ResultSet, compare as compare_sets};

#[derive(Args)]
pub(crate) struct CompareArgs {
    /// The baseline result set (JSON).
    old: PathBuf,
    /// The result set to judge against it.
    new: PathBuf,
    /// Percent: a regression larger than this exits with status 1. Measured as the rate
    /// ratio: 20 means the old ran 20% faster (more ops/s, or 1/1.2 of the latency).
    #[arg(long, default_value_t = 10.0)]
    threshold: f64,
    /// Percent: a difference smaller than this is no change, even when significant.
    #[arg(long, default_value_t = 5.0)]
    min_effect: f64,
    /// Significance level of the rank test.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
}

/// Runs the comparison and turns its outcome into the exit status. Errors are printed here,
/// as `main` would, so that they exit 2 rather than the 1 that means "regressed".
pub(crate) fn compare(args: CompareArgs) -> ExitCode {
    match run(&args) {
        Ok(true) => ExitCode::from(1),
        Ok(false) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:?}");
            ExitCode::from(2)
        }
    }
}

/// Whether anything regressed beyond the threshold.
fn run(args: &CompareArgs) -> anyhow::Result<bool> {
    if !(args.threshold >= 0.0 && args.min_effect >= 0.0) {
        bail!("--threshold and --min-effect are percentages of 0 or more");
    }
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha is a probability between 0 and 1, such as 0.05");
    }
    let old = ResultSet::read(&args.old).context("reading the old result set")?;
    let new = ResultSet::read(&args.new).context("reading the new result set")?;
    let settings = CompareSettings {
        criteria: Criteria {
            alpha: args.alpha,
            min_effect: args.min_effect / 100.0,
        },
        threshold: args.threshold / 100.0,
    };
    let comparison = compare_sets(&old, &new, settings).context("comparing the result sets")?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(comparison.markdown().as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing the table")?;
    eprintln!("compare: {}", comparison.summary());
    for row in comparison.failures() {
        eprintln!(
            "regressed: {} {} {}: {}",
            row.case, row.contender, row.metric, row.verdict
        );
    }
    // Two sets with nothing in common are most likely the wrong files; passing them would
    // let a CI job go green having compared nothing.
    if comparison.rows.is_empty() {
        bail!(
            "{} and {} share no case, contender and metric: nothing was compared",
            args.old.display(),
            args.new.display()
        );
    }
    Ok(comparison.failures().next().is_some())
}
