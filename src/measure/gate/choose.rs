//! The gate's choice from interleaved trials: every pair of measured, verified candidates is
//! judged on throughput and on p99 latency ([`rank`]), and, where both have end-to-end trials
//! that speak for this build and machine, on relay p99 and on server CPU per delivered frame;
//! a candidate that beats every other one is served; otherwise the tie rule picks among the
//! candidates nobody beats. A difference a rerun could reverse is a tie in the verdicts, so it
//! cannot decide here either.
//!
//! The tie rule is fixed, not a third measurement: fewer shards first (less memory, fewer
//! locks or threads for the same verdict), then the registry's order. Breaking a tie on the
//! medians would hand the choice back to the noise the verdicts just called a tie.

use super::{
    Candidate, Choice, Decision, EndToEndEvidence, GATE_E2E_SCENARIO, GATE_SHARDS, GATE_THREADS,
    GATE_WORKLOAD, GateError, GatePaths, MetricVerdict, OPS_METRIC, P99_METRIC, gate_case,
};
use crate::engines::ENGINE_SOURCE_HASH;
use crate::engines::registry::{EngineSpec, all_specs};
use crate::measure::e2e::{CPU_PER_FRAME_METRIC, E2E_METRICS, RELAY_P99_METRIC, case_of};
use crate::measure::verdict::{
    Better, Criteria, Entry, Judged, Provenance, ResultSet, median, rank,
};
use crate::verify::VerificationReport;

/// How the gate picks among candidates that no other one beats.
pub const TIE_RULE: &str = "fewer shards first, then the registry's order";

/// The metrics of the `mixed` trials, in order, and what the reason calls them.
const MIXED_METRICS: [(Judged<'static>, &str); 2] = [
    (
        Judged {
            name: OPS_METRIC,
            better: Better::Higher,
        },
        "throughput",
    ),
    (
        Judged {
            name: P99_METRIC,
            better: Better::Lower,
        },
        "p99",
    ),
];

pub(super) struct Decided {
    pub(super) choice: Option<Choice>,
    pub(super) reason: String,
    pub(super) candidates: Vec<Candidate>,
    pub(super) decision: Option<Decision>,
    /// Why the end-to-end trials, found, were not used; `None` when used or not found.
    pub(super) e2e_ignored: Option<String>,
}

/// What the end-to-end trials can contribute.
enum EndToEnd<'a> {
    Absent,
    /// Found and left out, for the reason given.
    Ignored(String),
    /// Fresh, from the machine of the `mixed` trials: the case judged.
    Usable {
        set: &'a ResultSet,
        case: &'a str,
    },
}

impl EndToEnd<'_> {
    fn ignored(&self) -> Option<String> {
        match self {
            EndToEnd::Ignored(why) => Some(why.clone()),
            EndToEnd::Absent | EndToEnd::Usable { .. } => None,
        }
    }
}

/// Whether the end-to-end trials may stand beside the `mixed` trials: measured on this
/// build's engine sources, on the same machine (CPU and core count, both recorded), with a run
/// of the gate's scenario.
fn end_to_end<'a>(e2e: Option<&'a ResultSet>, trials: Option<&ResultSet>) -> EndToEnd<'a> {
    let Some(set) = e2e else {
        return EndToEnd::Absent;
    };
    match set.provenance.engine_source_hash.as_deref() {
        Some(hash) if hash == ENGINE_SOURCE_HASH => {}
        Some(hash) => {
            return EndToEnd::Ignored(format!(
                "stale: they were measured on engine sources {hash}, and this binary was built \
                 from {ENGINE_SOURCE_HASH}; run `lockchan duel --e2e` again"
            ));
        }
        None => {
            return EndToEnd::Ignored(format!(
                "stale: they record no engine-source fingerprint, so nothing says they measured \
                 this binary's engines ({ENGINE_SOURCE_HASH})"
            ));
        }
    }
    let Some(trials) = trials else {
        return EndToEnd::Ignored(format!(
            "there are no `{}` trials to judge them beside",
            gate_case()
        ));
    };
    let machine = |p: &Provenance| Some((p.cpu.clone()?, p.cores?));
    match (machine(&set.provenance), machine(&trials.provenance)) {
        (Some(e2e), Some(mixed)) if e2e == mixed => {}
        (Some((cpu, cores)), Some((mixed_cpu, mixed_cores))) => {
            return EndToEnd::Ignored(format!(
                "they were measured on another machine ({cpu}, {cores} cores) than the `{}` \
                 trials ({mixed_cpu}, {mixed_cores} cores)",
                gate_case()
            ));
        }
        _ => {
            return EndToEnd::Ignored(format!(
                "nothing says they were measured on the machine of the `{}` trials (a CPU or \
                 core count is unrecorded)",
                gate_case()
            ));
        }
    }
    match case_of(set, GATE_E2E_SCENARIO) {
        Some(case) => EndToEnd::Usable { set, case },
        None => EndToEnd::Ignored(format!(
            "they hold no run of the `{GATE_E2E_SCENARIO}` scenario"
        )),
    }
}

/// One candidate with its spec and trials (empty where it has none).
struct Considered<'a> {
    spec: EngineSpec,
    verified: bool,
    ops: &'a [f64],
    p99: &'a [f64],
    relay_p99: &'a [f64],
    cpu_per_frame: &'a [f64],
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
            e2e_trials: self.relay_p99.len(),
            median_relay_p99_ms: median(self.relay_p99),
            median_server_cpu_us_per_frame: median(self.cpu_per_frame),
        }
    }
}

pub(super) fn choose(
    trials: Option<&ResultSet>,
    e2e: Option<&ResultSet>,
    summary: Option<&VerificationReport>,
    criteria: Criteria,
    paths: &GatePaths,
) -> Result<Decided, GateError> {
    let case = gate_case();
    let e2e = end_to_end(e2e, trials);
    let considered = considered(trials, &e2e, summary, &case);
    let candidates: Vec<Candidate> = considered.iter().map(Considered::candidate).collect();
    let found_unused = match &e2e {
        EndToEnd::Absent => None,
        EndToEnd::Ignored(why) => Some(why.clone()),
        EndToEnd::Usable { .. } => Some("nothing was judged".to_owned()),
    };
    let undecided = |reason: String| Decided {
        choice: None,
        reason,
        candidates: candidates.clone(),
        decision: None,
        e2e_ignored: found_unused.clone(),
    };
    let verification = &paths.verification;
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
            trials: vec![c.ops, c.p99, c.relay_p99, c.cpu_per_frame],
        })
        .collect();
    // The end-to-end metrics are judged only where both sides have trials (an unusable set
    // gave every candidate none), and are counted in the family only then.
    let metrics: Vec<Judged<'_>> = MIXED_METRICS
        .iter()
        .map(|(metric, _)| *metric)
        .chain(E2E_METRICS.iter().map(|metric| Judged {
            name: metric.name,
            better: metric.better,
        }))
        .collect();
    let standings = rank(&entries, &metrics, criteria)?;
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
    let is_e2e = |metric: &str| E2E_METRICS.iter().any(|m| m.name == metric);
    let e2e_judged: Vec<&str> = measured
        .iter()
        .zip(&names)
        .filter(|(_, name)| {
            verdicts
                .iter()
                .any(|v| is_e2e(&v.metric) && (v.verdict.a == **name || v.verdict.b == **name))
        })
        .map(|(_, name)| name.as_str())
        .collect();
    let mut labels: Vec<&str> = MIXED_METRICS.iter().map(|(_, label)| *label).collect();
    for metric in E2E_METRICS {
        if verdicts.iter().any(|v| v.metric == metric.name) {
            labels.push(metric.label);
        }
    }
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
                "{winner} beats every other verified engine {context}: faster on {} against \
                 each, slower on none",
                either(&labels)
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
    let mut e2e_ignored = e2e.ignored();
    let mut end_to_end = None;
    let e2e_path = paths.e2e_trials.display();
    match &e2e {
        EndToEnd::Absent => reason.push_str(&format!(
            "; decided on the `{case}` trials alone: no end-to-end trials at {e2e_path}"
        )),
        EndToEnd::Ignored(why) => reason.push_str(&format!(
            "; decided on the `{case}` trials alone: the end-to-end trials at {e2e_path} are \
             not used, as {why}"
        )),
        EndToEnd::Usable { case: e2e_case, .. } if e2e_judged.is_empty() => {
            let with: Vec<&str> = measured
                .iter()
                .zip(&names)
                .filter(|(c, _)| !c.relay_p99.is_empty() || !c.cpu_per_frame.is_empty())
                .map(|(_, name)| name.as_str())
                .collect();
            let why = format!(
                "of the candidates measured, {} in `{e2e_case}`, so no pair was judged on them",
                match with.as_slice() {
                    [] => "none has trials".to_owned(),
                    [one] => format!("only {one} has trials"),
                    _ => format!("{} have trials on different metrics", with.join(", ")),
                }
            );
            reason.push_str(&format!("; decided on the `{case}` trials alone: {why}"));
            e2e_ignored = Some(why);
        }
        EndToEnd::Usable {
            set,
            case: e2e_case,
        } => {
            let counts: Vec<String> = measured
                .iter()
                .zip(&names)
                .filter(|(_, name)| e2e_judged.contains(&name.as_str()))
                .map(|(c, name)| format!("{name}: {}", c.relay_p99.len()))
                .collect();
            let e2e_rounds = measured
                .iter()
                .zip(&names)
                .filter(|(_, name)| e2e_judged.contains(&name.as_str()))
                .map(|(c, _)| c.relay_p99.len().max(c.cpu_per_frame.len()))
                .max()
                .unwrap_or(0);
            reason.push_str(&format!(
                "; decided on the `{case}` trials and the end-to-end trials of `{e2e_case}` \
                 ({} runs), on {}",
                counts.join(", "),
                both(&labels[MIXED_METRICS.len()..])
            ));
            end_to_end = Some(EndToEndEvidence {
                case: (*e2e_case).to_owned(),
                rounds: e2e_rounds,
                provenance: set.provenance.clone(),
            });
        }
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
            end_to_end,
        }),
        e2e_ignored,
    })
}

/// `a`, `a or b`, `a, b or c`.
fn either(items: &[&str]) -> String {
    joined(items, "or")
}

/// `a`, `a and b`, `a, b and c`.
fn both(items: &[&str]) -> String {
    joined(items, "and")
}

fn joined(items: &[&str], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

/// Every registered engine at the gate's shard counts, and any other engine the trials name,
/// in registry order and fewest shards first, each with its trials: the `mixed` trials, and
/// the end-to-end trials when they are usable.
fn considered<'a>(
    trials: Option<&'a ResultSet>,
    e2e: &EndToEnd<'a>,
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
    let e2e_of = |spec: EngineSpec, metric: &str| -> &'a [f64] {
        match *e2e {
            EndToEnd::Usable { set, case } => {
                set.trials(case, &spec.to_string(), metric).unwrap_or(&[])
            }
            EndToEnd::Absent | EndToEnd::Ignored(_) => &[],
        }
    };
    specs
        .into_iter()
        .map(|spec| Considered {
            spec,
            verified: summary.is_some_and(|s| s.verified(spec)),
            ops: of(spec, OPS_METRIC),
            p99: of(spec, P99_METRIC),
            relay_p99: e2e_of(spec, RELAY_P99_METRIC),
            cpu_per_frame: e2e_of(spec, CPU_PER_FRAME_METRIC),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{GATE_FILE, Gate, decide};
    use super::*;
    use crate::engines::registry::EngineKind;
    use crate::measure::e2e::{E2eFigures, E2eTrials, case_id};
    use crate::measure::testkit::Fixture;

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
        decide(set, &fixture.gate_paths(), Criteria::default()).expect("the gate decides")
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
            gate.reason.contains(
                " not verified, so not judged; decided on the `mixed/t4` trials alone: no \
                 end-to-end trials at "
            ),
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

    #[test]
    fn a_gate_speaks_for_the_engine_sources_its_trials_measured() {
        let fixture = Fixture::new("gate-sources");
        fixture.verification(&[("lock/1", &[true]), ("lock/2", &[true])]);
        let mut set = tied_trials();
        let fresh = decide_with(&fixture, Some(&set));
        assert_eq!(fresh.stale_reason(), None);
        // Trials of other engine code, decided again by this binary (`--from-trials`).
        set.provenance.engine_source_hash = Some("0123".to_owned());
        let stale = decide_with(&fixture, Some(&set));
        assert_eq!(stale.engine_source_hash.as_deref(), Some("0123"));
        assert!(stale.stale_reason().is_some_and(|r| r.contains("0123")));
        // Trials that do not say what they measured speak for nothing in particular.
        set.provenance.engine_source_hash = None;
        assert!(decide_with(&fixture, Some(&set)).stale_reason().is_some());
    }

    /// Where and from what trials were measured: this build's engine sources unless `hash`
    /// says otherwise, on `cpu` with two cores.
    fn provenance(hash: &str, cpu: &str) -> Provenance {
        Provenance {
            cpu: Some(cpu.to_owned()),
            cores: Some(2),
            engine_source_hash: Some(hash.to_owned()),
            ..Provenance::default()
        }
    }

    /// `mixed` trials on which lock/1, lock/2 and lock/4 are indistinguishable, measured on
    /// "Test CPU".
    fn tied_trials() -> ResultSet {
        let mut set = trials(&[
            ("lock/1", 1_000_000.0, 1_000.0),
            ("lock/2", 1_010_000.0, 1_000.0),
            ("lock/4", 1_005_000.0, 1_000.0),
        ]);
        set.provenance = provenance(ENGINE_SOURCE_HASH, "Test CPU");
        set
    }

    /// End-to-end trials of the `mixed` scenario, `rounds` runs of each `(spec, relay p99 ms)`,
    /// every engine at the same CPU per frame, written where the gate looks for them.
    fn write_e2e(
        fixture: &Fixture,
        provenance: Provenance,
        rounds: u32,
        relay: &[(&str, f64)],
    ) -> E2eTrials {
        let mut trials = E2eTrials::new(GATE_E2E_SCENARIO, 200, provenance);
        for round in 0..rounds {
            let wobble = 1.0 + 0.01 * f64::from(round);
            for &(spec, relay_p99) in relay {
                let figures = E2eFigures {
                    relay_p99_ms: Some(relay_p99 * wobble),
                    server_cpu_us_per_frame: Some(20.0 * wobble),
                };
                trials.record(spec, &figures).expect("declared, finite");
            }
        }
        trials
            .set()
            .write(&fixture.gate_paths().e2e_trials)
            .expect("the e2e trials are written");
        trials
    }

    fn e2e_ignored(gate: &Gate) -> Option<String> {
        gate.inputs
            .e2e_trials
            .as_ref()
            .expect("the gate looked for e2e trials")
            .ignored
            .clone()
    }

    #[test]
    fn without_end_to_end_trials_the_decision_is_the_mixed_trials_alone_and_says_so() {
        let fixture = Fixture::new("gate-e2e-absent");
        fixture.verification(&[("lock/1", &[true]), ("lock/2", &[true])]);
        let set = tied_trials();
        let gate = decide_with(&fixture, Some(&set));
        let decision = gate.decision.as_ref().expect("a decision");
        assert_eq!(decision.winner, None);
        assert_eq!(decision.unbeaten, ["lock/1", "lock/2"]);
        assert_eq!(choice(&gate).as_deref(), Some("lock/1"));
        let metrics: Vec<&str> = decision
            .verdicts
            .iter()
            .map(|v| v.metric.as_str())
            .collect();
        assert_eq!(metrics, [OPS_METRIC, P99_METRIC]);
        assert_eq!(decision.end_to_end, None);
        assert!(
            gate.reason.ends_with(&format!(
                "; decided on the `mixed/t4` trials alone: no end-to-end trials at {}",
                fixture.gate_paths().e2e_trials.display()
            )),
            "{}",
            gate.reason
        );
        let input = gate.inputs.e2e_trials.as_ref().expect("looked for");
        assert!(!input.found && input.ignored.is_none());
        assert!(gate.candidates.iter().all(|c| c.e2e_trials == 0));
    }

    #[test]
    fn end_to_end_trials_favouring_one_candidate_on_relay_p99_make_it_win_a_tied_gate() {
        let fixture = Fixture::new("gate-e2e-wins");
        fixture.verification(&[("lock/1", &[true]), ("lock/2", &[true])]);
        let set = tied_trials();
        let e2e = write_e2e(
            &fixture,
            provenance(ENGINE_SOURCE_HASH, "Test CPU"),
            5,
            &[("lock/1", 6.0), ("lock/2", 2.0), ("actor/1", 1.0)],
        );
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(choice(&gate).as_deref(), Some("lock/2"));
        let decision = gate.decision.as_ref().expect("a decision");
        assert_eq!(decision.winner.as_deref(), Some("lock/2"));
        // One pair on four metrics; actor/1 is not verified, so its trials judge nothing.
        let judged: Vec<(&str, Option<&str>)> = decision
            .verdicts
            .iter()
            .map(|v| (v.metric.as_str(), v.verdict.winner()))
            .collect();
        assert_eq!(
            judged,
            [
                (OPS_METRIC, None),
                (P99_METRIC, None),
                (RELAY_P99_METRIC, Some("lock/2")),
                (CPU_PER_FRAME_METRIC, None),
            ]
        );
        for verdict in &decision.verdicts {
            assert!((verdict.verdict.criteria.alpha - 0.05 / 4.0).abs() < 1e-12);
        }
        assert_eq!(
            decision.end_to_end,
            Some(EndToEndEvidence {
                case: case_id(GATE_E2E_SCENARIO, 200),
                rounds: 5,
                provenance: e2e.set().provenance.clone(),
            })
        );
        for part in [
            "lock/2 beats every other verified engine on `mixed` at 4 caller threads over 10 \
             interleaved rounds: faster on throughput, p99, relay p99 or server CPU per frame \
             against each, slower on none; its narrowest win, on relay_p99_ms: lock/2 is faster \
             than lock/1 by",
            "; decided on the `mixed/t4` trials and the end-to-end trials of `e2e/mixed/c200` \
             (lock/1: 5, lock/2: 5 runs), on relay p99 and server CPU per frame",
        ] {
            assert!(gate.reason.contains(part), "{}", gate.reason);
        }
        assert_eq!(e2e_ignored(&gate), None);
        let lock2 = gate
            .candidates
            .iter()
            .find(|c| c.label() == "lock/2")
            .expect("listed");
        assert_eq!(lock2.e2e_trials, 5);
        assert!(
            lock2
                .median_relay_p99_ms
                .is_some_and(|m| (m - 2.04).abs() < 1e-9)
        );
        assert!(
            lock2
                .median_server_cpu_us_per_frame
                .is_some_and(|m| (m - 20.4).abs() < 1e-9)
        );

        // The same decision read back from gate.json: the e2e verdicts are recorded like the
        // others.
        let out = fixture.reports().join(GATE_FILE);
        gate.save(&out).expect("written");
        let loaded = Gate::load(&out).expect("loads");
        assert_eq!(loaded.verdict_key(), "lock/2 wins");
        assert_eq!(loaded.inputs, gate.inputs);
    }

    #[test]
    fn stale_or_foreign_end_to_end_trials_are_left_out_and_the_reason_says_why() {
        let fixture = Fixture::new("gate-e2e-stale");
        fixture.verification(&[("lock/1", &[true]), ("lock/2", &[true])]);
        let set = tied_trials();
        let relay = [("lock/1", 6.0), ("lock/2", 2.0)];
        let path = fixture.gate_paths().e2e_trials;
        for (provenance, why) in [
            (
                provenance("0123456789abcdef", "Test CPU"),
                "stale: they were measured on engine sources 0123456789abcdef, and this binary \
                 was built from"
                    .to_owned(),
            ),
            (
                Provenance {
                    engine_source_hash: None,
                    ..provenance(ENGINE_SOURCE_HASH, "Test CPU")
                },
                "stale: they record no engine-source fingerprint".to_owned(),
            ),
            (
                provenance(ENGINE_SOURCE_HASH, "Other CPU"),
                "they were measured on another machine (Other CPU, 2 cores) than the `mixed/t4` \
                 trials (Test CPU, 2 cores)"
                    .to_owned(),
            ),
            (
                Provenance {
                    cpu: None,
                    ..provenance(ENGINE_SOURCE_HASH, "Test CPU")
                },
                "nothing says they were measured on the machine of the `mixed/t4` trials"
                    .to_owned(),
            ),
        ] {
            write_e2e(&fixture, provenance, 5, &relay);
            let gate = decide_with(&fixture, Some(&set));
            // The decision of the mixed trials alone: the tie rule's lock/1.
            assert_eq!(choice(&gate).as_deref(), Some("lock/1"), "{why}");
            let decision = gate.decision.as_ref().expect("a decision");
            assert_eq!(decision.verdicts.len(), 2, "{why}");
            assert_eq!(decision.end_to_end, None);
            assert!(
                gate.reason.contains(&format!(
                    "; decided on the `mixed/t4` trials alone: the end-to-end trials at {} are \
                     not used, as {why}",
                    path.display()
                )),
                "{}",
                gate.reason
            );
            let input = gate.inputs.e2e_trials.as_ref().expect("looked for");
            assert!(input.found);
            assert!(
                e2e_ignored(&gate).is_some_and(|ignored| ignored.starts_with(&why)),
                "{:?}",
                input.ignored
            );
            assert!(gate.candidates.iter().all(|c| c.e2e_trials == 0));
        }

        // Fresh trials of another scenario are not the gate's either.
        let mut chat = E2eTrials::new("chat", 200, provenance(ENGINE_SOURCE_HASH, "Test CPU"));
        for _ in 0..5 {
            let figures = E2eFigures {
                relay_p99_ms: Some(1.0),
                server_cpu_us_per_frame: None,
            };
            chat.record("lock/2", &figures).expect("declared");
        }
        chat.set().write(&path).expect("written");
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(choice(&gate).as_deref(), Some("lock/1"));
        assert_eq!(
            e2e_ignored(&gate).as_deref(),
            Some("they hold no run of the `mixed` scenario")
        );
    }

    #[test]
    fn end_to_end_trials_judge_only_the_pairs_that_have_them() {
        let fixture = Fixture::new("gate-e2e-partial");
        fixture.verification(&[
            ("lock/1", &[true]),
            ("lock/2", &[true]),
            ("lock/4", &[true]),
        ]);
        let set = tied_trials();
        // Only lock/1: no pair to judge, and the reason says so.
        write_e2e(
            &fixture,
            provenance(ENGINE_SOURCE_HASH, "Test CPU"),
            6,
            &[("lock/1", 6.0)],
        );
        let gate = decide_with(&fixture, Some(&set));
        assert_eq!(choice(&gate).as_deref(), Some("lock/1"));
        assert!(
            gate.reason.ends_with(
                "; decided on the `mixed/t4` trials alone: of the candidates measured, only \
                 lock/1 has trials in `e2e/mixed/c200`, so no pair was judged on them"
            ),
            "{}",
            gate.reason
        );
        assert!(e2e_ignored(&gate).is_some());

        // lock/1 and lock/2, not lock/4: lock/2 beats lock/1 on relay p99 and ties lock/4 on
        // everything judged between them, so the two are unbeaten and the tie rule serves
        // lock/2. Six rounds: the family is 3 pairs × 2 metrics + 1 pair × 2, eight tests,
        // and 5 against 5 cannot reach 0.05 / 8.
        write_e2e(
            &fixture,
            provenance(ENGINE_SOURCE_HASH, "Test CPU"),
            6,
            &[("lock/1", 6.0), ("lock/2", 2.0)],
        );
        let gate = decide_with(&fixture, Some(&set));
        let decision = gate.decision.as_ref().expect("a decision");
        assert_eq!(decision.verdicts.len(), 8);
        assert_eq!(decision.winner, None);
        assert_eq!(decision.unbeaten, ["lock/2", "lock/4"]);
        assert_eq!(choice(&gate).as_deref(), Some("lock/2"));
        assert!(
            gate.reason.contains("(lock/1: 6, lock/2: 6 runs)")
                && gate.reason.contains("lock/1 lost to one of them"),
            "{}",
            gate.reason
        );
    }
}
