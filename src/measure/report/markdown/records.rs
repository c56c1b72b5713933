//! The sections on the benches' own records: latency on `mixed`, fairness, CPU and context
//! switches, and the machines the benches and the duel ran on.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::{BENCH_COMMAND, DUEL_COMMAND, Doc, cell};
use crate::bench_extras::BenchRecord;
use crate::measure::format;
use crate::measure::report::figures::{self, LatencyPanel, MIXED};

impl Doc<'_> {
    pub(super) fn latency_section(&self, out: &mut String) {
        let _ = writeln!(out, "## Latency on `{MIXED}`\n");
        let panels = figures::latency_panels(self.inputs.extra_stats());
        if panels.is_empty() {
            let _ = writeln!(
                out,
                "No extra stats for `{MIXED}` in `{}`: run {BENCH_COMMAND} to produce them.\n",
                self.extra_dir()
            );
            return;
        }
        out.push_str(
            "From an operation's submission to its event being read, in microseconds, as the \
             benches record it beside criterion. The charts use a log scale; a 0 µs value \
             cannot sit on it and is left out of the chart, never out of the table.\n\n",
        );
        for panel in &panels {
            self.link_plot(out, &panel.title(), &panel.file_name());
        }
        out.push_str(
            "| engine | parameter | p50 µs | p99 µs | p99.9 µs | max µs |\n|---|---|--:|--:|--:|--:|\n",
        );
        for LatencyPanel { param, lines } in &panels {
            for (contender, latency) in lines {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(&contender.to_string()),
                    cell(param),
                    format::count(latency.p50),
                    format::count(latency.p99),
                    format::count(latency.p999),
                    format::count(latency.max),
                );
            }
        }
        out.push('\n');
    }

    pub(super) fn fairness_section(&self, out: &mut String) {
        out.push_str("## Fairness, CPU and context switches\n\n");
        let stats = self.inputs.extra_stats();
        if stats.is_empty() {
            let _ = writeln!(
                out,
                "No extra stats in `{}`: run {BENCH_COMMAND} to produce them.\n",
                self.extra_dir()
            );
            return;
        }
        out.push_str(
            "Fairness is over caller threads' operation counts: Jain's index is 1 when every \
             thread did the same work and 1/threads when one thread did it all.\n\n\
             | workload | engine | parameter | threads | ops | fewest ops by a thread | most ops by a thread | Jain |\n\
             |---|---|---|--:|--:|--:|--:|--:|\n",
        );
        for stat in stats {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {:.3} |",
                cell(&stat.group),
                stat_engine(stat),
                cell(&stat.param),
                stat.threads,
                format::count(stat.ops),
                format::count(stat.fairness.min_ops),
                format::count(stat.fairness.max_ops),
                stat.fairness.jain,
            );
        }
        out.push_str(
            "\nCPU time and context switches of the whole process, per operation; peak queue \
             depth is the deepest any engine mailbox got (the actor engine's; a dash where \
             there are none).\n\n\
             | workload | engine | parameter | CPU µs/op | voluntary switches/op | involuntary switches/op | peak RSS MiB | peak queue depth |\n\
             |---|---|---|--:|--:|--:|--:|--:|\n",
        );
        for stat in stats {
            let depth = stat
                .peak_queue_depth
                .map_or_else(|| "—".to_owned(), |depth| format::count(depth as u64));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.4} | {:.4} | {} | {depth} |",
                cell(&stat.group),
                stat_engine(stat),
                cell(&stat.param),
                format::amount(stat.cpu_us_per_op),
                stat.ctx_switches_per_op.voluntary,
                stat.ctx_switches_per_op.involuntary,
                format::amount(stat.peak_rss_kb as f64 / 1024.0),
            );
        }
        out.push('\n');
    }

    pub(super) fn machine_section(&self, out: &mut String) {
        out.push_str("## The machine\n\n");
        // One machine and build measured on several dates is still one machine: the date is
        // shown, never counted as a difference.
        let mut machines: BTreeMap<(&str, usize, &str, &str, &str), BTreeSet<&str>> =
            BTreeMap::new();
        for stat in self.inputs.extra_stats() {
            let m = &stat.machine;
            machines
                .entry((&m.cpu, m.cores, &m.kernel, &m.rustc, &m.commit))
                .or_default()
                .insert(&m.date);
        }
        let duel = self.inputs.duel.data.as_ref().map(|duel| &duel.machine);
        if machines.is_empty() && duel.is_none() {
            let _ = writeln!(
                out,
                "No machine recorded: the extra stats ({BENCH_COMMAND}) and the duel \
                 ({DUEL_COMMAND}) record the machine they ran on.\n"
            );
            return;
        }
        if !machines.is_empty() {
            out.push_str(
                "The benches (criterion's own files do not record the machine; the extra stats \
                 beside them do):\n\n\
                 | CPU | cores | kernel | rustc | commit | date |\n|---|--:|---|---|---|---|\n",
            );
            for ((cpu, cores, kernel, rustc, commit), dates) in &machines {
                let dates = match (dates.first(), dates.last()) {
                    (Some(first), Some(last)) if first != last => format!("{first} … {last}"),
                    (Some(first), _) => (*first).to_owned(),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {cores} | {} | {} | {} | {} |",
                    cell(cpu),
                    cell(kernel),
                    cell(rustc),
                    cell(commit),
                    cell(&dates),
                );
            }
            out.push('\n');
            if machines.len() > 1 {
                let _ = writeln!(
                    out,
                    "The benches ran on {} different machines or builds (CPU, kernel, rustc or \
                     commit differ): compare figures only within one.\n",
                    machines.len()
                );
            }
        }
        if let Some(machine) = duel {
            let _ = writeln!(
                out,
                "The duel: {}, {} cores, {}, lockchan {}, at Unix time {}.\n",
                cell(&machine.cpu),
                machine.cores,
                cell(&machine.os),
                cell(&machine.lockchan),
                machine.unix_time,
            );
        }
    }
}

fn stat_engine(stat: &BenchRecord) -> String {
    cell(&stat.contender().to_string())
}
