//! A room actor: owns the rooms of the limits that map to it and relays inside them. It never
//! waits on anything: its notices to the world go into a buffer its loop sends unbounded.

use std::collections::BTreeSet;
use std::time::Duration;

use super::messages::{Notice, Part, ToRoom};
use super::{Flow, Mail, Reply};
use crate::domain::command::{Command, CommandKind};
use crate::domain::config::EngineConfig;
use crate::domain::event::ErrorCode;
use crate::domain::ids::{ClientId, RoomId};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::Counters;
use crate::engines::courier::Courier;
use crate::engines::rooms::RoomBook;
use crate::engines::rooms::room_shard;
use crate::seeded::{Seeded, SeededBug};
use crate::sync::HashMap;

pub(crate) struct RoomActor {
    index: usize,
    shards: usize,
    book: RoomBook,
    /// Where each client seated here sits: the room's side of the truth about seats.
    seats: HashMap<ClientId, RoomId>,
    clock: Duration,
    match_timeout: Duration,
    counters: Counters,
    cuts: BTreeSet<ClientId>,
    /// Notices for the world, in order, until the loop sends them.
    notices: Vec<Notice>,
    seeded: Seeded,
    say_work: u32,
}

impl RoomActor {
    pub(crate) fn new(index: usize, shards: usize, config: &EngineConfig) -> RoomActor {
        RoomActor {
            index,
            shards,
            book: RoomBook::new(config.seeded),
            seeded: config.seeded,
            say_work: config.say_work,
            seats: HashMap::default(),
            clock: Duration::ZERO,
            match_timeout: config.match_timeout,
            counters: Counters::default(),
            cuts: BTreeSet::new(),
            notices: Vec::new(),
        }
    }

    /// Handles one message; what it has for the world waits in [`notices`](Self::notices).
    pub(crate) fn handle<M: Mail>(&mut self, message: ToRoom<M>) -> Flow {
        match message {
            ToRoom::Command {
                client,
                outbox,
                command,
            } => self.command(client, outbox, command),
            ToRoom::Refuse {
                client,
                outbox,
                code,
                kind,
            } => self.refuse(client, outbox, code, kind),
            ToRoom::Remove { client } => self.remove(client),
            ToRoom::Tick { clock } => self.tick(clock),
            ToRoom::Barrier => self.notify(Notice::BarrierAck),
            ToRoom::Snapshot { reply } => {
                let rooms = self.book.views().collect();
                let counters = self.counters;
                reply.reply(Part::Rooms { rooms, counters });
            }
            ToRoom::Stop => return Flow::Stop,
        }
        self.finish_cuts();
        Flow::Continue
    }

    /// The notices the last messages left for the world, oldest first.
    pub(crate) fn notices(&mut self) -> std::vec::Drain<'_, Notice> {
        self.notices.drain(..)
    }

    fn command(&mut self, client: ClientId, outbox: OutboxSender, command: Command) {
        let mut courier = Courier {
            counters: &mut self.counters,
            cuts: &mut self.cuts,
        };
        let kind = command.kind();
        let seat = self.seats.get(&client).copied();
        let mut bounce = None;
        match (command, seat) {
            (Command::Join { .. }, Some(_)) => {
                courier.error(client, &outbox, ErrorCode::AlreadyInRoom, kind);
            }
            (Command::Join { limit }, None) if room_shard(limit, self.shards) != self.index => {
                bounce = Some(Command::Join { limit });
            }
            (Command::Join { limit }, None) => {
                let room = self
                    .book
                    .join(client, outbox, limit, self.clock, &mut courier);
                self.seats.insert(client, room);
            }
            (Command::Leave, Some(room)) => {
                self.seats.remove(&client);
                if !self.book.leave(room, client, true, &mut courier) {
                    courier.counters.seat_mismatches += 1;
                }
            }
            (Command::Say { data }, Some(room)) => {
                crate::work::burn(self.say_work);
                if !self.book.say(room, client, data, &mut courier) {
                    courier.counters.seat_mismatches += 1;
                }
            }
            (Command::Leave | Command::Say { .. }, None) => {
                courier.error(client, &outbox, ErrorCode::NotInRoom, kind);
            }
            (Command::Shout { .. }, _) => unreachable!("the world relays shouts itself"),
        }
        self.finish_cuts();
        if self.seeded.has(SeededBug::LostReply) && kind == crate::CommandKind::Leave {
            return;
        }
        self.done(client, bounce);
    }

    fn refuse(
        &mut self,
        client: ClientId,
        outbox: OutboxSender,
        code: ErrorCode,
        kind: CommandKind,
    ) {
        let mut courier = Courier {
            counters: &mut self.counters,
            cuts: &mut self.cuts,
        };
        courier.error(client, &outbox, code, kind);
        self.finish_cuts();
        self.done(client, None);
    }

    /// Tells the world this room finished one of `client`'s messages, and whether the client
    /// is seated here now.
    fn done(&mut self, client: ClientId, bounce: Option<Command>) {
        let seated = self.seats.contains_key(&client);
        let room = self.index;
        self.notify(Notice::Done {
            client,
            room,
            seated,
            bounce,
        });
    }

    fn remove(&mut self, client: ClientId) {
        if let Some(room) = self.seats.remove(&client) {
            let mut courier = Courier {
                counters: &mut self.counters,
                cuts: &mut self.cuts,
            };
            self.book.leave(room, client, false, &mut courier);
        }
    }

    fn tick(&mut self, clock: Duration) {
        self.clock = clock;
        let mut courier = Courier {
            counters: &mut self.counters,
            cuts: &mut self.cuts,
        };
        let clients = self.book.expire(clock, self.match_timeout, &mut courier);
        if !clients.is_empty() {
            for client in &clients {
                self.seats.remove(client);
            }
            let room = self.index;
            self.notify(Notice::Unseated { room, clients });
        }
    }

    /// Takes the clients whose outbox was full out of their rooms, lowest id first, and tells
    /// the world to forget them.
    fn finish_cuts(&mut self) {
        while let Some(client) = self.cuts.pop_first() {
            self.remove(client);
            let room = self.index;
            self.notify(Notice::Cut { room, client });
        }
    }

    fn notify(&mut self, notice: Notice) {
        self.notices.push(notice);
    }
}
