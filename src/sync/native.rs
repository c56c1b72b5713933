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
    pub(crate) use crossbeam_channel::{
        Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError, bounded, unbounded,
    };

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
