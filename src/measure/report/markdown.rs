//! `REPORT.md`: every section, its tables and the links to its plots, written from the inputs
//! and the figures derived from them. A section whose input is absent says which command
//! produces it instead of showing anything.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::figures::{
    self, CALIBRATION_GROUP, Floors, HeadlineRow, LatencyPanel, MICRO_GROUP, MIXED, TALK,
};
use super::inputs::{EndToEnd, Inputs};
use crate::bench_extras::BenchRecord;
use crate::measure::criterion::{BenchResult, Contender};
use crate::measure::format;

/// What produces each input, for the sections that find it missing.
const BENCH_COMMAND: &str = "`cargo bench`";
const DUEL_COMMAND: &str = "`cargo run --release -- duel`";
const VERIFY_COMMAND: &str = "`lockchan verify` (`cargo run --release -- verify`)";

/// Renders the whole report. `plots_dir` is the plots' directory relative to the report;
/// `plots` holds the file names drawn, and only those are linked.
pub(crate) fn render(inputs: &Inputs, plots_dir: &str, plots: &BTreeSet<String>) -> String {
    let mut out = String::new();
    let floors = Floors::find(inputs.results());
    let doc = Doc {
        inputs,
        plots_dir,
        plots,
        floors: &floors,
    };
    out.push_str("# lockchan report\n\n");
    out.push_str(
        "Locks or actors for a real-time game server: the same matchmaking engine built both \
         ways, measured side by side. Every figure below is read from the inputs listed here or \
         computed from them; a section whose input is missing says which command produces it. \
         Figures from different runs or machines are not comparable, so read each table within \
         itself.\n\n",
    );
    doc.inputs_section(&mut out);
    doc.headline_section(&mut out);
    doc.workloads_section(&mut out);
    doc.latency_section(&mut out);
    doc.micro_section(&mut out);
    doc.calibration_section(&mut out);
    doc.fairness_section(&mut out);
    doc.duel_section(&mut out);
    e2e_section(&mut out, &inputs.e2e);
    doc.verification_section(&mut out);
    doc.machine_section(&mut out);
    out
}

/// The end-to-end duel as `duel --e2e` wrote it, with its plots.
fn e2e_section(out: &mut String, e2e: &EndToEnd) {
    out.push_str("## End to end: the server on each engine under the same load\n\n");
    let Some(table) = &e2e.table else {
        out.push_str(
            "No `e2e.md` yet: run `lockchan duel --e2e` (see the README for the full run).\n\n",
        );
        return;
    };
    out.push_str(
        "Real WebSocket clients from `lockchan load` against `lockchan serve`, one engine after \
         the other, same binary and flags (`e2e.json` has every figure):\n\n",
    );
    out.push_str(table.trim_end());
    out.push_str("\n\n");
    for plot in &e2e.plots {
        let _ = writeln!(out, "![{plot}]({}/{plot})\n", super::LOAD_PLOTS_DIR);
    }
}

struct Doc<'a> {
    inputs: &'a Inputs,
    plots_dir: &'a str,
    plots: &'a BTreeSet<String>,
    floors: &'a Floors,
}

impl Doc<'_> {
    fn criterion_dir(&self) -> String {
        self.inputs.criterion.path.display().to_string()
    }

    fn extra_dir(&self) -> String {
        self.inputs.extra.path.display().to_string()
    }

    fn link_plot(&self, out: &mut String, title: &str, file: &str) {
        if self.plots.contains(file) {
            let _ = writeln!(out, "![{title}]({}/{file})\n", self.plots_dir);
        }
    }

    fn inputs_section(&self, out: &mut String) {
        let inputs = self.inputs;
        out.push_str("## Inputs\n\n| input | path | status |\n|---|---|---|\n");
        let results = inputs.results().len();
        let criterion_status = if results == 0 {
            format!("none found: run {BENCH_COMMAND}")
        } else {
            format!("{results} results")
        };
        let extra = inputs.extra_stats().len();
        let extra_status = if extra == 0 {
            format!("none found: run {BENCH_COMMAND}")
        } else {
            format!("{extra} files")
        };
        let found = |present: bool, command: &str| {
            if present {
                "found".to_owned()
            } else {
                format!("not found: run {command}")
            }
        };
        let rows = [
            ("criterion results", self.criterion_dir(), criterion_status),
            ("extra bench stats", self.extra_dir(), extra_status),
            (
                "duel",
                inputs.duel.path.display().to_string(),
                found(inputs.duel.data.is_some(), DUEL_COMMAND),
            ),
            (
                "verification",
                inputs.verification.path.display().to_string(),
                found(inputs.verification.data.is_some(), VERIFY_COMMAND),
            ),
        ];
        for (name, path, status) in rows {
            let _ = writeln!(out, "| {name} | `{}` | {status} |", cell(&path));
        }
        out.push('\n');
        for note in &inputs.notes {
            let _ = writeln!(out, "- {note}");
        }
        if !inputs.notes.is_empty() {
            out.push('\n');
        }
    }

    fn headline_section(&self, out: &mut String) {
        out.push_str("## Headline: lock ÷ actor throughput\n\n");
        let rows = figures::headline(self.inputs.results());
        if rows.is_empty() {
            let _ = writeln!(
                out,
                "No engine workload results in `{}`: run {BENCH_COMMAND} to produce them.\n",
                self.criterion_dir()
            );
            return;
        }
        out.push_str(
            "Each engine at its best shard count at that point, named beside its figure. Above 1, \
             the lock engine did more operations per second than the actor engine; below 1, \
             fewer. A dash means that engine has no result at that point.\n\n",
        );
        out.push_str(
            "| workload | threads | lock (best shards) | lock ops/s | actor (best shards) | actor ops/s | lock ÷ actor |\n\
             |---|--:|---|--:|---|--:|--:|\n",
        );
        for row in &rows {
            let (lock_name, lock_ops) = best_cells(row.lock);
            let (actor_name, actor_ops) = best_cells(row.actor);
            let _ = writeln!(
                out,
                "| {} | {} | {lock_name} | {lock_ops} | {actor_name} | {actor_ops} | {} |",
                workload_cell(row),
                row.threads
                    .map_or_else(|| "—".to_owned(), |t| t.to_string()),
                row.ratio()
                    .map_or_else(|| "—".to_owned(), |r| format!("**{}**", format::ratio(r))),
            );
        }
        out.push('\n');
    }

    fn workloads_section(&self, out: &mut String) {
        out.push_str("## Throughput per workload\n\n");
        let results = self.inputs.results();
        let groups = figures::workload_groups(results);
        if groups.is_empty() {
            let _ = writeln!(
                out,
                "No engine workload results in `{}`: run {BENCH_COMMAND} to produce them.\n",
                self.criterion_dir()
            );
            return;
        }
        out.push_str(
            "Throughput is elements per iteration over criterion's mean time per iteration, and \
             *ops/s interval* is the same at the two ends of the mean's confidence interval. \
             *ns per op* is \
             wall time per operation with all caller threads together (10⁹ ÷ ops/s), and the \
             last two columns divide it by the machine's floors (see *Calibration floors*): \
             how many uncontended lock acquisitions, or two-thread handoffs, one operation's \
             share of wall time would buy.\n\n",
        );
        for group in &groups {
            let _ = writeln!(out, "### {group}\n");
            for panel in figures::panels(results, group) {
                self.link_plot(out, &panel.title(), &panel.file_name());
            }
            out.push_str(
                "| engine | parameter | ops/s | ops/s interval | ns per op | × uncontended lock | × handoff |\n\
                 |---|---|--:|---|--:|--:|--:|\n",
            );
            for result in results.iter().filter(|r| {
                r.group == *group && matches!(r.contender, Contender::Model | Contender::Engine(_))
            }) {
                self.engine_row(out, result);
            }
            out.push('\n');
        }
    }

    fn engine_row(&self, out: &mut String, result: &BenchResult) {
        let ns = result.ns_per_element();
        let ops = result
            .ops_per_sec()
            .map_or_else(|| "—".to_owned(), format::rate);
        let interval = result.ops_per_sec_interval().map_or_else(
            || "—".to_owned(),
            |(low, high)| {
                format!(
                    "{}–{} ({:.0}%)",
                    format::rate(low),
                    format::rate(high),
                    result.confidence_level * 100.0
                )
            },
        );
        let times =
            |floor| figures::multiple(ns, floor).map_or_else(|| "—".to_owned(), format::amount);
        let _ = writeln!(
            out,
            "| {} | {} | {ops} | {interval} | {} | {} | {} |",
            cell(&result.contender.to_string()),
            cell(&result.param.raw),
            format::amount(ns),
            times(self.floors.lock.as_ref()),
            times(self.floors.handoff.as_ref()),
        );
    }

    fn latency_section(&self, out: &mut String) {
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

    fn micro_section(&self, out: &mut String) {
        out.push_str("## The micro-experiment beside the talk's\n\n");
        out.push_str(
            "The talk's figures, quoted as the talk gave them and not measured here:\n\n\
             | kind | items done | in | items/s |\n|---|--:|--:|--:|\n",
        );
        for row in &TALK {
            let about = if row.approximate { "about " } else { "" };
            let _ = writeln!(
                out,
                "| {} | {about}{} | {} ms | {about}{} |",
                row.kind,
                format::count(row.items),
                format::amount(row.ms),
                format::rate(row.items_per_sec()),
            );
        }
        out.push('\n');
        let micro: Vec<&BenchResult> = self
            .inputs
            .results()
            .iter()
            .filter(|r| r.group == MICRO_GROUP)
            .collect();
        if micro.is_empty() {
            let _ = writeln!(
                out,
                "Ours: no `{MICRO_GROUP}` results in `{}`: run `cargo bench --bench micro` to \
                 produce them.\n",
                self.criterion_dir()
            );
            return;
        }
        let talk_items = format::count(TALK[0].items);
        let _ = writeln!(
            out,
            "Ours, on this machine. *ms for {talk_items} items* scales our time per item to the \
             talk's mutex workload; the last columns set our rate against the talk's row of the \
             same kind (judged by the case's name).\n"
        );
        let _ = writeln!(
            out,
            "| case | parameter | items per iteration | ms per iteration | items/s | ms for {talk_items} items | talk's items/s | ours ÷ talk |\n\
             |---|---|--:|--:|--:|--:|--:|--:|"
        );
        for result in micro {
            let case = result.contender.to_string();
            let items_per_sec = result.ops_per_sec();
            let talk = figures::talk_row(&case);
            let dash = || "—".to_owned();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&case),
                cell(&result.param.raw),
                result.elements.map_or_else(dash, format::count),
                format::amount(result.mean_ns / 1e6),
                items_per_sec.map_or_else(dash, format::rate),
                items_per_sec.map_or_else(dash, |rate| format::amount(
                    TALK[0].items as f64 / rate * 1e3
                )),
                talk.map_or_else(dash, |t| format!(
                    "{} ({})",
                    format::rate(t.items_per_sec()),
                    t.kind
                )),
                match (items_per_sec, talk) {
                    (Some(ours), Some(t)) => format::ratio(ours / t.items_per_sec()),
                    _ => dash(),
                },
            );
        }
        out.push('\n');
    }

    fn calibration_section(&self, out: &mut String) {
        out.push_str("## Calibration floors\n\n");
        let calibration: Vec<&BenchResult> = self
            .inputs
            .results()
            .iter()
            .filter(|r| r.group == CALIBRATION_GROUP)
            .collect();
        if calibration.is_empty() {
            let _ = writeln!(
                out,
                "No `{CALIBRATION_GROUP}` results in `{}`: run `cargo bench --bench calibration` \
                 to produce them. Until then the engine figures have no floor to be read \
                 against.\n",
                self.criterion_dir()
            );
            return;
        }
        out.push_str(
            "What this machine does at best, per element, with nothing else in the way. The \
             engine tables divide their ns per op by the two floors named below.\n\n\
             | case | parameter | elements per iteration | ns per element | per second |\n\
             |---|---|--:|--:|--:|\n",
        );
        for result in &calibration {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&result.contender.to_string()),
                cell(&result.param.raw),
                result
                    .elements
                    .map_or_else(|| "—".to_owned(), format::count),
                format::amount(result.ns_per_element()),
                format::rate(1e9 / result.ns_per_element()),
            );
        }
        out.push('\n');
        for (what, mark, floor) in [
            (
                "uncontended lock",
                figures::LOCK_FLOOR_MARK,
                &self.floors.lock,
            ),
            (
                "two-thread handoff",
                figures::HANDOFF_FLOOR_MARK,
                &self.floors.handoff,
            ),
        ] {
            match floor {
                Some(floor) => {
                    let _ = writeln!(
                        out,
                        "- {what} floor: `{}` ({}), {} ns per element.",
                        cell(&floor.case),
                        cell(&floor.param),
                        format::amount(floor.ns)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "- {what} floor: no `{CALIBRATION_GROUP}` case named `*{mark}*`, so the \
                         × {what} column is empty."
                    );
                }
            }
        }
        out.push('\n');
    }

    fn fairness_section(&self, out: &mut String) {
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

    fn duel_section(&self, out: &mut String) {
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
             says each and {} shouts, seed {}. *× model* is throughput over the first row's.\n",
            self.inputs.duel.path.display(),
            format::count(config.clients as u64),
            config.room_size,
            config.threads,
            shards.join(", "),
            config.rounds,
            config.says,
            config.shouts,
            config.seed,
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
    }

    fn verification_section(&self, out: &mut String) {
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

    fn machine_section(&self, out: &mut String) {
        out.push_str("## The machine\n\n");
        let machines: BTreeSet<_> = self
            .inputs
            .extra_stats()
            .iter()
            .map(|stat| &stat.machine)
            .collect();
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
            for machine in &machines {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(&machine.cpu),
                    machine.cores,
                    cell(&machine.kernel),
                    cell(&machine.rustc),
                    cell(&machine.commit),
                    cell(&machine.date),
                );
            }
            out.push('\n');
            if machines.len() > 1 {
                let _ = writeln!(
                    out,
                    "The benches ran on {} different machines or builds: compare figures only \
                     within one.\n",
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

fn best_cells(best: Option<figures::Best>) -> (String, String) {
    match best {
        Some(best) => (best.spec.to_string(), format::rate(best.ops_per_sec)),
        None => ("—".to_owned(), "—".to_owned()),
    }
}

fn workload_cell(row: &HeadlineRow) -> String {
    if row.variant.is_empty() {
        cell(&row.group)
    } else {
        format!("{} ({})", cell(&row.group), cell(&row.variant))
    }
}

fn stat_engine(stat: &BenchRecord) -> String {
    cell(&stat.contender().to_string())
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
