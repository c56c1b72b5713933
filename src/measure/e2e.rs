//! The end-to-end duel's trials, declared once. `lockchan duel --e2e` runs every engine once
//! per interleaved round (a real server, real sockets, the load generator) and keeps each
//! run's figures as trials in a [`ResultSet`] beside its JSON: `e2e.json` → `e2e-trials.json`
//! ([`trials_path`]). The gate reads `reports/e2e-trials.json` ([`E2E_TRIALS_FILE`]) and
//! judges the candidates that have trials there on these metrics too.
//!
//! The file: one case per run of the command, `e2e/<scenario>/c<clients>` ([`case_id`],
//! `e2e/mixed/c19000`); contenders are engine specs as they display (`lock/1`); the metrics
//! are [`E2E_METRICS`]:
//!
//! - `relay_p99_ms` (ms, lower is better): the run's p99 `say` relay latency, from one
//!   member's intended send to its arrival at another;
//! - `server_cpu_us_per_frame` (µs, lower is better): the server's CPU time per frame its
//!   clients received over the steady window, as the load report defines it
//!   (`LoadReport::server_cpu_us_per_frame`).
//!
//! The verdict lines under the e2e table judge one more, which the gate does not
//! ([`JUDGED_METRICS`]): `tick_p99_ms` (ms, lower is better), the run's p99 `tick` from the
//! server's stamp to its arrival, the figure tick spreading (`--tick-phases`) is about.
//!
//! A run without a figure (no relay sampled, no steady window) adds no trial to that metric,
//! so a contender's trials on it may be fewer than the rounds.

use std::path::{Path, PathBuf};

use crate::measure::verdict::{
    Better, Criteria, PairMetric, Provenance, ResultSet, ResultsError, pair_lines,
};

/// The gate's end-to-end trials inside the reports directory: the trials of the default
/// `--e2e-out`, `reports/e2e.json`.
pub const E2E_TRIALS_FILE: &str = "e2e-trials.json";

/// What [`trials_path`] adds to the stem of the e2e JSON.
const TRIALS_SUFFIX: &str = "-trials";

/// The relay p99 metric: milliseconds, lower is better.
pub const RELAY_P99_METRIC: &str = "relay_p99_ms";
/// The server's CPU per delivered frame: microseconds, lower is better.
pub const CPU_PER_FRAME_METRIC: &str = "server_cpu_us_per_frame";
/// The tick p99: milliseconds, lower is better; judged under the table, not by the gate.
pub const TICK_P99_METRIC: &str = "tick_p99_ms";

/// A metric of the end-to-end trials: its name in the result set, its unit, its direction,
/// and what a sentence calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct E2eMetric {
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
    pub label: &'static str,
}

const RELAY_P99: E2eMetric = E2eMetric {
    name: RELAY_P99_METRIC,
    unit: "ms",
    better: Better::Lower,
    label: "relay p99",
};
const CPU_PER_FRAME: E2eMetric = E2eMetric {
    name: CPU_PER_FRAME_METRIC,
    unit: "µs",
    better: Better::Lower,
    label: "server CPU per frame",
};
const TICK_P99: E2eMetric = E2eMetric {
    name: TICK_P99_METRIC,
    unit: "ms",
    better: Better::Lower,
    label: "tick p99",
};

/// The metrics of the end-to-end trials the gate judges, in the order it judges them.
pub const E2E_METRICS: [E2eMetric; 2] = [RELAY_P99, CPU_PER_FRAME];

/// Every metric of the end-to-end trials, in the order the lines under the table judge them.
pub const JUDGED_METRICS: [E2eMetric; 3] = [RELAY_P99, TICK_P99, CPU_PER_FRAME];

/// The case id of one end-to-end run's trials: `e2e/mixed/c19000`.
pub fn case_id(scenario: &str, clients: usize) -> String {
    format!("e2e/{scenario}/c{clients}")
}

/// The scenario and client count of a case id [`case_id`] made; `None` for any other id.
pub fn parse_case(case: &str) -> Option<(&str, usize)> {
    let (scenario, clients) = case.strip_prefix("e2e/")?.rsplit_once("/c")?;
    let clients = clients.parse().ok()?;
    (!scenario.is_empty() && !scenario.contains('/')).then_some((scenario, clients))
}

/// Of a set's cases, the one of `scenario` with the most clients.
pub fn case_of<'a>(set: &'a ResultSet, scenario: &str) -> Option<&'a str> {
    set.cases
        .keys()
        .filter_map(|case| Some((case.as_str(), parse_case(case)?)))
        .filter(|(_, (s, _))| *s == scenario)
        .max_by_key(|(_, (_, clients))| *clients)
        .map(|(case, _)| case)
}

/// Where the trials of an end-to-end run written to `out` go: beside it, its stem and
/// `-trials` (`reports/e2e.json` → `reports/e2e-trials.json`, `sweep/chat-2k.json` →
/// `sweep/chat-2k-trials.json`), so runs written under other names keep their own.
pub fn trials_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "e2e".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}{TRIALS_SUFFIX}.json"))
}

/// Whether a file name is one [`trials_path`] makes, not an e2e JSON of runs.
pub fn is_trials_file(name: &str) -> bool {
    name.strip_suffix(".json")
        .is_some_and(|stem| stem.ends_with(TRIALS_SUFFIX))
}

/// One run's figures, each `None` where the run did not measure it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct E2eFigures {
    pub relay_p99_ms: Option<f64>,
    pub server_cpu_us_per_frame: Option<f64>,
    pub tick_p99_ms: Option<f64>,
}

impl E2eFigures {
    fn of(&self, metric: &str) -> Option<f64> {
        match metric {
            RELAY_P99_METRIC => self.relay_p99_ms,
            CPU_PER_FRAME_METRIC => self.server_cpu_us_per_frame,
            TICK_P99_METRIC => self.tick_p99_ms,
            _ => None,
        }
    }
}

/// The trials of one end-to-end run, built round by round.
#[derive(Clone, Debug)]
pub struct E2eTrials {
    set: ResultSet,
    case: String,
}

impl E2eTrials {
    /// No trial yet, of `clients` clients playing `scenario`, measured under `provenance`
    /// ([`Provenance::read`] for a run starting now).
    pub fn new(scenario: &str, clients: usize, provenance: Provenance) -> E2eTrials {
        let mut set = ResultSet::new(provenance);
        for metric in JUDGED_METRICS {
            set.declare(metric.name, metric.unit, metric.better);
        }
        E2eTrials {
            set,
            case: case_id(scenario, clients),
        }
    }

    /// Adds one run of `engine`: call it once per run, in the order run.
    pub fn record(&mut self, engine: &str, figures: &E2eFigures) -> Result<(), ResultsError> {
        for metric in JUDGED_METRICS {
            if let Some(value) = figures.of(metric.name) {
                self.set.push(&self.case, engine, metric.name, value)?;
            }
        }
        Ok(())
    }

    pub fn case(&self) -> &str {
        &self.case
    }

    pub fn set(&self) -> &ResultSet {
        &self.set
    }

    /// `engine`'s trials on `metric`, empty when it has none.
    pub fn trials(&self, engine: &str, metric: &str) -> &[f64] {
        self.set.trials(&self.case, engine, metric).unwrap_or(&[])
    }

    /// The verdict lines: every pair of `engines`, in the order given, on each metric, in
    /// the duel's words ([`pair_lines`]).
    pub fn verdict_lines(&self, engines: &[String], criteria: Criteria) -> Vec<String> {
        let mut lines = Vec::new();
        for (i, a) in engines.iter().enumerate() {
            for b in &engines[i + 1..] {
                lines.extend(self.pair(a, b, criteria));
            }
        }
        lines
    }

    /// The verdict lines of each of `engines` against `baseline` (the floor), on each metric.
    pub fn lines_against(
        &self,
        engines: &[String],
        baseline: &str,
        criteria: Criteria,
    ) -> Vec<String> {
        engines
            .iter()
            .flat_map(|engine| self.pair(engine, baseline, criteria))
            .collect()
    }

    fn pair(&self, a: &str, b: &str, criteria: Criteria) -> Vec<String> {
        let metrics: Vec<PairMetric<'_>> = JUDGED_METRICS
            .iter()
            .map(|metric| PairMetric {
                label: metric.label,
                better: metric.better,
                a: self.trials(a, metric.name),
                b: self.trials(b, metric.name),
            })
            .collect();
        pair_lines(a, b, &metrics, criteria, "--trials")
    }

    /// The set without `contender`'s trials: the floor's stay out of the file the gate reads.
    pub fn set_without(&self, contender: &str) -> ResultSet {
        let mut set = self.set.clone();
        for case in set.cases.values_mut() {
            case.remove(contender);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_read_back_and_others_do_not() {
        let case = case_id("mixed", 19_000);
        assert_eq!(case, "e2e/mixed/c19000");
        assert_eq!(parse_case(&case), Some(("mixed", 19_000)));
        for other in [
            "mixed/t4",
            "e2e/mixed",
            "e2e//c10",
            "e2e/a/b/c10",
            "e2e/mixed/cx",
        ] {
            assert_eq!(parse_case(other), None, "{other}");
        }
    }

    #[test]
    fn the_gates_file_is_the_default_runs_trials_and_other_runs_keep_their_own() {
        assert_eq!(
            trials_path(Path::new("reports/e2e.json")),
            Path::new("reports").join(E2E_TRIALS_FILE)
        );
        assert_eq!(
            trials_path(Path::new("reports/sweep/chat-2k.json")),
            Path::new("reports/sweep/chat-2k-trials.json")
        );
        assert!(is_trials_file(E2E_TRIALS_FILE));
        assert!(is_trials_file("e2e-idle-1k-trials.json"));
        assert!(!is_trials_file("e2e.json") && !is_trials_file("e2e-idle-1k.json"));
    }

    #[test]
    fn a_run_adds_the_figures_it_has_and_the_case_with_most_clients_is_found() {
        let mut trials = E2eTrials::new("mixed", 200, Provenance::default());
        for (relay, cpu) in [
            (Some(2.0), Some(30.0)),
            (Some(3.0), None),
            (None, Some(40.0)),
        ] {
            let figures = E2eFigures {
                relay_p99_ms: relay,
                server_cpu_us_per_frame: cpu,
                tick_p99_ms: None,
            };
            trials.record("lock/1", &figures).expect("declared, finite");
        }
        assert_eq!(trials.trials("lock/1", RELAY_P99_METRIC), [2.0, 3.0]);
        assert_eq!(trials.trials("lock/1", CPU_PER_FRAME_METRIC), [30.0, 40.0]);
        assert!(trials.trials("actor/1", RELAY_P99_METRIC).is_empty());
        let set = trials.set();
        assert_eq!(set.metrics[RELAY_P99_METRIC].unit, "ms");
        assert_eq!(set.metrics[CPU_PER_FRAME_METRIC].better, Better::Lower);
        let nan = E2eFigures {
            relay_p99_ms: Some(f64::NAN),
            server_cpu_us_per_frame: None,
            tick_p99_ms: None,
        };
        assert!(trials.record("lock/1", &nan).is_err());

        let mut more = trials.set().clone();
        more.push(&case_id("mixed", 1000), "lock/1", RELAY_P99_METRIC, 1.0)
            .expect("declared");
        more.push(&case_id("chat", 5000), "lock/1", RELAY_P99_METRIC, 1.0)
            .expect("declared");
        assert_eq!(case_of(&more, "mixed"), Some("e2e/mixed/c1000"));
        assert_eq!(case_of(&more, "chat"), Some("e2e/chat/c5000"));
        assert_eq!(case_of(&more, "idle"), None);
    }

    #[test]
    fn verdict_lines_judge_every_pair_on_every_metric() {
        let mut trials = E2eTrials::new("mixed", 200, Provenance::default());
        for round in 0..5 {
            let wobble = 1.0 + 0.01 * f64::from(round);
            for (engine, relay, tick) in [("lock/1", 2.0, 40.0), ("actor/1", 6.0, 20.0)] {
                let figures = E2eFigures {
                    relay_p99_ms: Some(relay * wobble),
                    server_cpu_us_per_frame: Some(20.0 * wobble),
                    tick_p99_ms: Some(tick * wobble),
                };
                trials.record(engine, &figures).expect("declared, finite");
            }
        }
        let engines = ["lock/1".to_owned(), "actor/1".to_owned()];
        let lines = trials.verdict_lines(&engines, Criteria::default());
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with("relay p99: lock/1 is faster than actor/1 by "),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("tick p99: actor/1 is faster than lock/1 by "),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("server CPU per frame: lock/1 ~ actor/1: no significant"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn engines_are_judged_against_the_floor_and_the_floor_stays_out_of_the_set() {
        let mut trials = E2eTrials::new("broadcast", 300, Provenance::default());
        for round in 0..5 {
            let wobble = 1.0 + 0.01 * f64::from(round);
            for (contender, cpu) in [("floor", 10.0), ("lock/1", 20.0)] {
                let figures = E2eFigures {
                    relay_p99_ms: None,
                    server_cpu_us_per_frame: Some(cpu * wobble),
                    tick_p99_ms: None,
                };
                trials
                    .record(contender, &figures)
                    .expect("declared, finite");
            }
        }
        let engines = ["lock/1".to_owned()];
        assert!(
            trials
                .verdict_lines(&engines, Criteria::default())
                .is_empty()
        );
        let lines = trials.lines_against(&engines, "floor", Criteria::default());
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].starts_with("relay p99: lock/1 vs floor cannot be judged"));
        assert!(lines[1].starts_with("tick p99: lock/1 vs floor cannot be judged"));
        assert!(
            lines[2].starts_with("server CPU per frame: floor is faster than lock/1 by "),
            "{}",
            lines[2]
        );
        let set = trials.set_without("floor");
        let case = &set.cases[trials.case()];
        assert!(case.contains_key("lock/1") && !case.contains_key("floor"));
    }
}
