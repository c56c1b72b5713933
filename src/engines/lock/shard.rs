//! One stripe of the lock engine's state, and the global order in which stripes are locked.

use std::time::Duration;

use crate::domain::ids::{ClientId, Player, RoomId};
use crate::domain::outbox::OutboxSender;
use crate::domain::phase::TickSchedule;
use crate::domain::snapshot::Counters;
use crate::engines::rooms::RoomBook;
use crate::sync::{HashMap, Mutex, MutexGuard};

/// The state behind one lock.
///
/// Shard `i` holds the clients whose id is `i` modulo the shard count and the rooms whose user
/// limit is `i` modulo the shard count. Everything in it is guarded by its one mutex, rather
/// than a lock per client or per room, so that the common operations take one or two locks
/// and a join's "check the client, then seat it" is one critical section.
///
/// While a shard is locked the engine may push into outboxes (a push never waits) and may lock
/// shards with a *higher* index; it never locks a lower one, never sends on a channel that can
/// block, and never calls out of the engine.
pub(super) struct Shard {
    pub(super) clients: HashMap<ClientId, ClientEntry>,
    pub(super) rooms: RoomBook,
    /// The latest time `tick` brought; rooms opened here are stamped with it.
    pub(super) clock: Duration,
    /// Each tick phase group's next due slot. Every shard keeps its own and all agree: each
    /// sees every tick, in the ticker's order, under its own lock.
    pub(super) ticks: TickSchedule,
    /// Totals of the work done while this shard was the client's side of a call.
    pub(super) counters: Counters,
}

pub(super) struct ClientEntry {
    pub(super) player: Player,
    pub(super) outbox: OutboxSender,
    /// The client's room. Changed only while both the client's shard and the room's shard
    /// are locked, so holding either one makes it exact.
    pub(super) seat: Option<RoomId>,
}

/// The two sides of a call that spans a client and a room, borrowed from one or two locked
/// shards.
pub(super) struct Sides<'a> {
    pub(super) clients: &'a mut HashMap<ClientId, ClientEntry>,
    pub(super) counters: &'a mut Counters,
    pub(super) rooms: &'a mut RoomBook,
    pub(super) room_clock: Duration,
}

/// The locks one call holds: a client's shard and a room's shard, which may be the same.
pub(super) enum Locked<'a> {
    One(MutexGuard<'a, Shard>),
    Two {
        client: MutexGuard<'a, Shard>,
        room: MutexGuard<'a, Shard>,
    },
}

impl Locked<'_> {
    /// Locks the client's shard and the room's shard in the global order: lower index first.
    /// `client_first` is the seeded `lock_order_inversion`: the client's shard first whatever
    /// its index.
    pub(super) fn pair(
        shards: &[Mutex<Shard>],
        client: usize,
        room: usize,
        client_first: bool,
    ) -> Locked<'_> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let order = if client_first && client != room {
            Less
        } else {
            client.cmp(&room)
        };
        match order {
            Equal => Locked::One(shards[client].lock()),
            Less => {
                let client = shards[client].lock();
                let room = shards[room].lock();
                Locked::Two { client, room }
            }
            Greater => {
                let room = shards[room].lock();
                let client = shards[client].lock();
                Locked::Two { client, room }
            }
        }
    }

    pub(super) fn client_shard(&mut self) -> &mut Shard {
        match self {
            Locked::One(shard) => shard,
            Locked::Two { client, .. } => client,
        }
    }

    pub(super) fn sides(&mut self) -> Sides<'_> {
        match self {
            Locked::One(shard) => {
                let Shard {
                    clients,
                    rooms,
                    clock,
                    counters,
                    ..
                } = &mut **shard;
                Sides {
                    clients,
                    counters,
                    rooms,
                    room_clock: *clock,
                }
            }
            Locked::Two { client, room } => {
                let client = &mut **client;
                let room = &mut **room;
                Sides {
                    clients: &mut client.clients,
                    counters: &mut client.counters,
                    rooms: &mut room.rooms,
                    room_clock: room.clock,
                }
            }
        }
    }
}

/// Locks every shard, in the global order.
pub(super) fn lock_all(shards: &[Mutex<Shard>]) -> Vec<MutexGuard<'_, Shard>> {
    shards.iter().map(|shard| shard.lock()).collect()
}
