//! The gate's choice on synthetic trials and verification summaries: winners, ties and the
//! tie rule, unverified engines, end-to-end trials used or left out, and what gate.json keeps.

use super::super::{GATE_FILE, Gate, decide};
use super::*;
use crate::engines::registry::EngineKind;
use crate::measure::e2e::{E2eFigures, E2eTrials, case_id};
use crate::measure::testkit::Fixture;

/// `n` trials around `centre`, spread ±3% in a fixed pattern (the rank test sees overlap
/// between two contenders whose centres are close).
fn around(centre: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| centre * (1.0 + 0.03 * (((i * 7) % 11) as f64 / 5.0 - 1.0)))
        .collect()
}

/// Trials of `(spec, ops/s, p99 µs)` centres, ten rounds each.
fn trials(figures: &[(&str, f64, f64)]) -> ResultSet {
    let mut set = ResultSet::new(Provenance::default());
    set.declare(OPS_METRIC, "ops/s", Better::Higher);
    set.declare(P99_METRIC, "µs", Better::Lower);
    for &(spec, ops, p99) in figures {
        for (o, p) in around(ops, 10).into_iter().zip(around(p99, 10)) {
            set.push(&gate_case(), spec, OPS_METRIC, o)
                .expect("declared");
            set.push(&gate_case(), spec, P99_METRIC, p)
                .expect("declared");
        }
    }
    set
}

fn decide_with(fixture: &Fixture, set: Option<&ResultSet>) -> Gate {
    decide(set, &fixture.gate_paths(), Criteria::default()).expect("the gate decides")
}

fn choice(gate: &Gate) -> Option<String> {
    gate.choice
        .as_ref()
        .map(|c| c.spec().expect("a registered engine").to_string())
}

#[test]
fn a_candidate_that_beats_every_other_wins_and_the_reason_gives_the_verdict() {
    let fixture = Fixture::new("gate-winner");
    fixture.verification(&[
        ("lock/1", &[true]),
        ("lock/4", &[true]),
        ("actor/2", &[true]),
    ]);
    let set = trials(&[
        ("lock/1", 500_000.0, 900.0),
        ("lock/4", 1_000_000.0, 900.0),
        ("actor/2", 400_000.0, 2_000.0),
    ]);
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(choice(&gate).as_deref(), Some("lock/4"));
    let decision = gate.decision.as_ref().expect("a decision");
    assert_eq!(decision.winner.as_deref(), Some("lock/4"));
    assert_eq!(decision.rounds, 10);
    // Three pairs, two metrics each.
    assert_eq!(decision.verdicts.len(), 6);
    assert!(
        gate.reason.starts_with(
            "lock/4 beats every other verified engine on `mixed` at 4 caller threads over 10 \
             interleaved rounds"
        ),
        "{}",
        gate.reason
    );
    assert!(
        gate.reason
            .contains("its narrowest win, on ops_per_sec: lock/4 is faster than lock/1 by"),
        "{}",
        gate.reason
    );
    assert!(gate.reason.contains("(95% CI "), "{}", gate.reason);
    let lock4 = gate
        .candidates
        .iter()
        .find(|c| c.label() == "lock/4")
        .expect("listed");
    assert_eq!(lock4.trials, 10);
    assert!(
        lock4
            .median_ops_per_sec
            .is_some_and(|m| (m - 1e6).abs() < 4e4)
    );
}

#[test]
fn indistinguishable_candidates_tie_and_the_rule_picks_fewer_shards_then_registry_order() {
    let fixture = Fixture::new("gate-tie");
    fixture.verification(&[
        ("lock/1", &[true]),
        ("lock/2", &[true]),
        ("actor/1", &[true]),
        ("actor/2", &[true]),
    ]);
    // lock/2 and actor/1 are 1–2% apart from lock/1: ties. actor/2 is clearly behind.
    let set = trials(&[
        ("actor/1", 1_010_000.0, 1_000.0),
        ("lock/2", 1_020_000.0, 990.0),
        ("lock/1", 1_000_000.0, 1_000.0),
        ("actor/2", 600_000.0, 3_000.0),
    ]);
    let gate = decide_with(&fixture, Some(&set));
    let decision = gate.decision.as_ref().expect("a decision");
    assert_eq!(decision.winner, None);
    assert_eq!(decision.unbeaten, ["lock/1", "lock/2", "actor/1"]);
    // actor/1 and lock/1 both have one shard: the registry lists lock first.
    assert_eq!(choice(&gate).as_deref(), Some("lock/1"));
    assert_eq!(gate.verdict_key(), "tie among lock/1, lock/2, actor/1");
    assert!(
        gate.reason.contains(
            "lock/1, lock/2, actor/1 are tied (no significant difference of at least 5% that \
             one wins and none loses); the tie rule (fewer shards first, then the registry's \
             order) serves lock/1; actor/2 lost to one of them"
        ),
        "{}",
        gate.reason
    );

    // With lock/1 unverified, the rule goes to the other one-shard engine.
    fixture.verification(&[
        ("lock/2", &[true]),
        ("actor/1", &[true]),
        ("actor/2", &[true]),
    ]);
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(choice(&gate).as_deref(), Some("actor/1"));
    assert!(
        gate.reason.contains("; lock/1, lock/4, actor/4"),
        "{}",
        gate.reason
    );
    assert!(
        gate.reason.contains(
            " not verified, so not judged; decided on the `mixed/t4` trials alone: no \
             end-to-end trials at "
        ),
        "{}",
        gate.reason
    );
}

#[test]
fn a_trade_off_between_throughput_and_latency_is_a_tie() {
    let fixture = Fixture::new("gate-trade-off");
    fixture.verification(&[("lock/2", &[true]), ("actor/1", &[true])]);
    let set = trials(&[
        ("lock/2", 1_300_000.0, 2_000.0),
        ("actor/1", 1_000_000.0, 800.0),
    ]);
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(
        gate.decision.as_ref().map(|d| d.unbeaten.clone()),
        Some(vec!["lock/2".to_owned(), "actor/1".to_owned()])
    );
    assert_eq!(choice(&gate).as_deref(), Some("actor/1"));
}

#[test]
fn an_unverified_engine_is_never_chosen_however_fast() {
    let fixture = Fixture::new("gate-unverified");
    // lock/4 failed a check; lock/1 is not named, which is as unverified as failing.
    fixture.verification(&[("lock/4", &[true, false]), ("actor/2", &[true])]);
    let set = trials(&[
        ("lock/4", 3_000_000.0, 100.0),
        ("lock/1", 2_000_000.0, 100.0),
        ("actor/2", 400_000.0, 2_000.0),
    ]);
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(choice(&gate).as_deref(), Some("actor/2"));
    assert!(
        gate.reason
            .starts_with("actor/2 is the only verified engine measured")
    );
    let decision = gate.decision.as_ref().expect("a decision");
    assert!(decision.verdicts.is_empty());
    let verified: Vec<(String, bool)> = gate
        .candidates
        .iter()
        .map(|c| (c.label(), c.verified))
        .collect();
    assert!(verified.contains(&("lock/4".to_owned(), false)));
    assert!(verified.contains(&("actor/2".to_owned(), true)));
}

#[test]
fn nothing_is_chosen_without_verification_checks_passed_or_trials() {
    let fixture = Fixture::new("gate-nothing");
    let set = trials(&[("lock/1", 1_000_000.0, 100.0)]);
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(gate.choice, None);
    assert_eq!(
        gate.reason,
        format!(
            "no {}: run `lockchan verify` first; an unverified engine is never served",
            fixture.verification_path().display()
        )
    );
    assert!(!gate.inputs.verification.found && gate.inputs.trials.found);

    // An engine with no checks at all proves nothing.
    fixture.verification(&[("lock/1", &[])]);
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(gate.choice, None);
    assert!(gate.reason.starts_with("no engine passed every check in "));

    fixture.verification(&[("lock/1", &[true])]);
    let gate = decide_with(&fixture, None);
    assert_eq!(gate.choice, None);
    assert_eq!(
        gate.reason,
        "no verified engine has trials on `mixed/t4`: run `lockchan gate` to measure them"
    );
}

#[test]
fn the_decision_is_written_with_its_statistics_and_reads_back() {
    let fixture = Fixture::new("gate-written");
    fixture.verification(&[("lock/1", &[true]), ("actor/1", &[true])]);
    let set = trials(&[
        ("lock/1", 1_000_000.0, 900.0),
        ("actor/1", 700_000.0, 1_500.0),
    ]);
    let gate = decide_with(&fixture, Some(&set));
    let out = fixture.reports().join(GATE_FILE);
    gate.save(&out).expect("written");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("gate.json exists"))
            .expect("gate.json is JSON");
    let verdict = &json["decision"]["verdicts"][0];
    assert_eq!(verdict["metric"], "ops_per_sec");
    assert_eq!(verdict["verdict"]["n_a"], 10);
    assert!(verdict["verdict"]["ratio"]["lo"].is_number());
    assert!(verdict["verdict"]["p_value"].is_number());
    assert_eq!(json["decision"]["tie_rule"], TIE_RULE);
    assert!(json["decision"]["provenance"].is_object());
    // JSON floats may come back one ulp off; the decision itself reads back exactly.
    let loaded = Gate::load(&out).expect("loads");
    assert_eq!(
        (&loaded.choice, &loaded.reason, loaded.verdict_key()),
        (&gate.choice, &gate.reason, gate.verdict_key())
    );
    assert_eq!(loaded.candidates, gate.candidates);
    assert_eq!(
        gate.choice.map(|c| c.spec().expect("known")),
        Some(EngineSpec::new(EngineKind::LOCK, 1))
    );
}

#[test]
fn a_gate_speaks_for_the_engine_sources_its_trials_measured() {
    let fixture = Fixture::new("gate-sources");
    fixture.verification(&[("lock/1", &[true]), ("lock/2", &[true])]);
    let mut set = tied_trials();
    let fresh = decide_with(&fixture, Some(&set));
    assert_eq!(fresh.stale_reason(), None);
    // Trials of other engine code, decided again by this binary (`--from-trials`).
    set.provenance.engine_source_hash = Some("0123".to_owned());
    let stale = decide_with(&fixture, Some(&set));
    assert_eq!(stale.engine_source_hash.as_deref(), Some("0123"));
    assert!(stale.stale_reason().is_some_and(|r| r.contains("0123")));
    // Trials that do not say what they measured speak for nothing in particular.
    set.provenance.engine_source_hash = None;
    assert!(decide_with(&fixture, Some(&set)).stale_reason().is_some());
}

/// Where and from what trials were measured: this build's engine sources unless `hash`
/// says otherwise, on `cpu` with two cores.
fn provenance(hash: &str, cpu: &str) -> Provenance {
    Provenance {
        cpu: Some(cpu.to_owned()),
        cores: Some(2),
        engine_source_hash: Some(hash.to_owned()),
        ..Provenance::default()
    }
}

/// `mixed` trials on which lock/1, lock/2 and lock/4 are indistinguishable, measured on
/// "Test CPU".
fn tied_trials() -> ResultSet {
    let mut set = trials(&[
        ("lock/1", 1_000_000.0, 1_000.0),
        ("lock/2", 1_010_000.0, 1_000.0),
        ("lock/4", 1_005_000.0, 1_000.0),
    ]);
    set.provenance = provenance(ENGINE_SOURCE_HASH, "Test CPU");
    set
}

/// End-to-end trials of the `mixed` scenario, `rounds` runs of each `(spec, relay p99 ms)`,
/// every engine at the same CPU per frame, written where the gate looks for them.
fn write_e2e(
    fixture: &Fixture,
    provenance: Provenance,
    rounds: u32,
    relay: &[(&str, f64)],
) -> E2eTrials {
    let mut trials = E2eTrials::new(GATE_E2E_SCENARIO, 200, provenance);
    for round in 0..rounds {
        let wobble = 1.0 + 0.01 * f64::from(round);
        for &(spec, relay_p99) in relay {
            let figures = E2eFigures {
                relay_p99_ms: Some(relay_p99 * wobble),
                server_cpu_us_per_frame: Some(20.0 * wobble),
                tick_p99_ms: None,
            };
            trials.record(spec, &figures).expect("declared, finite");
        }
    }
    trials
        .set()
        .write(&fixture.gate_paths().e2e_trials)
        .expect("the e2e trials are written");
    trials
}

fn e2e_ignored(gate: &Gate) -> Option<String> {
    gate.inputs
        .e2e_trials
        .as_ref()
        .expect("the gate looked for e2e trials")
        .ignored
        .clone()
}

#[test]
fn without_end_to_end_trials_the_decision_is_the_mixed_trials_alone_and_says_so() {
    let fixture = Fixture::new("gate-e2e-absent");
    fixture.verification(&[("lock/1", &[true]), ("lock/2", &[true])]);
    let set = tied_trials();
    let gate = decide_with(&fixture, Some(&set));
    let decision = gate.decision.as_ref().expect("a decision");
    assert_eq!(decision.winner, None);
    assert_eq!(decision.unbeaten, ["lock/1", "lock/2"]);
    assert_eq!(choice(&gate).as_deref(), Some("lock/1"));
    let metrics: Vec<&str> = decision
        .verdicts
        .iter()
        .map(|v| v.metric.as_str())
        .collect();
    assert_eq!(metrics, [OPS_METRIC, P99_METRIC]);
    assert_eq!(decision.end_to_end, None);
    assert!(
        gate.reason.ends_with(&format!(
            "; decided on the `mixed/t4` trials alone: no end-to-end trials at {}",
            fixture.gate_paths().e2e_trials.display()
        )),
        "{}",
        gate.reason
    );
    let input = gate.inputs.e2e_trials.as_ref().expect("looked for");
    assert!(!input.found && input.ignored.is_none());
    assert!(gate.candidates.iter().all(|c| c.e2e_trials == 0));
}

#[test]
fn end_to_end_trials_favouring_one_candidate_on_relay_p99_make_it_win_a_tied_gate() {
    let fixture = Fixture::new("gate-e2e-wins");
    fixture.verification(&[("lock/1", &[true]), ("lock/2", &[true])]);
    let set = tied_trials();
    let e2e = write_e2e(
        &fixture,
        provenance(ENGINE_SOURCE_HASH, "Test CPU"),
        5,
        &[("lock/1", 6.0), ("lock/2", 2.0), ("actor/1", 1.0)],
    );
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(choice(&gate).as_deref(), Some("lock/2"));
    let decision = gate.decision.as_ref().expect("a decision");
    assert_eq!(decision.winner.as_deref(), Some("lock/2"));
    // One pair on four metrics; actor/1 is not verified, so its trials judge nothing.
    let judged: Vec<(&str, Option<&str>)> = decision
        .verdicts
        .iter()
        .map(|v| (v.metric.as_str(), v.verdict.winner()))
        .collect();
    assert_eq!(
        judged,
        [
            (OPS_METRIC, None),
            (P99_METRIC, None),
            (RELAY_P99_METRIC, Some("lock/2")),
            (CPU_PER_FRAME_METRIC, None),
        ]
    );
    for verdict in &decision.verdicts {
        assert!((verdict.verdict.criteria.alpha - 0.05 / 4.0).abs() < 1e-12);
    }
    assert_eq!(
        decision.end_to_end,
        Some(EndToEndEvidence {
            case: case_id(GATE_E2E_SCENARIO, 200),
            rounds: 5,
            provenance: e2e.set().provenance.clone(),
        })
    );
    for part in [
        "lock/2 beats every other verified engine on `mixed` at 4 caller threads over 10 \
         interleaved rounds: faster on throughput, p99, relay p99 or server CPU per frame \
         against each, slower on none; its narrowest win, on relay_p99_ms: lock/2 is faster \
         than lock/1 by",
        "; decided on the `mixed/t4` trials and the end-to-end trials of `e2e/mixed/c200` \
         (lock/1: 5, lock/2: 5 runs), on relay p99 and server CPU per frame",
    ] {
        assert!(gate.reason.contains(part), "{}", gate.reason);
    }
    assert_eq!(e2e_ignored(&gate), None);
    let lock2 = gate
        .candidates
        .iter()
        .find(|c| c.label() == "lock/2")
        .expect("listed");
    assert_eq!(lock2.e2e_trials, 5);
    assert!(
        lock2
            .median_relay_p99_ms
            .is_some_and(|m| (m - 2.04).abs() < 1e-9)
    );
    assert!(
        lock2
            .median_server_cpu_us_per_frame
            .is_some_and(|m| (m - 20.4).abs() < 1e-9)
    );

    // The same decision read back from gate.json: the e2e verdicts are recorded like the
    // others.
    let out = fixture.reports().join(GATE_FILE);
    gate.save(&out).expect("written");
    let loaded = Gate::load(&out).expect("loads");
    assert_eq!(loaded.verdict_key(), "lock/2 wins");
    assert_eq!(loaded.inputs, gate.inputs);
}

#[test]
fn stale_or_foreign_end_to_end_trials_are_left_out_and_the_reason_says_why() {
    let fixture = Fixture::new("gate-e2e-stale");
    fixture.verification(&[("lock/1", &[true]), ("lock/2", &[true])]);
    let set = tied_trials();
    let relay = [("lock/1", 6.0), ("lock/2", 2.0)];
    let path = fixture.gate_paths().e2e_trials;
    for (provenance, why) in [
        (
            provenance("0123456789abcdef", "Test CPU"),
            "stale: they were measured on engine sources 0123456789abcdef, and this binary \
             was built from"
                .to_owned(),
        ),
        (
            Provenance {
                engine_source_hash: None,
                ..provenance(ENGINE_SOURCE_HASH, "Test CPU")
            },
            "stale: they record no engine-source fingerprint".to_owned(),
        ),
        (
            provenance(ENGINE_SOURCE_HASH, "Other CPU"),
            "they were measured on another machine (Other CPU, 2 cores) than the `mixed/t4` \
             trials (Test CPU, 2 cores)"
                .to_owned(),
        ),
        (
            Provenance {
                cpu: None,
                ..provenance(ENGINE_SOURCE_HASH, "Test CPU")
            },
            "nothing says they were measured on the machine of the `mixed/t4` trials".to_owned(),
        ),
    ] {
        write_e2e(&fixture, provenance, 5, &relay);
        let gate = decide_with(&fixture, Some(&set));
        // The decision of the mixed trials alone: the tie rule's lock/1.
        assert_eq!(choice(&gate).as_deref(), Some("lock/1"), "{why}");
        let decision = gate.decision.as_ref().expect("a decision");
        assert_eq!(decision.verdicts.len(), 2, "{why}");
        assert_eq!(decision.end_to_end, None);
        assert!(
            gate.reason.contains(&format!(
                "; decided on the `mixed/t4` trials alone: the end-to-end trials at {} are \
                 not used, as {why}",
                path.display()
            )),
            "{}",
            gate.reason
        );
        let input = gate.inputs.e2e_trials.as_ref().expect("looked for");
        assert!(input.found);
        assert!(
            e2e_ignored(&gate).is_some_and(|ignored| ignored.starts_with(&why)),
            "{:?}",
            input.ignored
        );
        assert!(gate.candidates.iter().all(|c| c.e2e_trials == 0));
    }

    // Fresh trials of another scenario are not the gate's either.
    let mut chat = E2eTrials::new("chat", 200, provenance(ENGINE_SOURCE_HASH, "Test CPU"));
    for _ in 0..5 {
        let figures = E2eFigures {
            relay_p99_ms: Some(1.0),
            server_cpu_us_per_frame: None,
            tick_p99_ms: None,
        };
        chat.record("lock/2", &figures).expect("declared");
    }
    chat.set().write(&path).expect("written");
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(choice(&gate).as_deref(), Some("lock/1"));
    assert_eq!(
        e2e_ignored(&gate).as_deref(),
        Some("they hold no run of the `mixed` scenario")
    );
}

#[test]
fn end_to_end_trials_judge_only_the_pairs_that_have_them() {
    let fixture = Fixture::new("gate-e2e-partial");
    fixture.verification(&[
        ("lock/1", &[true]),
        ("lock/2", &[true]),
        ("lock/4", &[true]),
    ]);
    let set = tied_trials();
    // Only lock/1: no pair to judge, and the reason says so.
    write_e2e(
        &fixture,
        provenance(ENGINE_SOURCE_HASH, "Test CPU"),
        6,
        &[("lock/1", 6.0)],
    );
    let gate = decide_with(&fixture, Some(&set));
    assert_eq!(choice(&gate).as_deref(), Some("lock/1"));
    assert!(
        gate.reason.ends_with(
            "; decided on the `mixed/t4` trials alone: of the candidates measured, only \
             lock/1 has trials in `e2e/mixed/c200`, so no pair was judged on them"
        ),
        "{}",
        gate.reason
    );
    assert!(e2e_ignored(&gate).is_some());

    // lock/1 and lock/2, not lock/4: lock/2 beats lock/1 on relay p99 and ties lock/4 on
    // everything judged between them, so the two are unbeaten and the tie rule serves
    // lock/2. Six rounds: the family is 3 pairs × 2 metrics + 1 pair × 2, eight tests,
    // and 5 against 5 cannot reach 0.05 / 8.
    write_e2e(
        &fixture,
        provenance(ENGINE_SOURCE_HASH, "Test CPU"),
        6,
        &[("lock/1", 6.0), ("lock/2", 2.0)],
    );
    let gate = decide_with(&fixture, Some(&set));
    let decision = gate.decision.as_ref().expect("a decision");
    assert_eq!(decision.verdicts.len(), 8);
    assert_eq!(decision.winner, None);
    assert_eq!(decision.unbeaten, ["lock/2", "lock/4"]);
    assert_eq!(choice(&gate).as_deref(), Some("lock/2"));
    assert!(
        gate.reason.contains("(lock/1: 6, lock/2: 6 runs)")
            && gate.reason.contains("lock/1 lost to one of them"),
        "{}",
        gate.reason
    );
}
