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
    verification_stale,
};
use crate::engines::ENGINE_SOURCE_HASH;
use crate::engines::registry::{EngineSpec, all_specs};
use crate::measure::e2e::{CPU_PER_FRAME_METRIC, E2E_METRICS, RELAY_P99_METRIC, case_of};
use crate::measure::verdict::{
    Better, Criteria, EngineSources, Entry, Judged, Provenance, ResultSet, median, rank,
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
    match EngineSources::of(set.provenance.engine_source_hash.as_deref()) {
        EngineSources::This => {}
        EngineSources::Other(hash) => {
            return EndToEnd::Ignored(format!(
                "stale: they were measured on engine sources {hash}, and this binary was built \
                 from {ENGINE_SOURCE_HASH}; run `lockchan duel --e2e` again"
            ));
        }
        EngineSources::Unrecorded => {
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
    if let Some(why) = summary.and_then(verification_stale) {
        return Ok(undecided(format!(
            "the verification at {} is stale: {why}; run `lockchan verify` (every layer: \
             `scripts/verify-all`) again; an engine is served only on checks of its own sources",
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
mod tests;
