//! What a client asks of the engine.

use std::sync::Arc;

use serde::Serialize;

/// A client's request. Results and errors come back only as events in the client's outbox.
///
/// Payloads are `Arc<str>` so that one message relayed to many clients is one allocation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Take a seat in the oldest open room of this user limit, or open a new one.
    Join { limit: u8 },
    /// Give up the current seat.
    Leave,
    /// Relay `data` (opaque to the engine) to the other members of the client's room.
    Say { data: Arc<str> },
    /// Send `text` to every connected client, the sender included.
    Shout { text: Arc<str> },
}

impl Command {
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Join { .. } => CommandKind::Join,
            Command::Leave => CommandKind::Leave,
            Command::Say { .. } => CommandKind::Say,
            Command::Shout { .. } => CommandKind::Shout,
        }
    }
}

/// The name of a command, carried by an error event so the client knows what was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    Join,
    Leave,
    Say,
    Shout,
}
