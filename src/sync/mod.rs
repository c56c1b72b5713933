//! The one door to synchronization primitives.
//!
//! Every engine takes its mutexes, atomics, channels, threads and tasks from here and never
//! names `parking_lot`, `crossbeam-channel`, `std::sync`, `tokio`, `loom` or `shuttle` itself.
//! There are three implementations of one API, chosen here and nowhere else:
//!
//! - `native.rs` (a normal build): parking_lot's locks, crossbeam's channels, std's threads,
//!   and tokio for the task engine;
//! - `mocked.rs` (`RUSTFLAGS="--cfg lockchan_loom"`): loom's models, so a small race can be
//!   checked under every interleaving (`tests/loom.rs`; the shim's own checks are
//!   `loom_tests.rs`);
//! - `shuttle.rs` (`RUSTFLAGS="--cfg lockchan_shuttle"`): shuttle's, so whole generated
//!   scenarios run under a controlled, randomized scheduler that can replay a failing
//!   schedule (`tests/shuttle.rs`); the task engine's tokio comes from shuttle-tokio there.
//!
//! The task engine's `task` module (tokio's channels and `select!`, and `TaskRuntime`: where
//! its tasks run and how a synchronous caller waits for them) exists in the native and shuttle
//! backends only: loom cannot run tokio.
//!
//! The two controlled backends share their channels (`condvar_channel.rs`), built on each
//! checker's mutex and condvar.
//!
//! The project-specific cfgs matter: a bare `--cfg loom` or `--cfg shuttle` would reach every
//! dependency that knows them and change what they compile to.

#[cfg(all(lockchan_loom, lockchan_shuttle))]
compile_error!(
    "choose one controlled scheduler: `--cfg lockchan_loom` or `--cfg lockchan_shuttle`"
);

#[cfg(not(any(lockchan_loom, lockchan_shuttle)))]
mod native;
#[cfg(not(any(lockchan_loom, lockchan_shuttle)))]
pub(crate) use native::*;

#[cfg(lockchan_loom)]
mod mocked;
#[cfg(lockchan_loom)]
pub(crate) use mocked::*;

#[cfg(all(test, lockchan_loom))]
mod loom_tests;

#[cfg(lockchan_shuttle)]
mod shuttle;
#[cfg(lockchan_shuttle)]
pub(crate) use self::shuttle::*;
