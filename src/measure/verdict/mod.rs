//! Verdicts: how sure a comparison is. Every comparison the project prints or stores (gate,
//! report, duel, `lockchan compare`) goes through [`Verdict::judge`] and comes out as one of
//! two sentences: "A is faster than B by x% (95% CI lo–hi, n rounds)" or "no significant
//! difference (~ p=… n=…)".
//!
//! # The statistics, and why these
//!
//! The benchmarks run on a shared two-core machine where another process can halve a trial's
//! throughput, and a mean follows such an outlier wherever it goes; a ratio between two
//! engines on one commit moved 3× between two runs an hour apart. So, as Go's benchstat does:
//!
//! - **The median** of each contender's trials summarises it: a few wild trials do not move it.
//! - **The Mann–Whitney U rank test** decides whether two contenders differ at all. It looks
//!   only at the order of the trials, so it assumes no distribution (benchmark figures are
//!   skewed, not normal) and an outlier counts as one rank, however far out. Two-sided, exact
//!   for up to 50 untied trials a side, else the normal approximation with tie correction.
//! - **A percentile bootstrap 95% interval of the ratio of medians** gives the size of the
//!   effect, which a p-value does not: 10,000 resamples, a fixed seed so that the same samples
//!   always give the same interval. A ratio rather than a difference, because the project's
//!   figures span orders of magnitude and "x% faster" is what a reader compares.
//!
//! A winner needs the test significant (alpha 0.05 by default), the interval clear of no
//! change, and an effect of at least the minimum (5% by default); anything less is a tie. The
//! minimum effect is what makes a verdict survive a rerun: differences of a few percent are
//! real on a quiet machine and noise on this one. Criterion's own comparison was not used: it
//! compares a benchmark with its own saved baseline, not two contenders with each other, and
//! its samples are batches taken back to back within one run, so drift over the run lands on
//! whichever contender ran at the time instead of on all of them alike.
//!
//! Contenders are measured in interleaved rounds by the runner, so the trials of a round
//! share the machine's state; the statistics here still treat the two sides as independent
//! samples, which stays valid for two separate runs (`compare OLD NEW`) and is conservative
//! within one.
//!
//! - `stats.rs`: median, the bootstrap interval, the rank test.
//! - `decide.rs`: [`Verdict`], [`Better`], [`Criteria`].
//! - `results.rs`: [`ResultSet`], the saved trials, and [`Provenance`].
//! - `compare.rs`: [`compare`] of two result sets, its table and its failures.
//! - `rounds.rs`: the interleaved schedule of trials.
//! - `standings.rs`: N contenders on several metrics, one decision.
//! - `lines.rs`: two contenders on several metrics, a line each (the duels' verdict lines).

mod compare;
mod decide;
mod lines;
mod results;
mod rounds;
mod standings;
mod stats;

pub use self::compare::{
    Change, CompareError, CompareSettings, Comparison, NEW, OLD, Row, compare,
};
pub use self::decide::{Better, Criteria, Outcome, TieReason, Trials, Verdict, VerdictError};
pub use self::lines::{PairMetric, pair_lines};
pub use self::results::{
    CaseTrials, ContenderTrials, EngineSources, Metric, Provenance, RESULTS_FORMAT, ResultSet,
    ResultsError,
};
pub use self::rounds::{DEFAULT_ROUNDS, schedule};
pub use self::standings::{Entry, Judged, Standings, rank};
pub use self::stats::{
    BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, EXACT_RANK_LIMIT, RatioInterval,
    mann_whitney_p, median, ratio_interval,
};

#[cfg(test)]
mod tests;
