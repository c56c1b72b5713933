//! Loom model checks: the loom synchronization shim (`src/sync/mocked.rs`), and the races that
//! matter on both engines built on it.
//!
//! Only built with the project's loom cfg:
//!
//! ```text
//! RUSTFLAGS="--cfg lockchan_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --test loom
//! ```
//!
//! The whole file takes about 85 s on this project's 2-core machine, the test harness running
//! two tests at a time (84 s and 87 s in the last two runs; 103 s while other builds loaded
//! the machine). Add `-- --nocapture` to see, for every scenario test, how many executions
//! loom ran, at which bound, and how often each outcome came up.
//!
//! # What is here
//!
//! - **The shim** (six tests): bounded and unbounded channels, blocking and waking,
//!   disconnection, `recv_biased`. The shim is crate-private, so this file compiles its very
//!   source a second time as a module of the test crate rather than testing a copy.
//! - **A racing join per engine** (two tests): the first checks written, kept as they were.
//! - **Seven race scenarios** (28 tests), each one function run on lock/1, lock/2, actor/1
//!   and actor/2 under the same names (`scenario::lock_2`, …, made by `on_every_engine!`):
//!   1. `two_clients_racing_for_the_last_seat…`: two joins race for the last seat of a room of
//!      three with two seated. Exactly one wins: the room matches once with three members,
//!      and the loser opens the second room. Every event of all four clients is exact.
//!   2. `a_join_racing_its_own_clients_disconnect…`: a client's `Join` races its own
//!      `disconnect` (on the actor engine both calls are asynchronous, from two threads).
//!      Settled, the client is gone, its outbox is closed with every sender dropped, and the
//!      room holds no trace of it: it never joined, or it joined (the room matched) and left.
//!      On the actor engine the outbox may close while the join is still being answered, so
//!      the client sees a prefix of its join's events; some interleaving must reach that case,
//!      the one where the world must also send its `Remove` to the room working on the join.
//!   3. `a_say_racing_the_sayers_own_disconnect…` and
//!      `a_shout_racing_another_clients_disconnect…`: once a disconnect has taken effect
//!      (`quiesce`), the leaver's outbox is closed, drained and ends, and nothing reaches it
//!      afterwards however the racing `Say` or `Shout` goes; the other member hears the say
//!      before the sayer's `MemberLeft` or not at all, and the shouter hears its shout and the
//!      leaver's `MemberLeft` once each, in either order (two delivery paths).
//!   4. `joins_that_cross_shards_in_opposite_directions…`: on two shards, client 1 (shard 1)
//!      joins a room of two (shard 0) while client 2 (shard 0) joins a room of three (shard 1),
//!      on the lock engine each followed by a `Leave`: no interleaving deadlocks (loom reports
//!      a deadlock as a failure and aborts the process), and each opens its own room.
//!   5. `the_match_timeout_racing_the_last_join…`: the tick that runs out a room's match
//!      timeout races the join that fills it. Either the room matched (no `MatchTimeout`, never
//!      one after `Matched`) or it timed out (its member hears `Tick` then `MatchTimeout`) and
//!      the late joiner opened a fresh room stamped with the new clock. Never both.
//!   6. `a_leave_racing_the_matching_join…`: a member's `Leave` races the join that takes the
//!      last seat. Matched first: the leaver hears `Matched` then `Left`, the others `Matched`
//!      then `MemberLeft`. Left first: the room never matched with the leaver in it.
//!
//! Every scenario test checks each client's stream with [`StreamCheck`], the settled state
//! with [`check_snapshot`] and exact expected events where the outcome is determined, then
//! disconnects everyone and checks [`check_empty`] and that every outbox ended `Closed`. It
//! also names the outcomes its race can have, and fails if some interleaving did not reach
//! each of them, so that a scenario cannot pass by never really racing.
//!
//! # How the scenarios are bounded, and why
//!
//! Loom allows five threads. actor/2 is the main thread, the world, two room actors and one
//! racer, so every scenario races the main thread against one spawned thread.
//!
//! The setup (connecting, seating, `quiesce`) runs on a single schedule: loom explores only
//! from `race_begins` to `race_settled` (`Builder::expect_explicit_explore`, `loom::explore`,
//! `loom::stop_exploring`), and the checks after it run on one schedule too. The race window
//! ends with a `quiesce`, so the actor engine's asynchronous work is inside it. Exploring the
//! setup as well is what made the actor engine's racing join below cost 133,000 executions.
//!
//! - **lock/1, lock/2**: no preemption bound at all: every interleaving of the race window,
//!   4 to 70 executions a test (the counts stop growing at 5 preemptions).
//! - **actor/1**: the file's bound (2, or `LOOM_MAX_PREEMPTIONS`), queues of two:
//!   1,500 to 30,000 executions, at most about 15 s a test. Queues of one cost three to eight
//!   times as much at this bound (165 s for the set).
//! - **actor/2**: one preemption, queues of one, so that callers and the world do wait on full
//!   queues: 8,000 to 49,000 executions, at most about 23 s a test. At two preemptions one
//!   scenario alone takes over 500,000 executions and two minutes, the others more. The
//!   exception is scenario 2, at two preemptions (12,000 executions, 5 s): its interleaving
//!   where the disconnect reaches the world while the join is at the room actor needs two
//!   preemptions on two room actors.
//! - **Smaller on the actor engine**: scenario 4 only joins there, without the leaves. With
//!   them actor/2 took 194,000 executions (45 s) at one preemption and actor/1 535,000
//!   (141 s) at two; the leaves matter for the lock engine's lock order, which the actor
//!   engine does not have.
//! - The shim tests run at the file's bound; the actor engine's racing join is held to one
//!   preemption (`check_bounded`) since its setup is explored too: about 133,000 executions.
//!
//! # Reading a failure
//!
//! A deadlock makes loom abort the whole test process; run the one test alone
//! (`cargo test … --test loom -- --exact NAME --nocapture`) to read which threads were stuck.
//! The engines iterate `std` hash maps (random order on every execution) while delivering, so
//! their models are not strictly deterministic, which loom assumes. The passing models look
//! unaffected (the same counts run after run), but a failing check on the actor engine can then
//! surface as a loom abort (`expected to be able to acquire lock`) instead of the check's
//! message; a fixed hasher under `lockchan_loom` in the engines would remove this.

#![cfg(lockchan_loom)]

#[path = "../src/sync/mocked.rs"]
#[allow(dead_code, unused_imports)]
mod mocked;

use std::collections::BTreeMap;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use loom::sync::Arc;
use loom::thread;

use lockchan::invariants::{StreamCheck, check_empty, check_snapshot};
use lockchan::{
    ActorEngine, ClientId, CloseReason, Command, DEFAULT_OUTBOX_CAPACITY, Engine, EngineConfig,
    EngineKind, EngineSpec, Event, LockEngine, OutboxReceiver, Player, RecvError, RoomId, Snapshot,
    outbox,
};
use mocked::channel::{self, Biased, RecvTimeoutError, TryRecvError, TrySendError, recv_biased};

/// Runs `body` under every interleaving loom explores within the preemption bound: 2, or
/// `LOOM_MAX_PREEMPTIONS` when set.
fn check(body: impl Fn() + Sync + Send + 'static) {
    check_bounded(usize::MAX, body);
}

/// As [`check`], with the bound held to at most `most`, for models that explode above it.
fn check_bounded(most: usize, body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    let bound = builder.preemption_bound.unwrap_or(2).min(most);
    builder.preemption_bound = Some(bound);
    builder.check(body);
}

#[test]
fn a_bounded_channel_of_one_delivers_in_order_and_wakes_its_blocked_sender() {
    check(|| {
        let (tx, rx) = channel::bounded(1);
        let sender = thread::spawn(move || {
            for n in 1..=3 {
                tx.send(n).expect("the receiver outlives the sends");
            }
        });
        let got: Vec<i32> = (0..3).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(got, [1, 2, 3]);
        sender.join().unwrap();
        assert!(rx.recv().is_err(), "the only sender is gone");
    });
}

#[test]
fn a_blocked_receiver_sees_the_last_sender_go() {
    check(|| {
        let (tx, rx) = channel::bounded::<i32>(1);
        let other = tx.clone();
        let first = thread::spawn(move || {
            tx.send(1).unwrap();
        });
        let second = thread::spawn(move || drop(other));
        assert_eq!(rx.recv().ok(), Some(1));
        assert!(rx.recv().is_err());
        first.join().unwrap();
        second.join().unwrap();
    });
}

#[test]
fn a_sender_blocked_on_a_full_channel_sees_the_receiver_go() {
    check(|| {
        let (tx, rx) = channel::bounded(1);
        tx.send(1).unwrap();
        let sender = thread::spawn(move || tx.send(2).map_err(|error| error.0));
        drop(rx);
        assert_eq!(sender.join().unwrap(), Err(2));
    });
}

#[test]
fn try_send_and_the_timeouts_never_wait() {
    check(|| {
        let (tx, rx) = channel::bounded(1);
        assert!(matches!(tx.try_send(1), Ok(())));
        assert_eq!(tx.len(), 1);
        assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
        assert_eq!(rx.try_recv(), Ok(1));
        let timeout = std::time::Duration::from_secs(1);
        assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(
            rx.recv_timeout(timeout),
            Err(RecvTimeoutError::Disconnected)
        );

        let (tx, rx) = channel::unbounded();
        drop(rx);
        assert!(matches!(tx.try_send(3), Err(TrySendError::Disconnected(3))));
    });
}

#[test]
fn recv_biased_takes_from_the_first_channel_while_it_has_anything() {
    check(|| {
        let (first_tx, first) = channel::unbounded();
        let (second_tx, second) = channel::unbounded();
        second_tx.send(10).unwrap();
        first_tx.send(1).unwrap();
        first_tx.send(2).unwrap();
        let mut got = Vec::new();
        // The senders go from another thread, so the last call may be asleep when they do.
        let dropper = thread::spawn(move || drop((first_tx, second_tx)));
        while let Biased::First(n) | Biased::Second(n) = recv_biased(&first, &second) {
            got.push(n);
        }
        assert_eq!(got, [1, 2, 10]);
        dropper.join().unwrap();
    });
}

#[test]
fn recv_biased_wakes_for_either_channel_and_ends_when_both_close() {
    check(|| {
        let (first_tx, first) = channel::unbounded();
        // Bounded like the world's inbox, so a sender there blocks until recv_biased takes.
        let (second_tx, second) = channel::bounded(1);
        let notices = thread::spawn(move || first_tx.send(1).unwrap());
        let callers = thread::spawn(move || {
            second_tx.send(10).unwrap();
            second_tx.send(11).unwrap();
        });
        let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
        loop {
            match recv_biased(&first, &second) {
                Biased::First(n) => firsts.push(n),
                Biased::Second(n) => seconds.push(n),
                Biased::Closed => break,
            }
        }
        assert_eq!(firsts, [1]);
        assert_eq!(seconds, [10, 11]);
        notices.join().unwrap();
        callers.join().unwrap();
    });
}

/// Connects a player to `engine` and has it join a room of two.
fn connect_and_join(engine: &dyn Engine, name: &str) -> (ClientId, OutboxReceiver) {
    let (tx, rx) = outbox(DEFAULT_OUTBOX_CAPACITY);
    let client = engine.connect(Player::new(name, name), tx);
    engine.submit(client, Command::Join { limit: 2 });
    (client, rx)
}

/// What two racing joins must end in, whoever came first: one matched room of both, each
/// seated there and told so last.
fn assert_one_matched_room(engine: &dyn Engine, players: &[(ClientId, OutboxReceiver)]) {
    let snapshot = engine.snapshot();
    assert_eq!(snapshot.rooms.len(), 1, "{snapshot:?}");
    let (&room, view) = snapshot.rooms.iter().next().unwrap();
    assert!(view.matched, "{snapshot:?}");
    let mut members = view.members.clone();
    members.sort();
    let mut clients: Vec<_> = players.iter().map(|(client, _)| *client).collect();
    clients.sort();
    assert_eq!(members, clients);
    for (client, rx) in players {
        assert_eq!(snapshot.clients[client].room, Some(room));
        let events = rx.drain();
        assert!(
            matches!(events.last(), Some(Event::Matched { room: r, .. }) if *r == room),
            "{client:?} got {events:?}"
        );
    }
}

#[test]
fn two_racing_joins_on_the_lock_engine_make_one_matched_room() {
    check(|| {
        let engine = Arc::new(LockEngine::new(2, EngineConfig::default()));
        let racers: Vec<_> = ["ann", "bob"]
            .into_iter()
            .map(|name| {
                let engine = engine.clone();
                thread::spawn(move || connect_and_join(&*engine, name))
            })
            .collect();
        let players: Vec<_> = racers.into_iter().map(|p| p.join().unwrap()).collect();
        assert_one_matched_room(&*engine, &players);
    });
}

/// The same race on the actor engine, one caller racing the main thread (a world and a room
/// actor make four loom threads of the five loom allows).
///
/// Queues of one make callers and the world really block on full queues. Held to one
/// preemption because the actors' message rounds (joins, the quiesce barrier, the snapshot's
/// parts, shutdown) make the model large: about 133,000 executions (some 15 s in release) at
/// one preemption, while at two even queues of two take 1.3 million and over two minutes.
#[test]
fn two_racing_joins_on_the_actor_engine_make_one_matched_room() {
    check_bounded(1, || {
        let config = EngineConfig {
            queue_capacity: 1,
            ..EngineConfig::default()
        };
        let engine = Arc::new(ActorEngine::new(1, config));
        let racer = {
            let engine = engine.clone();
            thread::spawn(move || connect_and_join(&*engine, "bob"))
        };
        let ann = connect_and_join(&*engine, "ann");
        let bob = racer.join().unwrap();
        assert_one_matched_room(&*engine, &[ann, bob]);
    });
}

// ---------------------------------------------------------------------------------------------
// Race scenarios, each run on lock/1, lock/2, actor/1 and actor/2 (see the module doc).

/// One race, checked on each engine.
struct Scenario {
    name: &'static str,
    /// Sets up, races, settles and checks; returns which of its outcomes it saw.
    body: fn(EngineSpec) -> &'static str,
    /// Outcomes that some interleaving must reach on every engine, so that a scenario cannot
    /// pass by never really racing.
    reaches: &'static [&'static str],
    /// Outcomes that some interleaving must reach on the actor engine as well.
    actors_also_reach: &'static [&'static str],
    /// The most preemptions for actor/2, whose models are the largest (see the module doc).
    two_room_actors_at_most: usize,
}

impl Scenario {
    /// The preemption bound (`None`: no bound) for `spec`, given the file's bound.
    fn bound(&self, spec: EngineSpec, file_bound: usize) -> Option<usize> {
        if spec.kind == EngineKind::LOCK {
            // The lock engine's race windows are small enough to check exhaustively.
            None
        } else if spec.shards == 1 {
            Some(file_bound)
        } else {
            Some(file_bound.min(self.two_room_actors_at_most))
        }
    }

    /// Model-checks the scenario on `spec`: every interleaving of its race within the bound.
    fn check(&self, kind: EngineKind, shards: usize) {
        let spec = EngineSpec::new(kind, shards);
        let body = self.body;
        let seen = std::sync::Arc::new(StdMutex::new(BTreeMap::<&'static str, usize>::new()));
        let tally = seen.clone();
        let start = std::time::Instant::now();
        let mut builder = loom::model::Builder::new();
        let bound = self.bound(spec, builder.preemption_bound.unwrap_or(2));
        builder.preemption_bound = bound;
        // Exploration starts at `race_begins`: the setup runs on one schedule.
        builder.expect_explicit_explore = true;
        // A path holds the setup's and the checks' branches too: loom's default of 1,000 is
        // too short for the actor engine.
        builder.max_branches = builder.max_branches.max(20_000);
        builder.check(move || {
            let outcome = body(spec);
            *tally.lock().unwrap().entry(outcome).or_default() += 1;
        });
        let seen = seen.lock().unwrap();
        let runs: usize = seen.values().sum();
        // Shown with `--nocapture`: the size of each model, as quoted in the module doc.
        println!(
            "{}::{kind}_{shards}: {runs} executions, preemption bound {}, {:.1?}, {seen:?}",
            self.name,
            bound.map_or("none".to_owned(), |bound| bound.to_string()),
            start.elapsed()
        );
        let actors = if kind == EngineKind::ACTOR {
            self.actors_also_reach
        } else {
            &[]
        };
        for outcome in self.reaches.iter().chain(actors) {
            assert!(
                seen.contains_key(outcome),
                "{spec}: no interleaving reached `{outcome}`: {seen:?}"
            );
        }
    }
}

/// The actor engine's queue capacity for `spec`: two with one room actor, one with two, so
/// that there the world and the callers wait on full queues. The lock engine has no queues.
fn queue_capacity(spec: EngineSpec) -> usize {
    if spec.shards == 1 { 2 } else { 1 }
}

/// Where the race begins: everything before (the setup) ran on one schedule, since it is no
/// part of the race; from here loom explores.
fn race_begins(engine: &dyn Engine) {
    engine.quiesce();
    loom::explore();
}

/// Where the race ends: once every call of it is done (`quiesce`) loom stops exploring, and
/// the checks that follow run on one schedule.
fn race_settled(engine: &dyn Engine) {
    engine.quiesce();
    loom::stop_exploring();
}

fn build(spec: EngineSpec) -> Arc<Box<dyn Engine>> {
    let config = EngineConfig {
        queue_capacity: queue_capacity(spec),
        ..EngineConfig::default()
    };
    Arc::new(spec.build(config))
}

/// Runs `call` on a thread of its own, racing whatever the caller does next.
fn racing(
    engine: &Arc<Box<dyn Engine>>,
    call: impl FnOnce(&dyn Engine) + Send + 'static,
) -> thread::JoinHandle<()> {
    let engine = engine.clone();
    thread::spawn(move || call(&**engine))
}

/// A client of a scenario: its outbox, and the stream rules its events must keep.
struct Client {
    id: ClientId,
    rx: OutboxReceiver,
    check: StreamCheck,
    seen: Vec<Event>,
}

impl Client {
    fn connect(engine: &dyn Engine, name: &str) -> Client {
        let (tx, rx) = outbox(16);
        let id = engine.connect(Player::new(name, name), tx);
        Client {
            id,
            rx,
            check: StreamCheck::new(id),
            seen: Vec::new(),
        }
    }

    /// Every event delivered so far, each checked against the stream rules.
    fn events(&mut self) -> Vec<Event> {
        for event in self.rx.drain() {
            self.check.observe(&event);
            self.seen.push(event);
        }
        let broken = &self.check.broken;
        assert!(broken.is_empty(), "{broken:?} in {:?}", self.seen);
        self.seen.clone()
    }

    /// Asserts that the outbox is drained and ended by a disconnect, with every sender gone:
    /// the receiver sees `Closed` and can never see anything after it.
    fn assert_closed(&mut self) {
        self.events();
        let closed = Err(RecvError::Closed(CloseReason::Disconnected));
        for _ in 0..2 {
            assert_eq!(
                self.rx.try_recv(),
                closed,
                "{} after {:?}",
                self.id,
                self.seen
            );
        }
    }
}

/// Disconnects every client still connected, and checks that nothing is left behind: no
/// client, no room, as many disconnects as connects, and every outbox closed.
fn tear_down(engine: &dyn Engine, clients: &mut [&mut Client]) {
    let snapshot = engine.snapshot();
    for client in clients.iter() {
        if snapshot.clients.contains_key(&client.id) {
            engine.disconnect(client.id);
        }
    }
    let snapshot = engine.snapshot();
    let broken = check_empty(&snapshot);
    assert!(broken.is_empty(), "{broken:?} in {snapshot:?}");
    for client in clients.iter_mut() {
        client.assert_closed();
    }
}

/// The state once the race settled, checked against the snapshot rules.
fn settled(engine: &dyn Engine) -> Snapshot {
    let snapshot = engine.snapshot();
    let broken = check_snapshot(&snapshot);
    assert!(broken.is_empty(), "{broken:?} in {snapshot:?}");
    snapshot
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

/// Generates, for a scenario function of the same name, a module holding its test on each
/// engine, so that the test list reads `scenario::lock_1`, `scenario::actor_2` and so on.
macro_rules! on_every_engine {
    (
        $(#[$doc:meta])*
        $name:ident {
            reaches: [$($outcome:literal),* $(,)?],
            actors_also_reach: [$($actor_outcome:literal),* $(,)?],
            two_room_actors_at_most: $most:literal $(,)?
        }
    ) => {
        $(#[$doc])*
        mod $name {
            use lockchan::EngineKind;

            const SCENARIO: super::Scenario = super::Scenario {
                name: stringify!($name),
                body: super::$name,
                reaches: &[$($outcome),*],
                actors_also_reach: &[$($actor_outcome),*],
                two_room_actors_at_most: $most,
            };

            #[test]
            fn lock_1() {
                SCENARIO.check(EngineKind::LOCK, 1)
            }

            #[test]
            fn lock_2() {
                SCENARIO.check(EngineKind::LOCK, 2)
            }

            #[test]
            fn actor_1() {
                SCENARIO.check(EngineKind::ACTOR, 1)
            }

            #[test]
            fn actor_2() {
                SCENARIO.check(EngineKind::ACTOR, 2)
            }
        }
    };
}

fn two_clients_racing_for_the_last_seat_fill_it_once_and_the_loser_opens_a_room(
    spec: EngineSpec,
) -> &'static str {
    let engine = build(spec);
    let mut a = Client::connect(&**engine, "a");
    let mut b = Client::connect(&**engine, "b");
    let mut c = Client::connect(&**engine, "c");
    let mut d = Client::connect(&**engine, "d");
    engine.submit(a.id, join(3));
    engine.submit(b.id, join(3));
    race_begins(&**engine);
    let racer = racing(&engine, move |engine| engine.submit(ClientId(3), join(3)));
    engine.submit(d.id, join(3));
    racer.join().unwrap();
    race_settled(&**engine);

    let (first, second) = (room(3, 1), room(3, 2));
    let snapshot = settled(&**engine);
    let winner = snapshot.rooms[&first].members[2];
    let (w, l, outcome) = if winner == c.id {
        (&mut c, &mut d, "c took the seat")
    } else {
        (&mut d, &mut c, "d took the seat")
    };
    let all = [a.id, b.id, w.id];
    assert_eq!(snapshot.rooms.len(), 2, "{snapshot:?}");
    assert!(snapshot.rooms[&first].matched);
    assert_eq!(snapshot.rooms[&first].members, all);
    assert!(!snapshot.rooms[&second].matched);
    assert_eq!(snapshot.rooms[&second].members, [l.id]);
    assert_eq!(
        a.events(),
        [
            joined(first, &[a.id]),
            member_joined(first, b.id),
            member_joined(first, w.id),
            matched(first, &all),
        ]
    );
    assert_eq!(
        b.events(),
        [
            joined(first, &all[..2]),
            member_joined(first, w.id),
            matched(first, &all)
        ]
    );
    assert_eq!(w.events(), [joined(first, &all), matched(first, &all)]);
    assert_eq!(l.events(), [joined(second, &[l.id])]);
    tear_down(&**engine, &mut [&mut a, &mut b, &mut c, &mut d]);
    outcome
}

on_every_engine!(
    /// Two clients race for the last seat of a room of three (two already seated): exactly one
    /// gets it and the room matches with three members, and the other opens a second room.
    two_clients_racing_for_the_last_seat_fill_it_once_and_the_loser_opens_a_room {
        reaches: ["c took the seat", "d took the seat"],
        actors_also_reach: [],
        two_room_actors_at_most: 1,
    }
);

fn a_leave_racing_the_matching_join_is_seen_the_same_way_by_every_member(
    spec: EngineSpec,
) -> &'static str {
    let engine = build(spec);
    let mut a = Client::connect(&**engine, "a");
    let mut b = Client::connect(&**engine, "b");
    let mut c = Client::connect(&**engine, "c");
    engine.submit(a.id, join(3));
    engine.submit(b.id, join(3));
    race_begins(&**engine);
    let racer = racing(&engine, move |engine| engine.submit(ClientId(3), join(3)));
    engine.submit(a.id, Command::Leave);
    racer.join().unwrap();
    race_settled(&**engine);

    let snapshot = settled(&**engine);
    let r = room(3, 1);
    let (ai, bi, ci) = (a.id, b.id, c.id);
    let view = &snapshot.rooms[&r];
    assert_eq!(view.members, [bi, ci]);
    let outcome = if view.matched {
        let all = [ai, bi, ci];
        assert_eq!(
            a.events(),
            [
                joined(r, &[ai]),
                member_joined(r, bi),
                member_joined(r, ci),
                matched(r, &all),
                Event::Left { room: r },
            ]
        );
        assert_eq!(
            b.events(),
            [
                joined(r, &[ai, bi]),
                member_joined(r, ci),
                matched(r, &all),
                member_left(r, ai)
            ]
        );
        assert_eq!(
            c.events(),
            [joined(r, &all), matched(r, &all), member_left(r, ai)]
        );
        "matched, then a left"
    } else {
        assert_eq!(
            a.events(),
            [
                joined(r, &[ai]),
                member_joined(r, bi),
                Event::Left { room: r }
            ]
        );
        assert_eq!(
            b.events(),
            [
                joined(r, &[ai, bi]),
                member_left(r, ai),
                member_joined(r, ci)
            ]
        );
        assert_eq!(c.events(), [joined(r, &[bi, ci])]);
        "a left, then c joined"
    };
    tear_down(&**engine, &mut [&mut a, &mut b, &mut c]);
    outcome
}

on_every_engine!(
    /// A member's `Leave` races the join that takes the last seat: either the room matched
    /// first (the leaver saw `Matched` then `Left`, the others `Matched` then `MemberLeft`) or
    /// the leave came first and the room never matched with the leaver in it.
    a_leave_racing_the_matching_join_is_seen_the_same_way_by_every_member {
        reaches: ["matched, then a left", "a left, then c joined"],
        actors_also_reach: [],
        two_room_actors_at_most: 1,
    }
);

fn a_join_racing_its_own_clients_disconnect_leaves_no_trace_of_it(
    spec: EngineSpec,
) -> &'static str {
    let engine = build(spec);
    // a is client 1 (shard 1 of 2) and joins a room of two (shard 0): on lock/2 the join and
    // the removal span two shards, and a removal that finds a seated lets go of a's shard and
    // takes both in index order.
    let mut a = Client::connect(&**engine, "a");
    let mut b = Client::connect(&**engine, "b");
    engine.submit(b.id, join(2));
    race_begins(&**engine);
    let racer = racing(&engine, move |engine| engine.submit(ClientId(1), join(2)));
    engine.disconnect(a.id);
    racer.join().unwrap();
    race_settled(&**engine);

    let r = room(2, 1);
    let snapshot = settled(&**engine);
    assert_eq!(snapshot.clients.keys().copied().collect::<Vec<_>>(), [b.id]);
    assert_eq!(snapshot.rooms.len(), 1, "{snapshot:?}");
    assert_eq!(snapshot.rooms[&r].members, [b.id], "no trace of a");
    a.assert_closed();
    let (ai, bi) = (a.id, b.id);
    let outcome = if snapshot.rooms[&r].matched {
        // The join took effect first, so the room matched and then lost a. a may have been
        // closed while its join was still being answered (the actor engine's room delivers
        // after the world closed the outbox): it sees a prefix of its story, never more.
        let story = [joined(r, &[bi, ai]), matched(r, &[bi, ai])];
        let heard = a.events();
        assert!(story.starts_with(&heard), "{heard:?}");
        assert_eq!(
            b.events(),
            [
                joined(r, &[bi]),
                member_joined(r, ai),
                matched(r, &[bi, ai]),
                member_left(r, ai)
            ]
        );
        assert_eq!(snapshot.counters.unknown_client, 0);
        if heard.len() == story.len() {
            "joined, then disconnected"
        } else {
            "joined, but closed before the join's answer"
        }
    } else {
        assert_eq!(a.events(), []);
        assert_eq!(b.events(), [joined(r, &[bi])]);
        assert_eq!(snapshot.counters.unknown_client, 1, "the join found a gone");
        "disconnected first"
    };
    tear_down(&**engine, &mut [&mut a, &mut b]);
    outcome
}

on_every_engine!(
    /// A client's `Join` races its own disconnect (on the actor engine both calls are
    /// asynchronous: one thread submits, the other disconnects). Once settled the client is
    /// gone from the world, its outbox is closed with every sender dropped, and the room keeps
    /// no trace of it: either it never joined, or it joined (the room matched) and left.
    a_join_racing_its_own_clients_disconnect_leaves_no_trace_of_it {
        reaches: ["joined, then disconnected", "disconnected first"],
        // The disconnect reaching the world while the join is at the room actor: the case
        // that needs the world to send its `Remove` to the pending room too.
        actors_also_reach: ["joined, but closed before the join's answer"],
        // Reaching that case on two room actors takes two preemptions; the model stays small.
        two_room_actors_at_most: 2,
    }
);

fn a_say_racing_the_sayers_own_disconnect_reaches_only_open_outboxes(
    spec: EngineSpec,
) -> &'static str {
    let engine = build(spec);
    let mut s = Client::connect(&**engine, "s");
    let mut t = Client::connect(&**engine, "t");
    engine.submit(s.id, join(2));
    engine.submit(t.id, join(2));
    race_begins(&**engine);
    let racer = racing(&engine, move |engine| {
        let data = "1".into();
        engine.submit(ClientId(1), Command::Say { data })
    });
    engine.disconnect(s.id);
    // Once the disconnect has taken effect, s's outbox is closed for good, whatever the say
    // still does.
    engine.quiesce();
    s.assert_closed();
    racer.join().unwrap();
    race_settled(&**engine);

    let r = room(2, 1);
    let (si, ti) = (s.id, t.id);
    s.assert_closed();
    assert_eq!(
        s.events(),
        [
            joined(r, &[si]),
            member_joined(r, ti),
            matched(r, &[si, ti])
        ]
    );
    let snapshot = settled(&**engine);
    assert_eq!(snapshot.rooms[&r].members, [ti]);
    let setup = [joined(r, &[si, ti]), matched(r, &[si, ti])];
    let heard = t.events();
    assert!(heard.starts_with(&setup), "{heard:?}");
    let outcome = if heard.len() == 4 {
        let said = Event::Said {
            room: r,
            from: si,
            data: "1".into(),
        };
        assert_eq!(heard[2..], [said, member_left(r, si)]);
        "said, then disconnected"
    } else {
        assert_eq!(heard[2..], [member_left(r, si)]);
        assert_eq!(snapshot.counters.unknown_client, 1, "the say found s gone");
        "disconnected first"
    };
    tear_down(&**engine, &mut [&mut s, &mut t]);
    outcome
}

on_every_engine!(
    /// A `Say` races the sayer's own disconnect: the sayer's outbox, once closed, stays closed
    /// and empty (it never hears its own say), and the other member hears the say before the
    /// sayer's `MemberLeft` or not at all.
    a_say_racing_the_sayers_own_disconnect_reaches_only_open_outboxes {
        reaches: ["said, then disconnected", "disconnected first"],
        actors_also_reach: [],
        two_room_actors_at_most: 1,
    }
);

fn a_shout_racing_another_clients_disconnect_reaches_only_open_outboxes(
    spec: EngineSpec,
) -> &'static str {
    let engine = build(spec);
    let mut a = Client::connect(&**engine, "a");
    let mut b = Client::connect(&**engine, "b");
    engine.submit(a.id, join(2));
    engine.submit(b.id, join(2));
    race_begins(&**engine);
    let racer = racing(&engine, move |engine| {
        let text = "1".into();
        engine.submit(ClientId(1), Command::Shout { text })
    });
    engine.disconnect(b.id);
    engine.quiesce();
    b.assert_closed();
    let heard_before_close = b.events().len();
    racer.join().unwrap();
    race_settled(&**engine);

    let r = room(2, 1);
    let (ai, bi) = (a.id, b.id);
    b.assert_closed();
    let shouted = Event::Shouted {
        from: ai,
        text: "1".into(),
    };
    let setup = [joined(r, &[ai, bi]), matched(r, &[ai, bi])];
    let heard = b.events();
    assert_eq!(
        heard.len(),
        heard_before_close,
        "an event came after the close"
    );
    assert!(heard.starts_with(&setup), "{heard:?}");
    let outcome = if heard.len() == 3 {
        assert_eq!(heard[2], shouted);
        "b heard the shout"
    } else {
        assert_eq!(heard.len(), 2, "{heard:?}");
        "b was gone first"
    };
    let heard = a.events();
    let setup = [
        joined(r, &[ai]),
        member_joined(r, bi),
        matched(r, &[ai, bi]),
    ];
    assert!(heard.starts_with(&setup), "{heard:?}");
    // The shout and b's departure reach a by different paths (a broadcast, b's room), in
    // either order.
    let rest = &heard[3..];
    let left = member_left(r, bi);
    assert!(
        rest == [shouted.clone(), left.clone()] || rest == [left, shouted],
        "{heard:?}"
    );
    let snapshot = settled(&**engine);
    assert_eq!(snapshot.rooms[&r].members, [ai]);
    tear_down(&**engine, &mut [&mut a, &mut b]);
    outcome
}

on_every_engine!(
    /// A `Shout` races another client's disconnect: the leaver hears the shout before its
    /// outbox closes or never; nothing reaches it after the close; the shouter hears its own
    /// shout and the leaver's `MemberLeft` exactly once each.
    a_shout_racing_another_clients_disconnect_reaches_only_open_outboxes {
        reaches: ["b heard the shout", "b was gone first"],
        actors_also_reach: [],
        two_room_actors_at_most: 1,
    }
);

fn joins_that_cross_shards_in_opposite_directions_never_deadlock(spec: EngineSpec) -> &'static str {
    let engine = build(spec);
    // On two shards: a is client 1 (shard 1) joining a room of two (shard 0); b is client 2
    // (shard 0) joining a room of three (shard 1). On the lock engine each then leaves, which
    // for a means letting go of its shard and taking both again in order. The actor engine
    // has no client shards and its model explodes with the leaves (see the module doc): its
    // clients only join, each through another room actor.
    let leave = spec.kind == EngineKind::LOCK;
    let mut a = Client::connect(&**engine, "a");
    let mut b = Client::connect(&**engine, "b");
    race_begins(&**engine);
    let racer = racing(&engine, move |engine| {
        engine.submit(ClientId(1), join(2));
        if leave {
            engine.submit(ClientId(1), Command::Leave);
        }
    });
    engine.submit(b.id, join(3));
    if leave {
        engine.submit(b.id, Command::Leave);
    }
    racer.join().unwrap();
    race_settled(&**engine);

    let (ra, rb) = (room(2, 1), room(3, 1));
    let snapshot = settled(&**engine);
    for (client, r) in [(&mut a, ra), (&mut b, rb)] {
        let mut story = vec![joined(r, &[client.id])];
        if leave {
            story.push(Event::Left { room: r });
        } else {
            assert_eq!(snapshot.clients[&client.id].room, Some(r));
            assert_eq!(snapshot.rooms[&r].members, [client.id]);
        }
        assert_eq!(client.events(), story);
    }
    assert_eq!(
        snapshot.rooms.len(),
        if leave { 0 } else { 2 },
        "{snapshot:?}"
    );
    tear_down(&**engine, &mut [&mut a, &mut b]);
    "each opened its own room"
}

on_every_engine!(
    /// Two joins span two shards in opposite directions (client 1 on shard 1 into a room of
    /// two on shard 0, client 2 on shard 0 into a room of three on shard 1), on the lock
    /// engine each followed by a leave: no interleaving deadlocks (loom reports a deadlock as
    /// a failure), and each client opens its own room (and leaves it).
    joins_that_cross_shards_in_opposite_directions_never_deadlock {
        reaches: ["each opened its own room"],
        actors_also_reach: [],
        two_room_actors_at_most: 1,
    }
);

fn the_match_timeout_racing_the_last_join_either_matches_or_dissolves_never_both(
    spec: EngineSpec,
) -> &'static str {
    let engine = build(spec);
    let mut a = Client::connect(&**engine, "a");
    let mut b = Client::connect(&**engine, "b");
    engine.submit(a.id, join(2));
    race_begins(&**engine);
    let racer = racing(&engine, move |engine| engine.submit(ClientId(2), join(2)));
    // The room opened at 0 s and the match timeout is 10 s: this tick dissolves it if the
    // join has not filled it yet.
    let now = Duration::from_secs(10);
    engine.tick(now);
    racer.join().unwrap();
    race_settled(&**engine);

    let (ai, bi) = (a.id, b.id);
    let (first, second) = (room(2, 1), room(2, 2));
    let tick = Event::Tick { at: now };
    let snapshot = settled(&**engine);
    let (heard_a, heard_b) = (a.events(), b.events());
    for heard in [&heard_a, &heard_b] {
        let ticks = heard.iter().filter(|event| **event == tick).count();
        assert_eq!(ticks, 1, "{heard:?}");
    }
    let outcome = if snapshot.rooms.contains_key(&first) {
        // Matched: the tick came too late to dissolve it, and nobody hears a timeout.
        assert_eq!(snapshot.rooms.len(), 1);
        assert!(snapshot.rooms[&first].matched);
        let all = [ai, bi];
        let not_tick = |heard: &[Event]| -> Vec<Event> {
            heard
                .iter()
                .filter(|event| **event != tick)
                .cloned()
                .collect()
        };
        assert_eq!(
            not_tick(&heard_a),
            [
                joined(first, &[ai]),
                member_joined(first, bi),
                matched(first, &all)
            ]
        );
        assert_eq!(
            not_tick(&heard_b),
            [joined(first, &all), matched(first, &all)]
        );
        "matched"
    } else {
        // Timed out: a was told so, and b, joining later, opened a fresh room at 10 s.
        assert_eq!(
            heard_a,
            [
                joined(first, &[ai]),
                tick.clone(),
                Event::MatchTimeout { room: first }
            ]
        );
        assert_eq!(heard_b, [tick, joined(second, &[bi])]);
        assert_eq!(snapshot.rooms.len(), 1);
        let view = &snapshot.rooms[&second];
        assert_eq!((view.created_at, view.matched), (now, false));
        "timed out, then b opened a room"
    };
    tear_down(&**engine, &mut [&mut a, &mut b]);
    outcome
}

on_every_engine!(
    /// The tick that runs out an open room's match timeout races the join that would fill it:
    /// either the room matched (and the tick leaves it alone: no `MatchTimeout` after
    /// `Matched`) or it timed out (its member told so) and the late joiner opened a fresh
    /// room; never both. Each client hears the tick once.
    the_match_timeout_racing_the_last_join_either_matches_or_dissolves_never_both {
        reaches: ["matched", "timed out, then b opened a room"],
        actors_also_reach: [],
        two_room_actors_at_most: 1,
    }
);
