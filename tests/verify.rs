//! `lockchan verify` on a small budget: every registered engine, at every shard count verify
//! checks by default, passes every check, and the results read back as the gate reads them.

use std::time::Duration;

use lockchan::verify::{VerificationReport, VerifyConfig, render_markdown, verify};
use lockchan::{EngineKind, EngineSpec};

#[test]
fn every_real_engine_passes_every_check() {
    // verify's own default list: every registered engine at each shard count it takes.
    let engines = VerifyConfig::default().engines;
    for kind in EngineKind::all() {
        assert!(
            engines.iter().any(|spec| spec.kind == kind),
            "verify's default list leaves out {kind}"
        );
    }
    let config = VerifyConfig {
        engines: engines.clone(),
        scripts: 20,
        races: 1,
        leak_cycles: 12,
        seed: 7,
        time_limit: Duration::from_secs(120),
    };
    let report = verify(&config, |_, _| {});
    let checked: Vec<&str> = report.engines.keys().map(String::as_str).collect();
    let mut expected: Vec<String> = engines.iter().map(EngineSpec::to_string).collect();
    expected.sort();
    assert_eq!(checked, expected);
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
