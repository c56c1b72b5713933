//! Identifiers of clients and rooms, and who a client is.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A connected client, numbered by the engine from 1 in connection order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub u64);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// A room: its user limit and its sequence number among the rooms of that limit.
///
/// Rooms of one limit are numbered 1, 2, 3… in the order they open, and the lowest open number
/// is the oldest open room, the one a `Join` fills first. The id carries the limit so that every
/// engine can tell which shard owns a room without asking anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoomId {
    pub limit: u8,
    pub seq: u64,
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}-{}", self.limit, self.seq)
    }
}

/// Who is behind a connection, as the game's login told the server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Player {
    pub id: String,
    pub nick: String,
}

impl Player {
    pub fn new(id: impl Into<String>, nick: impl Into<String>) -> Player {
        Player {
            id: id.into(),
            nick: nick.into(),
        }
    }
}
