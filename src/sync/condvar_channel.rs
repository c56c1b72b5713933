//! Channels with crossbeam's API built on a model checker's mutex and condvar: the `channel`
//! module of both controlled backends, loom's (`mocked.rs`) and shuttle's (`shuttle.rs`).
//! loom has no channel with crossbeam's API (and no bounded one at all); shuttle has std's
//! `mpsc`, which has no `len`, no `capacity` and no way to wait on two channels. One
//! implementation serves both, so that what loom proved about it holds under shuttle too.
//!
//! The parent module supplies `Arc`, `Mutex` (with parking_lot's `lock`), `MutexGuard` and
//! `Condvar`, each its checker's, so every wait and wake-up is a step the checker schedules.
//!
//! A channel is one mutex around its queue and its counts of live senders and receivers,
//! plus two condvars: `not_empty` for blocked receivers and `not_full` for blocked senders.
//! Nothing here spins: every wait is a condvar wait, because loom reports a spin loop as a
//! failure rather than as a slow test, and shuttle's schedulers would starve the thread that
//! could end it.
//!
//! Waiting on two channels at once ([`recv_biased`]) uses a third kind of waiter: a
//! [`Waker`] that the waiting thread registers with both channels, and that every send and
//! every disconnection of senders sets and signals.

use std::collections::VecDeque;
use std::fmt;
use std::sync::PoisonError;
use std::time::Duration;

use super::{Arc, Condvar, Mutex, MutexGuard};

/// A channel that holds at most `capacity` messages; a send into a full one waits.
///
/// A capacity of zero (crossbeam's rendezvous channel) is not modelled: no engine uses
/// one, and a hand-off needs a different protocol than a queue.
pub(crate) fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "the model-checked shim does not model zero-capacity channels"
    );
    channel(Some(capacity))
}

/// The outbox's channel: this bounded channel already allocates only what it holds.
pub(crate) use self::{Receiver as LazyReceiver, Sender as LazySender, bounded as lazy_bounded};

/// A channel whose sends never wait.
pub(crate) fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    channel(None)
}

fn channel<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            capacity,
            senders: 1,
            receivers: 1,
            watchers: Vec::new(),
        }),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
    });
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// What both halves of one channel share.
struct Chan<T> {
    state: Mutex<State<T>>,
    /// Signalled on every send and when the last sender goes.
    not_empty: Condvar,
    /// Signalled on every receive and when the last receiver goes.
    not_full: Condvar,
}

struct State<T> {
    queue: VecDeque<T>,
    /// `None` for an unbounded channel.
    capacity: Option<usize>,
    senders: usize,
    receivers: usize,
    /// Threads in [`recv_biased`] that wait on this channel among others; they cannot
    /// wait on `not_empty`, which belongs to this channel's mutex alone.
    watchers: Vec<Arc<Waker>>,
}

impl<T> State<T> {
    fn is_full(&self) -> bool {
        self.capacity
            .is_some_and(|capacity| self.queue.len() >= capacity)
    }

    fn wake_watchers(&self) {
        for watcher in &self.watchers {
            watcher.wake();
        }
    }
}

/// Waits on the checker's condvar; a poisoned lock is used as it is, like everywhere in this
/// shim.
fn wait<'a, T>(condvar: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    condvar.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

impl<T> Chan<T> {
    /// Queues `msg` into a channel known to have room, and tells every kind of waiting
    /// receiver. One `notify_one` is enough for `not_empty`: each message can satisfy only
    /// one receiver, and a receiver that wakes to find it taken waits again.
    fn deliver(&self, state: &mut State<T>, msg: T) {
        state.queue.push_back(msg);
        self.not_empty.notify_one();
        state.wake_watchers();
    }

    /// Takes the oldest message, and tells one blocked sender that there is room now.
    fn take(&self, state: &mut State<T>) -> Option<T> {
        let msg = state.queue.pop_front()?;
        self.not_full.notify_one();
        Some(msg)
    }

    /// One look for [`recv_biased`]: a message, or that none will ever come, or (having
    /// made sure `waker` is registered, so no later send can go unnoticed) nothing yet.
    ///
    /// Registering and looking happen under one lock, so a send either comes before the
    /// look and is found, or after the registration and sets the waker.
    fn poll(&self, waker: &Arc<Waker>, registered: &mut bool) -> Poll<T> {
        let mut state = self.state.lock();
        let found = match self.take(&mut state) {
            Some(msg) => Poll::Ready(msg),
            None if state.senders == 0 => Poll::Closed,
            None => {
                if !*registered {
                    state.watchers.push(waker.clone());
                    *registered = true;
                }
                return Poll::Empty;
            }
        };
        if *registered {
            state
                .watchers
                .retain(|watcher| !Arc::ptr_eq(watcher, waker));
            *registered = false;
        }
        found
    }

    /// Takes `waker` off the list if it is still on it, so that a finished `recv_biased`
    /// leaves nothing behind: a stale waker would keep an `Arc` alive and loom reports
    /// leaked `Arc`s at the end of every execution.
    fn unwatch(&self, waker: &Arc<Waker>, registered: bool) {
        if registered {
            let mut state = self.state.lock();
            state
                .watchers
                .retain(|watcher| !Arc::ptr_eq(watcher, waker));
        }
    }
}

enum Poll<T> {
    Ready(T),
    Empty,
    Closed,
}

/// A flag and a condvar for a thread that waits on more than one channel.
struct Waker {
    /// Set by a send or disconnection since the waiter last looked. A flag rather than a
    /// bare condvar because the event may come before the waiter starts waiting.
    woken: Mutex<bool>,
    condvar: Condvar,
}

impl Waker {
    fn new() -> Waker {
        Waker {
            woken: Mutex::new(false),
            condvar: Condvar::new(),
        }
    }

    /// Called with a channel's lock held; the waiter never holds its waker's lock while
    /// taking a channel's, so the two locks cannot deadlock.
    fn wake(&self) {
        *self.woken.lock() = true;
        self.condvar.notify_one();
    }

    /// Blocks until `wake` was called since the last `wait` returned.
    fn wait(&self) {
        let mut woken = self.woken.lock();
        while !*woken {
            woken = wait(&self.condvar, woken);
        }
        *woken = false;
    }
}

/// The sending half, as crossbeam's: cloneable, and the channel disconnects for receivers
/// once every clone is gone.
pub(crate) struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Queues `msg`, waiting while the channel is full; gives it back once every receiver
    /// is gone.
    pub(crate) fn send(&self, msg: T) -> Result<(), SendError<T>> {
        let mut state = self.chan.state.lock();
        loop {
            if state.receivers == 0 {
                return Err(SendError(msg));
            }
            if !state.is_full() {
                self.chan.deliver(&mut state, msg);
                return Ok(());
            }
            state = wait(&self.chan.not_full, state);
        }
    }

    /// Queues `msg` if there is room, never waiting.
    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut state = self.chan.state.lock();
        if state.receivers == 0 {
            Err(TrySendError::Disconnected(msg))
        } else if state.is_full() {
            Err(TrySendError::Full(msg))
        } else {
            self.chan.deliver(&mut state, msg);
            Ok(())
        }
    }

    /// How many messages are queued.
    pub(crate) fn len(&self) -> usize {
        self.chan.state.lock().queue.len()
    }

    /// The most messages the channel holds; `None` when unbounded.
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.chan.state.lock().capacity
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.state.lock().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.chan.state.lock();
        state.senders -= 1;
        if state.senders == 0 {
            // Every blocked receiver must see the disconnection, not just one.
            self.chan.not_empty.notify_all();
            state.wake_watchers();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sender { .. }")
    }
}

/// Always 0: queue depth is a statistic for benchmarks, and reading it here would take the
/// channel's lock, one more step for the checker to interleave without checking anything.
pub(crate) fn queued<T>(_rx: &Receiver<T>) -> usize {
    0
}

/// The receiving half, as crossbeam's: the channel disconnects for senders once every
/// receiver is gone.
pub(crate) struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// The next message, waiting while the channel is empty; an error once it is empty and
    /// every sender is gone.
    pub(crate) fn recv(&self) -> Result<T, RecvError> {
        let mut state = self.chan.state.lock();
        loop {
            if let Some(msg) = self.chan.take(&mut state) {
                return Ok(msg);
            }
            if state.senders == 0 {
                return Err(RecvError);
            }
            state = wait(&self.chan.not_empty, state);
        }
    }

    /// The next message, never waiting.
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.chan.state.lock();
        match self.chan.take(&mut state) {
            Some(msg) => Ok(msg),
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// As `try_recv`, reporting an empty channel as a timeout at once.
    ///
    /// Neither loom nor shuttle has a clock, so the wait cannot be modelled as time. It need
    /// not be: the waiting thread does nothing anyone can see, so "a message arrived during
    /// the wait" is the same execution as "the look happened later", which the checker
    /// explores by scheduling the look after the send; and "nothing came in time" is the look
    /// finding the channel empty. Blocking instead would lose that second outcome and report a
    /// deadlock wherever the real code relies on the timeout. The price: a caller that loops
    /// on `recv_timeout` waiting for something spins, which loom rejects.
    pub(crate) fn recv_timeout(&self, _timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.try_recv().map_err(|error| match error {
            TryRecvError::Empty => RecvTimeoutError::Timeout,
            TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
        })
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.chan.state.lock();
        state.receivers -= 1;
        if state.receivers > 0 {
            return;
        }
        self.chan.not_full.notify_all();
        // Nobody can read what is queued any more. Drop it now, as crossbeam does, so that
        // senders riding inside messages disconnect their own channels; and drop it after
        // unlocking, since one of them may be a sender of this very channel.
        let orphans = std::mem::take(&mut state.queue);
        drop(state);
        drop(orphans);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Receiver { .. }")
    }
}

/// A send found every receiver gone; the message comes back.
pub(crate) struct SendError<T>(pub(crate) T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("SendError { .. }")
    }
}

/// A receive found the channel empty and every sender gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecvError;

/// Why `try_send` did not queue; the message comes back.
pub(crate) enum TrySendError<T> {
    Full(T),
    Disconnected(T),
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.pad("Full(..)"),
            TrySendError::Disconnected(_) => f.pad("Disconnected(..)"),
        }
    }
}

/// Why `try_recv` found nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TryRecvError {
    Empty,
    Disconnected,
}

/// Why `recv_timeout` found nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecvTimeoutError {
    Timeout,
    Disconnected,
}

/// What [`recv_biased`] took: always from `first` while it has anything.
pub(crate) enum Biased<A, B> {
    First(A),
    Second(B),
    /// Both channels are disconnected.
    Closed,
}

/// Receives from `first` whenever it has a message, from `second` only when `first` is
/// empty; blocks while both are empty.
///
/// Looks at `first`, then at `second`, registering one waker with each; if neither had a
/// message and not both are closed, it sleeps on the waker until a send or disconnection
/// on either sets it, and looks again. A message that reaches `first` between the two
/// looks is found on the next pass, or, if `second` had one, loses to it: the same race
/// crossbeam's `select_biased!` has, since nothing orders the two senders.
pub(crate) fn recv_biased<A, B>(first: &Receiver<A>, second: &Receiver<B>) -> Biased<A, B> {
    let waker = Arc::new(Waker::new());
    let mut on_first = false;
    let mut on_second = false;
    let outcome = loop {
        let first_closed = match first.chan.poll(&waker, &mut on_first) {
            Poll::Ready(msg) => break Biased::First(msg),
            Poll::Empty => false,
            Poll::Closed => true,
        };
        match second.chan.poll(&waker, &mut on_second) {
            Poll::Ready(msg) => break Biased::Second(msg),
            Poll::Closed if first_closed => break Biased::Closed,
            Poll::Empty | Poll::Closed => waker.wait(),
        }
    };
    first.chan.unwatch(&waker, on_first);
    second.chan.unwatch(&waker, on_second);
    outcome
}
