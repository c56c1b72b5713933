//! `lockchan verify` on a small budget: every real engine passes every check, and the results
//! read back as the gate reads them.

use std::time::Duration;

use lockchan::verify::{VerificationReport, VerifyConfig, render_markdown, verify};
use lockchan::{EngineKind, EngineSpec};

#[test]
fn every_real_engine_passes_every_check() {
    let config = VerifyConfig {
        engines: vec![
            EngineSpec::new(EngineKind::LOCK, 2),
            EngineSpec::new(EngineKind::ACTOR, 2),
        ],
        scripts: 20,
        races: 1,
        leak_cycles: 12,
        seed: 7,
        time_limit: Duration::from_secs(120),
    };
    let report = verify(&config, |_, _| {});
    assert_eq!(report.engines.len(), 2);
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
