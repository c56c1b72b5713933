//! A client's bounded outbox: the engine pushes events without ever waiting, the client's
//! writer drains them, and a closed outbox tells the writer why it was closed.
//!
//! This is the original server's `client.send` channel (capacity 256). A push into a full
//! outbox fails at once; the engine then cuts the client off as a slow consumer rather than
//! let one slow reader hold up a room or the world.
//!
//! Every event is queued with the time it was pushed ([`Stamped`]), so that the server can
//! tell how long a frame waited between the engine and the socket. The stamp is a measurement
//! and decides nothing: no engine, model or check reads it, and a plain `try_recv` drops it.
//! It is `std`'s clock even under loom and shuttle, which model no time: a value that steers
//! no branch cannot make a replayed schedule take another path.

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
    make(capacity, None)
}

/// Wakes the reader of an outbox that waits without a thread of its own, such as the server's
/// async writer task. Rung after every event queued and on close; a ring with nobody waiting
/// must be remembered (as `tokio::sync::Notify::notify_one` does), or a wake-up is lost.
pub trait Doorbell: Send + Sync {
    fn ring(&self);
}

/// An outbox whose every push and close rings `doorbell`.
pub fn outbox_with_doorbell(
    capacity: usize,
    doorbell: std::sync::Arc<dyn Doorbell>,
) -> (OutboxSender, OutboxReceiver) {
    make(capacity, Some(doorbell))
}

fn make(
    capacity: usize,
    doorbell: Option<std::sync::Arc<dyn Doorbell>>,
) -> (OutboxSender, OutboxReceiver) {
    let (tx, rx) = channel::lazy_bounded(capacity.max(1));
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
    /// When the engine pushed it: one read of the monotonic clock per event queued.
    pub queued_at: Instant,
}

/// The engine's half. Cloning it is cheap; the outbox ends once every clone is dropped.
#[derive(Clone)]
pub struct OutboxSender {
    tx: LazySender<Stamped>,
    closing: Arc<Closing>,
}

impl OutboxSender {
    /// Queues `event`, stamped with the time now, if there is room, never waiting.
    pub fn try_push(&self, event: Event) -> Result<(), PushError> {
        if self.closing.closed.load(Ordering::Acquire) {
            return Err(PushError::Closed);
        }
        let stamped = Stamped {
            event,
            queued_at: Instant::now(),
        };
        match self.tx.try_send(stamped) {
            Ok(()) => {
                self.closing.ring();
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(PushError::Full),
            Err(TrySendError::Disconnected(_)) => Err(PushError::Closed),
        }
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
    rx: LazyReceiver<Stamped>,
    closing: Arc<Closing>,
}

impl OutboxReceiver {
    /// The next queued event, without waiting.
    pub fn try_recv(&self) -> Result<Event, RecvError> {
        self.try_recv_stamped().map(|stamped| stamped.event)
    }

    /// The next queued event with the time it was queued, without waiting.
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
    fn each_event_carries_the_time_it_was_queued() {
        let (tx, rx) = outbox(4);
        let before = Instant::now();
        tx.try_push(tick(1)).unwrap();
        let between = Instant::now();
        tx.try_push(tick(2)).unwrap();
        let after = Instant::now();
        let first = rx.try_recv_stamped().expect("queued");
        let second = rx.try_recv_stamped().expect("queued");
        assert_eq!((first.event, second.event), (tick(1), tick(2)));
        assert!(before <= first.queued_at && first.queued_at <= between);
        assert!(between <= second.queued_at && second.queued_at <= after);
        assert_eq!(rx.try_recv_stamped(), Err(RecvError::Empty));
    }

    #[test]
    fn a_dropped_receiver_makes_pushes_fail_as_closed() {
        let (tx, rx) = outbox(1);
        drop(rx);
        assert_eq!(tx.try_push(tick(1)), Err(PushError::Closed));
    }
}
