//! What the three criterion benches share, one file per concern:
//!
//! - `profile.rs`: the profile they run in (full, quick or criterion's test mode) and the
//!   criterion settings that go with it;
//! - `pool.rs`: the pool of caller threads that a barrier releases inside a measurement;
//! - `fairness.rs`: each thread's window of operations, and fairness between threads;
//! - `usage.rs`: resource usage from `getrusage`, and a case's peak memory;
//! - `clock.rs`: the latency clock and histogram;
//! - `record.rs`: the per-case JSON record the report reads from
//!   `target/lockchan-bench/{group}__{engine}__{param}.json`.
//!
//! Each bench includes this directory as its own `mod support`, so an item one bench leaves
//! unused is still used by another.

use std::sync::{Mutex, MutexGuard, PoisonError};

mod clock;
mod fairness;
mod pool;
mod profile;
mod record;
mod usage;

// The door the benches use. Each bench uses its own part of it (calibration only
// `configure`), so a name one bench leaves unused is another's.
#[allow(
    unused_imports,
    reason = "each bench uses its own part of the shared helpers"
)]
pub use self::{
    clock::{latency_histogram, now_ns},
    fairness::Window,
    pool::Pool,
    profile::{configure, sized},
    record::{Case, Tally, machine, write_record},
    usage::{PeakRss, usage},
};

/// Takes a lock whose holder may have panicked: every lock here guards plain data that a
/// panic leaves whole, and the panic itself is reported by whoever caught it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
