//! Words for a failure: how far the search got and what blocked it there, and how two
//! snapshots differ.

use std::collections::BTreeSet;

use crate::domain::snapshot::Snapshot;

/// The furthest the search got, for a failure that says where explaining stopped.
#[derive(Default)]
pub(super) struct Furthest {
    depth: usize,
    order: Vec<String>,
    blockers: Vec<String>,
}

impl Furthest {
    pub(super) fn reached(&mut self, depth: usize, order: impl FnOnce() -> Vec<String>) {
        if depth > self.depth || self.order.is_empty() && depth == self.depth {
            self.depth = depth;
            self.order = order();
            self.blockers.clear();
        }
    }

    pub(super) fn blocked(&mut self, depth: usize, why: String) {
        if depth == self.depth && self.blockers.len() < 12 && !self.blockers.contains(&why) {
            self.blockers.push(why);
        }
    }

    pub(super) fn explain(&self, total: usize) -> String {
        let mut out = format!(
            "at best {} of {total} racing steps were explained, in this order:\n",
            self.depth
        );
        for step in &self.order {
            out.push_str(&format!("  {step}\n"));
        }
        out.push_str("and from there no step could go next:\n");
        for why in &self.blockers {
            out.push_str(&format!("  {why}\n"));
        }
        out
    }
}

/// The differences between two snapshots, in a line or a few.
pub fn snapshot_diff(expected: &Snapshot, actual: &Snapshot) -> String {
    let mut out = Vec::new();
    if expected.clock != actual.clock {
        out.push(format!("clock {:?} vs {:?}", expected.clock, actual.clock));
    }
    if expected.counters != actual.counters {
        out.push(format!(
            "counters (model, engine): {:?} vs {:?}",
            expected.counters, actual.counters
        ));
    }
    let ids: BTreeSet<_> = expected
        .clients
        .keys()
        .chain(actual.clients.keys())
        .collect();
    for id in ids {
        let (e, a) = (expected.clients.get(id), actual.clients.get(id));
        if e != a {
            out.push(format!(
                "{id}: model {:?}, engine {:?}",
                e.map(|v| v.room),
                a.map(|v| v.room)
            ));
        }
    }
    let rooms: BTreeSet<_> = expected.rooms.keys().chain(actual.rooms.keys()).collect();
    for id in rooms {
        let (e, a) = (expected.rooms.get(id), actual.rooms.get(id));
        if e != a {
            out.push(format!("room {id}: model {e:?}, engine {a:?}"));
        }
    }
    out.join("; ")
}
