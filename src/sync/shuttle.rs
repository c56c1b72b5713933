//! The primitives of a build under shuttle's controlled scheduler (`--cfg lockchan_shuttle`):
//! shuttle's mutexes, atomics and threads, std's `Arc`, and the channels with crossbeam's API
//! that the loom backend uses too (`condvar_channel.rs`), built here on shuttle's mutex and
//! condvar; and for the task engine, tokio's API from shuttle-tokio (`task`).
//!
//! It exports exactly what `native.rs` exports, with the same signatures where the engines use
//! them, so engine code compiles unchanged. Where loom explores every interleaving of a small
//! race, shuttle samples schedules of a large one (random and PCT schedulers), so the same
//! engine code can run whole generated scenarios of many calls. Everything here only works
//! inside a shuttle execution (`shuttle::check_pct`, `check_random`, `replay`), which is why
//! nothing outside `tests/shuttle.rs` builds with this cfg.

use std::sync::PoisonError;

// shuttle models threads, not memory: its `Arc` is std's, and an `Arc`'s count is no step of
// a schedule.
pub(crate) use ::shuttle::sync::MutexGuard;
// For `channel`, which builds its waits on it; the engines never wait on a condvar themselves.
use ::shuttle::sync::Condvar;
pub(crate) use std::sync::Arc;

/// shuttle's mutex behind parking_lot's face: `lock` hands out the guard itself.
///
/// parking_lot has no poisoning, so neither does this: a guard that a panicking thread held is
/// handed out as it is. (A panic fails the whole shuttle execution anyway.)
pub(crate) struct Mutex<T: ?Sized>(::shuttle::sync::Mutex<T>);

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Mutex<T> {
        Mutex(::shuttle::sync::Mutex::new(value))
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks until the lock is free; taking it is a point where shuttle may switch threads.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the lock if it is free, without waiting: a watchdog's look at who holds what.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock().ok()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

/// shuttle reports a deadlock itself, failing the execution with its schedule; there is no
/// detector to ask.
#[allow(dead_code)] // Only the watchdog of `verify` asks, and it never runs under shuttle.
pub(crate) fn deadlock_cycles() -> Option<String> {
    None
}

/// The hash map engines keep their state in, with a fixed seed: `shuttle::replay` re-runs a
/// failing schedule by making the same choices again, and a broadcast that walks a randomly
/// seeded map in a new order on every run would take different steps than the schedule it is
/// replaying.
pub(crate) type HashMap<K, V> = std::collections::HashMap<
    K,
    V,
    std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>,
>;

pub(crate) mod atomic {
    // shuttle's atomics are sequentially consistent whatever the ordering asked for: it
    // explores interleavings, not weak memory (loom does that).
    pub(crate) use ::shuttle::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
}

pub(crate) mod thread {
    pub(crate) use ::shuttle::thread::JoinHandle;

    /// Starts a named shuttle thread; shuttle names the failing thread in its report.
    pub(crate) fn spawn_named<F, T>(name: String, body: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        ::shuttle::thread::Builder::new()
            .name(name)
            .spawn(body)
            .expect("shuttle refused to start an engine thread")
    }
}

#[path = "condvar_channel.rs"]
pub(crate) mod channel;

/// The task engine's primitives under shuttle: shuttle-tokio's tasks, channels, async mutex and
/// `select!`, which run tokio's API on shuttle's scheduler, so every poll of the engine's
/// tasks is a step shuttle chooses. The names and signatures are `native.rs`'s.
pub(crate) mod task {
    use std::future::Future;

    pub(crate) use ::shuttle_tokio::select;
    pub(crate) use ::shuttle_tokio::sync::Mutex as AsyncMutex;
    pub(crate) use ::shuttle_tokio::sync::mpsc::error::{TryRecvError, TrySendError};
    pub(crate) use ::shuttle_tokio::sync::oneshot;
    pub(crate) use ::shuttle_tokio::task::JoinHandle;
    // shuttle does not model time: its sleep is one yield to the scheduler.
    pub(crate) use ::shuttle_tokio::time::sleep;

    /// shuttle-tokio's channels, but for one difference from tokio that the task engine's
    /// ordering rests on (docs/findings/shuttle-task2-try-recv-in-flight.md).
    ///
    /// tokio's `UnboundedReceiver::try_recv` never returns `Empty` spuriously: when a send is
    /// half done (its slot taken, its value not yet written) it parks until the value is there.
    /// shuttle-tokio's can: a sender pushes its message, then releases the receiver's permit
    /// at a later step, and a `try_recv` between the two sees no permit and says `Empty` with
    /// the message queued, so a message sent after it by another thread can be handled first.
    /// This `try_recv` waits out such a send as tokio does. (The bounded `Receiver`'s
    /// `try_recv` has the same gap; no engine calls it.)
    pub(crate) mod mpsc {
        use super::TryRecvError;

        pub(crate) use ::shuttle_tokio::sync::mpsc::{Receiver, Sender, UnboundedSender, channel};

        pub(crate) struct UnboundedReceiver<T>(::shuttle_tokio::sync::mpsc::UnboundedReceiver<T>);

        pub(crate) fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
            let (tx, rx) = ::shuttle_tokio::sync::mpsc::unbounded_channel();
            (tx, UnboundedReceiver(rx))
        }

        impl<T> UnboundedReceiver<T> {
            pub(crate) async fn recv(&mut self) -> Option<T> {
                self.0.recv().await
            }

            /// `Empty` only when nothing is queued, not even by a send still in progress.
            pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
                loop {
                    match self.0.try_recv() {
                        // A message is queued, its permit not yet released: a send in
                        // progress, which tokio's `try_recv` would park for.
                        Err(TryRecvError::Empty) if !self.0.is_empty() => {
                            ::shuttle::thread::yield_now();
                        }
                        other => return other,
                    }
                }
            }
        }
    }

    /// shuttle has one executor per execution and no runtimes: tasks are spawned into the
    /// running execution, and a synchronous caller (a shuttle thread) waits by blocking on the
    /// future, which shuttle schedules like any other wait.
    pub(crate) struct TaskRuntime;

    impl TaskRuntime {
        pub(crate) fn start(_name: &str) -> TaskRuntime {
            TaskRuntime
        }

        pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            ::shuttle_tokio::spawn(future)
        }

        pub(crate) fn wait<F>(&self, future: F) -> F::Output
        where
            F: Future + Send,
            F::Output: Send,
        {
            ::shuttle::future::block_on(future)
        }

        /// Waits for every task to end: a task that never stops fails the execution as a
        /// deadlock, with the schedule that got there.
        pub(crate) fn shut_down(&mut self, tasks: Vec<JoinHandle<()>>) {
            self.wait(async move {
                for task in tasks {
                    let _ = task.await;
                }
            });
        }

        /// shuttle-tokio counts no tasks.
        pub(crate) fn alive_tasks(&self) -> Option<usize> {
            None
        }
    }
}
