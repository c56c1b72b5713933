//! Differential tests: random scripts of calls made one at a time must give every client the
//! same events, in the same order, on every engine as on the sequential model, and end in the
//! same snapshot. A failure shrinks to a short script.

mod common;

use std::sync::Arc;
use std::time::Duration;

use lockchan::script::{Step, run_engine, run_model};
use lockchan::verify::watchdog::Progress;
use lockchan::{Call, Command, Engine, EngineConfig, EngineSpec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Small limits so that short scripts reach every rule: 16-byte messages, a 10 s match
/// timeout against ticks of up to 4 s; and the clients in `tick_phases` tick phase groups
/// (each script picks 1, 2 or 3), so spread ticks are compared too.
fn config(tick_phases: u32) -> EngineConfig {
    EngineConfig {
        max_message_bytes: 16,
        tick_phases,
        ..EngineConfig::default()
    }
}

fn payload(len: usize, seq: usize) -> Arc<str> {
    format!("{seq}:{}", "x".repeat(len)).into()
}

fn step() -> impl Strategy<Value = Step> {
    let client = 0..8usize;
    prop_oneof![
        3 => Just(Step::Call(Call::connect())),
        6 => (client.clone(), 2u8..=4).prop_map(|(c, limit)| Step::Call(Call::Submit(c, Command::Join { limit }))),
        1 => (client.clone(), prop_oneof![Just(0u8), Just(1), Just(17), Just(255)])
            .prop_map(|(c, limit)| Step::Call(Call::Submit(c, Command::Join { limit }))),
        2 => client.clone().prop_map(|c| Step::Call(Call::Submit(c, Command::Leave))),
        3 => (client.clone(), 0..20usize, 0..100usize)
            .prop_map(|(c, n, seq)| Step::Call(Call::Submit(c, Command::Say { data: payload(n, seq) }))),
        2 => (client.clone(), 0..20usize, 0..100usize)
            .prop_map(|(c, n, seq)| Step::Call(Call::Submit(c, Command::Shout { text: payload(n, seq) }))),
        1 => (0..10usize).prop_map(|c| Step::Call(Call::Disconnect(c))),
        2 => (0..4000u64).prop_map(|ms| Step::Call(Call::Tick(Duration::from_millis(ms)))),
        3 => client.prop_map(Step::Drain),
    ]
}

/// Scripts with an outbox of `capacity`: 3 makes slow consumers common, 256 makes them rare.
fn matches_model(spec: EngineSpec, capacity: usize, progress: &Progress) {
    let cases = Config {
        cases: 128,
        ..Config::default()
    };
    let mut runner = TestRunner::new(cases);
    let scripts = (proptest::collection::vec(step(), 1..60), 1..=3u32);
    let result = runner.run(&scripts, |(steps, phases)| {
        let expected = run_model(&config(phases), capacity, &steps);
        let engine: Arc<dyn Engine> = spec.build(config(phases)).into();
        progress.watch_engine(&engine);
        let actual = run_engine(&*engine, capacity, &steps);
        progress.step();
        prop_assert_eq!(
            &actual,
            &expected,
            "{} differs from the model with {} tick phases",
            spec,
            phases
        );
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{spec}: {failure}");
    }
}

fn matches_model_with_roomy_outboxes(spec: EngineSpec, progress: Progress) {
    matches_model(spec, 256, &progress);
}

fn matches_model_with_slow_consumers(spec: EngineSpec, progress: Progress) {
    matches_model(spec, 3, &progress);
}

per_engine!(
    watched:
    matches_model_with_roomy_outboxes,
    matches_model_with_slow_consumers
);
