//! What a caller thread knows and does: its crew of clients and what it has seen of them,
//! reading their outboxes (with the latency of each stamped event), the stamped `Say` and
//! `Shout` it sends, and the world ticker's clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lockchan::{ClientId, CloseReason, Command, Engine, Event, OutboxReceiver, RecvError, RoomId};
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::support::{self, now_ns};

/// How long a thread waits for events it is owed before it fails the case, so that a broken
/// engine stops the bench instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

/// A thread reading outboxes reads the clock again every this many clients: a pass over 64
/// outboxes takes a few microseconds, less than any latency worth telling apart here, while a
/// clock read per event would cost more than reading the event.
const CLOCK_EVERY: usize = 64;

/// What a caller thread knows of one of its clients, from the commands it sent and the events
/// it read.
pub(crate) struct Client {
    pub(crate) id: ClientId,
    pub(crate) rx: OutboxReceiver,
    /// The user limit it joins with.
    pub(crate) limit: u8,
    /// Its seat, as its own events last told.
    pub(crate) room: Option<RoomId>,
    /// A `Join` was sent and its `Joined` not read yet.
    pub(crate) joining: bool,
    /// The outbox was found closed.
    pub(crate) closed: bool,
    pub(crate) matched: u64,
    pub(crate) said: u64,
    pub(crate) shouted: u64,
    pub(crate) ticks: u64,
    /// The events of the counted kind this client is owed so far, in the workloads that know.
    pub(crate) owed: u64,
}

impl Client {
    pub(crate) fn new(id: ClientId, rx: OutboxReceiver, limit: u8) -> Client {
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
pub(crate) struct Seen {
    /// Operation-to-delivery latency, microseconds.
    pub(crate) latency: hdrhistogram::Histogram<u64>,
    /// `Error` events: refused commands.
    pub(crate) refusals: u64,
    /// Outboxes found closed as slow consumers.
    pub(crate) cuts: u64,
}

/// One caller thread's clients and what it has seen; it stays with its thread for the case.
pub(crate) struct Crew {
    pub(crate) clients: Vec<Client>,
    pub(crate) seen: Seen,
    pub(crate) rng: SmallRng,
    /// `mixed`: a client that left and joins again with the thread's next operation.
    pub(crate) rejoin: Option<usize>,
    /// The next client to shout, round robin.
    pub(crate) next: usize,
}

impl Crew {
    pub(crate) fn new(thread: usize) -> Crew {
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
    pub(crate) fn sweep(&mut self, ticks: &TickClock) {
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
    pub(crate) fn collect(
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

pub(crate) fn say(engine: &dyn Engine, client: ClientId, sent_ns: u64) {
    let data = stamp(sent_ns);
    engine.submit(client, Command::Say { data });
}

pub(crate) fn shout(engine: &dyn Engine, client: ClientId, sent_ns: u64) {
    let text = stamp(sent_ns);
    engine.submit(client, Command::Shout { text });
}

/// Thread `thread`'s part of `total` when it is split as evenly as possible.
pub(crate) fn share(total: usize, threads: usize, thread: usize) -> usize {
    total / threads + usize::from(thread < total % threads)
}

/// How many operations a thread makes between two reads of all its outboxes: an eighth of its
/// clients, so the cost of reading empty outboxes is about 8 per operation for every contender
/// however the clients are split (the duel's rule).
pub(crate) fn sweep_every(clients: usize) -> usize {
    (clients / 8).max(16)
}

/// Ticks of virtual time kept in [`TickClock`]: far more than are ever in flight at once.
const TICK_RING: usize = 1024;

/// The world ticker's clock. Ticks go out at virtual seconds 1, 2, 3… so that each one is due
/// (a tick period has passed), and the real time each was sent is kept by its second, so a
/// client reading `Tick { at }` knows its latency.
pub(crate) struct TickClock {
    last: AtomicU64,
    sent: Box<[AtomicU64]>,
}

impl TickClock {
    pub(crate) fn new() -> TickClock {
        TickClock {
            last: AtomicU64::new(0),
            sent: (0..TICK_RING).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Sends the next tick, recording `sent_ns` as its send time. One ticker at a time.
    pub(crate) fn tick(&self, engine: &dyn Engine, sent_ns: u64) {
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

pub(crate) fn slot(second: u64) -> usize {
    // The remainder is below TICK_RING, a usize.
    (second % TICK_RING as u64) as usize
}
