//! `REPORT.md`: every section, its tables and the links to its plots, written from the inputs
//! and the figures derived from them. A section whose input is absent says which command
//! produces it instead of showing anything.
//!
//! This file holds the document's order, what the sections share, and the inputs table; the
//! sections sit beside it by what they read: `verdict.rs` (the verdicts from interleaved
//! trials, first), `headline.rs` (every engine at its best in one run), then
//! `benches.rs` (criterion's results), `records.rs` (the benches' own records and the
//! machines) and `runs.rs` (the duel, end to end, verification).

mod benches;
mod headline;
mod records;
mod runs;
mod verdict;

use std::collections::BTreeSet;
use std::fmt::Write;

use super::figures::Floors;
use super::inputs::{Inputs, VERIFY_COMMAND, stale_because};

/// What produces each input, for the sections that find it missing.
const BENCH_COMMAND: &str = "`cargo bench`";
const DUEL_COMMAND: &str = "`cargo run --release -- duel`";

/// Renders the whole report. `plots_dir` is the plots' directory relative to the report;
/// `plots` holds the file names drawn, and only those are linked.
pub(crate) fn render(inputs: &Inputs, plots_dir: &str, plots: &BTreeSet<String>) -> String {
    let mut out = String::new();
    let doc = Doc::new(inputs, plots_dir, plots);
    out.push_str("# lockchan report\n\n");
    out.push_str(
        "Locks or actors for a real-time game server: the same matchmaking engine built both \
         ways, measured side by side. The verdict comes first, stated from interleaved trials \
         with its confidence; the sections after it show single runs (criterion's, the \
         benches' records, the duel), whose figures describe and do not compare. Every figure \
         is read from the inputs listed below or computed from them; a section whose input is \
         missing says which command produces it. The per-case fairness, CPU and \
         context-switch tables are in [the appendix](APPENDIX.md).\n\n",
    );
    doc.verdict_section(&mut out);
    doc.inputs_section(&mut out);
    doc.headline_section(&mut out);
    doc.workloads_section(&mut out);
    doc.latency_section(&mut out);
    doc.micro_section(&mut out);
    doc.calibration_section(&mut out);
    doc.duel_section(&mut out);
    runs::e2e_section(&mut out, &inputs.e2e);
    doc.verification_section(&mut out);
    doc.machine_section(&mut out);
    out
}

/// Renders the appendix: the benches' per-case fairness, CPU and context-switch tables.
pub(crate) fn render_appendix(
    inputs: &Inputs,
    plots_dir: &str,
    plots: &BTreeSet<String>,
) -> String {
    let doc = Doc::new(inputs, plots_dir, plots);
    let mut out = String::from(
        "# lockchan report: appendix\n\nThe long per-case tables behind [the report](REPORT.md), \
         from the benches' records of one run each.\n\n",
    );
    doc.fairness_section(&mut out);
    out
}

struct Doc<'a> {
    inputs: &'a Inputs,
    plots_dir: &'a str,
    plots: &'a BTreeSet<String>,
    floors: Floors,
}

impl<'a> Doc<'a> {
    fn new(inputs: &'a Inputs, plots_dir: &'a str, plots: &'a BTreeSet<String>) -> Doc<'a> {
        Doc {
            inputs,
            plots_dir,
            plots,
            floors: Floors::find(inputs.results()),
        }
    }
}

impl Doc<'_> {
    fn criterion_dir(&self) -> String {
        self.inputs.criterion.path.display().to_string()
    }

    /// The sentence a section prints instead of its table when criterion left no workload
    /// results.
    fn no_workload_results(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "No engine workload results in `{}`: run {BENCH_COMMAND} to produce them.\n",
            self.criterion_dir()
        );
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
        let duel = if inputs.duel.data.is_some() {
            "found".to_owned()
        } else {
            format!("not found: run {DUEL_COMMAND}")
        };
        let mut rows = vec![
            ("criterion results", self.criterion_dir(), criterion_status),
            ("extra bench stats", self.extra_dir(), extra_status),
            ("duel", inputs.duel.path.display().to_string(), duel),
        ];
        rows.extend(inputs.fingerprinted().map(|input| {
            let status = match input.recorded {
                Some(recorded) => found_on(recorded),
                None => format!("not found: run {}", input.command),
            };
            (input.name, input.path.display().to_string(), status)
        }));
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
}

/// Writes "*{what} are stale: …; run {command} again.*" under a section whose input measured
/// other engine sources than this build's; nothing when it measured these.
fn stale_line(out: &mut String, what: &str, recorded: Option<&str>, command: &str) {
    if let Some(why) = stale_because(recorded) {
        let _ = writeln!(out, "*{what} are stale: {why}; run {command} again.*\n");
    }
}

/// A found input's status in the inputs table, with whether it measured this build's engines.
fn found_on(recorded: Option<&str>) -> String {
    match stale_because(recorded) {
        None => "found, on this build's engine sources".to_owned(),
        Some(why) => format!("found, **stale**: {why}"),
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
