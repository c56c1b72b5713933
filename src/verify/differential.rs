//! The differential check: random scripts of one-at-a-time calls, each run on the model and on
//! the engine, must give identical transcripts.
//!
//! The proptest suite (`tests/differential.rs`) does the same with shrinking; this copy needs no
//! dev-dependency, so `lockchan verify` can run it on any engine from the binary.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::Builder;
use crate::domain::config::EngineConfig;
use crate::script::{Step, run_engine, run_model};
use crate::spec::call::Call;

/// The config scripts run under: small messages so `MessageTooLarge` is reachable, and the
/// clients in `tick_phases` tick phase groups.
pub(crate) fn script_config(tick_phases: u32) -> EngineConfig {
    EngineConfig {
        max_message_bytes: 16,
        tick_phases,
        ..EngineConfig::default()
    }
}

/// A random script of up to `len` steps over at most 8 clients.
pub(crate) fn random_script(rng: &mut SmallRng, len: usize) -> Vec<Step> {
    let mut steps = Vec::with_capacity(len);
    for seq in 0..len {
        let client = rng.random_range(0..8);
        let payload = |rng: &mut SmallRng| -> Arc<str> {
            format!("{seq}:{}", "x".repeat(rng.random_range(0..20))).into()
        };
        let call = match rng.random_range(0..23) {
            0..3 => Call::connect(),
            3..9 => Call::join(client, rng.random_range(2..=4)),
            9 => Call::join(client, 17),
            10..12 => Call::leave(client),
            12..15 => Call::say(client, payload(rng)),
            15..17 => Call::shout(client, payload(rng)),
            17 => Call::Disconnect(rng.random_range(0..10)),
            18..20 => Call::Tick(Duration::from_millis(rng.random_range(0..4000))),
            _ => {
                steps.push(Step::Drain(client));
                continue;
            }
        };
        steps.push(Step::Call(call));
    }
    steps
}

/// Runs `scripts` random scripts with outboxes of 3 (slow consumers) and 256, and with 1, 2 and
/// 3 tick phases in turn; returns how many ran, or the first script whose transcripts differ.
pub(crate) fn check(builder: &Builder, scripts: u64, seed: u64) -> Result<u64, String> {
    let mut rng = SmallRng::seed_from_u64(seed);
    for case in 0..scripts {
        let capacity = if case % 2 == 0 { 3 } else { 256 };
        // The remainder is below 3.
        let phases = 1 + (case % 3) as u32;
        let steps = random_script(&mut rng, 60);
        let expected = run_model(&script_config(phases), capacity, &steps);
        let engine = builder.build(script_config(phases));
        let actual = run_engine(&*engine, capacity, &steps);
        if actual != expected {
            return Err(format!(
                "script {case} (seed {seed}, outbox {capacity}, {phases} tick phases) differs \
                 from the model: {steps:?}"
            ));
        }
        builder.progress().step();
    }
    Ok(scripts)
}
