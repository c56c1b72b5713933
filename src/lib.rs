//! lockchan: should a real-time game server guard shared state with locks, or give it to
//! actors that talk over channels? One matchmaking engine, built both ways behind one trait,
//! checked against a sequential model and measured side by side.
//!
//! Map of the crate:
//! - [`Engine`], [`EngineSpec`]: the contract and the one place engines are built.
//! - [`Model`]: the sequential specification both engines must match; [`Call`]: the one type
//!   every list of calls (scripts, race scenarios, the checker's histories) is made of.
//! - `lock`: the engine on shared state under parking_lot locks ([`LockEngine`]).
//! - `actor`: the engine of actor threads fed by crossbeam channels ([`ActorEngine`]).
//! - `task`: the same actors as tokio tasks fed by tokio mpsc (`TaskEngine`).
//! - `hub`, `rooms`, `courier`: the actors' state machines, room bookkeeping and outbox
//!   delivery that the engines share, so they differ only in how they synchronize.
//! - `sync`: every primitive the engines use; loom's under `--cfg lockchan_loom`.
//! - [`Command`], [`Event`], [`Snapshot`], [`outbox`]: the domain.
//! - [`invariants`]: checks on snapshots and event streams, for tests and the duel.
//! - [`script`]: one-call-at-a-time scripts run on the model or an engine, for differential
//!   tests.
//! - [`verify`]: the in-process checks an engine must pass before it is served.
//! - [`report`]: reads every result and writes `reports/REPORT.md` with SVG plots;
//!   [`bench_extras`]: the record each benchmark case writes beside criterion's results.
//! - [`verdict`]: the statistics every comparison is stated in (medians, a bootstrap interval,
//!   a rank test), saved result sets, and `lockchan compare`.
//! - [`trials`]: interleaved rounds of the engine benches, every trial's figures kept.
//! - [`gate`]: chooses the engine a server may run: the verified one that beats every other
//!   on `mixed` in interleaved rounds, or the tie rule's pick among those nobody beats.
//! - [`seeded`]: planted bugs (feature `seeded-bugs`) that prove the checks can fail.
//! - [`work`]: simulated game logic, for the critical-section dial of the benchmarks.
//! - [`duel`]: the seeded workload that runs both engines and the model side by side;
//!   [`e2e`]: the end-to-end duel's trials (`duel --e2e`), which the gate also judges on.
//! - [`server`]: `lockchan serve`, the WebSocket server on the gate's engine, with its admin
//!   page; [`load`]: `lockchan load`, the load generator that drives it end to end;
//!   [`floor`]: the same server with no engine, `serve --floor`, the e2e duel's floor.

mod domain;
mod engines;
mod measure;
mod net;
mod spec;
mod sync;
pub mod verify;

pub use crate::{
    engines::{ENGINE_SOURCE_HASH, seeded, work},
    measure::{bench_extras, duel, e2e, gate, report, trials, verdict},
    net::{floor, load, server},
    spec::{invariants, script},
};

pub use crate::{
    domain::command::{Command, CommandKind},
    domain::config::{DEFAULT_OUTBOX_CAPACITY, EngineConfig, MAX_ROOM_LIMIT, MIN_ROOM_LIMIT},
    domain::event::{ErrorCode, Event},
    domain::ids::{ClientId, Player, RoomId},
    domain::outbox::{
        CloseReason, Doorbell, OutboxReceiver, OutboxSender, PushError, RecvError, Stamped, outbox,
        outbox_with_doorbell,
    },
    domain::snapshot::{ClientView, Counters, RoomView, Snapshot},
    engines::actor::ActorEngine,
    engines::engine::{CallOrder, DisconnectOrder, Engine, Orderings, TickOrder},
    engines::lock::LockEngine,
    engines::registry::{ENGINES, EngineEntry, EngineKind, EngineSpec, UnknownEngine, all_specs},
    spec::call::{Call, ClientName, Connected},
    spec::model::Model,
};
