//! `lockchan compare OLD NEW`: two saved result sets → for every case, contender and metric
//! both measured, *improved*, *regressed* or *no change*, judged by the same [`Verdict`] as
//! everything else, and a markdown table fit for a pull-request comment.

use std::fmt::Write as _;

use serde::Serialize;

use super::decide::{Criteria, Trials, Verdict, VerdictError};
use super::results::{Provenance, ResultSet};
use crate::measure::format;

/// The side names a comparison's verdicts use: "old is faster than new by …".
pub const OLD: &str = "old";
pub const NEW: &str = "new";

/// What counts as a change, and what as a regression that fails the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CompareSettings {
    pub criteria: Criteria,
    /// A regression whose effect exceeds this fraction (0.10 is 10%) fails the comparison. A
    /// smaller one is reported and passes, so CI stops only on a slowdown worth a look.
    pub threshold: f64,
}

impl Default for CompareSettings {
    fn default() -> Self {
        CompareSettings {
            criteria: Criteria::default(),
            threshold: 0.10,
        }
    }
}

/// Why two result sets could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("metric {metric:?} improves in opposite directions in the two result sets")]
    Direction { metric: String },
    #[error("cannot compare {case} {contender} {metric}")]
    Verdict {
        case: String,
        contender: String,
        metric: String,
        #[source]
        source: VerdictError,
    },
}

/// Which way new moved against old.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Improved,
    Regressed,
    NoChange,
}

/// One case, contender and metric measured in both sets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub case: String,
    pub contender: String,
    pub metric: String,
    pub unit: String,
    /// The verdict of `new` against `old`; its medians are the old and new figures.
    pub verdict: Verdict,
    pub change: Change,
    /// A regression larger than the threshold.
    pub beyond_threshold: bool,
}

/// Every row, and what only one set measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub settings: CompareSettings,
    pub old: Provenance,
    pub new: Provenance,
    pub rows: Vec<Row>,
    /// `case contender metric (only in old|new)` for trials without a counterpart.
    pub unmatched: Vec<String>,
}

/// Compares every case, contender and metric that both sets measured, in the order of the
/// new set.
pub fn compare(
    old: &ResultSet,
    new: &ResultSet,
    settings: CompareSettings,
) -> Result<Comparison, CompareError> {
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    for (case, contenders) in &new.cases {
        for (contender, metrics) in contenders {
            for (metric, new_trials) in metrics {
                let Some(old_trials) = old.trials(case, contender, metric) else {
                    unmatched.push(format!("{case} {contender} {metric} (only in new)"));
                    continue;
                };
                // `ResultSet::read` guarantees that every metric with trials is declared.
                let Some(declared) = new.metrics.get(metric) else {
                    continue;
                };
                if old.metrics.get(metric).map(|m| m.better) != Some(declared.better) {
                    return Err(CompareError::Direction {
                        metric: metric.clone(),
                    });
                }
                let verdict = Verdict::judge(
                    Trials {
                        name: NEW,
                        values: new_trials,
                    },
                    Trials {
                        name: OLD,
                        values: old_trials,
                    },
                    declared.better,
                    settings.criteria,
                )
                .map_err(|source| CompareError::Verdict {
                    case: case.clone(),
                    contender: contender.clone(),
                    metric: metric.clone(),
                    source,
                })?;
                let change = match verdict.winner() {
                    Some(NEW) => Change::Improved,
                    Some(_) => Change::Regressed,
                    None => Change::NoChange,
                };
                let beyond_threshold = change == Change::Regressed
                    && verdict.effect().is_some_and(|e| e > settings.threshold);
                rows.push(Row {
                    case: case.clone(),
                    contender: contender.clone(),
                    metric: metric.clone(),
                    unit: declared.unit.clone(),
                    verdict,
                    change,
                    beyond_threshold,
                });
            }
        }
    }
    for (case, contenders) in &old.cases {
        for (contender, metrics) in contenders {
            for metric in metrics.keys() {
                if new.trials(case, contender, metric).is_none() {
                    unmatched.push(format!("{case} {contender} {metric} (only in old)"));
                }
            }
        }
    }
    Ok(Comparison {
        settings,
        old: old.provenance.clone(),
        new: new.provenance.clone(),
        rows,
        unmatched,
    })
}

impl Comparison {
    /// The regressions larger than the threshold: any of them fails the comparison.
    pub fn failures(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|row| row.beyond_threshold)
    }

    fn count(&self, change: Change) -> usize {
        self.rows.iter().filter(|row| row.change == change).count()
    }

    /// One line: how many rows regressed (and how many beyond the threshold), improved, or
    /// did not change.
    pub fn summary(&self) -> String {
        let failures = self.failures().count();
        format!(
            "{} regressed ({failures} beyond {}), {} improved, {} no change",
            self.count(Change::Regressed),
            percent(self.settings.threshold),
            self.count(Change::Improved),
            self.count(Change::NoChange),
        )
    }

    /// The comparison as markdown: the summary, a table with a row per case, contender and
    /// metric, what was left unmatched, and both sets' provenance.
    pub fn markdown(&self) -> String {
        let criteria = self.settings.criteria;
        let mut out = format!(
            "**{}**\n\nA change needs p < {} on the Mann–Whitney U test, a 95% bootstrap \
             interval of the ratio of medians clear of no change, and an effect of at least \
             {}; a regression beyond {} fails.\n\n",
            self.summary(),
            criteria.alpha,
            percent(criteria.min_effect),
            percent(self.settings.threshold),
        );
        out.push_str("| case | contender | metric | old | new | change | verdict |\n");
        out.push_str("|---|---|---|--:|--:|---|---|\n");
        for row in &self.rows {
            let change = match (row.change, row.beyond_threshold) {
                (Change::Regressed, true) => "**regressed**",
                (Change::Regressed, false) => "regressed",
                (Change::Improved, _) => "improved",
                (Change::NoChange, _) => "no change",
            };
            let unit = if row.unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", row.unit)
            };
            // Verdicts are judged new against old, so `median_a` is the new figure.
            let _ = writeln!(
                out,
                "| {} | {} | {}{} | {} | {} | {change} | {} |",
                cell(&row.case),
                cell(&row.contender),
                cell(&row.metric),
                cell(&unit),
                format::amount(row.verdict.median_b),
                format::amount(row.verdict.median_a),
                cell(&row.verdict.to_string()),
            );
        }
        if !self.unmatched.is_empty() {
            out.push_str("\nNot compared, measured on one side only:\n\n");
            for line in &self.unmatched {
                let _ = writeln!(out, "- {}", line);
            }
        }
        let _ = write!(
            out,
            "\nold: {}\n\nnew: {}\n",
            provenance(&self.old),
            provenance(&self.new)
        );
        out
    }
}

/// A one-line provenance: `commit abc1234 (dirty), rustc 1.95.0, CPU (2 cores), date`.
fn provenance(p: &Provenance) -> String {
    let unknown = |value: &Option<String>| value.clone().unwrap_or_else(|| "unknown".to_owned());
    let commit = match (&p.commit, p.dirty) {
        (Some(commit), Some(true)) => format!("`{}` with uncommitted changes", short(commit)),
        (Some(commit), _) => format!("`{}`", short(commit)),
        (None, _) => "unknown".to_owned(),
    };
    let cores = p
        .cores
        .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    format!(
        "commit {commit}, {}, {} ({cores} cores), {}",
        unknown(&p.rustc),
        cell(&unknown(&p.cpu)),
        unknown(&p.date)
    )
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// Text made safe for a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn percent(fraction: f64) -> String {
    format!("{}%", (fraction * 1000.0).round() / 10.0)
}

/// Sets of one case and contender with one metric each, for the tests.
#[cfg(test)]
pub(super) fn single(metric: &str, better: super::decide::Better, trials: &[f64]) -> ResultSet {
    let mut set = ResultSet::new(Provenance::default());
    set.declare(metric, "u", better);
    for &value in trials {
        set.push("mixed/4threads", "lock/1", metric, value)
            .expect("declared and finite");
    }
    set
}
