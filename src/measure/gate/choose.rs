//! The gate's choice from interleaved trials: every pair of measured, verified candidates is
//! judged on throughput and on p99 latency ([`rank`]); a candidate that beats every other one
//! is served; otherwise the tie rule picks among the candidates nobody beats. A difference a
//! rerun could reverse is a tie in the verdicts, so it cannot decide here either.
//!
//! The tie rule is fixed, not a third measurement: fewer shards first (less memory, fewer
//! locks or threads for the same verdict), then the registry's order. Breaking a tie on the
//! medians would hand the choice back to the noise the verdicts just called a tie.

use std::path::Path;

use super::{
    Candidate, Choice, Decision, GATE_SHARDS, GATE_THREADS, GATE_WORKLOAD, GateError,
    MetricVerdict, OPS_METRIC, P99_METRIC, gate_case,
};
use crate::engines::registry::{EngineSpec, all_specs};
use crate::measure::verdict::{Better, Criteria, Entry, Judged, ResultSet, median, rank};
use crate::verify::VerificationReport;

/// How the gate picks among candidates that no other one beats.
pub const TIE_RULE: &str = "fewer shards first, then the registry's order";

/// The metrics judged, in order.
const METRICS: [Judged<'static>; 2] = [
    Judged {
        name: OPS_METRIC,
        better: Better::Higher,
    },
    Judged {
        name: P99_METRIC,
        better: Better::Lower,
    },
];

pub(super) struct Decided {
    pub(super) choice: Option<Choice>,
    pub(super) reason: String,
    pub(super) candidates: Vec<Candidate>,
    pub(super) decision: Option<Decision>,
}

/// One candidate with its spec and trials.
struct Considered<'a> {
    spec: EngineSpec,
    verified: bool,
    ops: &'a [f64],
    p99: &'a [f64],
}

impl Considered<'_> {
    fn trials(&self) -> usize {
        self.ops.len().min(self.p99.len())
    }

    fn candidate(&self) -> Candidate {
        Candidate {
            engine: self.spec.kind.to_string(),
            shards: self.spec.shards,
            verified: self.verified,
            trials: self.trials(),
            median_ops_per_sec: median(self.ops),
            median_p99_us: median(self.p99),
        }
    }
}

pub(super) fn choose(
    trials: Option<&ResultSet>,
    summary: Option<&VerificationReport>,
    criteria: Criteria,
    verification: &Path,
) -> Result<Decided, GateError> {
    let case = gate_case();
    let considered = considered(trials, summary, &case);
    let candidates: Vec<Candidate> = considered.iter().map(Considered::candidate).collect();
    let undecided = |reason: String| Decided {
        choice: None,
        reason,
        candidates: candidates.clone(),
        decision: None,
    };
    if summary.is_none() {
        return Ok(undecided(format!(
            "no {}: run `lockchan verify` first; an unverified engine is never served",
            verification.display()
        )));
    }
    let verified: Vec<&Considered<'_>> = considered.iter().filter(|c| c.verified).collect();
    if verified.is_empty() {
        return Ok(undecided(format!(
            "no engine passed every check in {}; an unverified engine is never served",
            verification.display()
        )));
    }
    let measured: Vec<&Considered<'_>> = verified
        .iter()
        .copied()
        .filter(|c| c.trials() > 0)
        .collect();
    if measured.is_empty() {
        return Ok(undecided(format!(
            "no verified engine has trials on `{case}`: run `lockchan gate` to measure them"
        )));
    }
    let names: Vec<String> = measured.iter().map(|c| c.spec.to_string()).collect();
    let entries: Vec<Entry<'_>> = measured
        .iter()
        .zip(&names)
        .map(|(c, name)| Entry {
            name,
            trials: vec![c.ops, c.p99],
        })
        .collect();
    let standings = rank(&entries, &METRICS, criteria)?;
    let rounds = measured.iter().map(|c| c.trials()).max().unwrap_or(0);
    let chosen = match &standings.winner {
        Some(winner) => measured[names.iter().position(|n| n == winner).unwrap_or(0)],
        None => measured
            .iter()
            .copied()
            .filter(|c| standings.unbeaten.contains(&c.spec.to_string()))
            .min_by_key(|c| (c.spec.shards, c.spec.kind.index()))
            .unwrap_or(measured[0]),
    };
    let verdicts: Vec<MetricVerdict> = standings
        .verdicts
        .iter()
        .map(|(metric, verdict)| MetricVerdict {
            metric: metric.clone(),
            verdict: verdict.clone(),
        })
        .collect();
    let context = format!(
        "on `{GATE_WORKLOAD}` at {GATE_THREADS} caller threads over {rounds} interleaved rounds"
    );
    let mut reason = match &standings.winner {
        Some(_) if measured.len() == 1 => {
            format!(
                "{} is the only verified engine measured {context}",
                chosen.spec
            )
        }
        Some(winner) => {
            let narrowest = verdicts
                .iter()
                .filter(|v| v.verdict.winner() == Some(winner.as_str()))
                .min_by(|a, b| {
                    let effect = |v: &MetricVerdict| v.verdict.effect().unwrap_or(f64::INFINITY);
                    effect(a).total_cmp(&effect(b))
                });
            let mut reason = format!(
                "{winner} beats every other verified engine {context}: faster on throughput or \
                 p99 against each, slower on neither"
            );
            if let Some(narrowest) = narrowest {
                reason.push_str(&format!(
                    "; its narrowest win, on {}: {}",
                    narrowest.metric, narrowest.verdict
                ));
            }
            reason
        }
        None => format!(
            "no verified engine beats every other {context}: {} {} tied (no significant \
             difference of at least {:.0}% that one wins and none loses); the tie rule ({TIE_RULE}) \
             serves {}",
            standings.unbeaten.join(", "),
            if standings.unbeaten.len() == 1 {
                "is"
            } else {
                "are"
            },
            criteria.min_effect * 100.0,
            chosen.spec
        ),
    };
    let beaten: Vec<&str> = names
        .iter()
        .filter(|n| !standings.unbeaten.contains(n))
        .map(String::as_str)
        .collect();
    if standings.winner.is_none() && !beaten.is_empty() {
        reason.push_str(&format!("; {} lost to one of them", beaten.join(", ")));
    }
    let unverified: Vec<String> = considered
        .iter()
        .filter(|c| !c.verified)
        .map(|c| c.spec.to_string())
        .collect();
    if !unverified.is_empty() {
        reason.push_str(&format!(
            "; {} not verified, so not judged",
            unverified.join(", ")
        ));
    }
    let provenance = trials.map(|t| t.provenance.clone()).unwrap_or_default();
    Ok(Decided {
        choice: Some(Choice {
            engine: chosen.spec.kind.to_string(),
            shards: chosen.spec.shards,
        }),
        reason,
        candidates,
        decision: Some(Decision {
            case,
            rounds,
            criteria,
            winner: standings.winner.clone(),
            unbeaten: standings.unbeaten.clone(),
            tie_rule: TIE_RULE.to_owned(),
            verdicts,
            provenance,
        }),
    })
}

/// Every registered engine at the gate's shard counts, and any other engine the trials name,
/// in registry order and fewest shards first, each with its trials.
fn considered<'a>(
    trials: Option<&'a ResultSet>,
    summary: Option<&VerificationReport>,
    case: &str,
) -> Vec<Considered<'a>> {
    let mut specs = all_specs(&GATE_SHARDS);
    if let Some(contenders) = trials.and_then(|t| t.cases.get(case)) {
        specs.extend(
            contenders
                .keys()
                .filter_map(|name| name.parse::<EngineSpec>().ok()),
        );
    }
    specs.sort_by_key(|spec| (spec.kind.index(), spec.shards));
    specs.dedup();
    let of = |spec: EngineSpec, metric: &str| -> &'a [f64] {
        trials
            .and_then(|t| t.trials(case, &spec.to_string(), metric))
            .unwrap_or(&[])
    };
    specs
        .into_iter()
        .map(|spec| Considered {
            spec,
            verified: summary.is_some_and(|s| s.verified(spec)),
            ops: of(spec, OPS_METRIC),
            p99: of(spec, P99_METRIC),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{GATE_FILE, Gate, TRIALS_FILE, decide};
    use super::*;
    use crate::engines::registry::EngineKind;
    use crate::measure::testkit::Fixture;
    use crate::measure::verdict::Provenance;

    /// `n` trials around `centre`, spread ±3% in a fixed pattern (the rank test sees overlap
    /// between two contenders whose centres are close).
    fn around(centre: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| centre * (1.0 + 0.03 * (((i * 7) % 11) as f64 / 5.0 - 1.0)))
            .collect()
    }

    /// Trials of `(spec, ops/s, p99 µs)` centres, ten rounds each.
    fn trials(figures: &[(&str, f64, f64)]) -> ResultSet {
        let mut set = ResultSet::new(Provenance::default());
        set.declare(OPS_METRIC, "ops/s", Better::Higher);
        set.declare(P99_METRIC, "µs", Better::Lower);
        for &(spec, ops, p99) in figures {
            for (o, p) in around(ops, 10).into_iter().zip(around(p99, 10)) {
                set.push(&gate_case(), spec, OPS_METRIC, o)
                    .expect("declared");
                set.push(&gate_case(), spec, P99_METRIC, p)
                    .expect("declared");
            }
        }
        set
    }

    fn decide_with(fixture: &Fixture, set: Option<&ResultSet>) -> Gate {
        decide(
            set,
            &fixture.reports().join(TRIALS_FILE),
            &fixture.verification_path(),
            Criteria::default(),
        )
        .expect("the gate decides")
    }

    fn choice(gate: &Gate) -> Option<String> {
        gate.choice
            .as_ref()
            .map(|c| c.spec().expect("a registered engine").to_string())
    }

    #[test]
    fn a_candidate_that_beats_every_other_wins_and_the_reason_gives_the_verdict() {
        let fixture = Fixture::new("gate-winner");
        fixture.verification(&[
            ("lock/1", &[true]),
            ("lock/4", &[true]),
            ("actor/2", &[true]),
        ]);
        let set = trials(&[
            ("lock/1", 500_000.0, 900.0),
            ("lock/4", 1_000_000.0, 900.0),
            ("actor/2", 400_000.0, 2_000.0),
        ]);
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(choice(&gate).as_deref(), Some("lock/4"));
        let decision = gate.decision.as_ref().expect("a decision");
        assert_eq!(decision.winner.as_deref(), Some("lock/4"));
        assert_eq!(decision.rounds, 10);
        // Three pairs, two metrics each.
        assert_eq!(decision.verdicts.len(), 6);
        assert!(
            gate.reason.starts_with(
                "lock/4 beats every other verified engine on `mixed` at 4 caller threads over 10 \
                 interleaved rounds"
            ),
            "{}",
            gate.reason
        );
        assert!(
            gate.reason
                .contains("its narrowest win, on ops_per_sec: lock/4 is faster than lock/1 by"),
            "{}",
            gate.reason
        );
        assert!(gate.reason.contains("(95% CI "), "{}", gate.reason);
        let lock4 = gate
            .candidates
            .iter()
            .find(|c| c.label() == "lock/4")
            .expect("listed");
        assert_eq!(lock4.trials, 10);
        assert!(
            lock4
                .median_ops_per_sec
                .is_some_and(|m| (m - 1e6).abs() < 4e4)
        );
    }

    #[test]
    fn indistinguishable_candidates_tie_and_the_rule_picks_fewer_shards_then_registry_order() {
        let fixture = Fixture::new("gate-tie");
        fixture.verification(&[
            ("lock/1", &[true]),
            ("lock/2", &[true]),
            ("actor/1", &[true]),
            ("actor/2", &[true]),
        ]);
        // lock/2 and actor/1 are 1–2% apart from lock/1: ties. actor/2 is clearly behind.
        let set = trials(&[
            ("actor/1", 1_010_000.0, 1_000.0),
            ("lock/2", 1_020_000.0, 990.0),
            ("lock/1", 1_000_000.0, 1_000.0),
            ("actor/2", 600_000.0, 3_000.0),
        ]);
        let gate = decide_with(&fixture, Some(&set));
        let decision = gate.decision.as_ref().expect("a decision");
        assert_eq!(decision.winner, None);
        assert_eq!(decision.unbeaten, ["lock/1", "lock/2", "actor/1"]);
        // actor/1 and lock/1 both have one shard: the registry lists lock first.
        assert_eq!(choice(&gate).as_deref(), Some("lock/1"));
        assert_eq!(gate.verdict_key(), "tie among lock/1, lock/2, actor/1");
        assert!(
            gate.reason.contains(
                "lock/1, lock/2, actor/1 are tied (no significant difference of at least 5% that \
                 one wins and none loses); the tie rule (fewer shards first, then the registry's \
                 order) serves lock/1; actor/2 lost to one of them"
            ),
            "{}",
            gate.reason
        );

        // With lock/1 unverified, the rule goes to the other one-shard engine.
        fixture.verification(&[
            ("lock/2", &[true]),
            ("actor/1", &[true]),
            ("actor/2", &[true]),
        ]);
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(choice(&gate).as_deref(), Some("actor/1"));
        assert!(
            gate.reason.contains("; lock/1, lock/4, actor/4"),
            "{}",
            gate.reason
        );
        assert!(
            gate.reason.ends_with(" not verified, so not judged"),
            "{}",
            gate.reason
        );
    }

    #[test]
    fn a_trade_off_between_throughput_and_latency_is_a_tie() {
        let fixture = Fixture::new("gate-trade-off");
        fixture.verification(&[("lock/2", &[true]), ("actor/1", &[true])]);
        let set = trials(&[
            ("lock/2", 1_300_000.0, 2_000.0),
            ("actor/1", 1_000_000.0, 800.0),
        ]);
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(
            gate.decision.as_ref().map(|d| d.unbeaten.clone()),
            Some(vec!["lock/2".to_owned(), "actor/1".to_owned()])
        );
        assert_eq!(choice(&gate).as_deref(), Some("actor/1"));
    }

    #[test]
    fn an_unverified_engine_is_never_chosen_however_fast() {
        let fixture = Fixture::new("gate-unverified");
        // lock/4 failed a check; lock/1 is not named, which is as unverified as failing.
        fixture.verification(&[("lock/4", &[true, false]), ("actor/2", &[true])]);
        let set = trials(&[
            ("lock/4", 3_000_000.0, 100.0),
            ("lock/1", 2_000_000.0, 100.0),
            ("actor/2", 400_000.0, 2_000.0),
        ]);
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(choice(&gate).as_deref(), Some("actor/2"));
        assert!(
            gate.reason
                .starts_with("actor/2 is the only verified engine measured")
        );
        let decision = gate.decision.as_ref().expect("a decision");
        assert!(decision.verdicts.is_empty());
        let verified: Vec<(String, bool)> = gate
            .candidates
            .iter()
            .map(|c| (c.label(), c.verified))
            .collect();
        assert!(verified.contains(&("lock/4".to_owned(), false)));
        assert!(verified.contains(&("actor/2".to_owned(), true)));
    }

    #[test]
    fn nothing_is_chosen_without_verification_checks_passed_or_trials() {
        let fixture = Fixture::new("gate-nothing");
        let set = trials(&[("lock/1", 1_000_000.0, 100.0)]);
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(gate.choice, None);
        assert_eq!(
            gate.reason,
            format!(
                "no {}: run `lockchan verify` first; an unverified engine is never served",
                fixture.verification_path().display()
            )
        );
        assert!(!gate.inputs.verification.found && gate.inputs.trials.found);

        // An engine with no checks at all proves nothing.
        fixture.verification(&[("lock/1", &[])]);
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(gate.choice, None);
        assert!(gate.reason.starts_with("no engine passed every check in "));

        fixture.verification(&[("lock/1", &[true])]);
        let gate = decide_with(&fixture, None);
        assert_eq!(gate.choice, None);
        assert_eq!(
            gate.reason,
            "no verified engine has trials on `mixed/t4`: run `lockchan gate` to measure them"
        );
    }

    #[test]
    fn the_decision_is_written_with_its_statistics_and_reads_back() {
        let fixture = Fixture::new("gate-written");
        fixture.verification(&[("lock/1", &[true]), ("actor/1", &[true])]);
        let set = trials(&[
            ("lock/1", 1_000_000.0, 900.0),
            ("actor/1", 700_000.0, 1_500.0),
        ]);
        let gate = decide_with(&fixture, Some(&set));
        let out = fixture.reports().join(GATE_FILE);
        gate.save(&out).expect("written");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("gate.json exists"))
                .expect("gate.json is JSON");
        let verdict = &json["decision"]["verdicts"][0];
        assert_eq!(verdict["metric"], "ops_per_sec");
        assert_eq!(verdict["verdict"]["n_a"], 10);
        assert!(verdict["verdict"]["ratio"]["lo"].is_number());
        assert!(verdict["verdict"]["p_value"].is_number());
        assert_eq!(json["decision"]["tie_rule"], TIE_RULE);
        assert!(json["decision"]["provenance"].is_object());
        // JSON floats may come back one ulp off; the decision itself reads back exactly.
        let loaded = Gate::load(&out).expect("loads");
        assert_eq!(
            (&loaded.choice, &loaded.reason, loaded.verdict_key()),
            (&gate.choice, &gate.reason, gate.verdict_key())
        );
        assert_eq!(loaded.candidates, gate.candidates);
        assert_eq!(
            gate.choice.map(|c| c.spec().expect("known")),
            Some(EngineSpec::new(EngineKind::LOCK, 1))
        );
    }
}
