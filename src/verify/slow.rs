//! Slow readers in the race scenarios (issue 14, item 3): some of the setup's clients stop
//! reading once the race begins, with outboxes of one or two events, while the racing threads'
//! shouts, says to their room-mates and ticks keep reaching them, so every one of those paths
//! may meet a full outbox. shuttle and the race smoke test run them
//! ([`scenario::run_stopping`](super::scenario::run_stopping)); loom has its own runner
//! (`tests/loom/slow.rs`) and the same rule for the cut.
//!
//! Which event meets the full outbox depends on how many reached it first, and the
//! linearizability checker does not model outbox capacity, so these runs are held to rules
//! instead of an order of the calls ([`check_stopped`]):
//!
//! - every stopped reader ends cut off as a slow consumer ([`race::not_cut_off`], the rule
//!   `lockchan verify`'s race checks) and is gone once the race has settled;
//! - no reading client was cut (their outboxes hold 1,024 events);
//! - every client's whole stream keeps the stream rules (`StreamCheck`), the stopped readers'
//!   short ones too, and the settled state keeps the snapshot rules;
//! - after everyone disconnects nothing is left behind and every outbox has ended (the
//!   teardown of [`scenario::run`](super::scenario::run)).
//!
//! That no call waits for room in a full outbox is not a rule checked on a finished run: such
//! a run never finishes. Each layer reports it as a hang, naming this as a cause (shuttle: a
//! deadlock or its step bound; the race smoke test: its time limit).
//!
//! A scenario must send each stopped reader more events than its outbox holds once the race
//! begins, on every schedule; the generator (`tests/common/scenarios.rs`, `slow_scenario`)
//! makes sure of it.

use std::sync::Arc;

use crate::domain::config::EngineConfig;
use crate::domain::ids::ClientId;
use crate::domain::outbox::CloseReason;
use crate::engines::engine::Engine;
use crate::engines::registry::EngineSpec;
use crate::invariants::{StreamCheck, check_snapshot};
use crate::verify::race::not_cut_off;
use crate::verify::scenario::{Run, Scenario, ScenarioError, run_stopping};

/// The setup's clients that stop reading once the race begins, and their outboxes' size.
/// The default stops nobody: a plain scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stopped {
    /// Which of the setup's clients stop, by their `Who::Shared` index.
    pub readers: Vec<usize>,
    /// How many events each of their outboxes holds.
    pub capacity: usize,
}

impl Stopped {
    /// The outbox size of the setup's `shared`-th client.
    pub(crate) fn capacity_of(&self, shared: usize, otherwise: usize) -> usize {
        if self.readers.contains(&shared) {
            self.capacity
        } else {
            otherwise
        }
    }

    /// The stopped readers' ids, given the setup's clients in order (an index past them, as
    /// shrinking makes, names nobody).
    pub(crate) fn ids(&self, setup: &[ClientId]) -> Vec<ClientId> {
        let mut ids: Vec<ClientId> = self
            .readers
            .iter()
            .filter_map(|&n| setup.get(n).copied())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// As a Rust expression, for a failure's ready-to-paste regression test.
    pub fn to_rust(&self) -> String {
        format!(
            "Stopped {{ readers: vec!{:?}, capacity: {} }}",
            self.readers, self.capacity
        )
    }
}

/// Every rule a run with stopped readers broke (see the module doc).
pub fn check_stopped(run: &Run, stopped: &Stopped) -> Vec<String> {
    let mut broken = run.problems.clone();
    let settled = &run.observed.race_snapshot;
    broken.extend(
        check_snapshot(settled)
            .into_iter()
            .map(|b| format!("after the race: {b}")),
    );
    for (id, closed) in &run.closed_as {
        if run.stopped.contains(id) {
            let sent = "was sent more events than that in the race";
            broken.extend(not_cut_off(*id, *closed, stopped.capacity, sent));
            if *closed == Some(CloseReason::SlowConsumer) && settled.clients.contains_key(id) {
                broken.push(format!(
                    "{id} was cut off, yet still connected once the race settled"
                ));
            }
        } else if *closed == Some(CloseReason::SlowConsumer) {
            broken.push(format!(
                "{id} kept reading, yet was cut off as a slow consumer"
            ));
        }
    }
    for (id, events) in &run.observed.streams {
        let mut check = StreamCheck::new(*id);
        events.iter().for_each(|event| check.observe(event));
        broken.extend(check.broken);
    }
    broken
}

/// Plays `scenario` on a fresh engine of `spec` with `stopped`'s clients reading no more once
/// the race begins, and checks the run against [`check_stopped`]'s rules.
pub fn run_and_check_stopped(
    spec: EngineSpec,
    config: &EngineConfig,
    scenario: &Scenario,
    stopped: &Stopped,
) -> Result<(), ScenarioError> {
    let engine: Arc<dyn Engine> = Arc::from(spec.build(config.clone()));
    let run = run_stopping(engine, scenario, stopped);
    let broken = check_stopped(&run, stopped);
    if broken.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::Broken(broken))
    }
}
