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

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use lockchan::invariants::check_empty;
use lockchan::{
    ClientId, CloseReason, Command, DEFAULT_OUTBOX_CAPACITY, Engine, EngineConfig, EngineKind,
    EngineSpec, Event, Model, OutboxReceiver, OutboxSender, Player, RecvError, RoomId, Snapshot,
    outbox,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use support::{Pool, Tally, Window, configure, now_ns, sized};

/// Room sizes of the seated workloads; one room of each is a *set* of 22 clients. The rooms of
/// a limit live in shard `limit % shards`, so these four fall on four shards at 4 and
/// alternate at 2: every stripe of the lock engine and every room actor gets work.
const LIMITS: [u8; 4] = [4, 5, 6, 7];

/// Room sizes of `contention`: at least 8 members, so that each of up to 8 caller threads has
/// a member in every room to say something with.
const WIDE_LIMITS: [u8; 4] = [8, 9, 10, 11];

/// Shard counts of each engine: one big lock (or one room actor), then striped.
const SHARDS: [usize; 3] = [1, 2, 4];
/// Caller threads of the closed-loop groups: up to four times the cores.
const THREADS: [usize; 4] = [1, 2, 4, 8];

/// Caller threads of the open-loop and contention cases: more than the cores, as a server has.
const BUSY_THREADS: usize = 4;

/// How long a thread waits for events it is owed before it fails the case, so that a broken
/// engine stops the bench instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

/// A thread reading outboxes reads the clock again every this many clients: a pass over 64
/// outboxes takes a few microseconds, less than any latency worth telling apart here, while a
/// clock read per event would cost more than reading the event.
const CLOCK_EVERY: usize = 64;

/// Who is measured: the model, or an engine with its shard count.
#[derive(Clone, Copy, Debug)]
enum Contender {
    Model,
    Engine(EngineSpec),
}

impl Contender {
    /// The function id: `model`, `lock-4`, `actor-2` (a `/` would become `_` in criterion's
    /// paths).
    fn name(self) -> String {
        match self {
            Contender::Model => "model".to_owned(),
            Contender::Engine(spec) => format!("{}-{}", spec.kind, spec.shards),
        }
    }

    fn build(self, config: EngineConfig) -> Arc<dyn Engine> {
        match self {
            Contender::Model => Arc::new(SequentialModel::new(config)),
            Contender::Engine(spec) => Arc::from(spec.build(config)),
        }
    }
}

/// Every engine at every shard count.
fn engines() -> impl Iterator<Item = Contender> {
    EngineKind::all().flat_map(|kind| {
        SHARDS
            .into_iter()
            .map(move |shards| Contender::Engine(EngineSpec::new(kind, shards)))
    })
}

/// The cases of a closed-loop group: the model on one thread, then each engine on each
/// thread count.
fn closed_loop() -> Vec<(Contender, usize)> {
    let mut cases = vec![(Contender::Model, 1)];
    for engine in engines() {
        cases.extend(THREADS.map(|threads| (engine, threads)));
    }
    cases
}

/// The cases of a group at one busy thread count: the model on one thread, each engine on
/// [`BUSY_THREADS`].
fn busy() -> Vec<(Contender, usize)> {
    std::iter::once((Contender::Model, 1))
        .chain(engines().map(|engine| (engine, BUSY_THREADS)))
        .collect()
}

/// The model as an [`Engine`] for one caller thread, as the duel wraps it. The mutex is never
/// contended, so what it measures is the model's own work: the floor under both engines.
struct SequentialModel(Mutex<Model>);

impl SequentialModel {
    fn new(config: EngineConfig) -> SequentialModel {
        SequentialModel(Mutex::new(Model::new(config)))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Model) -> R) -> R {
        f(&mut support::lock(&self.0))
    }
}

impl Engine for SequentialModel {
    fn name(&self) -> String {
        "model".to_owned()
    }
    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId {
        self.with(|m| m.connect(player, outbox))
    }
    fn submit(&self, client: ClientId, command: Command) {
        self.with(|m| m.submit(client, command))
    }
    fn disconnect(&self, client: ClientId) {
        self.with(|m| m.disconnect(client))
    }
    fn tick(&self, now: Duration) {
        self.with(|m| m.tick(now))
    }
    fn snapshot(&self) -> Snapshot {
        self.with(|m| m.snapshot())
    }
    fn quiesce(&self) {}
}

/// What a caller thread knows of one of its clients, from the commands it sent and the events
/// it read.
struct Client {
    id: ClientId,
    rx: OutboxReceiver,
    /// The user limit it joins with.
    limit: u8,
    /// Its seat, as its own events last told.
    room: Option<RoomId>,
    /// A `Join` was sent and its `Joined` not read yet.
    joining: bool,
    /// The outbox was found closed.
    closed: bool,
    matched: u64,
    said: u64,
    shouted: u64,
    ticks: u64,
    /// The events of the counted kind this client is owed so far, in the workloads that know.
    owed: u64,
}

impl Client {
    fn new(id: ClientId, rx: OutboxReceiver, limit: u8) -> Client {
        Client {
            id,
            rx,
            limit,
            room: None,
            joining: false,
            closed: false,
            matched: 0,
            said: 0,
            shouted: 0,
            ticks: 0,
            owed: 0,
        }
    }

    fn close(&mut self, reason: CloseReason, seen: &mut Seen) {
        if !self.closed {
            self.closed = true;
            if reason == CloseReason::SlowConsumer {
                seen.cuts += 1;
            }
        }
    }
}

/// What a caller thread observed across the batches of a case.
struct Seen {
    /// Operation-to-delivery latency, microseconds.
    latency: hdrhistogram::Histogram<u64>,
    /// `Error` events: refused commands.
    refusals: u64,
    /// Outboxes found closed as slow consumers.
    cuts: u64,
}

/// One caller thread's clients and what it has seen; it stays with its thread for the case.
struct Crew {
    clients: Vec<Client>,
    seen: Seen,
    rng: SmallRng,
    /// `mixed`: a client that left and joins again with the thread's next operation.
    rejoin: Option<usize>,
    /// The next client to shout, round robin.
    next: usize,
}

impl Crew {
    fn new(thread: usize) -> Crew {
        Crew {
            clients: Vec::new(),
            seen: Seen {
                latency: support::latency_histogram(),
                refusals: 0,
                cuts: 0,
            },
            rng: SmallRng::seed_from_u64(0x10c4_c4a2 ^ thread as u64),
            rejoin: None,
            next: 0,
        }
    }

    /// Reads every client's outbox once, without waiting.
    fn sweep(&mut self, ticks: &TickClock) {
        let Crew { clients, seen, .. } = self;
        let mut now = now_ns();
        for (n, client) in clients.iter_mut().enumerate() {
            if n % CLOCK_EVERY == CLOCK_EVERY - 1 {
                now = now_ns();
            }
            drain(client, now, seen, ticks);
        }
    }

    /// Reads the outboxes of the clients `among` until `done` holds for each (or its outbox
    /// is closed), waiting when nothing arrives.
    fn collect(
        &mut self,
        ticks: &TickClock,
        among: impl IntoIterator<Item = usize>,
        done: impl Fn(&Client) -> bool,
        what: &str,
    ) {
        let Crew { clients, seen, .. } = self;
        let finished = |client: &Client| client.closed || done(client);
        let mut waiting: Vec<usize> = among
            .into_iter()
            .filter(|&i| !finished(&clients[i]))
            .collect();
        let deadline = Instant::now() + PATIENCE;
        while !waiting.is_empty() {
            let mut progressed = false;
            let mut now = now_ns();
            let mut read = 0;
            waiting.retain(|&i| {
                read += 1;
                if read % CLOCK_EVERY == 0 {
                    now = now_ns();
                }
                let client = &mut clients[i];
                progressed |= drain(client, now, seen, ticks);
                !finished(client)
            });
            if waiting.is_empty() || progressed {
                continue;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {} clients still waiting after {PATIENCE:?}",
                waiting.len()
            );
            // Block on one late client rather than spin: on two cores the engine's threads and
            // the other callers need the CPU this thread would burn.
            let client = &mut clients[waiting[0]];
            match client.rx.recv_timeout(Duration::from_millis(1)) {
                Ok(event) => receive(client, event, now_ns(), seen, ticks),
                Err(RecvError::Closed(reason)) => client.close(reason, seen),
                Err(RecvError::Empty) => {
                    // A closed outbox whose sender the engine still holds reads as empty.
                    if let Some(reason) = client.rx.close_reason() {
                        client.close(reason, seen);
                    }
                }
            }
        }
    }
}

impl Default for Crew {
    fn default() -> Crew {
        Crew::new(0)
    }
}

/// Reads everything queued for `client` now; true if there was anything.
fn drain(client: &mut Client, now: u64, seen: &mut Seen, ticks: &TickClock) -> bool {
    let mut any = false;
    loop {
        match client.rx.try_recv() {
            Ok(event) => {
                any = true;
                receive(client, event, now, seen, ticks);
            }
            Err(RecvError::Empty) => return any,
            Err(RecvError::Closed(reason)) => {
                client.close(reason, seen);
                return any;
            }
        }
    }
}

/// Applies one event to what the thread knows of its client, and records the latency of the
/// events that carry their send time.
fn receive(client: &mut Client, event: Event, now: u64, seen: &mut Seen, ticks: &TickClock) {
    let sent = match event {
        Event::Said { data, .. } => {
            client.said += 1;
            data.parse::<u64>().ok()
        }
        Event::Shouted { text, .. } => {
            client.shouted += 1;
            text.parse::<u64>().ok()
        }
        Event::Tick { at } => {
            client.ticks += 1;
            Some(ticks.sent_ns(at))
        }
        Event::Joined { room, .. } => {
            client.room = Some(room);
            client.joining = false;
            None
        }
        Event::Matched { .. } => {
            client.matched += 1;
            None
        }
        Event::Left { room } | Event::MatchTimeout { room } => {
            if client.room == Some(room) {
                client.room = None;
            }
            None
        }
        Event::Error { .. } => {
            seen.refusals += 1;
            None
        }
        Event::MemberJoined { .. } | Event::MemberLeft { .. } => None,
    };
    if let Some(sent) = sent {
        seen.latency
            .saturating_record(now.saturating_sub(sent) / 1_000);
    }
}

/// A payload carrying its send time, in nanoseconds since the epoch, as decimal digits: one
/// allocation, like a relayed message's.
fn stamp(ns: u64) -> Arc<str> {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = ns;
    loop {
        at -= 1;
        // The remainder is a single digit.
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    Arc::from(std::str::from_utf8(&digits[at..]).unwrap_or("0"))
}

fn say(engine: &dyn Engine, client: ClientId, sent_ns: u64) {
    let data = stamp(sent_ns);
    engine.submit(client, Command::Say { data });
}

fn shout(engine: &dyn Engine, client: ClientId, sent_ns: u64) {
    let text = stamp(sent_ns);
    engine.submit(client, Command::Shout { text });
}

/// Thread `thread`'s part of `total` when it is split as evenly as possible.
fn share(total: usize, threads: usize, thread: usize) -> usize {
    total / threads + usize::from(thread < total % threads)
}

/// How many operations a thread makes between two reads of all its outboxes: an eighth of its
/// clients, so the cost of reading empty outboxes is about 8 per operation for every contender
/// however the clients are split (the duel's rule).
fn sweep_every(clients: usize) -> usize {
    (clients / 8).max(16)
}

/// Ticks of virtual time kept in [`TickClock`]: far more than are ever in flight at once.
const TICK_RING: usize = 1024;

/// The world ticker's clock. Ticks go out at virtual seconds 1, 2, 3… so that each one is due
/// (a tick period has passed), and the real time each was sent is kept by its second, so a
/// client reading `Tick { at }` knows its latency.
struct TickClock {
    last: AtomicU64,
    sent: Box<[AtomicU64]>,
}

impl TickClock {
    fn new() -> TickClock {
        TickClock {
            last: AtomicU64::new(0),
            sent: (0..TICK_RING).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Sends the next tick, recording `sent_ns` as its send time. One ticker at a time.
    fn tick(&self, engine: &dyn Engine, sent_ns: u64) {
        // Relaxed throughout: only one thread ticks at a time, and a reader learns of a tick
        // only through its outbox, whose channel orders this store before the read.
        let second = self.last.fetch_add(1, Ordering::Relaxed) + 1;
        self.sent[slot(second)].store(sent_ns, Ordering::Relaxed);
        engine.tick(Duration::from_secs(second));
    }

    fn sent_ns(&self, at: Duration) -> u64 {
        self.sent[slot(at.as_secs())].load(Ordering::Relaxed)
    }
}

fn slot(second: u64) -> usize {
    // The remainder is below TICK_RING, a usize.
    (second % TICK_RING as u64) as usize
}

/// What a case's caller threads share.
struct Ctx {
    engine: Arc<dyn Engine>,
    threads: usize,
    ticks: TickClock,
    /// Raised by the first thread to make its last operation of a batch (see [`Window`]).
    first_done: AtomicBool,
    /// Open loop: when the batch's schedule starts, in nanoseconds since the epoch. Written
    /// before the pool's barrier releases the batch, which orders it before every read.
    base_ns: AtomicU64,
}

/// A workload: how its clients are set up, and what one thread does in one batch.
trait Workload: Send + Sync + 'static {
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

/// Connects `clients` clients, dealt to the threads round robin.
fn connect_all(ctx: &Ctx, clients: usize) -> Vec<Crew> {
    let mut crews: Vec<Crew> = (0..ctx.threads).map(Crew::new).collect();
    for k in 0..clients {
        let (tx, rx) = outbox(DEFAULT_OUTBOX_CAPACITY);
        let id = ctx
            .engine
            .connect(Player::new(format!("p{k}"), "bench"), tx);
        crews[k % ctx.threads].clients.push(Client::new(id, rx, 0));
    }
    ctx.engine.quiesce();
    crews
}

/// A room's members, as (thread, index in that thread's crew).
type Members = Vec<(usize, usize)>;

/// Connects `sets` sets of clients (one room's worth for each of `limits`) and seats them,
/// dealing the joiners to the threads round robin so that a room's members belong to as many
/// threads as it has seats, up to all of them. Joins are made one at a time, so room `n` of
/// the result is exactly the `n`th group of joiners. Returns once every room has matched.
fn seat(ctx: &Ctx, limits: &[u8], sets: usize) -> (Vec<Crew>, Vec<Members>) {
    let engine = &*ctx.engine;
    let mut crews: Vec<Crew> = (0..ctx.threads).map(Crew::new).collect();
    let mut rooms = Vec::with_capacity(sets * limits.len());
    let mut k = 0;
    for _ in 0..sets {
        for &limit in limits {
            let mut members = Vec::with_capacity(usize::from(limit));
            for _ in 0..limit {
                let thread = k % ctx.threads;
                k += 1;
                let (tx, rx) = outbox(DEFAULT_OUTBOX_CAPACITY);
                let id = engine.connect(Player::new(format!("p{k}"), "bench"), tx);
                engine.submit(id, Command::Join { limit });
                let mut client = Client::new(id, rx, limit);
                client.joining = true;
                members.push((thread, crews[thread].clients.len()));
                crews[thread].clients.push(client);
            }
            rooms.push(members);
        }
    }
    engine.quiesce();
    for crew in &mut crews {
        let all = 0..crew.clients.len();
        crew.collect(&ctx.ticks, all, |c| c.matched >= 1, "setup: Matched");
    }
    (crews, rooms)
}

/// `churn`: each thread's share of `waves` waves; a wave connects one room's worth of clients
/// for each limit, joins them, waits until each has `Matched`, has each say `says` times,
/// reads, and disconnects them all. Rooms mix the waves of all threads, as they mix strangers.
struct Churn {
    waves: usize,
    says: usize,
}

fn set_size(limits: &[u8]) -> usize {
    limits.iter().map(|&l| usize::from(l)).sum()
}

impl Workload for Churn {
    fn ops(&self) -> u64 {
        // Per client: connect, join, its says, disconnect.
        (self.waves * set_size(&LIMITS) * (3 + self.says)) as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        (0..ctx.threads).map(Crew::new).collect()
    }

    fn batch(&self, ctx: &Ctx, thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let engine = &*ctx.engine;
        let waves = share(self.waves, ctx.threads, thread);
        for wave in 0..waves {
            for &limit in &LIMITS {
                for _ in 0..limit {
                    let (tx, rx) = outbox(DEFAULT_OUTBOX_CAPACITY);
                    let id = engine.connect(Player::new("churn", "bench"), tx);
                    crew.clients.push(Client::new(id, rx, limit));
                    window.ops(1);
                }
            }
            for client in &mut crew.clients {
                client.joining = true;
                let limit = client.limit;
                engine.submit(client.id, Command::Join { limit });
                window.ops(1);
            }
            let all = 0..crew.clients.len();
            crew.collect(&ctx.ticks, all, |c| c.matched >= 1, "churn: Matched");
            for _ in 0..self.says {
                for client in &crew.clients {
                    say(engine, client.id, now_ns());
                    window.ops(1);
                }
            }
            crew.sweep(&ctx.ticks);
            for client in &crew.clients {
                engine.disconnect(client.id);
                window.ops(1);
            }
            if wave + 1 == waves {
                window.done();
            }
            crew.clients.clear();
        }
    }
}

/// `room_chat`: `sets` sets of full rooms; each batch every client says `says` times, and each
/// thread waits until its clients have heard every word of their roommates.
struct RoomChat {
    sets: usize,
    says: usize,
    /// Units of simulated game logic per `Say` done by the engine while it holds the room
    /// (`inside`) or by the caller before it submits (`outside`): the `critical_section` dial.
    inside: u32,
    outside: u32,
}

impl Workload for RoomChat {
    fn ops(&self) -> u64 {
        (self.sets * set_size(&LIMITS) * self.says) as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        seat(ctx, &LIMITS, self.sets).0
    }

    fn batch(&self, ctx: &Ctx, _thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let engine = &*ctx.engine;
        let clients = crew.clients.len();
        let every = sweep_every(clients);
        let mut made = 0;
        for _ in 0..self.says {
            for i in 0..clients {
                lockchan::work::burn(self.outside);
                say(engine, crew.clients[i].id, now_ns());
                window.ops(1);
                made += 1;
                if made % every == 0 {
                    crew.sweep(&ctx.ticks);
                }
            }
        }
        window.done();
        for client in &mut crew.clients {
            client.owed += (self.says * usize::from(client.limit - 1)) as u64;
        }
        crew.collect(
            &ctx.ticks,
            0..clients,
            |c| c.said >= c.owed,
            "room_chat: Said",
        );
    }

    fn config(&self) -> EngineConfig {
        EngineConfig {
            say_work: self.inside,
            ..EngineConfig::default()
        }
    }
}

/// `shout_fanout_*`: `clients` connected clients; a batch is `shouts` shouts in rounds of one
/// per thread, each thread reading until its clients have heard every shout of the round. A
/// thread is at most one round ahead of the slowest, so no outbox holds more than two rounds.
struct Fanout {
    clients: usize,
    shouts: usize,
}

impl Workload for Fanout {
    fn ops(&self) -> u64 {
        self.shouts as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        assert_eq!(self.shouts % ctx.threads, 0, "shouts split evenly");
        connect_all(ctx, self.clients)
    }

    fn batch(&self, ctx: &Ctx, _thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let rounds = self.shouts / ctx.threads;
        let clients = crew.clients.len();
        for round in 0..rounds {
            let from = crew.clients[crew.next % clients].id;
            crew.next += 1;
            shout(&*ctx.engine, from, now_ns());
            window.ops(1);
            if round + 1 == rounds {
                window.done();
            }
            for client in &mut crew.clients {
                client.owed += ctx.threads as u64;
            }
            crew.collect(
                &ctx.ticks,
                0..clients,
                |c| c.shouted >= c.owed,
                "fanout: Shouted",
            );
        }
    }
}

/// `tick_all`: `clients` connected clients; thread 0 is the world ticker and sends `ticks`
/// ticks, each after its own clients heard the previous one; every thread reads its clients'
/// ticks. The other threads make no operations, so the fairness record shows one ticker.
struct TickAll {
    clients: usize,
    ticks: usize,
}

impl Workload for TickAll {
    fn ops(&self) -> u64 {
        self.ticks as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        connect_all(ctx, self.clients)
    }

    fn batch(&self, ctx: &Ctx, thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let clients = crew.clients.len();
        for _ in 0..self.ticks {
            if thread == 0 {
                ctx.ticks.tick(&*ctx.engine, now_ns());
                window.ops(1);
            }
            for client in &mut crew.clients {
                client.owed += 1;
            }
            crew.collect(
                &ctx.ticks,
                0..clients,
                |c| c.ticks >= c.owed,
                "tick_all: Tick",
            );
        }
        window.done();
    }
}

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

/// How skewed `contention`'s says are.
#[derive(Clone, Copy, Debug)]
enum Hot {
    /// The hottest room gets this share of all says, the rest fall off as a Zipf law (1.0:
    /// every say goes to one room).
    Share(f64),
    /// Every room is as likely.
    Uniform,
}

impl Hot {
    fn label(self) -> String {
        match self {
            Hot::Share(share) => format!("hot{}", (share * 100.0).round()),
            Hot::Uniform => "uniform".to_owned(),
        }
    }
}

/// The cumulative distribution of room ranks `0..rooms` under `hot`.
fn zipf_cdf(rooms: usize, hot: Hot) -> Vec<f64> {
    let exponent = match hot {
        Hot::Share(share) if share >= 1.0 => return vec![1.0; rooms],
        Hot::Share(share) => zipf_exponent(rooms, share),
        Hot::Uniform => 0.0,
    };
    let weights: Vec<f64> = (1..=rooms).map(|k| (k as f64).powf(-exponent)).collect();
    let total: f64 = weights.iter().sum();
    let mut sum = 0.0;
    weights
        .iter()
        .map(|w| {
            sum += w / total;
            sum
        })
        .collect()
}

/// The Zipf exponent under which the first of `rooms` ranks has `share` of the mass, found by
/// bisection: that share, 1 / Σ k^-s, rises with s from 1/rooms at s = 0.
fn zipf_exponent(rooms: usize, share: f64) -> f64 {
    let top = |s: f64| 1.0 / (1..=rooms).map(|k| (k as f64).powf(-s)).sum::<f64>();
    if share <= top(0.0) {
        return 0.0;
    }
    let (mut low, mut high) = (0.0, 64.0);
    for _ in 0..60 {
        let mid = (low + high) / 2.0;
        if top(mid) < share {
            low = mid;
        } else {
            high = mid;
        }
    }
    (low + high) / 2.0
}

/// A room rank drawn from `cdf`.
fn sample(cdf: &[f64], rng: &mut SmallRng) -> usize {
    let u: f64 = rng.random();
    cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
}

/// `contention`: `sets` sets of full rooms of [`WIDE_LIMITS`] (rank order alternates limits,
/// so neighbouring ranks live in different shards). A batch is `rounds` rounds of
/// [`CONTENTION_ROUND`] says shared by the threads; each say goes to a room drawn from the
/// Zipf law of `hot` and is made by a member that the thread owns. The plan is drawn once,
/// so each thread knows what its clients are owed each round and waits for exactly that: no
/// thread gets more than a round ahead, and a hot room's members hold at most two rounds.
struct Contention {
    hot: Hot,
    sets: usize,
    rounds: usize,
    /// `plan[thread][round]`.
    plan: Vec<Vec<Round>>,
}

/// Says per round, all threads together: with the one-round lead, at most 128 events wait in
/// a hot room member's outbox of 256.
const CONTENTION_ROUND: usize = 64;

#[derive(Default)]
struct Round {
    /// The thread's clients that say something, in order.
    says: Vec<usize>,
    /// How many `Said` each of the thread's clients hears this round.
    owed: Vec<(usize, u64)>,
}

impl Workload for Contention {
    fn ops(&self) -> u64 {
        (self.rounds * CONTENTION_ROUND) as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        let threads = ctx.threads;
        assert_eq!(CONTENTION_ROUND % threads, 0, "a round splits evenly");
        let (crews, rooms) = seat(ctx, &WIDE_LIMITS, self.sets);
        let cdf = zipf_cdf(rooms.len(), self.hot);
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        self.plan = (0..threads).map(|_| Vec::new()).collect();
        for _ in 0..self.rounds {
            let mut owed: Vec<BTreeMap<usize, u64>> = vec![BTreeMap::new(); threads];
            for (thread, plan) in self.plan.iter_mut().enumerate() {
                let mut round = Round::default();
                for _ in 0..CONTENTION_ROUND / threads {
                    let members = &rooms[sample(&cdf, &mut rng)];
                    let mine: Vec<usize> = members
                        .iter()
                        .filter(|&&(owner, _)| owner == thread)
                        .map(|&(_, index)| index)
                        .collect();
                    assert!(!mine.is_empty(), "every thread has a member in every room");
                    let sayer = mine[rng.random_range(0..mine.len())];
                    round.says.push(sayer);
                    for &(owner, index) in members {
                        if (owner, index) != (thread, sayer) {
                            *owed[owner].entry(index).or_default() += 1;
                        }
                    }
                }
                plan.push(round);
            }
            for (plan, owed) in self.plan.iter_mut().zip(owed) {
                if let Some(round) = plan.last_mut() {
                    round.owed = owed.into_iter().collect();
                }
            }
        }
        crews
    }

    fn batch(&self, ctx: &Ctx, thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let engine = &*ctx.engine;
        let rounds = &self.plan[thread];
        for (n, round) in rounds.iter().enumerate() {
            for &i in &round.says {
                say(engine, crew.clients[i].id, now_ns());
                window.ops(1);
            }
            if n + 1 == rounds.len() {
                window.done();
            }
            for &(i, heard) in &round.owed {
                crew.clients[i].owed += heard;
            }
            let listeners = round.owed.iter().map(|&(i, _)| i);
            crew.collect(
                &ctx.ticks,
                listeners,
                |c| c.said >= c.owed,
                "contention: Said",
            );
        }
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
fn bench_case<W: Workload>(
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
fn closed_group<W: Workload>(c: &mut Criterion, name: &str, make: impl Fn() -> W) {
    support::machine();
    let mut group = c.benchmark_group(name);
    configure(&mut group, SamplingMode::Flat);
    for case in closed_loop() {
        bench_case(&mut group, name, case, &format!("t{}", case.1), make());
    }
    group.finish();
}

fn churn(c: &mut Criterion) {
    let waves = sized(48, 8);
    closed_group(c, "churn", || Churn { waves, says: 2 });
}

fn room_chat(c: &mut Criterion) {
    let (sets, says) = sized((104, 4), (8, 1));
    closed_group(c, "room_chat", || RoomChat {
        sets,
        says,
        inside: 0,
        outside: 0,
    });
}

/// `critical_section`: `room_chat` at 4 threads with the same simulated game logic per `Say`
/// either inside the engine's critical section (under the room's lock, on the room's actor) or
/// outside it (by the caller, before it submits): `in-200`, `out-200`, `in-2000`, `out-2000`
/// units of about a nanosecond each.
fn critical_section(c: &mut Criterion) {
    let (sets, says) = sized((52, 2), (8, 1));
    support::machine();
    let mut group = c.benchmark_group("critical_section");
    configure(&mut group, SamplingMode::Flat);
    for units in [200, 2000] {
        for (place, inside, outside) in [("in", units, 0), ("out", 0, units)] {
            for case in busy() {
                let param = format!("{place}-{units}-t{}", case.1);
                let work = RoomChat {
                    sets,
                    says,
                    inside,
                    outside,
                };
                bench_case(&mut group, "critical_section", case, &param, work);
            }
        }
    }
    group.finish();
}

fn shout_fanout(c: &mut Criterion) {
    let shouts = sized(128, 8);
    closed_group(c, "shout_fanout_1k", || Fanout {
        clients: 1_000,
        shouts,
    });
    let shouts = sized(16, 8);
    closed_group(c, "shout_fanout_10k", || Fanout {
        clients: 10_000,
        shouts,
    });
}

fn tick_all(c: &mut Criterion) {
    let (clients, ticks) = sized((10_000, 16), (1_000, 2));
    closed_group(c, "tick_all", || TickAll { clients, ticks });
}

fn mixed(c: &mut Criterion) {
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

fn contention(c: &mut Criterion) {
    let (sets, rounds) = sized((256, 64), (32, 2));
    support::machine();
    let mut group = c.benchmark_group("contention");
    configure(&mut group, SamplingMode::Flat);
    let dial = [
        Hot::Share(1.0),
        Hot::Share(0.25),
        Hot::Share(0.05),
        Hot::Share(0.01),
        Hot::Uniform,
    ];
    for hot in dial {
        for case in busy() {
            let param = format!("{}-t{}", hot.label(), case.1);
            let work = Contention {
                hot,
                sets,
                rounds,
                plan: Vec::new(),
            };
            bench_case(&mut group, "contention", case, &param, work);
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    churn,
    room_chat,
    shout_fanout,
    tick_all,
    mixed,
    contention,
    critical_section
);
criterion_main!(benches);
