//! The layers' section of `VERIFICATION.md`: a table per engine.

use std::fmt::Write as _;

use super::Layer;
use crate::verify::{LayerResult, LayerVerdict, VerificationReport};

/// Appends the layers' tables to `out`, or says that none were folded in.
pub(crate) fn render_layers(report: &VerificationReport, out: &mut String) {
    out.push_str("\n## Layers: loom, shuttle, race smoke\n\n");
    let recorded = report.engines.values().any(|v| !v.layers.is_empty());
    if !recorded {
        out.push_str(
            "No layer results were folded in: the engines above are verified by the checks \
             alone. `scripts/verify-all` runs loom, shuttle and the race smoke test too and \
             folds their results in (`verify --merge-layers`).\n",
        );
        return;
    }
    out.push_str(
        "Folded in by `verify --merge-layers` from the tests' layer log. A layer passes an \
         engine when it ran it at least once, nothing failed, and the linearizability checker \
         gave up (inconclusive) on at most the ceiling's share of runs; a layer that could run \
         an engine but recorded nothing fails it (not run). A run is ",
    );
    let runs: Vec<String> = Layer::ALL
        .iter()
        .map(|layer| format!("a {} for {layer}", layer.run()))
        .collect();
    let _ = writeln!(out, "{}.", runs.join(", "));
    for (engine, verification) in &report.engines {
        if verification.layers.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {engine}\n");
        out.push_str("| layer | passed | failed | inconclusive | rate (ceiling) | verdict |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for (name, layer) in &verification.layers {
            let _ = writeln!(out, "| {name} | {} |", row(layer));
        }
    }
}

/// A layer's cells after its name.
fn row(layer: &LayerResult) -> String {
    let tally = &layer.tally;
    let rate = format!(
        "{:.1}% (≤ {:.1}%)",
        100.0 * tally.inconclusive_rate(),
        100.0 * layer.inconclusive_ceiling
    );
    let verdict = match layer.verdict() {
        LayerVerdict::Passed => "passed".to_owned(),
        LayerVerdict::Failed => "**FAILED**".to_owned(),
        LayerVerdict::TooInconclusive => "**FAILED**: too inconclusive".to_owned(),
        LayerVerdict::NotRun => "**FAILED**: not run".to_owned(),
        LayerVerdict::CannotRun => format!(
            "cannot run: {}",
            layer.cannot_run.as_deref().unwrap_or("no reason given")
        ),
    };
    format!(
        "{} | {} | {} | {rate} | {verdict}",
        tally.passed, tally.failed, tally.inconclusive
    )
}
