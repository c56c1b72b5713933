//! `lockchan duel --e2e` as a user runs it, small: the floor runs beside the engine, its row has
//! figures, every engine run is stated as a multiple of it, and its trials stay out of the file
//! the gate reads; `--no-floor` runs the engines alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Runs a small mixed e2e duel of lock/1 into `dir` with `extra` flags; returns the runs (the
/// JSON), the table (the .md) and the trials file.
fn duel(dir: &Path, extra: &[&str]) -> (Vec<Value>, String, String) {
    std::fs::create_dir_all(dir).expect("a temporary directory");
    let out = dir.join("e2e.json");
    let output = Command::new(env!("CARGO_BIN_EXE_lockchan"))
        .args([
            "duel",
            "--e2e",
            "--engines",
            "lock/1",
            "--scenario",
            "mixed",
        ])
        .args(["--clients", "20", "--ramp", "0.5", "--duration", "3"])
        .args(["--say-rate", "2", "--trials", "1", "--e2e-out"])
        .arg(&out)
        .args(extra)
        .output()
        .expect("lockchan runs");
    assert!(
        output.status.success(),
        "duel --e2e failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |path: PathBuf| std::fs::read_to_string(&path).expect("written");
    let runs: Value = serde_json::from_str(&read(out.clone())).expect("JSON");
    let runs = runs.as_array().expect("an array of runs").clone();
    (
        runs,
        read(out.with_extension("md")),
        read(dir.join("e2e-trials.json")),
    )
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lockchan-e2e-{name}-{}", std::process::id()))
}

#[test]
fn the_floor_runs_beside_the_engine_and_every_engine_run_is_stated_against_it() {
    let dir = temp("floor");
    let (runs, table, trials) = duel(&dir, &[]);
    let engines: Vec<&str> = runs.iter().filter_map(|r| r["engine"].as_str()).collect();
    assert_eq!(engines, ["floor", "lock/1"], "the floor's row comes first");
    let floor = &runs[0];
    assert_eq!(
        floor["load"]["engine"], "floor",
        "the server said it was the floor"
    );
    assert_eq!(
        floor["load"]["errors_total"], 0,
        "{}",
        floor["load"]["errors"]
    );
    assert_eq!(floor["back_to_baseline"], true);
    for latency in ["relay", "shout", "tick"] {
        let samples = floor["load"][latency]["samples"].as_u64().unwrap_or(0);
        assert!(samples > 0, "the floor's {latency} was timed");
    }
    assert!(
        floor["load"]["server_cpu_us_per_frame"].as_f64().is_some(),
        "the floor's CPU per frame"
    );
    assert!(
        table.contains("\n| floor | 1 | 20 / 0 | 0 (0) |"),
        "{table}"
    );
    assert!(table.contains("Against the floor"), "{table}");
    let against = table
        .lines()
        .find(|line| line.starts_with("| lock/1 | 1 |") && line.contains("× floor"))
        .unwrap_or_else(|| panic!("no multiple of the floor for lock/1:\n{table}"));
    assert_eq!(against.matches("× floor").count(), 4, "{against}");
    // One round: the verdict line against the floor says there is nothing to judge yet.
    assert!(
        table.contains("\n- lock/1 vs floor: one trial each"),
        "a verdict line against the floor:\n{table}"
    );
    assert!(table.contains("Where the time went"), "{table}");
    let spent = table
        .lines()
        .find(|line| line.starts_with("- **lock/1** (1 run(s)): "))
        .unwrap_or_else(|| panic!("no line of where lock/1's time went:\n{table}"));
    for part in [
        "the floor's",
        "server delivery p99",
        "over all frames",
        "Server ",
        "generator ",
    ] {
        assert!(spent.contains(part), "{part:?} in {spent}");
    }
    assert!(table.contains("\n- **floor** (1 run(s)): "), "{table}");
    assert!(trials.contains("\"lock/1\""), "{trials}");
    assert!(
        !trials.contains("\"floor\""),
        "the gate's file holds no floor: {trials}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_floor_runs_the_engines_alone() {
    let dir = temp("no-floor");
    let (runs, table, _) = duel(&dir, &["--no-floor"]);
    let engines: Vec<&str> = runs.iter().filter_map(|r| r["engine"].as_str()).collect();
    assert_eq!(engines, ["lock/1"]);
    assert!(!table.contains("floor"), "{table}");
    let _ = std::fs::remove_dir_all(&dir);
}
