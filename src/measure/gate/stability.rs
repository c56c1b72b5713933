//! Stability, measured: `lockchan gate --repeat N` runs the whole procedure (every trial,
//! then the decision) N times on one commit and writes what each procedure decided, how long
//! it took, and how far each candidate's median moved between procedures. The procedures
//! agree when their verdicts are equal: the same winner, or the same tie set. A decision a
//! rerun overturns is a bug in the gate, and this file is how it shows.

use serde::{Deserialize, Serialize};

use super::Gate;

/// The stability file's name inside the reports directory.
pub const STABILITY_FILE: &str = "gate-stability.json";

/// Every procedure of one `--repeat` run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    pub procedures: Vec<Procedure>,
    /// Every procedure reached the same verdict.
    pub agree: bool,
    /// Per candidate, how far its median moved between procedures.
    pub spread: Vec<Spread>,
}

/// One procedure: its seed, its duration, and what it decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Procedure {
    pub seed: u64,
    /// Wall-clock seconds of the measuring and the decision (not the build).
    pub seconds: f64,
    /// `lock/1 wins` or `tie among lock/1, lock/2`: see [`Gate::verdict_key`].
    pub verdict: String,
    /// The engine served, after the tie rule.
    pub served: Option<String>,
    pub gate: Gate,
}

/// A candidate's medians across procedures, and their spread: the largest over the smallest,
/// minus one (0.12 is 12%).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub candidate: String,
    pub median_ops_per_sec: Vec<f64>,
    pub ops_spread: Option<f64>,
    pub median_p99_us: Vec<f64>,
    pub p99_spread: Option<f64>,
}

impl Stability {
    /// Writes the file as pretty JSON, creating its directory.
    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        crate::measure::files::write_json(path, self)
    }

    /// Sums up the procedures.
    pub fn of(procedures: Vec<Procedure>) -> Stability {
        let agree = procedures
            .windows(2)
            .all(|pair| pair[0].verdict == pair[1].verdict);
        let mut labels: Vec<String> = Vec::new();
        for procedure in &procedures {
            for candidate in &procedure.gate.candidates {
                if candidate.trials > 0 && !labels.contains(&candidate.label()) {
                    labels.push(candidate.label());
                }
            }
        }
        let spread = labels
            .into_iter()
            .map(|label| {
                let medians = |pick: fn(&super::Candidate) -> Option<f64>| -> Vec<f64> {
                    procedures
                        .iter()
                        .filter_map(|p| p.gate.candidates.iter().find(|c| c.label() == label))
                        .filter_map(pick)
                        .collect()
                };
                let ops = medians(|c| c.median_ops_per_sec);
                let p99 = medians(|c| c.median_p99_us);
                Spread {
                    ops_spread: spread(&ops),
                    p99_spread: spread(&p99),
                    candidate: label,
                    median_ops_per_sec: ops,
                    median_p99_us: p99,
                }
            })
            .collect();
        Stability {
            procedures,
            agree,
            spread,
        }
    }
}

/// Largest over smallest, minus one; `None` for fewer than two positive figures.
fn spread(values: &[f64]) -> Option<f64> {
    if values.len() < 2 || values.iter().any(|v| *v <= 0.0) {
        return None;
    }
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    Some(max / min - 1.0)
}

#[cfg(test)]
mod tests {
    use super::super::{Candidate, Decision, GateInputs, InputStatus};
    use super::*;
    use crate::measure::verdict::{Criteria, Provenance};

    fn procedure(verdict_winner: Option<&str>, unbeaten: &[&str], lock1_ops: f64) -> Procedure {
        let status = InputStatus {
            path: String::new(),
            found: true,
            ignored: None,
        };
        let gate = Gate {
            choice: None,
            reason: String::new(),
            candidates: vec![Candidate {
                engine: "lock".to_owned(),
                shards: 1,
                verified: true,
                trials: 10,
                median_ops_per_sec: Some(lock1_ops),
                median_p99_us: Some(1000.0),
                e2e_trials: 0,
                median_relay_p99_ms: None,
                median_server_cpu_us_per_frame: None,
            }],
            decision: Some(Decision {
                case: "mixed/t4".to_owned(),
                rounds: 10,
                criteria: Criteria::default(),
                winner: verdict_winner.map(str::to_owned),
                unbeaten: unbeaten.iter().map(|s| (*s).to_owned()).collect(),
                tie_rule: String::new(),
                verdicts: Vec::new(),
                provenance: Provenance::default(),
                end_to_end: None,
            }),
            inputs: GateInputs {
                trials: status.clone(),
                verification: status,
                e2e_trials: None,
            },
            engine_source_hash: None,
        };
        Procedure {
            seed: 1,
            seconds: 100.0,
            verdict: gate.verdict_key(),
            served: None,
            gate,
        }
    }

    #[test]
    fn the_same_tie_set_agrees_and_a_changed_winner_does_not() {
        let same = Stability::of(vec![
            procedure(None, &["lock/1", "actor/1"], 1_000_000.0),
            procedure(None, &["lock/1", "actor/1"], 1_100_000.0),
            procedure(None, &["lock/1", "actor/1"], 1_050_000.0),
        ]);
        assert!(same.agree);
        let lock1 = &same.spread[0];
        assert_eq!(lock1.candidate, "lock/1");
        assert!((lock1.ops_spread.expect("three medians") - 0.1).abs() < 1e-9);
        assert_eq!(lock1.p99_spread, Some(0.0));

        let changed = Stability::of(vec![
            procedure(Some("lock/1"), &["lock/1"], 1_000_000.0),
            procedure(None, &["lock/1", "actor/1"], 1_000_000.0),
        ]);
        assert!(!changed.agree);
    }
}
