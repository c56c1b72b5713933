//! The contract every engine keeps, and the one place that builds an engine by name.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::Snapshot;
use crate::engines::actor::ActorEngine;
use crate::engines::lock::LockEngine;

/// A matchmaking engine: commands in, events out through each client's outbox.
///
/// This is the shape of the original server's hub. Every method may be called from any number
/// of threads at once. Results and errors of `submit` arrive only as events; a call naming an
/// unknown client has no outbox to answer to and is only counted
/// ([`Counters::unknown_client`](crate::Counters)). Time is whatever `tick` was last told;
/// an engine never reads a clock.
///
/// **Order.** When calls are made one at a time, each after the previous one's effects are
/// done (`quiesce()` between them, a no-op for a synchronous engine), every client's events
/// equal the sequential [`Model`](crate::Model)'s, in the same order, and so do the
/// snapshots. When calls race, the result must be explainable by some order of the calls
/// that respects each caller's own order — what the verification suite checks.
///
/// To try an engine of your own, implement this trait; the differential, concurrency and
/// duel harnesses take any `Engine`.
pub trait Engine: Send + Sync {
    /// A short name for tables and logs, such as `lock/4`.
    fn name(&self) -> String;

    /// Registers a client whose events go to `outbox`, and returns its id.
    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId;

    /// Runs `command` for `client`; its results arrive as events.
    fn submit(&self, client: ClientId, command: Command);

    /// Removes `client` from its room and from the world and closes its outbox. Nothing is
    /// delivered to it once this has taken effect.
    fn disconnect(&self, client: ClientId);

    /// Tells the engine the time: sends `Tick` when a tick period has passed and dissolves the
    /// open rooms whose match timeout has run out.
    fn tick(&self, now: Duration);

    /// The whole state. Consistent when no call is in progress.
    fn snapshot(&self) -> Snapshot;

    /// Returns once all work submitted before the call is done and its events delivered.
    fn quiesce(&self);

    /// What the engine can say about itself without waiting on anything, for a watchdog that
    /// found it stuck: queue depths and the like. `None` when there is nothing to add.
    fn diagnose(&self) -> Option<String> {
        None
    }

    /// The deepest any of the engine's queues has been, for an engine that has queues.
    fn peak_queue_depth(&self) -> Option<usize> {
        None
    }
}

/// The two strategies under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// Shared state under locks.
    Lock,
    /// State owned by actor threads fed by channels.
    Actor,
}

impl EngineKind {
    pub const ALL: [EngineKind; 2] = [EngineKind::Lock, EngineKind::Actor];
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Lock => "lock",
            EngineKind::Actor => "actor",
        })
    }
}

impl FromStr for EngineKind {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<EngineKind, UnknownEngine> {
        match s {
            "lock" => Ok(EngineKind::Lock),
            "actor" => Ok(EngineKind::Actor),
            _ => Err(UnknownEngine(s.to_owned())),
        }
    }
}

/// A name that is not an engine.
#[derive(Debug, thiserror::Error)]
#[error("unknown engine `{0}`: expected `lock` or `actor`, optionally with `/shards` (`lock/4`)")]
pub struct UnknownEngine(pub String);

/// Which engine to build: a strategy and its shard count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct EngineSpec {
    pub kind: EngineKind,
    /// Lock engine: how many locks stripe the state. Actor engine: how many room actors
    /// stand behind the world actor. At least 1.
    pub shards: usize,
}

impl EngineSpec {
    pub fn new(kind: EngineKind, shards: usize) -> EngineSpec {
        EngineSpec {
            kind,
            shards: shards.max(1),
        }
    }

    /// Builds the engine. Every engine in the crate is made here and nowhere else.
    pub fn build(self, config: EngineConfig) -> Box<dyn Engine> {
        match self.kind {
            EngineKind::Lock => Box::new(LockEngine::new(self.shards, config)),
            EngineKind::Actor => Box::new(ActorEngine::new(self.shards, config)),
        }
    }
}

impl FromStr for EngineSpec {
    type Err = UnknownEngine;

    /// Parses `lock/4`, `actor/2`, or a bare kind (one shard).
    fn from_str(s: &str) -> Result<EngineSpec, UnknownEngine> {
        let (kind, shards) = s.split_once('/').unwrap_or((s, "1"));
        let shards = shards
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| UnknownEngine(s.to_owned()))?;
        Ok(EngineSpec::new(kind.parse()?, shards))
    }
}

impl fmt::Display for EngineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.shards)
    }
}

/// Where a room of user limit `limit` lives when state is split `shards` ways: every room of
/// one limit in the same place, so "the oldest open room of this limit" is one shard's answer.
pub(crate) fn room_shard(limit: u8, shards: usize) -> usize {
    usize::from(limit) % shards
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_parse_and_print() {
        assert_eq!("lock".parse::<EngineKind>().ok(), Some(EngineKind::Lock));
        assert_eq!("actor".parse::<EngineKind>().ok(), Some(EngineKind::Actor));
        let err = "mutex".parse::<EngineKind>().err().map(|e| e.to_string());
        let expected = "unknown engine `mutex`: expected `lock` or `actor`, optionally with \
                        `/shards` (`lock/4`)";
        assert_eq!(err.as_deref(), Some(expected));
        let spec = "actor/3".parse::<EngineSpec>().ok();
        assert_eq!(spec, Some(EngineSpec::new(EngineKind::Actor, 3)));
        assert!("lock/0".parse::<EngineSpec>().is_err());
        assert!("lock/x".parse::<EngineSpec>().is_err());
        assert_eq!(EngineSpec::new(EngineKind::Actor, 0).to_string(), "actor/1");
    }

    #[test]
    fn every_limit_maps_to_one_shard_in_range() {
        for shards in 1..6 {
            for limit in crate::MIN_ROOM_LIMIT..=crate::MAX_ROOM_LIMIT {
                assert!(room_shard(limit, shards) < shards);
            }
        }
    }
}
