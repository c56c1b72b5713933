//! The original talk's micro-experiment, done again on this machine: 4 writer threads append
//! 1,000,000 items each to one shared vector, four ways (group `micro_append`, parameter `w4`):
//!
//! - `mutex`: every append takes a `parking_lot` mutex around the vector (the lock engine's
//!   primitive);
//! - `channel`: writers send each item over a `crossbeam-channel` bounded to 1,024 (the actor
//!   engine's queue size) to one owner thread, which pushes it;
//! - `atomic`: writers take an index with `fetch_add` and store into a preallocated buffer;
//! - `per_thread`: each writer fills its own vector and appends it to the shared one at the
//!   end, under the lock once.
//!
//! Writers come from a persistent pool released by a barrier, so no spawn is timed; an
//! iteration runs from the first writer's start to the last thread's end (the owner's, for
//! `channel`), and every iteration checks that all 4,000,000 items arrived. Beside criterion's
//! figures each way writes `target/lockchan-bench/micro_append__{way}__w4.json` with fairness
//! between the writers, CPU and context switches per item and peak memory (no latency: an
//! append is not delivered to anyone). A full `cargo bench --bench micro` took 7.5 to 10 s
//! of wall time on this two-core machine (`time cargo bench --bench micro`, built tree);
//! `LOCKCHAN_BENCH_QUICK=1` appends 10,000 items per writer.

#[path = "support/mod.rs"]
#[allow(
    dead_code,
    reason = "each bench uses its own part of the shared helpers"
)]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use support::{Pool, Tally, Window};

const WRITERS: usize = 4;

/// Items between two looks at the batch's fairness flag: a look per item would cost as much
/// as a `per_thread` append itself.
const CHUNK: usize = 1024;

/// The owner's queue: the actor engine's default capacity.
const CHANNEL_CAPACITY: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    Mutex,
    Channel,
    Atomic,
    PerThread,
}

impl Way {
    const ALL: [Way; 4] = [Way::Mutex, Way::Channel, Way::Atomic, Way::PerThread];

    fn name(self) -> &'static str {
        match self {
            Way::Mutex => "mutex",
            Way::Channel => "channel",
            Way::Atomic => "atomic",
            Way::PerThread => "per_thread",
        }
    }
}

/// What the writers of one way share.
struct Shared {
    way: Way,
    /// Items each writer appends.
    items: usize,
    first_done: AtomicBool,
    /// The shared vector of `mutex` and `per_thread`; a fresh one every iteration, so each way
    /// pays for growing it as the talk's did.
    vec: Mutex<Vec<u64>>,
    /// `atomic`: the preallocated buffer and the next free index. `Relaxed` on both: each slot
    /// is written by the one writer whose `fetch_add` returned its index, and the result is
    /// read only after the pool's barrier, which orders every write before it.
    slots: Box<[AtomicU64]>,
    next: AtomicUsize,
    /// `channel`: the writers' side and the owner's side.
    tx: Sender<u64>,
    rx: Receiver<u64>,
}

/// One way's case from its first measurement to its record.
struct Running {
    shared: Arc<Shared>,
    /// The writers, and for `channel` the owner after them.
    pool: Pool<Vec<u64>>,
    tally: Tally,
    peak: support::PeakRss,
}

/// An item that says who wrote it and when in its sequence.
fn item(writer: usize, i: usize) -> u64 {
    ((writer as u64) << 32) | i as u64
}

/// One thread's part of one iteration: its start, its end, and its (items, items when the
/// first writer finished). The owner of `channel` is the thread after the writers and makes no
/// appends of its own to count; its vector is its pool state.
fn append(shared: &Shared, thread: usize, owned: &mut Vec<u64>) -> (Instant, Instant, (u64, u64)) {
    let start = Instant::now();
    let mut window = Window::new(&shared.first_done);
    if thread == WRITERS {
        let total = WRITERS * shared.items;
        let mut vec = Vec::new();
        for _ in 0..total {
            match shared.rx.recv() {
                Ok(value) => vec.push(value),
                Err(_) => break,
            }
        }
        *owned = vec;
        return (start, Instant::now(), (0, 0));
    }
    let mut local = Vec::new();
    for chunk in (0..shared.items).step_by(CHUNK) {
        let end = (chunk + CHUNK).min(shared.items);
        match shared.way {
            Way::Mutex => {
                for i in chunk..end {
                    shared.vec.lock().push(item(thread, i));
                }
            }
            Way::Channel => {
                for i in chunk..end {
                    // The owner holds the receiver for the whole case; a send fails only if it
                    // panicked, which the pool reports.
                    if shared.tx.send(item(thread, i)).is_err() {
                        break;
                    }
                }
            }
            Way::Atomic => {
                for i in chunk..end {
                    let index = shared.next.fetch_add(1, Ordering::Relaxed);
                    shared.slots[index].store(item(thread, i), Ordering::Relaxed);
                }
            }
            Way::PerThread => {
                for i in chunk..end {
                    local.push(item(thread, i));
                }
            }
        }
        window.ops((end - chunk) as u64);
    }
    window.done();
    if shared.way == Way::PerThread {
        shared.vec.lock().extend_from_slice(&local);
    }
    (start, Instant::now(), window.finish())
}

/// How many items arrived in an iteration.
fn arrived(shared: &Shared, owner_len: Option<usize>) -> usize {
    match shared.way {
        Way::Mutex | Way::PerThread => shared.vec.lock().len(),
        Way::Channel => owner_len.unwrap_or(0),
        Way::Atomic => shared.next.load(Ordering::Relaxed),
    }
}

fn micro_append(c: &mut Criterion) {
    support::machine();
    let items = support::sized(1_000_000, 10_000);
    let total = WRITERS * items;
    let mut group = c.benchmark_group("micro_append");
    support::configure(&mut group, SamplingMode::Flat);
    group.throughput(Throughput::Elements(total as u64));
    for way in Way::ALL {
        let mut running: Option<Running> = None;
        group.bench_function(BenchmarkId::new(way.name(), "w4"), |b| {
            let Running {
                shared,
                pool,
                tally,
                ..
            } = running.get_or_insert_with(|| {
                let peak = support::PeakRss::start();
                let (tx, rx) = crossbeam_channel::bounded(CHANNEL_CAPACITY);
                let slots = if way == Way::Atomic {
                    (0..total).map(|_| AtomicU64::new(0)).collect()
                } else {
                    Box::default()
                };
                let shared = Arc::new(Shared {
                    way,
                    items,
                    first_done: AtomicBool::new(false),
                    vec: Mutex::new(Vec::new()),
                    slots,
                    next: AtomicUsize::new(0),
                    tx,
                    rx,
                });
                let threads = WRITERS + usize::from(way == Way::Channel);
                Running {
                    shared,
                    pool: Pool::new(threads, "lockchan-writer"),
                    tally: Tally::new(WRITERS),
                    peak,
                }
            });
            b.iter_custom(|iters| {
                let before = support::usage();
                let mut time = Duration::ZERO;
                for _ in 0..iters {
                    // Start from nothing, outside the timed part: the last iteration's vectors
                    // are freed here, not by the writers.
                    *shared.vec.lock() = Vec::new();
                    shared.next.store(0, Ordering::Relaxed);
                    shared.first_done.store(false, Ordering::Relaxed);
                    pool.run(|_, owned: &mut Vec<u64>| *owned = Vec::new());
                    let job = shared.clone();
                    let laps = pool.run(move |thread, owned: &mut Vec<u64>| {
                        let lap = append(&job, thread, owned);
                        (lap, owned.len())
                    });
                    let start = laps.iter().map(|((start, _, _), _)| *start).min();
                    let end = laps.iter().map(|((_, end, _), _)| *end).max();
                    if let (Some(start), Some(end)) = (start, end) {
                        time += end.saturating_duration_since(start);
                    }
                    let owner_len = laps.get(WRITERS).map(|(_, len)| *len);
                    let got = arrived(shared, owner_len);
                    assert_eq!(got, total, "{}: items lost", way.name());
                    tally.add_batch(laps.iter().take(WRITERS).map(|((_, _, counts), _)| *counts));
                }
                tally.add_usage(&before, &support::usage());
                time
            });
        });
        if let Some(Running {
            pool, tally, peak, ..
        }) = running
        {
            drop(pool);
            let case = support::Case {
                group: "micro_append",
                engine: way.name(),
                param: "w4",
                threads: WRITERS,
            };
            support::write_record(&tally.record(case, None, &peak));
        }
    }
    group.finish();
}

criterion_group!(benches, micro_append);
criterion_main!(benches);
