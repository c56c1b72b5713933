//! The search: Wing and Gong's depth-first walk over the racing steps that may go next, with
//! memoization (as in porcupine and lincheck): a search state seen once, by its fingerprint,
//! is never searched again, nor one that owes more than a state searched and is otherwise the
//! same (`Seen`). Plus the partial-order reductions that keep it small, each a step or a few
//! taken at a node without branching on the others (`only_counts`, `refusers`), and the budget
//! that stops it.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use super::explain::Furthest;
use super::replay::{Checker, Node};
use super::{Budget, Explanation, LinearizeError};
use crate::domain::command::CommandKind;
use crate::domain::event::Event;

impl Checker<'_> {
    fn candidates(&self, node: &Node, order: Order) -> Vec<usize> {
        let mut out = Vec::new();
        for (id, step) in self.steps.iter().enumerate() {
            if node.done.has(id) || !step.after.iter().all(|&a| node.done.has(a)) {
                continue;
            }
            if self.only_counts(node, id) {
                // Taking it now loses no explanation: see `only_counts`.
                return vec![id];
            }
            out.push(id);
        }
        if self.shortcuts
            && let Some(refusers) = self.refusers(node)
        {
            // Taking one of them now loses no explanation: see `refusers`.
            out = refusers;
        }
        if order == Order::SideBySide {
            out.sort_by_key(|&id| {
                let s = &self.steps[id];
                (s.index * 1000 / self.history.threads[s.thread].len(), id)
            });
        }
        out
    }

    /// True when enabled step `id` is a submit or disconnect naming a client that is gone (or
    /// never was, and no racing step connects it) and closes no open broadcast window. Such a
    /// step only counts an unknown client: it reads nothing any other step changes (a gone
    /// client never comes back), and nothing reads what it changes but the counters (the
    /// final check, and the cuts of states whose counters cannot end right), so any
    /// explanation that takes it later also works with it moved here. Taking it alone,
    /// without branching, is the partial-order reduction that keeps a thread hammering a
    /// disconnected client from multiplying the search. A client that a racing step has yet
    /// to connect is not gone: a call naming it may take effect after that connect (the
    /// scenarios never name another thread's client, but a history may).
    fn only_counts(&self, node: &Node, id: usize) -> bool {
        // Only a submit or a disconnect names a client.
        let Some(&client) = self.steps[id].call(self.history).client() else {
            return false;
        };
        !node.state.is_connected(client)
            && !self.connects_later(node, client)
            && !node.open.iter().any(|open| open.closer == Some(id))
    }

    /// When some client waits for a refusal next: the steps that can send it that refusal
    /// first, if it is sure that one of the steps ready now is first (`linearize`'s module doc,
    /// "Shortcuts"). Of the clients it applies to, the one with the fewest such steps.
    ///
    /// Why it loses no explanation. Say client `c` is connected with its outbox open, and the
    /// next event of its stream is `E`, an `Error` for a `Join` or a `Leave`, or for a `Say`
    /// while `c` holds no seat, and the teardown cannot send `E`; `S` are the racing steps left
    /// that could (`c`'s own submits of that command: `viable::Sources`). Take any order of the
    /// steps left that explains the run, and `R`, the first step of `S` in it. Until `E` is
    /// heard nothing can be delivered to `c` (it would have to be `E`, which only `S` sends),
    /// so in between
    ///
    /// - `c`'s seat stays as it is: whatever changes a seat sends its holder an event
    ///   (`Joined`, `Left`, `MatchTimeout`, or for a room-mate's coming and going
    ///   `MemberJoined`, `MemberLeft`, `Matched`);
    /// - `c` stays connected with its outbox open: closing it needs `c`'s stream heard to
    ///   the end, and once gone `c` could never hear `E`;
    /// - none of `c`'s own joins, leaves or disconnects goes: a join or leave answers a
    ///   connected client with an open outbox, a disconnect closes it.
    ///
    /// So `R` answers `c` (a join or a leave always does, and so does a say without a seat),
    /// and with `E`: `R` is a refusal. And `R` is ready now: the rule applies only when each
    /// step of `S` that is not ready is behind a step left that is in `S` (and so comes after
    /// `R`, the first) or is `c`'s own join, leave or disconnect (and so comes after `E` is
    /// heard, after `R`). Moved to the front, `R` does what it did: it reads `c`'s connection,
    /// outbox and seat, unchanged in between, and the hub's check of what `c` heard first
    /// (`order.rs`) reads only broadcasts sent before `R`'s message, all sent already, and
    /// what `c` heard of them, unchanged. The steps it moves ahead of do what they did: `R`
    /// changes nothing they read (only `c`'s place in its stream, and counters), and they
    /// send `c` nothing; a broadcast that `c` hears after `E` is now delivered when it is
    /// sent (or at once, if it was) rather than when `R` went, in the same place of `c`'s
    /// stream and after the same broadcasts, so the hub's orders judge it alike. `R` closes
    /// no open window (checked: on the lock engine a caller's next call closes its last
    /// call's broadcast windows). So the moved order reaches the same node and explains the
    /// run as well; the search tries each ready step of `S` as `R`.
    fn refusers(&self, node: &Node) -> Option<Vec<usize>> {
        let mut best: Option<Vec<usize>> = None;
        for (i, &client) in self.ids.iter().enumerate() {
            let state = &node.state;
            if !state.is_connected(client) || state.is_closed(client) {
                continue;
            }
            let Some(Event::Error { command, .. }) = self.streams[i].get(node.pos[i]) else {
                continue;
            };
            let answers = match command {
                CommandKind::Join | CommandKind::Leave => true,
                CommandKind::Say => !state.is_seated(client),
                CommandKind::Shout => false,
            };
            let (senders, teardown) = self.sources.of(i, node.pos[i]);
            if !answers || teardown {
                continue;
            }
            // A step that cannot go while the client waits for the refusal.
            let held = |q: usize| senders.has(q) || self.sources.answers_or_leaves(i).has(q);
            let mut ready = Vec::new();
            let mut sure = true;
            for id in 0..self.steps.len() {
                if !senders.has(id) || node.done.has(id) {
                    continue;
                }
                if node.open.iter().any(|open| open.closer == Some(id)) {
                    sure = false;
                    break;
                }
                if self.steps[id].after.iter().all(|&a| node.done.has(a)) {
                    ready.push(id);
                } else if !(0..self.steps.len())
                    .any(|q| self.before[id].has(q) && !node.done.has(q) && held(q))
                {
                    sure = false;
                    break;
                }
            }
            if sure && best.as_ref().is_none_or(|best| ready.len() < best.len()) {
                best = Some(ready);
            }
        }
        best
    }

    /// The search, within `budget`, in two tries that share it: first trying the steps in
    /// the order of threads running side by side, then, if that gave up, in the order of one
    /// thread after another (see [`Order`]). A try that ends without giving up decides.
    pub(super) fn search(&self, budget: Budget) -> Result<Explanation, LinearizeError> {
        let first = Budget {
            states: budget.states / 2,
            ..budget
        };
        match self.search_in(first, Order::SideBySide) {
            Err(LinearizeError::Inconclusive { explored, .. }) => {
                let rest = Budget {
                    states: budget.states.saturating_sub(explored),
                    ..budget
                };
                self.search_in(rest, Order::ThreadByThread)
                    .map_err(|error| match error {
                        LinearizeError::Inconclusive {
                            explored: more,
                            reason,
                            furthest,
                        } => LinearizeError::Inconclusive {
                            explored: explored + more,
                            reason,
                            furthest,
                        },
                        other => other,
                    })
            }
            decided => decided,
        }
    }

    fn search_in(&self, budget: Budget, order: Order) -> Result<Explanation, LinearizeError> {
        let mut root = Node::root(self.steps.len(), self.ids.len(), self.semantics.shards);
        if let Err(why) = self.run_strict(&mut root, &self.history.setup) {
            return Err(LinearizeError::Unexplained {
                explored: 0,
                why: format!("the sequential setup already differs from the model: {why}"),
            });
        }
        let mut seen = Seen {
            covering: self.shortcuts,
            nodes: HashMap::new(),
        };
        seen.insert(&root);
        let mut furthest = Furthest::default();
        let mut stack = vec![Frame {
            candidates: self.candidates(&root, order),
            node: root,
            next: 0,
            via: None,
        }];
        let total = self.steps.len();
        if total == 0 {
            return match self.finish(&stack[0].node) {
                Ok(()) => Ok(Explanation {
                    order: Vec::new(),
                    explored: 1,
                }),
                Err(why) => Err(LinearizeError::Unexplained { explored: 1, why }),
            };
        }
        let mut explored = 1;
        while let Some(top) = stack.last_mut() {
            let Some(&id) = top.candidates.get(top.next) else {
                stack.pop();
                continue;
            };
            top.next += 1;
            let depth = top.node.done.count();
            let child = match self.take(&top.node, id) {
                Ok(child) => child,
                Err(why) => {
                    furthest.blocked(
                        depth,
                        format!("{}: {why}", self.steps[id].describe(self.history)),
                    );
                    continue;
                }
            };
            if !seen.insert(&child) {
                continue;
            }
            explored += 1;
            if explored > budget.states {
                return Err(LinearizeError::Inconclusive {
                    explored,
                    reason: "state budget spent",
                    furthest: furthest.explain(total),
                });
            }
            if explored % 1024 == 0 && budget.deadline.is_some_and(|d| Instant::now() > d) {
                return Err(LinearizeError::Inconclusive {
                    explored,
                    reason: "time budget spent",
                    furthest: furthest.explain(total),
                });
            }
            let path = || {
                stack
                    .iter()
                    .filter_map(|frame| frame.via)
                    .chain([id])
                    .map(|id| self.steps[id].describe(self.history))
                    .collect::<Vec<_>>()
            };
            let reached = child.done.count();
            if reached == total {
                match self.finish(&child) {
                    Ok(()) => {
                        return Ok(Explanation {
                            order: path(),
                            explored,
                        });
                    }
                    Err(why) => {
                        furthest.reached(total, path);
                        furthest.blocked(total, format!("after the last step: {why}"));
                        continue;
                    }
                }
            }
            furthest.reached(reached, path);
            stack.push(Frame {
                candidates: self.candidates(&child, order),
                node: child,
                next: 0,
                via: Some(id),
            });
        }
        Err(LinearizeError::Unexplained {
            explored,
            why: furthest.explain(total),
        })
    }
}

/// Which order a try of the search takes the candidates in. It decides nothing but how soon
/// an explanation is found, so a run the first try gives up on is tried again the other way
/// with what is left of the budget. Under shuttle's schedulers the racing threads progress
/// side by side, so the steps least far through their thread (as a share of its calls) go
/// first: on 119 actor runs the checker had given up on, this alone explained 73 within the
/// same budget, against 24 in thread order. Real threads, started one after another, often
/// run one ahead of the next, which thread order (the search's original order) suits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    SideBySide,
    ThreadByThread,
}

struct Frame {
    node: Node,
    candidates: Vec<usize>,
    next: usize,
    via: Option<usize>,
}

/// The nodes searched, for memoization: by fingerprint, and with `covering`, by the
/// fingerprint of the node without its `owed` bits, with the `owed` bits of each node searched.
///
/// Owing a broadcast only ever refuses: every reader of `owed` turns a set bit into a refusal
/// (a window closing on a missing delivery, a client hearing something before what it is
/// owed, the cut of a client owed what its stream does not hold), and nothing else reads it.
/// So a node whose `owed` bits include those of a node already searched, and that equals it
/// otherwise, has no explanation the searched one lacked: every order of the steps left that
/// works from it works from the searched one, which found none (a node is never searched
/// again while its own search is under way: every step adds to `done`). Such nodes come from
/// the orders of a race's connects around a broadcast: the client connected before it is
/// owed it, after it not.
struct Seen {
    covering: bool,
    nodes: HashMap<u64, Vec<Vec<u64>>>,
}

impl Seen {
    /// Records `node`; false when it, or a node that covers it, was searched already.
    fn insert(&mut self, node: &Node) -> bool {
        if !self.covering {
            let known = self.nodes.entry(fingerprint(node)).or_default();
            if !known.is_empty() {
                return false;
            }
            known.push(Vec::new());
            return true;
        }
        let owed: Vec<u64> = node.open.iter().map(|open| open.owed).collect();
        let mut bare = node.clone();
        for open in &mut bare.open {
            open.owed = 0;
        }
        let known = self.nodes.entry(fingerprint(&bare)).or_default();
        let covered =
            |seen: &Vec<u64>| seen.iter().zip(&owed).all(|(seen, owed)| seen & !owed == 0);
        if known.iter().any(covered) {
            return false;
        }
        known.push(owed);
        true
    }
}

fn fingerprint(node: &Node) -> u64 {
    // SipHash with fixed keys: a 64-bit fingerprint per state, deterministic across runs.
    let mut hasher = DefaultHasher::new();
    node.hash(&mut hasher);
    hasher.finish()
}
