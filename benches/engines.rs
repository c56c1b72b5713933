//! The engine benchmarks: both engines at 1, 2 and 4 shards, driven by 1, 2, 4 and 8 caller
//! threads (this is a two-core machine, so 4 and 8 oversubscribe it, as a busy server does),
//! beside the sequential model driven by one thread as the floor, on the original server's
//! workloads. Ids are `group/engine/param`, such as `room_chat/lock-4/t8`, so `critcmp`
//! compares runs as they are.
//!
//! - `churn`: clients connect, join, wait for `Matched`, say twice, and disconnect.
//! - `room_chat`: every client of full rooms says 4 times (rooms of 4 to 7).
//! - `shout_fanout_1k`, `shout_fanout_10k`: shouts to 1,000 and to 10,000 connected clients.
//! - `tick_all`: the world's 1 s tick to 10,000 clients, sent by one ticker.
//! - `mixed`: a server's day: mostly says, some leaves and joins, a few shouts, one tick per
//!   batch. Closed loop at `t1`…`t8`, and open loop at a fixed offered load (`open-50k`,
//!   `open-200k`: operations per second over 4 threads), where latency counts from the time
//!   an operation was due, so a contender that falls behind pays for it, and threads read
//!   their outboxes at least every 200 µs while they wait for the next operation.
//! - `contention`: says into rooms whose popularity is Zipf-skewed, with the hottest room's
//!   share of all says as the dial: `hot100` (one room), `hot25`, `hot5`, `hot1`, `uniform`
//!   (over 1,024 rooms), at 4 threads (`hot25-t4`).
//! - `critical_section`: `room_chat` at 4 threads with simulated game logic per `Say` inside
//!   the engine's critical section or outside it, in the caller (`in-2000-t4`, `out-2000-t4`).
//!
//! How a case runs. The engine is built, its clients connected and seated, and a pool of
//! caller threads started, all before criterion measures anything. An iteration is one batch:
//! a barrier releases the threads, each does its share of the batch's operations and reads
//! its clients' outboxes as a server's writers would (so an outbox never holds more than half
//! its 256 events and no client is cut off as a slow consumer; the case asserts that none
//! was), then the engine is quiesced so an actor's queued work is counted, and the threads
//! read what is left. The batch's time runs from the first thread's start to the last
//! thread's end. Beside criterion's figures each case writes
//! `target/lockchan-bench/{group}__{engine}__{param}.json` (see `support`): operation-to-
//! delivery latency (a `Say` or `Shout` carries its send time, a tick's time is kept by its
//! second), fairness, CPU and context switches per operation, and peak memory. Latency is
//! read by the caller threads, so it includes their reading gaps: compare contenders within a
//! run, as with the duel.
//!
//! Duration. A full `cargo bench --bench engines` (199 cases) took 7 min 34 s of wall time on
//! this project's two-core machine, measured once with `time cargo bench --bench engines` on
//! an already built tree while other builds kept the load average at 4 to 6. Criterion's
//! budget per case (half a second of warm-up, ten samples over a second, at least ten
//! batches) sets most of it, so a quieter machine takes about as long. With
//! `LOCKCHAN_BENCH_QUICK=1` every case runs at tiny sizes in 20 to 30 s, and
//! `cargo test --benches` runs each case once, unoptimized, in about 20 s.
//!
//! Layout. This file is the criterion entry and the list of groups; the rest is under
//! `engines/`: `contenders.rs` (the model and the engines, and which thread counts a group
//! runs), `callers.rs` (a caller thread's clients, what it reads and sends), `harness.rs`
//! (how a case is set up, timed and recorded under its criterion id), `seating.rs` (clients
//! connected and seated for a workload), and one file per group with its workload:
//! `churn.rs`, `room_chat.rs` (with `critical_section`), `shout_fanout.rs`, `tick_all.rs`,
//! `mixed.rs`, `contention.rs`.

#[path = "support/mod.rs"]
mod support;

#[path = "engines/callers.rs"]
mod callers;
#[path = "engines/contenders.rs"]
mod contenders;
#[path = "engines/harness.rs"]
mod harness;
#[path = "engines/seating.rs"]
mod seating;

#[path = "engines/churn.rs"]
mod churn;
#[path = "engines/contention.rs"]
mod contention;
#[path = "engines/mixed.rs"]
mod mixed;
#[path = "engines/room_chat.rs"]
mod room_chat;
#[path = "engines/shout_fanout.rs"]
mod shout_fanout;
#[path = "engines/tick_all.rs"]
mod tick_all;

use criterion::{criterion_group, criterion_main};

criterion_group!(
    benches,
    churn::churn,
    room_chat::room_chat,
    shout_fanout::shout_fanout,
    tick_all::tick_all,
    mixed::mixed,
    contention::contention,
    room_chat::critical_section
);
criterion_main!(benches);
