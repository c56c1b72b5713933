//! Loom model checks of the loom backend itself (`mocked.rs` with `condvar_channel.rs`): the
//! channels the actor engine and the outboxes are built on, bounded and unbounded, blocking
//! and waking, disconnection, and `recv_biased`.
//!
//! They sit here, beside the shim, because the shim is crate-private: a test crate could only
//! reach it by compiling its source a second time. Only built by the lib's unit tests with the
//! project's loom cfg (`.ci/run` runs them):
//!
//! ```text
//! RUSTFLAGS="--cfg lockchan_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --lib sync::loom_tests::
//! ```
//!
//! The filter matters: under this cfg every primitive of the crate is loom's, which panics
//! outside `loom::model`, so the crate's other unit tests cannot run in that build.
//!
//! The engines' race scenarios, built on this shim, are in `tests/loom.rs`.

use loom::thread;

use super::channel::{self, Biased, RecvTimeoutError, TryRecvError, TrySendError, recv_biased};

/// Runs `body` under every interleaving loom explores within the preemption bound: 2, or
/// `LOOM_MAX_PREEMPTIONS` when set.
fn check(body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.unwrap_or(2));
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
