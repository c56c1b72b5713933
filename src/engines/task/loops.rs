//! The world's task and a room's task: each takes one message at a time, hands it to its
//! actor, and sends what the actor left. Nothing here blocks a thread: a send into a room's
//! full queue is awaited.
//!
//! Three of the task engine's seeded bugs live here (feature `seeded-bugs`; each is off, and
//! costs a branch on `None`, in a real engine): the world keeps a mutex guard across its
//! awaited sends ([`Ledger`]), notices go over a bounded queue that rooms await
//! ([`notices`]), and the world awaits room in a full outbox instead of cutting its client off
//! ([`deliver_when_room`]).

use std::time::Duration;

use super::Tasks;
use crate::domain::event::Event;
use crate::domain::outbox::{OutboxSender, PushError};
use crate::engines::hub::messages::{Notice, ToRoom, ToWorld};
use crate::engines::hub::room::RoomActor;
use crate::engines::hub::world::World;
use crate::engines::hub::{Flow, QueuePeak};
use crate::sync::Arc;
use crate::sync::task::{AsyncMutex, TryRecvError, mpsc, select, sleep};

/// Seeded `lock_across_await`: how many messages the world has sent into room queues that no
/// room has taken yet, behind an async mutex the world and every room take. The world holds
/// the guard for its whole batch, across each awaited send; a room settles what it took before
/// it takes its next message. When the world waits on a room's full queue, that room waits on
/// the guard: neither moves again.
pub(super) type Ledger = Arc<AsyncMutex<usize>>;

/// The sending half of the rooms' notices to the world: unbounded, so a room never waits on
/// the world; bounded only with the seeded `bounded_notice_cycle`.
#[derive(Clone)]
pub(super) enum NoticeSender {
    Unbounded(mpsc::UnboundedSender<Notice>),
    /// The mistake: a room awaits room in the world's notice queue, while the world may be
    /// awaiting room in that room's queue: a cycle of bounded channels.
    Bounded(mpsc::Sender<Notice>),
}

impl NoticeSender {
    /// Fails only when the world is gone, that is, during shutdown.
    async fn send(&self, notice: Notice) {
        match self {
            NoticeSender::Unbounded(tx) => {
                let _ = tx.send(notice);
            }
            NoticeSender::Bounded(tx) => {
                let _ = tx.send(notice).await;
            }
        }
    }

    /// The bounded queue, for a watchdog's report.
    pub(super) fn bounded(&self) -> Option<mpsc::Sender<Notice>> {
        match self {
            NoticeSender::Unbounded(_) => None,
            NoticeSender::Bounded(tx) => Some(tx.clone()),
        }
    }
}

/// The world's half of the notices.
pub(super) enum NoticeReceiver {
    Unbounded(mpsc::UnboundedReceiver<Notice>),
    Bounded(mpsc::Receiver<Notice>),
}

impl NoticeReceiver {
    /// Cancel-safe, as `select!` needs: the channel's own `recv` is.
    async fn recv(&mut self) -> Option<Notice> {
        match self {
            NoticeReceiver::Unbounded(rx) => rx.recv().await,
            NoticeReceiver::Bounded(rx) => rx.recv().await,
        }
    }
}

/// The notice channel: unbounded, or (seeded) bounded at `capacity`.
pub(super) fn notices(capacity: Option<usize>) -> (NoticeSender, NoticeReceiver) {
    match capacity {
        None => {
            let (tx, rx) = mpsc::unbounded_channel();
            (NoticeSender::Unbounded(tx), NoticeReceiver::Unbounded(rx))
        }
        Some(capacity) => {
            let (tx, rx) = mpsc::channel(capacity);
            (NoticeSender::Bounded(tx), NoticeReceiver::Bounded(rx))
        }
    }
}

/// What the world's task reads from, in the order it prefers them.
pub(super) struct WorldInboxes {
    /// Room actors' notices: they finish work already accepted, and never wait.
    pub(super) notices: NoticeReceiver,
    /// `connect`, `disconnect`, `tick`, `Stop`.
    pub(super) control: mpsc::UnboundedReceiver<ToWorld<Tasks>>,
    /// `submit`, `quiesce`, `snapshot`: bounded.
    pub(super) commands: mpsc::Receiver<ToWorld<Tasks>>,
}

/// Where the world's task sends.
pub(super) struct WorldOutlets {
    /// Each room's bounded queue, by index.
    pub(super) rooms: Vec<mpsc::Sender<ToRoom<Tasks>>>,
    /// Seeded `lock_across_await`.
    pub(super) ledger: Option<Ledger>,
}

/// What a room's task reads from.
pub(super) struct RoomInbox {
    pub(super) messages: mpsc::Receiver<ToRoom<Tasks>>,
    /// Seeded `lock_across_await`.
    pub(super) ledger: Option<Ledger>,
}

/// The world's task. Notices first, then control messages, then commands; before a command,
/// every control message already sent, so a caller's `connect` comes before its commands even
/// when both arrived between two looks at the queues.
pub(super) async fn run_world(
    mut world: World<Tasks>,
    mut inboxes: WorldInboxes,
    outlets: WorldOutlets,
    peak: Arc<QueuePeak>,
) {
    let mut deepest = 0;
    let mut batch = Vec::new();
    loop {
        peak.record(inboxes.commands.len(), &mut deepest);
        let flow = select! {
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
        // The mistake (seeded `lock_across_await`): the guard is taken before the sends and
        // kept across every `.await` below.
        let mut ledger = match &outlets.ledger {
            Some(ledger) => Some(ledger.lock().await),
            None => None,
        };
        for (room, message) in batch.drain(..) {
            if let Some(sent) = ledger.as_deref_mut() {
                *sent += 1;
            }
            // Room tasks outlive the world: they stop only when it tells them to.
            let _ = outlets.rooms[room].send(message).await;
        }
        drop(ledger);
        for (outbox, event) in world.held() {
            deliver_when_room(&outbox, event).await;
        }
        if flow == Flow::Stop {
            return;
        }
    }
}

/// Seeded `awaited_full_outbox`: waits until `outbox` has room for `event` (or is closed),
/// the way a send into a bounded channel is awaited, instead of cutting its client off. The
/// outbox rings no bell when its reader takes an event, so this looks again every
/// millisecond; a client that never reads holds the world here for good.
async fn deliver_when_room(outbox: &OutboxSender, event: Event) {
    while outbox.try_push(event.clone()) == Err(PushError::Full) {
        sleep(Duration::from_millis(1)).await;
    }
}

/// Handles the control messages already queued, stopping at a `Stop`.
///
/// This rests on tokio's `try_recv` never saying `Empty` while a message is queued: when
/// another thread's send is half done it waits for it. So every control message whose send
/// returned before the command's send began is handled first (a thread's disconnect before
/// its later commands), even when the `select!` above found the control queue empty.
/// shuttle-tokio's `try_recv` lacks that guarantee; the shuttle backend of `crate::sync` adds
/// it (docs/findings/shuttle-task2-try-recv-in-flight.md).
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

/// A room's task: one message at a time, its notices sent to the world (unbounded, so never
/// waiting, unless seeded).
pub(super) async fn run_room(
    mut room: RoomActor,
    mut inbox: RoomInbox,
    notices: NoticeSender,
    peak: Arc<QueuePeak>,
) {
    let mut deepest = 0;
    loop {
        if let Some(ledger) = &inbox.ledger {
            // Seeded `lock_across_await`: settle the message taken last before the next one.
            let mut sent = ledger.lock().await;
            *sent = sent.saturating_sub(1);
        }
        let Some(message) = inbox.messages.recv().await else {
            return;
        };
        peak.record(inbox.messages.len() + 1, &mut deepest);
        let flow = room.handle(message);
        for notice in room.notices() {
            notices.send(notice).await;
        }
        if flow == Flow::Stop {
            return;
        }
    }
}
