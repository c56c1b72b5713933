//! The one door to synchronization primitives.
//!
//! Every engine takes its mutexes, atomics, channels and threads from here and never names
//! `parking_lot`, `crossbeam-channel`, `std::sync` or `loom` itself. Normally the primitives are
//! parking_lot's and crossbeam's; built with `RUSTFLAGS="--cfg lockchan_loom"` they are loom's
//! models with the same API, so the very same engine code can be model-checked.
//!
//! The project-specific cfg matters: a bare `--cfg loom` would reach every dependency (tokio
//! among them) and change what they compile to.

#[cfg(not(lockchan_loom))]
mod native;
#[cfg(not(lockchan_loom))]
pub(crate) use native::*;

#[cfg(lockchan_loom)]
mod mocked;
#[cfg(lockchan_loom)]
pub(crate) use mocked::*;
