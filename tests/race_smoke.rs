//! Generated race scenarios on real threads, each run checked by the linearizability checker
//! (`lockchan::verify::linearize`): a smoke test only. Real threads rarely interleave a short
//! scenario in an interesting way — a planted atomicity bug in an engine of this shape went
//! unnoticed in 50,000 real-thread runs on this project's machine — so the real search for
//! races is `tests/shuttle.rs`, under a controlled scheduler. What this one adds: the engines'
//! real primitives (parking_lot, crossbeam), in release builds under CI.

mod common;

use std::time::{Duration, Instant};

use common::scenarios::{scenario, within};
use lockchan::EngineSpec;
use lockchan::verify::linearize::{Budget, LinearizeError};
use lockchan::verify::scenario::{ScenarioError, run_and_check, scenario_config};
use proptest::prelude::*;

/// Each case's limit: a deadlock or an exploding search fails the case instead of hanging.
const CASE_LIMIT: Duration = Duration::from_secs(20);

fn explained(
    spec: EngineSpec,
    scenario: lockchan::verify::scenario::Scenario,
) -> Result<(), String> {
    let shown = scenario.to_rust();
    let checked = within(CASE_LIMIT, move || {
        let budget = Budget {
            states: 100_000,
            deadline: Some(Instant::now() + Duration::from_secs(5)),
        };
        match run_and_check(spec, &scenario_config(), &scenario, budget) {
            // Too large to search: neither explained nor refuted, and no false alarm.
            Ok(_) | Err(ScenarioError::Unexplained(LinearizeError::Inconclusive { .. })) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    })?;
    checked.map_err(|why| format!("{spec}: {why}\nscenario:\n{shown}"))
}

/// One proptest per engine spec, named after it (`lock_1`, `actor_2`, ...).
macro_rules! smoke {
    ($($name:ident: $kind:ident / $shards:literal),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $name(scenario in scenario(16)) {
                    let spec = EngineSpec::new(lockchan::EngineKind::$kind, $shards);
                    explained(spec, scenario).map_err(TestCaseError::fail)?;
                }
            )*
        }
    };
}

// Every registered engine at one shard and at two.
lockchan::for_each_engine!(smoke {}, several = 2);
