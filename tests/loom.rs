//! Loom model checks of the loom synchronization shim (`src/sync/mocked.rs`) and of one small
//! race on the lock engine built on it.
//!
//! Only built with the project's loom cfg:
//!
//! ```text
//! RUSTFLAGS="--cfg lockchan_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --test loom
//! ```
//!
//! The shim is crate-private, so this file compiles its very source a second time as a module
//! of the test crate rather than testing a copy. Every check runs under a preemption bound of
//! 2 unless `LOOM_MAX_PREEMPTIONS` says otherwise: unbounded, even these small models take
//! minutes, and bugs in code this size show up within two preemptions.

#![cfg(lockchan_loom)]

#[path = "../src/sync/mocked.rs"]
#[allow(dead_code, unused_imports)]
mod mocked;

use loom::sync::Arc;
use loom::thread;

use lockchan::{
    ActorEngine, ClientId, Command, DEFAULT_OUTBOX_CAPACITY, Engine, EngineConfig, Event,
    LockEngine, OutboxReceiver, Player, outbox,
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
