//! The report's tests: fixture trees in, `REPORT.md` and SVGs out, every figure checked to the
//! digit against the arithmetic its fixture implies.

use std::path::PathBuf;

use super::figures::{self, Best, HeadlineRow};
use super::inputs::Inputs;
use super::*;
use crate::engines::registry::{EngineKind, EngineSpec};
use crate::measure::criterion::{Contender, Param};
use crate::measure::files::natural_cmp;
use crate::measure::testkit::Fixture;

fn lock(shards: usize) -> EngineSpec {
    EngineSpec::new(EngineKind::LOCK, shards)
}

fn actor(shards: usize) -> EngineSpec {
    EngineSpec::new(EngineKind::ACTOR, shards)
}

/// A full set of inputs. Every bench does 1000 operations per iteration unless it says
/// otherwise, so ops/s is 10¹² over the mean in ns.
fn full_fixture(name: &str) -> Fixture {
    let f = Fixture::new(name);
    f.bench("mixed", "model", "t1", Some(1000), 8_000_000.0);
    f.bench("mixed", "lock-1", "t1", Some(1000), 1_000_000.0);
    f.bench("mixed", "lock-1", "t4", Some(1000), 2_000_000.0);
    f.bench("mixed", "lock-4", "t4", Some(1000), 1_000_000.0);
    f.bench("mixed", "actor-1", "t1", Some(1000), 2_000_000.0);
    f.bench("mixed", "actor-1", "t4", Some(1000), 4_000_000.0);
    f.bench("mixed", "actor-2", "t4", Some(1000), 2_500_000.0);
    f.bench("churn", "lock-1", "t2", Some(1000), 5_000_000.0);
    f.bench("tick_all", "lock-4", "open-50k", Some(50_000), 10_000_000.0);
    f.bench(
        "tick_all",
        "actor-4",
        "open-50k",
        Some(50_000),
        20_000_000.0,
    );
    f.bench(
        "calibration",
        "uncontended_lock",
        "x1",
        Some(1000),
        20_000.0,
    );
    f.bench("calibration", "handoff_2t", "x1", Some(1000), 100_000.0);
    f.bench(
        "micro_append",
        "mutex",
        "x1",
        Some(4_000_000),
        250_000_000.0,
    );
    f.bench(
        "micro_append",
        "channel",
        "x1",
        Some(1_000_000),
        500_000_000.0,
    );
    f.extra_stats("mixed", "lock-4", "t4", [95, 3000, 9000, 47_007], "abc123");
    f.extra_stats(
        "mixed",
        "actor-2",
        "t4",
        [9887, 38_815, 45_000, 52_927],
        "abc123",
    );
    f.extra_stats("mixed", "lock-1", "t1", [12, 80, 0, 900], "abc123");
    f.extra_stats("churn", "lock-1", "t2", [20, 200, 2000, 20_000], "abc123");
    f.duel();
    f.verification(&[("lock/4", &[true, true]), ("actor/2", &[true, false])]);
    f
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).expect("the report wrote this file")
}

fn report(f: &Fixture) -> (ReportSummary, String) {
    let summary =
        write_report(&f.criterion(), &f.extra(), &f.reports()).expect("the report is written");
    let markdown = read(&summary.report);
    (summary, markdown)
}

fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected to find\n{needle}\nin\n{haystack}"
    );
}

/// A headline row's slots, one per registered engine, with `results` in their kinds' places
/// and every other engine absent.
fn slots(results: &[Best]) -> Vec<Option<Best>> {
    let mut slots = vec![None; EngineKind::all().count()];
    for best in results {
        slots[best.spec.kind.index()] = Some(*best);
    }
    slots
}

/// A headline line as the report writes it: `cells` in their engines' columns, a dash in
/// every other engine's.
fn headline_line(workload: &str, threads: &str, cells: &[Best]) -> String {
    let mut line = format!("| {workload} | {threads} |");
    for kind in EngineKind::all() {
        match cells.iter().find(|best| best.spec.kind == kind) {
            Some(best) => line.push_str(&format!(
                " {} ({}) |",
                crate::measure::format::rate(best.ops_per_sec),
                best.spec
            )),
            None => line.push_str(" — |"),
        }
    }
    line
}

#[test]
fn the_headline_takes_each_engines_best_shard_count() {
    let f = full_fixture("report-headline");
    let inputs = Inputs::read(&f.criterion(), &f.extra(), &f.reports()).expect("the fixture reads");
    let best = |spec, ops_per_sec| Best { spec, ops_per_sec };
    let row = |group: &str, variant: &str, threads, results: &[Best]| HeadlineRow {
        group: group.to_owned(),
        variant: variant.to_owned(),
        threads,
        best: slots(results),
    };
    let churn = [best(lock(1), 200_000.0)];
    let tick_all = [best(lock(4), 5_000_000.0), best(actor(4), 2_500_000.0)];
    let mixed_1 = [best(lock(1), 1_000_000.0), best(actor(1), 500_000.0)];
    let mixed_4 = [best(lock(4), 1_000_000.0), best(actor(2), 400_000.0)];
    let rows = figures::headline(inputs.results());
    assert_eq!(
        rows,
        vec![
            row("churn", "", Some(2), &churn),
            row("tick_all", "open-50k", None, &tick_all),
            row("mixed", "", Some(1), &mixed_1),
            row("mixed", "", Some(4), &mixed_4),
        ]
    );
    let (_, markdown) = report(&f);
    for line in [
        headline_line("churn", "2", &churn),
        headline_line("tick_all (open-50k)", "—", &tick_all),
        headline_line("mixed", "1", &mixed_1),
        headline_line("mixed", "4", &mixed_4),
    ] {
        assert_contains(&markdown, &format!("{line}\n"));
    }
    // A single run's ratio, without an interval, is no longer printed as a verdict.
    assert!(!markdown.contains("× next"));
    assert!(!markdown.contains("**2.50**"));
    let mut header = "| workload | threads |".to_owned();
    for kind in EngineKind::all() {
        header.push_str(&format!(" {kind} ops/s |"));
    }
    assert_contains(&markdown, &format!("{header}\n"));
}

#[test]
fn the_report_writes_markdown_and_linked_svgs() {
    let f = full_fixture("report-full");
    std::fs::create_dir_all(f.reports().join(PLOTS_DIR)).expect("the plots dir is made");
    let stale = f.reports().join(PLOTS_DIR).join("throughput_gone.svg");
    std::fs::write(&stale, "<svg/>").expect("the stale plot is written");

    let (summary, markdown) = report(&f);
    let names: Vec<String> = summary
        .plots
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "throughput_churn.svg",
            "throughput_tick_all_params.svg",
            "throughput_mixed.svg",
            "latency_mixed_t1.svg",
            "latency_mixed_t4.svg",
        ]
    );
    assert!(
        !stale.exists(),
        "a plot from an earlier run was left behind"
    );
    for (path, name) in summary.plots.iter().zip(&names) {
        let svg = read(path);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_contains(&markdown, &format!("(plots/{name})"));
    }
    let mixed = read(&summary.plots[2]);
    for text in [
        "mixed: throughput against caller threads",
        "caller threads",
        "throughput (ops/s)",
        "lock/1",
        "lock/4",
        "actor/1",
        "actor/2",
        "model (1 thread)",
    ] {
        assert_contains(&mixed, text);
    }
    assert_contains(&read(&summary.plots[4]), "latency (µs, log scale)");
    assert_eq!(summary.criterion_results, 14);
    assert_eq!(summary.extra_stats, 4);
    assert!(summary.duel_found && summary.verification_found);
    assert!(summary.missing.is_empty());

    for line in [
        // 1000 ns per op against floors of 20 ns and 100 ns; the interval is the mean's ±5%.
        "| lock/4 | t4 | 1,000,000 | 952,381–1,052,632 (95%) | 1,000 | 50.0 | 10.0 |",
        "| model | t1 | 125,000 | 119,048–131,579 (95%) | 8,000 | 400 | 80.0 |",
        "| uncontended_lock | x1 | 1,000 | 20.0 | 50,000,000 |",
        "- uncontended lock floor: `uncontended_lock` (x1), 20.0 ns per element.",
        "- two-thread handoff floor: `handoff_2t` (x1), 100 ns per element.",
        "| mutex | 4,000,000 | 500 ms | 8,000,000 |",
        "| channel | about 2,300,000 | 500 ms | about 4,600,000 |",
        "| mutex | x1 | 4,000,000 | 250 | 16,000,000 | 250 | 8,000,000 (mutex) | 2.00 |",
        "| channel | x1 | 1,000,000 | 500 | 2,000,000 | 2,000 | 4,600,000 (channel) | 0.43 |",
        "| lock/4 | t4 | 95 | 3,000 | 9,000 | 47,007 |",
        "| actor/2 | t4 | 9,887 | 38,815 | 45,000 | 52,927 |",
        "| lock/1 | 4 | 496,090 | 300,000 | 2.50 | 95 | 33,535 | 47,007 | 2,160,000 | 0 | held |",
        "| actor/1 | 4 | 496,090 | 240,000 | 2.00 | 95 | 33,535 | 47,007 | 2,160,000 | 0 | BROKEN (client 7 saw Matched twice) |",
        "| actor/2 | 1 of 2 | 2,000 | check-1: client 3 saw a stale room | **no** |",
        "| lock/4 | 2 of 2 | 2,000 | — | yes |",
        "(seed 1, at Unix time 1795554030). An engine is verified when",
        "| Test CPU 9000 | 2 | 6.1.0-test | rustc 1.95.0 | abc123 | 2026-01-02T03:04:05Z |",
        "The duel: Duel CPU, 2 cores, linux x86_64, lockchan 0.1.0, at Unix time 1795554030.",
    ] {
        assert_contains(&markdown, line);
    }
    assert!(!markdown.contains("different machines"));
    // The long per-case tables are in the appendix, linked from the report.
    assert_contains(&markdown, "[the appendix](APPENDIX.md)");
    assert!(!markdown.contains("| 0.998 |"));
    let appendix = read(&f.reports().join(APPENDIX_FILE));
    for line in [
        "| mixed | lock/4 | t4 | 4 | 100,000 | 24,000 | 26,000 | 0.998 |",
        "| churn | lock/1 | t2 | 1.25 | 0.5000 | 0.0125 | 20.0 |",
    ] {
        assert_contains(&appendix, line);
    }
}

#[test]
fn one_machine_and_commit_measured_on_two_dates_is_one_machine() {
    let f = full_fixture("report-dates");
    let later = f.extra().join("churn__lock-1__t2.json");
    let text = read(&later).replace("2026-01-02T03:04:05Z", "2026-01-03T09:00:00Z");
    f.write(&later, &text);
    let (_, markdown) = report(&f);
    assert!(!markdown.contains("different machines"), "{markdown}");
    assert_contains(
        &markdown,
        "| Test CPU 9000 | 2 | 6.1.0-test | rustc 1.95.0 | abc123 | 2026-01-02T03:04:05Z … \
         2026-01-03T09:00:00Z |",
    );
    // Another commit is another build.
    f.extra_stats("tick_all", "lock-1", "t2", [1, 2, 3, 4], "def456");
    let (_, markdown) = report(&f);
    assert_contains(
        &markdown,
        "The benches ran on 2 different machines or builds",
    );
}

#[test]
fn the_report_opens_with_the_verdicts_of_the_interleaved_trials_and_the_gate() {
    use crate::gate::{GATE_FILE, decide};
    use crate::measure::trials::{OPS_METRIC, P99_METRIC, ROUNDS_FILE};
    use crate::measure::verdict::{Better, Criteria, Provenance, ResultSet};

    let f = full_fixture("report-verdict");
    let (_, markdown) = report(&f);
    assert_contains(
        &markdown,
        &format!(
            "## Verdict\n\nNo interleaved trials at `{}`: run `lockchan rounds`",
            f.reports().join(ROUNDS_FILE).display()
        ),
    );

    let mut set = ResultSet::new(Provenance {
        cpu: Some("Test CPU 9000".to_owned()),
        cores: Some(2),
        commit: Some("0123456789abcdef".to_owned()),
        date: Some("2026-12-01T00:00:00Z".to_owned()),
        ..Provenance::default()
    });
    set.declare(OPS_METRIC, "ops/s", Better::Higher);
    set.declare(P99_METRIC, "µs", Better::Lower);
    for i in 0..10 {
        let wobble = 1.0 + 0.01 * f64::from(i % 4);
        for (case, spec, ops, p99) in [
            ("mixed/t4", "lock/1", 1_000_000.0, Some(1_000.0)),
            ("mixed/t4", "actor/1", 500_000.0, Some(8_000.0)),
            ("churn/t4", "lock/1", 2_000_000.0, None),
            ("churn/t4", "actor/2", 2_020_000.0, None),
        ] {
            set.push(case, spec, OPS_METRIC, ops * wobble)
                .expect("declared");
            if let Some(p99) = p99 {
                set.push(case, spec, P99_METRIC, p99 * wobble)
                    .expect("declared");
            }
        }
    }
    set.write(&f.reports().join(ROUNDS_FILE)).expect("written");
    let gate = decide(Some(&set), &f.gate_paths(), Criteria::default()).expect("decided");
    gate.save(&f.reports().join(GATE_FILE)).expect("written");

    let (_, markdown) = report(&f);
    let verdict_at = markdown.find("## Verdict").expect("a verdict section");
    assert!(
        verdict_at < markdown.find("## Inputs").expect("an inputs section"),
        "the verdict comes first"
    );
    assert_contains(
        &markdown,
        "on Test CPU 9000, 2 cores, commit 0123456789, 2026-12-01T00:00:00Z.",
    );
    assert_contains(
        &markdown,
        "- **lock and actor**: on throughput, of 2 cases, lock is faster in 1, 1 shows no \
         significant difference; on p99 latency, of 1 case, lock is faster in 1.",
    );
    assert_contains(
        &markdown,
        "| churn | 4 | actor/2 ~ lock/1: no significant difference (~ p=",
    );
    assert_contains(
        &markdown,
        "| mixed | 4 | lock/1 is faster than actor/1 by 100.0% (95% CI ",
    );
    assert_contains(&markdown, "lock/1 beats every other | 10 |");
    assert_contains(
        &markdown,
        &format!(
            "**The gate** (`{}`) serves",
            f.reports().join(GATE_FILE).display()
        ),
    );
}

#[test]
fn inputs_measured_on_other_engine_sources_are_called_stale_where_they_are_shown() {
    use crate::engines::ENGINE_SOURCE_HASH;
    use crate::gate::{GATE_FILE, decide};
    use crate::measure::e2e::E2E_TRIALS_FILE;
    use crate::measure::trials::{OPS_METRIC, P99_METRIC, ROUNDS_FILE};
    use crate::measure::verdict::{Better, Criteria, Provenance, ResultSet};

    let f = full_fixture("report-stale");
    let set_on = |hash: &str| {
        let mut set = ResultSet::new(Provenance {
            engine_source_hash: Some(hash.to_owned()),
            ..Provenance::default()
        });
        set.declare(OPS_METRIC, "ops/s", Better::Higher);
        set.declare(P99_METRIC, "µs", Better::Lower);
        for i in 0..5 {
            let wobble = 1.0 + 0.01 * f64::from(i);
            set.push("mixed/t4", "lock/1", OPS_METRIC, 1_000_000.0 * wobble)
                .expect("declared");
            set.push("mixed/t4", "lock/1", P99_METRIC, 1_000.0 * wobble)
                .expect("declared");
        }
        set
    };
    let rounds = f.reports().join(ROUNDS_FILE);
    let e2e_trials = f.reports().join(E2E_TRIALS_FILE);
    f.write(
        &f.reports().join("e2e.md"),
        "| engine | round |\n|---|--:|\n| lock/1 | 1 |\n",
    );
    let old = "0123abcd0123abcd";
    let other = |what: &str, command: &str| {
        format!(
            "*{what} are stale: measured on engine sources {old}, and this binary was built from \
             {ENGINE_SOURCE_HASH}; run {command} again.*"
        )
    };
    let trials_stale = other(
        "These trials",
        "`lockchan rounds` (`cargo run --release -- rounds`)",
    );
    let e2e_stale = other("The runs of this table", "`lockchan duel --e2e`");

    // Trials and the gate from older engine sources, end-to-end runs from these.
    let trials = set_on(old);
    trials.write(&rounds).expect("written");
    decide(Some(&trials), &f.gate_paths(), Criteria::default())
        .expect("decided")
        .save(&f.reports().join(GATE_FILE))
        .expect("written");
    set_on(ENGINE_SOURCE_HASH)
        .write(&e2e_trials)
        .expect("written");
    let (summary, markdown) = report(&f);
    assert_contains(&markdown, &trials_stale);
    assert!(!markdown.contains(&e2e_stale), "{markdown}");
    assert_contains(
        &markdown,
        &format!(
            "| interleaved trials | `{}` | found, **stale**: measured on engine sources {old}, \
             and this binary was built from {ENGINE_SOURCE_HASH} |",
            rounds.display()
        ),
    );
    assert_contains(
        &markdown,
        &format!(
            "| end-to-end trials | `{}` | found, on this build's engine sources |",
            e2e_trials.display()
        ),
    );
    let named: Vec<&str> = summary
        .stale
        .iter()
        .map(|line| line.split(" at ").next().unwrap_or_default())
        .collect();
    assert_eq!(named, ["interleaved trials", "gate"], "{:?}", summary.stale);

    // The other way round: the verdict is current, the end-to-end table is not.
    set_on(ENGINE_SOURCE_HASH).write(&rounds).expect("written");
    set_on(old).write(&e2e_trials).expect("written");
    let (summary, markdown) = report(&f);
    assert!(!markdown.contains(&trials_stale), "{markdown}");
    let e2e_at = markdown
        .find("## End to end")
        .expect("an end-to-end section");
    let stale_at = markdown
        .find(&e2e_stale)
        .expect("the end-to-end runs are stale");
    let table_at = markdown
        .find("| lock/1 | 1 |")
        .expect("the e2e table is shown");
    assert!(e2e_at < stale_at && stale_at < table_at, "{markdown}");
    assert!(
        summary
            .stale
            .iter()
            .any(|line| line.starts_with("end-to-end trials at ")),
        "{:?}",
        summary.stale
    );

    // Trials that are there but unreadable are not taken for absent without a word.
    f.write(&e2e_trials, "{ not json");
    let (summary, markdown) = report(&f);
    assert!(!markdown.contains(&e2e_stale), "{markdown}");
    assert_contains(
        &markdown,
        &format!(
            "- {} is not a result set: nothing says which engine sources the end-to-end table \
             measured",
            e2e_trials.display()
        ),
    );
    assert!(
        !summary
            .stale
            .iter()
            .any(|line| line.starts_with("end-to-end")),
        "{:?}",
        summary.stale
    );

    // A verification summary with no fingerprint checked nothing that says it was this build.
    assert_contains(
        &markdown,
        &format!(
            "| verification | `{}` | found, on this build's engine sources |",
            f.verification_path().display()
        ),
    );
    f.write(
        &f.verification_path(),
        r#"{"engines": {"lock/1": {"checks": [{"name": "differential", "passed": true}]}}}"#,
    );
    let (summary, markdown) = report(&f);
    let verification_at = markdown
        .find("## Verification")
        .expect("a verification section");
    let stale_at = markdown
        .find("*These checks are stale: no engine-source fingerprint recorded")
        .expect("the checks are stale");
    assert!(verification_at < stale_at, "{markdown}");
    assert!(
        summary
            .stale
            .iter()
            .any(|line| line.starts_with("verification at ")),
        "{:?}",
        summary.stale
    );
}

#[test]
fn missing_inputs_are_stated_with_the_command_that_makes_them() {
    let f = Fixture::new("report-empty");
    let (summary, markdown) = report(&f);
    assert!(summary.plots.is_empty());
    assert_eq!(summary.criterion_results, 0);
    assert_eq!(summary.missing.len(), 4);
    assert!(!markdown.contains("!["), "a plot was linked without data");
    let criterion = f.criterion().display().to_string();
    let extra = f.extra().display().to_string();
    for line in [
        format!("No engine workload results in `{criterion}`: run `cargo bench` to produce them."),
        format!("No extra stats for `mixed` in `{extra}`: run `cargo bench` to produce them."),
        format!(
            "Ours: no `micro_append` results in `{criterion}`: run `cargo bench --bench micro`"
        ),
        format!("No `calibration` results in `{criterion}`: run `cargo bench --bench calibration`"),
        format!(
            "No duel at `{}`: run `cargo run --release -- duel` to produce it.",
            f.reports().join("duel.json").display()
        ),
        format!(
            "No verification summary at `{}`: run `lockchan verify`",
            f.verification_path().display()
        ),
        "No machine recorded".to_owned(),
        // The talk's figures are quoted, so they stand even with nothing measured.
        "| mutex | 4,000,000 | 500 ms | 8,000,000 |".to_owned(),
    ] {
        assert_contains(&markdown, &line);
    }
    let appendix = read(&f.reports().join(APPENDIX_FILE));
    assert_contains(
        &appendix,
        &format!("No extra stats in `{extra}`: run `cargo bench` to produce them."),
    );
}

#[test]
fn only_the_latest_run_is_read_and_a_half_written_result_is_noted() {
    let f = Fixture::new("report-base");
    f.bench("mixed", "lock-2", "t2", Some(1000), 4_000_000.0);
    // Criterion keeps the run before in `base`; it must not count.
    let dir = f.criterion().join("mixed/lock-2/t2");
    let benchmark = std::fs::read_to_string(dir.join("new/benchmark.json"))
        .expect("the fixture wrote benchmark.json");
    f.write(&dir.join("base/benchmark.json"), &benchmark);
    f.write(
        &dir.join("base/estimates.json"),
        &std::fs::read_to_string(dir.join("new/estimates.json"))
            .expect("the fixture wrote estimates.json")
            .replace("4000000", "1"),
    );
    f.write(
        &f.criterion().join("mixed/actor-2/t2/new/benchmark.json"),
        &benchmark,
    );
    let (summary, markdown) = report(&f);
    assert_eq!(summary.criterion_results, 1);
    assert_contains(&markdown, "| lock/2 | t2 | 250,000 |");
    assert_contains(
        &markdown,
        &format!(
            "- `{}` has no `estimates.json` beside it, so it was left out",
            f.criterion()
                .join("mixed/actor-2/t2/new/benchmark.json")
                .display()
        ),
    );
}

#[test]
fn a_corrupt_input_is_an_error_that_names_it() {
    let f = Fixture::new("report-corrupt");
    let duel = f.reports().join("duel.json");
    f.write(&duel, "{\"config\": 3}");
    let err = write_report(&f.criterion(), &f.extra(), &f.reports())
        .expect_err("a corrupt duel stops the report");
    assert!(matches!(err, ReportError::Input(InputError::Parse { .. })));
    assert_eq!(err.to_string(), format!("cannot parse {}", duel.display()));
}

#[test]
fn ids_parse_into_engines_threads_and_variants() {
    assert_eq!(Contender::parse("model"), Contender::Model);
    assert_eq!(Contender::parse("lock-4"), Contender::Engine(lock(4)));
    assert_eq!(Contender::parse("actor/2"), Contender::Engine(actor(2)));
    assert_eq!(
        Contender::parse("actor-0"),
        Contender::Case("actor-0".to_owned())
    );
    assert_eq!(
        Contender::parse("uncontended_lock"),
        Contender::Case("uncontended_lock".to_owned())
    );
    let param = |raw: &str| {
        let p = Param::parse(raw);
        (p.threads, p.variant)
    };
    assert_eq!(param("t4"), (Some(4), String::new()));
    assert_eq!(param("t8-open-50k"), (Some(8), "open-50k".to_owned()));
    assert_eq!(param("open-50k"), (None, "open-50k".to_owned()));
    assert_eq!(param("w4"), (None, "w4".to_owned()));
    assert_eq!(param("t+4"), (None, "t+4".to_owned()));
    let mut sorted = vec!["t16", "t2", "t1", "t4"];
    sorted.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(sorted, ["t1", "t2", "t4", "t16"]);
    let mut engines = vec![
        Contender::Engine(actor(1)),
        Contender::Engine(lock(4)),
        Contender::Model,
        Contender::Engine(lock(1)),
    ];
    engines.sort();
    assert_eq!(
        engines,
        [
            Contender::Model,
            Contender::Engine(lock(1)),
            Contender::Engine(lock(4)),
            Contender::Engine(actor(1)),
        ]
    );
}
