//! Many threads on one engine at once, then the rules every run must keep: each client's
//! stream tells a possible story (one room at a time, matched once, per-sender order), every
//! mid-run snapshot is consistent, and after every client disconnects nothing is left behind.
//! The race itself is `lockchan::verify::race`, the same one `lockchan verify` runs.

mod common;

use std::sync::Arc;

use lockchan::verify::race::{RaceConfig, race, race_engine_config};
use lockchan::verify::watchdog::Progress;
use lockchan::{Engine, EngineSpec};

fn many_threads_keep_every_rule(spec: EngineSpec, progress: Progress) {
    let engine: Arc<dyn Engine> = spec.build(race_engine_config()).into();
    progress.watch_engine(&engine);
    let config = RaceConfig {
        progress,
        ..RaceConfig::default()
    };
    let broken = race(engine.clone(), &config);
    assert!(broken.is_empty(), "{spec}: {broken:#?}");
    let counters = engine.snapshot().counters;
    let clients = (config.threads * config.clients_per_thread) as u64;
    assert_eq!(counters.connects, clients);
    assert!(counters.rooms_matched > 0, "{spec}: no room ever matched");
}

per_engine!(watched: many_threads_keep_every_rule);
