//! The JSON files committed under `reports/` read back with their producers' types: a change
//! to a format that would strand the committed results fails here, not in a reader's hands.

use std::path::{Path, PathBuf};

use crate::duel::DuelReport;
use crate::e2e::is_trials_file;
use crate::engines::registry::EngineSpec;
use crate::gate::Gate;
use crate::load::{LoadReport, ServerStats};
use crate::measure::files::read_json;
use crate::measure::verdict::ResultSet;
use crate::verify::VerificationReport;

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reports")
        .join(name)
}

#[test]
fn the_committed_duel_reads_as_a_duel_report() {
    let duel: DuelReport = read_json(&committed("duel.json")).expect("duel.json reads");
    assert_eq!(
        duel.rows.first().map(|row| row.engine.as_str()),
        Some("model")
    );
    for row in &duel.rows[1..] {
        row.engine
            .parse::<EngineSpec>()
            .expect("every row after the model's names an engine");
    }
}

#[test]
fn the_committed_verification_reads_as_a_verification_report() {
    let summary: VerificationReport =
        read_json(&committed("verification.json")).expect("verification.json reads");
    assert!(!summary.engines.is_empty());
    assert!(summary.seed.is_some() && summary.unix_time.is_some());
    for (engine, checks) in &summary.engines {
        let spec = engine
            .parse::<EngineSpec>()
            .expect("every key names an engine");
        assert_eq!(summary.verified(spec), checks.passed());
    }
}

#[test]
fn the_committed_gate_loads_and_chooses_a_verified_engine() {
    let gate = Gate::load(&committed("gate.json")).expect("gate.json loads");
    let summary: VerificationReport =
        read_json(&committed("verification.json")).expect("verification.json reads");
    let choice = gate
        .choice
        .as_ref()
        .expect("the committed gate chose an engine");
    let spec = choice.spec().expect("the choice is a registered engine");
    assert!(summary.verified(spec), "{spec} is not verified");
}

/// Each `e2e*.json` is a list of runs, one per engine and round. The run itself is declared by
/// the binary (`cli/e2e.rs`); the library's parts of it, the load report and the server's
/// stats, are read with their own types. The trials written beside a run (`e2e-trials.json`)
/// are a result set, not runs: they are read as one.
#[test]
fn the_committed_e2e_runs_read_as_load_reports() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(committed(""))
        .expect("reports/ is there")
        .map(|entry| entry.expect("reports/ lists").path())
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            name.starts_with("e2e") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    let (trials, files): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_trials_file)
    });
    for path in trials {
        ResultSet::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    }
    assert!(!files.is_empty(), "no e2e*.json under reports/");
    for path in files {
        let runs: Vec<serde_json::Value> = read_json(&path).expect("an e2e file is JSON");
        assert!(!runs.is_empty(), "{} has no runs", path.display());
        for run in runs {
            let read = |field: &str| run.get(field).cloned().unwrap_or_default();
            let load: LoadReport = serde_json::from_value(read("load"))
                .unwrap_or_else(|err| panic!("{}: load: {err}", path.display()));
            let engine = read("engine");
            assert_eq!(load.engine.as_deref(), engine.as_str());
            for stats in ["before", "after"] {
                let _: ServerStats = serde_json::from_value(read(stats))
                    .unwrap_or_else(|err| panic!("{}: {stats}: {err}", path.display()));
            }
        }
    }
}
