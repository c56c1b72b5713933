//! The report's first section: the verdict. A paragraph that counts which engine kind won
//! where, a table per workload and thread count with each verdict and its interval, and the
//! gate's decision; every figure from interleaved trials, none from a single run.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Doc, cell, stale_line};
use crate::engines::registry::EngineKind;
use crate::measure::report::inputs::{GATE_COMMAND, ROUNDS_COMMAND};
use crate::measure::report::verdicts::{PairVerdict, VerdictRow, verdict_rows};
use crate::measure::verdict::{Criteria, Verdict};

impl Doc<'_> {
    pub(super) fn verdict_section(&self, out: &mut String) {
        out.push_str("## Verdict\n\n");
        let trials = &self.inputs.trials;
        let Some(set) = &trials.data else {
            let _ = writeln!(
                out,
                "No interleaved trials at `{}`: run {ROUNDS_COMMAND} to measure every engine in \
                 rounds and state the verdicts here.\n",
                trials.path.display()
            );
            self.gate_paragraph(out);
            return;
        };
        let criteria = Criteria::default();
        let rows = verdict_rows(set, criteria);
        let p = &set.provenance;
        let unknown = || "unknown".to_owned();
        let _ = writeln!(
            out,
            "From `{}`: every engine and shard count measured in interleaved rounds (each \
             round runs every one once, in a shuffled order), on {}, {} cores, commit {}, {}. \
             Each engine kind is represented by its best shard count (by median throughput) \
             and judged against every other kind's best: a winner needs the rank test at 5%, the \
             95% bootstrap interval of the ratio of medians clear of no change, and at least a \
             {:.0}% effect; anything less is *no significant difference*.\n",
            trials.path.display(),
            p.cpu.clone().unwrap_or_else(unknown),
            p.cores.map_or_else(unknown, |c| c.to_string()),
            p.commit
                .as_deref()
                .map_or_else(unknown, |c| c.chars().take(10).collect()),
            p.date.clone().unwrap_or_else(unknown),
            criteria.min_effect * 100.0,
        );
        stale_line(
            out,
            "These trials",
            p.engine_source_hash.as_deref(),
            ROUNDS_COMMAND,
        );
        for (a, b) in kind_pairs(&rows) {
            let _ = writeln!(
                out,
                "- **{a} and {b}**: on throughput, {}; on p99 latency, {}.",
                tally(&rows, a, b, |p| &p.throughput),
                tally(&rows, a, b, |p| &p.p99)
            );
        }
        out.push('\n');
        out.push_str(
            "| workload | threads | throughput: the best of each kind, pair by pair | p99: the \
             same pairs | every engine and shard count | rounds |\n|---|--:|---|---|---|--:|\n",
        );
        for row in &rows {
            let standings = match &row.standings {
                Ok(s) => match &s.winner {
                    Some(winner) => format!("{winner} beats every other"),
                    None => format!("unbeaten: {}", s.unbeaten.join(", ")),
                },
                Err(err) => format!("cannot judge: {err}"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&row.workload),
                row.threads
                    .map_or_else(|| "—".to_owned(), |t| t.to_string()),
                pairs_cell(row, |p| &p.throughput),
                pairs_cell(row, |p| &p.p99),
                cell(&standings),
                row.rounds
            );
        }
        out.push('\n');
        self.gate_paragraph(out);
    }

    fn gate_paragraph(&self, out: &mut String) {
        let gate = &self.inputs.gate;
        match &gate.data {
            Some(decided) => {
                let served = decided
                    .choice
                    .as_ref()
                    .map_or_else(|| "no engine".to_owned(), |c| c.label());
                let _ = writeln!(
                    out,
                    "**The gate** (`{}`) serves {served}: {}\n",
                    gate.path.display(),
                    decided.reason
                );
                if let Some(stale) = decided.stale_reason() {
                    let _ = writeln!(out, "*{stale}.*\n");
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "No gate at `{}`: run {GATE_COMMAND}.\n",
                    gate.path.display()
                );
            }
        }
    }
}

fn verdict_cell(verdict: &Option<Result<Verdict, String>>) -> String {
    match verdict {
        Some(Ok(verdict)) if verdict.is_tie() => {
            format!("{} ~ {}: {verdict}", verdict.a, verdict.b)
        }
        Some(Ok(verdict)) => verdict.to_string(),
        Some(Err(err)) => format!("cannot judge: {}", cell(err)),
        None => "—".to_owned(),
    }
}

/// A row's verdicts on one metric, pair by pair, one per line of the cell.
fn pairs_cell(row: &VerdictRow, pick: Pick) -> String {
    if row.pairs.is_empty() {
        return "—".to_owned();
    }
    let cells: Vec<String> = row.pairs.iter().map(|p| verdict_cell(pick(p))).collect();
    cells.join("<br>")
}

/// Picks one metric's verdict of a pair.
type Pick = fn(&PairVerdict) -> &Option<Result<Verdict, String>>;

/// Every pair of engine kinds some row judged, in the registry's order of kinds.
fn kind_pairs(rows: &[VerdictRow]) -> Vec<(EngineKind, EngineKind)> {
    let mut pairs: Vec<(EngineKind, EngineKind)> = Vec::new();
    for pair in rows.iter().flat_map(|row| &row.pairs) {
        let (a, b) = pair.kinds;
        let ordered = if a.index() <= b.index() {
            (a, b)
        } else {
            (b, a)
        };
        if !pairs.contains(&ordered) {
            pairs.push(ordered);
        }
    }
    pairs.sort_by_key(|(a, b)| (a.index(), b.index()));
    pairs
}

/// "of 6 cases, lock is faster in 4, actor is faster in 1, 1 shows no significant difference":
/// the cases where kinds `a` and `b` were judged on the metric `pick` picks.
fn tally(rows: &[VerdictRow], a: EngineKind, b: EngineKind, pick: Pick) -> String {
    let judged: Vec<&Option<Result<Verdict, String>>> = rows
        .iter()
        .filter_map(|row| row.pair(a, b))
        .map(pick)
        .filter(|verdict| matches!(verdict, Some(Ok(_))))
        .collect();
    if judged.is_empty() {
        return "no case judged".to_owned();
    }
    let mut wins: BTreeMap<usize, (EngineKind, usize)> = BTreeMap::new();
    let mut ties = 0;
    for verdict in &judged {
        match VerdictRow::winning_kind(verdict) {
            Some(kind) => wins.entry(kind.index()).or_insert((kind, 0)).1 += 1,
            None => ties += 1,
        }
    }
    let mut parts: Vec<String> = wins
        .values()
        .map(|(kind, n)| format!("{kind} is faster in {n}"))
        .collect();
    match ties {
        0 => {}
        1 => parts.push("1 shows no significant difference".to_owned()),
        n => parts.push(format!("{n} show no significant difference")),
    }
    let cases = if judged.len() == 1 { "case" } else { "cases" };
    format!("of {} {cases}, {}", judged.len(), parts.join(", "))
}
