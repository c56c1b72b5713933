//! The linearizability checker: does some order of a race's calls, run through the sequential
//! rules of the [`Model`](crate::Model) (its state, `spec/state.rs`, stepped directly), explain
//! every event each client heard and the state the engine ended in?
//!
//! The input is a [`History`] — a sequential setup, each racing thread's calls in its own order,
//! a sequential teardown — and what was [`Observed`]: every client's whole event stream, the
//! snapshot once the race settled, and which outboxes were closed then. The search is Wing and
//! Gong's, with memoization as in porcupine and lincheck: depth first over the calls that may go
//! next, applying each to a copy of the model state and matching the events it produces
//! against the streams, and never visiting the same (calls done, model state, stream positions)
//! twice.
//!
//! # What "explains" means for these engines
//!
//! A race is not atomic calls in some order, and a checker that pretends so flags both correct
//! engines. The engines' documented weakenings (ARCHITECTURE.md, "Ordering guarantee") are
//! modelled here, and nothing more:
//!
//! - **Broadcasts reach each recipient on their own.** `Shout` and `Tick` visit one shard at a
//!   time (lock) or are delivered by the world while rooms deliver independently (actor), so a
//!   broadcast is a *core* step (the shouter is checked, the tick decided) plus one delivery per
//!   recipient, each anywhere after the core and (lock engine) before the caller's next call;
//!   on the actor engine a room actor's step may straddle several world broadcasts, so there
//!   the window lasts to the end of the race (bounded by the hub's orders below). A recipient
//!   connected for the whole window must hear it; one that connected or left during it may or
//!   may not. A delivery may land between two events of another step (another lock, another
//!   actor). Deliveries are matched lazily: a recipient whose next recorded event is an open
//!   broadcast takes it at once, which loses no explanation because every broadcast event is
//!   unique (numbered shouts, rising ticks; checked up front). A `Tick` is for its tick phase
//!   group only (`Effect::Phase`): one tick opens a broadcast per group due, all with the same
//!   event but for disjoint recipients, and a client outside a group never takes its `Tick`.
//! - **A tick reaches each shard on its own.** Rooms of a shard are stamped with, and expire
//!   by, the time that shard was last told, so a tick is one step per shard (lock: each shard
//!   in turn, then the expiry under every lock; actor: the world's step, then each room actor's
//!   clock-and-expiry step, in its own queue order).
//! - **Whose order is kept.** The lock engine's calls are synchronous: each thread's calls take
//!   effect in its order. The actor engine only keeps each client's own order (a command may
//!   wait in the world's stash while another client's later command runs), so its chains are
//!   per thread *and client*, plus each thread's ticks.
//! - **Actor engine: an outbox may close early.** A disconnect closes the outbox at the world
//!   while the client's room may still be answering its last command, so a client that a race
//!   disconnects may hear only a prefix of its events (as `tests/loom.rs` accepts).
//! - **Actor engine: a disconnect drops what waits in the stash.** Commands of a client still
//!   waiting behind its unanswered ones are forgotten with it: they take no effect and are not
//!   counted. Once one is dropped, every later one of that client is, until its disconnect.
//!
//! # What the hub promises on top: orders the checker holds it to
//!
//! On the world-broadcast engines (`TickOrder::WorldThenRooms`: actor and task, whose hub's
//! world actor sends every broadcast itself while it handles the call) a broadcast's window
//! lasting to the end of the race would let a copy float anywhere later in a stream. The
//! world promises more, and the checker enforces it (`order.rs`), for every client that was
//! connected with its outbox open when the broadcast was sent and is still reachable:
//!
//! - **A broadcast comes before what the world's later messages make.** A step that must come
//!   after the broadcasting step (its `after` links, followed back: a later command of the
//!   same client, a later tick, a room actor's part of this tick or a later one) had its
//!   message reach the world, or a room actor, after the broadcast was in every outbox. So a
//!   member hears a tick's `Tick` before its room's `MatchTimeout` from that tick, as
//!   `World::tick` says, and a room-mate hears a client's shout before the `Said` of the
//!   client's next `Say`.
//! - **Broadcasts arrive in the world's order.** The steps that broadcast are the world's
//!   own, taken in the order the world handled them, so a client never hears one before an
//!   earlier one it was owed.
//!
//! # Cutting dead branches
//!
//! After each step the search asks whether the state can still finish (`viable.rs`), and drops
//! it if not: a stream holds an event that no step left (nor the teardown) can send; a client
//! owed an open broadcast whose stream no longer holds it cannot leave any more; a client
//! waits for an event that only comes after one of its own `Join`s or `Leave`s, which would
//! answer it first; a model counter, the clock, a room's stamp or a dissolved room's id
//! already differs for good from the engine's final state. Each is true of every
//! continuation, so no explanation is lost; they only stop the search from trying every order
//! of the steps in between before it finds out. The search also tries two orders of the
//! candidates, each with half the budget (`search.rs`, `Order`), which changes only how soon
//! an explanation is found.
//!
//! # Shortcuts
//!
//! The hub engines' runs are long (up to four threads of a dozen calls, each thread calling
//! for any client, so a client's calls from four threads interleave in any order) and full of
//! refusals that look alike, so the steps above still left most of their searches to give
//! up: a wrong early choice (which thread's `join` a client's third `AlreadyInRoom` answers, a
//! command counted that the engine dropped after its client's disconnect) was found out only
//! at the end, after every order of the steps in between. The shortcuts find it out at once,
//! or avoid the choice, and each keeps every explanation there is (the argument is on each):
//!
//! - **More cuts** (`viable.rs`): the counters the steps left can still reach, bounded by who
//!   stays connected, who is gone for good, and what the streams ahead still show (every
//!   `Error`, `Joined` or `Left` answers a command still to come; `counters_reachable`); the
//!   rooms the streams ahead speak of (none dissolved or opened already, and as many still to
//!   open, match and time out as they name; `rooms_reachable`); and on world-broadcast
//!   engines a client owed a broadcast that must first hear what the hub sends after it
//!   (`owed_first`).
//! - **Fewer nodes** (`replay.rs`, `search.rs`): the `owed` bits that can no longer refuse
//!   anything are cleared, and a node owing at least what a searched node owed, and otherwise
//!   equal to it, is not searched again (owing only ever refuses).
//! - **Fewer branches** (`search.rs`): when a client's next event is a refusal of its `Join`
//!   or `Leave` (or of a `Say` while it holds no seat), the search branches only on the ready
//!   steps that could send it, when those are sure to include the first that does
//!   (`refusers`): the client hears nothing else until then, so its seat and outbox cannot
//!   change, and that refusal reads nothing else.
//!
//! The test `the_shortcuts_change_no_verdict` (and `…_on_interleaved_runs`) checks them
//! against the search without them, on real runs and on runs replayed on the model in random
//! orders, each as recorded and with one change.
//!
//! `LOCKCHAN_DUMP_RUNS=<dir>` writes every run the search gives up on to `<dir>` as a Rust
//! expression (`dump.rs`), to replay and study offline (see the tests
//! `a_dumped_actor_2_run_is_decided` and `dumped_hub_runs_the_search_gave_up_on_are_explained`).
//!
//! The final snapshot must equal the model's exactly (clients, seats, rooms with their members
//! and stamps, every counter), the outboxes closed must be exactly the disconnected clients',
//! and after the sequential teardown every recorded event must have been explained.
//!
//! Ticks must come from a single thread: whether a tick is due depends on the ticks before it,
//! and with one ticker every shard agrees. The checker refuses other histories.
//!
//! # Where each part lives
//!
//! This file holds the API: [`History`], [`Observed`], [`Semantics`], [`Budget`], [`check`] and
//! its errors. `steps.rs` cuts the racing calls into steps and links each to what must precede
//! it; `replay.rs` takes one step of a search state, matching the model's effects against the
//! streams; `order.rs` holds the hub's per-client orders; `viable.rs` cuts states that cannot
//! finish; `search.rs` is the Wing–Gong search with memoization and its reductions;
//! `explain.rs` words a failure;
//! `dump.rs` writes the runs the search gave up on.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::domain::config::EngineConfig;
use crate::domain::event::Event;
use crate::domain::ids::ClientId;
use crate::domain::snapshot::Snapshot;
use crate::engines::engine::Orderings;
use crate::engines::registry::EngineSpec;
pub use crate::spec::call::Call;

mod dump;
mod explain;
mod order;
mod replay;
mod search;
mod steps;
mod viable;

pub use dump::DUMP_RUNS;
pub use explain::snapshot_diff;

/// The calls of one run: a setup made one call at a time, threads racing, a teardown made one
/// call at a time.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub setup: Vec<Call>,
    pub threads: Vec<Vec<Call>>,
    pub teardown: Vec<Call>,
}

/// What the run produced.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Every event each client heard, from its connect to the end of the teardown.
    pub streams: BTreeMap<ClientId, Vec<Event>>,
    /// The engine's snapshot once every racing call was done (after `quiesce`).
    pub race_snapshot: Snapshot,
    /// The clients whose outbox was closed at that moment.
    pub closed_after_race: BTreeSet<ClientId>,
}

/// Which engine ran the history: the weakenings above are the orders its registry entry
/// declares, the ticks' steps depend on its shard count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Semantics {
    pub orderings: Orderings,
    pub shards: usize,
}

impl Semantics {
    /// The semantics of the engine `spec` names.
    pub fn of(spec: EngineSpec) -> Semantics {
        Semantics {
            orderings: spec.kind.orderings(),
            shards: spec.shards,
        }
    }
}

/// How much searching a history may cost before the checker gives up.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Distinct search states to visit at most.
    pub states: usize,
    /// When to stop searching, whatever is left.
    pub deadline: Option<Instant>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            states: 2_000_000,
            deadline: None,
        }
    }
}

/// An order that explains a run.
#[derive(Clone, Debug)]
pub struct Explanation {
    /// The racing steps in the order found, described for people.
    pub order: Vec<String>,
    /// Distinct search states visited.
    pub explored: usize,
}

/// Why a run was not explained.
#[derive(Debug, thiserror::Error)]
pub enum LinearizeError {
    #[error("no order of the calls explains the run ({explored} states searched)\n{why}")]
    Unexplained { explored: usize, why: String },
    #[error(
        "the search gave up after {explored} states ({reason}): the run is neither explained \
         nor refuted\n{furthest}"
    )]
    Inconclusive {
        explored: usize,
        reason: &'static str,
        furthest: String,
    },
    #[error("the history cannot be checked: {0}")]
    Malformed(String),
}

/// Searches for an order of `history`'s calls that explains `observed` on an engine of
/// `semantics` built with `config`.
pub fn check(
    history: &History,
    observed: &Observed,
    semantics: Semantics,
    config: &EngineConfig,
    budget: Budget,
) -> Result<Explanation, LinearizeError> {
    let checker = replay::Checker::new(history, observed, semantics, config)?;
    let checked = checker.search(budget);
    if let Err(error @ LinearizeError::Inconclusive { .. }) = &checked {
        dump::maybe_write(history, observed, semantics, config, error);
    }
    checked
}

#[cfg(test)]
mod tests;
