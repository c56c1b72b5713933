//! One step of a search state: a [`Node`] holds the model's state and how far each client's
//! stream is explained, and taking a step applies one piece of a call to the state (the
//! model's own rules, `spec/state.rs`) and matches what it sends against the recorded streams,
//! with the weakenings the engine's orderings allow (module doc of `linearize`). Also the
//! checks of a history before the search, and those after its last racing step.

use std::collections::{BTreeMap, BTreeSet};

use super::explain::snapshot_diff;
use super::steps::{self, Part, Step};
use super::{Call, History, LinearizeError, Observed, Semantics};
use super::{order, viable};
use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::event::Event;
use crate::domain::ids::{ClientId, Player};
use crate::engines::engine::DisconnectOrder;
use crate::engines::rooms::room_shard;
use crate::spec::call::Connected;
use crate::spec::state::{Effect, ModelState, Rules, in_phase};

/// A fixed-size set of step indices.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Bits(Vec<u64>);

impl Bits {
    pub(super) fn new(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }
    pub(super) fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    pub(super) fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    pub(super) fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    /// Adds every index of `other` (of the same length).
    pub(super) fn union(&mut self, other: &Bits) {
        for (word, more) in self.0.iter_mut().zip(&other.0) {
            *word |= more;
        }
    }
    /// True when some index of `self` is not in `other` (of the same length).
    pub(super) fn any_outside(&self, other: &Bits) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .any(|(word, done)| word & !done != 0)
    }
}

/// A broadcast whose deliveries are still being matched.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Open {
    pub(super) event: Event,
    /// Clients connected, their outbox open, when it was sent (by client index): each still
    /// so when the window closes must have heard it.
    pub(super) owed: u64,
    pub(super) delivered: u64,
    pub(super) closer: Option<usize>,
    /// The racing step that sent it; `None` in the sequential setup and teardown.
    pub(super) opener: Option<usize>,
    /// Who it is for: `None` for every client (a shout), or the tick phase group
    /// `(group, of)` (a `Tick`): a client outside it never hears it.
    pub(super) phase: Option<(u32, u32)>,
}

impl Open {
    /// True when `client` (index bit `bit`) may still hear this broadcast as `event`: it is
    /// for the client, which has not heard it yet.
    pub(super) fn awaits(&self, client: ClientId, bit: u64, event: &Event) -> bool {
        self.delivered & bit == 0 && self.reaches(client) && self.event == *event
    }

    /// True when the broadcast is for `client`.
    pub(super) fn reaches(&self, client: ClientId) -> bool {
        self.phase
            .is_none_or(|(group, of)| in_phase(client, group, of))
    }
}

/// One point of the search: what is done, the model's state, and how far each stream is
/// explained.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Node {
    pub(super) done: Bits,
    /// The model's state. On an engine whose disconnect closes the outbox first, the clients
    /// it holds as closed are those whose outbox the world closed while their room still held
    /// them: later events to them are lost.
    pub(super) state: ModelState,
    /// Events of each client's stream explained so far (by client index).
    pub(super) pos: Vec<usize>,
    /// Actor engine: closed clients that already had their one non-`Say` command answered
    /// after the close (the one that may have been at the room actor then).
    late: u64,
    /// Actor engine: submits of clients already gone, each counted as an unknown client's by
    /// the model but possibly dropped from the world's stash, uncounted, by the engine.
    pub(super) maybe_dropped: u64,
    pub(super) open: Vec<Open>,
}

impl Node {
    /// The search's root: nothing done, nothing heard, the model's state empty.
    pub(super) fn root(steps: usize, clients: usize, shards: usize) -> Node {
        Node {
            done: Bits::new(steps),
            state: ModelState::new(shards),
            pos: vec![0; clients],
            late: 0,
            maybe_dropped: 0,
            open: Vec::new(),
        }
    }
}

/// Whether the step may use the weakenings of a race (early close, dropped commands) or must
/// be exact, as in the sequential setup and teardown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Race,
    Strict,
}

/// A history to explain, with what the search reads about it.
pub(super) struct Checker<'a> {
    config: &'a EngineConfig,
    pub(super) semantics: Semantics,
    pub(super) history: &'a History,
    /// The clients, in the order they connected in the history; a client's index is its bit
    /// in the masks of a [`Node`].
    pub(super) ids: Vec<ClientId>,
    pub(super) index: BTreeMap<ClientId, usize>,
    players: BTreeMap<ClientId, Player>,
    pub(super) streams: Vec<&'a [Event]>,
    pub(super) observed: &'a Observed,
    pub(super) steps: Vec<Step>,
    /// By step: the steps it must come after, transitively (`order::before`).
    pub(super) before: Vec<Bits>,
    /// World-broadcast engines: the per-client orders the hub keeps (`order.rs`).
    pub(super) hub: Option<order::HubOrder>,
    /// What each event of each stream could still come from (`viable.rs`).
    pub(super) sources: viable::Sources,
    /// Whether the search takes its shortcuts (`linearize`'s module doc, "Shortcuts": cuts that
    /// bound what the steps left can do, and reductions). Always on, but in the tests that
    /// check that they change no verdict by searching without them too.
    pub(super) shortcuts: bool,
}

const NO_EVENTS: &[Event] = &[];

impl<'a> Checker<'a> {
    pub(super) fn new(
        history: &'a History,
        observed: &'a Observed,
        semantics: Semantics,
        config: &'a EngineConfig,
    ) -> Result<Checker<'a>, LinearizeError> {
        let malformed = |what: String| Err(LinearizeError::Malformed(what));
        let all = || {
            history
                .setup
                .iter()
                .chain(history.threads.iter().flatten())
                .chain(&history.teardown)
        };
        let mut ids = Vec::new();
        let mut players = BTreeMap::new();
        for call in all() {
            if let Call::Connect(Connected { client, player }) = call {
                if players.insert(*client, player.clone()).is_some() {
                    return malformed(format!("{client} was connected twice"));
                }
                ids.push(*client);
            }
        }
        if ids.len() > 64 {
            return malformed(format!("{} clients; at most 64 are checked", ids.len()));
        }
        if let Some(stranger) = observed.streams.keys().find(|id| !players.contains_key(id)) {
            return malformed(format!("a stream for {stranger}, who never connected"));
        }
        let tickers = history
            .threads
            .iter()
            .filter(|calls| calls.iter().any(|call| matches!(call, Call::Tick(_))))
            .count();
        if tickers > 1 {
            return malformed(format!(
                "{tickers} threads tick; the checker needs one ticker"
            ));
        }
        let mut shouts = BTreeSet::new();
        for call in all() {
            if let Call::Submit(client, Command::Shout { text }) = call
                && !shouts.insert((*client, text.clone()))
            {
                return malformed(format!(
                    "{client} shouts {text:?} twice: shouts must differ"
                ));
            }
        }
        let index: BTreeMap<ClientId, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let streams: Vec<&[Event]> = ids
            .iter()
            .map(|id| observed.streams.get(id).map_or(NO_EVENTS, Vec::as_slice))
            .collect();
        let steps = steps::cut(history, semantics);
        if steps.len() > 4096 {
            return malformed(format!(
                "{} racing steps is too many to search",
                steps.len()
            ));
        }
        let hub = order::HubOrder::of(semantics);
        let before = order::before(&steps);
        let sources = viable::Sources::new(history, &steps, &ids, &streams);
        Ok(Checker {
            hub,
            before,
            sources,
            config,
            semantics,
            history,
            ids,
            index,
            players,
            streams,
            observed,
            steps,
            shortcuts: true,
        })
    }

    /// The clients connected in `node`, as a mask of client indices.
    pub(super) fn connected(&self, node: &Node) -> u64 {
        self.mask(node.state.connected())
    }

    /// The connected clients whose outbox is still open: those a broadcast can still reach.
    pub(super) fn reachable(&self, node: &Node) -> u64 {
        let state = &node.state;
        self.mask(state.connected().filter(|&id| !state.is_closed(id)))
    }

    /// Opens a broadcast of `event`, owed to every client it reaches (all, or those of tick
    /// phase group `phase`) that is connected and not closed now.
    fn open(
        &self,
        node: &mut Node,
        event: Event,
        phase: Option<(u32, u32)>,
        closer: Option<usize>,
        opener: Option<usize>,
    ) {
        let mut open = Open {
            event,
            owed: 0,
            delivered: 0,
            closer,
            opener,
            phase,
        };
        let state = &node.state;
        open.owed = self.mask(
            state
                .connected()
                .filter(|&id| !state.is_closed(id) && open.reaches(id)),
        );
        node.open.push(open);
    }

    fn mask(&self, clients: impl Iterator<Item = ClientId>) -> u64 {
        clients
            .filter_map(|id| self.index.get(&id))
            .fold(0, |mask, i| mask | 1 << i)
    }

    /// Runs one piece of a call on the model's state and matches what it sends.
    fn apply(
        &self,
        node: &mut Node,
        call: &Call,
        part: Part,
        step: Option<usize>,
        closer: Option<usize>,
        mode: Mode,
    ) -> Result<(), String> {
        let rules = Rules {
            config: self.config,
            room_shard,
        };
        let state = &mut node.state;
        let effects = match (call, part) {
            (Call::Disconnect(client), Part::ActorClose) => {
                if let Some(&i) = self.index.get(client)
                    && state.is_connected(*client)
                {
                    let heard = self.streams[i].len();
                    if node.pos[i] < heard {
                        return Err(format!(
                            "{client} heard {:?} after its outbox was closed",
                            self.streams[i][node.pos[i]]
                        ));
                    }
                    state.close_early(*client);
                }
                return Ok(());
            }
            (Call::Submit(client, command), _) => {
                if let Some(&i) = self.index.get(client)
                    && state.is_closed(*client)
                    && !matches!(command, Command::Say { .. })
                {
                    // Closed, still in its room: only what was already at the room actor can
                    // still run, and that is `Say`s or a single other command.
                    if node.late & (1 << i) != 0 {
                        return Err(format!(
                            "a second command of {client} other than a say ran after its outbox \
                             closed"
                        ));
                    }
                    node.late |= 1 << i;
                }
                if self.semantics.orderings.disconnect == DisconnectOrder::ClosesFirst
                    && mode == Mode::Race
                    && !state.is_connected(*client)
                    && self.index.contains_key(client)
                {
                    // Counted as an unknown client's, or dropped from the stash uncounted.
                    node.maybe_dropped += 1;
                }
                state.apply(&rules, call)
            }
            (Call::Tick(now), Part::LockVisit(shard)) => state.tick_visit(&rules, shard, *now),
            (Call::Tick(_), Part::LockExpire) => state.expire_all(&rules),
            (Call::Tick(now), Part::ActorWorld) => state.tick_world(&rules, *now),
            (Call::Tick(now), Part::ActorRoom(shard)) => state.tick_room(&rules, shard, *now),
            (Call::Tick(_), Part::Whole | Part::ActorClose) => {
                unreachable!("ticks are always cut into their own parts")
            }
            (Call::Connect(_) | Call::Disconnect(_), _) => state.apply(&rules, call),
        };
        for effect in effects.out {
            match effect {
                Effect::To(to, event) => self.deliver(node, to, &event, step)?,
                Effect::Everyone(event) => self.open(node, event, None, closer, step),
                Effect::Phase { group, of, event } => {
                    self.open(node, event, Some((group, of)), closer, step);
                }
                // Whether an outbox is closed is checked once the race is over, against the
                // clients still connected then.
                Effect::Gone(..) => {}
            }
        }
        self.settle(node)
    }

    /// Matches one event the model delivers against the recipient's stream; `step` is the
    /// racing step sending it.
    fn deliver(
        &self,
        node: &mut Node,
        to: ClientId,
        event: &Event,
        step: Option<usize>,
    ) -> Result<(), String> {
        let Some(&i) = self.index.get(&to) else {
            return Ok(());
        };
        if node.state.is_closed(to) {
            return Ok(());
        }
        let stream = self.streams[i];
        match stream.get(node.pos[i]) {
            Some(heard) if heard == event => {
                if let (Some(hub), Some(step)) = (&self.hub, step) {
                    hub.heard_after(self, node, i, event, step)?;
                }
                node.pos[i] += 1;
                node.state.count_delivered();
                // A broadcast reaches a client under another lock (or from another actor) than
                // its room's events, so it may land between two events of this very step.
                self.settle_one(node, i)
            }
            None if self.close_early(node, to) => Ok(()),
            Some(heard) => Err(format!(
                "{to} should hear {event:?} next but heard {heard:?} (event {} of its stream)",
                node.pos[i] + 1
            )),
            None => Err(format!(
                "{to} should hear {event:?} but its stream ends after {} events",
                stream.len()
            )),
        }
    }

    /// Actor engine: the world may close `client`'s outbox while a room actor is between two
    /// deliveries of one step, so a client whose stream is over may have its outbox closed right
    /// here, by a disconnect that could take effect now. Takes that close step.
    fn close_early(&self, node: &mut Node, client: ClientId) -> bool {
        let close = self.steps.iter().enumerate().find(|(id, step)| {
            step.part == Part::ActorClose
                && *step.call(self.history) == Call::Disconnect(client)
                && !node.done.has(*id)
                && step.after.iter().all(|&a| node.done.has(a))
        });
        let Some((id, _)) = close else {
            return false;
        };
        if self
            .close_where(node, |open| open.closer == Some(id))
            .is_err()
        {
            return false;
        }
        node.done.set(id);
        node.state.close_early(client);
        true
    }

    /// Takes every broadcast delivery that a stream asks for next. Safe to do at once: every
    /// broadcast event is unique, so the delivery must come right here in that stream, and
    /// nothing else depends on when it is taken.
    fn settle(&self, node: &mut Node) -> Result<(), String> {
        for i in 0..self.ids.len() {
            self.settle_one(node, i)?;
        }
        Ok(())
    }

    /// Takes the open broadcasts that client `i`'s stream asks for next.
    fn settle_one(&self, node: &mut Node, i: usize) -> Result<(), String> {
        let bit = 1u64 << i;
        let client = self.ids[i];
        if node.state.is_closed(client) || !node.state.is_connected(client) {
            return Ok(());
        }
        while let Some(next) = self.streams[i].get(node.pos[i]) {
            if !matches!(next, Event::Shouted { .. } | Event::Tick { .. }) {
                return Ok(());
            }
            let Some(at) = node
                .open
                .iter()
                .position(|open| open.awaits(client, bit, next))
            else {
                return Ok(());
            };
            if let Some(hub) = &self.hub {
                hub.broadcast_after(self, node, i, at)?;
            }
            node.open[at].delivered |= bit;
            node.pos[i] += 1;
            node.state.count_delivered();
        }
        Ok(())
    }

    /// Closes a broadcast's window: everyone connected throughout must have heard it (or, on
    /// the actor engine, have had its outbox closed early).
    fn close(&self, node: &mut Node, open: &Open) -> Result<(), String> {
        let missing = open.owed & self.reachable(node) & !open.delivered;
        if let Some((i, id)) = self
            .ids
            .iter()
            .enumerate()
            .find(|(i, _)| missing & (1 << i) != 0)
        {
            return Err(format!(
                "{id} was connected throughout {:?} but did not hear it where it could (next it \
                 heard {:?})",
                open.event,
                self.streams[i].get(node.pos[i])
            ));
        }
        Ok(())
    }

    fn close_where(&self, node: &mut Node, closes: impl Fn(&Open) -> bool) -> Result<(), String> {
        let (closing, open): (Vec<Open>, Vec<Open>) =
            std::mem::take(&mut node.open).into_iter().partition(closes);
        node.open = open;
        for open in &closing {
            self.close(node, open)?;
        }
        Ok(())
    }

    /// Takes racing step `id` from `node`.
    pub(super) fn take(&self, node: &Node, id: usize) -> Result<Node, String> {
        let step = &self.steps[id];
        let mut next = node.clone();
        self.close_where(&mut next, |open| open.closer == Some(id))?;
        let call = step.call(self.history);
        self.apply(
            &mut next,
            call,
            step.part,
            Some(id),
            step.closer,
            Mode::Race,
        )?;
        next.done.set(id);
        if self.shortcuts {
            self.forget_settled_debts(&mut next);
        }
        self.can_still_finish(&next)?;
        Ok(next)
    }

    /// Clears the `owed` bits that can no longer decide anything: those of a client that heard
    /// the broadcast, or that nothing reaches any more. Every reader of `owed` masks it with
    /// `reachable & !delivered` (`close`, `viable.rs`) or asks about a client it is delivering
    /// to, which is reachable and has not heard that broadcast (`order.rs`); `delivered` only
    /// grows, and a client once unreachable never is again (a client connects once, and an
    /// outbox once closed stays closed), while one not yet connected was never owed it. So
    /// two nodes that differ only in those bits have the same futures, and clearing them lets
    /// memoization see one node: without it every order of a race's connects and closes
    /// around a broadcast that everyone has since heard made a node of its own.
    fn forget_settled_debts(&self, node: &mut Node) {
        let reachable = self.reachable(node);
        for open in &mut node.open {
            open.owed &= reachable & !open.delivered;
        }
    }

    /// Runs sequential calls exactly, each one's broadcasts closed before the next.
    pub(super) fn run_strict(&self, node: &mut Node, calls: &[Call]) -> Result<(), String> {
        for call in calls {
            for part in steps::parts(call, self.semantics) {
                self.apply(node, call, part, None, None, Mode::Strict)
                    .map_err(|why| format!("{call}: {why}"))?;
            }
            self.close_where(node, |_| true)
                .map_err(|why| format!("{call}: {why}"))?;
        }
        Ok(())
    }

    /// Everything after the last racing step: close the broadcasts, compare the state, run the
    /// teardown, and demand that every recorded event was explained.
    pub(super) fn finish(&self, node: &Node) -> Result<(), String> {
        let mut node = node.clone();
        self.close_where(&mut node, |_| true)?;
        let connected = self.connected(&node);
        let player = |id| {
            let player = self.players.get(&id).cloned();
            player.unwrap_or_else(|| Player::new("?", "?"))
        };
        let mut expected = node.state.snapshot(player);
        let (model, engine) = (
            expected.counters.unknown_client,
            self.observed.race_snapshot.counters.unknown_client,
        );
        if engine <= model && model - engine <= node.maybe_dropped {
            // The engine dropped that many stashed commands instead of counting them.
            expected.counters.unknown_client = engine;
        }
        if expected != self.observed.race_snapshot {
            return Err(format!(
                "the state after the race differs from the model's: {}",
                snapshot_diff(&expected, &self.observed.race_snapshot)
            ));
        }
        for (id, &i) in &self.index {
            let open = connected & (1 << i) != 0;
            let closed = self.observed.closed_after_race.contains(id);
            if open && closed {
                return Err(format!(
                    "{id}'s outbox was closed but it is still connected"
                ));
            }
            if !open && !closed {
                return Err(format!(
                    "{id} was disconnected but its outbox is still open"
                ));
            }
        }
        self.run_strict(&mut node, &self.history.teardown)
            .map_err(|why| format!("teardown: {why}"))?;
        for (i, id) in self.ids.iter().enumerate() {
            let heard = self.streams[i];
            // A client whose outbox closed early had heard all of its stream by then.
            if node.pos[i] < heard.len() {
                return Err(format!(
                    "{id} heard {} events the model never sends it, from {:?}",
                    heard.len() - node.pos[i],
                    heard[node.pos[i]]
                ));
            }
        }
        Ok(())
    }
}
