//! The orders a world-broadcast engine (`TickOrder::WorldThenRooms`: the hub's actor and task
//! engines) keeps in each client's stream, beyond those every engine keeps.
//!
//! The hub's world actor sends every broadcast itself, into each client's outbox, while it
//! handles the call (`World::broadcast`), and it handles one message at a time. So:
//!
//! - **A client hears the world's broadcasts in the order the world sent them.** In the order
//!   the search builds, the steps that send broadcasts (a `Shout`, a tick's world step) are the
//!   world's own steps, so the broadcasts still open are in the world's order: a client may
//!   not hear one before an earlier one it was owed.
//! - **What the world sent before a message, a client hears before what that message
//!   makes.** A step that must come after a broadcasting step (its `after` links, followed
//!   back) is one whose message reached the world after that step was done: a client's later
//!   command (the world takes a client's commands in order, stash and all), a later tick, or
//!   a room actor's part of this tick or a later one (sent to the room after the `Tick` went
//!   out: "so a member hears `Tick` before its room's `MatchTimeout`", `World::tick`). All it
//!   sends a client goes into the outbox after the broadcast did, so a client owed the
//!   broadcast must have heard it first.
//!
//! Both hold of the real order, in which each world step takes effect when the world handles
//! it, so no run the engine can produce is refused; they only refuse orders of the search
//! that no engine run matches, where the broadcast's window used to float to the end of the
//! race.

use super::Semantics;
use super::replay::{Bits, Checker, Node};
use super::steps::Step;
use crate::domain::event::Event;
use crate::engines::engine::TickOrder;

/// For each racing step, the steps it must come after, transitively (its `after` links
/// followed back). On every engine no order of the search takes a step before these; on a
/// world-broadcast engine they are also what the world handled before the step's message
/// reached it.
pub(super) fn before(steps: &[Step]) -> Vec<Bits> {
    let mut before: Vec<Bits> = Vec::with_capacity(steps.len());
    for step in steps {
        let mut bits = Bits::new(steps.len());
        for &a in &step.after {
            // `cut` links a step only to earlier ones.
            bits.set(a);
            bits.union(&before[a]);
        }
        before.push(bits);
    }
    before
}

/// The orders of a world-broadcast engine's hub.
pub(super) struct HubOrder;

impl HubOrder {
    /// The orders of `semantics`, if it is a world-broadcast engine's.
    pub(super) fn of(semantics: Semantics) -> Option<HubOrder> {
        (semantics.orderings.tick == TickOrder::WorldThenRooms).then_some(HubOrder)
    }

    /// Client `i` hears `event` from racing step `step`: refused while it is owed a broadcast
    /// that the world sent before `step`'s message and that it has not heard yet.
    pub(super) fn heard_after(
        &self,
        checker: &Checker,
        node: &Node,
        i: usize,
        event: &Event,
        step: usize,
    ) -> Result<(), String> {
        let bit = 1u64 << i;
        let earlier = node.open.iter().find(|open| {
            open.owed & bit != 0
                && open.delivered & bit == 0
                && open.opener.is_some_and(|o| checker.before[step].has(o))
        });
        match earlier {
            None => Ok(()),
            Some(open) => Err(format!(
                "{} heard {event:?} before {:?}, which the world sent it before {}",
                checker.ids[i],
                open.event,
                checker.steps[step].describe(checker.history)
            )),
        }
    }

    /// Client `i` hears the open broadcast at `at`: refused while it is owed one the world
    /// sent earlier and has not heard it yet.
    pub(super) fn broadcast_after(
        &self,
        checker: &Checker,
        node: &Node,
        i: usize,
        at: usize,
    ) -> Result<(), String> {
        let bit = 1u64 << i;
        let later = &node.open[at];
        if later.opener.is_none() {
            return Ok(());
        }
        let earlier = node.open[..at].iter().find(|open| {
            open.owed & bit != 0 && open.delivered & bit == 0 && open.opener.is_some()
        });
        match earlier {
            None => Ok(()),
            Some(open) => Err(format!(
                "{} heard {:?} before {:?}, which the world sent first",
                checker.ids[i], later.event, open.event
            )),
        }
    }
}
