//! The hub design both channel engines share: a *world* actor (the original server's hub
//! goroutine) owns every client and relays broadcasts; `shards` *room* actors behind it own the
//! rooms, the rooms of a user limit always at the same actor, and relay inside them.
//!
//! This module holds the actors' state machines and their messages, and nothing that moves a
//! message: a handler takes one message and leaves what it has to send in a buffer, which the
//! engine's own loop then sends. So the `actor` engine (OS threads, crossbeam channels, a
//! blocking send) and the `task` engine (tokio tasks, tokio mpsc, an awaited send) run the same
//! protocol and differ only in how they carry it: which is the question they answer.
//!
//! A transport names its two reply channels through [`Mail`]; see [`messages`] for the
//! topology and why it cannot deadlock.

pub(crate) mod messages;
pub(crate) mod room;
pub(crate) mod world;

use messages::Part;

use crate::domain::snapshot::{ClientView, Snapshot};
use crate::sync::atomic::{AtomicUsize, Ordering};

/// The reply channels of one transport.
pub(crate) trait Mail: Sized + Send + 'static {
    /// Where a quiesce round reports its end: one reply.
    type Done: Reply<()>;
    /// Where each actor sends its share of a snapshot: one reply per actor.
    type Parts: Reply<Part> + Clone;
}

/// The sending half of a reply channel. Replying never waits: the channel has room for the
/// reply, or the asker has gone and the reply is dropped.
pub(crate) trait Reply<T>: Send + 'static {
    fn reply(self, value: T);
}

/// What a handler tells its loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Flow {
    Continue,
    /// The actor is done: send what is buffered, then return.
    Stop,
}

/// The deepest any actor's queue has been: a statistic for benchmarks, written by the actors
/// and read by no decision, so it does not break the rule that actors share no state.
#[derive(Default)]
pub(crate) struct QueuePeak {
    deepest: AtomicUsize,
}

impl QueuePeak {
    /// Records `depth` if it is a new high; each actor passes its own high-water mark in
    /// `seen` so the shared atomic is touched only when that mark rises. `Relaxed`: nothing
    /// is published through it.
    pub(crate) fn record(&self, depth: usize, seen: &mut usize) {
        if depth > *seen {
            *seen = depth;
            self.deepest.fetch_max(depth, Ordering::Relaxed);
        }
    }

    pub(crate) fn deepest(&self) -> usize {
        self.deepest.load(Ordering::Relaxed)
    }
}

/// Puts the world's part and every room actor's part of a snapshot together.
pub(crate) fn assemble(parts: impl IntoIterator<Item = Part>) -> Snapshot {
    let mut snapshot = Snapshot::default();
    let mut seats = Vec::new();
    for part in parts {
        match part {
            Part::World {
                clock,
                clients,
                counters,
            } => {
                snapshot.clock = clock;
                snapshot.counters += counters;
                for (id, player) in clients {
                    let view = ClientView { player, room: None };
                    snapshot.clients.insert(id, view);
                }
            }
            Part::Rooms { rooms, counters } => {
                snapshot.counters += counters;
                for (id, view) in rooms {
                    seats.extend(view.members.iter().map(|member| (*member, id)));
                    snapshot.rooms.insert(id, view);
                }
            }
        }
    }
    // Rooms know who sits where; a member the world no longer knows shows up as a leak.
    for (member, room) in seats {
        if let Some(client) = snapshot.clients.get_mut(&member) {
            client.room = Some(room);
        }
    }
    snapshot
}
