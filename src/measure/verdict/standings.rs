//! Standings: N contenders, several metrics, one decision. Every pair is judged on every
//! metric with [`Verdict::judge`]; a contender *beats* another when it wins at least one
//! metric against it and loses none. The winner is the contender that beats every other one;
//! when there is none, the contenders that nobody beats are tied, and the caller's stated
//! rule picks among them. A difference a rerun could reverse is a tie in the verdicts, so it
//! cannot make a winner here either: that is what keeps the decision still between reruns.
//!
//! The verdicts are a family: six contenders on two metrics make thirty tests, and at 5% each
//! one or two would come out significant by chance in every run, a different one or two each
//! time. So each test is held to `alpha` divided by the family's size (Bonferroni): the chance
//! that any verdict the decision rests on is a chance win stays at `alpha`. Measured on this
//! machine, that is what made three gate procedures agree: at 5% per test, one procedure of
//! three found lock/1's p99 below lock/2's at p = 0.004 and the other two did not.
//!
//! A contender may lack trials on a metric (the gate's end-to-end figures exist only for the
//! engines the end-to-end duel ran). A pair where either side lacks them is not judged on that
//! metric: no verdict, and no test counted in the family, so the family's size is the number
//! of tests actually made.

use serde::{Deserialize, Serialize};

use super::decide::{Better, Criteria, Trials, Verdict, VerdictError};

/// One contender's trials on each metric, in the order of the metrics given to [`rank`]. An
/// empty slice, or no slice at all past the end, is a metric it was not measured on.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub trials: Vec<&'a [f64]>,
}

impl<'a> Entry<'a> {
    /// Its trials on the metric at `index`, empty when it has none.
    fn on(&self, index: usize) -> &'a [f64] {
        self.trials.get(index).copied().unwrap_or(&[])
    }
}

/// A metric the standings judge on.
#[derive(Clone, Copy, Debug)]
pub struct Judged<'a> {
    pub name: &'a str,
    pub better: Better,
}

/// The decision among the contenders, with every verdict behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standings {
    /// The contender that beats every other one, if there is one.
    pub winner: Option<String>,
    /// The contenders no other one beats, in the order given (the winner alone when there is
    /// one).
    pub unbeaten: Vec<String>,
    /// Every pair on every metric: `(metric, verdict)`.
    pub verdicts: Vec<(String, Verdict)>,
}

impl Standings {
    /// Whether `a` beats `b`: it wins some metric against `b` and loses none.
    pub fn beats(&self, a: &str, b: &str) -> bool {
        let mut won = false;
        for (_, verdict) in &self.verdicts {
            let pair = (verdict.a == a && verdict.b == b) || (verdict.a == b && verdict.b == a);
            if !pair {
                continue;
            }
            match verdict.winner() {
                Some(w) if w == a => won = true,
                Some(_) => return false,
                None => {}
            }
        }
        won
    }
}

/// Judges every pair of `entries` on every metric of `metrics` that both have trials on, each
/// test at `criteria.alpha` divided by the number of tests made.
pub fn rank(
    entries: &[Entry<'_>],
    metrics: &[Judged<'_>],
    criteria: Criteria,
) -> Result<Standings, VerdictError> {
    let mut tests = Vec::new();
    for (i, a) in entries.iter().enumerate() {
        for b in &entries[i + 1..] {
            for (m, metric) in metrics.iter().enumerate() {
                let (ta, tb) = (a.on(m), b.on(m));
                if !ta.is_empty() && !tb.is_empty() {
                    tests.push((metric, (a.name, ta), (b.name, tb)));
                }
            }
        }
    }
    let criteria = Criteria {
        alpha: criteria.alpha / tests.len().max(1) as f64,
        ..criteria
    };
    let mut verdicts = Vec::with_capacity(tests.len());
    for (metric, (a, ta), (b, tb)) in tests {
        let verdict = Verdict::judge(
            Trials {
                name: a,
                values: ta,
            },
            Trials {
                name: b,
                values: tb,
            },
            metric.better,
            criteria,
        )?;
        verdicts.push((metric.name.to_owned(), verdict));
    }
    let mut standings = Standings {
        winner: None,
        unbeaten: Vec::new(),
        verdicts,
    };
    let names: Vec<&str> = entries.iter().map(|e| e.name).collect();
    standings.winner = names
        .iter()
        .find(|&&a| names.iter().all(|&b| a == b || standings.beats(a, b)))
        .map(|a| (*a).to_owned());
    standings.unbeaten = match &standings.winner {
        Some(winner) => vec![winner.clone()],
        None => names
            .iter()
            .filter(|&&a| !names.iter().any(|&b| standings.beats(b, a)))
            .map(|a| (*a).to_owned())
            .collect(),
    };
    Ok(standings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` trials around `centre`, spread ±2% in a fixed pattern.
    fn around(centre: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| centre * (1.0 + 0.02 * (((i * 7) % 11) as f64 / 5.0 - 1.0)))
            .collect()
    }

    fn standings(ops: &[(&str, f64, f64)]) -> Standings {
        let data: Vec<(String, Vec<f64>, Vec<f64>)> = ops
            .iter()
            .map(|&(name, rate, p99)| (name.to_owned(), around(rate, 10), around(p99, 10)))
            .collect();
        let entries: Vec<Entry<'_>> = data
            .iter()
            .map(|(name, rate, p99)| Entry {
                name,
                trials: vec![rate, p99],
            })
            .collect();
        let metrics = [
            Judged {
                name: "ops_per_sec",
                better: Better::Higher,
            },
            Judged {
                name: "p99_us",
                better: Better::Lower,
            },
        ];
        rank(&entries, &metrics, Criteria::default()).expect("the trials are valid")
    }

    #[test]
    fn a_contender_faster_on_one_metric_and_equal_on_the_other_wins() {
        let s = standings(&[("a", 130.0, 50.0), ("b", 100.0, 50.0), ("c", 100.0, 50.0)]);
        assert_eq!(s.winner.as_deref(), Some("a"));
        assert_eq!(s.unbeaten, vec!["a"]);
    }

    #[test]
    fn equal_contenders_tie_and_a_clear_loser_is_left_out() {
        let s = standings(&[("a", 100.0, 50.0), ("b", 101.0, 50.0), ("c", 60.0, 80.0)]);
        assert_eq!(s.winner, None);
        assert_eq!(s.unbeaten, vec!["a", "b"]);
        assert!(s.beats("a", "c") && s.beats("b", "c") && !s.beats("a", "b"));
    }

    #[test]
    fn each_test_is_held_to_the_familys_share_of_alpha() {
        // Three contenders on two metrics: six tests, each at 0.05 / 6.
        let s = standings(&[("a", 130.0, 50.0), ("b", 100.0, 50.0), ("c", 100.0, 50.0)]);
        for (_, verdict) in &s.verdicts {
            assert!((verdict.criteria.alpha - 0.05 / 6.0).abs() < 1e-12);
        }
        // Four trials a side: the exact two-sided rank test's least p is 2 / C(8, 4) = 0.029,
        // under 0.05 but not under 0.05 / 3. Alone, a would beat b and c; as one of three
        // tests each, however far apart, it is a tie.
        let (high, low) = ([200.0, 201.0, 202.0, 203.0], [100.0, 101.0, 102.0, 103.0]);
        let entries = [
            Entry {
                name: "a",
                trials: vec![&high[..]],
            },
            Entry {
                name: "b",
                trials: vec![&low[..]],
            },
            Entry {
                name: "c",
                trials: vec![&low[..]],
            },
        ];
        let one_metric = [Judged {
            name: "ops",
            better: Better::Higher,
        }];
        let s = rank(&entries, &one_metric, Criteria::default()).expect("valid trials");
        assert_eq!(s.winner, None);
        assert_eq!(s.unbeaten, ["a", "b", "c"]);
        let alone = rank(&entries[..2], &one_metric, Criteria::default()).expect("valid trials");
        assert_eq!(alone.winner.as_deref(), Some("a"));
    }

    const TWO_METRICS: [Judged<'static>; 2] = [
        Judged {
            name: "ops",
            better: Better::Higher,
        },
        Judged {
            name: "relay_p99",
            better: Better::Lower,
        },
    ];

    #[test]
    fn a_metric_one_contender_lacks_is_not_judged_for_its_pairs_nor_counted() {
        // a and b have both metrics, c only the first: three pairs on ops, one on relay_p99.
        let (ops, relay) = (around(100.0, 10), around(50.0, 10));
        let entries = [
            Entry {
                name: "a",
                trials: vec![&ops, &relay],
            },
            Entry {
                name: "b",
                trials: vec![&ops, &relay],
            },
            Entry {
                name: "c",
                trials: vec![&ops, &[]],
            },
        ];
        let s = rank(&entries, &TWO_METRICS, Criteria::default()).expect("valid trials");
        let judged: Vec<(&str, &str, &str)> = s
            .verdicts
            .iter()
            .map(|(metric, v)| (metric.as_str(), v.a.as_str(), v.b.as_str()))
            .collect();
        assert_eq!(
            judged,
            [
                ("ops", "a", "b"),
                ("relay_p99", "a", "b"),
                ("ops", "a", "c"),
                ("ops", "b", "c"),
            ]
        );
        // Four tests made, not six: each at 0.05 / 4.
        for (_, verdict) in &s.verdicts {
            assert!((verdict.criteria.alpha - 0.05 / 4.0).abs() < 1e-12);
        }
        // A slice missing past the end is as absent as an empty one.
        let short = [
            entries[0].clone(),
            entries[1].clone(),
            Entry {
                name: "c",
                trials: vec![&ops],
            },
        ];
        let again = rank(&short, &TWO_METRICS, Criteria::default()).expect("valid trials");
        assert_eq!(again, s);
    }

    #[test]
    fn a_contender_beaten_on_a_metric_only_some_have_loses() {
        // Equal on ops; b's relay p99 is twice a's. c has no relay figures, so it ties with
        // both, and a, which beats b, is not a winner over c.
        let ops = around(100.0, 10);
        let (fast, slow) = (around(50.0, 10), around(100.0, 10));
        let entries = [
            Entry {
                name: "a",
                trials: vec![&ops, &fast],
            },
            Entry {
                name: "b",
                trials: vec![&ops, &slow],
            },
            Entry {
                name: "c",
                trials: vec![&ops],
            },
        ];
        let s = rank(&entries, &TWO_METRICS, Criteria::default()).expect("valid trials");
        assert!(s.beats("a", "b"), "{:#?}", s.verdicts);
        assert!(!s.beats("a", "c") && !s.beats("c", "b"));
        assert_eq!(s.winner, None);
        assert_eq!(s.unbeaten, ["a", "c"]);
        // Between a and b alone, a wins outright.
        let pair = rank(&entries[..2], &TWO_METRICS, Criteria::default()).expect("valid");
        assert_eq!(pair.winner.as_deref(), Some("a"));
    }

    #[test]
    fn no_test_made_is_no_verdict_and_no_winner_among_several() {
        let ops = around(100.0, 10);
        let entries = [
            Entry {
                name: "a",
                trials: vec![&ops, &[]],
            },
            Entry {
                name: "b",
                trials: vec![&[], &ops],
            },
        ];
        let s = rank(&entries, &TWO_METRICS, Criteria::default()).expect("valid trials");
        assert!(s.verdicts.is_empty());
        assert_eq!(s.winner, None);
        assert_eq!(s.unbeaten, ["a", "b"]);
    }

    #[test]
    fn a_trade_off_between_metrics_is_a_tie() {
        // a is faster, b has the lower tail: neither beats the other.
        let s = standings(&[("a", 130.0, 80.0), ("b", 100.0, 50.0)]);
        assert_eq!(s.winner, None);
        assert_eq!(s.unbeaten, vec!["a", "b"]);
    }
}
