//! The duel on a small workload: every contender does the same work and keeps every rule.

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
    let names: Vec<_> = report.rows.iter().map(|row| row.engine.as_str()).collect();
    assert_eq!(names, ["model", "lock/1", "actor/1", "lock/2", "actor/2"]);
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
