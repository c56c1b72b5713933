//! The machine's floors, measured in the same run as the engines so that their figures can be
//! read in units of what this machine does fastest (group `calibration`, parameter `x1`):
//!
//! - `uncontended_lock`: lock and unlock a `parking_lot` mutex no other thread touches;
//! - `channel_send_recv_same_thread`: one send and one receive on a `crossbeam-channel`
//!   bounded to 1, by one thread;
//! - `two_thread_handoff`: ping-pong between two threads over two channels bounded to 1,
//!   reported per one-way handoff (half a round trip);
//! - `syscall_getppid`: the cheapest system call, `getppid`.
//!
//! A full `cargo bench --bench calibration` took 7.5 s of wall time on this two-core machine
//! (`time cargo bench --bench calibration`, built tree).

#[path = "support/mod.rs"]
#[allow(
    dead_code,
    reason = "each bench uses its own part of the shared helpers"
)]
mod support;

use std::hint::black_box;
use std::time::Instant;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use parking_lot::Mutex;

fn calibration(c: &mut Criterion) {
    let mut group = c.benchmark_group("calibration");
    support::configure(&mut group, SamplingMode::Auto);
    group.throughput(Throughput::Elements(1));

    let lock = Mutex::new(0u64);
    group.bench_function(BenchmarkId::new("uncontended_lock", "x1"), |b| {
        b.iter(|| *black_box(&lock).lock() += 1);
    });

    let (tx, rx) = crossbeam_channel::bounded::<u64>(1);
    group.bench_function(
        BenchmarkId::new("channel_send_recv_same_thread", "x1"),
        |b| {
            b.iter(|| {
                // Both ends live in this frame, so neither call can fail; `ok()` keeps a failure
                // from being mistaken for a cost.
                tx.send(black_box(1)).ok();
                black_box(rx.recv().ok())
            });
        },
    );

    handoff(&mut group);

    group.bench_function(BenchmarkId::new("syscall_getppid", "x1"), |b| {
        // SAFETY: getppid takes nothing, touches no memory of ours and cannot fail.
        b.iter(|| black_box(unsafe { libc::getppid() }));
    });

    group.finish();
}

/// Two threads pass a value back and forth over two channels of capacity 1: each handoff
/// wakes the other thread, which is the least a message to an actor on another core costs.
fn handoff(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(1);
    let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(1);
    // The partner lives for the whole case and leaves when the ping channel closes.
    let partner = std::thread::Builder::new()
        .name("lockchan-partner".to_owned())
        .spawn(move || {
            while let Ok(value) = ping_rx.recv() {
                if pong_tx.send(value).is_err() {
                    break;
                }
            }
        })
        .expect("the OS refused to start the partner thread");
    group.bench_function(BenchmarkId::new("two_thread_handoff", "x1"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                let back = ping_tx.send(i).ok().and_then(|()| pong_rx.recv().ok());
                assert_eq!(back, Some(i), "the partner thread stopped");
            }
            // An iteration is a round trip, two handoffs; criterion divides by iterations, so
            // half the time makes its figure the time of one handoff.
            start.elapsed() / 2
        });
    });
    drop(ping_tx);
    // The partner cannot panic; if it did, its message is already printed.
    let _ = partner.join();
}

criterion_group!(benches, calibration);
criterion_main!(benches);
