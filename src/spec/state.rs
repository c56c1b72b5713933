//! The model's rules, in one place: [`ModelState`], plain data that can be copied, compared
//! and hashed, and [`ModelState::apply`], which takes one [`Call`] and says what it sends as
//! data ([`Effects`]). The sequential [`Model`](crate::Model) wraps it with real outboxes; the
//! linearizability checker (`verify::linearize`) steps the same state, through the same rules,
//! cut into the pieces a racing engine takes one at a time (the partial steps below).
//!
//! Plain data, one thread, no locks, linear scans wherever they make the rules easiest to read.
//! It shares no room code with the engines, so that a mistake there shows up as a difference.
//!
//! The rules, in the order a call applies them:
//! - `Join{limit}`: `InvalidLimit` unless 2 ≤ limit ≤ 16; `AlreadyInRoom` if seated; else a
//!   seat in the oldest open room of that limit (or a new room, created at its shard's clock):
//!   `Joined` to the joiner, `MemberJoined` to the others, and if that was the last seat
//!   `Matched` to every member, in join order.
//! - `Leave`: `NotInRoom` if not seated; else `Left` to the leaver, `MemberLeft` to the others;
//!   a room left empty is gone.
//! - `Say{data}`: `MessageTooLarge`, then `NotInRoom`; else the game logic runs
//!   (`EngineConfig::say_work`) and `Said` goes to the other members.
//! - `Shout{text}`: `MessageTooLarge`; else `Shouted` to every client, the sender included.
//! - `tick(now)`: the clock becomes the later of itself and `now`; then, for each tick phase
//!   group in order (`P = EngineConfig::phases()` groups; client `c` is in group `c % P`), a
//!   `Tick` to the group's clients if a slot of the group has come since its last `Tick` (or
//!   ever, for its first): group `g`'s slots are `g·period/P + k·period`, k = 0, 1, …; then
//!   every open room whose match timeout has run out dissolves with `MatchTimeout` to its
//!   members. So each client hears one `Tick` a period, at its group's phase, however late
//!   the calls come. The slots are anchored rather than counted from the last tick (the
//!   original rule: a first `Tick`, then one once a period has passed since the last), so a
//!   group never drifts off its phase when the clock's calls land late; with `P = 1` the two
//!   rules differ only when a call lands between whole periods (anchored: the next `Tick`
//!   comes at the next whole period, not a full period after the late one), and every
//!   existing test's expectation is the same under both.
//! - `disconnect`: like a silent `Leave` (no `Left`), then the client is gone and its outbox
//!   closed.
//! - A full outbox closes at once and nothing reaches it any more; when the call is done its
//!   client is disconnected as a slow consumer, lowest client id first (cascades included).
//!
//! Time per shard: an engine split into shards may tell its shards a tick one at a time, so
//! the state keeps one clock per shard (rooms are stamped and expired by their shard's clock)
//! and one for the world (which decides `Tick`). The sequential model has a single shard, and
//! a whole tick moves every clock at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::{EngineConfig, MAX_ROOM_LIMIT, MIN_ROOM_LIMIT};
use crate::domain::event::{ErrorCode, Event};
use crate::domain::ids::{ClientId, Player, RoomId};
use crate::domain::outbox::CloseReason;
use crate::domain::snapshot::{ClientView, Counters, RoomView, Snapshot};
use crate::spec::call::{Call, Connected};

/// What the rules read and never change: the engine's settings, and which shard holds the
/// rooms of a user limit (given the number of shards).
#[derive(Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) config: &'a EngineConfig,
    pub(crate) room_shard: fn(u8, usize) -> usize,
}

/// The model's state: who is connected and seated where, the rooms, the clocks and the
/// counters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ModelState {
    /// Connected clients and their seats.
    clients: BTreeMap<ClientId, Option<RoomId>>,
    /// Connected clients whose outbox is closed: a slow consumer, until its call is done; or,
    /// on an engine whose disconnect closes the outbox first, a client whose room still holds
    /// it. Nothing reaches them.
    closed: BTreeSet<ClientId>,
    /// Every room, in the order it was opened.
    rooms: Vec<Room>,
    last_seq: BTreeMap<u8, u64>,
    /// What the world (or the first shard) was last told: decides ticks.
    world_clock: Duration,
    /// What each shard was last told: stamps its new rooms and expires its open ones.
    clocks: Vec<Duration>,
    /// When each tick phase group (by group number) last got its `Tick`; absent: never.
    last_tick: BTreeMap<u32, Duration>,
    counters: Counters,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Room {
    id: RoomId,
    created_at: Duration,
    members: Vec<ClientId>,
    matched: bool,
}

/// What a call (or a piece of one) does beyond the state: what it sends, in order.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Units of game logic ([`burn`](crate::work::burn)) the call runs before it sends.
    pub(crate) work: u32,
    pub(crate) out: Vec<Effect>,
}

#[derive(Debug)]
pub(crate) enum Effect {
    /// An event for one client.
    To(ClientId, Event),
    /// An event for every connected client, each reached on its own.
    Everyone(Event),
    /// An event for every connected client of tick phase group `group` of `of` (see
    /// [`in_phase`]), each reached on its own: a `Tick`.
    Phase { group: u32, of: u32, event: Event },
    /// The client left the world: its outbox closes, for this reason.
    Gone(ClientId, CloseReason),
}

/// True when `client` is in tick phase group `group` of `of`: its id is `group` modulo `of`.
pub(crate) fn in_phase(client: ClientId, group: u32, of: u32) -> bool {
    client.0 % u64::from(of) == u64::from(group)
}

/// How many of group `group`'s tick slots (`group·period/of + k·period`, k ≥ 0) have come by
/// `at`. A zero period counts every call as a new slot (`None`: always due).
fn slots_by(at: Duration, group: u32, of: u32, period: Duration) -> Option<u128> {
    let period = period.as_nanos();
    if period == 0 {
        return None;
    }
    let first = period * u128::from(group) / u128::from(of);
    let at = at.as_nanos();
    Some(if at < first {
        0
    } else {
        (at - first) / period + 1
    })
}

impl Effects {
    fn to(&mut self, client: ClientId, event: Event) {
        self.out.push(Effect::To(client, event));
    }
}

impl ModelState {
    /// An empty world whose rooms are spread over `shards` shards.
    pub(crate) fn new(shards: usize) -> ModelState {
        ModelState {
            clients: BTreeMap::new(),
            closed: BTreeSet::new(),
            rooms: Vec::new(),
            last_seq: BTreeMap::new(),
            world_clock: Duration::ZERO,
            clocks: vec![Duration::ZERO; shards],
            last_tick: BTreeMap::new(),
            counters: Counters::default(),
        }
    }

    /// Applies one whole call.
    pub(crate) fn apply(&mut self, rules: &Rules, call: &Call) -> Effects {
        let mut out = Effects::default();
        match call {
            Call::Connect(Connected { client, .. }) => {
                self.clients.insert(*client, None);
                self.counters.connects += 1;
            }
            Call::Submit(client, command) => self.submit(rules, *client, command, &mut out),
            Call::Disconnect(client) if self.clients.contains_key(client) => {
                self.leave_world(*client, CloseReason::Disconnected, &mut out);
            }
            Call::Disconnect(_) => self.counters.unknown_client += 1,
            Call::Tick(now) => {
                for shard in 0..self.clocks.len() {
                    out.out.extend(self.tick_visit(rules, shard, *now).out);
                }
                out.out.extend(self.expire_all(rules).out);
            }
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // The partial steps of a racing engine (see `engines::engine::Orderings`).

    /// `TickOrder::ShardsThenExpiry`: the tick reaching shard `shard` (under its lock): its
    /// clock, and on the first shard also the world's, with the `Tick`s that are due.
    pub(crate) fn tick_visit(&mut self, rules: &Rules, shard: usize, now: Duration) -> Effects {
        self.clocks[shard] = self.clocks[shard].max(now);
        if shard == 0 {
            self.tick_world(rules, now)
        } else {
            Effects::default()
        }
    }

    /// `TickOrder::ShardsThenExpiry`: the tick's expiry, over every shard at once.
    pub(crate) fn expire_all(&mut self, rules: &Rules) -> Effects {
        let mut out = Effects::default();
        for shard in 0..self.clocks.len() {
            self.expire(rules, shard, &mut out);
        }
        out
    }

    /// `TickOrder::WorldThenRooms`: the world's part of a tick: its clock, and a `Tick` to
    /// each phase group that is due, in group order.
    pub(crate) fn tick_world(&mut self, rules: &Rules, now: Duration) -> Effects {
        let mut out = Effects::default();
        self.world_clock = self.world_clock.max(now);
        let clock = self.world_clock;
        let (of, period) = (rules.config.phases(), rules.config.tick_period);
        for group in 0..of {
            let slots = |at| slots_by(at, group, of, period);
            let due = match self.last_tick.get(&group) {
                None => slots(clock).is_none_or(|n| n >= 1),
                Some(&last) => slots(clock).is_none_or(|n| Some(n) > slots(last)),
            };
            if due {
                self.last_tick.insert(group, clock);
                let event = Event::Tick { at: clock };
                out.out.push(Effect::Phase { group, of, event });
            }
        }
        out
    }

    /// `TickOrder::WorldThenRooms`: room shard `shard` handling the tick: its clock, then its
    /// expiries.
    pub(crate) fn tick_room(&mut self, rules: &Rules, shard: usize, now: Duration) -> Effects {
        let mut out = Effects::default();
        self.clocks[shard] = self.clocks[shard].max(now);
        self.expire(rules, shard, &mut out);
        out
    }

    /// `DisconnectOrder::ClosesFirst`: the client's outbox closes while its room may still
    /// hold it; it stays connected (and seated) until its disconnect is applied.
    pub(crate) fn close_early(&mut self, client: ClientId) {
        if self.clients.contains_key(&client) {
            self.closed.insert(client);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Slow consumers: the sequential model's outboxes fill; a full one is cut.

    /// The client's outbox was full and is now closed: it is cut when the call is done.
    pub(crate) fn cut(&mut self, client: ClientId) {
        self.counters.slow_consumer_cuts += 1;
        self.closed.insert(client);
    }

    /// When a call is done: disconnects the lowest cut client still connected, if any.
    pub(crate) fn next_cut(&mut self) -> Option<Effects> {
        let client = self.closed.pop_first()?;
        let mut out = Effects::default();
        self.leave_world(client, CloseReason::SlowConsumer, &mut out);
        Some(out)
    }

    /// An event reached its recipient's outbox.
    pub(crate) fn count_delivered(&mut self) {
        self.counters.events_delivered += 1;
    }

    /// The rooms open now, by id, with the time each was stamped with when it opened (which
    /// never changes).
    pub(crate) fn room_stamps(&self) -> impl Iterator<Item = (RoomId, Duration)> + '_ {
        self.rooms.iter().map(|room| (room.id, room.created_at))
    }

    /// True when room `id` has been opened, whether or not it is still open: room ids are
    /// never reused.
    pub(crate) fn was_opened(&self, id: RoomId) -> bool {
        self.last_seq
            .get(&id.limit)
            .is_some_and(|&seq| seq >= id.seq)
    }

    /// The highest room number opened for `limit` so far (0 for none): rooms of a limit are
    /// numbered 1, 2, ... in the order they open.
    pub(crate) fn last_room(&self, limit: u8) -> u64 {
        self.last_seq.get(&limit).copied().unwrap_or(0)
    }

    /// Whether room `id` is open now, and if so whether it is matched.
    pub(crate) fn room_matched(&self, id: RoomId) -> Option<bool> {
        self.rooms
            .iter()
            .find(|room| room.id == id)
            .map(|room| room.matched)
    }

    /// The latest time any part of the state was told (a snapshot's `clock`): it only grows.
    pub(crate) fn clock(&self) -> Duration {
        self.clocks
            .iter()
            .copied()
            .fold(self.world_clock, Duration::max)
    }

    /// The running totals so far: each only ever grows.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn is_connected(&self, client: ClientId) -> bool {
        self.clients.contains_key(&client)
    }

    /// True when `client` is connected and holds a seat.
    pub(crate) fn is_seated(&self, client: ClientId) -> bool {
        matches!(self.clients.get(&client), Some(Some(_)))
    }

    /// True when nothing reaches `client` any more while it is still connected.
    pub(crate) fn is_closed(&self, client: ClientId) -> bool {
        self.closed.contains(&client)
    }

    pub(crate) fn connected(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.clients.keys().copied()
    }

    /// The state as a snapshot; the state keeps no players, so `player` names each client's.
    pub(crate) fn snapshot(&self, player: impl Fn(ClientId) -> Player) -> Snapshot {
        let clock = self
            .clocks
            .iter()
            .copied()
            .fold(self.world_clock, Duration::max);
        let clients = self.clients.iter().map(|(&id, &room)| {
            let view = ClientView {
                player: player(id),
                room,
            };
            (id, view)
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

    // -----------------------------------------------------------------------------------------
    // The rules of each command.

    fn submit(&mut self, rules: &Rules, client: ClientId, command: &Command, out: &mut Effects) {
        let Some(&seat) = self.clients.get(&client) else {
            self.counters.unknown_client += 1;
            return;
        };
        self.counters.commands += 1;
        let max = rules.config.max_message_bytes;
        let result = match command {
            Command::Join { limit } => self.join(rules, client, seat, *limit, out),
            Command::Leave => self.leave(client, seat, out),
            Command::Say { data } if data.len() > max => Err(ErrorCode::MessageTooLarge),
            Command::Say { data } => self.say(rules, client, seat, data, out),
            Command::Shout { text } if text.len() > max => Err(ErrorCode::MessageTooLarge),
            Command::Shout { text } => {
                let from = client;
                let text = text.clone();
                out.out
                    .push(Effect::Everyone(Event::Shouted { from, text }));
                Ok(())
            }
        };
        if let Err(code) = result {
            self.counters.errors += 1;
            let command = command.kind();
            out.to(client, Event::Error { code, command });
        }
    }

    fn join(
        &mut self,
        rules: &Rules,
        client: ClientId,
        seat: Option<RoomId>,
        limit: u8,
        out: &mut Effects,
    ) -> Result<(), ErrorCode> {
        if !(MIN_ROOM_LIMIT..=MAX_ROOM_LIMIT).contains(&limit) {
            return Err(ErrorCode::InvalidLimit);
        }
        if seat.is_some() {
            return Err(ErrorCode::AlreadyInRoom);
        }
        let open = self
            .rooms
            .iter()
            .position(|room| room.id.limit == limit && !room.matched);
        let index = match open {
            Some(index) => index,
            None => {
                let seq = self.last_seq.entry(limit).or_insert(0);
                *seq += 1;
                self.counters.rooms_opened += 1;
                let shard = (rules.room_shard)(limit, self.clocks.len());
                self.rooms.push(Room {
                    id: RoomId { limit, seq: *seq },
                    created_at: self.clocks[shard],
                    members: Vec::new(),
                    matched: false,
                });
                self.rooms.len() - 1
            }
        };
        let room = &mut self.rooms[index];
        room.members.push(client);
        let id = room.id;
        let members: Arc<[ClientId]> = room.members.clone().into();
        let full = members.len() == usize::from(limit);
        room.matched = full;
        self.clients.insert(client, Some(id));

        let joined = Event::Joined {
            room: id,
            members: members.clone(),
        };
        out.to(client, joined);
        for &member in members.iter().filter(|&&m| m != client) {
            out.to(member, Event::MemberJoined { room: id, client });
        }
        if full {
            self.counters.rooms_matched += 1;
            for &member in members.iter() {
                let matched = Event::Matched {
                    room: id,
                    members: members.clone(),
                };
                out.to(member, matched);
            }
        }
        Ok(())
    }

    fn leave(
        &mut self,
        client: ClientId,
        seat: Option<RoomId>,
        out: &mut Effects,
    ) -> Result<(), ErrorCode> {
        let room = seat.ok_or(ErrorCode::NotInRoom)?;
        self.unseat(client, room);
        out.to(client, Event::Left { room });
        self.announce_departure(client, room, out);
        Ok(())
    }

    fn say(
        &mut self,
        rules: &Rules,
        client: ClientId,
        seat: Option<RoomId>,
        data: &Arc<str>,
        out: &mut Effects,
    ) -> Result<(), ErrorCode> {
        let room = seat.ok_or(ErrorCode::NotInRoom)?;
        out.work = rules.config.say_work;
        for member in self.members_of(room) {
            if member != client {
                let said = Event::Said {
                    room,
                    from: client,
                    data: data.clone(),
                };
                out.to(member, said);
            }
        }
        Ok(())
    }

    /// Takes a client out of its room (if any) and out of the world.
    fn leave_world(&mut self, client: ClientId, reason: CloseReason, out: &mut Effects) {
        if let Some(Some(room)) = self.clients.get(&client).copied() {
            self.unseat(client, room);
            self.announce_departure(client, room, out);
        }
        self.clients.remove(&client);
        self.closed.remove(&client);
        self.counters.disconnects += 1;
        out.out.push(Effect::Gone(client, reason));
    }

    /// Dissolves the open rooms of `shard` whose match timeout ran out by its clock.
    fn expire(&mut self, rules: &Rules, shard: usize, out: &mut Effects) {
        let shards = self.clocks.len();
        let clock = self.clocks[shard];
        let timeout = rules.config.match_timeout;
        let (expired, kept): (Vec<Room>, Vec<Room>) = std::mem::take(&mut self.rooms)
            .into_iter()
            .partition(|room| {
                (rules.room_shard)(room.id.limit, shards) == shard
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
                out.to(member, Event::MatchTimeout { room: room.id });
            }
        }
    }

    fn unseat(&mut self, client: ClientId, id: RoomId) {
        self.clients.insert(client, None);
        if let Some(room) = self.rooms.iter_mut().find(|room| room.id == id) {
            room.members.retain(|&m| m != client);
        }
    }

    /// `MemberLeft` to whoever is still in the room; an empty room is gone.
    fn announce_departure(&mut self, client: ClientId, room: RoomId, out: &mut Effects) {
        let remaining = self.members_of(room);
        for &member in &remaining {
            out.to(member, Event::MemberLeft { room, client });
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
}
