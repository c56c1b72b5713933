//! What the engine tells a client, and the stable codes of its errors.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::domain::command::CommandKind;
use crate::domain::ids::{ClientId, RoomId};

/// One message into a client's outbox.
///
/// The events a single call produces, and their order per client, are defined by the
/// sequential [`Model`](crate::Model); every engine must reproduce them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// To the joiner: its seat, with the members so far in join order (itself last).
    Joined {
        room: RoomId,
        members: Arc<[ClientId]>,
    },
    /// To the members already seated when `client` takes a seat.
    MemberJoined { room: RoomId, client: ClientId },
    /// To every member, once, when the last seat is taken.
    Matched {
        room: RoomId,
        members: Arc<[ClientId]>,
    },
    /// To the remaining members when `client` leaves, disconnects or is cut off.
    MemberLeft { room: RoomId, client: ClientId },
    /// To a client whose `Leave` succeeded.
    Left { room: RoomId },
    /// To every member of an open room that was not matched within the match timeout.
    MatchTimeout { room: RoomId },
    /// To the other members of `from`'s room.
    Said {
        room: RoomId,
        from: ClientId,
        data: Arc<str>,
    },
    /// To every connected client.
    Shouted { from: ClientId, text: Arc<str> },
    /// To every connected client once per tick period.
    Tick {
        #[serde(with = "millis")]
        at: Duration,
    },
    /// A refused command; nothing changed.
    Error {
        code: ErrorCode,
        command: CommandKind,
    },
}

/// Why a command was refused. The `snake_case` names are stable: clients match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// `Join` while already seated.
    AlreadyInRoom,
    /// `Leave` or `Say` while in no room.
    NotInRoom,
    /// `Join` with a user limit outside [`MIN_ROOM_LIMIT`](crate::MIN_ROOM_LIMIT)..=
    /// [`MAX_ROOM_LIMIT`](crate::MAX_ROOM_LIMIT).
    InvalidLimit,
    /// A `Say` or `Shout` payload over the configured maximum.
    MessageTooLarge,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AlreadyInRoom => "already_in_room",
            ErrorCode::NotInRoom => "not_in_room",
            ErrorCode::InvalidLimit => "invalid_limit",
            ErrorCode::MessageTooLarge => "message_too_large",
        }
    }

    /// A sentence for people; the code is for programs.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::AlreadyInRoom => "you are already in a room: leave it first",
            ErrorCode::NotInRoom => "you are not in a room: join one first",
            ErrorCode::InvalidLimit => "a room's user limit must be between 2 and 16",
            ErrorCode::MessageTooLarge => "the message is over the size limit",
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(at: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(at.as_millis()).unwrap_or(u64::MAX))
    }
}
