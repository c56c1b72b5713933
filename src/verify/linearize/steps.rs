//! The racing calls cut into steps: the pieces an engine takes one at a time (its declared
//! [`Orderings`](crate::engines::engine::Orderings) say which), each linked to the steps that
//! must come before it, the chains of calls whose order the engine keeps.

use std::collections::BTreeMap;

use super::{Call, History, Semantics};
use crate::domain::ids::ClientId;
use crate::engines::engine::{CallOrder, DisconnectOrder, TickOrder};
use crate::spec::call::Connected;

/// Which piece of a call a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// The whole call at once: connect, submit, disconnect.
    Whole,
    /// Lock engine: a tick reaching shard `s` (shard 0 also decides the `Tick`).
    LockVisit(usize),
    /// Lock engine: a tick's expiry, under every shard's lock.
    LockExpire,
    /// Actor engine: the world's part of a tick.
    ActorWorld,
    /// Actor engine: room actor `s` handling the tick: its clock and its expiries.
    ActorRoom(usize),
    /// Actor engine: the world closing a disconnecting client's outbox, before its room (the
    /// call's `Whole` step) lets it go.
    ActorClose,
}

/// The pieces `call` is cut into, in the order the engine takes them.
pub(super) fn parts(call: &Call, semantics: Semantics) -> Vec<Part> {
    let orderings = semantics.orderings;
    match call {
        Call::Tick(_) => match orderings.tick {
            TickOrder::ShardsThenExpiry => (0..semantics.shards)
                .map(Part::LockVisit)
                .chain([Part::LockExpire])
                .collect(),
            TickOrder::WorldThenRooms => std::iter::once(Part::ActorWorld)
                .chain((0..semantics.shards).map(Part::ActorRoom))
                .collect(),
        },
        Call::Disconnect(_) if orderings.disconnect == DisconnectOrder::ClosesFirst => {
            vec![Part::ActorClose, Part::Whole]
        }
        _ => vec![Part::Whole],
    }
}

/// One racing step and what must come before it.
#[derive(Debug)]
pub(super) struct Step {
    pub(super) thread: usize,
    /// Index of its call in the thread.
    pub(super) index: usize,
    pub(super) part: Part,
    /// Steps that must be done first.
    pub(super) after: Vec<usize>,
    /// For a step that opens a broadcast: the step whose taking closes its window (the
    /// caller's next call taking effect); `None` closes it when the race ends.
    pub(super) closer: Option<usize>,
}

impl Step {
    /// The call this step is a piece of.
    pub(super) fn call<'h>(&self, history: &'h History) -> &'h Call {
        &history.threads[self.thread][self.index]
    }

    /// The step, described for people: `t1#3 c4 join 2 (shard 0)`.
    pub(super) fn describe(&self, history: &History) -> String {
        let call = self.call(history);
        let part = match self.part {
            Part::Whole => String::new(),
            Part::LockVisit(s) => format!(" (shard {s})"),
            Part::LockExpire => " (expiry)".to_owned(),
            Part::ActorWorld => " (world)".to_owned(),
            Part::ActorRoom(s) => format!(" (room actor {s})"),
            Part::ActorClose => " (world closes the outbox)".to_owned(),
        };
        format!("t{}#{} {call}{part}", self.thread, self.index)
    }
}

/// Cuts the racing calls into steps and links each to what must precede it.
pub(super) fn cut(history: &History, semantics: Semantics) -> Vec<Step> {
    /// The chain a call belongs to within its thread: the whole thread on the lock engine;
    /// on the actor engine its client, or the thread's ticks.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Chain {
        Thread,
        Client(ClientId),
        Ticks,
    }
    let dropping_disconnect = |call: &Call| {
        semantics.orderings.disconnect == DisconnectOrder::ClosesFirst
            && matches!(call, Call::Disconnect(_))
    };
    let chain_of = |call: &Call| match (semantics.orderings.calls, call) {
        (CallOrder::Thread, _) => Chain::Thread,
        (CallOrder::Client, Call::Tick(_)) => Chain::Ticks,
        (CallOrder::Client, Call::Connect(Connected { client, .. }))
        | (CallOrder::Client, Call::Submit(client, _))
        | (CallOrder::Client, Call::Disconnect(client)) => Chain::Client(*client),
    };
    let mut steps: Vec<Step> = Vec::new();
    for (thread, calls) in history.threads.iter().enumerate() {
        // Per chain, its last call so far: the range of that call's steps, and the step the
        // chain goes on from.
        let mut last: BTreeMap<Chain, (std::ops::Range<usize>, usize)> = BTreeMap::new();
        // Actor engine: each room actor's step of the previous tick, by shard.
        let mut last_room: BTreeMap<usize, usize> = BTreeMap::new();
        // Actor engine: each client chain's last call that was not a submit.
        let mut last_anchor: BTreeMap<Chain, usize> = BTreeMap::new();
        for (index, call) in calls.iter().enumerate() {
            let chain = chain_of(call);
            let first = steps.len();
            let previous = last.get(&chain).cloned();
            if let Some((range, _)) = &previous
                && semantics.orderings.calls == CallOrder::Thread
            {
                // This call's first step closes the previous call's broadcast windows: a
                // caller's next call starts only after the last one returned. Not so on
                // the actor engine, where a room actor's step may straddle several of the
                // world's broadcasts (one member hears its event before them, another
                // after): there a broadcast's window stays open to the end of the race.
                for step in &mut steps[range.clone()] {
                    step.closer = Some(first);
                }
            }
            let mut world = None;
            for part in parts(call, semantics) {
                let id = steps.len();
                let mut after = Vec::new();
                if let Part::ActorRoom(shard) = part {
                    // A room actor handles ticks in its queue's order, each after the world
                    // sent it.
                    after.extend(world);
                    after.extend(last_room.insert(shard, id));
                } else if id == first && dropping_disconnect(call) {
                    // A disconnect may overtake the client's submits before it: those still
                    // in the world's stash are dropped with it, which the model explains as
                    // submits after the disconnect (see `maybe_dropped`).
                    after.extend(last_anchor.get(&chain));
                } else if id == first {
                    after.extend(previous.as_ref().map(|(_, from)| *from));
                } else {
                    after.push(id - 1);
                }
                if part == Part::ActorWorld {
                    world = Some(id);
                }
                steps.push(Step {
                    thread,
                    index,
                    part,
                    after,
                    closer: None,
                });
            }
            // The chain goes on from the call's own main line: the world step of an actor
            // tick (its room steps run on their own queues), else the call's last step.
            let from = world.unwrap_or(steps.len() - 1);
            last.insert(chain, (first..steps.len(), from));
            if !matches!(call, Call::Submit(..)) {
                last_anchor.insert(chain, from);
            }
        }
    }
    steps
}
