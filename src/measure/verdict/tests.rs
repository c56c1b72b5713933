//! Verdicts and comparisons on seeded synthetic samples with known answers: equal
//! distributions tie, a 20% shift is found in the right direction with an interval around
//! 20%, a 2% shift is a tie under the 5% minimum effect.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::compare::single;
use super::*;

/// `n` trials around `centre`, each off by up to `spread` (a fraction) either way, and the
/// first `outliers` of them hit by a noisy neighbour: halved if higher is better, doubled if
/// lower is, as a shared machine does to a trial.
fn trials(
    seed: u64,
    n: usize,
    centre: f64,
    spread: f64,
    outliers: usize,
    better: Better,
) -> Vec<f64> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let value = centre * (1.0 + rng.random_range(-spread..=spread));
            match (i < outliers, better) {
                (false, _) => value,
                (true, Better::Higher) => value / 2.0,
                (true, Better::Lower) => value * 2.0,
            }
        })
        .collect()
}

fn judge(a: &[f64], b: &[f64], better: Better) -> Verdict {
    Verdict::judge(
        Trials {
            name: "a",
            values: a,
        },
        Trials {
            name: "b",
            values: b,
        },
        better,
        Criteria::default(),
    )
    .expect("comparable samples")
}

#[test]
fn equal_distributions_tie() {
    for seed in 0..20 {
        for better in [Better::Higher, Better::Lower] {
            let a = trials(2 * seed, 12, 1000.0, 0.05, 1, better);
            let b = trials(2 * seed + 1, 12, 1000.0, 0.05, 1, better);
            let verdict = judge(&a, &b, better);
            assert!(verdict.is_tie(), "seed {seed}: {verdict}");
        }
    }
}

#[test]
fn identical_samples_print_the_tie_sentence() {
    let a = trials(7, 12, 500.0, 0.05, 0, Better::Higher);
    let verdict = judge(&a, &a, Better::Higher);
    assert_eq!(verdict.p_value, 1.0);
    assert_eq!(
        verdict.to_string(),
        "no significant difference (~ p=1.000 n=12)"
    );
}

#[test]
fn a_20_percent_shift_is_found_either_way_round() {
    // Throughput: b does 20% more, so b is faster. Latency: b takes 20% longer, so a is.
    let cases = [(Better::Higher, "b", "a"), (Better::Lower, "a", "b")];
    for (better, winner, loser) in cases {
        let a = trials(11, 12, 1000.0, 0.05, 1, better);
        let b = trials(12, 12, 1200.0, 0.05, 1, better);
        let verdict = judge(&a, &b, better);
        assert!(verdict.p_value < 0.01, "{verdict}");
        let Outcome::Faster {
            winner: w,
            loser: l,
            effect,
            lo,
            hi,
        } = &verdict.outcome
        else {
            panic!("{better:?}: expected a winner, got {verdict}");
        };
        assert_eq!((w.as_str(), l.as_str()), (winner, loser));
        assert!(*lo < 0.20 && 0.20 < *hi, "{better:?}: {verdict}");
        assert!(*lo <= *effect && *effect <= *hi, "{verdict}");
        let sentence = verdict.to_string();
        assert!(
            sentence.starts_with(&format!("{winner} is faster than {loser} by ")),
            "{sentence}"
        );
        assert!(
            sentence.contains("(95% CI ") && sentence.ends_with(", 12 rounds)"),
            "{sentence}"
        );
    }
}

#[test]
fn outliers_do_not_turn_the_verdict() {
    // Two of the faster side's twelve trials halved by a neighbour pull b's mean from about
    // 1200 to about 1100, half the real advantage; the median and the ranks still see b 20%
    // ahead.
    let a = trials(21, 12, 1000.0, 0.03, 0, Better::Higher);
    let b = trials(22, 12, 1200.0, 0.03, 2, Better::Higher);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean(&b) < mean(&a) * 1.12);
    let verdict = judge(&a, &b, Better::Higher);
    assert_eq!(verdict.winner(), Some("b"), "{verdict}");
}

#[test]
fn a_rank_difference_without_a_clear_interval_ties_and_says_why() {
    // A quarter of b's trials halved: the ranks still tell b apart (9 of 12 above all of a),
    // but a resample drawing six or more of the halved trials has a median below a's, so the
    // interval reaches below no change.
    let a = trials(21, 12, 1000.0, 0.03, 0, Better::Higher);
    let b = trials(22, 12, 1200.0, 0.03, 3, Better::Higher);
    let verdict = judge(&a, &b, Better::Higher);
    assert!(verdict.p_value < 0.05, "{verdict}");
    assert_eq!(
        verdict.outcome,
        Outcome::Tie {
            reason: TieReason::IntervalSpansZero
        }
    );
    assert!(
        verdict.to_string().ends_with("includes no change)"),
        "{verdict}"
    );
}

#[test]
fn a_2_percent_shift_ties_under_the_minimum_effect() {
    let a = trials(31, 12, 1000.0, 0.005, 0, Better::Higher);
    let b = trials(32, 12, 1020.0, 0.005, 0, Better::Higher);
    let verdict = judge(&a, &b, Better::Higher);
    // Significant, and still a tie.
    assert!(verdict.p_value < 0.05, "{verdict}");
    assert_eq!(
        verdict.outcome,
        Outcome::Tie {
            reason: TieReason::BelowMinEffect
        }
    );
    assert!(
        verdict
            .to_string()
            .ends_with("is under the 5.0% minimum effect)"),
        "{verdict}"
    );
    // With no minimum it is a win.
    let strict = Verdict::judge(
        Trials {
            name: "a",
            values: &a,
        },
        Trials {
            name: "b",
            values: &b,
        },
        Better::Higher,
        Criteria {
            min_effect: 0.0,
            ..Criteria::default()
        },
    )
    .unwrap();
    assert_eq!(strict.winner(), Some("b"), "{strict}");
}

#[test]
fn verdicts_survive_json() {
    let a = trials(41, 10, 80.0, 0.05, 0, Better::Lower);
    let b = trials(42, 10, 100.0, 0.05, 0, Better::Lower);
    let verdict = judge(&a, &b, Better::Lower);
    let json = serde_json::to_string(&verdict).unwrap();
    assert!(json.contains(r#""kind":"faster""#), "{json}");
    // serde_json reads a float back to within one unit in the last place, not always
    // bit for bit, so the figures are compared as printed.
    let back: Verdict = serde_json::from_str(&json).unwrap();
    assert_eq!(back.winner(), Some("a"));
    assert_eq!(back.to_string(), verdict.to_string());
    assert!((back.median_b - verdict.median_b).abs() < 1e-9);
}

#[test]
fn incomparable_samples_are_errors() {
    let good = [1.0, 2.0, 3.0];
    let err = |a: &[f64], b: &[f64]| {
        Verdict::judge(
            Trials {
                name: "a",
                values: a,
            },
            Trials {
                name: "b",
                values: b,
            },
            Better::Higher,
            Criteria::default(),
        )
        .unwrap_err()
    };
    assert!(matches!(err(&[], &good), VerdictError::Empty { .. }));
    assert!(matches!(
        err(&good, &[1.0, f64::NAN]),
        VerdictError::NotFinite { .. }
    ));
    assert!(matches!(
        err(&good, &[0.0, 0.0, 1.0]),
        VerdictError::NoRatio { .. }
    ));
}

#[test]
fn compare_identical_sets_finds_no_change() {
    let old = single(
        "throughput",
        Better::Higher,
        &trials(51, 10, 1e6, 0.05, 1, Better::Higher),
    );
    let comparison = compare(&old, &old, CompareSettings::default()).unwrap();
    assert_eq!(comparison.rows.len(), 1);
    assert_eq!(comparison.rows[0].change, Change::NoChange);
    assert_eq!(comparison.failures().count(), 0);
}

#[test]
fn compare_fails_on_a_regression_beyond_the_threshold_only() {
    let old = single(
        "p99",
        Better::Lower,
        &trials(61, 10, 100.0, 0.02, 0, Better::Lower),
    );
    let slower = |factor: f64, seed| {
        single(
            "p99",
            Better::Lower,
            &trials(seed, 10, 100.0 * factor, 0.02, 0, Better::Lower),
        )
    };
    // 20% slower fails; 7% slower is reported and passes the 10% threshold; 20% faster is an
    // improvement.
    let planted = compare(&old, &slower(1.2, 62), CompareSettings::default()).unwrap();
    assert_eq!(planted.rows[0].change, Change::Regressed);
    assert_eq!(planted.failures().count(), 1);
    let small = compare(&old, &slower(1.07, 63), CompareSettings::default()).unwrap();
    assert_eq!(
        small.rows[0].change,
        Change::Regressed,
        "{}",
        small.rows[0].verdict
    );
    assert_eq!(small.failures().count(), 0);
    let better = compare(&old, &slower(1.0 / 1.2, 64), CompareSettings::default()).unwrap();
    assert_eq!(better.rows[0].change, Change::Improved);
    let table = planted.markdown();
    assert!(table.contains("| case | contender | metric | old | new | change | verdict |"));
    assert!(
        table.contains("| **regressed** | old is faster than new by "),
        "{table}"
    );
}

#[test]
fn compare_lists_unmatched_and_refuses_flipped_directions() {
    let values = [1.0, 2.0, 3.0];
    let old = single("throughput", Better::Higher, &values);
    let mut new = single("throughput", Better::Higher, &values);
    new.push("churn/2threads", "actor/1", "throughput", 5.0)
        .unwrap();
    let comparison = compare(&old, &new, CompareSettings::default()).unwrap();
    assert_eq!(
        comparison.unmatched,
        ["churn/2threads actor/1 throughput (only in new)"]
    );
    let flipped = single("throughput", Better::Lower, &values);
    assert!(matches!(
        compare(&old, &flipped, CompareSettings::default()),
        Err(CompareError::Direction { .. })
    ));
}
