//! Measurement and its decisions: the duel, the gate that picks the served engine, the
//! report, the verdicts every comparison is stated in, and what this process costs.

pub mod duel;
pub mod gate;
pub(crate) mod process;
pub mod report;
pub mod verdict;
