//! The floor in `duel --e2e`: the contenders (the floor, `serve --floor`, beside the engines),
//! and the section under the table that states each engine run's figures as multiples of the
//! floor's median. docs/LOAD.md says which figures compare in which scenario.

use std::fmt;

use lockchan::EngineSpec;
use lockchan::floor::FLOOR_NAME;
use lockchan::load::{LatencySummary, LoadReport, Scenario};
use lockchan::verdict::median;

/// What one e2e run serves: the floor, or an engine, the latter at tick phases of its own when
/// the duel compares several (`duel --e2e --tick-phases 1,20`: `lock/1 ticks/20`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contender {
    Floor,
    Engine {
        spec: EngineSpec,
        tick_phases: Option<u32>,
    },
}

impl Contender {
    /// `lockchan serve`'s flags that choose it; `tick_phases` for every server that has none
    /// of its own.
    pub(crate) fn serve_args(self, tick_phases: Option<u32>) -> Vec<String> {
        let (mut args, own) = match self {
            Contender::Floor => (vec!["--floor".to_owned()], None),
            Contender::Engine { spec, tick_phases } => (
                vec![
                    "--engine".to_owned(),
                    spec.kind.to_string(),
                    "--shards".to_owned(),
                    spec.shards.to_string(),
                ],
                tick_phases,
            ),
        };
        if let Some(phases) = own.or(tick_phases) {
            args.extend(["--tick-phases".to_owned(), phases.to_string()]);
        }
        args
    }
}

impl fmt::Display for Contender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contender::Floor => f.write_str(FLOOR_NAME),
            Contender::Engine {
                spec,
                tick_phases: None,
            } => spec.fmt(f),
            Contender::Engine {
                spec,
                tick_phases: Some(phases),
            } => write!(f, "{spec} ticks/{phases}"),
        }
    }
}

/// The figures stated as multiples, in the section's column order, with their units.
const FIGURES: [(&str, &str); 4] = [
    ("relay p99", "ms"),
    ("shout p99", "ms"),
    ("tick p99", "ms"),
    ("CPU / frame", "µs"),
];

/// One run as the section reads it: its contender, round (from 0) and [`FIGURES`], each
/// `None` where the run measured none.
pub(crate) struct Row<'a> {
    name: &'a str,
    round: usize,
    figures: [Option<f64>; 4],
}

impl Row<'_> {
    pub(crate) fn of<'a>(name: &'a str, round: usize, load: &LoadReport) -> Row<'a> {
        let p99 = |l: &LatencySummary| (l.samples > 0).then_some(l.p99_ms);
        let figures = [
            p99(&load.relay),
            p99(&load.shout),
            p99(&load.tick),
            load.server_cpu_us_per_frame,
        ];
        Row {
            name,
            round,
            figures,
        }
    }
}

/// What the multiples mean in `scenario`: which compare like for like.
fn comparable(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Broadcast | Scenario::Idle | Scenario::Flood | Scenario::Stall => {
            "The floor delivers the same frames as an engine here (every shout and tick to \
             every client), so every multiple compares like for like."
        }
        Scenario::Chat => {
            "The floor relays each say to the sender's block of room-size ids, the deliveries \
             of a full room: relay, tick and CPU per frame compare like for like; the ramp's \
             join frames differ and fall outside the steady window."
        }
        Scenario::Match | Scenario::Mixed => {
            "The floor seats a join at once, with no `member_joined`, `member_left` or match \
             timeout, so its matchmaking clients cycle faster on fewer frames: every multiple \
             here is rough (relay and CPU per frame are of a lighter mix, and shouts and ticks \
             run beside it); use broadcast or chat for targets."
        }
    }
}

/// The section, or `None` without a floor run; `runs` in the table's order.
pub(crate) fn section(runs: &[Row<'_>], scenario: Scenario) -> Option<String> {
    let floor: Vec<[Option<f64>; 4]> = runs
        .iter()
        .filter(|run| run.name == FLOOR_NAME)
        .map(|run| run.figures)
        .collect();
    if floor.is_empty() {
        return None;
    }
    let medians: [Option<f64>; 4] = std::array::from_fn(|i| {
        let values: Vec<f64> = floor.iter().filter_map(|f| f[i]).collect();
        median(&values).filter(|m| *m > 0.0)
    });
    let stated: Vec<String> = FIGURES
        .iter()
        .zip(medians)
        .filter_map(|((label, unit), m)| Some(format!("{label} {:.2} {unit}", m?)))
        .collect();
    let mut out = format!(
        "Against the floor (`serve --floor`: the same server with no engine; docs/LOAD.md): \
         each engine run's figure as a multiple of the floor's median over its {} run(s) \
         ({}). {}\n\n| engine | round |",
        floor.len(),
        if stated.is_empty() {
            "no figure".to_owned()
        } else {
            stated.join(", ")
        },
        comparable(scenario),
    );
    for (label, _) in FIGURES {
        out += &format!(" {label} |");
    }
    out += "\n|---|--:|--:|--:|--:|--:|\n";
    for run in runs.iter().filter(|run| run.name != FLOOR_NAME) {
        out += &format!("| {} | {} |", run.name, run.round + 1);
        for (value, floor) in run.figures.into_iter().zip(medians) {
            match (value, floor) {
                (Some(value), Some(floor)) => out += &format!(" {:.2}× floor |", value / floor),
                _ => out += " – |",
            }
        }
        out += "\n";
    }
    out += "\n";
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, round: usize, relay: f64, cpu: Option<f64>) -> Row<'_> {
        Row {
            name,
            round,
            figures: [Some(relay), None, None, cpu],
        }
    }

    #[test]
    fn engine_runs_are_stated_as_multiples_of_the_floors_median() {
        let runs = [
            row("floor", 0, 1.0, Some(10.0)),
            row("floor", 1, 3.0, Some(30.0)),
            row("floor", 2, 2.0, None),
            row("lock/1", 0, 4.0, Some(15.0)),
        ];
        let section = section(&runs, Scenario::Broadcast).expect("a floor ran");
        assert!(
            section.contains("relay p99 2.00 ms") && section.contains("CPU / frame 20.00 µs"),
            "{section}"
        );
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(rows.len(), 2, "a header and the engine's run: {section}");
        assert_eq!(
            rows[1],
            "| lock/1 | 1 | 2.00× floor | – | – | 0.75× floor |"
        );
        assert!(super::section(&runs[3..], Scenario::Broadcast).is_none());
    }
}
