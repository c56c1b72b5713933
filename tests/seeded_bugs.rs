//! The checks can fail: every seeded bug is caught by at least one check, and a real engine
//! raises no false alarm under the same budget. Needs `--features seeded-bugs`; CI runs it.
#![cfg(feature = "seeded-bugs")]

use std::time::Duration;

use lockchan::seeded::SeededBug;
use lockchan::verify::{VerifyConfig, detect_seeded, verify};

fn budget() -> VerifyConfig {
    VerifyConfig {
        engines: SeededBug::ALL.iter().map(|bug| bug.engine()).collect(),
        scripts: 300,
        races: 3,
        leak_cycles: 15,
        seed: 1,
        // A stalled check (deadlock, lost reply) is declared after this long.
        time_limit: Duration::from_secs(8),
    }
}

#[test]
fn every_seeded_bug_is_caught_and_the_real_engines_raise_no_alarm() {
    std::panic::set_hook(Box::new(|_| {}));
    let config = budget();
    let detections = detect_seeded(&config, |_| {});
    let names: Vec<_> = detections.iter().map(|d| d.bug.as_str()).collect();
    let all: Vec<_> = SeededBug::ALL.iter().map(|bug| bug.name()).collect();
    assert_eq!(names, all);
    for detection in &detections {
        assert!(
            !detection.caught_by().is_empty(),
            "{} on {} went unnoticed: {:?}",
            detection.bug,
            detection.engine,
            detection.checks
        );
    }
    let clean = verify(&config, |_, _| {});
    for (engine, verification) in &clean.engines {
        assert!(
            verification.passed(),
            "false alarm on {engine}: {:?}",
            verification.checks
        );
    }
}
