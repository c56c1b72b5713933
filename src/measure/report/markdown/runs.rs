//! The sections on whole runs: the duel, the end-to-end duel as `duel --e2e` wrote it, and
//! the verification summary.

use std::fmt::Write;

use super::{DUEL_COMMAND, Doc, VERIFY_COMMAND, cell, stale_line};
use crate::measure::format;
use crate::measure::report::LOAD_PLOTS_DIR;
use crate::measure::report::inputs::{E2E_COMMAND, EndToEnd};

impl Doc<'_> {
    pub(super) fn duel_section(&self, out: &mut String) {
        out.push_str("## The duel\n\n");
        let Some(duel) = &self.inputs.duel.data else {
            let _ = writeln!(
                out,
                "No duel at `{}`: run {DUEL_COMMAND} to produce it.\n",
                self.inputs.duel.path.display()
            );
            return;
        };
        let config = &duel.config;
        let shards: Vec<String> = config.shards.iter().map(usize::to_string).collect();
        let _ = writeln!(
            out,
            "From `{}`: {} clients in rooms of {}, {} caller threads, shards {}, {} rounds of {} \
             says each and {} shouts, seed {}, {} interleaved trials of each engine (a row is its \
             median trial). *× model* is throughput over the first row's.\n",
            self.inputs.duel.path.display(),
            format::count(config.clients as u64),
            config.room_size,
            config.threads,
            shards.join(", "),
            config.rounds,
            config.says,
            config.shouts,
            config.seed,
            config.trials,
        );
        out.push_str(
            "| engine | threads | ops | ops/s | × model | p50 µs | p99 µs | max µs | events | slow cuts | invariants |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
        );
        let floor = duel.rows.first().map(|row| row.ops_per_sec);
        for row in &duel.rows {
            let times_model = floor
                .filter(|f| *f > 0.0)
                .map_or_else(|| "—".to_owned(), |f| format::ratio(row.ops_per_sec / f));
            let held = if row.invariants_held {
                "held".to_owned()
            } else {
                format!("BROKEN ({})", cell(&row.broken.join("; ")))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {times_model} | {} | {} | {} | {} | {} | {held} |",
                cell(&row.engine),
                row.threads,
                format::count(row.ops),
                format::rate(row.ops_per_sec),
                format::count(row.p50_us),
                format::count(row.p99_us),
                format::count(row.max_us),
                format::count(row.events_delivered),
                format::count(row.slow_consumer_cuts),
            );
        }
        out.push('\n');
        for line in crate::duel::verdict_lines(duel) {
            let _ = writeln!(out, "- {}", cell(&line));
        }
        out.push('\n');
    }

    pub(super) fn verification_section(&self, out: &mut String) {
        out.push_str("## Verification\n\n");
        let Some(verification) = &self.inputs.verification.data else {
            let _ = writeln!(
                out,
                "No verification summary at `{}`: run {VERIFY_COMMAND} to produce it. Until then \
                 no engine counts as verified.\n",
                self.inputs.verification.path.display()
            );
            return;
        };
        stale_line(
            out,
            "These checks",
            verification.engine_source_hash.as_deref(),
            VERIFY_COMMAND,
        );
        let run = match (verification.seed, verification.unix_time) {
            (Some(seed), Some(time)) => format!(" (seed {seed}, at Unix time {time})"),
            (Some(seed), None) => format!(" (seed {seed})"),
            (None, Some(time)) => format!(" (at Unix time {time})"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "From `{}`{run}. An engine is verified when it ran at least one check and passed \
             them all; *explored* counts the scripts, races or cycles the checks ran.\n\n\
             | engine | checks passed | explored | failed checks | verified |\n\
             |---|--:|--:|---|---|",
            self.inputs.verification.path.display()
        );
        for (engine, checks) in &verification.engines {
            let passed = checks.checks.iter().filter(|c| c.passed).count();
            let explored: u64 = checks.checks.iter().map(|c| c.explored).sum();
            let failed: Vec<String> = checks
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| match &c.detail {
                    Some(detail) => format!("{}: {detail}", c.name),
                    None => c.name.clone(),
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {passed} of {} | {} | {} | {} |",
                cell(engine),
                checks.checks.len(),
                format::count(explored),
                if failed.is_empty() {
                    "—".to_owned()
                } else {
                    cell(&failed.join("; "))
                },
                if checks.passed() { "yes" } else { "**no**" },
            );
        }
        out.push('\n');
    }
}

/// The end-to-end duel as `duel --e2e` wrote it, with its plots.
pub(super) fn e2e_section(out: &mut String, e2e: &EndToEnd) {
    out.push_str("## End to end: the server on each engine under the same load\n\n");
    let Some(table) = &e2e.table else {
        out.push_str(
            "No `e2e.md` yet: run `lockchan duel --e2e` (see the README for the full run).\n\n",
        );
        return;
    };
    out.push_str(
        "Real WebSocket clients from `lockchan load` against `lockchan serve`, each engine in \
         turn, same binary and flags (`e2e.json` has every run's figures, and the verdict lines \
         under the table, when there, judge the rounds' trials):\n\n",
    );
    if let Some(provenance) = &e2e.trials.data {
        stale_line(
            out,
            "The runs of this table",
            provenance.engine_source_hash.as_deref(),
            E2E_COMMAND,
        );
    }
    out.push_str(table.trim_end());
    out.push_str("\n\n");
    for plot in &e2e.plots {
        let _ = writeln!(out, "![{plot}]({}/{plot})\n", LOAD_PLOTS_DIR);
    }
}
