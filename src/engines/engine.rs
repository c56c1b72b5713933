//! The contract every engine keeps: the `Engine` trait and the ordering promises an engine
//! declares. Which engines exist, and how each is built, is the registry's business.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::Snapshot;

/// A matchmaking engine: commands in, events out through each client's outbox.
///
/// This is the shape of the original server's hub. Every method may be called from any number
/// of threads at once. Results and errors of `submit` arrive only as events; a call naming an
/// unknown client has no outbox to answer to and is only counted
/// ([`Counters::unknown_client`](crate::Counters)). Time is whatever `tick` was last told;
/// an engine never reads a clock.
///
/// **Order.** When calls are made one at a time, each after the previous one's effects are
/// done (`quiesce()` between them, a no-op for a synchronous engine), every client's events
/// equal the sequential [`Model`](crate::Model)'s, in the same order, and so do the
/// snapshots. When calls race, the result must be explainable by some order of the calls
/// that respects each caller's own order — what the verification suite checks.
///
/// To try an engine of your own, implement this trait; the differential, concurrency and
/// duel harnesses take any `Engine`.
pub trait Engine: Send + Sync {
    /// A short name for tables and logs, such as `lock/4`.
    fn name(&self) -> String;

    /// Registers a client whose events go to `outbox`, and returns its id.
    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId;

    /// Runs `command` for `client`; its results arrive as events. May wait while the engine is
    /// behind: on a lock (lock), for room in a full queue (actor: the thread blocks; task: see
    /// its docs). A caller on an async runtime uses [`submit_async`](Self::submit_async).
    fn submit(&self, client: ClientId, command: Command);

    /// `submit` for a caller on an async runtime: where the engine would wait for room in a
    /// queue, the future waits instead, and the runtime's thread runs other tasks meanwhile.
    /// The default runs `submit` at once, for an engine whose `submit` waits only for short
    /// critical sections (lock) or that has no async path (actor, which then blocks the
    /// thread while its world's queue is full).
    fn submit_async<'a>(
        &'a self,
        client: ClientId,
        command: Command,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        self.submit(client, command);
        Box::pin(std::future::ready(()))
    }

    /// Removes `client` from its room and from the world and closes its outbox. Nothing is
    /// delivered to it once this has taken effect.
    fn disconnect(&self, client: ClientId);

    /// Tells the engine the time: sends `Tick` to the clients of each tick phase group whose
    /// next slot has come (`EngineConfig::tick_phases`; one `Tick` a period per client, at its
    /// group's phase), then dissolves the open rooms whose match timeout has run out.
    fn tick(&self, now: Duration);

    /// The whole state. Consistent when no call is in progress.
    fn snapshot(&self) -> Snapshot;

    /// Returns once all work submitted before the call is done and its events delivered.
    fn quiesce(&self);

    /// What the engine can say about itself without waiting on anything, for a watchdog that
    /// found it stuck: queue depths and the like. `None` when there is nothing to add.
    fn diagnose(&self) -> Option<String> {
        None
    }

    /// How many tasks are alive on the engine's async runtime, for an engine that runs on
    /// one: the leak check holds it to its count just after the engine started.
    fn runtime_tasks(&self) -> Option<usize> {
        None
    }

    /// The deepest any of the engine's queues has been, for an engine that has queues.
    fn peak_queue_depth(&self) -> Option<usize> {
        None
    }
}

/// The ordering promises an engine makes when calls race, beyond the stream rules every engine
/// keeps. They are part of the contract: the linearizability checker allows exactly the orders
/// an engine declares here and no others, so an engine that promises more is held to more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Orderings {
    /// Whose order a call's effects keep.
    pub calls: CallOrder,
    /// How a `tick` reaches the state.
    pub tick: TickOrder,
    /// What `disconnect` does to the client's commands still in flight.
    pub disconnect: DisconnectOrder,
}

/// Whose order a call's effects keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallOrder {
    /// A call takes effect before it returns: each calling thread's calls take effect in that
    /// thread's order, and a broadcast has reached every recipient before the caller's next
    /// call begins (the lock engine).
    Thread,
    /// A call is a message: each client's calls take effect in that client's order, ticks in
    /// the ticker's order, and a broadcast may still be reaching its recipients while later
    /// calls take effect, until the race is over (the actor engine).
    Client,
}

/// How a `tick` reaches the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TickOrder {
    /// Shard by shard in index order (the `Tick`s to the phase groups due), then one expiry
    /// pass over every shard (the lock engine).
    ShardsThenExpiry,
    /// The world first (the `Tick`s to the phase groups due), then each room shard on its
    /// own, in the order each received the tick (the actor engine).
    WorldThenRooms,
}

/// What `disconnect` does to the client's commands still in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisconnectOrder {
    /// The client's earlier calls have all taken effect; the disconnect is one step.
    AfterEarlierCalls,
    /// The outbox closes first, and commands of the client still queued may then be dropped
    /// (counted as an unknown client's, or not counted) before its seat is given up.
    ClosesFirst,
}
