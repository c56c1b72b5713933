//! Seeded bugs: engine variants that each carry one classic concurrency mistake, so the
//! verification suite can prove that it catches them. Compiled only with the `seeded-bugs`
//! feature; without it `Seeded::has` is a constant `false` and every buggy path disappears.
//!
//! Each bug is the kind the original Go server shipped or nearly shipped:
//!
//! | bug | engine | the mistake |
//! |---|---|---|
//! | `check_then_act_join` | lock | a join checks "not seated" under one lock hold and takes the seat under another |
//! | `lock_order_inversion` | lock | two shards locked client-first instead of lower-index-first |
//! | `delivery_after_disconnect` | lock | disconnect forgets to close the outbox and to leave the room, which keeps delivering |
//! | `lost_reply` | actor | a room actor drops its answer to a `Leave`, stranding the client's later commands and `quiesce` |
//! | `leaked_client` | actor | the world forgets a disconnected client that was seated |
//! | `double_matched` | both | a matched room that loses a member reopens, fills again and matches twice |
//! | `lock_across_await` | task | the world keeps an async mutex's guard across its awaited send into a room's full queue, and that room takes the same mutex before its next message |
//! | `bounded_notice_cycle` | task | rooms await a bounded notice queue (one slot) to the world while the world awaits a room's full queue: a cycle of bounded channels |
//! | `dropped_quiesce_reply` | task | the answer to a quiesce is never sent and its `oneshot` sender is kept, so the caller waits forever |
//! | `awaited_full_outbox` | task | the world awaits room in a client's full outbox instead of cutting the client off |
//! | `temporary_guard_relock` | lock | a shout checks its client through a guard in a `match` scrutinee, which lives to the end of the `match`, then locks every shard for the broadcast: the same shard twice |
//! | `lock_across_blocking_call` | lock | a disconnect "flushes" the client's outbox before closing it, waiting for the reader with the shards still locked |
//!
//! The task engine's bugs exist wherever the task engine does: not in a loom build; nor does
//! `lock_across_blocking_call`, whose wait is a sleep loop that loom cannot model.

use std::fmt;
use std::str::FromStr;

/// One planted mistake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeededBug {
    CheckThenActJoin,
    LockOrderInversion,
    DeliveryAfterDisconnect,
    LostReply,
    LeakedClient,
    DoubleMatched,
    #[cfg(not(lockchan_loom))]
    LockAcrossAwait,
    #[cfg(not(lockchan_loom))]
    BoundedNoticeCycle,
    #[cfg(not(lockchan_loom))]
    DroppedQuiesceReply,
    #[cfg(not(lockchan_loom))]
    AwaitedFullOutbox,
    TemporaryGuardRelock,
    #[cfg(not(lockchan_loom))]
    LockAcrossBlockingCall,
}

impl SeededBug {
    /// Every planted bug of this build, in the order tables list them.
    pub const ALL: &'static [SeededBug] = &[
        SeededBug::CheckThenActJoin,
        SeededBug::LockOrderInversion,
        SeededBug::DeliveryAfterDisconnect,
        SeededBug::LostReply,
        SeededBug::LeakedClient,
        SeededBug::DoubleMatched,
        #[cfg(not(lockchan_loom))]
        SeededBug::LockAcrossAwait,
        #[cfg(not(lockchan_loom))]
        SeededBug::BoundedNoticeCycle,
        #[cfg(not(lockchan_loom))]
        SeededBug::DroppedQuiesceReply,
        #[cfg(not(lockchan_loom))]
        SeededBug::AwaitedFullOutbox,
        SeededBug::TemporaryGuardRelock,
        #[cfg(not(lockchan_loom))]
        SeededBug::LockAcrossBlockingCall,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SeededBug::CheckThenActJoin => "check_then_act_join",
            SeededBug::LockOrderInversion => "lock_order_inversion",
            SeededBug::DeliveryAfterDisconnect => "delivery_after_disconnect",
            SeededBug::LostReply => "lost_reply",
            SeededBug::LeakedClient => "leaked_client",
            SeededBug::DoubleMatched => "double_matched",
            #[cfg(not(lockchan_loom))]
            SeededBug::LockAcrossAwait => "lock_across_await",
            #[cfg(not(lockchan_loom))]
            SeededBug::BoundedNoticeCycle => "bounded_notice_cycle",
            #[cfg(not(lockchan_loom))]
            SeededBug::DroppedQuiesceReply => "dropped_quiesce_reply",
            #[cfg(not(lockchan_loom))]
            SeededBug::AwaitedFullOutbox => "awaited_full_outbox",
            SeededBug::TemporaryGuardRelock => "temporary_guard_relock",
            #[cfg(not(lockchan_loom))]
            SeededBug::LockAcrossBlockingCall => "lock_across_blocking_call",
        }
    }

    /// The engine the bug is planted in: two shards, so cross-shard paths exist.
    pub fn engine(self) -> crate::EngineSpec {
        let kind = match self {
            SeededBug::CheckThenActJoin
            | SeededBug::LockOrderInversion
            | SeededBug::DeliveryAfterDisconnect
            | SeededBug::TemporaryGuardRelock => crate::EngineKind::LOCK,
            #[cfg(not(lockchan_loom))]
            SeededBug::LockAcrossBlockingCall => crate::EngineKind::LOCK,
            SeededBug::LostReply | SeededBug::LeakedClient | SeededBug::DoubleMatched => {
                crate::EngineKind::ACTOR
            }
            #[cfg(not(lockchan_loom))]
            SeededBug::LockAcrossAwait
            | SeededBug::BoundedNoticeCycle
            | SeededBug::DroppedQuiesceReply
            | SeededBug::AwaitedFullOutbox => crate::EngineKind::TASK,
        };
        crate::EngineSpec::new(kind, 2)
    }
}

impl fmt::Display for SeededBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SeededBug {
    type Err = String;

    fn from_str(s: &str) -> Result<SeededBug, String> {
        SeededBug::ALL
            .iter()
            .copied()
            .find(|bug| bug.name() == s)
            .ok_or_else(|| format!("unknown seeded bug `{s}`"))
    }
}

/// Which bug, if any, an engine was built with. Zero-sized without the feature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    #[cfg(feature = "seeded-bugs")]
    bug: Option<SeededBug>,
}

impl Seeded {
    /// An engine config's `seeded` for `bug`.
    #[cfg(feature = "seeded-bugs")]
    pub fn new(bug: Option<SeededBug>) -> Seeded {
        Seeded { bug }
    }

    /// True when the engine carries `bug`; always false without the `seeded-bugs` feature.
    #[inline(always)]
    pub(crate) fn has(self, bug: SeededBug) -> bool {
        #[cfg(feature = "seeded-bugs")]
        {
            self.bug == Some(bug)
        }
        #[cfg(not(feature = "seeded-bugs"))]
        {
            let _ = bug;
            false
        }
    }
}
