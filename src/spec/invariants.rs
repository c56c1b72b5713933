//! The rules every run must keep, checked on snapshots and on each client's event stream.
//!
//! Tests, the duel and users' own engines share these checks. A check returns every broken
//! rule it found as a sentence, so a failure says what went wrong, not only that it did.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::domain::event::Event;
use crate::domain::ids::{ClientId, RoomId};
use crate::domain::outbox::{OutboxReceiver, RecvError};
use crate::domain::snapshot::Snapshot;

/// Rules on one snapshot: no room over its limit or empty, an open room never marked matched
/// and a full room always matched, every member a known client seated there, no client in two
/// rooms, and no command that found its client's seat wrong.
pub fn check_snapshot(snapshot: &Snapshot) -> Vec<String> {
    let mut broken = Vec::new();
    if snapshot.counters.seat_mismatches > 0 {
        broken.push(format!(
            "{} commands found their client's seat naming a room that did not hold it",
            snapshot.counters.seat_mismatches
        ));
    }
    let mut seated: HashMap<ClientId, RoomId> = HashMap::new();
    for (id, room) in &snapshot.rooms {
        let limit = usize::from(id.limit);
        if room.members.is_empty() {
            broken.push(format!("room {id} exists with no members"));
        }
        if room.members.len() > limit {
            broken.push(format!("room {id} has {} members", room.members.len()));
        }
        if room.members.len() == limit && !room.matched {
            broken.push(format!("room {id} is full but not matched"));
        }
        for member in &room.members {
            if let Some(other) = seated.insert(*member, *id) {
                broken.push(format!("client {member} sits in rooms {other} and {id}"));
            }
            match snapshot.clients.get(member) {
                None => broken.push(format!("room {id} holds {member}, who is not connected")),
                Some(client) if client.room != Some(*id) => {
                    broken.push(format!("{member} sits in {id} but thinks it is elsewhere"))
                }
                Some(_) => {}
            }
        }
    }
    for (id, client) in &snapshot.clients {
        if let Some(room) = client.room
            && seated.get(id) != Some(&room)
        {
            broken.push(format!(
                "{id} thinks it sits in {room}, which does not hold it"
            ));
        }
    }
    broken
}

/// Rules after every client has disconnected: nothing is left behind.
pub fn check_empty(snapshot: &Snapshot) -> Vec<String> {
    let mut broken = check_snapshot(snapshot);
    if !snapshot.clients.is_empty() {
        broken.push(format!("{} clients left behind", snapshot.clients.len()));
    }
    if !snapshot.rooms.is_empty() {
        broken.push(format!("{} rooms left behind", snapshot.rooms.len()));
    }
    let counters = &snapshot.counters;
    if counters.connects != counters.disconnects {
        let (c, d) = (counters.connects, counters.disconnects);
        broken.push(format!("{c} connects but {d} disconnects"));
    }
    broken
}

/// Follows one client's events and checks that they tell a possible story: in at most one
/// room at a time, `Matched` once per room and only with a full room, nothing about a room it
/// is not in, ticks never going back, and each sender's numbered `Say`s and `Shout`s in order.
///
/// A payload that starts with a decimal number (`"17"`, `"17:…"`) is numbered: a sender's
/// numbers must rise along every receiver's stream.
#[derive(Debug)]
pub struct StreamCheck {
    me: ClientId,
    room: Option<RoomId>,
    matched: BTreeSet<RoomId>,
    last_said: HashMap<ClientId, u64>,
    last_shouted: HashMap<ClientId, u64>,
    last_tick: Duration,
    /// Every broken rule seen so far.
    pub broken: Vec<String>,
}

impl StreamCheck {
    pub fn new(me: ClientId) -> StreamCheck {
        StreamCheck {
            me,
            room: None,
            matched: BTreeSet::new(),
            last_said: HashMap::new(),
            last_shouted: HashMap::new(),
            last_tick: Duration::ZERO,
            broken: Vec::new(),
        }
    }

    /// The room the stream says the client is in now.
    pub fn room(&self) -> Option<RoomId> {
        self.room
    }

    pub fn observe(&mut self, event: &Event) {
        let me = self.me;
        match event {
            Event::Joined { room, members } => {
                if let Some(old) = self.room {
                    self.fail(format!("joined {room} while still in {old}"));
                }
                if members.last() != Some(&me) || members.len() > usize::from(room.limit) {
                    self.fail(format!("joined {room} with members {members:?}"));
                }
                self.room = Some(*room);
            }
            Event::MemberJoined { room, client } => {
                self.expect_in(*room, "member_joined");
                if *client == me {
                    self.fail(format!("told that it joined {room} itself"));
                }
            }
            Event::Matched { room, members } => {
                self.expect_in(*room, "matched");
                if members.len() != usize::from(room.limit) || !members.contains(&me) {
                    self.fail(format!("matched in {room} with members {members:?}"));
                }
                if !self.matched.insert(*room) {
                    self.fail(format!("matched twice in {room}"));
                }
            }
            Event::MemberLeft { room, client } => {
                self.expect_in(*room, "member_left");
                if *client == me {
                    self.fail(format!("told that it left {room} itself"));
                }
            }
            Event::Left { room } => {
                self.expect_in(*room, "left");
                self.room = None;
            }
            Event::MatchTimeout { room } => {
                self.expect_in(*room, "match_timeout");
                if self.matched.contains(room) {
                    self.fail(format!("match timeout in {room}, which had matched"));
                }
                self.room = None;
            }
            Event::Said { room, from, data } => {
                self.expect_in(*room, "said");
                if *from == me {
                    self.fail(format!("heard its own say in {room}"));
                }
                self.in_order(*from, data, false);
            }
            Event::Shouted { from, text } => self.in_order(*from, text, true),
            Event::Tick { at } => {
                if *at < self.last_tick {
                    self.fail(format!("tick at {at:?} after {:?}", self.last_tick));
                }
                self.last_tick = *at;
            }
            Event::Error { .. } => {}
        }
    }

    /// Observes everything left in `rx` after the client was disconnected and the engine
    /// settled; the outbox must then be over, every sender gone.
    pub fn read_to_end(&mut self, rx: &OutboxReceiver) {
        loop {
            match rx.try_recv() {
                Ok(event) => self.observe(&event),
                Err(RecvError::Closed(_)) => return,
                Err(RecvError::Empty) => {
                    return self.fail("outbox still open after disconnect".to_owned());
                }
            }
        }
    }

    fn expect_in(&mut self, room: RoomId, what: &str) {
        if self.room != Some(room) {
            let now = self.room;
            self.fail(format!("{what} for {room} while in {now:?}"));
        }
    }

    fn in_order(&mut self, from: ClientId, payload: &str, shout: bool) {
        let digits = payload.split(|c: char| !c.is_ascii_digit()).next();
        let Some(seq) = digits.and_then(|d| d.parse::<u64>().ok()) else {
            return;
        };
        let last = if shout {
            &mut self.last_shouted
        } else {
            &mut self.last_said
        };
        if let Some(previous) = last.insert(from, seq)
            && previous >= seq
        {
            self.fail(format!("{from}'s message {seq} came after {previous}"));
        }
    }

    fn fail(&mut self, what: String) {
        self.broken.push(format!("{}: {what}", self.me));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::snapshot::{ClientView, RoomView};
    use crate::{Player, Snapshot};

    const ROOM: RoomId = RoomId { limit: 2, seq: 1 };
    const OTHER: RoomId = RoomId { limit: 3, seq: 1 };

    fn members(ids: &[u64]) -> Arc<[ClientId]> {
        ids.iter().map(|&id| ClientId(id)).collect()
    }

    fn stream(events: &[Event]) -> Vec<String> {
        let mut check = StreamCheck::new(ClientId(1));
        events.iter().for_each(|e| check.observe(e));
        check.broken
    }

    #[test]
    fn a_possible_story_passes() {
        let events = [
            Event::Joined {
                room: ROOM,
                members: members(&[1]),
            },
            Event::MemberJoined {
                room: ROOM,
                client: ClientId(2),
            },
            Event::Matched {
                room: ROOM,
                members: members(&[1, 2]),
            },
            Event::Said {
                room: ROOM,
                from: ClientId(2),
                data: "1:a".into(),
            },
            Event::Said {
                room: ROOM,
                from: ClientId(2),
                data: "2:b".into(),
            },
            Event::Left { room: ROOM },
            Event::Joined {
                room: OTHER,
                members: members(&[1]),
            },
        ];
        assert_eq!(stream(&events), Vec::<String>::new());
    }

    #[test]
    fn two_rooms_at_once_is_caught() {
        let joined = |room| Event::Joined {
            room,
            members: members(&[1]),
        };
        assert_eq!(
            stream(&[joined(ROOM), joined(OTHER)]),
            ["c1: joined r3-1 while still in r2-1"]
        );
    }

    #[test]
    fn a_second_matched_is_caught() {
        let joined = Event::Joined {
            room: ROOM,
            members: members(&[2, 1]),
        };
        let matched = Event::Matched {
            room: ROOM,
            members: members(&[2, 1]),
        };
        assert_eq!(
            stream(&[joined, matched.clone(), matched]),
            ["c1: matched twice in r2-1"]
        );
    }

    #[test]
    fn says_out_of_order_are_caught() {
        let said = |seq: &str| Event::Said {
            room: ROOM,
            from: ClientId(2),
            data: seq.into(),
        };
        let joined = Event::Joined {
            room: ROOM,
            members: members(&[2, 1]),
        };
        assert_eq!(
            stream(&[joined, said("5"), said("4")]),
            ["c1: c2's message 4 came after 5"]
        );
    }

    #[test]
    fn an_event_for_a_room_it_is_not_in_is_caught() {
        let late = Event::MemberLeft {
            room: ROOM,
            client: ClientId(2),
        };
        assert_eq!(stream(&[late]), ["c1: member_left for r2-1 while in None"]);
    }

    #[test]
    fn a_timeout_after_a_match_is_caught() {
        let joined = Event::Joined {
            room: ROOM,
            members: members(&[2, 1]),
        };
        let matched = Event::Matched {
            room: ROOM,
            members: members(&[2, 1]),
        };
        let timeout = Event::MatchTimeout { room: ROOM };
        assert_eq!(
            stream(&[joined, matched, timeout]),
            ["c1: match timeout in r2-1, which had matched"]
        );
    }

    #[test]
    fn ticks_going_back_are_caught() {
        let tick = |s| Event::Tick {
            at: Duration::from_secs(s),
        };
        assert_eq!(stream(&[tick(2), tick(1)]), ["c1: tick at 1s after 2s"]);
    }

    fn seated(room: Option<RoomId>) -> ClientView {
        ClientView {
            player: Player::new("p", "n"),
            room,
        }
    }

    #[test]
    fn snapshot_checks_catch_a_client_in_two_rooms_and_a_full_open_room() {
        let mut snapshot = Snapshot::default();
        snapshot.clients.insert(ClientId(1), seated(Some(ROOM)));
        snapshot.clients.insert(ClientId(2), seated(Some(ROOM)));
        let full_open = RoomView {
            created_at: Duration::ZERO,
            members: vec![ClientId(1), ClientId(2)],
            matched: false,
        };
        snapshot.rooms.insert(ROOM, full_open);
        assert_eq!(
            check_snapshot(&snapshot),
            ["room r2-1 is full but not matched"]
        );
        let also = RoomView {
            created_at: Duration::ZERO,
            members: vec![ClientId(1)],
            matched: false,
        };
        snapshot.rooms.insert(OTHER, also);
        let broken = check_snapshot(&snapshot);
        assert!(
            broken.iter().any(|b| b.contains("sits in rooms")),
            "{broken:?}"
        );
    }

    #[test]
    fn leftovers_are_caught() {
        let mut snapshot = Snapshot::default();
        snapshot.clients.insert(ClientId(1), seated(None));
        snapshot.counters.connects = 1;
        assert_eq!(
            check_empty(&snapshot),
            ["1 clients left behind", "1 connects but 0 disconnects"]
        );
    }
}
