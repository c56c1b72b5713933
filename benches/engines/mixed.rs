//! The `mixed` group, a server's day: mostly says, some leaves and joins, a few shouts, one
//! tick per batch; closed loop at `t1`…`t8`, and open loop at a fixed offered load, paced
//! here.

use std::sync::atomic::Ordering;
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use lockchan::{Command, Engine};
use rand::Rng;

use crate::callers::{Crew, TickClock, say, share, shout, sweep_every};
use crate::contenders::{busy, closed_loop};
use crate::harness::{Ctx, Workload, bench_case};
use crate::seating::{LIMITS, seat};
use crate::support::{self, Window, configure, now_ns, sized};

/// `mixed`: `sets` sets of full rooms and a batch of `ops` operations: one tick (thread 0
/// first), `shouts` shouts spread over the batch, and otherwise a random client of the thread
/// leaves and joins again (`LEAVE_SHARE` of the time, two operations) or says something. With
/// `rate`, operations are paced to that many per second over all threads (open loop) and
/// stamped with the time they were due.
struct Mixed {
    sets: usize,
    ops: usize,
    shouts: usize,
    rate: Option<u64>,
}

/// The share of `mixed`'s operations that are a `Leave` (each followed by a `Join`).
const LEAVE_SHARE: f64 = 0.04;

impl Workload for Mixed {
    fn ops(&self) -> u64 {
        self.ops as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        seat(ctx, &LIMITS, self.sets).0
    }

    fn batch(&self, ctx: &Ctx, thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let engine = &*ctx.engine;
        let ops = share(self.ops, ctx.threads, thread);
        let shouts = share(self.shouts, ctx.threads, thread);
        let every = sweep_every(crew.clients.len());
        let base = ctx.base_ns.load(Ordering::Relaxed);
        if self.rate.is_some() {
            precise_sleeps();
        }
        let mut shouted = 0;
        let mut swept = now_ns();
        for i in 0..ops {
            let sent = match self.rate {
                Some(rate) => {
                    // This thread's operations interleave with the others' on one schedule.
                    let slot = (i * ctx.threads + thread) as u64;
                    let due = base + slot * 1_000_000_000 / rate;
                    pace(due, crew, &ctx.ticks, &mut swept);
                    due
                }
                None => now_ns(),
            };
            if thread == 0 && i == 0 {
                ctx.ticks.tick(engine, sent);
            } else if shouted < shouts && i >= (shouted + 1) * ops / (shouts + 1) {
                let from = crew.clients[crew.rng.random_range(0..crew.clients.len())].id;
                shout(engine, from, sent);
                shouted += 1;
            } else {
                step(engine, crew, sent);
            }
            window.ops(1);
            if (i + 1) % every == 0 {
                crew.sweep(&ctx.ticks);
                swept = now_ns();
            }
        }
        window.done();
        // Read what has arrived before the batch's closing barriers, as a server's writers
        // would; waiting for the barriers is the harness's time, not the engine's.
        crew.sweep(&ctx.ticks);
    }
}

/// One of `mixed`'s room operations for a random client of the crew.
fn step(engine: &dyn Engine, crew: &mut Crew, sent: u64) {
    if let Some(i) = crew.rejoin.take() {
        let client = &mut crew.clients[i];
        client.joining = true;
        let limit = client.limit;
        return engine.submit(client.id, Command::Join { limit });
    }
    let i = crew.rng.random_range(0..crew.clients.len());
    let leave = crew.rng.random::<f64>() < LEAVE_SHARE;
    let client = &mut crew.clients[i];
    if client.room.is_none() && !client.joining {
        // Its room timed out while open: take a seat again.
        client.joining = true;
        let limit = client.limit;
        engine.submit(client.id, Command::Join { limit });
    } else if leave && client.room.is_some() && !client.joining {
        client.room = None;
        engine.submit(client.id, Command::Leave);
        crew.rejoin = Some(i);
    } else {
        say(engine, client.id, sent);
    }
}

/// Asks the kernel to wake this thread's sleeps on time (1 ns of timer slack instead of 50 µs),
/// so that open-loop pacing does not add the slack to every operation's latency.
fn precise_sleeps() {
    // PR_SET_TIMERSLACK takes one integer argument and changes only this thread's timer
    // slack; a failure leaves the default slack, which is merely less precise.
    let slack: libc::c_ulong = 1;
    // SAFETY: prctl with PR_SET_TIMERSLACK reads no memory of ours; see above.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, slack);
    }
}

/// Open loop: the longest a thread goes without reading its outboxes while it waits for its
/// next operation, as a server's writers keep draining while its readers are idle. Without it
/// a thread would read only every few operations, which at a paced rate is milliseconds, and
/// that gap, not the engine, would be the latency.
const OPEN_SWEEP_NS: u64 = 200_000;

/// Waits until `due` (nanoseconds since the epoch), reading the crew's outboxes every
/// [`OPEN_SWEEP_NS`]; otherwise sleeping while the time is far and yielding the CPU to the
/// engine and the other callers while it is near.
fn pace(due: u64, crew: &mut Crew, ticks: &TickClock, swept: &mut u64) {
    loop {
        let now = now_ns();
        if now >= due {
            return;
        }
        let next_sweep = *swept + OPEN_SWEEP_NS;
        if now >= next_sweep {
            crew.sweep(ticks);
            *swept = now_ns();
            continue;
        }
        let wait = due.min(next_sweep) - now;
        if wait > 50_000 {
            std::thread::sleep(Duration::from_nanos(wait - 20_000));
        } else {
            std::thread::yield_now();
        }
    }
}

pub(crate) fn mixed(c: &mut Criterion) {
    let (sets, ops) = sized((104, 8192), (8, 256));
    let open_ops = sized(4096, 256);
    support::machine();
    let mut group = c.benchmark_group("mixed");
    configure(&mut group, SamplingMode::Flat);
    let work = |ops, rate| Mixed {
        sets,
        ops,
        shouts: 2,
        rate,
    };
    for case in closed_loop() {
        bench_case(
            &mut group,
            "mixed",
            case,
            &format!("t{}", case.1),
            work(ops, None),
        );
    }
    for rate in [50_000, 200_000] {
        let param = format!("open-{}k", rate / 1000);
        for case in busy() {
            bench_case(
                &mut group,
                "mixed",
                case,
                &param,
                work(open_ops, Some(rate)),
            );
        }
    }
    group.finish();
}
