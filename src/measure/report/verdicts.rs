//! The report's verdicts, from interleaved trials (`lockchan rounds`): per workload and thread
//! count, the best contender of each engine kind (by median throughput) judged against every
//! other kind's best, on throughput and on p99; and the standings among every contender.
//!
//! Picking each kind's best shard count by its median before judging favours the picked one
//! a little; the verdict's minimum effect (5%) is larger than that selection can make.

use crate::engines::registry::{EngineKind, EngineSpec};
use crate::measure::report::figures::workload_order;
use crate::measure::trials::{OPS_METRIC, P99_METRIC};
use crate::measure::verdict::{
    Better, Criteria, Entry, Judged, ResultSet, Standings, Trials, Verdict, median, rank,
};

/// One case's verdicts.
#[derive(Clone, Debug)]
pub(crate) struct VerdictRow {
    pub(crate) workload: String,
    pub(crate) threads: Option<u32>,
    /// Every pair of kinds' bests, the faster median first: the first kind against the
    /// second, against the third, then the second against the third, and so on.
    pub(crate) pairs: Vec<PairVerdict>,
    /// Among every contender of the case, on the metrics all of them have.
    pub(crate) standings: Result<Standings, String>,
    /// Trials per contender (the fewest any contender has).
    pub(crate) rounds: usize,
}

/// Two engine kinds' bests judged against each other.
#[derive(Clone, Debug)]
pub(crate) struct PairVerdict {
    /// The two kinds, the one with the faster median throughput first.
    pub(crate) kinds: (EngineKind, EngineKind),
    /// On throughput.
    pub(crate) throughput: Option<Result<Verdict, String>>,
    /// On p99, where both have latency trials.
    pub(crate) p99: Option<Result<Verdict, String>>,
}

impl VerdictRow {
    /// The verdicts between `a` and `b`, in either order, if both kinds ran.
    pub(crate) fn pair(&self, a: EngineKind, b: EngineKind) -> Option<&PairVerdict> {
        self.pairs
            .iter()
            .find(|pair| pair.kinds == (a, b) || pair.kinds == (b, a))
    }

    /// The engine kind that won `verdict`, if any.
    pub(crate) fn winning_kind(verdict: &Option<Result<Verdict, String>>) -> Option<EngineKind> {
        let name = verdict.as_ref()?.as_ref().ok()?.winner()?;
        Some(name.parse::<EngineSpec>().ok()?.kind)
    }
}

/// Every case of `set`, in the report's order of workloads, then by thread count.
pub(crate) fn verdict_rows(set: &ResultSet, criteria: Criteria) -> Vec<VerdictRow> {
    let mut rows: Vec<VerdictRow> = set
        .cases
        .keys()
        .map(|case| row(set, case, criteria))
        .collect();
    rows.sort_by(|a, b| workload_order(&a.workload, &b.workload).then(a.threads.cmp(&b.threads)));
    rows
}

fn row(set: &ResultSet, case: &str, criteria: Criteria) -> VerdictRow {
    let (workload, threads) = match case.rsplit_once("/t") {
        Some((workload, threads)) => (workload.to_owned(), threads.parse().ok()),
        None => (case.to_owned(), None),
    };
    let trials = |spec: &EngineSpec, metric: &str| -> &[f64] {
        set.trials(case, &spec.to_string(), metric).unwrap_or(&[])
    };
    let mut specs: Vec<EngineSpec> = set.cases[case]
        .keys()
        .filter_map(|name| name.parse().ok())
        .filter(|spec| !trials(spec, OPS_METRIC).is_empty())
        .collect();
    specs.sort_by_key(|spec| (spec.kind.index(), spec.shards));
    let ops_median = |spec: &EngineSpec| median(trials(spec, OPS_METRIC)).unwrap_or(0.0);
    let mut best: Vec<EngineSpec> = Vec::new();
    for kind in EngineKind::all() {
        if let Some(spec) = specs
            .iter()
            .filter(|spec| spec.kind == kind)
            .max_by(|a, b| ops_median(a).total_cmp(&ops_median(b)))
        {
            best.push(*spec);
        }
    }
    best.sort_by(|a, b| ops_median(b).total_cmp(&ops_median(a)));
    let judge = |a: &EngineSpec, b: &EngineSpec, metric: &str, better: Better| {
        let (ta, tb) = (trials(a, metric), trials(b, metric));
        if ta.is_empty() || tb.is_empty() {
            return None;
        }
        let (na, nb) = (a.to_string(), b.to_string());
        Some(
            Verdict::judge(
                Trials {
                    name: &na,
                    values: ta,
                },
                Trials {
                    name: &nb,
                    values: tb,
                },
                better,
                criteria,
            )
            .map_err(|err| err.to_string()),
        )
    };
    let mut pairs = Vec::new();
    for (i, a) in best.iter().enumerate() {
        for b in &best[i + 1..] {
            pairs.push(PairVerdict {
                kinds: (a.kind, b.kind),
                throughput: judge(a, b, OPS_METRIC, Better::Higher),
                p99: judge(a, b, P99_METRIC, Better::Lower),
            });
        }
    }
    let with_p99 = specs
        .iter()
        .all(|spec| !trials(spec, P99_METRIC).is_empty());
    let names: Vec<String> = specs.iter().map(ToString::to_string).collect();
    let entries: Vec<Entry<'_>> = specs
        .iter()
        .zip(&names)
        .map(|(spec, name)| {
            let mut per_metric = vec![trials(spec, OPS_METRIC)];
            if with_p99 {
                per_metric.push(trials(spec, P99_METRIC));
            }
            Entry {
                name,
                trials: per_metric,
            }
        })
        .collect();
    let mut metrics = vec![Judged {
        name: OPS_METRIC,
        better: Better::Higher,
    }];
    if with_p99 {
        metrics.push(Judged {
            name: P99_METRIC,
            better: Better::Lower,
        });
    }
    let standings = rank(&entries, &metrics, criteria).map_err(|err| err.to_string());
    let rounds = specs
        .iter()
        .map(|spec| trials(spec, OPS_METRIC).len())
        .min()
        .unwrap_or(0);
    VerdictRow {
        workload,
        threads,
        pairs,
        standings,
        rounds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::verdict::Provenance;

    fn set(figures: &[(&str, &str, f64, Option<f64>)]) -> ResultSet {
        let mut set = ResultSet::new(Provenance::default());
        set.declare(OPS_METRIC, "ops/s", Better::Higher);
        set.declare(P99_METRIC, "µs", Better::Lower);
        for &(case, spec, ops, p99) in figures {
            for i in 0..10 {
                let wobble = 1.0 + 0.02 * ((i * 7 % 11) as f64 / 5.0 - 1.0);
                set.push(case, spec, OPS_METRIC, ops * wobble)
                    .expect("declared");
                if let Some(p99) = p99 {
                    set.push(case, spec, P99_METRIC, p99 * wobble)
                        .expect("declared");
                }
            }
        }
        set
    }

    fn judged(verdict: &Option<Result<Verdict, String>>) -> Verdict {
        verdict.clone().expect("two kinds").expect("judged")
    }

    fn first(row: &VerdictRow) -> &PairVerdict {
        row.pairs.first().expect("two kinds")
    }

    #[test]
    fn each_kinds_best_is_judged_against_the_next_and_a_close_pair_ties() {
        let set = set(&[
            ("mixed/t4", "lock/1", 1_000_000.0, Some(1_000.0)),
            ("mixed/t4", "lock/2", 900_000.0, Some(1_100.0)),
            ("mixed/t4", "actor/1", 500_000.0, Some(9_000.0)),
            ("churn/t4", "lock/1", 1_000_000.0, None),
            ("churn/t4", "actor/4", 1_010_000.0, None),
        ]);
        let rows = verdict_rows(&set, Criteria::default());
        // Closed-loop workloads in the benches' order: churn before mixed.
        assert_eq!(rows[0].workload, "churn");
        assert_eq!(rows[1].workload, "mixed");
        assert_eq!(rows[1].threads, Some(4));

        let churn = &rows[0];
        assert_eq!(churn.pairs.len(), 1, "two kinds make one pair");
        let verdict = judged(&first(churn).throughput);
        // The faster median goes first.
        assert_eq!(
            (verdict.a.as_str(), verdict.b.as_str()),
            ("actor/4", "lock/1")
        );
        assert!(verdict.is_tie(), "{verdict}");
        assert!(first(churn).p99.is_none(), "churn has no latency trials");

        let mixed = &rows[1];
        let verdict = judged(&first(mixed).throughput);
        // Each kind at its best shard count: lock/1 rather than lock/2.
        assert_eq!(
            (verdict.a.as_str(), verdict.b.as_str()),
            ("lock/1", "actor/1")
        );
        assert_eq!(
            VerdictRow::winning_kind(&first(mixed).throughput),
            Some(EngineKind::LOCK)
        );
        assert_eq!(
            VerdictRow::winning_kind(&first(mixed).p99),
            Some(EngineKind::LOCK)
        );
        let standings = mixed.standings.as_ref().expect("ranked");
        assert_eq!(standings.winner.as_deref(), Some("lock/1"));
        assert_eq!(mixed.rounds, 10);
    }

    // A loom build has no task engine.
    #[cfg(not(lockchan_loom))]
    #[test]
    fn with_three_kinds_every_pair_of_bests_is_judged() {
        let set = set(&[
            ("mixed/t4", "lock/1", 1_000_000.0, Some(1_000.0)),
            ("mixed/t4", "actor/2", 500_000.0, Some(9_000.0)),
            ("mixed/t4", "actor/1", 450_000.0, Some(9_500.0)),
            ("mixed/t4", "task/1", 700_000.0, Some(4_000.0)),
        ]);
        let rows = verdict_rows(&set, Criteria::default());
        let names: Vec<(String, String)> = rows[0]
            .pairs
            .iter()
            .map(|pair| {
                let verdict = judged(&pair.throughput);
                (verdict.a, verdict.b)
            })
            .collect();
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            names,
            [
                pair("lock/1", "task/1"),
                pair("lock/1", "actor/2"),
                pair("task/1", "actor/2"),
            ]
        );
        let task_actor = rows[0]
            .pair(EngineKind::ACTOR, EngineKind::TASK)
            .expect("both ran");
        assert_eq!(task_actor.kinds, (EngineKind::TASK, EngineKind::ACTOR));
        assert_eq!(
            VerdictRow::winning_kind(&task_actor.p99),
            Some(EngineKind::TASK)
        );
    }
}
