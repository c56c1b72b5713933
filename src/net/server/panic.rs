//! What the server does with a panic caught while handling a client's message: the original
//! server's HandlePanic, which logged the room's state as JSON and dissolved the room.

use std::any::Any;

use super::Shared;
use crate::domain::panic::panic_message;
use crate::{ClientId, Command};

/// Logs the panic with the state of `client`'s room as JSON, dissolves that room (every member
/// leaves, so each gets `left` and the others `member_left`) and counts it. The engine's state
/// is whole: the panic happened in the server's handling, around the engine call, and both
/// engines leave their state consistent between calls.
pub(crate) fn contain(shared: &Shared, client: ClientId, payload: Box<dyn Any + Send>) {
    shared.metrics.panics_caught.inc();
    let message = panic_message(payload);
    let snapshot = shared.engine.snapshot();
    let room = snapshot.clients.get(&client).and_then(|view| view.room);
    let room_state = room.and_then(|room| snapshot.rooms.get(&room));
    let members: Vec<_> = room_state
        .map(|state| {
            state
                .members
                .iter()
                .map(|id| (id, snapshot.clients.get(id).map(|view| &view.player)))
                .collect()
        })
        .unwrap_or_default();
    let dump = serde_json::json!({
        "client": client,
        "room": room.map(|room| room.to_string()),
        "state": room_state,
        "members": members,
    });
    tracing::error!(%client, panic = %message, state = %dump,
        "caught a panic while handling a message; dissolving the client's room");
    if let Some(state) = room_state {
        for &member in &state.members {
            shared.engine.submit(member, Command::Leave);
        }
    }
}
