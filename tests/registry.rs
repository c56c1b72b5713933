//! A new engine is one registry entry plus its module: the test-only `serial` engine (the model
//! behind one mutex, `src/engines/serial.rs`), registered under the `test-engine` feature and
//! named nowhere else, is picked up by every consumer of the registry.
//!
//! ```text
//! cargo test --features test-engine --test registry --test differential --test verify
//! ```
//!
//! The per-engine suites show it too, under the same names as the others: `differential`,
//! `engines`, `concurrency`, `server` and `load` gain `serial::…` tests with this feature, which
//! `.ci/run` demands by name. This file checks the consumers that are not test macros: the
//! registry's own lists, `lockchan::verify`'s default list and its checks, the duel, and the
//! report reading the duel and the verification back.
#![cfg(feature = "test-engine")]

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use lockchan::duel::{DuelConfig, run_duel};
use lockchan::verify::{VerifyConfig, verify, write_reports};
use lockchan::{EngineConfig, EngineKind, EngineSpec, report};

const SERIAL: &str = "serial";

/// verify's leak check counts the whole process's threads and resident memory, so the two
/// tests that run it take turns with each other and with the duel's engine threads (CI once
/// saw "8 threads before the engine, 10 after it was dropped": the duel's, started meanwhile).
static WHOLE_PROCESS: Mutex<()> = Mutex::new(());

fn serial() -> EngineSpec {
    EngineSpec::new(EngineKind::SERIAL, 1)
}

/// The registry lists it, parses and prints it without shards, and builds it.
#[test]
fn the_registry_lists_the_test_engine() {
    let names: Vec<&str> = EngineKind::all().map(EngineKind::name).collect();
    assert!(names.contains(&SERIAL), "{names:?}");
    assert_eq!(SERIAL.parse::<EngineSpec>().ok(), Some(serial()));
    assert!("serial/2".parse::<EngineSpec>().is_err());
    assert_eq!(EngineSpec::new(EngineKind::SERIAL, 4), serial());
    assert_eq!(serial().to_string(), SERIAL);
    assert_eq!(serial().build(EngineConfig::default()).name(), SERIAL);
    let specs = lockchan::all_specs(&[1, 2, 4]);
    assert_eq!(
        specs
            .iter()
            .filter(|spec| spec.kind.name() == SERIAL)
            .count(),
        1
    );
}

/// The test suites' macro hands it to every per-engine test, once, as `serial`.
#[test]
fn the_test_macro_hands_it_to_every_suite() {
    macro_rules! modules {
        ($($module:ident: $kind:ident / $shards:literal,)*) => {
            vec![$((stringify!($module), EngineSpec::new(EngineKind::$kind, $shards))),*]
        };
    }
    for listed in [
        lockchan::for_each_engine!(modules {}, several = 2),
        lockchan::for_each_engine!(modules {}, several = 3),
    ] {
        let serials: Vec<_> = listed.iter().filter(|(name, _)| *name == SERIAL).collect();
        assert_eq!(serials, [&(SERIAL, serial())], "{listed:?}");
    }
}

/// `lockchan verify` checks it by default, and it passes every check.
#[test]
fn verify_checks_it_by_default_and_it_passes() {
    let _alone = WHOLE_PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let defaults = VerifyConfig::default();
    assert!(
        defaults.engines.contains(&serial()),
        "{:?}",
        defaults.engines
    );
    let config = VerifyConfig {
        engines: vec![serial()],
        scripts: 50,
        races: 2,
        leak_cycles: 12,
        seed: 11,
        time_limit: Duration::from_secs(120),
    };
    let report = verify(&config, |_, _| {});
    let verification = &report.engines[SERIAL];
    assert!(!verification.checks.is_empty());
    for check in &verification.checks {
        assert!(check.passed, "{}: {:?}", check.name, check.detail);
        assert!(check.explored > 0, "{}", check.name);
    }
}

/// The duel runs it as a contender, beside the real engines, and the report reads that duel
/// (and the verification) back with it in.
#[test]
fn the_duel_runs_it_and_the_report_reads_it_back() {
    let _alone = WHOLE_PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let config = DuelConfig {
        clients: 60,
        threads: 2,
        shards: vec![1, 2],
        room_size: 3,
        rounds: 2,
        ..DuelConfig::default()
    };
    assert_eq!(
        config
            .contenders()
            .iter()
            .filter(|&&spec| spec == serial())
            .count(),
        1
    );
    let duel = run_duel(&config, |_| {});
    let model = &duel.rows[0];
    let row = duel
        .rows
        .iter()
        .find(|row| row.engine == SERIAL)
        .expect("the duel has a serial row");
    assert!(row.invariants_held, "{:?}", row.broken);
    assert_eq!(
        (row.ops, row.events_delivered),
        (model.ops, model.events_delivered)
    );

    let tree = Tree::new();
    let json = serde_json::to_string_pretty(&duel).expect("the duel serializes");
    let read: serde_json::Value = serde_json::from_str(&json).expect("the duel reads back");
    let engines: Vec<&str> = read["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|row| row["engine"].as_str())
        .collect();
    assert!(engines.contains(&SERIAL), "{engines:?}");
    std::fs::write(tree.0.join(report::DUEL_FILE), json).expect("duel.json is written");
    let verification = verify(
        &VerifyConfig {
            engines: vec![serial()],
            scripts: 5,
            races: 1,
            leak_cycles: 4,
            ..VerifyConfig::default()
        },
        |_, _| {},
    );
    write_reports(&verification, &tree.0).expect("verification.json is written");

    let summary = report::write_report(&tree.0.join("criterion"), &tree.0.join("extra"), &tree.0)
        .expect("the report is written");
    assert!(summary.duel_found && summary.verification_found);
    let markdown = std::fs::read_to_string(&summary.report).expect("the report reads");
    assert!(markdown.contains(SERIAL), "the report never names serial");
}

/// A fresh reports directory under the system's temp dir, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new() -> Tree {
        let root = std::env::temp_dir().join(format!("lockchan-registry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("the tree's root is created");
        Tree(root)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
