//! The knobs every engine shares, with the original server's defaults.

use std::time::Duration;

/// The smallest user limit a room may have.
pub const MIN_ROOM_LIMIT: u8 = 2;
/// The largest user limit a room may have.
pub const MAX_ROOM_LIMIT: u8 = 16;

/// Behaviour shared by the model and every engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// How often `tick(now)` sends `Tick` to each client (the world ticker: 1 s).
    pub tick_period: Duration,
    /// Into how many phase groups the clients are split for the tick (1, the default: every
    /// client ticks at once). Client `c` is in group `c % tick_phases`, and group `g` ticks
    /// once a period at the offset `g·tick_period/tick_phases`, so a period's ticks are spread
    /// over `tick_phases` instants rather than sent to everyone in one burst
    /// (the model states the rule, `spec/state.rs`; the engines share `domain/phase.rs`). 0 is
    /// treated as 1 ([`EngineConfig::phases`]).
    pub tick_phases: u32,
    /// How long an open room may wait for its last member before it dissolves (10 s).
    pub match_timeout: Duration,
    /// The largest `Say` data or `Shout` text, in bytes (4 KiB).
    pub max_message_bytes: usize,
    /// Capacity of each actor's command queue (actor engine only); a full queue makes the
    /// caller wait, which is the engine's backpressure.
    pub queue_capacity: usize,
    /// Units of simulated game logic ([`burn`](crate::work::burn)) each `Say` costs inside
    /// the engine, while it holds the room: under the room's lock, on the room's actor, in
    /// the model. 0 (the default) for none; the benchmarks turn it to move work into the
    /// critical section.
    pub say_work: u32,
    /// The planted mistake this engine carries, for proving that verification catches it.
    /// Always none without the `seeded-bugs` feature.
    pub seeded: crate::seeded::Seeded,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            tick_period: Duration::from_secs(1),
            tick_phases: 1,
            match_timeout: Duration::from_secs(10),
            max_message_bytes: 4096,
            queue_capacity: 1024,
            say_work: 0,
            seeded: crate::seeded::Seeded::default(),
        }
    }
}

impl EngineConfig {
    /// The number of tick phase groups: `tick_phases`, with 0 treated as 1 (never a division
    /// by zero).
    pub fn phases(&self) -> u32 {
        self.tick_phases.max(1)
    }
}

/// The default capacity of a client's outbox: the original server's send queue.
pub const DEFAULT_OUTBOX_CAPACITY: usize = 256;
