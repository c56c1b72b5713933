//! A picture of an engine's whole state, for tests, the duel and the admin page.

use std::collections::BTreeMap;
use std::ops::AddAssign;
use std::time::Duration;

use serde::Serialize;

use crate::domain::ids::{ClientId, Player, RoomId};

/// Everything an engine holds, in a form every engine and the model can produce.
///
/// Two engines that were fed the same calls one at a time must produce equal snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// The latest time the engine was told by `tick(now)`.
    pub clock: Duration,
    pub clients: BTreeMap<ClientId, ClientView>,
    pub rooms: BTreeMap<RoomId, RoomView>,
    pub counters: Counters,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientView {
    pub player: Player,
    pub room: Option<RoomId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoomView {
    pub created_at: Duration,
    /// Members in join order.
    pub members: Vec<ClientId>,
    pub matched: bool,
}

/// Running totals since the engine started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Counters {
    pub connects: u64,
    /// Clients removed, by request or cut off.
    pub disconnects: u64,
    /// Commands from known clients, refused ones included.
    pub commands: u64,
    /// Calls naming a client the engine does not know; they have no outbox to answer to.
    pub unknown_client: u64,
    /// `Error` events sent.
    pub errors: u64,
    /// Events that went into an outbox.
    pub events_delivered: u64,
    /// Clients cut off because their outbox was full.
    pub slow_consumer_cuts: u64,
    pub rooms_opened: u64,
    pub rooms_matched: u64,
    pub rooms_timed_out: u64,
    /// Commands that found their client's seat and its room's members disagreeing: the seat
    /// an engine read under its locks (or its room actor's table) named a room that did not
    /// hold the client. Always an engine bug; the model never counts one, and
    /// `check_snapshot` reports any as broken, in release builds too.
    pub seat_mismatches: u64,
}

impl AddAssign for Counters {
    fn add_assign(&mut self, other: Counters) {
        self.connects += other.connects;
        self.disconnects += other.disconnects;
        self.commands += other.commands;
        self.unknown_client += other.unknown_client;
        self.errors += other.errors;
        self.events_delivered += other.events_delivered;
        self.slow_consumer_cuts += other.slow_consumer_cuts;
        self.rooms_opened += other.rooms_opened;
        self.rooms_matched += other.rooms_matched;
        self.rooms_timed_out += other.rooms_timed_out;
        self.seat_mismatches += other.seat_mismatches;
    }
}

impl Snapshot {
    /// True when no client and no room is left: what every run must end with.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty() && self.rooms.is_empty()
    }
}
