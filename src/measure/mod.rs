//! Measurement and its decisions: the duel, the end-to-end duel's trials, the gate that picks
//! the served engine, the report, the verdicts every comparison is stated in, and what this
//! process costs.
//!
//! What the gate and the report both read sits here, beside them, so that neither reaches
//! into the other: `criterion` (criterion's result files), `bench_extras` (the benches'
//! records), `files` (reading JSON inputs, typed errors), `format` (how numbers are written)
//! and, for tests, `testkit` (fixture trees of every input).

pub mod bench_extras;
pub(crate) mod criterion;
pub mod duel;
pub mod e2e;
pub(crate) mod files;
pub(crate) mod format;
pub mod gate;
pub(crate) mod process;
pub mod report;
pub mod trials;
pub mod verdict;

#[cfg(test)]
mod committed;
#[cfg(test)]
pub(crate) mod testkit;
