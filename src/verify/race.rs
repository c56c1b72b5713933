//! The race check: many caller threads on one engine at once, some of them commanding the same
//! clients, with a ticker taking snapshots; then every stream rule, snapshot consistency and an
//! empty engine after every client disconnects.
//!
//! Each thread's first clients stop reading: their outboxes hold [`STOPPED_READER_OUTBOX`]
//! events and are never drained, and each shouts one more time than that at the start, so
//! every broadcast, relay and tick of the race may meet a full outbox. Each must end cut off as
//! a slow consumer; an engine that waited for room instead stalls the race, which a watchdog
//! reports with the engine's diagnosis.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::{CloseReason, OutboxReceiver, outbox};
use crate::engines::engine::Engine;
use crate::invariants::{StreamCheck, check_empty, check_snapshot};
use crate::verify::watchdog::Progress;

/// The shape of one race.
#[derive(Clone)]
pub struct RaceConfig {
    pub threads: usize,
    pub clients_per_thread: usize,
    pub ops_per_thread: usize,
    /// How many of each thread's clients never read (see the module doc).
    pub stopped_readers: usize,
    pub seed: u64,
    /// Counts every call a caller made, for a watchdog to tell a stall from slowness.
    pub progress: Progress,
}

impl Default for RaceConfig {
    fn default() -> RaceConfig {
        RaceConfig {
            threads: 4,
            clients_per_thread: 40,
            ops_per_thread: 3000,
            stopped_readers: 1,
            seed: 1,
            progress: Progress::default(),
        }
    }
}

/// The outbox of a client that stops reading: small, so it fills within the race.
pub const STOPPED_READER_OUTBOX: usize = 2;

/// The config races run under: a short match timeout, so ticks dissolve rooms mid-run; and
/// three tick phases, so the ticker's steps of half a period each reach some clients and not
/// others while the race runs (the differential and scenario checks cover one phase).
pub fn race_engine_config() -> EngineConfig {
    EngineConfig {
        match_timeout: Duration::from_secs(3),
        tick_phases: 3,
        ..EngineConfig::default()
    }
}

/// [`race_engine_config`] with queues of two, so a channel engine's callers and world really
/// wait on full queues: the backpressure paths, which queues of 1024 rarely reach (a cycle of
/// waiting sends shows only there). `verify` runs every other race under it.
pub fn backpressure_engine_config() -> EngineConfig {
    EngineConfig {
        queue_capacity: 2,
        ..race_engine_config()
    }
}

/// Runs one race on `engine` and returns every broken rule.
pub fn race(engine: Arc<dyn Engine>, config: &RaceConfig) -> Vec<String> {
    let running = Arc::new(AtomicBool::new(true));
    let ticker = {
        let (engine, running) = (engine.clone(), running.clone());
        std::thread::spawn(move || {
            let mut now = Duration::ZERO;
            let mut broken = Vec::new();
            while running.load(Ordering::Relaxed) && broken.is_empty() {
                now += Duration::from_millis(500);
                engine.tick(now);
                broken = check_snapshot(&engine.snapshot());
            }
            broken
        })
    };
    // Every thread connects its clients first, so each can name its neighbour's.
    let owned: Vec<Vec<(ClientId, OutboxReceiver)>> = (0..config.threads)
        .map(|thread| {
            (0..config.clients_per_thread)
                .map(|n| {
                    let capacity = if n < config.stopped_readers {
                        STOPPED_READER_OUTBOX
                    } else {
                        crate::DEFAULT_OUTBOX_CAPACITY
                    };
                    let (tx, rx) = outbox(capacity);
                    let name = format!("t{thread}-{n}");
                    (engine.connect(Player::new(name.clone(), name), tx), rx)
                })
                .collect()
        })
        .collect();
    let ids: Vec<Vec<ClientId>> = owned
        .iter()
        .map(|clients| clients.iter().map(|(id, _)| *id).collect())
        .collect();
    let callers: Vec<_> = owned
        .into_iter()
        .enumerate()
        .map(|(thread, clients)| {
            let engine = engine.clone();
            let neighbours: Vec<ClientId> = ids[(thread + 1) % ids.len()]
                .iter()
                .take(2)
                .copied()
                .collect();
            let config = config.clone();
            std::thread::spawn(move || caller(&*engine, thread, clients, &neighbours, &config))
        })
        .collect();
    let mut broken: Vec<String> = callers
        .into_iter()
        .flat_map(|caller| {
            caller
                .join()
                .unwrap_or_else(|_| vec!["a caller panicked".into()])
        })
        .collect();
    running.store(false, Ordering::Relaxed);
    match ticker.join() {
        Ok(mid_run) => broken.extend(mid_run.into_iter().map(|b| format!("mid-run: {b}"))),
        Err(_) => broken.push("the ticker panicked".into()),
    }
    broken.extend(check_empty(&engine.snapshot()));
    broken
}

/// One caller thread: random commands for its own clients, joins and leaves for two of its
/// neighbour's (so one client is commanded from two threads at once), and a check of
/// everything its own clients hear.
fn caller(
    engine: &dyn Engine,
    thread: usize,
    clients: Vec<(ClientId, OutboxReceiver)>,
    neighbours: &[ClientId],
    config: &RaceConfig,
) -> Vec<String> {
    let mut rng = SmallRng::seed_from_u64(config.seed.wrapping_mul(31).wrapping_add(thread as u64));
    let mut checks: Vec<StreamCheck> = clients
        .iter()
        .map(|(id, _)| StreamCheck::new(*id))
        .collect();
    // Numbered payloads are per sender; only this thread numbers its own clients' messages.
    let mut seq = 0u64;
    let stopped = config.stopped_readers.min(clients.len());
    // A stopped reader hears its own shouts: one more than its outbox holds must cut it.
    for (id, _) in &clients[..stopped] {
        for _ in 0..=STOPPED_READER_OUTBOX {
            seq += 1;
            let text = format!("{seq}").into();
            engine.submit(*id, Command::Shout { text });
            config.progress.step();
        }
    }
    for op in 0..config.ops_per_thread {
        seq += 1;
        let roll = rng.random_range(0..100);
        if roll < 5 && !neighbours.is_empty() {
            let who = neighbours[rng.random_range(0..neighbours.len())];
            let command = if roll < 3 {
                Command::Join {
                    limit: rng.random_range(2..=4),
                }
            } else {
                Command::Leave
            };
            engine.submit(who, command);
            config.progress.step();
            continue;
        }
        let who = clients[rng.random_range(0..clients.len())].0;
        let command = match roll {
            0..40 => Command::Join {
                limit: rng.random_range(2..=4),
            },
            40..55 => Command::Leave,
            55..95 => Command::Say {
                data: format!("{seq}").into(),
            },
            _ => Command::Shout {
                text: format!("{seq}").into(),
            },
        };
        engine.submit(who, command);
        config.progress.step();
        if op % 16 == 0 {
            let reading = clients.iter().zip(&mut checks).skip(stopped);
            for ((_, rx), check) in reading {
                rx.drain().iter().for_each(|event| check.observe(event));
            }
        }
    }
    engine.quiesce();
    for (id, _) in &clients {
        engine.disconnect(*id);
    }
    engine.quiesce();
    let mut broken = Vec::new();
    for (n, ((id, rx), mut check)) in clients.into_iter().zip(checks).enumerate() {
        check.read_to_end(&rx);
        broken.extend(check.broken);
        if n < stopped {
            let shouted = format!("shouted {} times", STOPPED_READER_OUTBOX + 1);
            let reason = rx.close_reason();
            broken.extend(not_cut_off(id, reason, STOPPED_READER_OUTBOX, &shouted));
        }
    }
    broken
}

/// The rule for a client that stopped reading while more events than its outbox holds were
/// sent to it: it ends cut off as a slow consumer. Given how its outbox was closed (`reason`,
/// `None` while open), its `capacity` and what was sent to it (`sent`, as "shouted 3 times"),
/// returns the broken rule, if it is. Every layer with stopped readers checks it here: this
/// race, and the slow-reader scenarios of loom, shuttle and the race smoke test.
pub fn not_cut_off(
    id: ClientId,
    reason: Option<CloseReason>,
    capacity: usize,
    sent: &str,
) -> Option<String> {
    (reason != Some(CloseReason::SlowConsumer)).then(|| {
        format!(
            "{id} stopped reading with an outbox of {capacity} and {sent}, yet was not cut off \
             as a slow consumer (closed: {reason:?})"
        )
    })
}
