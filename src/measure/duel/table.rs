//! The duel's side-by-side table, as Markdown so it reads the same in a terminal and a report.

use std::fmt::Write;

use super::DuelReport;
use crate::engines::registry::{EngineKind, EngineSpec};
use crate::measure::verdict::{Better, Criteria, PairMetric, pair_lines};

pub fn render_table(report: &DuelReport) -> String {
    let mut out = String::new();
    let floor = report.rows.first().map_or(1.0, |row| row.ops_per_sec);
    out.push_str(
        "| engine | threads | ops | ops/s | × model | p50 µs | p99 µs | max µs | events | slow cuts | invariants |\n",
    );
    out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for row in &report.rows {
        let held = if row.invariants_held {
            "held"
        } else {
            "BROKEN"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {} | {} | {} | {} | {} | {} |",
            row.engine,
            row.threads,
            row.ops,
            row.ops_per_sec,
            row.ops_per_sec / floor,
            row.p50_us,
            row.p99_us,
            row.max_us,
            row.events_delivered,
            row.slow_consumer_cuts,
            held,
        );
    }
    out
}

/// The duel's verdicts, one line each: at every shard count, the engines side by side on
/// throughput and on p99, from their interleaved trials. With one trial each there is nothing
/// to judge, and the line says so.
pub fn verdict_lines(report: &DuelReport) -> Vec<String> {
    let mut lines = Vec::new();
    let of = |spec: &EngineSpec| -> (Vec<f64>, Vec<f64>) {
        let name = spec.to_string();
        let trials = report.trials.iter().filter(|t| t.engine == name);
        let ops = trials.clone().map(|t| t.ops_per_sec).collect();
        let p99 = trials.map(|t| t.p99_us as f64).collect();
        (ops, p99)
    };
    for &shards in &report.config.shards {
        let specs: Vec<EngineSpec> = EngineKind::all()
            .filter(|kind| kind.sharded() || shards == report.config.shards[0])
            .map(|kind| EngineSpec::new(kind, shards))
            .filter(|spec| !of(spec).0.is_empty())
            .collect();
        for (i, a) in specs.iter().enumerate() {
            for b in &specs[i + 1..] {
                let ((ops_a, p99_a), (ops_b, p99_b)) = (of(a), of(b));
                lines.extend(pair_lines(
                    &a.to_string(),
                    &b.to_string(),
                    &[
                        PairMetric {
                            label: "throughput",
                            better: Better::Higher,
                            a: &ops_a,
                            b: &ops_b,
                        },
                        PairMetric {
                            label: "p99",
                            better: Better::Lower,
                            a: &p99_a,
                            b: &p99_b,
                        },
                    ],
                    Criteria::default(),
                    "--trials",
                ));
            }
        }
    }
    lines
}
