//! The duel's workload, run by each caller thread on its share of the clients: rounds of
//! join → matched, says in full rooms, shouts to the world, a tick, leave; then disconnect.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

use super::DuelConfig;
use crate::domain::command::Command;
use crate::domain::event::Event;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::{OutboxReceiver, outbox};
use crate::engines::engine::Engine;
use crate::invariants::StreamCheck;

/// How long a thread waits for events it is owed before it calls them lost and moves on, so
/// a broken engine fails the duel instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

/// While submitting, a thread reads all its outboxes once per this many commands per client it
/// drives (at least 16), as a server's writers drain while its readers submit. Scaling the gap
/// with the thread's clients keeps the cost of reading empty outboxes at about 8 per command
/// for every contender, however many clients each thread has; latency figures include up to
/// one such gap, so they compare contenders under the same harness, not absolute times.
const SWEEPS_PER_CLIENT_PASS: usize = 8;

/// What one caller thread measured.
pub(super) struct ThreadResult {
    pub(super) ops: u64,
    pub(super) events: u64,
    /// Operation-to-delivery latency in microseconds: `Join` to its `Joined`, `Say` to each
    /// `Said`, `Shout` to each `Shouted`.
    pub(super) latency: Histogram<u64>,
    pub(super) broken: Vec<String>,
}

/// A step of a round, named by the events that end it.
#[derive(Clone, Copy, Debug)]
enum Phase {
    Matched,
    Said,
    Shouted,
    Left,
}

struct Client {
    id: ClientId,
    rx: OutboxReceiver,
    check: StreamCheck,
    joined_at: Option<Instant>,
    /// Events of the current phase this client is still waiting for.
    owed: usize,
}

/// Everything a caller thread shares with the others.
pub(super) struct Shared<'a> {
    pub(super) engine: &'a dyn Engine,
    pub(super) config: &'a DuelConfig,
    pub(super) barrier: &'a Barrier,
    pub(super) start: Instant,
    pub(super) threads: usize,
}

pub(super) fn run_thread(shared: &Shared<'_>, thread: usize) -> ThreadResult {
    let config = shared.config;
    let engine = shared.engine;
    let mut rng = SmallRng::seed_from_u64(config.seed ^ (thread as u64) << 32);
    let mine =
        config.clients / shared.threads + usize::from(thread < config.clients % shared.threads);
    let mut result = ThreadResult {
        ops: 0,
        events: 0,
        latency: super::latency_histogram(),
        broken: Vec::new(),
    };
    let mut clients: Vec<Client> = (0..mine)
        .map(|n| {
            let (tx, rx) = outbox(config.outbox_capacity);
            let id = engine.connect(Player::new(format!("t{thread}-{n}"), format!("n{n}")), tx);
            Client {
                id,
                rx,
                check: StreamCheck::new(id),
                joined_at: None,
                owed: 0,
            }
        })
        .collect();
    result.ops += mine as u64;
    // The round's shouts are split over the threads; which clients shout is the seed's choice.
    let my_shouts = share(config.shouts, shared.threads, thread);
    let limit = config.room_size;
    let sweep_every = (clients.len() / SWEEPS_PER_CLIENT_PASS).max(16);
    let mut seq = 0u64;
    let stamp = |seq: &mut u64| {
        *seq += 1;
        let nanos = shared.start.elapsed().as_nanos();
        format!("{seq}:{nanos}")
    };
    for round in 0..config.rounds {
        clients.shuffle(&mut rng);
        shared.barrier.wait();
        if thread == 0 {
            engine.tick(Duration::from_secs(round as u64 + 1));
            result.ops += 1;
        }
        // Join until matched: every client owes itself a `Matched`.
        shared.barrier.wait();
        for client in &mut clients {
            client.owed = 1;
        }
        for i in 0..clients.len() {
            clients[i].joined_at = Some(Instant::now());
            engine.submit(clients[i].id, Command::Join { limit });
            if i % sweep_every == sweep_every - 1 {
                sweep(&mut clients, Phase::Matched, shared.start, &mut result);
            }
        }
        result.ops += clients.len() as u64;
        collect(&mut clients, shared, &mut result, Phase::Matched);
        // Say in full rooms: each client hears every other member's says.
        shared.barrier.wait();
        for client in &mut clients {
            client.owed = (usize::from(limit) - 1) * config.says;
        }
        for _ in 0..config.says {
            for i in 0..clients.len() {
                let data = stamp(&mut seq).into();
                engine.submit(clients[i].id, Command::Say { data });
                if i % sweep_every == sweep_every - 1 {
                    sweep(&mut clients, Phase::Said, shared.start, &mut result);
                }
            }
        }
        result.ops += (clients.len() * config.says) as u64;
        collect(&mut clients, shared, &mut result, Phase::Said);
        // Shout: everyone hears every shout.
        shared.barrier.wait();
        for client in &mut clients {
            client.owed = config.shouts;
        }
        for client in clients.iter().cycle().take(my_shouts) {
            engine.submit(
                client.id,
                Command::Shout {
                    text: stamp(&mut seq).into(),
                },
            );
        }
        result.ops += my_shouts as u64;
        collect(&mut clients, shared, &mut result, Phase::Shouted);
        // Leave: each client owes itself a `Left`.
        shared.barrier.wait();
        for client in &mut clients {
            client.owed = 1;
            engine.submit(client.id, Command::Leave);
        }
        result.ops += clients.len() as u64;
        collect(&mut clients, shared, &mut result, Phase::Left);
    }
    shared.barrier.wait();
    for client in &clients {
        engine.disconnect(client.id);
    }
    result.ops += clients.len() as u64;
    engine.quiesce();
    for mut client in clients {
        client.check.read_to_end(&client.rx);
        result.broken.append(&mut client.check.broken);
    }
    result
}

/// Thread `thread`'s part of `total` when it is split as evenly as possible.
fn share(total: usize, threads: usize, thread: usize) -> usize {
    total / threads + usize::from(thread < total % threads)
}

/// Reads every client's outbox once, without waiting.
fn sweep(clients: &mut [Client], phase: Phase, start: Instant, result: &mut ThreadResult) {
    for client in clients {
        while let Ok(event) = client.rx.try_recv() {
            receive(client, &event, phase, start, result);
        }
    }
}

/// Reads the clients' outboxes until each has received what it is owed in this phase.
fn collect(clients: &mut [Client], shared: &Shared<'_>, result: &mut ThreadResult, phase: Phase) {
    let deadline = Instant::now() + PATIENCE;
    let mut waiting: Vec<usize> = (0..clients.len())
        .filter(|&i| clients[i].owed > 0)
        .collect();
    while !waiting.is_empty() {
        let mut progressed = false;
        waiting.retain(|&i| {
            let client = &mut clients[i];
            while let Ok(event) = client.rx.try_recv() {
                progressed = true;
                receive(client, &event, phase, shared.start, result);
            }
            client.owed > 0
        });
        if waiting.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let lost = waiting.len();
            result
                .broken
                .push(format!("{lost} clients never got their {phase:?} events"));
            break;
        }
        if !progressed {
            // Block on one late client rather than spin: the engine's threads need the CPU.
            let client = &mut clients[waiting[0]];
            if let Ok(event) = client.rx.recv_timeout(Duration::from_millis(1)) {
                receive(client, &event, phase, shared.start, result);
            }
        }
    }
}

fn receive(
    client: &mut Client,
    event: &Event,
    phase: Phase,
    start: Instant,
    result: &mut ThreadResult,
) {
    client.check.observe(event);
    result.events += 1;
    let now = start.elapsed();
    let sent = match event {
        Event::Joined { .. } => client.joined_at.map(|at| at - start),
        Event::Said { data: payload, .. } | Event::Shouted { text: payload, .. } => payload
            .split(':')
            .nth(1)
            .and_then(|nanos| nanos.parse::<u64>().ok())
            .map(Duration::from_nanos),
        _ => None,
    };
    if let Some(sent) = sent {
        let micros = now.saturating_sub(sent).as_micros();
        result
            .latency
            .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
    }
    let settles = match phase {
        Phase::Matched => matches!(event, Event::Matched { .. }),
        Phase::Said => matches!(event, Event::Said { .. }),
        Phase::Shouted => matches!(event, Event::Shouted { .. }),
        Phase::Left => matches!(event, Event::Left { .. }),
    };
    if settles {
        client.owed = client.owed.saturating_sub(1);
    }
}
