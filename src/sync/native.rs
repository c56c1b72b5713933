//! The primitives of a normal build: parking_lot locks, crossbeam channels, std threads.

#[cfg(not(feature = "lock-order-graph"))]
pub(crate) use parking_lot::{Mutex, MutexGuard};
// In debug builds these record every "held A, then took B" and panic on the first lock taken
// against an order seen before; in release builds they are parking_lot's own.
pub(crate) use std::sync::Arc;
#[cfg(feature = "lock-order-graph")]
pub(crate) use tracing_mutex::parking_lot::{Mutex, MutexGuard};

/// The lock cycles parking_lot's detector finds right now, each thread named with the crate's
/// frames it is stuck in; `None` when there is none or the detector is not compiled in
/// (feature `deadlock-detection`).
pub(crate) fn deadlock_cycles() -> Option<String> {
    #[cfg(feature = "deadlock-detection")]
    {
        let cycles = parking_lot::deadlock::check_deadlock();
        if cycles.is_empty() {
            return None;
        }
        let mut out = format!("{} lock cycle(s):", cycles.len());
        for (n, cycle) in cycles.iter().enumerate() {
            for thread in cycle {
                let trace = format!("{:?}", thread.backtrace());
                let frames: Vec<&str> = trace
                    .lines()
                    .map(str::trim)
                    .filter(|line| line.contains("lockchan::") && !line.contains("sync::"))
                    .take(3)
                    .collect();
                out.push_str(&format!(
                    " [cycle {n}] {:?} in {frames:?};",
                    thread.thread_id()
                ));
            }
        }
        Some(out)
    }
    #[cfg(not(feature = "deadlock-detection"))]
    None
}

/// The hash map engines keep their state in: std's, with its per-map random seed.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V>;

pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
}

pub(crate) mod thread {
    pub(crate) use std::thread::JoinHandle;

    /// Starts a named thread; a name shows up in debuggers, panics and `top -H`.
    pub(crate) fn spawn_named<F, T>(name: String, body: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        std::thread::Builder::new()
            .name(name)
            .spawn(body)
            .expect("the OS refused to start an engine thread")
    }
}

pub(crate) mod channel {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    pub(crate) use crossbeam_channel::{
        Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError, bounded, unbounded,
    };

    /// A channel that holds at most `capacity` messages but allocates only for the messages it
    /// holds, with the non-blocking half of crossbeam's API.
    ///
    /// crossbeam's `bounded` allocates every slot up front: a client outbox of 256 events is
    /// about 16 KB before the first event, which at 19,000 idle WebSocket clients is 300 MB of
    /// nothing. This is crossbeam's list channel (blocks of 31 slots, allocated as they fill
    /// and freed as they drain) with the bound kept by a counter beside it.
    pub(crate) fn lazy_bounded<T>(capacity: usize) -> (LazySender<T>, LazyReceiver<T>) {
        let (tx, rx) = unbounded();
        let queued = Arc::new(Queued {
            capacity,
            len: AtomicUsize::new(0),
        });
        let sender = LazySender {
            tx,
            queued: queued.clone(),
        };
        (sender, LazyReceiver { rx, queued })
    }

    /// The bound of a lazy channel. `len` is incremented before a message is queued and
    /// decremented after one is taken, so it never undercounts what is queued: the bound holds
    /// however many senders race. Relaxed is enough: `len` only guards a bound, and the channel
    /// itself orders the messages.
    struct Queued {
        capacity: usize,
        len: AtomicUsize,
    }

    pub(crate) struct LazySender<T> {
        tx: Sender<T>,
        queued: Arc<Queued>,
    }

    impl<T> Clone for LazySender<T> {
        fn clone(&self) -> LazySender<T> {
            LazySender {
                tx: self.tx.clone(),
                queued: self.queued.clone(),
            }
        }
    }

    impl<T> LazySender<T> {
        /// Queues `msg` if there is room, never waiting.
        pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
            let before = self.queued.len.fetch_add(1, Ordering::Relaxed);
            if before >= self.queued.capacity {
                self.queued.len.fetch_sub(1, Ordering::Relaxed);
                return Err(TrySendError::Full(msg));
            }
            self.tx.try_send(msg).inspect_err(|_| {
                self.queued.len.fetch_sub(1, Ordering::Relaxed);
            })
        }

        /// How many messages are queued.
        pub(crate) fn len(&self) -> usize {
            self.tx.len()
        }
    }

    pub(crate) struct LazyReceiver<T> {
        rx: Receiver<T>,
        queued: Arc<Queued>,
    }

    impl<T> LazyReceiver<T> {
        pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
            self.rx.try_recv().inspect(|_| self.taken())
        }

        pub(crate) fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
            self.rx.recv_timeout(timeout).inspect(|_| self.taken())
        }

        fn taken(&self) {
            self.queued.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// How many messages wait in `rx`: a statistic, never a decision.
    pub(crate) fn queued<T>(rx: &Receiver<T>) -> usize {
        rx.len()
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
    pub(crate) fn recv_biased<A, B>(first: &Receiver<A>, second: &Receiver<B>) -> Biased<A, B> {
        crossbeam_channel::select_biased! {
            recv(first) -> msg => match msg {
                Ok(msg) => Biased::First(msg),
                Err(_) => second.recv().map_or(Biased::Closed, Biased::Second),
            },
            recv(second) -> msg => match msg {
                Ok(msg) => Biased::Second(msg),
                Err(_) => first.recv().map_or(Biased::Closed, Biased::First),
            },
        }
    }
}

/// The task engine's primitives: tokio's tasks, channels, async mutex and `select!`, and
/// [`TaskRuntime`](task::TaskRuntime), which decides where the engine's tasks run and how a
/// synchronous caller waits for one of them. Not in a loom build: loom cannot run tokio; under
/// shuttle the same names come from shuttle-tokio (`shuttle.rs`).
pub(crate) mod task {
    use std::future::Future;
    use std::time::Duration;

    use tokio::runtime::{Builder, Handle, Runtime, RuntimeFlavor};
    use tokio::task::block_in_place;

    pub(crate) use tokio::select;
    pub(crate) use tokio::sync::Mutex as AsyncMutex;
    pub(crate) use tokio::sync::mpsc::error::{TryRecvError, TrySendError};
    pub(crate) use tokio::sync::{mpsc, oneshot};
    pub(crate) use tokio::task::JoinHandle;
    pub(crate) use tokio::time::sleep;

    /// Where an engine's tasks run: the multi-thread runtime it was built in (the server's), or
    /// else a multi-thread runtime of its own with a worker per core (benches, the duel,
    /// verify, a current-thread test runtime).
    pub(crate) struct TaskRuntime {
        handle: Handle,
        own: Option<Runtime>,
    }

    impl TaskRuntime {
        /// The current runtime if it is a multi-thread one, else a new one whose threads are
        /// called `name`.
        pub(crate) fn start(name: &str) -> TaskRuntime {
            if let Ok(current) = Handle::try_current()
                && current.runtime_flavor() == RuntimeFlavor::MultiThread
            {
                return TaskRuntime {
                    handle: current,
                    own: None,
                };
            }
            let runtime = Builder::new_multi_thread()
                .thread_name(name)
                .enable_time()
                .build()
                .expect("starting the task engine's runtime");
            TaskRuntime {
                handle: runtime.handle().clone(),
                own: Some(runtime),
            }
        }

        pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            self.handle.spawn(future)
        }

        /// Runs `future` to its end from synchronous code, wherever that code runs, without
        /// stalling the tasks of the runtime it may be on: a plain thread blocks; a
        /// multi-thread runtime's worker hands its other tasks on first (`block_in_place`); a
        /// current-thread runtime's only thread cannot, so the engine's own runtime (which it
        /// then has) drives the future from a helper thread.
        pub(crate) fn wait<F>(&self, future: F) -> F::Output
        where
            F: Future + Send,
            F::Output: Send,
        {
            match Handle::try_current() {
                Err(_) => self.handle.block_on(future),
                Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => {
                    block_in_place(|| current.block_on(future))
                }
                Ok(_) => std::thread::scope(|scope| {
                    scope
                        .spawn(|| self.handle.block_on(future))
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                }),
            }
        }

        /// Lets the engine's `tasks` end, once it has told them to stop. On a runtime of its
        /// own it waits for them, then for the runtime's worker threads, so that dropping the
        /// engine leaves no thread behind (unless it is dropped inside a runtime, where waiting
        /// for threads would block it: they are let go). On a runtime it shares, the tasks end
        /// by themselves.
        pub(crate) fn shut_down(&mut self, tasks: Vec<JoinHandle<()>>) {
            let Some(runtime) = self.own.take() else {
                return;
            };
            // A panicked task has already reported itself; shutting down goes on.
            self.wait(async move {
                for task in tasks {
                    let _ = task.await;
                }
            });
            match Handle::try_current() {
                Err(_) => runtime.shutdown_timeout(Duration::from_secs(10)),
                Ok(_) => runtime.shutdown_background(),
            }
        }

        /// How many tasks the runtime runs, for a watchdog's report.
        pub(crate) fn alive_tasks(&self) -> Option<usize> {
            Some(self.handle.metrics().num_alive_tasks())
        }
    }
}
