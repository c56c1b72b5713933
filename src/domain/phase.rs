//! The tick's phases: which clients a `tick(now)` sends `Tick` to, as every engine (and the
//! floor) keeps it. The sequential model states the same rule in its own words
//! (`spec/state.rs`); this is the engines' shared copy, so that they differ only in how they
//! synchronize.
//!
//! Clients are split into `P` groups ([`EngineConfig::phases`]) by id: client `c` is in group
//! `c % P`. Group `g`'s ticks are anchored at the slots `g·period/P + k·period` (k = 0, 1, …):
//! a tick at clock `now` is due for group `g` once `now` has reached its next slot, and then
//! its next slot becomes the first one strictly later than `now`. So a client hears one
//! `Tick` per period, at its group's phase, and the period's ticks are spread over `P`
//! instants instead of one. A zero period makes every tick due for every group.
//!
//! Anchoring (rather than "a period after the last tick") keeps a group on its phase however
//! late the clock's calls land; with `P = 1` it differs from "due when never ticked or a
//! period has passed since the last" only after a call that landed between whole periods.

use std::time::Duration;

use crate::domain::config::EngineConfig;
use crate::domain::ids::ClientId;

/// The phase group of `client` among `groups` groups (`groups` of 0 counts as 1).
pub(crate) fn phase_group(client: ClientId, groups: u32) -> u32 {
    // The remainder is below `groups`, a u32.
    (client.0 % u64::from(groups.max(1))) as u32
}

/// The next tick slot of every phase group: plain data, kept by whoever decides `Tick` (a
/// lock shard, the hub's world, the floor's clock) and stepped by its `tick` calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TickSchedule {
    period: Duration,
    /// Group `g`'s next due slot, by group.
    next: Vec<Duration>,
}

impl TickSchedule {
    /// Every group due at its first slot, `g·period/P`.
    pub(crate) fn new(config: &EngineConfig) -> TickSchedule {
        let groups = config.phases();
        let period = config.tick_period;
        let next = (0..groups).map(|g| offset(period, g, groups)).collect();
        TickSchedule { period, next }
    }

    /// How many groups there are (`P`, at least 1).
    pub(crate) fn groups(&self) -> u32 {
        // `new` made one slot per group, and the group count is a u32.
        self.next.len() as u32
    }

    /// The groups due at `clock`, in group order, each moved on to its first slot after
    /// `clock`. `clock` must never go back (callers pass their clock, the latest time told).
    pub(crate) fn due(&mut self, clock: Duration) -> Vec<u32> {
        let mut due = Vec::new();
        for (g, next) in (0u32..).zip(self.next.iter_mut()) {
            if clock >= *next {
                due.push(g);
                *next = slot_after(*next, self.period, clock);
            }
        }
        due
    }
}

/// Group `g`'s first slot: `g·period/P`, in whole nanoseconds.
fn offset(period: Duration, g: u32, groups: u32) -> Duration {
    nanos(period.as_nanos() * u128::from(g) / u128::from(groups))
}

/// The first of `slot + k·period` (k ≥ 1) strictly later than `clock`, given `slot ≤ clock`;
/// with a zero period, `slot` itself, so every later tick is due again.
fn slot_after(slot: Duration, period: Duration, clock: Duration) -> Duration {
    let period = period.as_nanos();
    if period == 0 {
        return slot;
    }
    let passed = (clock - slot).as_nanos() / period + 1;
    nanos(slot.as_nanos() + passed * period)
}

/// A count of nanoseconds as a duration, saturating where a `Duration` ends.
fn nanos(n: u128) -> Duration {
    match u64::try_from(n / 1_000_000_000) {
        // The remainder is below 10^9, so it fits.
        Ok(secs) => Duration::new(secs, (n % 1_000_000_000) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(phases: u32) -> TickSchedule {
        TickSchedule::new(&EngineConfig {
            tick_phases: phases,
            ..EngineConfig::default()
        })
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn groups_come_due_at_their_offsets_once_a_period() {
        let mut s = schedule(4);
        let calls = [0, 100, 250, 499, 500, 760, 999, 1000, 1250, 1500, 1750];
        let due: Vec<Vec<u32>> = calls.iter().map(|&t| s.due(ms(t))).collect();
        let want: [&[u32]; 11] = [
            &[0],
            &[],
            &[1],
            &[],
            &[2],
            &[3],
            &[],
            &[0],
            &[1],
            &[2],
            &[3],
        ];
        assert_eq!(due, want);
    }

    #[test]
    fn a_late_call_sends_each_overdue_group_once_and_keeps_the_phase() {
        let mut s = schedule(2);
        assert_eq!(s.due(ms(3700)), [0, 1]);
        // Next slots: group 0 at 4000, group 1 at 4500.
        assert_eq!(s.due(ms(3999)), [] as [u32; 0]);
        assert_eq!(s.due(ms(4000)), [0]);
        assert_eq!(s.due(ms(4500)), [1]);
    }

    #[test]
    fn zero_phases_count_as_one_and_a_zero_period_is_always_due() {
        let mut s = schedule(0);
        assert_eq!(s.groups(), 1);
        assert_eq!(phase_group(ClientId(7), 0), 0);
        assert_eq!(s.due(ms(10)), [0]);
        let mut zero = TickSchedule::new(&EngineConfig {
            tick_period: Duration::ZERO,
            tick_phases: 3,
            ..EngineConfig::default()
        });
        assert_eq!(zero.due(ms(0)), [0, 1, 2]);
        assert_eq!(zero.due(ms(0)), [0, 1, 2]);
    }

    #[test]
    fn a_huge_clock_saturates_rather_than_overflowing() {
        let mut s = schedule(3);
        assert_eq!(s.due(Duration::MAX), [0, 1, 2]);
        assert_eq!(s.due(Duration::MAX), [0, 1, 2]);
    }
}
