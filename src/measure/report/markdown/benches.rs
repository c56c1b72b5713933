//! The sections on criterion's results: throughput per workload, with each operation's cost
//! in the machine's floors, the micro-experiment beside the talk's, and the floors themselves.

use std::fmt::Write;

use super::{Doc, cell};
use crate::measure::criterion::{BenchResult, Contender};
use crate::measure::format;
use crate::measure::report::figures::{self, CALIBRATION_GROUP, MICRO_GROUP, TALK};

impl Doc<'_> {
    pub(super) fn workloads_section(&self, out: &mut String) {
        out.push_str("## Throughput per workload\n\n");
        let results = self.inputs.results();
        let groups = figures::workload_groups(results);
        if groups.is_empty() {
            self.no_workload_results(out);
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

    pub(super) fn micro_section(&self, out: &mut String) {
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

    pub(super) fn calibration_section(&self, out: &mut String) {
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
}
