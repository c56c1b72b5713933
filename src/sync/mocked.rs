//! The primitives of a model-checked build (`--cfg lockchan_loom`): loom's mutexes, atomics,
//! `Arc` and threads, and channels with crossbeam's API built on loom's mutex and condvar
//! (`condvar_channel.rs`, shared with the shuttle backend).
//!
//! It exports exactly what `native.rs` exports, with the same signatures where the engines use
//! them, so engine code compiles unchanged against either. Everything here only works inside
//! `loom::model`, which is why nothing but `tests/loom.rs` and this module's own checks
//! (`loom_tests.rs`) runs with this cfg.

use std::sync::PoisonError;

pub(crate) use loom::sync::{Arc, MutexGuard};
// For `channel`, which builds its waits on it; the engines never wait on a condvar themselves.
use loom::sync::Condvar;

/// loom's mutex behind parking_lot's face: `lock` hands out the guard itself.
///
/// parking_lot has no poisoning, so neither does this: a guard that a panicking thread held is
/// handed out as it is, rather than turning one panic into a cascade of unrelated ones.
pub(crate) struct Mutex<T: ?Sized>(loom::sync::Mutex<T>);

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Mutex<T> {
        Mutex(loom::sync::Mutex::new(value))
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks until the lock is free. `track_caller` keeps loom's reports pointing at the
    /// engine's line rather than at this wrapper.
    #[track_caller]
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

/// loom finds deadlocks itself and fails the model with the cycle; there is no detector to ask.
#[allow(dead_code)] // Only the watchdog of `verify` asks, and it never runs under loom.
pub(crate) fn deadlock_cycles() -> Option<String> {
    None
}

/// The hash map engines keep their state in, with a fixed seed: loom replays an execution by
/// making the same choices again, and a broadcast that walks a randomly seeded map in a new
/// order on every replay would take different steps than the schedule it is replaying.
pub(crate) type HashMap<K, V> = std::collections::HashMap<
    K,
    V,
    std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>,
>;

pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
}

pub(crate) mod thread {
    pub(crate) use loom::thread::JoinHandle;

    /// Starts a named loom thread; loom puts the name in its panic messages.
    pub(crate) fn spawn_named<F, T>(name: String, body: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        loom::thread::Builder::new()
            .name(name)
            .spawn(body)
            .expect("loom refused to start an engine thread")
    }
}

#[path = "condvar_channel.rs"]
pub(crate) mod channel;
