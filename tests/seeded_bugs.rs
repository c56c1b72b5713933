//! The checks can fail: every seeded bug is caught by at least one check, and a real engine
//! raises no false alarm under the same budget. Needs `--features seeded-bugs`; CI runs it.
#![cfg(feature = "seeded-bugs")]

use std::time::Duration;

/// How long a seeded bug may go unnoticed: its checks run in order, and the time to detection
/// is theirs up to and including the first that catches it.
const DETECTION_LIMIT: Duration = Duration::from_secs(30);

use lockchan::seeded::SeededBug;
use lockchan::verify::{Detection, VerifyConfig, detect_seeded, verify};

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

/// The first check that caught the bug, and the seconds of the checks up to and including it
/// (of them all when none did).
fn detected_after(detection: &Detection) -> (Option<usize>, f64) {
    let caught = detection.checks.iter().position(|check| !check.passed);
    let ran = caught.map_or(detection.checks.len(), |at| at + 1);
    let seconds = detection.checks[..ran].iter().map(|c| c.seconds).sum();
    (caught, seconds)
}

#[test]
fn every_seeded_bug_is_caught_and_the_real_engines_raise_no_alarm() {
    std::panic::set_hook(Box::new(|_| {}));
    let config = budget();
    let detections = detect_seeded(&config, |detection| {
        let (caught, seconds) = detected_after(detection);
        match caught {
            Some(at) => println!(
                "{} on {}: caught by {} after {seconds:.1} s ({})",
                detection.bug,
                detection.engine,
                detection.checks[at].name,
                detection.checks[at].detail.as_deref().unwrap_or(""),
            ),
            None => println!("{} on {}: not caught", detection.bug, detection.engine),
        }
    });
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
        let (_, seconds) = detected_after(detection);
        assert!(
            seconds <= DETECTION_LIMIT.as_secs_f64(),
            "{} on {} took {seconds:.1} s to catch, over {DETECTION_LIMIT:?}",
            detection.bug,
            detection.engine
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
