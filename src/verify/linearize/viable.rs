//! Cutting dead branches early: after each step, can the search state still finish? The
//! search would find out anyway, but only at the end of the race or when a step happens to
//! send something to the client concerned, after trying every order of the steps between.
//!
//! A state cannot finish, whatever the remaining steps do, when
//!
//! - **a client's stream holds an event nothing left can send it**: every recorded event must
//!   be explained by the end of the teardown, and each kind of event comes only from certain
//!   calls (a `Said` from its sayer's `Say` of those bytes, a `Joined` from the client's own
//!   `Join`, a `MatchTimeout` from a tick, ...; a broadcast also from an open one). If none of
//!   those is left, racing or in the teardown, the event can never be explained; nor can any
//!   event of a client that disconnected, since nothing reaches it any more;
//! - **a client owed an open broadcast can neither hear it nor be let off**: a client
//!   connected (its outbox open) when a broadcast was sent must hear it before the window
//!   closes, unless its outbox closes or it disconnects first. Broadcast events are unique, so
//!   if the rest of its stream does not hold the event, and no step of a disconnect of that
//!   client is left, the window will close on a missing delivery.
//!
//! Both are facts about every continuation, so cutting such a state loses no explanation.

use std::collections::BTreeMap;

use super::replay::{Bits, Checker, Node};
use super::steps::Step;
use super::{Call, History};
use crate::domain::command::Command;
use crate::domain::event::Event;
use crate::domain::ids::ClientId;
use crate::spec::call::Connected;

/// Where each recorded event could still come from.
pub(super) struct Sources {
    /// By client index, then by position in its stream.
    of: Vec<Vec<Source>>,
    /// By client index: the racing steps of its disconnects.
    leaves: Vec<Bits>,
    /// By client index: the racing step that connects it, if the race does.
    connects: Vec<Option<usize>>,
}

/// The racing steps that could send one recorded event, and whether the teardown could.
struct Source {
    steps: Bits,
    teardown: bool,
}

/// True when `call` could send `event` to `to` (a superset: every step of such a call counts).
fn could_send(call: &Call, to: ClientId, event: &Event) -> bool {
    let submits = |by: ClientId, what: &dyn Fn(&Command) -> bool| matches!(call, Call::Submit(client, command) if *client == by && what(command));
    let join = |c: &Command| matches!(c, Command::Join { .. });
    match event {
        Event::Joined { .. } => submits(to, &join),
        Event::MemberJoined { client, .. } => submits(*client, &join),
        Event::Matched { members, .. } => members.iter().any(|m| submits(*m, &join)),
        Event::Left { .. } => submits(to, &|c| matches!(c, Command::Leave)),
        Event::MemberLeft { client, .. } => {
            submits(*client, &|c| matches!(c, Command::Leave))
                || matches!(call, Call::Disconnect(c) if c == client)
        }
        Event::MatchTimeout { .. } | Event::Tick { .. } => matches!(call, Call::Tick(_)),
        Event::Said { from, data, .. } => submits(
            *from,
            &|c| matches!(c, Command::Say { data: d } if d == data),
        ),
        Event::Shouted { from, text } => submits(
            *from,
            &|c| matches!(c, Command::Shout { text: t } if t == text),
        ),
        Event::Error { command, .. } => submits(to, &|c| c.kind() == *command),
    }
}

impl Sources {
    pub(super) fn new(
        history: &History,
        steps: &[Step],
        ids: &[ClientId],
        streams: &[&[Event]],
    ) -> Sources {
        let of = ids
            .iter()
            .zip(streams)
            .map(|(&to, stream)| {
                stream
                    .iter()
                    .map(|event| {
                        let mut from = Bits::new(steps.len());
                        for (id, step) in steps.iter().enumerate() {
                            if could_send(step.call(history), to, event) {
                                from.set(id);
                            }
                        }
                        let teardown = history.teardown.iter().any(|c| could_send(c, to, event));
                        Source {
                            steps: from,
                            teardown,
                        }
                    })
                    .collect()
            })
            .collect();
        let index: BTreeMap<ClientId, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut leaves = vec![Bits::new(steps.len()); ids.len()];
        let mut connects = vec![None; ids.len()];
        for (id, step) in steps.iter().enumerate() {
            match step.call(history) {
                Call::Disconnect(client) => {
                    if let Some(&i) = index.get(client) {
                        leaves[i].set(id);
                    }
                }
                Call::Connect(Connected { client, .. }) => {
                    if let Some(&i) = index.get(client) {
                        connects[i] = Some(id);
                    }
                }
                Call::Submit(..) | Call::Tick(_) => {}
            }
        }
        // A client the teardown connects is never checked as gone.
        for call in &history.teardown {
            if let Call::Connect(Connected { client, .. }) = call
                && let Some(&i) = index.get(client)
            {
                connects[i] = Some(usize::MAX);
            }
        }
        Sources {
            of,
            leaves,
            connects,
        }
    }
}

impl Checker<'_> {
    /// Refuses a state no continuation can finish (module doc).
    pub(super) fn can_still_finish(&self, node: &Node) -> Result<(), String> {
        let sources = &self.sources;
        for (i, &client) in self.ids.iter().enumerate() {
            let bit = 1u64 << i;
            let heard = self.streams[i];
            let pos = node.pos[i];
            if pos == heard.len() || node.state.is_closed(client) {
                // A closed outbox was heard to its end when it closed.
                continue;
            }
            let connected_once = match sources.connects[i] {
                None => true,
                Some(usize::MAX) => false,
                Some(id) => node.done.has(id),
            };
            if connected_once && !node.state.is_connected(client) {
                return Err(format!(
                    "{client} is gone but heard {:?} (event {}) after all it was sent",
                    heard[pos],
                    pos + 1
                ));
            }
            for (at, event) in heard.iter().enumerate().skip(pos) {
                let source = &sources.of[i][at];
                if source.teardown || source.steps.any_outside(&node.done) {
                    continue;
                }
                let open = || {
                    node.open
                        .iter()
                        .any(|open| open.delivered & bit == 0 && open.event == *event)
                };
                if matches!(event, Event::Shouted { .. } | Event::Tick { .. }) && open() {
                    continue;
                }
                return Err(format!(
                    "{client} heard {event:?} (event {}), which nothing left can send it",
                    at + 1
                ));
            }
        }
        let reachable = self.reachable(node);
        for open in &node.open {
            let owed = open.owed & reachable & !open.delivered;
            for (i, &client) in self.ids.iter().enumerate() {
                if owed & (1 << i) == 0
                    || self.streams[i][node.pos[i]..].contains(&open.event)
                    || sources.leaves[i].any_outside(&node.done)
                {
                    continue;
                }
                return Err(format!(
                    "{client} is owed {:?}, which the rest of its stream does not hold, and \
                     it is not leaving",
                    open.event
                ));
            }
        }
        Ok(())
    }
}
