//! The race scenarios, one function each, as data for the runner (`race.rs`): who connects,
//! what is set up, what the racer and the main thread do, and every outcome the race may end
//! in with what each client hears there. `tests/loom.rs` runs each on lock/1, lock/2,
//! actor/1 and actor/2 under the function's name; its module doc says why each is bounded
//! as it is.
//!
//! Clients are named by the ids the engine gives them in connection order (`a` is
//! `ClientId(1)`), so that the racer, which holds no outbox, can name them too.

use std::time::Duration;

use lockchan::{ClientId, Command, CommandKind, EngineKind, ErrorCode, Event, RoomId};

use crate::race::Fact::{Connected, CreatedAt, Matched, Members, Rooms, Seated, UnknownClient};
use crate::race::Heard::{Exactly, OneOf, WithOnce};
use crate::race::Reach::{OnEveryEngine, OnTheActorEngine};
use crate::race::Step::{Closed, Disconnect, NothingMore, Quiesce, Submit, Tick};
use crate::race::{Outcome, Scenario};
// The slow-reader scenarios (issue 14, item 3), with their own runner, listed with these.
pub(crate) use crate::slow::{
    a_relay_and_a_shout_into_a_full_outbox_cut_its_reader_off,
    a_relay_and_a_tick_into_a_full_outbox_cut_its_reader_off,
};

/// Two clients race for the last seat of a room of three (two already seated): exactly one
/// gets it and the room matches with three members, and the other opens a second room.
pub(crate) fn two_clients_racing_for_the_last_seat_fill_it_once_and_the_loser_opens_a_room(
    _: EngineKind,
) -> Scenario {
    let [a, b, c, d] = ids();
    let (first, second) = (room(3, 1), room(3, 2));
    let won = |w: ClientId, l: ClientId, name| {
        let all = [a, b, w];
        Outcome {
            name,
            reached: OnEveryEngine,
            facts: vec![
                Rooms(2),
                Matched(first, true),
                Members(first, all.to_vec()),
                Matched(second, false),
                Members(second, vec![l]),
            ],
            heard: vec![
                (
                    a,
                    Exactly(vec![
                        joined(first, &[a]),
                        member_joined(first, b),
                        member_joined(first, w),
                        matched(first, &all),
                    ]),
                ),
                (
                    b,
                    Exactly(vec![
                        joined(first, &all[..2]),
                        member_joined(first, w),
                        matched(first, &all),
                    ]),
                ),
                (w, Exactly(vec![joined(first, &all), matched(first, &all)])),
                (l, Exactly(vec![joined(second, &[l])])),
            ],
        }
    };
    Scenario {
        clients: vec!["a", "b", "c", "d"],
        setup: vec![Submit(a, join(3)), Submit(b, join(3))],
        racer: vec![Submit(c, join(3))],
        main: vec![Submit(d, join(3))],
        gone: vec![],
        outcomes: vec![won(c, d, "c took the seat"), won(d, c, "d took the seat")],
        two_room_actors_at_most: 1,
    }
}

/// A member's `Leave` races the join that takes the last seat: either the room matched
/// first (the leaver saw `Matched` then `Left`, the others `Matched` then `MemberLeft`) or
/// the leave came first and the room never matched with the leaver in it.
pub(crate) fn a_leave_racing_the_matching_join_is_seen_the_same_way_by_every_member(
    _: EngineKind,
) -> Scenario {
    let [a, b, c] = ids();
    let r = room(3, 1);
    let all = [a, b, c];
    Scenario {
        clients: vec!["a", "b", "c"],
        setup: vec![Submit(a, join(3)), Submit(b, join(3))],
        racer: vec![Submit(c, join(3))],
        main: vec![Submit(a, Command::Leave)],
        gone: vec![],
        outcomes: vec![
            Outcome {
                name: "matched, then a left",
                reached: OnEveryEngine,
                facts: vec![Members(r, vec![b, c]), Matched(r, true)],
                heard: vec![
                    (
                        a,
                        Exactly(vec![
                            joined(r, &[a]),
                            member_joined(r, b),
                            member_joined(r, c),
                            matched(r, &all),
                            Event::Left { room: r },
                        ]),
                    ),
                    (
                        b,
                        Exactly(vec![
                            joined(r, &[a, b]),
                            member_joined(r, c),
                            matched(r, &all),
                            member_left(r, a),
                        ]),
                    ),
                    (
                        c,
                        Exactly(vec![joined(r, &all), matched(r, &all), member_left(r, a)]),
                    ),
                ],
            },
            Outcome {
                name: "a left, then c joined",
                reached: OnEveryEngine,
                facts: vec![Members(r, vec![b, c]), Matched(r, false)],
                heard: vec![
                    (
                        a,
                        Exactly(vec![
                            joined(r, &[a]),
                            member_joined(r, b),
                            Event::Left { room: r },
                        ]),
                    ),
                    (
                        b,
                        Exactly(vec![
                            joined(r, &[a, b]),
                            member_left(r, a),
                            member_joined(r, c),
                        ]),
                    ),
                    (c, Exactly(vec![joined(r, &[b, c])])),
                ],
            },
        ],
        two_room_actors_at_most: 1,
    }
}

/// A client's `Join` races its own disconnect (on the actor engine both calls are
/// asynchronous: one thread submits, the other disconnects). Once settled the client is gone
/// from the world, its outbox is closed with every sender dropped, and the room keeps no
/// trace of it: either it never joined, or it joined (the room matched) and left.
///
/// `a` is client 1 (shard 1 of 2) and joins a room of two (shard 0): on lock/2 the join and
/// the removal span two shards, and a removal that finds `a` seated lets go of `a`'s shard
/// and takes both in index order.
pub(crate) fn a_join_racing_its_own_clients_disconnect_leaves_no_trace_of_it(
    _: EngineKind,
) -> Scenario {
    let [a, b] = ids();
    let r = room(2, 1);
    let no_trace_of_a = || vec![Connected(vec![b]), Rooms(1), Members(r, vec![b])];
    let joined_then_left = |name, reached, heard_by_a| Outcome {
        name,
        reached,
        facts: [no_trace_of_a(), vec![Matched(r, true), UnknownClient(0)]].concat(),
        heard: vec![
            (a, heard_by_a),
            (
                b,
                Exactly(vec![
                    joined(r, &[b]),
                    member_joined(r, a),
                    matched(r, &[b, a]),
                    member_left(r, a),
                ]),
            ),
        ],
    };
    let story = vec![joined(r, &[b, a]), matched(r, &[b, a])];
    Scenario {
        clients: vec!["a", "b"],
        setup: vec![Submit(b, join(2))],
        racer: vec![Submit(a, join(2))],
        main: vec![Disconnect(a)],
        gone: vec![a],
        outcomes: vec![
            joined_then_left(
                "joined, then disconnected",
                OnEveryEngine,
                Exactly(story.clone()),
            ),
            // The disconnect reaching the world while the join is at the room actor: the
            // case that needs the world to send its `Remove` to the pending room too. `a` was
            // closed while its join was still being answered (the actor engine's room
            // delivers after the world closed the outbox): it hears a prefix of its story,
            // never more.
            joined_then_left(
                "joined, but closed before the join's answer",
                OnTheActorEngine,
                OneOf(vec![vec![], story[..1].to_vec()]),
            ),
            Outcome {
                name: "disconnected first",
                reached: OnEveryEngine,
                // The join found `a` gone.
                facts: [no_trace_of_a(), vec![Matched(r, false), UnknownClient(1)]].concat(),
                heard: vec![(a, Exactly(vec![])), (b, Exactly(vec![joined(r, &[b])]))],
            },
        ],
        // Reaching the prefix case on two room actors takes two preemptions; the model stays
        // small.
        two_room_actors_at_most: 2,
    }
}

/// A `Say` races the sayer's own disconnect: the sayer's outbox, once closed, stays closed
/// and empty (it never hears its own say), and the other member hears the say before the
/// sayer's `MemberLeft` or not at all.
pub(crate) fn a_say_racing_the_sayers_own_disconnect_reaches_only_open_outboxes(
    _: EngineKind,
) -> Scenario {
    let [s, t] = ids();
    let r = room(2, 1);
    let said = Event::Said {
        room: r,
        from: s,
        data: "1".into(),
    };
    let heard_by_s = || {
        let story = [joined(r, &[s]), member_joined(r, t), matched(r, &[s, t])];
        (s, Exactly(story.to_vec()))
    };
    let setup_of_t = [joined(r, &[s, t]), matched(r, &[s, t])];
    Scenario {
        clients: vec!["s", "t"],
        setup: vec![Submit(s, join(2)), Submit(t, join(2))],
        racer: vec![Submit(s, Command::Say { data: "1".into() })],
        // Once the disconnect has taken effect, s's outbox is closed for good, whatever the
        // say still does.
        main: vec![Disconnect(s), Quiesce, Closed(s)],
        gone: vec![s],
        outcomes: vec![
            Outcome {
                name: "said, then disconnected",
                reached: OnEveryEngine,
                facts: vec![Members(r, vec![t])],
                heard: vec![
                    heard_by_s(),
                    (
                        t,
                        Exactly([&setup_of_t[..], &[said, member_left(r, s)]].concat()),
                    ),
                ],
            },
            Outcome {
                name: "disconnected first",
                reached: OnEveryEngine,
                // The say found s gone.
                facts: vec![Members(r, vec![t]), UnknownClient(1)],
                heard: vec![
                    heard_by_s(),
                    (t, Exactly([&setup_of_t[..], &[member_left(r, s)]].concat())),
                ],
            },
        ],
        two_room_actors_at_most: 1,
    }
}

/// A `Shout` races another client's disconnect: the leaver hears the shout before its
/// outbox closes or never; nothing reaches it after the close; the shouter hears its own
/// shout and the leaver's `MemberLeft` exactly once each.
pub(crate) fn a_shout_racing_another_clients_disconnect_reaches_only_open_outboxes(
    _: EngineKind,
) -> Scenario {
    let [a, b] = ids();
    let r = room(2, 1);
    let shouted = Event::Shouted {
        from: a,
        text: "1".into(),
    };
    let left = member_left(r, b);
    // The shout and b's departure reach a by different paths (a broadcast, b's room), in
    // either order.
    let heard_by_a = || {
        let setup = [joined(r, &[a]), member_joined(r, b), matched(r, &[a, b])];
        let either = [
            [shouted.clone(), left.clone()],
            [left.clone(), shouted.clone()],
        ];
        let choices = either.iter().map(|rest| [&setup[..], rest].concat());
        (a, OneOf(choices.collect()))
    };
    let setup_of_b = vec![joined(r, &[a, b]), matched(r, &[a, b])];
    Scenario {
        clients: vec!["a", "b"],
        setup: vec![Submit(a, join(2)), Submit(b, join(2))],
        racer: vec![Submit(a, Command::Shout { text: "1".into() })],
        main: vec![Disconnect(b), Quiesce, Closed(b), NothingMore(b)],
        gone: vec![b],
        outcomes: vec![
            Outcome {
                name: "b heard the shout",
                reached: OnEveryEngine,
                facts: vec![Members(r, vec![a])],
                heard: vec![
                    (
                        b,
                        Exactly([setup_of_b.clone(), vec![shouted.clone()]].concat()),
                    ),
                    heard_by_a(),
                ],
            },
            Outcome {
                name: "b was gone first",
                reached: OnEveryEngine,
                facts: vec![Members(r, vec![a])],
                heard: vec![(b, Exactly(setup_of_b.clone())), heard_by_a()],
            },
        ],
        two_room_actors_at_most: 1,
    }
}

/// Two joins span two shards in opposite directions (client 1 on shard 1 into a room of
/// two on shard 0, client 2 on shard 0 into a room of three on shard 1), on the lock engine
/// each followed by a leave: no interleaving deadlocks (loom reports a deadlock as a
/// failure), and each client opens its own room (and leaves it).
///
/// On the lock engine the leave means, for `a`, letting go of its shard and taking both
/// again in order. The actor engine has no client shards and its model explodes with the
/// leaves (see the module doc of `tests/loom.rs`): its clients only join, each through
/// another room actor.
pub(crate) fn joins_that_cross_shards_in_opposite_directions_never_deadlock(
    kind: EngineKind,
) -> Scenario {
    let [a, b] = ids();
    let (ra, rb) = (room(2, 1), room(3, 1));
    let leave = kind == EngineKind::LOCK;
    let calls = |client, limit| {
        let mut calls = vec![Submit(client, join(limit))];
        if leave {
            calls.push(Submit(client, Command::Leave));
        }
        calls
    };
    let (facts, heard) = if leave {
        let story = |client, r| Exactly(vec![joined(r, &[client]), Event::Left { room: r }]);
        (vec![Rooms(0)], vec![(a, story(a, ra)), (b, story(b, rb))])
    } else {
        let facts = vec![
            Seated(a, Some(ra)),
            Members(ra, vec![a]),
            Seated(b, Some(rb)),
            Members(rb, vec![b]),
            Rooms(2),
        ];
        let heard = vec![
            (a, Exactly(vec![joined(ra, &[a])])),
            (b, Exactly(vec![joined(rb, &[b])])),
        ];
        (facts, heard)
    };
    Scenario {
        clients: vec!["a", "b"],
        setup: vec![],
        racer: calls(a, 2),
        main: calls(b, 3),
        gone: vec![],
        outcomes: vec![Outcome {
            name: "each opened its own room",
            reached: OnEveryEngine,
            facts,
            heard,
        }],
        two_room_actors_at_most: 1,
    }
}

/// The tick that runs out an open room's match timeout races the join that would fill it:
/// either the room matched (and the tick leaves it alone: no `MatchTimeout` after `Matched`)
/// or it timed out (its member told so) and the late joiner opened a fresh room; never both.
/// Each client hears the tick once.
pub(crate) fn the_match_timeout_racing_the_last_join_either_matches_or_dissolves_never_both(
    _: EngineKind,
) -> Scenario {
    let [a, b] = ids();
    let (first, second) = (room(2, 1), room(2, 2));
    // The room opened at 0 s and the match timeout is 10 s: this tick dissolves it if the
    // join has not filled it yet.
    let now = Duration::from_secs(10);
    let tick = Event::Tick { at: now };
    let all = [a, b];
    Scenario {
        clients: vec!["a", "b"],
        setup: vec![Submit(a, join(2))],
        racer: vec![Submit(b, join(2))],
        main: vec![Tick(now)],
        gone: vec![],
        outcomes: vec![
            // The tick came too late to dissolve it, and nobody hears a timeout.
            Outcome {
                name: "matched",
                reached: OnEveryEngine,
                facts: vec![Rooms(1), Matched(first, true)],
                heard: vec![
                    (
                        a,
                        WithOnce(
                            vec![
                                joined(first, &[a]),
                                member_joined(first, b),
                                matched(first, &all),
                            ],
                            tick.clone(),
                        ),
                    ),
                    (
                        b,
                        WithOnce(
                            vec![joined(first, &all), matched(first, &all)],
                            tick.clone(),
                        ),
                    ),
                ],
            },
            // a was told so, and b, joining later, opened a fresh room at 10 s.
            Outcome {
                name: "timed out, then b opened a room",
                reached: OnEveryEngine,
                facts: vec![Rooms(1), CreatedAt(second, now), Matched(second, false)],
                heard: vec![
                    (
                        a,
                        Exactly(vec![
                            joined(first, &[a]),
                            tick.clone(),
                            Event::MatchTimeout { room: first },
                        ]),
                    ),
                    (b, Exactly(vec![tick, joined(second, &[b])])),
                ],
            },
        ],
        two_room_actors_at_most: 1,
    }
}

/// A seated client's `Leave` races the tick that dissolves its room (issue 14, item 4). The
/// room of four is shard 0 at two and four shards, its member `a` is shard 1, so on lock/2 the
/// leave lets go of shard 1 and locks 0 then 1: the expiry may take the seat away inside that
/// window, and the leave must act on the seat it finds after re-locking. Either it left first
/// (`Left`, the tick anywhere) or the room timed out first (`Tick`, `MatchTimeout`, and the
/// leave refused as `not_in_room`).
pub(crate) fn a_leave_racing_its_rooms_expiry_acts_on_the_seat_it_finds_after_relocking(
    _: EngineKind,
) -> Scenario {
    let [a] = ids();
    let r = room(4, 1);
    // The room opened at 0 s and the match timeout is 10 s.
    let now = Duration::from_secs(10);
    let tick = Event::Tick { at: now };
    let refused = Event::Error {
        code: ErrorCode::NotInRoom,
        command: CommandKind::Leave,
    };
    Scenario {
        clients: vec!["a"],
        setup: vec![Submit(a, join(4))],
        racer: vec![Submit(a, Command::Leave)],
        main: vec![Tick(now)],
        gone: vec![],
        outcomes: vec![
            Outcome {
                name: "left, then the tick",
                reached: OnEveryEngine,
                facts: vec![Rooms(0), Seated(a, None)],
                heard: vec![(
                    a,
                    WithOnce(vec![joined(r, &[a]), Event::Left { room: r }], tick.clone()),
                )],
            },
            Outcome {
                name: "timed out, then the leave refused",
                reached: OnEveryEngine,
                facts: vec![Rooms(0), Seated(a, None)],
                heard: vec![(
                    a,
                    Exactly(vec![
                        joined(r, &[a]),
                        tick,
                        Event::MatchTimeout { room: r },
                        refused,
                    ]),
                )],
            },
        ],
        two_room_actors_at_most: 1,
    }
}

/// The ids of a scenario's first `N` clients, in connection order.
fn ids<const N: usize>() -> [ClientId; N] {
    std::array::from_fn(|n| ClientId(n as u64 + 1))
}

const fn room(limit: u8, seq: u64) -> RoomId {
    RoomId { limit, seq }
}

fn join(limit: u8) -> Command {
    Command::Join { limit }
}

fn joined(room: RoomId, members: &[ClientId]) -> Event {
    let members = members.iter().copied().collect();
    Event::Joined { room, members }
}

fn matched(room: RoomId, members: &[ClientId]) -> Event {
    let members = members.iter().copied().collect();
    Event::Matched { room, members }
}

fn member_joined(room: RoomId, client: ClientId) -> Event {
    Event::MemberJoined { room, client }
}

fn member_left(room: RoomId, client: ClientId) -> Event {
    Event::MemberLeft { room, client }
}
