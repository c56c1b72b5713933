//! The sequential reference model: the executable specification of the engine.
//!
//! Plain data, one thread, no locks, linear scans wherever they make the rules easiest to read.
//! For any sequence of calls made one at a time, every engine must deliver exactly the events
//! this model delivers, in the same order per client, and end in an equal [`Snapshot`].
//! It shares no room code with the engines, so that a mistake there shows up as a difference.
//!
//! The rules, in the order a call applies them:
//! - `Join{limit}`: `InvalidLimit` unless 2 ≤ limit ≤ 16; `AlreadyInRoom` if seated; else a
//!   seat in the oldest open room of that limit (or a new room, created at the current clock):
//!   `Joined` to the joiner, `MemberJoined` to the others, and if that was the last seat
//!   `Matched` to every member, in join order.
//! - `Leave`: `NotInRoom` if not seated; else `Left` to the leaver, `MemberLeft` to the others;
//!   a room left empty is gone.
//! - `Say{data}`: `MessageTooLarge`, then `NotInRoom`; else `Said` to the other members.
//! - `Shout{text}`: `MessageTooLarge`; else `Shouted` to every client, the sender included.
//! - `tick(now)`: the clock becomes the later of itself and `now`; `Tick` to every client if
//!   none was sent yet or a tick period has passed since the last; then every open room whose
//!   match timeout has run out dissolves with `MatchTimeout` to its members.
//! - `disconnect`: like a silent `Leave` (no `Left`), then the client is gone and its outbox
//!   closed.
//! - A full outbox closes at once; when the call is done its client is disconnected as a slow
//!   consumer, lowest client id first (cascades included).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::{EngineConfig, MAX_ROOM_LIMIT, MIN_ROOM_LIMIT};
use crate::domain::event::{ErrorCode, Event};
use crate::domain::ids::{ClientId, Player, RoomId};
use crate::domain::outbox::{CloseReason, OutboxSender, PushError};
use crate::domain::snapshot::{ClientView, Counters, RoomView, Snapshot};

/// The reference model. Same calls as an [`Engine`](crate::Engine), by `&mut self`.
pub struct Model {
    config: EngineConfig,
    clients: BTreeMap<ClientId, ModelClient>,
    /// Every room, in the order it was opened.
    rooms: Vec<ModelRoom>,
    last_client: u64,
    last_seq: BTreeMap<u8, u64>,
    clock: Duration,
    last_tick: Option<Duration>,
    counters: Counters,
    cuts: BTreeSet<ClientId>,
}

struct ModelClient {
    player: Player,
    outbox: OutboxSender,
    room: Option<RoomId>,
}

struct ModelRoom {
    id: RoomId,
    created_at: Duration,
    members: Vec<ClientId>,
    matched: bool,
}

impl Model {
    pub fn new(config: EngineConfig) -> Model {
        Model {
            config,
            clients: BTreeMap::new(),
            rooms: Vec::new(),
            last_client: 0,
            last_seq: BTreeMap::new(),
            clock: Duration::ZERO,
            last_tick: None,
            counters: Counters::default(),
            cuts: BTreeSet::new(),
        }
    }

    pub fn connect(&mut self, player: Player, outbox: OutboxSender) -> ClientId {
        self.last_client += 1;
        let id = ClientId(self.last_client);
        let client = ModelClient {
            player,
            outbox,
            room: None,
        };
        self.clients.insert(id, client);
        self.counters.connects += 1;
        id
    }

    pub fn submit(&mut self, client: ClientId, command: Command) {
        if !self.clients.contains_key(&client) {
            self.counters.unknown_client += 1;
            return;
        }
        self.counters.commands += 1;
        let kind = command.kind();
        let result = match command {
            Command::Join { limit } => self.join(client, limit),
            Command::Leave => self.leave(client),
            Command::Say { data } => self.say(client, data),
            Command::Shout { text } => self.shout(client, text),
        };
        if let Err(code) = result {
            self.counters.errors += 1;
            self.deliver(
                client,
                Event::Error {
                    code,
                    command: kind,
                },
            );
        }
        self.finish_cuts();
    }

    pub fn disconnect(&mut self, client: ClientId) {
        if !self.clients.contains_key(&client) {
            self.counters.unknown_client += 1;
            return;
        }
        self.remove(client, CloseReason::Disconnected);
        self.finish_cuts();
    }

    pub fn tick(&mut self, now: Duration) {
        self.clock = self.clock.max(now);
        let due = self
            .last_tick
            .is_none_or(|last| self.clock >= last + self.config.tick_period);
        if due {
            self.last_tick = Some(self.clock);
            let at = self.clock;
            for id in self.client_ids() {
                self.deliver(id, Event::Tick { at });
            }
        }
        let timeout = self.config.match_timeout;
        let (expired, kept) = std::mem::take(&mut self.rooms)
            .into_iter()
            .partition(|room| !room.matched && room.created_at + timeout <= self.clock);
        self.rooms = kept;
        for room in expired {
            self.counters.rooms_timed_out += 1;
            for member in room.members {
                self.client_mut(member).room = None;
                self.deliver(member, Event::MatchTimeout { room: room.id });
            }
        }
        self.finish_cuts();
    }

    pub fn snapshot(&self) -> Snapshot {
        let clients = self.clients.iter().map(|(id, client)| {
            let view = ClientView {
                player: client.player.clone(),
                room: client.room,
            };
            (*id, view)
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
            clock: self.clock,
            clients: clients.collect(),
            rooms: rooms.collect(),
            counters: self.counters,
        }
    }

    fn join(&mut self, client: ClientId, limit: u8) -> Result<(), ErrorCode> {
        if !(MIN_ROOM_LIMIT..=MAX_ROOM_LIMIT).contains(&limit) {
            return Err(ErrorCode::InvalidLimit);
        }
        if self.clients[&client].room.is_some() {
            return Err(ErrorCode::AlreadyInRoom);
        }
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
                self.rooms.push(ModelRoom {
                    id: RoomId { limit, seq: *seq },
                    created_at: self.clock,
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
        self.client_mut(client).room = Some(id);

        let joined = Event::Joined {
            room: id,
            members: members.clone(),
        };
        self.deliver(client, joined);
        for &member in members.iter().filter(|&&m| m != client) {
            self.deliver(member, Event::MemberJoined { room: id, client });
        }
        if full {
            self.counters.rooms_matched += 1;
            for &member in members.iter() {
                let matched = Event::Matched {
                    room: id,
                    members: members.clone(),
                };
                self.deliver(member, matched);
            }
        }
        Ok(())
    }

    fn leave(&mut self, client: ClientId) -> Result<(), ErrorCode> {
        let room = self.clients[&client].room.ok_or(ErrorCode::NotInRoom)?;
        self.unseat(client, room);
        self.deliver(client, Event::Left { room });
        self.announce_departure(client, room);
        Ok(())
    }

    fn say(&mut self, client: ClientId, data: Arc<str>) -> Result<(), ErrorCode> {
        if data.len() > self.config.max_message_bytes {
            return Err(ErrorCode::MessageTooLarge);
        }
        let room = self.clients[&client].room.ok_or(ErrorCode::NotInRoom)?;
        crate::work::burn(self.config.say_work);
        for member in self.members_of(room) {
            if member != client {
                let said = Event::Said {
                    room,
                    from: client,
                    data: data.clone(),
                };
                self.deliver(member, said);
            }
        }
        Ok(())
    }

    fn shout(&mut self, client: ClientId, text: Arc<str>) -> Result<(), ErrorCode> {
        if text.len() > self.config.max_message_bytes {
            return Err(ErrorCode::MessageTooLarge);
        }
        for id in self.client_ids() {
            let shouted = Event::Shouted {
                from: client,
                text: text.clone(),
            };
            self.deliver(id, shouted);
        }
        Ok(())
    }

    /// Takes a client out of its room (if any) and out of the world, closing its outbox.
    fn remove(&mut self, client: ClientId, reason: CloseReason) {
        if let Some(room) = self.clients[&client].room {
            self.unseat(client, room);
            self.announce_departure(client, room);
        }
        if let Some(gone) = self.clients.remove(&client) {
            gone.outbox.close(reason);
            self.counters.disconnects += 1;
        }
    }

    fn unseat(&mut self, client: ClientId, id: RoomId) {
        self.client_mut(client).room = None;
        if let Some(index) = self.rooms.iter().position(|room| room.id == id) {
            self.rooms[index].members.retain(|&m| m != client);
        }
    }

    /// `MemberLeft` to whoever is still in the room; an empty room is gone.
    fn announce_departure(&mut self, client: ClientId, room: RoomId) {
        let remaining = self.members_of(room);
        for &member in &remaining {
            self.deliver(member, Event::MemberLeft { room, client });
        }
        if remaining.is_empty() {
            self.rooms.retain(|r| r.id != room);
        }
    }

    fn deliver(&mut self, to: ClientId, event: Event) {
        let Some(client) = self.clients.get(&to) else {
            return;
        };
        match client.outbox.try_push(event) {
            Ok(()) => self.counters.events_delivered += 1,
            Err(PushError::Full) => {
                if client.outbox.close(CloseReason::SlowConsumer) {
                    self.counters.slow_consumer_cuts += 1;
                    self.cuts.insert(to);
                }
            }
            Err(PushError::Closed) => {}
        }
    }

    fn finish_cuts(&mut self) {
        while let Some(client) = self.cuts.pop_first() {
            if self.clients.contains_key(&client) {
                self.remove(client, CloseReason::SlowConsumer);
            }
        }
    }

    fn members_of(&self, id: RoomId) -> Vec<ClientId> {
        self.rooms
            .iter()
            .find(|room| room.id == id)
            .map(|room| room.members.clone())
            .unwrap_or_default()
    }

    fn client_ids(&self) -> Vec<ClientId> {
        self.clients.keys().copied().collect()
    }

    fn client_mut(&mut self, id: ClientId) -> &mut ModelClient {
        self.clients
            .get_mut(&id)
            .expect("the model only names clients it holds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outbox::outbox;

    fn connect(model: &mut Model) -> (ClientId, crate::OutboxReceiver) {
        let (tx, rx) = outbox(4);
        (model.connect(Player::new("p", "n"), tx), rx)
    }

    #[test]
    fn the_first_tick_is_sent_and_the_next_waits_a_period() {
        let mut model = Model::new(EngineConfig::default());
        let (_, rx) = connect(&mut model);
        model.tick(Duration::from_millis(100));
        model.tick(Duration::from_millis(900));
        model.tick(Duration::from_millis(1100));
        let ticks: Vec<_> = rx.drain();
        let at = |ms| Event::Tick {
            at: Duration::from_millis(ms),
        };
        assert_eq!(ticks, vec![at(100), at(1100)]);
    }

    #[test]
    fn the_clock_never_goes_back() {
        let mut model = Model::new(EngineConfig::default());
        model.tick(Duration::from_secs(5));
        model.tick(Duration::from_secs(3));
        assert_eq!(model.snapshot().clock, Duration::from_secs(5));
    }

    #[test]
    fn a_slow_consumer_is_removed_after_the_call_with_its_room_told() {
        let mut model = Model::new(EngineConfig::default());
        let (slow, slow_rx) = connect(&mut model);
        let (fast, fast_rx) = connect(&mut model);
        model.submit(slow, Command::Join { limit: 3 });
        model.submit(fast, Command::Join { limit: 3 });
        // slow holds Joined and MemberJoined; two shouts fill it and the third cuts it.
        for _ in 0..3 {
            model.submit(fast, Command::Shout { text: "x".into() });
            fast_rx.drain();
        }
        assert_eq!(
            slow_rx.close_reason(),
            Some(CloseReason::SlowConsumer),
            "{:?}",
            slow_rx.drain()
        );
        let snapshot = model.snapshot();
        assert!(!snapshot.clients.contains_key(&slow));
        assert_eq!(snapshot.counters.slow_consumer_cuts, 1);
        let room = RoomId { limit: 3, seq: 1 };
        assert_eq!(snapshot.rooms[&room].members, vec![fast]);
    }
}
