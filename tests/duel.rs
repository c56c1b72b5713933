//! The duel on a small workload: every contender does the same work and keeps every rule.

use lockchan::EngineKind;
use lockchan::duel::{DuelConfig, render_table, run_duel};

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
}
