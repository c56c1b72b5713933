//! The world's task and a room's task: each takes one message at a time, hands it to its
//! actor, and sends what the actor left. Nothing here blocks a thread: a send into a room's
//! full queue is awaited.

use super::Tasks;
use crate::engines::hub::messages::{Notice, ToRoom, ToWorld};
use crate::engines::hub::room::RoomActor;
use crate::engines::hub::world::World;
use crate::engines::hub::{Flow, QueuePeak};
use crate::sync::Arc;
use crate::sync::task::{TryRecvError, mpsc};

/// What the world's task reads from, in the order it prefers them.
pub(super) struct WorldInboxes {
    /// Room actors' notices: they finish work already accepted, and never wait.
    pub(super) notices: mpsc::UnboundedReceiver<Notice>,
    /// `connect`, `disconnect`, `tick`, `Stop`.
    pub(super) control: mpsc::UnboundedReceiver<ToWorld<Tasks>>,
    /// `submit`, `quiesce`, `snapshot`: bounded.
    pub(super) commands: mpsc::Receiver<ToWorld<Tasks>>,
}

/// The world's task. Notices first, then control messages, then commands; before a command,
/// every control message already sent, so a caller's `connect` comes before its commands even
/// when both arrived between two looks at the queues.
pub(super) async fn run_world(
    mut world: World<Tasks>,
    mut inboxes: WorldInboxes,
    rooms: Vec<mpsc::Sender<ToRoom<Tasks>>>,
    peak: Arc<QueuePeak>,
) {
    let mut deepest = 0;
    let mut batch = Vec::new();
    loop {
        peak.record(inboxes.commands.len(), &mut deepest);
        let flow = tokio::select! {
            biased;
            Some(notice) = inboxes.notices.recv() => {
                world.handle_notice(notice);
                Flow::Continue
            }
            Some(message) = inboxes.control.recv() => world.handle_message(message),
            message = inboxes.commands.recv() => {
                let message = message.unwrap_or(ToWorld::Stop);
                match earlier_control(&mut world, &mut inboxes.control) {
                    Flow::Continue => world.handle_message(message),
                    Flow::Stop => Flow::Stop,
                }
            }
        };
        batch.extend(world.outgoing());
        for (room, message) in batch.drain(..) {
            // Room tasks outlive the world: they stop only when it tells them to.
            let _ = rooms[room].send(message).await;
        }
        if flow == Flow::Stop {
            return;
        }
    }
}

/// Handles the control messages already queued, stopping at a `Stop`.
fn earlier_control(
    world: &mut World<Tasks>,
    control: &mut mpsc::UnboundedReceiver<ToWorld<Tasks>>,
) -> Flow {
    loop {
        match control.try_recv() {
            Ok(message) => {
                if world.handle_message(message) == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => return Flow::Continue,
        }
    }
}

/// A room's task: one message at a time, its notices sent to the world unbounded.
pub(super) async fn run_room(
    mut room: RoomActor,
    mut inbox: mpsc::Receiver<ToRoom<Tasks>>,
    notices: mpsc::UnboundedSender<Notice>,
    peak: Arc<QueuePeak>,
) {
    let mut deepest = 0;
    while let Some(message) = inbox.recv().await {
        peak.record(inbox.len() + 1, &mut deepest);
        let flow = room.handle(message);
        for notice in room.notices() {
            // Fails only when the world is gone, that is, during shutdown.
            let _ = notices.send(notice);
        }
        if flow == Flow::Stop {
            return;
        }
    }
}
