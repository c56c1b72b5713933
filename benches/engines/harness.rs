//! How a case runs: the context its caller threads share, the [`Workload`] contract each
//! group implements, and [`Running`], which sets a case up before criterion measures
//! anything, times its batches and writes its record; [`bench_case`] and [`closed_group`]
//! hand cases to criterion under their ids.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use lockchan::invariants::check_empty;
use lockchan::{CloseReason, Engine, EngineConfig};

use crate::callers::{Crew, TickClock};
use crate::contenders::{Contender, closed_loop};
use crate::support::{self, Pool, Tally, Window, configure, now_ns};

/// What a case's caller threads share.
pub(crate) struct Ctx {
    pub(crate) engine: Arc<dyn Engine>,
    pub(crate) threads: usize,
    pub(crate) ticks: TickClock,
    /// Raised by the first thread to make its last operation of a batch (see [`Window`]).
    pub(crate) first_done: AtomicBool,
    /// Open loop: when the batch's schedule starts, in nanoseconds since the epoch. Written
    /// before the pool's barrier releases the batch, which orders it before every read.
    pub(crate) base_ns: AtomicU64,
}

/// A workload: how its clients are set up, and what one thread does in one batch.
pub(crate) trait Workload: Send + Sync + 'static {
    /// Operations in one batch, all threads together: criterion's elements.
    fn ops(&self) -> u64;

    /// Connects (and seats) the clients from the main thread, before anything is measured,
    /// and deals them to the caller threads.
    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew>;

    /// One thread's part of one batch. Calls `window.done()` after its last operation.
    fn batch(&self, ctx: &Ctx, thread: usize, crew: &mut Crew, window: &mut Window<'_>);

    /// The engine this workload runs on: the defaults unless it dials something.
    fn config(&self) -> EngineConfig {
        EngineConfig::default()
    }
}

/// One case from its first measurement to its record: the engine, the caller threads with
/// their crews, and the totals.
struct Running<W: Workload> {
    ctx: Arc<Ctx>,
    work: Arc<W>,
    pool: Pool<Crew>,
    tally: Tally,
    peak: support::PeakRss,
}

impl<W: Workload> Running<W> {
    fn start(contender: Contender, threads: usize, mut work: W) -> Running<W> {
        let peak = support::PeakRss::start();
        let ctx = Arc::new(Ctx {
            engine: contender.build(work.config()),
            threads,
            ticks: TickClock::new(),
            first_done: AtomicBool::new(false),
            base_ns: AtomicU64::new(0),
        });
        let crews = work.prepare(&ctx);
        let pool = Pool::new(threads, "lockchan-caller");
        let dealt: Arc<Mutex<Vec<Option<Crew>>>> =
            Arc::new(Mutex::new(crews.into_iter().map(Some).collect()));
        pool.run(move |thread, crew: &mut Crew| {
            *crew = support::lock(&dealt)[thread]
                .take()
                .expect("one crew per thread");
        });
        Running {
            ctx,
            work: Arc::new(work),
            pool,
            tally: Tally::new(threads),
            peak,
        }
    }

    /// Runs `iters` batches and returns their summed time, each from its first thread's
    /// start to its last thread's end.
    fn measure(&mut self, iters: u64) -> Duration {
        let before = support::usage();
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            self.ctx.first_done.store(false, Ordering::Relaxed);
            self.ctx.base_ns.store(now_ns(), Ordering::Relaxed);
            let (ctx, work) = (self.ctx.clone(), self.work.clone());
            let laps = self.pool.run(move |thread, crew: &mut Crew| {
                let start = Instant::now();
                let mut window = Window::new(&ctx.first_done);
                work.batch(&ctx, thread, crew, &mut window);
                (start, window.finish())
            });
            // Work an actor accepted but has not done yet belongs to this batch.
            self.ctx.engine.quiesce();
            let ctx = self.ctx.clone();
            let ends = self.pool.run(move |_, crew: &mut Crew| {
                crew.sweep(&ctx.ticks);
                Instant::now()
            });
            let start = laps.iter().map(|&(start, _)| start).min();
            let end = ends.into_iter().max();
            if let (Some(start), Some(end)) = (start, end) {
                total += end.saturating_duration_since(start);
            }
            self.tally
                .add_batch(laps.into_iter().map(|(_, counts)| counts));
        }
        self.tally.add_usage(&before, &support::usage());
        total
    }

    /// Disconnects everyone, checks that no client was cut off and nothing was left behind,
    /// and writes the case's record.
    fn finish(self, case: support::Case<'_>) {
        let Running {
            ctx,
            pool,
            tally,
            peak,
            ..
        } = self;
        let crews = pool.run(|_, crew: &mut Crew| std::mem::take(crew));
        drop(pool);
        let engine = &*ctx.engine;
        for crew in &crews {
            for client in crew.clients.iter().filter(|c| !c.closed) {
                engine.disconnect(client.id);
            }
        }
        engine.quiesce();
        let mut latency = support::latency_histogram();
        let (mut cuts, mut refusals) = (0, 0);
        for mut crew in crews {
            crew.sweep(&ctx.ticks);
            let closed_slow = crew
                .clients
                .iter()
                .filter(|c| c.rx.close_reason() == Some(CloseReason::SlowConsumer))
                .count();
            cuts += crew.seen.cuts.max(closed_slow as u64);
            refusals += crew.seen.refusals;
            latency
                .add(&crew.seen.latency)
                .expect("same-shaped histograms add");
        }
        let snapshot = engine.snapshot();
        let id = format!("{}/{}/{}", case.group, case.engine, case.param);
        assert!(
            cuts == 0 && snapshot.counters.slow_consumer_cuts == 0,
            "{id}: clients were cut off as slow consumers ({} by the engine's count): the \
             workload let an outbox fill",
            snapshot.counters.slow_consumer_cuts
        );
        let broken = check_empty(&snapshot);
        assert!(broken.is_empty(), "{id}: left behind: {broken:?}");
        if refusals > 0 {
            eprintln!("{id}: {refusals} commands refused (a room timed out under a client)");
        }
        let mut record = tally.record(case, Some(&latency), &peak);
        record.peak_queue_depth = engine.peak_queue_depth();
        support::write_record(&record);
    }
}

/// Measures one case, setting it up only if criterion's filter selects it.
pub(crate) fn bench_case<W: Workload>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    (contender, threads): (Contender, usize),
    param: &str,
    work: W,
) {
    let engine = contender.name();
    group.throughput(Throughput::Elements(work.ops()));
    let mut work = Some(work);
    let mut running: Option<Running<W>> = None;
    group.bench_function(BenchmarkId::new(&engine, param), |b| {
        let running = running.get_or_insert_with(|| {
            let work = work.take().expect("a case is set up once");
            Running::start(contender, threads, work)
        });
        b.iter_custom(|iters| running.measure(iters));
    });
    if let Some(running) = running {
        let case = support::Case {
            group: name,
            engine: &engine,
            param,
            threads,
        };
        running.finish(case);
    }
}

/// A closed-loop group: every contender at every thread count, on a fresh workload each.
pub(crate) fn closed_group<W: Workload>(c: &mut Criterion, name: &str, make: impl Fn() -> W) {
    support::machine();
    let mut group = c.benchmark_group(name);
    configure(&mut group, SamplingMode::Flat);
    for case in closed_loop() {
        bench_case(&mut group, name, case, &format!("t{}", case.1), make());
    }
    group.finish();
}
