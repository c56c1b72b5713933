//! The benches' extra record of one case: latency percentiles, fairness between caller threads,
//! CPU and context switches, memory and the machine, the figures criterion does not keep.
//!
//! The benches write one record per case as `{group}__{engine}__{param}.json` into
//! `target/lockchan-bench` (`benches/support`), and the report reads them back. The benches are
//! separate binaries, so the format is declared here, in the library both sides link, and
//! nowhere else: what the report reads is by construction what the benches wrote.

use serde::{Deserialize, Serialize};

/// One case's figures beside criterion's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchRecord {
    pub group: String,
    /// The contender as criterion names it: `model`, `lock-4`, or a micro or calibration case.
    pub engine: String,
    pub param: String,
    pub threads: usize,
    pub ops: u64,
    pub latency_us: Latency,
    pub fairness: Fairness,
    pub cpu_us_per_op: f64,
    pub ctx_switches_per_op: ContextSwitches,
    pub peak_rss_kb: u64,
    /// The deepest any engine queue got during the case (the actor engine's mailboxes);
    /// `None` for a contender without queues, and in records from before it was measured.
    #[serde(default)]
    pub peak_queue_depth: Option<usize>,
    pub machine: BenchMachine,
}

impl BenchRecord {
    /// The record's file name, `{group}__{engine}__{param}.json`: one file per case, so a
    /// case measured again replaces its own record and no other.
    pub fn file_name(&self) -> String {
        format!("{}__{}__{}.json", self.group, self.engine, self.param)
    }
}

/// Submission to delivery, in microseconds; all zero for a case that does not time deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// How evenly the caller threads got their work done (see the benches' `Window`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    pub min_ops: u64,
    pub max_ops: u64,
    /// Jain's index: 1 when every thread did the same work, 1/threads when one did it all.
    pub jain: f64,
}

/// Context switches of the whole process per operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContextSwitches {
    pub voluntary: f64,
    pub involuntary: f64,
}

/// The machine and build a figure came from, so that none is read without them. Ordered so
/// the report can list the distinct machines of a run.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BenchMachine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub rustc: String,
    pub commit: String,
    pub date: String,
}
