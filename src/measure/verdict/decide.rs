//! [`Verdict`]: two contenders' trials on one metric → "A is faster than B by x% (95% CI
//! lo–hi, n rounds)" or "no significant difference (~ p=… n=…)". The one type every
//! comparison in the project prints and stores.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::stats::{self, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, RatioInterval};

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Throughput: more is faster.
    Higher,
    /// Latency, CPU per frame: less is faster.
    Lower,
}

/// When a difference counts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Criteria {
    /// The rank test's significance level.
    pub alpha: f64,
    /// The smallest effect that is not a tie, as a fraction (0.05 is 5%): on a shared machine
    /// a real 2% difference is below what anyone would act on, and below what a rerun
    /// reproduces.
    pub min_effect: f64,
}

impl Default for Criteria {
    fn default() -> Self {
        Criteria {
            alpha: 0.05,
            min_effect: 0.05,
        }
    }
}

/// One contender's trials on one metric, in round order.
#[derive(Clone, Copy, Debug)]
pub struct Trials<'a> {
    pub name: &'a str,
    pub values: &'a [f64],
}

/// Why two sets of trials could not be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VerdictError {
    #[error("{name} has no trials")]
    Empty { name: String },
    #[error("{name} has a trial that is not a finite number ({value})")]
    NotFinite { name: String, value: f64 },
    #[error("{name}'s median is {median}, and a ratio needs a positive median")]
    NoRatio { name: String, median: f64 },
}

/// The outcome of comparing two contenders on one metric, with the statistics behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub a: String,
    pub b: String,
    pub better: Better,
    pub median_a: f64,
    pub median_b: f64,
    pub n_a: usize,
    pub n_b: usize,
    /// `median_a / median_b` in the metric's own units, with its bootstrap interval.
    pub ratio: RatioInterval,
    /// The Mann–Whitney U test's two-sided p-value.
    pub p_value: f64,
    pub criteria: Criteria,
    pub outcome: Outcome,
}

/// A winner by a margin, or a tie.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// `winner` is faster than `loser` by `effect` (a fraction: 0.2 is 20%), within the
    /// interval `lo`..`hi`. Faster means a higher rate: for a lower-is-better metric the
    /// effect is `loser / winner − 1`, so 100 µs against 125 µs is 25% faster, the same
    /// number as 125 against 100 operations a second.
    Faster {
        winner: String,
        loser: String,
        effect: f64,
        lo: f64,
        hi: f64,
    },
    /// No difference that counts, for the reason given.
    Tie { reason: TieReason },
}

/// Why a comparison is a tie, in the order the conditions are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieReason {
    /// The rank test's p-value is not under alpha.
    NotSignificant,
    /// The rank test says the two differ, but the interval of the effect includes no change:
    /// the medians alone are not clearly apart (outliers on one side, typically).
    IntervalSpansZero,
    /// The two differ, by less than the minimum effect.
    BelowMinEffect,
}

/// Which side the medians favour, and by how much: the effect as in [`Outcome::Faster`].
struct Lead {
    a_ahead: bool,
    effect: f64,
    lo: f64,
    hi: f64,
}

impl Lead {
    fn of(ratio: &RatioInterval, better: Better) -> Lead {
        // a's speed relative to b's: above 1 means a is faster.
        let (speed, lo, hi) = match better {
            Better::Higher => (ratio.ratio, ratio.lo, ratio.hi),
            Better::Lower => (1.0 / ratio.ratio, 1.0 / ratio.hi, 1.0 / ratio.lo),
        };
        if speed >= 1.0 {
            Lead {
                a_ahead: true,
                effect: speed - 1.0,
                lo: lo - 1.0,
                hi: hi - 1.0,
            }
        } else {
            Lead {
                a_ahead: false,
                effect: 1.0 / speed - 1.0,
                lo: 1.0 / hi - 1.0,
                hi: 1.0 / lo - 1.0,
            }
        }
    }
}

impl Verdict {
    /// Compares `a` with `b` on a metric that improves the way `better` says.
    ///
    /// A winner needs three things at once: the rank test significant at `alpha`, the
    /// bootstrap interval wholly on one side of no change, and the median effect at least
    /// `min_effect`. Requiring the interval as well as the test means a printed winner never
    /// carries an interval that includes zero; requiring the minimum effect means a small
    /// difference that a noisy machine's next run may reverse is called a tie, not a win.
    pub fn judge(
        a: Trials<'_>,
        b: Trials<'_>,
        better: Better,
        criteria: Criteria,
    ) -> Result<Verdict, VerdictError> {
        let median_a = checked_median(a)?;
        let median_b = checked_median(b)?;
        let ratio = stats::ratio_interval(a.values, b.values, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)
            .ok_or_else(|| {
                let (name, median) = if median_a > 0.0 {
                    (b.name, median_b)
                } else {
                    (a.name, median_a)
                };
                VerdictError::NoRatio {
                    name: name.to_owned(),
                    median,
                }
            })?;
        // `checked_median` rejected empty sides, the only case the test has no answer for.
        let p_value = stats::mann_whitney_p(a.values, b.values).unwrap_or(1.0);
        let lead = Lead::of(&ratio, better);
        let (winner, loser) = if lead.a_ahead {
            (a.name, b.name)
        } else {
            (b.name, a.name)
        };
        let tie = |reason| Outcome::Tie { reason };
        let outcome = if p_value >= criteria.alpha {
            tie(TieReason::NotSignificant)
        } else if lead.lo <= 0.0 {
            tie(TieReason::IntervalSpansZero)
        } else if lead.effect < criteria.min_effect {
            tie(TieReason::BelowMinEffect)
        } else {
            Outcome::Faster {
                winner: winner.to_owned(),
                loser: loser.to_owned(),
                effect: lead.effect,
                lo: lead.lo,
                hi: lead.hi,
            }
        };
        Ok(Verdict {
            a: a.name.to_owned(),
            b: b.name.to_owned(),
            better,
            median_a,
            median_b,
            n_a: a.values.len(),
            n_b: b.values.len(),
            ratio,
            p_value,
            criteria,
            outcome,
        })
    }

    /// The faster contender, or `None` for a tie.
    pub fn winner(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Faster { winner, .. } => Some(winner),
            Outcome::Tie { .. } => None,
        }
    }

    pub fn is_tie(&self) -> bool {
        self.winner().is_none()
    }

    /// The winner's margin as a fraction, `None` for a tie.
    pub fn effect(&self) -> Option<f64> {
        match self.outcome {
            Outcome::Faster { effect, .. } => Some(effect),
            Outcome::Tie { .. } => None,
        }
    }

    /// The trial counts as benchstat writes them: `10`, or `10+8` when the sides differ.
    fn counts(&self) -> String {
        if self.n_a == self.n_b {
            self.n_a.to_string()
        } else {
            format!("{}+{}", self.n_a, self.n_b)
        }
    }
}

fn checked_median(trials: Trials<'_>) -> Result<f64, VerdictError> {
    if let Some(&value) = trials.values.iter().find(|v| !v.is_finite()) {
        return Err(VerdictError::NotFinite {
            name: trials.name.to_owned(),
            value,
        });
    }
    stats::median(trials.values).ok_or_else(|| VerdictError::Empty {
        name: trials.name.to_owned(),
    })
}

/// The verdict's sentence. A tie whose p-value is under alpha says inside the parentheses why
/// it is still a tie, so such a p-value never stands unexplained beside "no significant
/// difference".
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Faster {
                winner,
                loser,
                effect,
                lo,
                hi,
            } => write!(
                f,
                "{winner} is faster than {loser} by {} (95% CI {}–{}, {} rounds)",
                percent(*effect),
                percent(*lo),
                percent(*hi),
                self.counts()
            ),
            Outcome::Tie { reason } => {
                write!(
                    f,
                    "no significant difference (~ p={:.3} n={}",
                    self.p_value,
                    self.counts()
                )?;
                let lead = Lead::of(&self.ratio, self.better);
                match reason {
                    TieReason::NotSignificant => {}
                    TieReason::IntervalSpansZero => write!(
                        f,
                        ", 95% CI {}–{} includes no change",
                        percent(lead.lo),
                        percent(lead.hi)
                    )?,
                    TieReason::BelowMinEffect => write!(
                        f,
                        ", {} is under the {} minimum effect",
                        percent(lead.effect),
                        percent(self.criteria.min_effect)
                    )?,
                }
                f.write_str(")")
            }
        }
    }
}

/// A fraction as a percentage with one decimal: `0.1234` → `12.3%`.
fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}
