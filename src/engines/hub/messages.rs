//! Every message the hub's actors exchange, whatever carries them.
//!
//! The topology is a tree, so no cycle of waiting sends can form:
//!
//! ```text
//! callers ──ToWorld (bounded, callers wait)──▶ world ──ToRoom (bounded, world waits)──▶ room i
//!                                                ▲                                       │
//!                                                └────── Notice (unbounded, never waits) ┘
//! ```
//!
//! Only callers and the world ever wait on a send (a thread blocks, a task awaits), and only
//! downward; rooms never wait on anything. The notice channel is unbounded but cannot grow without bound: a `Done` answers a
//! command the world sent into a room's bounded queue, and the world drains notices before it
//! sends anything, so `Done`s in flight stay within the rooms' queue capacities; a client is cut
//! at most once (one `Cut`); each dissolved room and each barrier round gives one notice.

use std::time::Duration;

use crate::domain::command::{Command, CommandKind};
use crate::domain::event::ErrorCode;
use crate::domain::ids::{ClientId, Player, RoomId};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::{Counters, RoomView};
use crate::engines::hub::Mail;

/// From the engine's callers to the world actor.
pub(crate) enum ToWorld<M: Mail> {
    Connect {
        client: ClientId,
        player: Player,
        outbox: OutboxSender,
    },
    Submit {
        client: ClientId,
        command: Command,
    },
    Disconnect {
        client: ClientId,
    },
    Tick {
        now: Duration,
    },
    /// Answer on `done` once everything sent before is finished everywhere.
    Quiesce {
        done: M::Done,
    },
    /// Send the world's part, and have every room send its part, to `reply`.
    Snapshot {
        reply: M::Parts,
    },
    Stop,
}

/// From the world to one room actor.
pub(crate) enum ToRoom<M: Mail> {
    /// A client's room command; the room answers with [`Notice::Done`]. The outbox rides
    /// along so the room can answer a client that is not (or no longer) its member.
    Command {
        client: ClientId,
        outbox: OutboxSender,
        command: Command,
    },
    /// Refuse a seated client's command that the world found invalid, in this room's order
    /// (see `World::run_command`); answered with [`Notice::Done`] like a command.
    Refuse {
        client: ClientId,
        outbox: OutboxSender,
        code: ErrorCode,
        kind: CommandKind,
    },
    /// Take the client out of its room here, if any, without a `Left`: it disconnected.
    Remove {
        client: ClientId,
    },
    /// The clock moved on: stamp new rooms with it and dissolve expired ones.
    Tick {
        clock: Duration,
    },
    /// Answer with [`Notice::BarrierAck`] once everything before is done.
    Barrier,
    Snapshot {
        reply: M::Parts,
    },
    Stop,
}

/// From a room actor back to the world; never waits.
pub(crate) enum Notice {
    /// The room finished `client`'s command and the client is (`seated`) or is not seated at
    /// `room`. `bounce` is a `Join` the room could not take because the client's seat had
    /// already dissolved: the world routes it again.
    Done {
        client: ClientId,
        room: usize,
        seated: bool,
        bounce: Option<Command>,
    },
    /// These clients lost their seat at `room` because their room timed out.
    Unseated {
        room: usize,
        clients: Vec<ClientId>,
    },
    /// The room found the client's outbox full and took it out of its room.
    Cut {
        room: usize,
        client: ClientId,
    },
    BarrierAck,
}

/// One actor's share of a snapshot.
pub(crate) enum Part {
    World {
        clock: Duration,
        clients: Vec<(ClientId, Player)>,
        counters: Counters,
    },
    Rooms {
        rooms: Vec<(RoomId, RoomView)>,
        counters: Counters,
    },
}
