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
//! - **a client waits for an event that only comes after its own command answers it**: a
//!   client's `Join` or `Leave` always sends it something (`Joined`, `Left` or an `Error`)
//!   while its outbox is open, and its outbox stays open until its stream is heard to the
//!   end; so if every step left that could send the client's next event must come after such
//!   a command that cannot send that event, the command's answer would arrive first, where
//!   the stream holds something else (`answered_first`);
//! - **a counter has already passed the engine's**: the model's counters only grow, and
//!   after the race they must equal the engine's (`counters_within`); likewise the clock, and
//!   a room's stamp, which never changes, and its id, which is never reused (`rooms_within`);
//! - **a counter can no longer reach the engine's**: what the steps left can add to
//!   `commands`, `errors` and `unknown_client` is bounded from below and above by who is
//!   connected for good, who is gone for good, and how many refusals the streams still hold
//!   (`counters_reachable`);
//! - **a room the streams still speak of is gone, or its counters cannot end right**: an
//!   event ahead names a room already dissolved, or opens one already opened (ids are never
//!   reused); the rooms the streams ahead name bound from below how many rooms the race
//!   still opens, matches and times out, the joins left how many it can open
//!   (`rooms_reachable`).
//!
//! - **world-broadcast engines: a client owed a broadcast hears first what must follow it**:
//!   its stream holds, before the broadcast (or anywhere ahead, if it does not hold it: the
//!   client is owed it until its outbox closes), a broadcast the world sends later or an
//!   event only steps after the broadcasting step can send (`owed_first`; `order.rs` refuses
//!   both once they are heard, this cuts the state as soon as they are bound to be).
//!
//! All are facts about every continuation, so cutting such a state loses no explanation.

use std::collections::{BTreeMap, BTreeSet};

use super::replay::{Bits, Checker, Node};
use super::steps::{Part, Step};
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
    /// By client index: the racing steps that always answer it while its outbox is open (its
    /// own `Join`s and `Leave`s: `Joined` or `Left`, or an `Error`).
    answers: Vec<Vec<usize>>,
    /// By client index: its `answers` and `leaves` as one set.
    answering: Vec<Bits>,
}

/// The racing steps that could send one recorded event, and whether the teardown could.
struct Source {
    steps: Bits,
    teardown: bool,
}

/// Whether every counter of `bounds` (its name, the lowest and the highest value the model
/// can still end at, and the engine's value) lies within its range; the first that does not
/// is named in the error.
fn within(bounds: &[(&str, u64, u64, u64)]) -> Result<(), String> {
    match bounds
        .iter()
        .find(|(_, low, high, engine)| low > engine || high < engine)
    {
        None => Ok(()),
        Some((name, low, high, engine)) => Err(format!(
            "the model's {name} can only end between {low} and {high}, not at the engine's \
             {engine}"
        )),
    }
}

/// True when `call` could send `event` to `to` (a superset: every step of such a call counts).
fn could_send(call: &Call, to: ClientId, event: &Event) -> bool {
    let submits = |by: ClientId, what: &dyn Fn(&Command) -> bool| match call {
        Call::Submit(client, command) => *client == by && what(command),
        _ => false,
    };
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
    /// The racing steps that could send client `i` the event at `at` of its stream, and
    /// whether the teardown could.
    pub(super) fn of(&self, i: usize, at: usize) -> (&Bits, bool) {
        let source = &self.of[i][at];
        (&source.steps, source.teardown)
    }

    /// Client `i`'s own racing joins, leaves and disconnect steps: while it is connected with
    /// its outbox open, each answers it or closes its outbox.
    pub(super) fn answers_or_leaves(&self, i: usize) -> &Bits {
        &self.answering[i]
    }

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
        let mut answers = vec![Vec::new(); ids.len()];
        for (id, step) in steps.iter().enumerate() {
            match step.call(history) {
                Call::Submit(client, Command::Join { .. } | Command::Leave) => {
                    if let Some(&i) = index.get(client) {
                        answers[i].push(id);
                    }
                }
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
        let answering = answers
            .iter()
            .zip(&leaves)
            .map(|(answers, leaves)| {
                let mut bits = leaves.clone();
                for &id in answers {
                    bits.set(id);
                }
                bits
            })
            .collect();
        Sources {
            of,
            leaves,
            connects,
            answers,
            answering,
        }
    }
}

impl Checker<'_> {
    /// Refuses a state no continuation can finish (module doc).
    pub(super) fn can_still_finish(&self, node: &Node) -> Result<(), String> {
        self.counters_within(node)?;
        if self.shortcuts {
            self.counters_reachable(node)?;
        }
        self.rooms_within(node)?;
        if self.shortcuts {
            self.rooms_reachable(node)?;
        }
        let sources = &self.sources;
        for (i, &client) in self.ids.iter().enumerate() {
            let bit = 1u64 << i;
            let heard = self.streams[i];
            let pos = node.pos[i];
            if pos == heard.len() || node.state.is_closed(client) {
                // A closed outbox was heard to its end when it closed.
                continue;
            }
            if self.gone(node, i) {
                return Err(format!(
                    "{client} is gone but heard {:?} (event {}) after all it was sent",
                    heard[pos],
                    pos + 1
                ));
            }
            if !node.state.is_closed(client) && node.state.is_connected(client) {
                self.answered_first(node, i)?;
            }
            for (at, event) in heard.iter().enumerate().skip(pos) {
                let source = &sources.of[i][at];
                if source.teardown || source.steps.any_outside(&node.done) {
                    continue;
                }
                let open = || node.open.iter().any(|open| open.awaits(client, bit, event));
                if matches!(event, Event::Shouted { .. } | Event::Tick { .. }) && open() {
                    continue;
                }
                return Err(format!(
                    "{client} heard {event:?} (event {}), which nothing left can send it",
                    at + 1
                ));
            }
        }
        if self.shortcuts && self.hub.is_some() {
            self.owed_first(node)?;
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

    /// World-broadcast engines: a client owed an open broadcast must hear it before anything
    /// the hub's orders put after it (`order.rs`), and stays owed until it hears it, or else
    /// until its outbox closes, which needs the rest of its stream heard (being owed ends
    /// only so: by hearing it, or by becoming unreachable, after which nothing more is heard).
    /// So the state is dead when the client's stream holds, before the broadcast (or, if it
    /// does not hold it, anywhere ahead), a broadcast the world sends after it (one open after
    /// it in `open`, or one not sent yet: a racing step will append it after this one, and
    /// the teardown sends only after every window closed), or an event that only steps after
    /// the broadcasting step can send. Without this cut, a tick's world step taken while a
    /// connected client's stream still held a shout to come before the `Tick` failed only once
    /// that shout was taken, after every order of the steps in between.
    fn owed_first(&self, node: &Node) -> Result<(), String> {
        let reachable = self.reachable(node);
        for (at, open) in node.open.iter().enumerate() {
            let Some(opener) = open.opener else {
                continue;
            };
            let owed = open.owed & reachable & !open.delivered;
            for (i, &client) in self.ids.iter().enumerate() {
                if owed & (1 << i) == 0 {
                    continue;
                }
                let rest = &self.streams[i][node.pos[i]..];
                // Owed until it hears it, or else until its outbox closes (it must have heard
                // the rest of its stream by then).
                let until = rest
                    .iter()
                    .position(|event| *event == open.event)
                    .unwrap_or(rest.len());
                for (k, event) in rest[..until].iter().enumerate() {
                    let after = if matches!(event, Event::Shouted { .. } | Event::Tick { .. }) {
                        let sent = node
                            .open
                            .iter()
                            .position(|other| other.event == *event && other.reaches(client));
                        sent.is_none_or(|other| other > at)
                    } else {
                        let source = &self.sources.of[i][node.pos[i] + k];
                        !source.teardown
                            && (0..self.steps.len()).all(|id| {
                                !source.steps.has(id)
                                    || node.done.has(id)
                                    || self.before[id].has(opener)
                            })
                    };
                    if after {
                        return Err(format!(
                            "{client} is owed {:?} but hears {event:?} (event {}) before it, \
                             which the world sends after it",
                            open.event,
                            node.pos[i] + k + 1
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Client `i` is reachable and its next event can only come from steps that must all
    /// come after one of its own `Join`s or `Leave`s that cannot send it. That one answers
    /// the client when it is taken, while the client still waits for the event (a client
    /// stays reachable until its stream is heard to the end: its outbox closes only then, and
    /// nothing reaches it once it is gone), so the answer would have to be that event.
    fn answered_first(&self, node: &Node, i: usize) -> Result<(), String> {
        let bit = 1u64 << i;
        let pos = node.pos[i];
        let next = &self.streams[i][pos];
        if node
            .open
            .iter()
            .any(|open| open.awaits(self.ids[i], bit, next))
        {
            return Ok(());
        }
        let source = &self.sources.of[i][pos];
        // The teardown comes after every racing step, so it cannot help here.
        let producers: Vec<usize> = (0..self.steps.len())
            .filter(|&id| source.steps.has(id) && !node.done.has(id))
            .collect();
        for &answer in &self.sources.answers[i] {
            if node.done.has(answer) || source.steps.has(answer) {
                continue;
            }
            if producers.iter().all(|&p| self.before[p].has(answer)) {
                return Err(format!(
                    "{} waits for {next:?} (event {}), which only steps after {} can send, and \
                     that one answers it first",
                    self.ids[i],
                    pos + 1,
                    self.steps[answer].describe(self.history)
                ));
            }
        }
        Ok(())
    }

    /// The rooms the streams still speak of. A room is spoken of (`Joined`, `MemberJoined`,
    /// `Matched`, `MemberLeft`, `Left`, `Said`, `MatchTimeout`) only while it is open, and a
    /// `Joined` that names its receiver alone is the one its opener hears (a room is never
    /// open and empty); ids are never reused, and the rooms of a limit open in the order of
    /// their numbers. So a state is dead when an event still ahead (one the teardown cannot
    /// send) speaks of a room already dissolved, or opens one already opened; and the rooms
    /// the race still has to open (up to the highest number the streams ahead or the engine's
    /// final state name, per limit), match (those the `Matched` ahead name) and time out
    /// (those the `MatchTimeout` ahead name) bound the counters from below, while the joins
    /// left bound `rooms_opened` from above. (A run where a client's command, taken while its
    /// outbox was closed, opened a room that another client's stream says it opened itself
    /// searched every order of the steps after it before this cut.)
    fn rooms_reachable(&self, node: &Node) -> Result<(), String> {
        let state = &node.state;
        let model = state.counters();
        let engine = &self.observed.race_snapshot.counters;
        let mut highest: BTreeMap<u8, u64> = BTreeMap::new();
        for id in self.observed.race_snapshot.rooms.keys() {
            let seq = highest.entry(id.limit).or_default();
            *seq = (*seq).max(id.seq);
        }
        let mut to_match = BTreeSet::new();
        let mut to_time_out = BTreeSet::new();
        for (i, &client) in self.ids.iter().enumerate() {
            for (at, event) in self.streams[i].iter().enumerate().skip(node.pos[i]) {
                let room = match event {
                    Event::Joined { room, .. }
                    | Event::MemberJoined { room, .. }
                    | Event::Matched { room, .. }
                    | Event::MemberLeft { room, .. }
                    | Event::Left { room }
                    | Event::Said { room, .. }
                    | Event::MatchTimeout { room } => *room,
                    Event::Shouted { .. } | Event::Tick { .. } | Event::Error { .. } => continue,
                };
                if self.sources.of[i][at].teardown {
                    continue;
                }
                let open = state.room_matched(room);
                let opens = matches!(event, Event::Joined { members, .. } if **members == [client]);
                if state.was_opened(room) && (open.is_none() || opens) {
                    return Err(format!(
                        "{client} hears {event:?} (event {}), but room {room} was opened already{}",
                        at + 1,
                        if open.is_none() { " and is gone" } else { "" }
                    ));
                }
                let seq = highest.entry(room.limit).or_default();
                *seq = (*seq).max(room.seq);
                match event {
                    Event::Matched { .. } if open != Some(true) => {
                        to_match.insert(room);
                    }
                    Event::MatchTimeout { .. } => {
                        to_time_out.insert(room);
                    }
                    _ => {}
                }
            }
        }
        let to_open: u64 = highest
            .iter()
            .map(|(&limit, &seq)| seq.saturating_sub(state.last_room(limit)))
            .sum();
        let joins = (0..self.steps.len())
            .filter(|&id| !node.done.has(id))
            .filter(|&id| match self.steps[id].call(self.history) {
                Call::Submit(client, Command::Join { .. }) => {
                    self.index.get(client).is_some_and(|&i| !self.gone(node, i))
                }
                _ => false,
            })
            .count() as u64;
        let bounds = [
            (
                "rooms_opened",
                model.rooms_opened + to_open,
                model.rooms_opened + joins,
                engine.rooms_opened,
            ),
            (
                "rooms_matched",
                model.rooms_matched + to_match.len() as u64,
                u64::MAX,
                engine.rooms_matched,
            ),
            (
                "rooms_timed_out",
                model.rooms_timed_out + to_time_out.len() as u64,
                u64::MAX,
                engine.rooms_timed_out,
            ),
        ];
        within(&bounds)
    }

    /// A room's id is never reused and its stamp never changes, and the clock only grows: so
    /// a room open in both with different stamps, a room of the engine's final state that the
    /// model already opened and dissolved, or a clock already past the engine's, is final.
    fn rooms_within(&self, node: &Node) -> Result<(), String> {
        let engine = &self.observed.race_snapshot;
        let state = &node.state;
        if state.clock() > engine.clock {
            return Err(format!(
                "the model's clock is already {:?}, past the engine's final {:?}",
                state.clock(),
                engine.clock
            ));
        }
        for (id, stamp) in state.room_stamps() {
            if let Some(room) = engine.rooms.get(&id)
                && room.created_at != stamp
            {
                return Err(format!(
                    "room {id} opened at {stamp:?}, the engine's at {:?}",
                    room.created_at
                ));
            }
        }
        for id in engine.rooms.keys() {
            if state.was_opened(*id) && !state.room_stamps().any(|(open, _)| open == *id) {
                return Err(format!(
                    "room {id} is already gone, and the engine's final state holds it"
                ));
            }
        }
        Ok(())
    }

    /// The counters the racing steps left can still reach. Each racing submit adds one to the
    /// model's `commands` (its client connected then) or to its `unknown_client` (not); a
    /// racing disconnect adds one to `disconnects` or to `unknown_client`; only a submit of a
    /// connected client can be refused (`errors`). A client connected with no disconnect step
    /// left stays connected, so all its submits left count as commands; one that is gone
    /// never comes back, so none of its do, nor those that come after one of its own
    /// disconnects. And the streams ahead (events the teardown cannot
    /// send) show commands still to come: every `Error`, `Joined` or `Left` answers one
    /// command of its receiver (sent by that command's own step, so not made yet), every say
    /// heard (`Said`, likewise) and every shout heard but not sent yet is one command of its
    /// sender, and every `Error` is one refusal. So the counters after the race lie within
    /// bounds known now, and a state whose bounds miss the engine's counts is dead. Before
    /// these bounds a state that had counted one command too many (a command taken while its
    /// client was still connected, where the engine had dropped it after the client's
    /// disconnect) searched every order of the steps after it before the counts disagreed at
    /// the end.
    fn counters_reachable(&self, node: &Node) -> Result<(), String> {
        let state = &node.state;
        let model = state.counters();
        let engine = &self.observed.race_snapshot.counters;
        // By client index: submits left that must count as commands (the client stays
        // connected), and commands the streams ahead show it still makes. Submits left that
        // may count as commands (not those after one of their client's disconnects), and
        // submits and disconnects left that may count as an unknown client's.
        let mut must = vec![0u64; self.ids.len()];
        let mut shown = vec![0u64; self.ids.len()];
        let (mut may, mut unknown) = (0u64, 0u64);
        for (id, step) in self.steps.iter().enumerate() {
            if node.done.has(id) || step.part != Part::Whole {
                continue;
            }
            match step.call(self.history) {
                Call::Submit(client, _) => match self.index.get(client) {
                    Some(&i) if !self.gone(node, i) && !self.after_leaving(i, id) => {
                        may += 1;
                        if state.is_connected(*client)
                            && !self.sources.leaves[i].any_outside(&node.done)
                        {
                            must[i] += 1;
                        } else {
                            unknown += 1;
                        }
                    }
                    _ => unknown += 1,
                },
                Call::Disconnect(_) => unknown += 1,
                Call::Connect(_) | Call::Tick(_) => {}
            }
        }
        // What the streams ahead show is still to come (events the teardown cannot send): each
        // `Error`, `Joined` or `Left` answers one command of its receiver; each say heard
        // (`Said`, delivered by the say's own step) and each shout heard but not sent yet is
        // one command of its sender.
        let mut refusals = 0u64;
        let mut relayed = BTreeSet::new();
        for (i, stream) in self.streams.iter().enumerate() {
            for (at, event) in stream.iter().enumerate().skip(node.pos[i]) {
                if self.sources.of[i][at].teardown {
                    continue;
                }
                match event {
                    Event::Error { .. } => {
                        refusals += 1;
                        shown[i] += 1;
                    }
                    Event::Joined { .. } | Event::Left { .. } => shown[i] += 1,
                    Event::Said {
                        from, data: text, ..
                    }
                    | Event::Shouted { from, text }
                        if !node.open.iter().any(|open| open.event == *event) =>
                    {
                        relayed.insert((*from, text.clone()));
                    }
                    _ => {}
                }
            }
        }
        for (from, _) in &relayed {
            if let Some(&i) = self.index.get(from) {
                shown[i] += 1;
            }
        }
        let must: u64 = must
            .iter()
            .zip(&shown)
            .map(|(must, shown)| *must.max(shown))
            .sum();
        let bounds = [
            (
                "commands",
                model.commands + must,
                model.commands + may,
                engine.commands,
            ),
            (
                "errors",
                model.errors + refusals,
                model.errors + may,
                engine.errors,
            ),
            (
                "unknown_client",
                0,
                model.unknown_client + unknown,
                engine.unknown_client,
            ),
        ];
        within(&bounds)
    }

    /// True when racing step `id` comes after a disconnect of client `i` (its part that lets
    /// the client go): a submit of `i` there finds it gone, for good.
    fn after_leaving(&self, i: usize, id: usize) -> bool {
        (0..self.steps.len()).any(|q| {
            self.sources.leaves[i].has(q)
                && self.steps[q].part == Part::Whole
                && self.before[id].has(q)
        })
    }

    /// True when a racing step left connects `client`.
    pub(super) fn connects_later(&self, node: &Node, client: ClientId) -> bool {
        let connect = self
            .index
            .get(&client)
            .and_then(|&i| self.sources.connects[i]);
        connect.is_some_and(|id| id != usize::MAX && !node.done.has(id))
    }

    /// True when client `i` was connected and is gone: it never comes back.
    fn gone(&self, node: &Node, i: usize) -> bool {
        let connected_once = match self.sources.connects[i] {
            None => true,
            Some(usize::MAX) => false,
            Some(id) => node.done.has(id),
        };
        connected_once && !node.state.is_connected(self.ids[i])
    }

    /// The model's counters only grow, and once the race is over they must equal the engine's
    /// (but for stashed commands the engine dropped uncounted, which the model counted as an
    /// unknown client's: `maybe_dropped` of them may be missing from the engine's
    /// `unknown_client`). So a state whose counters already exceed the engine's is dead.
    fn counters_within(&self, node: &Node) -> Result<(), String> {
        let model = node.state.counters();
        let engine = &self.observed.race_snapshot.counters;
        let each = [
            ("connects", model.connects, engine.connects),
            ("disconnects", model.disconnects, engine.disconnects),
            ("commands", model.commands, engine.commands),
            (
                "unknown_client",
                model.unknown_client.saturating_sub(node.maybe_dropped),
                engine.unknown_client,
            ),
            ("errors", model.errors, engine.errors),
            (
                "events_delivered",
                model.events_delivered,
                engine.events_delivered,
            ),
            (
                "slow_consumer_cuts",
                model.slow_consumer_cuts,
                engine.slow_consumer_cuts,
            ),
            ("rooms_opened", model.rooms_opened, engine.rooms_opened),
            ("rooms_matched", model.rooms_matched, engine.rooms_matched),
            (
                "rooms_timed_out",
                model.rooms_timed_out,
                engine.rooms_timed_out,
            ),
        ];
        match each.iter().find(|(_, model, engine)| model > engine) {
            None => Ok(()),
            Some((name, model, engine)) => Err(format!(
                "the model's {name} is already {model}, past the engine's final {engine}"
            )),
        }
    }
}
