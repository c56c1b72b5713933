//! The duel's side-by-side table, as Markdown so it reads the same in a terminal and a report.

use std::fmt::Write;

use super::DuelReport;

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
