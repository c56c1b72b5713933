//! The headline: every registered engine at its best shard count at each workload point, one
//! column per engine in registry order, from one criterion run. It describes; the verdicts,
//! with their intervals, are the section before it. The columns come from the registry, so an
//! engine added there appears here with no edit.

use std::fmt::Write;

use super::{Doc, cell};
use crate::engines::registry::EngineKind;
use crate::measure::format;
use crate::measure::report::figures::{self, Best, HeadlineRow};

impl Doc<'_> {
    pub(super) fn headline_section(&self, out: &mut String) {
        out.push_str("## Headline: every engine at its best shard count\n\n");
        let rows = figures::headline(self.inputs.results());
        if rows.is_empty() {
            self.no_workload_results(out);
            return;
        }
        out.push_str(
            "Each engine's operations per second at its best shard count at that point, the \
             shard count named beside the figure, from one run of `cargo bench`: figures to \
             read, not a comparison (one run moves with the machine; the *Verdict* above says \
             which differences hold). A dash means that engine has no result at that point.\n\n",
        );
        out.push_str("| workload | threads |");
        for kind in EngineKind::all() {
            let _ = write!(out, " {kind} ops/s |");
        }
        out.push_str("\n|---|--:|");
        for _ in EngineKind::all() {
            out.push_str("--:|");
        }
        out.push('\n');
        for row in &rows {
            let _ = write!(
                out,
                "| {} | {} |",
                workload_cell(row),
                row.threads
                    .map_or_else(|| "—".to_owned(), |t| t.to_string()),
            );
            for best in &row.best {
                let _ = write!(out, " {} |", best_cell(*best));
            }
            out.push('\n');
        }
        out.push('\n');
    }
}

/// `1,291,873 (lock/1)`: the throughput, then the shard count that gave it.
fn best_cell(best: Option<Best>) -> String {
    match best {
        Some(best) => format!("{} ({})", format::rate(best.ops_per_sec), best.spec),
        None => "—".to_owned(),
    }
}

fn workload_cell(row: &HeadlineRow) -> String {
    if row.variant.is_empty() {
        cell(&row.group)
    } else {
        format!("{} ({})", cell(&row.group), cell(&row.variant))
    }
}
