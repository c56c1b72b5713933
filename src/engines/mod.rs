//! The engines: the `Engine` contract, and each implementation of it side by side.
//!
//! - `engine`: the contract every engine keeps, and the spec that names one.
//! - `lock`: shared state striped over parking_lot mutexes.
//! - `hub`: the channel design's world and room actors as state machines, carried by
//!   `actor`: a world actor and room actors on threads, fed by crossbeam channels, and by
//!   `task`: the same actors as tokio tasks, fed by tokio mpsc (not under loom; under shuttle
//!   on shuttle-tokio).
//! - `rooms`, `courier`: room bookkeeping and outbox delivery every engine shares, so the
//!   engines differ only in how they synchronize.
//! - `registry`: the table of engines every consumer iterates.
//! - `serial`: the test-only engine (feature `test-engine`), the model behind one mutex.
//! - `seeded`: planted bugs (feature `seeded-bugs`); `work`: simulated game logic.

pub(crate) mod actor;
pub(crate) mod courier;
pub(crate) mod engine;
pub(crate) mod hub;
pub(crate) mod lock;
pub(crate) mod registry;
pub(crate) mod rooms;
pub mod seeded;
#[cfg(feature = "test-engine")]
pub(crate) mod serial;
#[cfg(not(lockchan_loom))]
pub(crate) mod task;
pub mod work;

/// The fingerprint of the engine sources this binary was built from (`src/engines`,
/// `src/domain`, `src/sync`, by `build.rs`): a gate decided by another build is stale here.
pub const ENGINE_SOURCE_HASH: &str = env!("LOCKCHAN_ENGINE_HASH");
