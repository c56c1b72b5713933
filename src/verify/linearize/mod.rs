//! The linearizability checker: does some order of a race's calls, run through the sequential
//! rules of the [`Model`](crate::Model), explain every event each client heard and the state the
//! engine ended in?
//!
//! The input is a [`History`] — a sequential setup, each racing thread's calls in its own order,
//! a sequential teardown — and what was [`Observed`]: every client's whole event stream, the
//! snapshot once the race settled, and which outboxes were closed then. The search is Wing and
//! Gong's, with memoization as in porcupine and lincheck: depth first over the calls that may go
//! next, applying each to a copy of the model state and matching the events it produces
//! against the streams, and never visiting the same (calls done, model state, stream positions)
//! twice.
//!
//! # What "explains" means for these engines
//!
//! A race is not atomic calls in some order, and a checker that pretends so flags both correct
//! engines. The engines' documented weakenings (ARCHITECTURE.md, "Ordering guarantee") are
//! modelled here, and nothing more:
//!
//! - **Broadcasts reach each recipient on their own.** `Shout` and `Tick` visit one shard at a
//!   time (lock) or are delivered by the world while rooms deliver independently (actor), so a
//!   broadcast is a *core* step (the shouter is checked, the tick decided) plus one delivery per
//!   recipient, each anywhere after the core and (lock engine) before the caller's next call;
//!   on the actor engine a room actor's step may straddle several world broadcasts, so there
//!   the window lasts to the end of the race. A recipient connected for the whole window must
//!   hear it; one that connected or left during it may or may not. A delivery may land
//!   between two events of another step (another lock, another actor). Deliveries are matched lazily: a recipient whose next recorded
//!   event is an open broadcast takes it at once, which loses no explanation because every
//!   broadcast event is unique (numbered shouts, rising ticks; checked up front).
//! - **A tick reaches each shard on its own.** Rooms of a shard are stamped with, and expire
//!   by, the time that shard was last told, so a tick is one step per shard (lock: each shard
//!   in turn, then the expiry under every lock; actor: the world's step, then each room actor's
//!   clock-and-expiry step, in its own queue order).
//! - **Whose order is kept.** The lock engine's calls are synchronous: each thread's calls take
//!   effect in its order. The actor engine only keeps each client's own order (a command may
//!   wait in the world's stash while another client's later command runs), so its chains are
//!   per thread *and client*, plus each thread's ticks.
//! - **Actor engine: an outbox may close early.** A disconnect closes the outbox at the world
//!   while the client's room may still be answering its last command, so a client that a race
//!   disconnects may hear only a prefix of its events (as `tests/loom.rs` accepts).
//! - **Actor engine: a disconnect drops what waits in the stash.** Commands of a client still
//!   waiting behind its unanswered ones are forgotten with it: they take no effect and are not
//!   counted. Once one is dropped, every later one of that client is, until its disconnect.
//!
//! The final snapshot must equal the model's exactly (clients, seats, rooms with their members
//! and stamps, every counter), the outboxes closed must be exactly the disconnected clients',
//! and after the sequential teardown every recorded event must have been explained.
//!
//! Ticks must come from a single thread: whether a tick is due depends on the ticks before it,
//! and with one ticker every shard agrees. The checker refuses other histories.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use crate::domain::command::Command;
use crate::domain::config::{EngineConfig, MAX_ROOM_LIMIT, MIN_ROOM_LIMIT};
use crate::domain::event::{ErrorCode, Event};
use crate::domain::ids::{ClientId, Player, RoomId};
use crate::domain::snapshot::{ClientView, Counters, RoomView, Snapshot};
use crate::engines::engine::{CallOrder, DisconnectOrder, Orderings, TickOrder};
use crate::engines::registry::EngineSpec;
use crate::engines::rooms::room_shard;

/// One call a caller made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `connect`, with the id the engine returned.
    Connect {
        client: ClientId,
        player: Player,
    },
    Submit {
        client: ClientId,
        command: Command,
    },
    Disconnect {
        client: ClientId,
    },
    Tick {
        now: Duration,
    },
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Connect { client, .. } => write!(f, "connect → {client}"),
            Call::Submit { client, command } => match command {
                Command::Join { limit } => write!(f, "{client} join {limit}"),
                Command::Leave => write!(f, "{client} leave"),
                Command::Say { data } => write!(f, "{client} say {data:?}"),
                Command::Shout { text } => write!(f, "{client} shout {text:?}"),
            },
            Call::Disconnect { client } => write!(f, "disconnect {client}"),
            Call::Tick { now } => write!(f, "tick {now:?}"),
        }
    }
}

/// The calls of one run: a setup made one call at a time, threads racing, a teardown made one
/// call at a time.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub setup: Vec<Call>,
    pub threads: Vec<Vec<Call>>,
    pub teardown: Vec<Call>,
}

/// What the run produced.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Every event each client heard, from its connect to the end of the teardown.
    pub streams: BTreeMap<ClientId, Vec<Event>>,
    /// The engine's snapshot once every racing call was done (after `quiesce`).
    pub race_snapshot: Snapshot,
    /// The clients whose outbox was closed at that moment.
    pub closed_after_race: BTreeSet<ClientId>,
}

/// Which engine ran the history: the weakenings above are the orders its registry entry
/// declares, the ticks' steps depend on its shard count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Semantics {
    pub orderings: Orderings,
    pub shards: usize,
}

impl Semantics {
    /// The semantics of the engine `spec` names.
    pub fn of(spec: EngineSpec) -> Semantics {
        Semantics {
            orderings: spec.kind.orderings(),
            shards: spec.shards,
        }
    }
}

/// How much searching a history may cost before the checker gives up.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Distinct search states to visit at most.
    pub states: usize,
    /// When to stop searching, whatever is left.
    pub deadline: Option<Instant>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            states: 2_000_000,
            deadline: None,
        }
    }
}

/// An order that explains a run.
#[derive(Clone, Debug)]
pub struct Explanation {
    /// The racing steps in the order found, described for people.
    pub order: Vec<String>,
    /// Distinct search states visited.
    pub explored: usize,
}

/// Why a run was not explained.
#[derive(Debug, thiserror::Error)]
pub enum LinearizeError {
    #[error("no order of the calls explains the run ({explored} states searched)\n{why}")]
    Unexplained { explored: usize, why: String },
    #[error(
        "the search gave up after {explored} states ({reason}): the run is neither explained \
         nor refuted\n{furthest}"
    )]
    Inconclusive {
        explored: usize,
        reason: &'static str,
        furthest: String,
    },
    #[error("the history cannot be checked: {0}")]
    Malformed(String),
}

/// Searches for an order of `history`'s calls that explains `observed` on an engine of
/// `semantics` built with `config`.
pub fn check(
    history: &History,
    observed: &Observed,
    semantics: Semantics,
    config: &EngineConfig,
    budget: Budget,
) -> Result<Explanation, LinearizeError> {
    let checker = Checker::new(history, observed, semantics, config)?;
    checker.search(budget)
}

// ---------------------------------------------------------------------------------------------
// The model's rules, step by step, on plain data that can be copied and hashed.

/// The sequential model's state, with one clock per shard: the same rules as
/// [`Model`](crate::Model) (tested equal on sequential histories below), split into the steps a
/// racing engine takes one at a time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Spec {
    /// Connected clients and their seats.
    clients: BTreeMap<ClientId, Option<RoomId>>,
    /// Every room, in the order it opened.
    rooms: Vec<SpecRoom>,
    last_seq: BTreeMap<u8, u64>,
    /// What the world (actor) or the first shard (lock) was last told: decides ticks.
    world_clock: Duration,
    /// What each shard was last told: stamps its new rooms and expires its open ones.
    clocks: Vec<Duration>,
    last_tick: Option<Duration>,
    counters: Counters,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SpecRoom {
    id: RoomId,
    created_at: Duration,
    members: Vec<ClientId>,
    matched: bool,
}

/// What one step produced: events for their recipients at once, and a broadcast whose
/// deliveries are matched one recipient at a time.
#[derive(Default)]
struct Effects {
    events: Vec<(ClientId, Event)>,
    broadcast: Option<Event>,
}

impl Spec {
    fn new(shards: usize) -> Spec {
        Spec {
            clients: BTreeMap::new(),
            rooms: Vec::new(),
            last_seq: BTreeMap::new(),
            world_clock: Duration::ZERO,
            clocks: vec![Duration::ZERO; shards],
            last_tick: None,
            counters: Counters::default(),
        }
    }

    fn connect(&mut self, client: ClientId) {
        self.clients.insert(client, None);
        self.counters.connects += 1;
    }

    fn submit(&mut self, config: &EngineConfig, client: ClientId, command: &Command) -> Effects {
        let mut out = Effects::default();
        let Some(&seat) = self.clients.get(&client) else {
            self.counters.unknown_client += 1;
            return out;
        };
        self.counters.commands += 1;
        let refusal = match command {
            Command::Join { limit } if !(MIN_ROOM_LIMIT..=MAX_ROOM_LIMIT).contains(limit) => {
                Some(ErrorCode::InvalidLimit)
            }
            Command::Join { .. } if seat.is_some() => Some(ErrorCode::AlreadyInRoom),
            Command::Join { limit } => {
                self.join(client, *limit, &mut out);
                None
            }
            Command::Say { data } | Command::Shout { text: data }
                if data.len() > config.max_message_bytes =>
            {
                Some(ErrorCode::MessageTooLarge)
            }
            Command::Leave | Command::Say { .. } if seat.is_none() => Some(ErrorCode::NotInRoom),
            Command::Leave => {
                let room = seat.expect("seated: checked above");
                self.unseat(client, room);
                out.events.push((client, Event::Left { room }));
                self.announce_departure(client, room, &mut out);
                None
            }
            Command::Say { data } => {
                let room = seat.expect("seated: checked above");
                for member in self.members_of(room) {
                    if member != client {
                        let said = Event::Said {
                            room,
                            from: client,
                            data: data.clone(),
                        };
                        out.events.push((member, said));
                    }
                }
                None
            }
            Command::Shout { text } => {
                out.broadcast = Some(Event::Shouted {
                    from: client,
                    text: text.clone(),
                });
                None
            }
        };
        if let Some(code) = refusal {
            self.counters.errors += 1;
            let error = Event::Error {
                code,
                command: command.kind(),
            };
            out.events.push((client, error));
        }
        out
    }

    fn join(&mut self, client: ClientId, limit: u8, out: &mut Effects) {
        let shards = self.clocks.len();
        let index = match self
            .rooms
            .iter()
            .position(|room| room.id.limit == limit && !room.matched)
        {
            Some(index) => index,
            None => {
                let seq = self.last_seq.entry(limit).or_insert(0);
                *seq += 1;
                self.counters.rooms_opened += 1;
                self.rooms.push(SpecRoom {
                    id: RoomId { limit, seq: *seq },
                    created_at: self.clocks[room_shard(limit, shards)],
                    members: Vec::new(),
                    matched: false,
                });
                self.rooms.len() - 1
            }
        };
        let room = &mut self.rooms[index];
        room.members.push(client);
        let id = room.id;
        let members: std::sync::Arc<[ClientId]> = room.members.clone().into();
        let full = members.len() == usize::from(limit);
        room.matched = full;
        self.clients.insert(client, Some(id));
        let joined = Event::Joined {
            room: id,
            members: members.clone(),
        };
        out.events.push((client, joined));
        for &member in members.iter().filter(|&&m| m != client) {
            out.events
                .push((member, Event::MemberJoined { room: id, client }));
        }
        if full {
            self.counters.rooms_matched += 1;
            for &member in members.iter() {
                let matched = Event::Matched {
                    room: id,
                    members: members.clone(),
                };
                out.events.push((member, matched));
            }
        }
    }

    fn disconnect(&mut self, client: ClientId) -> Effects {
        let mut out = Effects::default();
        let Some(seat) = self.clients.remove(&client) else {
            self.counters.unknown_client += 1;
            return out;
        };
        if let Some(room) = seat {
            if let Some(r) = self.rooms.iter_mut().find(|r| r.id == room) {
                r.members.retain(|&m| m != client);
            }
            self.announce_departure(client, room, &mut out);
        }
        self.counters.disconnects += 1;
        out
    }

    /// The world's part of a tick (the first shard's, on the lock engine): the clock, and the
    /// `Tick` to broadcast if one is due.
    fn tick_world(&mut self, config: &EngineConfig, now: Duration) -> Option<Event> {
        self.world_clock = self.world_clock.max(now);
        let due = self
            .last_tick
            .is_none_or(|last| self.world_clock >= last + config.tick_period);
        due.then(|| {
            self.last_tick = Some(self.world_clock);
            Event::Tick {
                at: self.world_clock,
            }
        })
    }

    fn tick_shard(&mut self, shard: usize, now: Duration) {
        self.clocks[shard] = self.clocks[shard].max(now);
    }

    /// Dissolves the open rooms of `shard` whose match timeout ran out by its clock.
    fn expire(&mut self, config: &EngineConfig, shard: usize, out: &mut Effects) {
        let shards = self.clocks.len();
        let clock = self.clocks[shard];
        let timeout = config.match_timeout;
        let (expired, kept): (Vec<SpecRoom>, Vec<SpecRoom>) = std::mem::take(&mut self.rooms)
            .into_iter()
            .partition(|room| {
                room_shard(room.id.limit, shards) == shard
                    && !room.matched
                    && room.created_at + timeout <= clock
            });
        self.rooms = kept;
        for room in expired {
            self.counters.rooms_timed_out += 1;
            for member in room.members {
                if let Some(seat) = self.clients.get_mut(&member) {
                    *seat = None;
                }
                out.events
                    .push((member, Event::MatchTimeout { room: room.id }));
            }
        }
    }

    fn unseat(&mut self, client: ClientId, id: RoomId) {
        self.clients.insert(client, None);
        if let Some(room) = self.rooms.iter_mut().find(|room| room.id == id) {
            room.members.retain(|&m| m != client);
        }
    }

    fn announce_departure(&mut self, client: ClientId, room: RoomId, out: &mut Effects) {
        let remaining = self.members_of(room);
        for &member in &remaining {
            out.events
                .push((member, Event::MemberLeft { room, client }));
        }
        if remaining.is_empty() {
            self.rooms.retain(|r| r.id != room);
        }
    }

    fn members_of(&self, id: RoomId) -> Vec<ClientId> {
        self.rooms
            .iter()
            .find(|room| room.id == id)
            .map(|room| room.members.clone())
            .unwrap_or_default()
    }

    fn snapshot(&self, players: &BTreeMap<ClientId, Player>) -> Snapshot {
        let clock = self
            .clocks
            .iter()
            .copied()
            .fold(self.world_clock, Duration::max);
        let clients = self.clients.iter().map(|(id, seat)| {
            let player = players
                .get(id)
                .cloned()
                .unwrap_or_else(|| Player::new("?", "?"));
            (
                *id,
                ClientView {
                    player,
                    room: *seat,
                },
            )
        });
        let rooms = self.rooms.iter().map(|room| {
            let view = RoomView {
                created_at: room.created_at,
                members: room.members.clone(),
                matched: room.matched,
            };
            (room.id, view)
        });
        Snapshot {
            clock,
            clients: clients.collect(),
            rooms: rooms.collect(),
            counters: self.counters,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Steps: the calls cut into the pieces an engine takes one at a time.

/// Which piece of a call a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
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
fn parts(call: &Call, semantics: Semantics) -> Vec<Part> {
    let orderings = semantics.orderings;
    match call {
        Call::Tick { .. } => match orderings.tick {
            TickOrder::ShardsThenExpiry => (0..semantics.shards)
                .map(Part::LockVisit)
                .chain([Part::LockExpire])
                .collect(),
            TickOrder::WorldThenRooms => std::iter::once(Part::ActorWorld)
                .chain((0..semantics.shards).map(Part::ActorRoom))
                .collect(),
        },
        Call::Disconnect { .. } if orderings.disconnect == DisconnectOrder::ClosesFirst => {
            vec![Part::ActorClose, Part::Whole]
        }
        _ => vec![Part::Whole],
    }
}

/// One racing step and what must come before it.
#[derive(Debug)]
struct Step {
    thread: usize,
    /// Index of its call in the thread.
    index: usize,
    part: Part,
    /// Steps that must be done first.
    after: Vec<usize>,
    /// For a step that opens a broadcast: the step whose taking closes its window (the
    /// caller's next call taking effect); `None` closes it when the race ends.
    closer: Option<usize>,
}

/// A fixed-size set of step indices.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }
    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// A broadcast whose deliveries are still being matched.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Open {
    event: Event,
    /// Clients connected when it was sent (by client index): each still connected when the
    /// window closes must have heard it.
    owed: u64,
    delivered: u64,
    closer: Option<usize>,
}

/// One point of the search: what is done, the model's state, and how far each stream is
/// explained.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Node {
    done: Bits,
    spec: Spec,
    /// Events of each client's stream explained so far (by client index).
    pos: Vec<usize>,
    /// Actor engine: clients whose outbox the world closed while their room still held them;
    /// later events to them are lost.
    truncated: u64,
    /// Actor engine: closed clients that already had their one non-`Say` command answered
    /// after the close (the one that may have been at the room actor then).
    late: u64,
    /// Actor engine: submits of clients already gone, each counted as an unknown client's by
    /// the model but possibly dropped from the world's stash, uncounted, by the engine.
    maybe_dropped: u64,
    open: Vec<Open>,
}

/// Whether the step may use the weakenings of a race (early close, dropped commands) or must
/// be exact, as in the sequential setup and teardown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Race,
    Strict,
}

struct Checker<'a> {
    config: &'a EngineConfig,
    semantics: Semantics,
    history: &'a History,
    ids: Vec<ClientId>,
    index: BTreeMap<ClientId, usize>,
    players: BTreeMap<ClientId, Player>,
    streams: Vec<&'a [Event]>,
    observed: &'a Observed,
    steps: Vec<Step>,
}

const NO_EVENTS: &[Event] = &[];

impl<'a> Checker<'a> {
    fn new(
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
            if let Call::Connect { client, player } = call {
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
            .filter(|calls| calls.iter().any(|call| matches!(call, Call::Tick { .. })))
            .count();
        if tickers > 1 {
            return malformed(format!(
                "{tickers} threads tick; the checker needs one ticker"
            ));
        }
        let mut shouts = BTreeSet::new();
        for call in all() {
            if let Call::Submit {
                client,
                command: Command::Shout { text },
            } = call
                && !shouts.insert((*client, text.clone()))
            {
                return malformed(format!(
                    "{client} shouts {text:?} twice: shouts must differ"
                ));
            }
        }
        let index: BTreeMap<ClientId, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let streams = ids
            .iter()
            .map(|id| observed.streams.get(id).map_or(NO_EVENTS, Vec::as_slice))
            .collect();
        let steps = Checker::steps(history, semantics);
        if steps.len() > 4096 {
            return malformed(format!(
                "{} racing steps is too many to search",
                steps.len()
            ));
        }
        Ok(Checker {
            config,
            semantics,
            history,
            ids,
            index,
            players,
            streams,
            observed,
            steps,
        })
    }

    /// Cuts the racing calls into steps and links each to what must precede it.
    fn steps(history: &History, semantics: Semantics) -> Vec<Step> {
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
                && matches!(call, Call::Disconnect { .. })
        };
        let chain_of = |call: &Call| match (semantics.orderings.calls, call) {
            (CallOrder::Thread, _) => Chain::Thread,
            (CallOrder::Client, Call::Tick { .. }) => Chain::Ticks,
            (CallOrder::Client, Call::Connect { client, .. })
            | (CallOrder::Client, Call::Submit { client, .. })
            | (CallOrder::Client, Call::Disconnect { client }) => Chain::Client(*client),
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
                if !matches!(call, Call::Submit { .. }) {
                    last_anchor.insert(chain, from);
                }
            }
        }
        steps
    }

    fn call(&self, step: &Step) -> &'a Call {
        &self.history.threads[step.thread][step.index]
    }

    fn describe(&self, step: &Step) -> String {
        let call = self.call(step);
        let part = match step.part {
            Part::Whole => String::new(),
            Part::LockVisit(s) => format!(" (shard {s})"),
            Part::LockExpire => " (expiry)".to_owned(),
            Part::ActorWorld => " (world)".to_owned(),
            Part::ActorRoom(s) => format!(" (room actor {s})"),
            Part::ActorClose => " (world closes the outbox)".to_owned(),
        };
        format!("t{}#{} {call}{part}", step.thread, step.index)
    }

    fn connected(&self, node: &Node) -> u64 {
        node.spec
            .clients
            .keys()
            .filter_map(|id| self.index.get(id))
            .fold(0, |mask, i| mask | 1 << i)
    }

    /// Runs one piece of a call on the model and matches what it produces.
    fn apply(
        &self,
        node: &mut Node,
        call: &Call,
        part: Part,
        closer: Option<usize>,
        mode: Mode,
    ) -> Result<(), String> {
        let config = self.config;
        let effects = match (call, part) {
            (Call::Connect { client, .. }, _) => {
                node.spec.connect(*client);
                Effects::default()
            }
            (Call::Disconnect { client }, Part::ActorClose) => {
                if let Some(&i) = self.index.get(client)
                    && node.spec.clients.contains_key(client)
                {
                    let heard = self.streams[i].len();
                    if node.pos[i] < heard {
                        return Err(format!(
                            "{client} heard {:?} after its outbox was closed",
                            self.streams[i][node.pos[i]]
                        ));
                    }
                    node.truncated |= 1 << i;
                }
                return Ok(());
            }
            (Call::Submit { client, command }, _) => {
                if let Some(&i) = self.index.get(client)
                    && node.truncated & (1 << i) != 0
                    && node.spec.clients.contains_key(client)
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
                    && !node.spec.clients.contains_key(client)
                    && self.index.contains_key(client)
                {
                    // Counted as an unknown client's, or dropped from the stash uncounted.
                    node.maybe_dropped += 1;
                }
                node.spec.submit(config, *client, command)
            }
            (Call::Disconnect { client }, _) => node.spec.disconnect(*client),
            (Call::Tick { now }, Part::LockVisit(shard)) => {
                node.spec.tick_shard(shard, *now);
                let mut effects = Effects::default();
                if shard == 0 {
                    effects.broadcast = node.spec.tick_world(config, *now);
                }
                effects
            }
            (Call::Tick { .. }, Part::LockExpire) => {
                let mut effects = Effects::default();
                for shard in 0..self.semantics.shards {
                    node.spec.expire(config, shard, &mut effects);
                }
                effects
            }
            (Call::Tick { now }, Part::ActorWorld) => Effects {
                events: Vec::new(),
                broadcast: node.spec.tick_world(config, *now),
            },
            (Call::Tick { now }, Part::ActorRoom(shard)) => {
                node.spec.tick_shard(shard, *now);
                let mut effects = Effects::default();
                node.spec.expire(config, shard, &mut effects);
                effects
            }
            (Call::Tick { .. }, Part::Whole | Part::ActorClose) => {
                unreachable!("ticks are always cut into their own parts")
            }
        };
        for (to, event) in effects.events {
            self.deliver(node, to, &event)?;
        }
        if let Some(event) = effects.broadcast {
            let owed = self.connected(node);
            node.open.push(Open {
                event,
                owed,
                delivered: 0,
                closer,
            });
        }
        self.settle(node);
        Ok(())
    }

    /// Matches one event the model delivers against the recipient's stream.
    fn deliver(&self, node: &mut Node, to: ClientId, event: &Event) -> Result<(), String> {
        let Some(&i) = self.index.get(&to) else {
            return Ok(());
        };
        let bit = 1u64 << i;
        if node.truncated & bit != 0 {
            return Ok(());
        }
        let stream = self.streams[i];
        match stream.get(node.pos[i]) {
            Some(heard) if heard == event => {
                node.pos[i] += 1;
                node.spec.counters.events_delivered += 1;
                // A broadcast reaches a client under another lock (or from another actor) than
                // its room's events, so it may land between two events of this very step.
                self.settle_one(node, i);
                Ok(())
            }
            None if self.close_early(node, to) => {
                node.truncated |= bit;
                Ok(())
            }
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
                && matches!(self.call(step), Call::Disconnect { client: c } if *c == client)
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
        true
    }

    /// Takes every broadcast delivery that a stream asks for next. Safe to do at once: every
    /// broadcast event is unique, so the delivery must come right here in that stream, and
    /// nothing else depends on when it is taken.
    fn settle(&self, node: &mut Node) {
        for i in 0..self.ids.len() {
            self.settle_one(node, i);
        }
    }

    /// Takes the open broadcasts that client `i`'s stream asks for next.
    fn settle_one(&self, node: &mut Node, i: usize) {
        let bit = 1u64 << i;
        if node.truncated & bit != 0 || !node.spec.clients.contains_key(&self.ids[i]) {
            return;
        }
        while let Some(next) = self.streams[i].get(node.pos[i]) {
            if !matches!(next, Event::Shouted { .. } | Event::Tick { .. }) {
                return;
            }
            let Some(open) = node
                .open
                .iter_mut()
                .find(|open| open.delivered & bit == 0 && open.event == *next)
            else {
                return;
            };
            open.delivered |= bit;
            node.pos[i] += 1;
            node.spec.counters.events_delivered += 1;
        }
    }

    /// Closes a broadcast's window: everyone connected throughout must have heard it (or, on
    /// the actor engine, have had its outbox closed early).
    fn close(&self, node: &mut Node, open: &Open) -> Result<(), String> {
        let missing = open.owed & self.connected(node) & !open.delivered & !node.truncated;
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
    fn take(&self, node: &Node, id: usize) -> Result<Node, String> {
        let step = &self.steps[id];
        let mut next = node.clone();
        self.close_where(&mut next, |open| open.closer == Some(id))?;
        let call = self.call(step);
        self.apply(&mut next, call, step.part, step.closer, Mode::Race)?;
        next.done.set(id);
        Ok(next)
    }

    /// Runs sequential calls exactly, each one's broadcasts closed before the next.
    fn run_strict(&self, node: &mut Node, calls: &[Call]) -> Result<(), String> {
        for call in calls {
            for part in parts(call, self.semantics) {
                self.apply(node, call, part, None, Mode::Strict)
                    .map_err(|why| format!("{call}: {why}"))?;
            }
            self.close_where(node, |_| true)
                .map_err(|why| format!("{call}: {why}"))?;
        }
        Ok(())
    }

    fn candidates(&self, node: &Node) -> Vec<usize> {
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
        out
    }

    /// True when enabled step `id` is a submit or disconnect naming a client that is gone (or
    /// never was) and closes no open broadcast window. Such a step only counts an unknown
    /// client: it reads nothing any other step changes (a gone client never comes back), and
    /// nothing reads what it changes but the final counters, so any explanation that takes it
    /// later also works with it moved here. Taking it alone, without branching, is the
    /// partial-order reduction that keeps a thread hammering a disconnected client from
    /// multiplying the search.
    fn only_counts(&self, node: &Node, id: usize) -> bool {
        let client = match self.call(&self.steps[id]) {
            Call::Submit { client, .. } | Call::Disconnect { client } => client,
            Call::Connect { .. } | Call::Tick { .. } => return false,
        };
        !node.spec.clients.contains_key(client)
            && !node.open.iter().any(|open| open.closer == Some(id))
    }

    /// Everything after the last racing step: close the broadcasts, compare the state, run the
    /// teardown, and demand that every recorded event was explained.
    fn finish(&self, node: &Node) -> Result<(), String> {
        let mut node = node.clone();
        self.close_where(&mut node, |_| true)?;
        let connected = self.connected(&node);
        let mut expected = node.spec.snapshot(&self.players);
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
            if node.truncated & (1 << i) == 0 && node.pos[i] < heard.len() {
                return Err(format!(
                    "{id} heard {} events the model never sends it, from {:?}",
                    heard.len() - node.pos[i],
                    heard[node.pos[i]]
                ));
            }
        }
        Ok(())
    }

    fn search(&self, budget: Budget) -> Result<Explanation, LinearizeError> {
        let mut root = Node {
            done: Bits::new(self.steps.len()),
            spec: Spec::new(self.semantics.shards),
            pos: vec![0; self.ids.len()],
            truncated: 0,
            late: 0,
            maybe_dropped: 0,
            open: Vec::new(),
        };
        if let Err(why) = self.run_strict(&mut root, &self.history.setup) {
            return Err(LinearizeError::Unexplained {
                explored: 0,
                why: format!("the sequential setup already differs from the model: {why}"),
            });
        }
        let mut seen: HashSet<u64> = HashSet::new();
        seen.insert(fingerprint(&root));
        let mut furthest = Furthest::default();
        let mut stack = vec![Frame {
            candidates: self.candidates(&root),
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
                    furthest.blocked(depth, format!("{}: {why}", self.describe(&self.steps[id])));
                    continue;
                }
            };
            if !seen.insert(fingerprint(&child)) {
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
                    .map(|id| self.describe(&self.steps[id]))
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
                candidates: self.candidates(&child),
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

struct Frame {
    node: Node,
    candidates: Vec<usize>,
    next: usize,
    via: Option<usize>,
}

/// The furthest the search got, for a failure that says where explaining stopped.
#[derive(Default)]
struct Furthest {
    depth: usize,
    order: Vec<String>,
    blockers: Vec<String>,
}

impl Furthest {
    fn reached(&mut self, depth: usize, order: impl FnOnce() -> Vec<String>) {
        if depth > self.depth || self.order.is_empty() && depth == self.depth {
            self.depth = depth;
            self.order = order();
            self.blockers.clear();
        }
    }

    fn blocked(&mut self, depth: usize, why: String) {
        if depth == self.depth && self.blockers.len() < 12 && !self.blockers.contains(&why) {
            self.blockers.push(why);
        }
    }

    fn explain(&self, total: usize) -> String {
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

fn fingerprint(node: &Node) -> u64 {
    // SipHash with fixed keys: a 64-bit fingerprint per state, deterministic across runs.
    let mut hasher = DefaultHasher::new();
    node.hash(&mut hasher);
    hasher.finish()
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

#[cfg(test)]
mod tests;
