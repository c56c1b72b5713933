//! The rooms of one shard: seating, matching, relaying and expiry, with their events.
//!
//! Both engines keep their rooms in a `RoomBook` — the lock engine one per lock, the actor
//! engine one per room actor — so that they do the same work and differ only in how they
//! synchronize it. The [`Model`](crate::Model) does not use it: it is the independent
//! specification this code is tested against.
//!
//! Invariants, kept by every method:
//! - a room is *open* (fewer members than its limit) or *matched* (it was full once);
//! - an open room has a free seat, so the oldest open room of a limit is the one to fill;
//! - a room with no members does not exist.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::event::Event;
use crate::domain::ids::{ClientId, RoomId};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::RoomView;
use crate::engines::courier::Courier;
use crate::sync::HashMap;

#[derive(Default)]
pub(crate) struct RoomBook {
    lobbies: HashMap<u8, Lobby>,
    /// Seeded bug `double_matched`: a matched room that loses a member opens again.
    reopen_matched: bool,
}

/// The rooms of one user limit.
#[derive(Default)]
struct Lobby {
    /// Sequence number of the last room opened.
    last_seq: u64,
    /// Open rooms by sequence number: the first is the oldest.
    open: BTreeMap<u64, Room>,
    matched: HashMap<u64, Room>,
}

struct Room {
    created_at: Duration,
    /// In join order; each member's outbox so the room can deliver without asking anyone.
    members: Vec<(ClientId, OutboxSender)>,
}

impl Room {
    fn member_ids(&self) -> Arc<[ClientId]> {
        self.members.iter().map(|(id, _)| *id).collect()
    }

    fn position(&self, client: ClientId) -> Option<usize> {
        self.members.iter().position(|(id, _)| *id == client)
    }

    fn deliver_to_all_but(&self, except: ClientId, event: &Event, courier: &mut Courier<'_>) {
        for (id, outbox) in &self.members {
            if *id != except {
                courier.send(*id, outbox, event.clone());
            }
        }
    }
}

impl RoomBook {
    pub(crate) fn new(seeded: crate::seeded::Seeded) -> RoomBook {
        RoomBook {
            lobbies: HashMap::default(),
            reopen_matched: seeded.has(crate::seeded::SeededBug::DoubleMatched),
        }
    }

    /// Seats `client` in the oldest open room of `limit`, or a new room opened at `clock`.
    pub(crate) fn join(
        &mut self,
        client: ClientId,
        outbox: OutboxSender,
        limit: u8,
        clock: Duration,
        courier: &mut Courier<'_>,
    ) -> RoomId {
        let lobby = self.lobbies.entry(limit).or_default();
        let mut entry = match lobby.open.first_entry() {
            Some(entry) => entry,
            None => {
                lobby.last_seq += 1;
                courier.counters.rooms_opened += 1;
                let room = Room {
                    created_at: clock,
                    members: Vec::with_capacity(usize::from(limit)),
                };
                lobby.open.entry(lobby.last_seq).insert_entry(room)
            }
        };
        let id = RoomId {
            limit,
            seq: *entry.key(),
        };
        let room = entry.get_mut();
        room.members.push((client, outbox));
        let members = room.member_ids();
        courier.send(client, &room.members[members.len() - 1].1, {
            Event::Joined {
                room: id,
                members: members.clone(),
            }
        });
        room.deliver_to_all_but(client, &Event::MemberJoined { room: id, client }, courier);
        if members.len() == usize::from(limit) {
            let room = entry.remove();
            courier.counters.rooms_matched += 1;
            for (member, outbox) in &room.members {
                let matched = Event::Matched {
                    room: id,
                    members: members.clone(),
                };
                courier.send(*member, outbox, matched);
            }
            lobby.matched.insert(id.seq, room);
        }
        id
    }

    /// Takes `client` out of `room`: `Left` to it when `announce` (a `Leave`, not a
    /// disconnect), `MemberLeft` to the others. False when it was not a member.
    pub(crate) fn leave(
        &mut self,
        id: RoomId,
        client: ClientId,
        announce: bool,
        courier: &mut Courier<'_>,
    ) -> bool {
        let Some(lobby) = self.lobbies.get_mut(&id.limit) else {
            return false;
        };
        let (room, matched) = match lobby.open.get_mut(&id.seq) {
            Some(room) => (room, false),
            None => match lobby.matched.get_mut(&id.seq) {
                Some(room) => (room, true),
                None => return false,
            },
        };
        let Some(at) = room.position(client) else {
            return false;
        };
        let (_, outbox) = room.members.remove(at);
        if announce {
            courier.send(client, &outbox, Event::Left { room: id });
        }
        room.deliver_to_all_but(client, &Event::MemberLeft { room: id, client }, courier);
        if room.members.is_empty() {
            if matched {
                lobby.matched.remove(&id.seq);
            } else {
                lobby.open.remove(&id.seq);
            }
        } else if matched
            && self.reopen_matched
            && let Some(room) = lobby.matched.remove(&id.seq)
        {
            lobby.open.insert(id.seq, room);
        }
        true
    }

    /// Relays `data` from `from` to the other members. False when `from` is not a member.
    pub(crate) fn say(
        &self,
        id: RoomId,
        from: ClientId,
        data: Arc<str>,
        courier: &mut Courier<'_>,
    ) -> bool {
        let Some(room) = self.room(id) else {
            return false;
        };
        if room.position(from).is_none() {
            return false;
        }
        let said = Event::Said {
            room: id,
            from,
            data,
        };
        room.deliver_to_all_but(from, &said, courier);
        true
    }

    /// True when some open room has waited `timeout` or longer at `clock`.
    pub(crate) fn any_expired(&self, clock: Duration, timeout: Duration) -> bool {
        self.lobbies.values().any(|lobby| {
            lobby
                .open
                .first_key_value()
                .is_some_and(|(_, room)| room.created_at + timeout <= clock)
        })
    }

    /// Dissolves every open room that has waited `timeout` or longer, telling its members,
    /// and returns the clients that lost their seat.
    pub(crate) fn expire(
        &mut self,
        clock: Duration,
        timeout: Duration,
        courier: &mut Courier<'_>,
    ) -> Vec<ClientId> {
        let mut unseated = Vec::new();
        for (&limit, lobby) in &mut self.lobbies {
            // Rooms open in clock order, so the expired ones are a prefix of `open`.
            while let Some(entry) = lobby.open.first_entry() {
                if entry.get().created_at + timeout > clock {
                    break;
                }
                let id = RoomId {
                    limit,
                    seq: *entry.key(),
                };
                let room = entry.remove();
                courier.counters.rooms_timed_out += 1;
                for (member, outbox) in room.members {
                    courier.send(member, &outbox, Event::MatchTimeout { room: id });
                    unseated.push(member);
                }
            }
        }
        unseated
    }

    /// Every room, for a snapshot.
    pub(crate) fn views(&self) -> impl Iterator<Item = (RoomId, RoomView)> + '_ {
        self.lobbies.iter().flat_map(|(&limit, lobby)| {
            let open = lobby.open.iter().map(|(seq, room)| (seq, room, false));
            let matched = lobby.matched.iter().map(|(seq, room)| (seq, room, true));
            open.chain(matched).map(move |(&seq, room, matched)| {
                let view = RoomView {
                    created_at: room.created_at,
                    members: room.members.iter().map(|(id, _)| *id).collect(),
                    matched,
                };
                (RoomId { limit, seq }, view)
            })
        })
    }

    fn room(&self, id: RoomId) -> Option<&Room> {
        let lobby = self.lobbies.get(&id.limit)?;
        lobby
            .open
            .get(&id.seq)
            .or_else(|| lobby.matched.get(&id.seq))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::outbox::{OutboxReceiver, outbox};
    use crate::domain::snapshot::Counters;

    struct Bench {
        book: RoomBook,
        counters: Counters,
        cuts: BTreeSet<ClientId>,
        inboxes: Vec<OutboxReceiver>,
    }

    impl Bench {
        fn new() -> Bench {
            Bench {
                book: RoomBook::default(),
                counters: Counters::default(),
                cuts: BTreeSet::new(),
                inboxes: Vec::new(),
            }
        }

        fn join(&mut self, limit: u8, clock: u64) -> (ClientId, RoomId) {
            let (tx, rx) = outbox(8);
            self.inboxes.push(rx);
            let client = ClientId(self.inboxes.len() as u64);
            let mut courier = Courier {
                counters: &mut self.counters,
                cuts: &mut self.cuts,
            };
            let clock = Duration::from_secs(clock);
            let room = self.book.join(client, tx, limit, clock, &mut courier);
            (client, room)
        }

        fn leave(&mut self, room: RoomId, client: ClientId) -> bool {
            let mut courier = Courier {
                counters: &mut self.counters,
                cuts: &mut self.cuts,
            };
            self.book.leave(room, client, true, &mut courier)
        }

        fn expire(&mut self, clock: u64, timeout: Duration) -> Vec<ClientId> {
            let mut courier = Courier {
                counters: &mut self.counters,
                cuts: &mut self.cuts,
            };
            let clock = Duration::from_secs(clock);
            self.book.expire(clock, timeout, &mut courier)
        }
    }

    #[test]
    fn joins_fill_the_oldest_open_room_and_a_full_room_takes_no_more() {
        let mut bench = Bench::new();
        let (_, first) = bench.join(2, 0);
        let (_, again) = bench.join(2, 0);
        let (_, next) = bench.join(2, 0);
        assert_eq!(first, again);
        assert_eq!(next, RoomId { limit: 2, seq: 2 });
        assert_eq!(bench.counters.rooms_matched, 1);
        assert_eq!(bench.counters.rooms_opened, 2);
    }

    #[test]
    fn a_freed_seat_in_an_older_room_is_taken_first() {
        let mut bench = Bench::new();
        let (a, first) = bench.join(3, 0);
        bench.join(3, 0);
        bench.join(3, 0); // Matched: the next join opens room 2.
        let (_, second) = bench.join(4, 0);
        assert!(bench.leave(first, a));
        // A matched room stays matched: the freed seat is not offered again.
        let (_, room) = bench.join(3, 0);
        assert_eq!(room, RoomId { limit: 3, seq: 2 });
        assert_ne!(second, room);
    }

    #[test]
    fn the_last_member_leaving_removes_the_room() {
        let mut bench = Bench::new();
        let (a, room) = bench.join(2, 0);
        assert!(bench.leave(room, a));
        assert_eq!(bench.book.views().count(), 0);
        assert!(!bench.leave(room, a), "not a member any more");
    }

    #[test]
    fn expiry_dissolves_only_open_rooms_past_the_timeout() {
        let mut bench = Bench::new();
        bench.join(2, 0);
        bench.join(2, 0); // Matched at 0: never expires.
        let (old, _) = bench.join(3, 1);
        let (young, _) = bench.join(4, 5);
        let timeout = Duration::from_secs(10);
        assert!(!bench.book.any_expired(Duration::from_secs(10), timeout));
        assert!(bench.book.any_expired(Duration::from_secs(11), timeout));
        let gone = bench.expire(11, timeout);
        assert_eq!(gone, vec![old]);
        assert_eq!(bench.counters.rooms_timed_out, 1);
        let left: Vec<_> = bench.book.views().flat_map(|(_, v)| v.members).collect();
        assert!(left.contains(&young) && !left.contains(&old));
    }

    #[test]
    fn say_from_a_stranger_is_refused() {
        let mut bench = Bench::new();
        let (_, room) = bench.join(2, 0);
        let mut courier = Courier {
            counters: &mut bench.counters,
            cuts: &mut bench.cuts,
        };
        assert!(!bench.book.say(room, ClientId(99), "x".into(), &mut courier));
    }
}

/// Where a room of user limit `limit` lives when state is split `shards` ways: every room of
/// one limit in the same place, so "the oldest open room of this limit" is one shard's answer.
pub(crate) fn room_shard(limit: u8, shards: usize) -> usize {
    usize::from(limit) % shards
}

#[cfg(test)]
mod shard_tests {
    use super::room_shard;

    #[test]
    fn every_limit_maps_to_one_shard_in_range() {
        for shards in 1..6 {
            for limit in crate::MIN_ROOM_LIMIT..=crate::MAX_ROOM_LIMIT {
                assert!(room_shard(limit, shards) < shards);
            }
        }
    }
}
