//! Loom model checks of the races that matter on both engines, built on the loom
//! synchronization shim (`src/sync/mocked.rs`, whose own checks are `src/sync/loom_tests.rs`).
//!
//! Only built with the project's loom cfg:
//!
//! ```text
//! RUSTFLAGS="--cfg lockchan_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --test loom
//! ```
//!
//! The whole file took about 85 s on this project's 2-core machine, the test harness running
//! two tests at a time (84 s and 87 s in two runs; 103 s while other builds loaded the
//! machine), measured before the shim's checks moved to `src/sync/loom_tests.rs` (they take
//! under a second) and the scenarios became data; that change left the number of executions
//! loom runs for every scenario test exactly as it was. Since, with other builds keeping the
//! load average at 4 to 8, it took 137 s and 167 s. Add `-- --nocapture` to see, for every
//! scenario test, how many executions loom ran, at which bound, and how often each outcome
//! came up.
//!
//! # What is here
//!
//! - **A racing join per engine** (two tests, below): the first checks written, kept as they
//!   were.
//! - **Ten race scenarios** (50 tests), each one function of `loom/scenarios.rs` that
//!   returns the race as data (its clients, setup, the racer's and the main thread's calls,
//!   and every outcome with what each client hears there), run by the one runner of
//!   `loom/race.rs` on lock/1, lock/2, lock/4, actor/1 and actor/2 under the same names
//!   (`scenario::lock_2`, …, made by `on_every_engine!` from the table at the end):
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
//!      On lock/4 the same calls take shards 1 and 2, and 2 and 3: they overlap instead of
//!      crossing, a race on one shared lock.
//!   5. `the_match_timeout_racing_the_last_join…`: the tick that runs out a room's match
//!      timeout races the join that fills it. Either the room matched (no `MatchTimeout`, never
//!      one after `Matched`) or it timed out (its member hears `Tick` then `MatchTimeout`) and
//!      the late joiner opened a fresh room stamped with the new clock. Never both.
//!   6. `a_leave_racing_the_matching_join…`: a member's `Leave` races the join that takes the
//!      last seat. Matched first: the leaver hears `Matched` then `Left`, the others `Matched`
//!      then `MemberLeft`. Left first: the room never matched with the leaver in it.
//!   7. `a_leave_racing_its_rooms_expiry…`: a seated client's `Leave` races the tick that
//!      dissolves its room; on lock/2 the leave re-locks (its room's shard is below its own),
//!      so the seat can change inside that window. Left first, or timed out first and the
//!      leave refused as `not_in_room`; never a leave acting on the dissolved room (which
//!      `seat_mismatches` would count and `check_snapshot` report).
//!
//!   8. `a_relay_and_a_shout_into_a_full_outbox_cut_its_reader_off` and
//!      `a_relay_and_a_tick_into_a_full_outbox_cut_its_reader_off` (issue 14, item 3, with
//!      their own runner, `loom/slow.rs`): `s` has stopped reading, its outbox of one event,
//!      while its room-mate's say races the room-mate's shout, or the engine's tick. The
//!      second to arrive meets the full outbox: `s` must end cut off as a slow consumer
//!      (the rule of `lockchan::verify::race::not_cut_off`), holding the first, and leave the
//!      room (its room-mate hears `MemberLeft`); each event must be the first in some
//!      interleaving. These are held to rules, not to listed outcomes; a send that waited for
//!      room would hang, which loom reports as a deadlock (or a spin past its branch limit)
//!      and the test names as such.
//!
//! The runner checks each client's stream with `StreamCheck` and the settled state with
//! `check_snapshot`, then demands that the settled world is one of the scenario's outcomes
//! (facts about the snapshot, and the exact events of each client where the outcome
//! determines them), then disconnects everyone and checks `check_empty` and that every
//! outbox ended `Closed`. It tallies the outcomes, and fails if some interleaving did not
//! reach each one the scenario must reach, so that a scenario cannot pass by never really
//! racing.
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
//! - **lock/1, lock/2, lock/4**: no preemption bound at all: every interleaving of the race window,
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
//! - The actor engine's racing join is held to one preemption (`check_bounded`) since its
//!   setup is explored too: about 133,000 executions.
//!
//! # The layer log
//!
//! Every scenario test and racing join is one run of the loom layer on its engine: it passed
//! (every interleaving within its bound) or failed, and it is appended to the layer log when
//! `LOCKCHAN_LAYER_LOG` is set (`scripts/verify-all`), before a failure fails the test. loom
//! has no inconclusive runs. The scenarios run on lock/4 as well (the lock engine has no
//! threads of its own, and its race windows stay small), so that every engine `lockchan
//! verify` checks is covered where loom can hold it; actor/4 it cannot, and
//! [`what_loom_cannot_run_is_declared`] records why. A spec `verify` checks that loom neither
//! runs nor declares fails that test, and, unrecorded, fails the merged summary too.
//!
//! # Reading a failure
//!
//! A deadlock makes loom abort the whole test process; run the one test alone
//! (`cargo test … --test loom -- --exact NAME --nocapture`) to read which threads were stuck.
//! A settled world that is none of a scenario's outcomes fails with, for each outcome, the
//! first fact or stream that differs, then every client's events and the snapshot. loom
//! assumes a model is deterministic: it replays an execution by making the same choices
//! again. The engines keep their state in `sync::HashMap`, which under `lockchan_loom` has a
//! fixed seed (`src/sync/mocked.rs`), so a replay walks every map in the same order as the
//! execution it replays.

#![cfg(lockchan_loom)]

#[path = "loom/race.rs"]
mod race;
#[path = "loom/scenarios.rs"]
mod scenarios;
#[path = "loom/slow.rs"]
mod slow;

use loom::sync::Arc;
use loom::thread;

use lockchan::verify::Tally;
use lockchan::verify::layers::{Entry, Layer, record};
use lockchan::{
    ActorEngine, ClientId, Command, DEFAULT_OUTBOX_CAPACITY, Engine, EngineConfig, EngineKind,
    EngineSpec, Event, LockEngine, OutboxReceiver, Player, outbox,
};

/// The engines and shard counts the scenarios run on (`on_every_engine!` below).
const SCENARIO_ENGINES: [(EngineKind, usize); 5] = [
    (EngineKind::LOCK, 1),
    (EngineKind::LOCK, 2),
    (EngineKind::LOCK, 4),
    (EngineKind::ACTOR, 1),
    (EngineKind::ACTOR, 2),
];

/// Runs one loom test on `spec` and records it in the layer log, passed or failed, before a
/// failure goes on to fail the test.
fn recorded(spec: EngineSpec, test: impl FnOnce()) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test));
    let tally = Tally {
        passed: u64::from(outcome.is_ok()),
        failed: u64::from(outcome.is_err()),
        inconclusive: 0,
    };
    record(Layer::Loom, spec, Entry::Ran(tally)).expect("recording the loom test");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Why loom cannot run `spec`, when it cannot: each actor/n is the main thread, the world and
/// n room actors, plus a racer, and loom models at most [`loom::MAX_THREADS`].
fn cannot_run(spec: EngineSpec) -> Option<String> {
    let threads = 3 + spec.shards;
    (spec.kind == EngineKind::ACTOR && threads > loom::MAX_THREADS).then(|| {
        format!(
            "loom models at most {} threads; a race on {spec} needs {threads} (the main \
             thread, a racer, the world and {} room actors)",
            loom::MAX_THREADS,
            spec.shards
        )
    })
}

/// Every engine `lockchan verify` checks by default is run by the scenarios, or declared here
/// as one loom cannot run, with why; anything else fails, so no engine goes silently
/// unchecked by loom.
#[test]
fn what_loom_cannot_run_is_declared() {
    let run: Vec<EngineSpec> = SCENARIO_ENGINES
        .iter()
        .map(|&(kind, shards)| EngineSpec::new(kind, shards))
        .collect();
    for spec in lockchan::all_specs(&lockchan::verify::SHARD_COUNTS) {
        if run.contains(&spec) {
            continue;
        }
        let why = cannot_run(spec).unwrap_or_else(|| {
            panic!("loom could run {spec}, but no scenario runs it: add it to SCENARIO_ENGINES")
        });
        record(Layer::Loom, spec, Entry::CannotRun(why)).expect("recording the declaration");
    }
}

/// As [`check_bounded`], at the file's bound: 2, or `LOOM_MAX_PREEMPTIONS` when set.
fn check(body: impl Fn() + Sync + Send + 'static) {
    check_bounded(usize::MAX, body);
}

/// Runs `body` under every interleaving loom explores within the file's bound, held to at
/// most `most` for models that explode above it.
fn check_bounded(most: usize, body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    let bound = builder.preemption_bound.unwrap_or(2).min(most);
    builder.preemption_bound = Some(bound);
    builder.check(body);
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
    recorded(EngineSpec::new(EngineKind::LOCK, 2), || {
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
        })
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
    recorded(EngineSpec::new(EngineKind::ACTOR, 1), || {
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
        })
    });
}

/// Generates, for each scenario function of `loom/scenarios.rs`, a module of the same name
/// holding its test on each engine, so that the test list reads `scenario::lock_1`,
/// `scenario::actor_2` and so on.
macro_rules! on_every_engine {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use lockchan::{EngineKind, EngineSpec};

                fn check(kind: EngineKind, shards: usize) {
                    assert!(
                        crate::SCENARIO_ENGINES.contains(&(kind, shards)),
                        "{kind}/{shards} is missing from SCENARIO_ENGINES"
                    );
                    crate::recorded(EngineSpec::new(kind, shards), || {
                        crate::scenarios::$name(kind).check(stringify!($name), kind, shards)
                    })
                }

                #[test]
                fn lock_1() {
                    check(EngineKind::LOCK, 1)
                }

                #[test]
                fn lock_2() {
                    check(EngineKind::LOCK, 2)
                }

                #[test]
                fn lock_4() {
                    check(EngineKind::LOCK, 4)
                }

                #[test]
                fn actor_1() {
                    check(EngineKind::ACTOR, 1)
                }

                #[test]
                fn actor_2() {
                    check(EngineKind::ACTOR, 2)
                }
            }
        )*
    };
}

// The table of race scenarios (see the module doc), each run on lock/1, lock/2, lock/4,
// actor/1 and actor/2.
on_every_engine!(
    two_clients_racing_for_the_last_seat_fill_it_once_and_the_loser_opens_a_room,
    a_leave_racing_the_matching_join_is_seen_the_same_way_by_every_member,
    a_join_racing_its_own_clients_disconnect_leaves_no_trace_of_it,
    a_say_racing_the_sayers_own_disconnect_reaches_only_open_outboxes,
    a_shout_racing_another_clients_disconnect_reaches_only_open_outboxes,
    joins_that_cross_shards_in_opposite_directions_never_deadlock,
    the_match_timeout_racing_the_last_join_either_matches_or_dissolves_never_both,
    a_leave_racing_its_rooms_expiry_acts_on_the_seat_it_finds_after_relocking,
    a_relay_and_a_shout_into_a_full_outbox_cut_its_reader_off,
    a_relay_and_a_tick_into_a_full_outbox_cut_its_reader_off,
);
