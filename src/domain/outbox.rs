//! A client's bounded outbox: the engine pushes events without ever waiting, the client's
//! writer drains them, and a closed outbox tells the writer why it was closed.
//!
//! This is the original server's `client.send` channel (capacity 256). A push into a full
//! outbox fails at once; the engine then cuts the client off as a slow consumer rather than
//! let one slow reader hold up a room or the world.
//!
//! The server's outboxes (those with a doorbell) queue every event with the time it was pushed
//! ([`Stamped`]), so that the server can tell how long a frame waited between the engine and
//! the socket. The stamp is a measurement and decides nothing: no engine, model or check reads
//! it, and `try_recv` drops it. Other outboxes (the benches', the model's, the checks') are
//! not stamped: they neither read the clock nor carry a stamp, so the engines' figures stay
//! what they were. The clock is `std`'s; a doorbell outbox never runs under loom or shuttle,
//! and a value that steers no branch could not make a replayed schedule take another path.

use std::fmt;
use std::time::{Duration, Instant};

use crate::domain::event::Event;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::channel::{
    self, LazyReceiver, LazySender, RecvTimeoutError, TryRecvError, TrySendError,
};
use crate::sync::{Arc, Mutex};

/// Why an outbox was closed: what the client's writer reports when it reaches the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The client disconnected, or was disconnected by its connection's owner.
    Disconnected,
    /// The outbox was full: the client did not read fast enough.
    SlowConsumer,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::Disconnected => "disconnected",
            CloseReason::SlowConsumer => "cut off as a slow consumer: the outbox was full",
        })
    }
}

/// Makes an outbox that holds at most `capacity` undelivered events. Memory is taken as events
/// queue up, not reserved for `capacity` of them: an idle client costs almost nothing.
pub fn outbox(capacity: usize) -> (OutboxSender, OutboxReceiver) {
    let (tx, rx) = channel::lazy_bounded(capacity.max(1));
    make(Queue::Plain(tx), Dequeue::Plain(rx), None)
}

/// Wakes the reader of an outbox that waits without a thread of its own, such as the server's
/// async writer task. Rung after every event queued and on close; a ring with nobody waiting
/// must be remembered (as `tokio::sync::Notify::notify_one` does), or a wake-up is lost.
pub trait Doorbell: Send + Sync {
    fn ring(&self);

    /// Rung instead of [`ring`](Doorbell::ring) after queuing an event that goes to every
    /// client at once (a shout, a tick), so that a doorbell may wake its reader a little
    /// later, behind the wake-ups already due, rather than all at once: the server paces a
    /// broadcast's wake-ups so that a reply to one client does not wait behind thousands of
    /// them. It must still wake the reader, or the ring is lost. By default it rings.
    fn ring_broadcast(&self) {
        self.ring();
    }
}

/// Whether `event` is one of those every client hears at once, for which
/// [`Doorbell::ring_broadcast`] is rung.
fn goes_to_everyone(event: &Event) -> bool {
    matches!(event, Event::Shouted { .. } | Event::Tick { .. })
}

/// An outbox whose every push and close rings `doorbell`, and whose every event is stamped
/// with the time it was pushed ([`OutboxReceiver::try_recv_stamped`]): the server's, whose
/// writer times each frame from its outbox to the socket.
pub fn outbox_with_doorbell(
    capacity: usize,
    doorbell: std::sync::Arc<dyn Doorbell>,
) -> (OutboxSender, OutboxReceiver) {
    let (tx, rx) = channel::lazy_bounded(capacity.max(1));
    make(Queue::Stamped(tx), Dequeue::Stamped(rx), Some(doorbell))
}

fn make(
    tx: Queue,
    rx: Dequeue,
    doorbell: Option<std::sync::Arc<dyn Doorbell>>,
) -> (OutboxSender, OutboxReceiver) {
    let closing = Arc::new(Closing {
        closed: AtomicBool::new(false),
        reason: Mutex::new(None),
        doorbell,
    });
    (
        OutboxSender {
            tx,
            closing: closing.clone(),
        },
        OutboxReceiver { rx, closing },
    )
}

/// The state both halves share about closing.
struct Closing {
    /// Set once, when the engine closes the outbox. `Release` on store pairs with the
    /// `Acquire` in `try_push`, so a push that sees `false` ran before the close was published;
    /// pushes racing a close may still land, which the receiver sees before the end.
    closed: AtomicBool,
    /// Written once, by the first `close`; a mutex because it is touched only at close and at
    /// the receiver's end, never per event.
    reason: Mutex<Option<CloseReason>>,
    /// Set once at creation, never changed. A std `Arc` even under loom: the doorbell wakes
    /// an async task outside the model, and loom's `Arc` cannot hold a trait object.
    doorbell: Option<std::sync::Arc<dyn Doorbell>>,
}

impl Closing {
    fn ring(&self) {
        if let Some(doorbell) = &self.doorbell {
            doorbell.ring();
        }
    }

    fn ring_broadcast(&self) {
        if let Some(doorbell) = &self.doorbell {
            doorbell.ring_broadcast();
        }
    }
}

/// Why a push did not deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The outbox is full: the client is a slow consumer.
    Full,
    /// The outbox was closed, or its receiver is gone.
    Closed,
}

/// An event with the time it entered the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamped {
    pub event: Event,
    /// When the engine pushed it (one read of the monotonic clock per event queued); `None`
    /// from an outbox that is not stamped.
    pub queued_at: Option<Instant>,
}

/// The queue behind an outbox: plain events, or events with their stamp. Two kinds rather than
/// one with an optional stamp, because a stamp costs every queued event 16 bytes and every
/// push a read of the clock, which in a broadcast to many outboxes is not small (a timestamp
/// read waits for the memory accesses before it): an outbox nobody times pays for neither.
#[derive(Clone)]
enum Queue {
    Plain(LazySender<Event>),
    Stamped(LazySender<Stamped>),
}

/// The receiving end of a [`Queue`], of the same kind.
enum Dequeue {
    Plain(LazyReceiver<Event>),
    Stamped(LazyReceiver<Stamped>),
}

impl Queue {
    fn len(&self) -> usize {
        match self {
            Queue::Plain(tx) => tx.len(),
            Queue::Stamped(tx) => tx.len(),
        }
    }
}

impl Dequeue {
    fn try_recv(&self) -> Result<Stamped, TryRecvError> {
        match self {
            Dequeue::Plain(rx) => rx.try_recv().map(Stamped::plain),
            Dequeue::Stamped(rx) => rx.try_recv(),
        }
    }

    fn recv_timeout(&self, timeout: Duration) -> Result<Stamped, RecvTimeoutError> {
        match self {
            Dequeue::Plain(rx) => rx.recv_timeout(timeout).map(Stamped::plain),
            Dequeue::Stamped(rx) => rx.recv_timeout(timeout),
        }
    }
}

impl Stamped {
    fn plain(event: Event) -> Stamped {
        Stamped {
            event,
            queued_at: None,
        }
    }
}

/// What a refused send means to the engine.
fn refused<T>(error: &TrySendError<T>) -> PushError {
    match error {
        TrySendError::Full(_) => PushError::Full,
        TrySendError::Disconnected(_) => PushError::Closed,
    }
}

/// The engine's half. Cloning it is cheap; the outbox ends once every clone is dropped.
#[derive(Clone)]
pub struct OutboxSender {
    tx: Queue,
    closing: Arc<Closing>,
}

impl OutboxSender {
    /// Queues `event` if there is room, never waiting; a stamped outbox stamps it with the
    /// time now.
    pub fn try_push(&self, event: Event) -> Result<(), PushError> {
        if self.closing.closed.load(Ordering::Acquire) {
            return Err(PushError::Closed);
        }
        let broadcast = goes_to_everyone(&event);
        let sent = match &self.tx {
            Queue::Plain(tx) => tx.try_send(event).map_err(|e| refused(&e)),
            Queue::Stamped(tx) => {
                let queued_at = Some(Instant::now());
                tx.try_send(Stamped { event, queued_at })
                    .map_err(|e| refused(&e))
            }
        };
        sent.inspect(|()| {
            if broadcast {
                self.closing.ring_broadcast();
            } else {
                self.closing.ring();
            }
        })
    }

    /// How many events wait for the reader right now (used by the seeded
    /// `lock_across_blocking_call`; an engine never needs to wait for a reader).
    #[cfg(all(feature = "seeded-bugs", not(lockchan_loom)))]
    pub(crate) fn queued(&self) -> usize {
        self.tx.len()
    }

    /// Closes the outbox for `reason` and returns true, unless it was closed already (then the
    /// first reason stands and this returns false). Events already queued stay readable.
    pub fn close(&self, reason: CloseReason) -> bool {
        let mut slot = self.closing.reason.lock();
        if slot.is_some() {
            return false;
        }
        *slot = Some(reason);
        self.closing.closed.store(true, Ordering::Release);
        drop(slot);
        self.closing.ring();
        true
    }
}

impl fmt::Debug for OutboxSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxSender")
            .field("queued", &self.tx.len())
            .finish()
    }
}

/// What a receive found instead of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// Nothing queued right now (or before the timeout).
    Empty,
    /// The outbox is drained and the engine has let go of it, for this reason.
    Closed(CloseReason),
}

/// The client's half, read by its writer.
pub struct OutboxReceiver {
    rx: Dequeue,
    closing: Arc<Closing>,
}

impl OutboxReceiver {
    /// The next queued event, without waiting.
    pub fn try_recv(&self) -> Result<Event, RecvError> {
        self.try_recv_stamped().map(|stamped| stamped.event)
    }

    /// The next queued event with the time it was queued (if the outbox is stamped), without
    /// waiting.
    pub fn try_recv_stamped(&self) -> Result<Stamped, RecvError> {
        match self.rx.try_recv() {
            Ok(stamped) => Ok(stamped),
            Err(TryRecvError::Empty) => Err(RecvError::Empty),
            Err(TryRecvError::Disconnected) => Err(RecvError::Closed(self.reason())),
        }
    }

    /// The next event, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Event, RecvError> {
        match self.rx.recv_timeout(timeout) {
            Ok(stamped) => Ok(stamped.event),
            Err(RecvTimeoutError::Timeout) => Err(RecvError::Empty),
            Err(RecvTimeoutError::Disconnected) => Err(RecvError::Closed(self.reason())),
        }
    }

    /// Everything queued right now.
    pub fn drain(&self) -> Vec<Event> {
        std::iter::from_fn(|| self.try_recv().ok()).collect()
    }

    /// Why the outbox was closed, once it was.
    pub fn close_reason(&self) -> Option<CloseReason> {
        *self.closing.reason.lock()
    }

    fn reason(&self) -> CloseReason {
        // Every sender is gone without a close only when an engine was dropped while the
        // client was connected; to the client that is a plain disconnect.
        self.close_reason().unwrap_or(CloseReason::Disconnected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ClientId, RoomId};

    fn tick(ms: u64) -> Event {
        Event::Tick {
            at: Duration::from_millis(ms),
        }
    }

    #[test]
    fn a_full_outbox_refuses_without_waiting() {
        let (tx, rx) = outbox(2);
        assert_eq!(tx.try_push(tick(1)), Ok(()));
        assert_eq!(tx.try_push(tick(2)), Ok(()));
        assert_eq!(tx.try_push(tick(3)), Err(PushError::Full));
        assert_eq!(rx.drain(), vec![tick(1), tick(2)]);
    }

    #[test]
    fn close_keeps_queued_events_and_reports_the_first_reason() {
        let (tx, rx) = outbox(4);
        tx.try_push(tick(1)).unwrap();
        assert!(tx.close(CloseReason::SlowConsumer));
        assert!(!tx.close(CloseReason::Disconnected));
        assert_eq!(tx.try_push(tick(2)), Err(PushError::Closed));
        drop(tx);
        assert_eq!(rx.try_recv(), Ok(tick(1)));
        assert_eq!(
            rx.try_recv(),
            Err(RecvError::Closed(CloseReason::SlowConsumer))
        );
    }

    #[test]
    fn an_open_outbox_with_live_senders_is_empty_not_closed() {
        let (_tx, rx) = outbox(1);
        assert_eq!(rx.try_recv(), Err(RecvError::Empty));
        assert_eq!(rx.close_reason(), None);
    }

    #[test]
    fn the_doorbell_rings_for_every_event_queued_and_for_the_close() {
        #[derive(Default)]
        struct Count(std::sync::atomic::AtomicUsize);
        impl Doorbell for Count {
            fn ring(&self) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let count = std::sync::Arc::new(Count::default());
        let (tx, _rx) = outbox_with_doorbell(1, count.clone());
        let rings = || count.0.load(std::sync::atomic::Ordering::Relaxed);
        tx.try_push(tick(1)).unwrap();
        assert_eq!(rings(), 1);
        assert_eq!(tx.try_push(tick(2)), Err(PushError::Full));
        assert_eq!(rings(), 1, "a refused push wakes nobody");
        assert!(tx.close(CloseReason::Disconnected));
        assert!(!tx.close(CloseReason::Disconnected));
        assert_eq!(rings(), 2, "only the first close rings");
    }

    #[test]
    fn shouts_and_ticks_ring_as_broadcasts_and_every_other_event_and_the_close_ring_at_once() {
        #[derive(Default)]
        struct Kinds {
            now: std::sync::atomic::AtomicUsize,
            broadcast: std::sync::atomic::AtomicUsize,
        }
        impl Doorbell for Kinds {
            fn ring(&self) {
                self.now.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            fn ring_broadcast(&self) {
                self.broadcast
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let kinds = std::sync::Arc::new(Kinds::default());
        let (tx, _rx) = outbox_with_doorbell(8, kinds.clone());
        let rings = || {
            (
                kinds.now.load(std::sync::atomic::Ordering::Relaxed),
                kinds.broadcast.load(std::sync::atomic::Ordering::Relaxed),
            )
        };
        tx.try_push(tick(1)).unwrap();
        let shout = Event::Shouted {
            from: ClientId(1),
            text: "{}".into(),
        };
        tx.try_push(shout).unwrap();
        assert_eq!(rings(), (0, 2));
        let room = RoomId { limit: 2, seq: 1 };
        let said = Event::Said {
            room,
            from: ClientId(2),
            data: "{}".into(),
        };
        tx.try_push(said).unwrap();
        tx.try_push(Event::Left { room }).unwrap();
        assert_eq!(rings(), (2, 2));
        assert!(tx.close(CloseReason::Disconnected));
        assert_eq!(rings(), (3, 2), "a close rings at once");
    }

    #[test]
    fn a_drained_outbox_takes_events_up_to_its_capacity_again() {
        let (tx, rx) = outbox(2);
        for round in 0..3 {
            assert_eq!(tx.try_push(tick(round)), Ok(()));
            assert_eq!(tx.try_push(tick(round)), Ok(()));
            assert_eq!(tx.try_push(tick(round)), Err(PushError::Full));
            assert_eq!(rx.drain().len(), 2);
        }
    }

    #[test]
    fn a_doorbell_outboxs_events_carry_the_time_they_were_queued_and_others_none() {
        struct Silent;
        impl Doorbell for Silent {
            fn ring(&self) {}
        }
        let (tx, rx) = outbox_with_doorbell(4, std::sync::Arc::new(Silent));
        let before = Instant::now();
        tx.try_push(tick(1)).unwrap();
        let between = Instant::now();
        tx.try_push(tick(2)).unwrap();
        let after = Instant::now();
        let first = rx.try_recv_stamped().expect("queued");
        let second = rx.try_recv().expect("queued");
        assert_eq!((first.event, second), (tick(1), tick(2)));
        let at = first.queued_at.expect("stamped");
        assert!(before <= at && at <= between && between <= after);
        assert_eq!(rx.try_recv_stamped(), Err(RecvError::Empty));

        let (tx, rx) = outbox(4);
        tx.try_push(tick(3)).unwrap();
        assert_eq!(rx.try_recv_stamped(), Ok(Stamped::plain(tick(3))));
    }

    #[test]
    fn a_dropped_receiver_makes_pushes_fail_as_closed() {
        let (tx, rx) = outbox(1);
        drop(rx);
        assert_eq!(tx.try_push(tick(1)), Err(PushError::Closed));
    }
}
