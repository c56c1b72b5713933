//! Many threads on one engine at once, then the rules every run must keep: each client's
//! stream tells a possible story (one room at a time, matched once, per-sender order), the
//! snapshot is consistent, and after every client disconnects nothing is left behind.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Client;
use lockchan::invariants::{StreamCheck, check_empty, check_snapshot};
use lockchan::{Command, Engine, EngineConfig, EngineSpec, RecvError};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const THREADS: usize = 4;
const CLIENTS_PER_THREAD: usize = 40;
const OPS_PER_THREAD: usize = 3000;

fn config() -> EngineConfig {
    EngineConfig {
        // Short, so that the ticker's clock dissolves rooms during the run.
        match_timeout: Duration::from_secs(3),
        ..EngineConfig::default()
    }
}

/// One caller thread: its own clients, random commands, and a check of everything they hear.
fn caller(engine: &dyn Engine, thread: usize) -> Vec<String> {
    let mut rng = SmallRng::seed_from_u64(thread as u64);
    let clients: Vec<Client> = (0..CLIENTS_PER_THREAD)
        .map(|n| Client::connect(engine, &format!("t{thread}-{n}"), 256))
        .collect();
    let mut checks: Vec<StreamCheck> = clients.iter().map(|c| StreamCheck::new(c.id)).collect();
    let mut seq = 0u64;
    for op in 0..OPS_PER_THREAD {
        let who = rng.random_range(0..clients.len());
        seq += 1;
        let command = match rng.random_range(0..100) {
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
        engine.submit(clients[who].id, command);
        if op % 16 == 0 {
            for (client, check) in clients.iter().zip(&mut checks) {
                client.rx.drain().iter().for_each(|e| check.observe(e));
            }
        }
    }
    engine.quiesce();
    for client in &clients {
        engine.disconnect(client.id);
    }
    engine.quiesce();
    let mut broken = Vec::new();
    for (client, mut check) in clients.into_iter().zip(checks) {
        loop {
            match client.rx.try_recv() {
                Ok(event) => check.observe(&event),
                Err(RecvError::Closed(_)) => break,
                Err(RecvError::Empty) => {
                    broken.push(format!("{}: outbox still open after disconnect", client.id));
                    break;
                }
            }
        }
        broken.extend(check.broken);
    }
    broken
}

fn many_threads_keep_every_rule(spec: EngineSpec) {
    let engine: Arc<dyn Engine> = spec.build(config()).into();
    let running = Arc::new(AtomicBool::new(true));
    let ticker = {
        let (engine, running) = (engine.clone(), running.clone());
        std::thread::spawn(move || {
            let mut now = Duration::ZERO;
            while running.load(Ordering::Relaxed) {
                now += Duration::from_millis(500);
                engine.tick(now);
                let broken = check_snapshot(&engine.snapshot());
                assert!(broken.is_empty(), "mid-run snapshot: {broken:?}");
            }
        })
    };
    let callers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let engine = engine.clone();
            std::thread::spawn(move || caller(&*engine, thread))
        })
        .collect();
    let broken: Vec<String> = callers
        .into_iter()
        .flat_map(|caller| caller.join().expect("caller thread"))
        .collect();
    running.store(false, Ordering::Relaxed);
    ticker.join().expect("ticker thread");
    assert!(broken.is_empty(), "{spec}: {broken:#?}");

    let snapshot = engine.snapshot();
    let broken = check_empty(&snapshot);
    assert!(broken.is_empty(), "{spec}: {broken:?}");
    let counters = snapshot.counters;
    assert_eq!(counters.connects, (THREADS * CLIENTS_PER_THREAD) as u64);
    assert!(counters.rooms_matched > 0, "{spec}: no room ever matched");
    assert!(counters.events_delivered > 0);
}

per_engine!(many_threads_keep_every_rule);
