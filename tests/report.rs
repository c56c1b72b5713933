//! The report and the gate through the public API only, on a small tree laid out as
//! `cargo bench`, `lockchan duel` and `lockchan verify` lay theirs out: what the CLI will call.

use std::path::{Path, PathBuf};

use lockchan::gate::{self, Gate};
use lockchan::report::{self, ReportError};
use lockchan::verdict::{Better, Criteria, Provenance, ResultSet};
use lockchan::{EngineKind, EngineSpec};

struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let root = std::env::temp_dir().join(format!("lockchan-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("the tree's root is created");
        Tree(root)
    }

    fn write(&self, path: &str, text: &str) -> PathBuf {
        let path = self.0.join(path);
        std::fs::create_dir_all(path.parent().expect("every fixture path has a parent"))
            .expect("the fixture's directory is created");
        std::fs::write(&path, text).expect("the fixture is written");
        path
    }

    /// A `mixed` result at 4 threads: 1000 ops per iteration taking `mean_ns`.
    fn mixed(&self, engine: &str, mean_ns: f64) {
        let dir = format!("target/criterion/mixed/{engine}/t4/new");
        self.write(
            &format!("{dir}/benchmark.json"),
            &format!(
                r#"{{"group_id":"mixed","function_id":"{engine}","value_str":"t4",
                    "throughput":{{"Elements":1000}},"full_id":"mixed/{engine}/t4",
                    "directory_name":"mixed/{engine}/t4","title":"mixed/{engine}/t4"}}"#
            ),
        );
        self.write(
            &format!("{dir}/estimates.json"),
            &format!(
                r#"{{"mean":{{"confidence_interval":{{"confidence_level":0.95,
                    "lower_bound":{mean_ns},"upper_bound":{mean_ns}}},
                    "point_estimate":{mean_ns},"standard_error":0.0}}}}"#
            ),
        );
    }

    fn path(&self, path: &str) -> PathBuf {
        self.0.join(path)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Ten interleaved rounds of `mixed/t4` trials, as `lockchan gate` saves them: lock/4 near
/// 500,000 ops/s, actor/4 near 1,000,000, with the same p99.
fn trials() -> ResultSet {
    let mut set = ResultSet::new(Provenance::default());
    set.declare(gate::OPS_METRIC, "ops/s", Better::Higher);
    set.declare(gate::P99_METRIC, "µs", Better::Lower);
    for round in 0..10 {
        let wobble = 1.0 + 0.01 * f64::from(round % 3);
        for (engine, ops) in [("lock/4", 500_000.0), ("actor/4", 1_000_000.0)] {
            let case = gate::gate_case();
            set.push(&case, engine, gate::OPS_METRIC, ops * wobble)
                .expect("declared");
            set.push(&case, engine, gate::P99_METRIC, 900.0 * wobble)
                .expect("declared");
        }
    }
    set
}

fn run_gate(tree: &Tree) -> Gate {
    let path = tree.path("reports").join(gate::TRIALS_FILE);
    let set = trials();
    set.write(&path).expect("the trials are written");
    let paths = gate::GatePaths {
        trials: path.clone(),
        verification: tree.path("reports").join(report::VERIFICATION_FILE),
        e2e_trials: tree.path("reports").join(gate::E2E_TRIALS_FILE),
    };
    let gate = gate::decide(
        Some(&ResultSet::read(&path).expect("the trials read back")),
        &paths,
        Criteria::default(),
    )
    .expect("the gate decides");
    gate.save(&tree.path("reports").join(gate::GATE_FILE))
        .expect("the gate is written");
    gate
}

#[test]
fn the_cli_path_writes_a_report_and_a_gate_the_server_can_load() {
    let tree = Tree::new("cli");
    tree.mixed("lock-4", 2_000_000.0);
    tree.mixed("actor-4", 1_000_000.0);

    let unverified = run_gate(&tree);
    assert_eq!(unverified.choice, None);

    // Both engines passed, but on engine sources other than this build's: nothing is served.
    let summary = |hash: &str| {
        format!(
            r#"{{"engines": {{"lock/4": {{"checks": [{{"name": "differential", "passed": true, "explored": 10}}]}},
                            "actor/4": {{"checks": [{{"name": "differential", "passed": true, "explored": 10}}]}}}},
                "engine_source_hash": "{hash}"}}"#
        )
    };
    tree.write("reports/verification.json", &summary("0123abcd0123abcd"));
    let stale = run_gate(&tree);
    assert_eq!(stale.choice, None);
    assert!(
        stale
            .reason
            .contains("is stale: its checks ran on engine sources 0123abcd0123abcd"),
        "{}",
        stale.reason
    );

    tree.write(
        "reports/verification.json",
        &summary(lockchan::ENGINE_SOURCE_HASH),
    );
    let written = run_gate(&tree);
    let loaded = Gate::load(&tree.path("reports/gate.json")).expect("the gate loads");
    assert_eq!(loaded.choice, written.choice);
    assert_eq!(loaded.verdict_key(), "actor/4 wins");
    let spec = loaded
        .choice
        .as_ref()
        .map(|choice| choice.spec().expect("the choice is an engine"));
    assert_eq!(spec, Some(EngineSpec::new(EngineKind::ACTOR, 4)));
    assert!(
        loaded.reason.starts_with(
            "actor/4 beats every other verified engine on `mixed` at 4 caller threads over 10 \
             interleaved rounds"
        ),
        "{}",
        loaded.reason
    );
    assert!(
        loaded
            .reason
            .contains("its narrowest win, on ops_per_sec: actor/4 is faster than lock/4 by 100.0%"),
        "{}",
        loaded.reason
    );

    let summary = report::write_report(
        &tree.path("target/criterion"),
        &tree.path("target/lockchan-bench"),
        &tree.path("reports"),
    )
    .expect("the report is written");
    assert_eq!(summary.report, tree.path("reports/REPORT.md"));
    assert_eq!(
        summary.plots,
        [tree.path("reports/plots/throughput_mixed.svg")]
    );
    assert!(!summary.duel_found && summary.verification_found);
    let markdown = std::fs::read_to_string(&summary.report).expect("REPORT.md exists");
    // One column per registered engine; those measured nowhere here show a dash.
    let unmeasured = " — |".repeat(lockchan::ENGINES.len() - 2);
    let row = format!("| mixed | 4 | 500,000 (lock/4) | 1,000,000 (actor/4) |{unmeasured}\n");
    assert!(markdown.contains(&row), "{markdown}");
    assert!(
        markdown
            .contains("![mixed: throughput against caller threads](plots/throughput_mixed.svg)")
    );
}

#[test]
fn errors_name_the_file_at_fault() {
    let tree = Tree::new("errors");
    let duel = tree.write("reports/duel.json", "not json");
    let err = report::write_report(
        &tree.path("target/criterion"),
        &tree.path("target/lockchan-bench"),
        &tree.path("reports"),
    )
    .expect_err("a corrupt duel is an error");
    assert!(matches!(err, ReportError::Input(_)));
    assert_eq!(err.to_string(), format!("cannot parse {}", duel.display()));
    let missing: &Path = &tree.path("reports/gate.json");
    let err = Gate::load(missing).expect_err("no gate, no engine");
    assert_eq!(
        err.to_string(),
        format!("cannot read {}", missing.display())
    );
}
