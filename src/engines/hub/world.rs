//! The world actor: the original server's hub. Owns every client, relays broadcasts and
//! routes room commands to the room actors. What it sends to a room waits in a buffer until
//! its loop sends it: into a bounded queue, so the loop waits there when a room is behind.
//! The world decides `Tick`: a tick sends it to each phase group due (`domain/phase.rs`), then
//! tells the rooms.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use super::messages::{Notice, Part, ToRoom, ToWorld};
use super::{Flow, Mail, Reply};
use crate::domain::command::Command;
use crate::domain::config::{EngineConfig, MAX_ROOM_LIMIT, MIN_ROOM_LIMIT};
use crate::domain::event::{ErrorCode, Event};
use crate::domain::ids::{ClientId, Player};
#[cfg(not(lockchan_loom))]
use crate::domain::outbox::PushError;
use crate::domain::outbox::{CloseReason, OutboxSender};
use crate::domain::phase::{TickSchedule, phase_group};
use crate::domain::snapshot::Counters;
use crate::engines::courier::Courier;
use crate::engines::rooms::room_shard;
use crate::seeded::SeededBug;
use crate::sync::HashMap;

pub(crate) struct World<M: Mail> {
    config: EngineConfig,
    clients: HashMap<ClientId, Entry>,
    /// How many room actors there are.
    shards: usize,
    /// Messages for room actors, in order, until the loop sends them.
    outgoing: Vec<(usize, ToRoom<M>)>,
    clock: Duration,
    /// Each tick phase group's next due slot: the world alone decides `Tick`.
    ticks: TickSchedule,
    counters: Counters,
    cuts: BTreeSet<ClientId>,
    /// Commands at room actors, not yet answered.
    in_flight: usize,
    /// Removed clients whose commands are still at room actors: a `Join` one of them bounces
    /// is accepted work, so it still runs (into the closed outbox) before the client leaves.
    departed: HashMap<ClientId, Departed>,
    barrier: Option<Round<M>>,
    /// Quiesce callers that arrived during a round; they need a round of their own.
    waiting: Vec<M::Done>,
    /// Seeded `awaited_full_outbox`: broadcasts that found a client's outbox full, held for the
    /// task engine's loop to await room for ([`held`](Self::held)) instead of cutting the
    /// client off. Always empty otherwise.
    held: Vec<(OutboxSender, Event)>,
}

/// What the world knows of a client.
///
/// Per-client order: a client's commands at room actors are all at one actor, which answers
/// them in order. A command that would take another path — to another room actor, or answered
/// by the world itself — waits in `stash` until every answer is in, then runs in order. Only
/// `Say`s to the room the client sits in are pipelined, since they change no seat and the room
/// answers them in order anyway; a `Join` or `Leave` goes alone. So a client's own events come
/// in the order of its commands, though several actors deliver them.
struct Entry {
    player: Player,
    outbox: OutboxSender,
    /// The room actor that seats the client, as last told by it.
    room: Option<usize>,
    /// The client's unanswered commands at a room actor, if any.
    pending: Option<Pending>,
    stash: VecDeque<Command>,
}

/// Commands of one client at one room actor, awaiting their `Done`.
struct Pending {
    room: usize,
    count: u32,
    /// All of them are `Say`s, so another `Say` may follow them without waiting.
    says_only: bool,
}

impl Entry {
    /// True when `command` must wait for the answers to the client's pending commands.
    fn must_wait(&self, command: &Command, max_message_bytes: usize) -> bool {
        let Some(pending) = &self.pending else {
            return false;
        };
        let pipelined = pending.says_only
            && self.room == Some(pending.room)
            && matches!(command, Command::Say { data } if data.len() <= max_message_bytes);
        !pipelined
    }
}

/// A removed client's commands still at a room actor.
struct Departed {
    outbox: OutboxSender,
    pending: u32,
}

/// A quiesce round: a barrier sent to every room, and who waits for its end.
struct Round<M: Mail> {
    missing_acks: usize,
    /// Something was sent to a room after the barrier: the round proves nothing about it.
    dirty: bool,
    waiters: Vec<M::Done>,
}

impl<M: Mail> World<M> {
    pub(crate) fn new(config: EngineConfig, shards: usize) -> World<M> {
        World {
            ticks: TickSchedule::new(&config),
            config,
            clients: HashMap::default(),
            shards,
            outgoing: Vec::new(),
            clock: Duration::ZERO,
            counters: Counters::default(),
            cuts: BTreeSet::new(),
            in_flight: 0,
            departed: HashMap::default(),
            barrier: None,
            waiting: Vec::new(),
            held: Vec::new(),
        }
    }

    /// Handles a message from a caller; what it has for the rooms waits in
    /// [`outgoing`](Self::outgoing).
    pub(crate) fn handle_message(&mut self, message: ToWorld<M>) -> Flow {
        if let ToWorld::Stop = message {
            for room in 0..self.shards {
                self.send_room(room, ToRoom::Stop);
            }
            return Flow::Stop;
        }
        self.on_message(message);
        self.finish_cuts();
        Flow::Continue
    }

    /// Handles a notice from a room actor. Notices come first whenever there are any: they
    /// finish work already accepted, and never wait.
    pub(crate) fn handle_notice(&mut self, notice: Notice) {
        self.on_notice(notice);
        self.finish_cuts();
    }

    /// The messages for room actors the last calls left, oldest first, by room index.
    pub(crate) fn outgoing(&mut self) -> std::vec::Drain<'_, (usize, ToRoom<M>)> {
        self.outgoing.drain(..)
    }

    /// Seeded `awaited_full_outbox`: the deliveries the last calls held back because the
    /// outbox was full. Empty in a real engine. (A loom build has no task engine to ask.)
    #[cfg_attr(lockchan_loom, allow(dead_code))]
    pub(crate) fn held(&mut self) -> std::vec::Drain<'_, (OutboxSender, Event)> {
        self.held.drain(..)
    }

    fn on_message(&mut self, message: ToWorld<M>) {
        match message {
            ToWorld::Connect {
                client,
                player,
                outbox,
            } => {
                let entry = Entry {
                    player,
                    outbox,
                    room: None,
                    pending: None,
                    stash: VecDeque::new(),
                };
                self.clients.insert(client, entry);
                self.counters.connects += 1;
            }
            ToWorld::Submit { client, command } => match self.clients.get_mut(&client) {
                None => self.counters.unknown_client += 1,
                Some(entry)
                    if !entry.stash.is_empty()
                        || entry.must_wait(&command, self.config.max_message_bytes) =>
                {
                    entry.stash.push_back(command)
                }
                Some(_) => self.run_command(client, command),
            },
            ToWorld::Disconnect { client } => {
                if !self.remove(client, CloseReason::Disconnected) {
                    self.counters.unknown_client += 1;
                }
            }
            ToWorld::Tick { now } => self.tick(now),
            ToWorld::Quiesce { done } => {
                if self.barrier.is_some() {
                    self.waiting.push(done);
                } else {
                    self.start_round(vec![done]);
                }
            }
            ToWorld::Snapshot { reply } => {
                let clients = self.clients.iter();
                let clients = clients.map(|(id, e)| (*id, e.player.clone())).collect();
                let part = Part::World {
                    clock: self.clock,
                    clients,
                    counters: self.counters,
                };
                reply.clone().reply(part);
                for room in 0..self.shards {
                    let reply = reply.clone();
                    self.send_room(room, ToRoom::Snapshot { reply });
                }
            }
            ToWorld::Stop => unreachable!("handled by `handle_message`"),
        }
    }

    fn on_notice(&mut self, notice: Notice) {
        match notice {
            Notice::Done {
                client,
                room,
                seated,
                bounce,
            } => {
                let Some(entry) = self.clients.get_mut(&client) else {
                    return self.on_departed_done(client, bounce);
                };
                if let Some(pending) = &mut entry.pending {
                    pending.count -= 1;
                    if pending.count == 0 {
                        entry.pending = None;
                    }
                }
                entry.room = seated.then_some(room);
                self.in_flight -= 1;
                if let Some(command) = bounce {
                    self.route(client, command);
                }
                self.drain_stash(client);
            }
            Notice::Unseated { room, clients } => {
                for client in clients {
                    if let Some(entry) = self.clients.get_mut(&client)
                        && entry.room == Some(room)
                    {
                        entry.room = None;
                    }
                }
            }
            Notice::Cut { room, client } => {
                if let Some(entry) = self.clients.get_mut(&client)
                    && entry.room == Some(room)
                {
                    // The cutting room has already taken it out of its room.
                    entry.room = None;
                }
                self.remove(client, CloseReason::SlowConsumer);
            }
            Notice::BarrierAck => self.on_barrier_ack(),
        }
    }

    /// Runs a client's command now: the client has none at a room.
    fn run_command(&mut self, client: ClientId, command: Command) {
        self.counters.commands += 1;
        let max = self.config.max_message_bytes;
        let refusal = match &command {
            Command::Join { limit } if !(MIN_ROOM_LIMIT..=MAX_ROOM_LIMIT).contains(limit) => {
                Some(ErrorCode::InvalidLimit)
            }
            Command::Say { data } if data.len() > max => Some(ErrorCode::MessageTooLarge),
            Command::Shout { text } if text.len() > max => Some(ErrorCode::MessageTooLarge),
            Command::Leave | Command::Say { .. } if self.clients[&client].room.is_none() => {
                Some(ErrorCode::NotInRoom)
            }
            _ => None,
        };
        if let Some(code) = refusal {
            if let Some(room) = self.clients[&client].room {
                // The room actor that seats the client may be midway through sending it one
                // step's events (a neighbour's `MemberJoined`, then `Matched`): the refusal
                // goes through that room's queue so it cannot land between them.
                let kind = command.kind();
                let outbox = self.track(client, room, false);
                let message = ToRoom::Refuse {
                    client,
                    outbox,
                    code,
                    kind,
                };
                return self.send_room(room, message);
            }
            let outbox = &self.clients[&client].outbox;
            let mut courier = Courier {
                counters: &mut self.counters,
                cuts: &mut self.cuts,
            };
            return courier.error(client, outbox, code, command.kind());
        }
        match command {
            Command::Shout { text } => {
                let shouted = Event::Shouted { from: client, text };
                self.broadcast(&shouted);
            }
            command => self.route(client, command),
        }
    }

    /// Sends a room command to the room actor that seats the client, or for a roomless
    /// `Join` to the one that owns the limit's rooms.
    fn route(&mut self, client: ClientId, command: Command) {
        let shards = self.shards;
        let entry = self.clients.get(&client).expect("routed clients exist");
        let room = match (&command, entry.room) {
            (_, Some(room)) => room,
            (Command::Join { limit }, None) => room_shard(*limit, shards),
            _ => unreachable!("only a Join goes to a room without a seat"),
        };
        let say = matches!(command, Command::Say { .. });
        let outbox = self.track(client, room, say);
        let message = ToRoom::Command {
            client,
            outbox,
            command,
        };
        self.send_room(room, message);
    }

    /// Counts one more of `client`'s messages that room actor `room` will answer with a
    /// `Done`, and hands back the outbox to send with it.
    fn track(&mut self, client: ClientId, room: usize, say: bool) -> OutboxSender {
        let entry = self
            .clients
            .get_mut(&client)
            .expect("tracked clients exist");
        match &mut entry.pending {
            Some(pending) => {
                debug_assert_eq!(pending.room, room, "pipelined commands share a room actor");
                pending.count += 1;
                pending.says_only &= say;
            }
            None => {
                entry.pending = Some(Pending {
                    room,
                    count: 1,
                    says_only: say,
                })
            }
        }
        self.in_flight += 1;
        entry.outbox.clone()
    }

    fn drain_stash(&mut self, client: ClientId) {
        let max = self.config.max_message_bytes;
        while let Some(entry) = self.clients.get_mut(&client) {
            match entry.stash.front() {
                Some(next) if !entry.must_wait(next, max) => {}
                _ => return,
            }
            let Some(command) = entry.stash.pop_front() else {
                return;
            };
            self.run_command(client, command);
            self.finish_cuts();
        }
    }

    fn tick(&mut self, now: Duration) {
        self.clock = self.clock.max(now);
        let groups = self.ticks.groups();
        let due = self.ticks.due(self.clock);
        if !due.is_empty() {
            // One pass over the clients however many groups are due: each hears at most one
            // `Tick` from a call.
            let tick = Event::Tick { at: self.clock };
            self.broadcast_to(&tick, |id| due.contains(&phase_group(id, groups)));
        }
        // After the ticks above, so a member hears `Tick` before its room's `MatchTimeout`.
        let clock = self.clock;
        for room in 0..self.shards {
            self.send_room(room, ToRoom::Tick { clock });
        }
    }

    fn broadcast(&mut self, event: &Event) {
        self.broadcast_to(event, |_| true);
    }

    /// Pushes `event` to each client that `to` picks (a tick's phase group).
    fn broadcast_to(&mut self, event: &Event, to: impl Fn(ClientId) -> bool) {
        #[cfg(not(lockchan_loom))]
        if self.config.seeded.has(SeededBug::AwaitedFullOutbox) {
            return self.broadcast_holding_full(event, to);
        }
        let mut courier = Courier {
            counters: &mut self.counters,
            cuts: &mut self.cuts,
        };
        for (id, entry) in self.clients.iter().filter(|(id, _)| to(**id)) {
            courier.send(*id, &entry.outbox, event.clone());
        }
    }

    /// Seeded `awaited_full_outbox`: the mistake is to treat a full outbox as backpressure, a
    /// delivery to wait for, rather than a slow consumer to cut off.
    #[cold]
    #[cfg(not(lockchan_loom))]
    fn broadcast_holding_full(&mut self, event: &Event, to: impl Fn(ClientId) -> bool) {
        for (_, entry) in self.clients.iter().filter(|(id, _)| to(**id)) {
            match entry.outbox.try_push(event.clone()) {
                Ok(()) => self.counters.events_delivered += 1,
                Err(PushError::Full) => self.held.push((entry.outbox.clone(), event.clone())),
                Err(PushError::Closed) => {}
            }
        }
    }

    /// Forgets a client and has its room forget it. False if it was unknown.
    fn remove(&mut self, client: ClientId, reason: CloseReason) -> bool {
        if self.config.seeded.has(SeededBug::LeakedClient)
            && self.clients.get(&client).is_some_and(|e| e.room.is_some())
        {
            // The mistake: tell the room, forget to forget the client.
            let room = self.clients[&client].room;
            if let Some(room) = room {
                self.send_room(room, ToRoom::Remove { client });
            }
            return true;
        }
        let Some(entry) = self.clients.remove(&client) else {
            return false;
        };
        entry.outbox.close(reason);
        self.counters.disconnects += 1;
        let pending = entry.pending.map(|pending| {
            let departed = Departed {
                outbox: entry.outbox.clone(),
                pending: pending.count,
            };
            self.departed.insert(client, departed);
            pending.room
        });
        // Behind any command of the client's still queued there, by FIFO.
        let mut rooms: Vec<usize> = entry.room.into_iter().chain(pending).collect();
        rooms.dedup();
        for room in rooms {
            self.send_room(room, ToRoom::Remove { client });
        }
        true
    }

    /// A `Done` for a client removed while its command was at a room. The command was
    /// accepted, so a `Join` the room bounced still runs: it seats the client (its outbox
    /// already closed) at the room that owns the limit, which then forgets it, as if the join
    /// had come just before the disconnect.
    fn on_departed_done(&mut self, client: ClientId, bounce: Option<Command>) {
        let Some(departed) = self.departed.get_mut(&client) else {
            unreachable!("a Done answers a command of a connected or departed client")
        };
        self.in_flight -= 1;
        departed.pending -= 1;
        let outbox = departed.outbox.clone();
        if let Some(command) = bounce {
            let Command::Join { limit } = command else {
                unreachable!("rooms bounce only a Join")
            };
            departed.pending += 1;
            self.in_flight += 1;
            let room = room_shard(limit, self.shards);
            self.send_room(
                room,
                ToRoom::Command {
                    client,
                    outbox,
                    command,
                },
            );
            self.send_room(room, ToRoom::Remove { client });
        } else if departed.pending == 0 {
            self.departed.remove(&client);
        }
    }

    /// Removes the clients the world found with a full outbox, lowest id first.
    fn finish_cuts(&mut self) {
        while let Some(client) = self.cuts.pop_first() {
            self.remove(client, CloseReason::SlowConsumer);
        }
    }

    /// Queues `message` for a room. A room's queue is bounded: the loop waiting there is the
    /// backpressure that keeps the world from outrunning its rooms. Rooms never wait on the
    /// world, so this cannot deadlock.
    fn send_room(&mut self, room: usize, message: ToRoom<M>) {
        if let Some(round) = &mut self.barrier {
            round.dirty = true;
        }
        self.outgoing.push((room, message));
    }

    fn start_round(&mut self, waiters: Vec<M::Done>) {
        for room in 0..self.shards {
            self.send_room(room, ToRoom::Barrier);
        }
        self.barrier = Some(Round {
            missing_acks: self.shards,
            dirty: false,
            waiters,
        });
    }

    fn on_barrier_ack(&mut self) {
        let Some(round) = &mut self.barrier else {
            return;
        };
        round.missing_acks -= 1;
        if round.missing_acks > 0 {
            return;
        }
        let Some(round) = self.barrier.take() else {
            return;
        };
        let mut waiters = round.waiters;
        if round.dirty || self.in_flight > 0 {
            // Work moved on during the round: go again for the same waiters and any new ones.
            waiters.append(&mut self.waiting);
            return self.start_round(waiters);
        }
        for done in waiters {
            done.reply(());
        }
        if !self.waiting.is_empty() {
            let waiters = std::mem::take(&mut self.waiting);
            self.start_round(waiters);
        }
    }
}
