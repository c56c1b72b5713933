//! Verdict lines: two contenders judged on each of several metrics, one line per metric, as
//! the duel and the end-to-end duel print them under their tables. One helper, so both build
//! the same [`Verdict::judge`] call and say a tie, a win and a failure in the same words.

use super::decide::{Better, Criteria, Trials, Verdict};

/// Two contenders' trials on one metric, and what the line calls it (`p99`, `relay p99`).
#[derive(Clone, Copy, Debug)]
pub struct PairMetric<'a> {
    pub label: &'a str,
    pub better: Better,
    pub a: &'a [f64],
    pub b: &'a [f64],
}

/// The lines judging `a` against `b` on each metric: `p99: a is faster than b by …`, `p99: a ~
/// b: no significant difference (…)`, or `p99: a vs b cannot be judged: …`. When no metric has
/// two trials on both sides there is nothing to judge, and the one line says so and names
/// `more`, the flag that asks for more trials (`--trials`).
pub fn pair_lines(
    a: &str,
    b: &str,
    metrics: &[PairMetric<'_>],
    criteria: Criteria,
    more: &str,
) -> Vec<String> {
    if metrics.iter().all(|m| m.a.len() < 2 || m.b.len() < 2) {
        return vec![format!(
            "{a} vs {b}: one trial each, nothing to judge (run with {more} 5 or more)"
        )];
    }
    metrics
        .iter()
        .map(|metric| {
            let verdict = Verdict::judge(
                Trials {
                    name: a,
                    values: metric.a,
                },
                Trials {
                    name: b,
                    values: metric.b,
                },
                metric.better,
                criteria,
            );
            let label = metric.label;
            match verdict {
                Ok(v) if v.is_tie() => format!("{label}: {a} ~ {b}: {v}"),
                Ok(v) => format!("{label}: {v}"),
                Err(err) => format!("{label}: {a} vs {b} cannot be judged: {err}"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric<'a>(a: &'a [f64], b: &'a [f64]) -> PairMetric<'a> {
        PairMetric {
            label: "p99",
            better: Better::Lower,
            a,
            b,
        }
    }

    #[test]
    fn a_win_a_tie_and_a_failure_in_the_duels_words() {
        let fast = [10.0, 10.5, 9.8, 10.2, 10.1];
        let slow = [20.0, 21.0, 19.5, 20.5, 20.2];
        let none: [f64; 0] = [];
        let lines = pair_lines(
            "x/1",
            "y/1",
            &[
                metric(&fast, &slow),
                metric(&fast, &fast),
                metric(&fast, &none),
            ],
            Criteria::default(),
            "--trials",
        );
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("p99: x/1 is faster than y/1 by ")
                && lines[0].ends_with(" 5 rounds)"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("p99: x/1 ~ y/1: no significant difference (~ p="),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines[2],
            "p99: x/1 vs y/1 cannot be judged: y/1 has no trials"
        );
    }

    #[test]
    fn one_trial_a_side_is_one_line_naming_the_flag() {
        let lines = pair_lines(
            "x/1",
            "y/1",
            &[metric(&[1.0], &[2.0]), metric(&[1.0, 2.0], &[])],
            Criteria::default(),
            "--rounds",
        );
        assert_eq!(
            lines,
            ["x/1 vs y/1: one trial each, nothing to judge (run with --rounds 5 or more)"]
        );
    }
}
