//! The duel on a small workload: every contender does the same work and keeps every rule.

use lockchan::EngineKind;
use lockchan::duel::{DuelConfig, render_table, run_duel, verdict_lines};

#[test]
fn every_contender_does_the_same_work_and_keeps_the_rules() {
    let config = DuelConfig {
        clients: 120,
        threads: 3,
        shards: vec![1, 2],
        room_size: 3,
        rounds: 2,
        ..DuelConfig::default()
    };
    let report = run_duel(&config, |_| {});
    let names: Vec<_> = report.rows.iter().map(|row| row.engine.clone()).collect();
    let contenders = config.contenders();
    let mut expected = vec!["model".to_owned()];
    expected.extend(contenders.iter().map(|spec| spec.to_string()));
    assert_eq!(names, expected);
    // Every registered engine at every shard count it takes, shard count by shard count and
    // in the registry's order within one: lock/1, actor/1, lock/2, actor/2.
    for &shards in &config.shards {
        for kind in EngineKind::all() {
            let spec = lockchan::EngineSpec::new(kind, shards);
            assert!(contenders.contains(&spec), "the duel leaves out {spec}");
        }
    }
    let order = |spec: &lockchan::EngineSpec| (spec.shards, spec.kind);
    assert!(
        contenders.windows(2).all(|w| order(&w[0]) < order(&w[1])),
        "{contenders:?}"
    );
    let model = &report.rows[0];
    assert!(model.ops > 0 && model.events_delivered > 0);
    for row in &report.rows {
        assert!(row.invariants_held, "{}: {:?}", row.engine, row.broken);
        assert_eq!(row.ops, model.ops, "{}", row.engine);
        assert_eq!(
            row.events_delivered, model.events_delivered,
            "{}",
            row.engine
        );
        assert!(row.ops_per_sec > 0.0 && row.max_us >= row.p99_us);
    }
    let table = render_table(&report);
    assert_eq!(table.lines().count(), 2 + report.rows.len());

    // Every engine ran once per round, in interleaved rounds, and every trial is kept.
    assert_eq!(report.trials.len(), contenders.len() * config.trials);
    for spec in &contenders {
        let rounds: Vec<usize> = report
            .trials
            .iter()
            .filter(|t| t.engine == spec.to_string())
            .map(|t| t.round)
            .collect();
        assert_eq!(rounds, (0..config.trials).collect::<Vec<_>>(), "{spec}");
    }
    let firsts: std::collections::BTreeSet<&str> = (0..config.trials)
        .filter_map(|round| report.trials.iter().find(|t| t.round == round))
        .map(|t| t.engine.as_str())
        .collect();
    assert!(firsts.len() > 1, "every round ran in the same order");
    // The duel ends with verdicts: per shard count, each pair on throughput and on p99.
    let lines = verdict_lines(&report);
    let pairs: usize = config
        .shards
        .iter()
        .map(|&shards| {
            let n = EngineKind::all()
                .filter(|kind| kind.sharded() || shards == config.shards[0])
                .count();
            n * (n - 1) / 2
        })
        .sum();
    assert_eq!(lines.len(), 2 * pairs, "{lines:#?}");
    for line in &lines {
        assert!(
            (line.starts_with("throughput: ") || line.starts_with("p99: "))
                && (line.contains(" is faster than ")
                    || line.contains("no significant difference"))
                && (line.contains(&format!("{} rounds", config.trials))
                    || line.contains(&format!("n={}", config.trials))),
            "{line}"
        );
    }
}

#[test]
fn one_trial_each_is_not_judged() {
    let config = DuelConfig {
        clients: 24,
        threads: 2,
        shards: vec![1],
        room_size: 3,
        rounds: 1,
        trials: 1,
        ..DuelConfig::default()
    };
    let report = run_duel(&config, |_| {});
    let lines = verdict_lines(&report);
    assert!(!lines.is_empty());
    for line in lines {
        assert!(line.contains("one trial each, nothing to judge"), "{line}");
    }
}
