//! The lock engine: shared state striped over `shards` parking_lot mutexes.
//!
//! With one shard this is the original server's design — one mutex around the world. With N,
//! clients and rooms are spread over N locks (see [`Shard`]) and a call takes only the one or
//! two it needs:
//!
//! | call                 | locks taken                                                   |
//! |----------------------|---------------------------------------------------------------|
//! | `connect`            | the client's shard                                            |
//! | `Join`               | the client's shard and the shard of the limit's rooms; when it is seated (refused), its room's shard instead |
//! | `Leave`, `Say`, `disconnect`, a refusal | the client's shard and its room's shard    |
//! | `Shout`, tick's `Tick` | each shard in turn, one at a time                           |
//! | tick's expiry, `snapshot` | every shard (only when some room has expired, for expiry) |
//!
//! **Lock order.** Whenever a call holds two shards it took the lower index first; a call that
//! holds all of them took them in index order. Nothing blocks while a lock is held: events go
//! into outboxes with a push that never waits, and clients whose outbox was full are removed
//! after every lock of the call is released.
//!
//! **One call's events to a client arrive together**, broadcasts aside: every event but a
//! broadcast's is sent while the recipient's room's shard is held (a room's events) or while
//! its own shard and, when it is seated, its room's are (its own answers), so two calls that
//! send to one client always share a lock. (Found by shuttle: docs/findings/shuttle-lock4-join-events-split.md.)
//!
//! Broadcasts (`Shout`, `Tick`) visit one shard at a time rather than stopping the world: each
//! client gets each broadcast exactly once, but two broadcasts may reach two shards' clients
//! in different orders. A tick sends `Tick` only to the clients of the phase groups it finds
//! due (`domain/phase.rs`); each shard keeps its own schedule, and all agree.

mod shard;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use shard::{ClientEntry, Locked, Shard, lock_all};

use crate::domain::command::{Command, CommandKind};
use crate::domain::config::{EngineConfig, MAX_ROOM_LIMIT, MIN_ROOM_LIMIT};
use crate::domain::event::{ErrorCode, Event};
use crate::domain::ids::{ClientId, Player, RoomId};
use crate::domain::outbox::CloseReason;
use crate::domain::phase::{TickSchedule, phase_group};
use crate::domain::snapshot::{ClientView, Counters, Snapshot};
use crate::engines::courier::Courier;
use crate::engines::engine::Engine;
use crate::engines::rooms::RoomBook;
use crate::engines::rooms::room_shard;
use crate::seeded::SeededBug;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{HashMap, Mutex};

/// The engine on shared state under locks.
pub struct LockEngine {
    shards: Box<[Mutex<Shard>]>,
    /// The last client id handed out. An atomic rather than shard state because ids must be
    /// unique across shards and taking one must not wait for any lock; `Relaxed` because only
    /// uniqueness matters, which `fetch_add` gives in any ordering.
    last_client: AtomicU64,
    /// Calls that named an unknown client. Not shard state: such a call may hold no lock at
    /// the moment it finds out. `Relaxed`: a statistic, read only by `snapshot`.
    unknown_client: AtomicU64,
    config: EngineConfig,
}

/// Clients whose outbox was found full during a call, removed once its locks are released.
type Cuts = BTreeSet<ClientId>;

impl LockEngine {
    pub fn new(shards: usize, config: EngineConfig) -> LockEngine {
        let shard = || {
            Mutex::new(Shard {
                clients: HashMap::default(),
                rooms: RoomBook::new(config.seeded),
                clock: Duration::ZERO,
                ticks: TickSchedule::new(&config),
                counters: Counters::default(),
            })
        };
        LockEngine {
            shards: (0..shards.max(1)).map(|_| shard()).collect(),
            last_client: AtomicU64::new(0),
            unknown_client: AtomicU64::new(0),
            config,
        }
    }

    fn client_shard(&self, client: ClientId) -> usize {
        // The remainder is below the shard count, a usize.
        (client.0 % self.shards.len() as u64) as usize
    }

    fn has(&self, bug: SeededBug) -> bool {
        self.config.seeded.has(bug)
    }

    /// Locks a client's shard and a room's shard in the global order.
    fn lock_pair(&self, client: usize, room: usize) -> Locked<'_> {
        let inverted = self.has(SeededBug::LockOrderInversion);
        Locked::pair(&self.shards, client, room, inverted)
    }

    fn count_unknown(&self) {
        self.unknown_client.fetch_add(1, Ordering::Relaxed);
    }

    /// Locks the client's shard and, when it is seated, its room's shard; `None` if the client
    /// is unknown.
    fn lock_client(&self, client: ClientId) -> Option<(Locked<'_>, Option<RoomId>)> {
        self.lock_client_and(client, None)
    }

    /// [`lock_client`], and for a client found unseated the shard `unseated` too (a `Join`'s
    /// rooms). A seated client's `Join` is refused under its seat's locks, so that the refusal
    /// cannot land between two events its room is sending it.
    ///
    /// [`lock_client`]: LockEngine::lock_client
    fn lock_client_and(
        &self,
        client: ClientId,
        unseated: Option<usize>,
    ) -> Option<(Locked<'_>, Option<RoomId>)> {
        let cs = self.client_shard(client);
        loop {
            let guard = self.shards[cs].lock();
            let seat = guard.clients.get(&client)?.seat;
            let seat_shard = seat.map(|room| room_shard(room.limit, self.shards.len()));
            let Some(rs) = seat_shard.or(unseated) else {
                return Some((Locked::One(guard), None));
            };
            if rs == cs {
                return Some((Locked::One(guard), seat));
            }
            if cs < rs || self.has(SeededBug::LockOrderInversion) {
                // Already in order: take the room's shard on top.
                let room = self.shards[rs].lock();
                return Some((
                    Locked::Two {
                        client: guard,
                        room,
                    },
                    seat,
                ));
            }
            // The room's shard comes first in the order: let go and take both afresh, then
            // check that the seat did not change while nothing was held.
            drop(guard);
            let mut locked = self.lock_pair(cs, rs);
            let now = locked.client_shard().clients.get(&client)?.seat;
            if now == seat {
                return Some((locked, seat));
            }
        }
    }

    fn join(&self, client: ClientId, limit: u8, cuts: &mut Cuts) {
        if !(MIN_ROOM_LIMIT..=MAX_ROOM_LIMIT).contains(&limit) {
            return self.refuse(client, ErrorCode::InvalidLimit, CommandKind::Join, cuts);
        }
        let rs = room_shard(limit, self.shards.len());
        if self.has(SeededBug::CheckThenActJoin) {
            let cs = self.client_shard(client);
            // The mistake: look under one hold of the locks, act under another.
            let mut locked = self.lock_pair(cs, rs);
            let seated = locked
                .sides()
                .clients
                .get(&client)
                .map(|e| e.seat.is_some());
            drop(locked);
            if seated == Some(false) {
                std::thread::yield_now();
                let mut locked = self.lock_pair(cs, rs);
                let sides = locked.sides();
                if let Some(entry) = sides.clients.get_mut(&client) {
                    sides.counters.commands += 1;
                    let mut courier = Courier {
                        counters: sides.counters,
                        cuts,
                    };
                    let outbox = entry.outbox.clone();
                    let room =
                        sides
                            .rooms
                            .join(client, outbox, limit, sides.room_clock, &mut courier);
                    entry.seat = Some(room);
                    return;
                }
            }
        }
        let Some((mut locked, seat)) = self.lock_client_and(client, Some(rs)) else {
            return self.count_unknown();
        };
        let sides = locked.sides();
        let entry = sides
            .clients
            .get_mut(&client)
            .expect("lock_client_and found it");
        sides.counters.commands += 1;
        let mut courier = Courier {
            counters: sides.counters,
            cuts,
        };
        if seat.is_some() {
            let (code, kind) = (ErrorCode::AlreadyInRoom, CommandKind::Join);
            return courier.error(client, &entry.outbox, code, kind);
        }
        let outbox = entry.outbox.clone();
        let room = sides
            .rooms
            .join(client, outbox, limit, sides.room_clock, &mut courier);
        entry.seat = Some(room);
    }

    /// Runs `Leave` or `Say`: the commands that need the client's room.
    fn in_room(&self, client: ClientId, command: Command, cuts: &mut Cuts) {
        let Some((mut locked, seat)) = self.lock_client(client) else {
            return self.count_unknown();
        };
        let sides = locked.sides();
        sides.counters.commands += 1;
        let entry = sides
            .clients
            .get_mut(&client)
            .expect("lock_client found it");
        let mut courier = Courier {
            counters: sides.counters,
            cuts,
        };
        let kind = command.kind();
        if let Command::Say { data } = &command
            && data.len() > self.config.max_message_bytes
        {
            let code = ErrorCode::MessageTooLarge;
            return courier.error(client, &entry.outbox, code, kind);
        }
        let Some(room) = seat else {
            return courier.error(client, &entry.outbox, ErrorCode::NotInRoom, kind);
        };
        let done = match command {
            Command::Say { data } => {
                crate::work::burn(self.config.say_work);
                sides.rooms.say(room, client, data, &mut courier)
            }
            _ => {
                entry.seat = None;
                sides.rooms.leave(room, client, true, &mut courier)
            }
        };
        if !done {
            // A seat is exact while its client's shard is locked; a miss is an engine bug
            // (a re-lock that did not revalidate), counted so every build reports it.
            sides.counters.seat_mismatches += 1;
        }
    }

    fn shout(&self, client: ClientId, text: Arc<str>, cuts: &mut Cuts) {
        if text.len() > self.config.max_message_bytes {
            return self.refuse(client, ErrorCode::MessageTooLarge, CommandKind::Shout, cuts);
        }
        if self.has(SeededBug::TemporaryGuardRelock) {
            return self.shout_holding_a_temporary(client, text, cuts);
        }
        {
            let mut shard = self.shards[self.client_shard(client)].lock();
            if !shard.clients.contains_key(&client) {
                return self.count_unknown();
            }
            shard.counters.commands += 1;
        }
        let shouted = Event::Shouted { from: client, text };
        for shard in self.shards.iter() {
            deliver_to_all(&mut shard.lock(), &shouted, cuts);
        }
    }

    /// The seeded `temporary_guard_relock`: the guard made in the `match` scrutinee is a
    /// temporary, dropped only at the end of the `match`, so the broadcast inside locks the
    /// client's shard a second time (parking_lot's mutex is not re-entrant: a self-deadlock).
    fn shout_holding_a_temporary(&self, client: ClientId, text: Arc<str>, cuts: &mut Cuts) {
        let cs = self.client_shard(client);
        match self.shards[cs].lock().clients.contains_key(&client) {
            false => self.count_unknown(),
            true => {
                let shouted = Event::Shouted { from: client, text };
                for shard in self.shards.iter() {
                    deliver_to_all(&mut shard.lock(), &shouted, cuts);
                }
            }
        }
    }

    /// Counts a command refused before any state was looked at, and tells its client, under
    /// [`lock_client`]'s locks: a refusal sent under the client's shard alone could land between
    /// two events that one call of its room sends it.
    ///
    /// [`lock_client`]: LockEngine::lock_client
    fn refuse(&self, client: ClientId, code: ErrorCode, kind: CommandKind, cuts: &mut Cuts) {
        let Some((mut locked, _)) = self.lock_client(client) else {
            return self.count_unknown();
        };
        let sides = locked.sides();
        let entry = sides.clients.get(&client).expect("lock_client found it");
        sides.counters.commands += 1;
        Courier {
            counters: sides.counters,
            cuts,
        }
        .error(client, &entry.outbox, code, kind);
    }

    /// Removes a client, its seat and its entry, under the locks `lock_client` took.
    fn remove(&self, client: ClientId, reason: CloseReason, cuts: &mut Cuts) -> bool {
        let Some((mut locked, seat)) = self.lock_client(client) else {
            return false;
        };
        let sides = locked.sides();
        if self.has(SeededBug::DeliveryAfterDisconnect) {
            // The mistake: drop the client from the world but not from its room, and leave its
            // outbox open: the room goes on delivering to a client that is gone.
            sides.clients.remove(&client);
            sides.counters.disconnects += 1;
            return true;
        }
        let entry = sides.clients.remove(&client).expect("lock_client found it");
        #[cfg(all(feature = "seeded-bugs", not(lockchan_loom)))]
        if self.has(SeededBug::LockAcrossBlockingCall) {
            // The mistake: "flush" the outbox before closing it by waiting for the reader,
            // with both shards still locked; a reader that reads only after its disconnect
            // returns (or never) holds every call on these shards forever.
            while entry.outbox.queued() > 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        let mut courier = Courier {
            counters: sides.counters,
            cuts,
        };
        if let Some(room) = seat {
            sides.rooms.leave(room, client, false, &mut courier);
        }
        entry.outbox.close(reason);
        sides.counters.disconnects += 1;
        true
    }

    /// Removes the clients cut off as slow consumers during a call, lowest id first,
    /// including any that their removal cut off in turn. Called with no lock held.
    fn finish_cuts(&self, mut cuts: Cuts) {
        while let Some(client) = cuts.pop_first() {
            self.remove(client, CloseReason::SlowConsumer, &mut cuts);
        }
    }

    fn expire_rooms(&self, cuts: &mut Cuts) {
        let timeout = self.config.match_timeout;
        let any = self.shards.iter().any(|shard| {
            let shard = shard.lock();
            shard.rooms.any_expired(shard.clock, timeout)
        });
        if !any {
            return;
        }
        // Dissolving a room changes the seats of clients in any shard: hold them all.
        let mut shards = lock_all(&self.shards);
        for index in 0..shards.len() {
            let Shard {
                rooms,
                clock,
                counters,
                ..
            } = &mut *shards[index];
            let mut courier = Courier { counters, cuts };
            for client in rooms.expire(*clock, timeout, &mut courier) {
                let shard = &mut shards[self.client_shard(client)];
                if let Some(entry) = shard.clients.get_mut(&client) {
                    entry.seat = None;
                }
            }
        }
    }
}

impl Engine for LockEngine {
    /// Which shards are locked at this moment: a stuck call holds its shards for good, so a
    /// watchdog that finds a stall sees them. Never waits: each shard is only tried.
    fn diagnose(&self) -> Option<String> {
        let held: Vec<String> = (0..self.shards.len())
            .filter(|&shard| self.shards[shard].try_lock().is_none())
            .map(|shard| shard.to_string())
            .collect();
        let shards = self.shards.len();
        Some(match held.as_slice() {
            [] => format!("none of {shards} shards locked"),
            held => format!("shards locked of {shards}: {}", held.join(", ")),
        })
    }

    fn name(&self) -> String {
        format!("lock/{}", self.shards.len())
    }

    fn connect(&self, player: Player, outbox: crate::OutboxSender) -> ClientId {
        let client = ClientId(self.last_client.fetch_add(1, Ordering::Relaxed) + 1);
        let mut shard = self.shards[self.client_shard(client)].lock();
        let entry = ClientEntry {
            player,
            outbox,
            seat: None,
        };
        shard.clients.insert(client, entry);
        shard.counters.connects += 1;
        client
    }

    fn submit(&self, client: ClientId, command: Command) {
        let mut cuts = Cuts::new();
        match command {
            Command::Join { limit } => self.join(client, limit, &mut cuts),
            Command::Shout { text } => self.shout(client, text, &mut cuts),
            command @ (Command::Leave | Command::Say { .. }) => {
                self.in_room(client, command, &mut cuts)
            }
        }
        self.finish_cuts(cuts);
    }

    fn disconnect(&self, client: ClientId) {
        let mut cuts = Cuts::new();
        if !self.remove(client, CloseReason::Disconnected, &mut cuts) {
            self.count_unknown();
        }
        self.finish_cuts(cuts);
    }

    fn tick(&self, now: Duration) {
        let mut cuts = Cuts::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.clock = shard.clock.max(now);
            // Every shard has seen the same ticks, so all agree on which groups are due and
            // on `at`.
            let clock = shard.clock;
            let groups = shard.ticks.groups();
            let due = shard.ticks.due(clock);
            if !due.is_empty() {
                // One pass over the shard's clients however many groups are due: each hears
                // at most one `Tick` from a call.
                let tick = Event::Tick { at: clock };
                let to = |id| due.contains(&phase_group(id, groups));
                deliver_to(&mut shard, &tick, to, &mut cuts);
            }
        }
        self.expire_rooms(&mut cuts);
        self.finish_cuts(cuts);
    }

    fn snapshot(&self) -> Snapshot {
        let shards = lock_all(&self.shards);
        let mut snapshot = Snapshot::default();
        for shard in &shards {
            snapshot.clock = snapshot.clock.max(shard.clock);
            snapshot.counters += shard.counters;
            for (id, entry) in &shard.clients {
                let view = ClientView {
                    player: entry.player.clone(),
                    room: entry.seat,
                };
                snapshot.clients.insert(*id, view);
            }
            snapshot.rooms.extend(shard.rooms.views());
        }
        snapshot.counters.unknown_client = self.unknown_client.load(Ordering::Relaxed);
        snapshot
    }

    fn quiesce(&self) {
        // Every call does all its work before it returns: there is never anything pending.
    }
}

/// Sends `event` to every client of one locked shard.
fn deliver_to_all(shard: &mut Shard, event: &Event, cuts: &mut Cuts) {
    deliver_to(shard, event, |_| true, cuts);
}

/// Pushes `event` to each of the shard's clients that `to` picks (a tick's phase group).
fn deliver_to(shard: &mut Shard, event: &Event, to: impl Fn(ClientId) -> bool, cuts: &mut Cuts) {
    let Shard {
        clients, counters, ..
    } = shard;
    let mut courier = Courier { counters, cuts };
    for (id, entry) in clients.iter().filter(|(id, _)| to(**id)) {
        courier.send(*id, &entry.outbox, event.clone());
    }
}

#[cfg(all(test, not(any(lockchan_loom, lockchan_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn a_watchdog_is_told_which_shards_are_held() {
        let engine = LockEngine::new(3, EngineConfig::default());
        assert_eq!(
            engine.diagnose().as_deref(),
            Some("none of 3 shards locked")
        );
        let _held = engine.shards[1].lock();
        assert_eq!(engine.diagnose().as_deref(), Some("shards locked of 3: 1"));
    }
}
