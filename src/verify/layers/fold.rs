//! Summing the log per engine and layer, and judging the sums into the summary.

use std::collections::BTreeMap;

use super::{Entry, Layer, LayerError, LayerLine};
use crate::engines::registry::EngineSpec;
use crate::verify::{LayerResult, Tally, VerificationReport};

/// The inconclusive ceiling `verify --merge-layers` uses unless told otherwise: a layer whose
/// checker gave up on more than 5% of its runs fails.
pub const DEFAULT_INCONCLUSIVE_CEILING: f64 = 0.05;

/// What the log holds for one engine and layer: the summed counts, and the reason its
/// harness gave for not running it, if it gave one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summed {
    pub tally: Tally,
    pub cannot_run: Option<String>,
}

/// The log's lines summed per (engine, layer).
pub fn sum(lines: &[LayerLine]) -> BTreeMap<(String, Layer), Summed> {
    let mut sums: BTreeMap<(String, Layer), Summed> = BTreeMap::new();
    for line in lines {
        let summed = sums.entry((line.engine.clone(), line.layer)).or_default();
        match &line.entry {
            Entry::Ran(tally) => summed.tally += *tally,
            Entry::CannotRun(why) => summed.cannot_run = Some(why.clone()),
        }
    }
    sums
}

/// Gives every engine of `report` a result from every layer, judged under `ceiling`: its
/// summed runs, the reason it cannot run there, or nothing (not run, which fails). Replaces
/// any layers the report had. Returns the engines the log has lines for that the report does
/// not check, which are left out.
pub fn fold(
    report: &mut VerificationReport,
    lines: &[LayerLine],
    ceiling: f64,
) -> Result<Vec<String>, LayerError> {
    if !(0.0..=1.0).contains(&ceiling) {
        return Err(LayerError::Ceiling(ceiling));
    }
    let mut sums = sum(lines);
    for (engine, verification) in &mut report.engines {
        verification.layers = Layer::ALL
            .into_iter()
            .map(|layer| {
                let mut summed = sums.remove(&(engine.clone(), layer)).unwrap_or_default();
                if layer == Layer::Loom && summed == Summed::default() {
                    summed.cannot_run = beyond_loom(engine);
                }
                let result = LayerResult::new(summed.tally, ceiling, summed.cannot_run);
                (layer.name().to_owned(), result)
            })
            .collect();
    }
    let mut unchecked: Vec<String> = sums.into_keys().map(|(engine, _)| engine).collect();
    unchecked.dedup();
    Ok(unchecked)
}

/// What the registry says loom cannot run `engine` for, if anything: such an engine is not
/// compiled in a loom build, so the loom log cannot mention it.
fn beyond_loom(engine: &str) -> Option<String> {
    let spec: EngineSpec = engine.parse().ok()?;
    spec.kind.entry().beyond_loom.map(str::to_owned)
}
