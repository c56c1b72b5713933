//! The doorbells of the server's outboxes, and the pacer that spreads a broadcast's wake-ups.
//!
//! An event for one client (a `said`, a room's news, an error) wakes that client's connection
//! task at once. An event for every client (a shout, a tick) would wake every connection at
//! once: at 19,000 clients, 19,000 tasks join the runtime's run queues in a few milliseconds,
//! and whatever is woken next, the read of a client's `say` or the write of its relay, waits
//! behind all of them, about 12 µs of writing each, a quarter of a second. So a broadcast's
//! ring only marks the bell and queues it with the [`Pacer`], one task that wakes
//! [`PACE_CHUNK`] queued connections at a time and then goes to the back of the run queue.
//! The runtime polls its sockets every 61 tasks it runs, and what they wake queues behind at
//! most a chunk, not behind the whole broadcast. The broadcast is written in the same order,
//! a little later at its tail (reports/ab/ has the runs).
//!
//! A bell rung at once while it waits with the pacer wakes its task at once; the task writes
//! everything its outbox holds, the broadcast's frame included. The pacer's later wake-up then
//! finds no waker and does nothing, or, if the task has gone back to waiting, costs it one
//! look that finds no ring.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::Poll;

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Doorbell;

/// How many queued connections the pacer wakes before it goes to the back of the run queue.
/// A relay then waits for at most about a chunk of writes, 256 × 12 µs ≈ 3 ms on one worker.
/// Smaller chunks cost the broadcast itself more, as the workers park and wake more often
/// between them: reports/ab/pacing-chunks-5k-broadcast has 64 and 128 against no pacing,
/// reports/ab/chunk-256-* this value.
pub(crate) const PACE_CHUNK: usize = 256;

/// Wakes one connection's task when the engine queues an event.
///
/// A flag and an [`AtomicWaker`], not a `tokio::sync::Notify`: a ring is a store and a wake,
/// with no lock and no waiter list to join and leave on every turn of the connection's loop,
/// which a broadcast makes once per client. The flag is the permit `Doorbell` asks for: a ring
/// while the task is busy writing stays set until the task next waits.
pub(crate) struct Bell {
    /// Set by a ring of either kind, taken by [`Bell::rung`]. `Release` on the ring pairs with
    /// the `Acquire` of the take, so the task that takes it sees the event queued before it.
    rung: AtomicBool,
    waker: AtomicWaker,
    /// True while the bell waits in the pacer's queue, so that a broadcast rung again before
    /// the pacer reached it queues it once. Swapped with `AcqRel` on both sides: the pacer's
    /// swap reads the ringer's, so the ringer's `rung` is visible before the pacer wakes.
    paced: AtomicBool,
    /// This bell, for queuing with the pacer; never upgraded after the connection ends.
    me: Weak<Bell>,
    pacer: Arc<Pacer>,
}

impl Bell {
    pub(crate) fn new(pacer: Arc<Pacer>) -> Arc<Bell> {
        Arc::new_cyclic(|me| Bell {
            rung: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            paced: AtomicBool::new(false),
            me: me.clone(),
            pacer,
        })
    }

    /// Ready once the bell has rung since it was last taken; takes the ring. The waker is
    /// registered before the second look at the flag, so a ring between the two looks is
    /// either seen by the second or wakes the registered waker: never lost.
    pub(crate) fn rung(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            if self.rung.swap(false, Ordering::Acquire) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            if self.rung.swap(false, Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// The pacer has reached this bell: a later broadcast queues it again, and its task wakes.
    /// The swap reads the ringer's, so the ringer's `rung` is visible to the woken task.
    fn reached(&self) {
        self.paced.swap(false, Ordering::AcqRel);
        self.waker.wake();
    }
}

impl Doorbell for Bell {
    fn ring(&self) {
        self.rung.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn ring_broadcast(&self) {
        self.rung.store(true, Ordering::Release);
        if !self.paced.swap(true, Ordering::AcqRel)
            && let Some(me) = self.me.upgrade()
        {
            self.pacer.queue(me);
        }
    }
}

/// The queue of bells a broadcast rang, and the task that wakes them a chunk at a time.
#[derive(Default)]
pub(crate) struct Pacer {
    /// Bells waiting to be woken, in the order they were rung. A std mutex: it is held for a
    /// push or to take a chunk, never across an await, and the engine pushes from its own
    /// threads as well as from tasks.
    waiting: Mutex<VecDeque<Arc<Bell>>>,
    /// Wakes the pacer when a bell is queued into an empty queue; `notify_one` keeps the
    /// permit if the pacer is busy.
    work: Notify,
}

impl Pacer {
    fn queue(&self, bell: Arc<Bell>) {
        let was_empty = {
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            waiting.push_back(bell);
            waiting.len() == 1
        };
        // A bell queued behind others is reached by the pacer's loop, which only waits after
        // it has seen the queue empty.
        if was_empty {
            self.work.notify_one();
        }
    }

    /// Takes up to `n` bells, oldest first.
    fn take(&self, n: usize) -> Vec<Arc<Bell>> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let n = n.min(waiting.len());
        waiting.drain(..n).collect()
    }

    /// Wakes queued bells a chunk at a time, yielding between chunks, until `shutdown`. Bells
    /// left queued at shutdown need no wake: every connection is then ending and writes what
    /// its outbox holds on the way out.
    pub(crate) async fn run(self: Arc<Pacer>, shutdown: CancellationToken) {
        loop {
            let chunk = self.take(PACE_CHUNK);
            if chunk.is_empty() {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.work.notified() => continue,
                }
            }
            for bell in chunk {
                bell.reached();
            }
            to_the_back().await;
        }
    }
}

/// Goes to the back of this worker's run queue, behind the connections just woken, and no
/// further. A task that wakes itself while it runs is put there by tokio (a yield); its
/// `yield_now` instead waits until the worker next parks or polls its sockets, which leaves
/// the other worker idle once it has run out of woken connections to steal.
fn to_the_back() -> impl Future<Output = ()> {
    let mut woke = false;
    poll_fn(move |cx| {
        if woke {
            return Poll::Ready(());
        }
        woke = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Wake, Waker};

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl Wakes {
        fn count(&self) -> usize {
            self.0.load(Ordering::Relaxed)
        }
    }

    /// Polls `bell.rung()` once with a waker that counts; true if it was ready.
    fn poll_rung(bell: &Bell, wakes: &Arc<Wakes>) -> bool {
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut rung = std::pin::pin!(bell.rung());
        rung.as_mut().poll(&mut cx).is_ready()
    }

    #[test]
    fn a_ring_wakes_the_waiting_task_at_once_and_is_kept_for_a_busy_one() {
        let bell = Bell::new(Arc::default());
        let wakes = Arc::new(Wakes::default());
        assert!(!poll_rung(&bell, &wakes), "nothing rang yet");
        bell.ring();
        assert_eq!(wakes.count(), 1);
        assert!(poll_rung(&bell, &wakes), "the ring is taken");
        assert!(!poll_rung(&bell, &wakes), "and taken once");
        // Rung while the task is not waiting: kept until it next looks.
        bell.ring();
        bell.ring();
        assert!(poll_rung(&bell, &wakes));
        assert!(!poll_rung(&bell, &wakes));
    }

    #[test]
    fn a_broadcast_ring_waits_for_the_pacer_which_queues_each_bell_once() {
        let pacer = Arc::new(Pacer::default());
        let (a, b) = (Bell::new(pacer.clone()), Bell::new(pacer.clone()));
        let (wakes_a, wakes_b) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
        assert!(!poll_rung(&a, &wakes_a));
        assert!(!poll_rung(&b, &wakes_b));
        a.ring_broadcast();
        b.ring_broadcast();
        a.ring_broadcast();
        assert_eq!((wakes_a.count(), wakes_b.count()), (0, 0), "no wake yet");
        let chunk = pacer.take(PACE_CHUNK);
        assert_eq!(chunk.len(), 2, "a is queued once");
        assert!(Arc::ptr_eq(&chunk[0], &a) && Arc::ptr_eq(&chunk[1], &b));
        for bell in chunk {
            bell.reached();
        }
        assert_eq!((wakes_a.count(), wakes_b.count()), (1, 1));
        assert!(poll_rung(&a, &wakes_a) && poll_rung(&b, &wakes_b));
        // Once reached, a bell is queued again by the next broadcast.
        a.ring_broadcast();
        assert_eq!(pacer.take(PACE_CHUNK).len(), 1);
    }

    #[test]
    fn a_ring_at_once_overtakes_a_broadcast_ring_waiting_with_the_pacer() {
        let pacer = Arc::new(Pacer::default());
        let bell = Bell::new(pacer.clone());
        let wakes = Arc::new(Wakes::default());
        assert!(!poll_rung(&bell, &wakes));
        bell.ring_broadcast();
        bell.ring();
        assert_eq!(wakes.count(), 1, "woken without the pacer");
        assert!(poll_rung(&bell, &wakes));
        // The pacer's later wake-up finds the ring taken: the task's next look is empty.
        for bell in pacer.take(PACE_CHUNK) {
            bell.reached();
        }
        assert!(!poll_rung(&bell, &wakes));
    }

    #[tokio::test]
    async fn the_pacer_wakes_every_bell_a_broadcast_rang_more_than_a_chunk_of_them() {
        let pacer = Arc::new(Pacer::default());
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(pacer.clone().run(shutdown.clone()));
        let bells: Vec<_> = (0..3 * PACE_CHUNK + 5)
            .map(|_| Bell::new(pacer.clone()))
            .collect();
        let waiting = bells.iter().map(|bell| {
            let bell = bell.clone();
            tokio::spawn(async move { bell.rung().await })
        });
        let waiting: Vec<_> = waiting.collect();
        // Most tasks wait before the broadcast; one that does not finds the ring when it looks.
        tokio::task::yield_now().await;
        for bell in &bells {
            bell.ring_broadcast();
        }
        // A bound so that a lost wake-up fails the test instead of hanging it.
        let all = async {
            for task in waiting {
                task.await
                    .expect("a waiting task ends once its bell is reached");
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), all)
            .await
            .expect("every bell a broadcast rang is woken");
        shutdown.cancel();
        running.await.expect("the pacer ends at shutdown");
    }
}
