//! `lockchan verify` on a small budget: every registered engine, at every shard count verify
//! checks by default, passes every check, and the results read back as the gate reads them.

use std::collections::HashSet;
use std::time::Duration;

use lockchan::EngineSpec;
use lockchan::verify::{SHARD_COUNTS, VerificationReport, VerifyConfig, render_markdown, verify};

/// Every engine the suite knows: each kind at each shard count verify checks by default.
fn every_engine() -> Vec<EngineSpec> {
    lockchan::all_specs(&SHARD_COUNTS)
}

#[test]
fn every_real_engine_passes_every_check() {
    let engines = every_engine();
    // `lockchan verify`'s defaults cover the same engines, so a kind or a shard count added to
    // one is checked by the other.
    let defaults: HashSet<_> = VerifyConfig::default().engines.into_iter().collect();
    assert_eq!(defaults, engines.iter().copied().collect::<HashSet<_>>());
    let config = VerifyConfig {
        engines: engines.clone(),
        scripts: 20,
        races: 1,
        leak_cycles: 12,
        seed: 7,
        time_limit: Duration::from_secs(120),
    };
    let report = verify(&config, |_, _| {});
    let verified: HashSet<_> = report.engines.keys().cloned().collect();
    let expected: HashSet<_> = engines.iter().map(|spec| spec.to_string()).collect();
    assert_eq!(verified, expected, "every engine verified, each once");
    for (engine, verification) in &report.engines {
        let names: Vec<_> = verification
            .checks
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["differential", "race_invariants", "leaks"]);
        for check in &verification.checks {
            assert!(
                check.passed,
                "{engine} / {}: {:?}",
                check.name, check.detail
            );
            assert!(check.explored > 0);
        }
        assert!(verification.passed());
    }
    let json = serde_json::to_string(&report).expect("serializes");
    let back: VerificationReport = serde_json::from_str(&json).expect("reads back");
    assert!(back.engines["lock/2"].passed());
    assert!(render_markdown(&report).contains("| lock/2 | passed (20 in"));
}
