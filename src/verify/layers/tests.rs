//! The layer log read back and summed, and the verdicts it leads to.

use std::path::Path;

use super::fold::sum;
use super::log::{append, parse_log};
use super::*;
use crate::verify::{CheckResult, EngineVerification, LayerResult, LayerVerdict, Tally};

fn tally(passed: u64, failed: u64, inconclusive: u64) -> Tally {
    Tally {
        passed,
        failed,
        inconclusive,
    }
}

fn spec(name: &str) -> crate::EngineSpec {
    name.parse().expect("a registered engine")
}

/// A summary of `engines`, each with one passing check and no layers.
fn checked(engines: &[&str]) -> VerificationReport {
    let check = CheckResult {
        name: "differential".into(),
        passed: true,
        explored: 1,
        seconds: 0.0,
        detail: None,
    };
    let engines = engines.iter().map(|engine| {
        let verification = EngineVerification {
            checks: vec![check.clone()],
            layers: Default::default(),
        };
        ((*engine).to_owned(), verification)
    });
    VerificationReport {
        engines: engines.collect(),
        seeded: Vec::new(),
        seed: Some(1),
        unix_time: None,
        engine_source_hash: Some(crate::engines::ENGINE_SOURCE_HASH.to_owned()),
    }
}

fn line(layer: Layer, engine: &str, entry: Entry) -> LayerLine {
    LayerLine {
        layer,
        engine: engine.to_owned(),
        entry,
    }
}

/// Every layer ran `engine` with one passed run.
fn all_passed(engine: &str) -> Vec<LayerLine> {
    Layer::ALL
        .into_iter()
        .map(|layer| line(layer, engine, Entry::Ran(tally(1, 0, 0))))
        .collect()
}

#[test]
fn log_lines_parse_and_sum_per_engine_and_layer() {
    let text = r#"{"layer":"shuttle","engine":"actor/2","ran":{"passed":30,"failed":0,"inconclusive":2}}

{"layer":"shuttle","engine":"actor/2","ran":{"passed":28,"failed":1,"inconclusive":3}}
{"layer":"shuttle","engine":"lock/2","ran":{"passed":32,"failed":0,"inconclusive":0}}
{"layer":"loom","engine":"actor/4","cannot_run":"too many threads"}
"#;
    let lines = parse_log(Path::new("log"), text).expect("a valid log");
    assert_eq!(lines.len(), 4);
    let sums = sum(&lines);
    let actor = &sums[&("actor/2".to_owned(), Layer::Shuttle)];
    assert_eq!(actor.tally, tally(58, 1, 5));
    assert_eq!(actor.cannot_run, None);
    assert_eq!(
        sums[&("lock/2".to_owned(), Layer::Shuttle)].tally,
        tally(32, 0, 0)
    );
    let loom = &sums[&("actor/4".to_owned(), Layer::Loom)];
    assert_eq!(loom.tally.runs(), 0);
    assert_eq!(loom.cannot_run.as_deref(), Some("too many threads"));
}

#[test]
fn a_bad_line_is_an_error_naming_its_line() {
    let text = "{\"layer\":\"loom\",\"engine\":\"lock/1\",\"ran\":{\"passed\":1,\"failed\":0,\"inconclusive\":0}}\n{\"layer\":\"fuzz\",\"engine\":\"lock/1\"}\n";
    let error = parse_log(Path::new("the.log"), text).expect_err("an unknown layer");
    assert!(matches!(error, LayerError::Line { line: 2, .. }), "{error}");
    assert!(error.to_string().contains("the.log, line 2"), "{error}");
}

#[test]
fn lines_appended_from_many_threads_read_back_whole() {
    let path = std::env::temp_dir().join(format!("lockchan-layer-log-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    std::thread::scope(|scope| {
        for thread in 0..8u64 {
            let path = &path;
            scope.spawn(move || {
                for _ in 0..50 {
                    let entry = Entry::Ran(tally(thread, 0, 1));
                    append(path, Layer::RaceSmoke, spec("lock/2"), entry).expect("appended");
                }
            });
        }
    });
    let lines = read_log(&path).expect("a log");
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 400);
    let sums = sum(&lines);
    let summed = &sums[&("lock/2".to_owned(), Layer::RaceSmoke)].tally;
    assert_eq!(*summed, tally(50 * (0..8).sum::<u64>(), 0, 400));
}

#[test]
fn a_missing_log_is_an_error() {
    let error = read_log(Path::new("/nonexistent/layers.jsonl")).expect_err("no such file");
    assert!(matches!(error, LayerError::Read { .. }), "{error}");
}

#[test]
fn a_layer_with_one_failure_fails() {
    let result = LayerResult::new(tally(999, 1, 0), 0.05, None);
    assert_eq!(result.verdict(), LayerVerdict::Failed);
    assert!(!result.verdict().holds());
}

#[test]
fn the_inconclusive_ceiling_fails_a_layer_above_it_and_passes_one_within_it() {
    let above = LayerResult::new(tally(94, 0, 6), 0.05, None);
    assert_eq!(above.verdict(), LayerVerdict::TooInconclusive);
    assert!(!above.verdict().holds());
    let within = LayerResult::new(tally(96, 0, 4), 0.05, None);
    assert_eq!(within.verdict(), LayerVerdict::Passed);
    let at = LayerResult::new(tally(95, 0, 5), 0.05, None);
    assert_eq!(
        at.verdict(),
        LayerVerdict::Passed,
        "the ceiling itself passes"
    );
    let nan = LayerResult::new(tally(100, 0, 0), f64::NAN, None);
    assert_eq!(nan.verdict(), LayerVerdict::TooInconclusive);
}

#[test]
fn a_layer_that_never_ran_fails_unless_it_cannot_run() {
    let silent = LayerResult::new(Tally::default(), 0.05, None);
    assert_eq!(silent.verdict(), LayerVerdict::NotRun);
    assert!(!silent.verdict().holds());
    let declared = LayerResult::new(Tally::default(), 0.05, Some("five threads".into()));
    assert_eq!(declared.verdict(), LayerVerdict::CannotRun);
    assert!(declared.verdict().holds());
    let ran_anyway = LayerResult::new(tally(0, 1, 0), 0.05, Some("five threads".into()));
    assert_eq!(ran_anyway.verdict(), LayerVerdict::Failed);
}

#[test]
fn an_old_summary_without_layers_reads_and_is_verified_by_its_checks() {
    let old = r#"{"engines":{"lock/1":{"checks":[{"name":"differential","passed":true}]},
        "actor/1":{"checks":[{"name":"differential","passed":false}]}}}"#;
    let report: VerificationReport = serde_json::from_str(old).expect("an old summary reads");
    assert!(report.engines["lock/1"].layers.is_empty());
    assert!(report.verified(spec("lock/1")));
    assert!(!report.verified(spec("actor/1")));
}

#[test]
fn an_engine_with_a_failed_layer_is_not_verified() {
    let mut report = checked(&["lock/1", "actor/1"]);
    let mut lines = all_passed("lock/1");
    lines.extend(all_passed("actor/1"));
    lines.push(line(Layer::Shuttle, "actor/1", Entry::Ran(tally(0, 1, 0))));
    let unchecked = fold(&mut report, &lines, 0.05).expect("a valid ceiling");
    assert!(unchecked.is_empty());
    assert!(report.verified(spec("lock/1")));
    assert!(!report.verified(spec("actor/1")));
    let shuttle = &report.engines["actor/1"].layers["shuttle"];
    assert_eq!(shuttle.verdict, LayerVerdict::Failed);
}

#[test]
fn folding_gives_every_engine_every_layer_and_silence_fails() {
    let mut report = checked(&["lock/1", "lock/4"]);
    let mut lines = all_passed("lock/1");
    lines.push(line(Layer::Loom, "lock/4", Entry::CannotRun("why".into())));
    lines.push(line(Layer::Shuttle, "lock/4", Entry::Ran(tally(3, 0, 0))));
    lines.extend(all_passed("actor/9"));
    let unchecked = fold(&mut report, &lines, 0.05).expect("a valid ceiling");
    assert_eq!(unchecked, ["actor/9"]);
    let lock4 = &report.engines["lock/4"].layers;
    let names: Vec<&str> = lock4.keys().map(String::as_str).collect();
    assert_eq!(names, ["loom", "race_smoke", "shuttle"]);
    assert_eq!(lock4["loom"].verdict, LayerVerdict::CannotRun);
    assert_eq!(lock4["race_smoke"].verdict, LayerVerdict::NotRun);
    assert!(report.verified(spec("lock/1")));
    assert!(!report.verified(spec("lock/4")), "race_smoke never ran it");
}

#[test]
fn a_folded_summary_reads_back_and_is_judged_again() {
    let mut report = checked(&["lock/2"]);
    fold(&mut report, &all_passed("lock/2"), 0.05).expect("a valid ceiling");
    let json = serde_json::to_string(&report).expect("serializes");
    let back: VerificationReport = serde_json::from_str(&json).expect("reads back");
    assert!(back.verified(spec("lock/2")));
    // A verdict edited by hand is not trusted: the counts are judged again.
    let edited = json.replace(r#""failed":0"#, r#""failed":2"#);
    let edited: VerificationReport = serde_json::from_str(&edited).expect("reads back");
    assert_eq!(
        edited.engines["lock/2"].layers["loom"].verdict,
        LayerVerdict::Passed
    );
    assert!(!edited.verified(spec("lock/2")));
}

#[test]
fn a_ceiling_outside_zero_to_one_is_refused() {
    let mut report = checked(&["lock/1"]);
    for ceiling in [-0.1, 1.5, f64::NAN] {
        let error = fold(&mut report, &[], ceiling).expect_err("out of range");
        assert!(matches!(error, LayerError::Ceiling(_)), "{error}");
    }
}

#[test]
fn the_markdown_shows_each_layer_and_says_when_none_were_folded_in() {
    let mut report = checked(&["lock/1"]);
    let plain = crate::verify::render_markdown(&report);
    assert!(plain.contains("No layer results were folded in"), "{plain}");
    let mut lines = all_passed("lock/1");
    lines.push(line(Layer::Shuttle, "lock/1", Entry::Ran(tally(0, 0, 1))));
    fold(&mut report, &lines, 0.05).expect("a valid ceiling");
    let markdown = crate::verify::render_markdown(&report);
    assert!(markdown.contains("### lock/1"), "{markdown}");
    assert!(
        markdown
            .contains("| shuttle | 1 | 0 | 1 | 50.0% (≤ 5.0%) | **FAILED**: too inconclusive |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| lock/1 |") && markdown.contains(" no |"),
        "{markdown}"
    );
}

#[test]
fn an_engine_loom_cannot_build_is_declared_by_the_registry_not_the_log() {
    let mut report = checked(&["task/1", "actor/1"]);
    // The loom log cannot name the task engine: a loom build does not compile it.
    let mut lines: Vec<LayerLine> = all_passed("task/1")
        .into_iter()
        .filter(|l| l.layer != Layer::Loom)
        .collect();
    lines.extend(
        all_passed("actor/1")
            .into_iter()
            .filter(|l| l.layer != Layer::Loom),
    );
    fold(&mut report, &lines, 0.05).expect("a valid ceiling");
    let task = &report.engines["task/1"].layers["loom"];
    assert_eq!(task.verdict, LayerVerdict::CannotRun);
    assert!(report.verified(spec("task/1")));
    // An engine loom can build gets no such pass: its silence fails it.
    let actor = &report.engines["actor/1"].layers["loom"];
    assert_eq!(actor.verdict, LayerVerdict::NotRun);
    assert!(!report.verified(spec("actor/1")));
}
