//! `lockchan targets [DIR]`: the server's targets (docs/LOAD.md, "Server targets") judged
//! from the end-to-end runs `scripts/server-targets` keeps in DIR, run by run, with the floor
//! of the same runs as the control. A target holds for an engine when it holds in every one of
//! its runs and every run is clean (no error, no failed connect, the server back to its
//! baseline). The floor is judged by the same bound where the bound is not its own multiple: a
//! target the floor fails too is beyond what this machine, with the generator on it, gives the
//! bare server, whatever the engine does.
//!
//! A bound on how late a broadcast lands is also set against each run's CPU estimate of it
//! ([`cpu_estimate_ms`]): the CPU one broadcast costs the server and the generator, spread
//! perfectly over the cores they share. A bound below the estimate in every run, the floor's
//! included, asks this server and this generator for less CPU per frame than they spend on
//! this machine.
//!
//! Prints a markdown table and writes it to DIR/verdicts.md; exits 1 when a target fails for
//! an engine or its file is missing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use lockchan::floor::FLOOR_NAME;
use lockchan::verdict::median;

use super::e2e::Run;

#[derive(Args)]
pub(crate) struct TargetsArgs {
    /// Where `scripts/server-targets` wrote its runs.
    #[arg(default_value = "reports/targets")]
    dir: PathBuf,
}

/// The floor's medians over its runs in one file, for the bounds stated as its multiples.
struct Floor {
    shout_p99: Option<f64>,
    cpu_per_frame: Option<f64>,
}

/// What one run shows against one bound: its figure as the table prints it, and whether it is
/// within the bound. `None` when the run has no such figure.
type Reading = Option<(String, bool)>;

/// One bound of one target.
struct Target {
    /// The e2e file (`DIR/<file>.json`) it is read from.
    file: &'static str,
    claim: &'static str,
    /// Whether the floor is held to it too (a bound that is the floor's own multiple is not).
    control: bool,
    bound: Bound,
}

/// What a target bounds, and how it reads its figure from a run.
enum Bound {
    /// A broadcast's (a shout's) p99 delivery within this many ms, also set against each
    /// run's CPU estimate of it ([`cpu_estimate_ms`]).
    BroadcastP99(f64),
    Figure(fn(&Run, &Floor) -> Reading),
}

impl Bound {
    fn reading(&self, run: &Run, floor: &Floor) -> Reading {
        match self {
            Bound::BroadcastP99(bound) => ms(run.load.shout.p99_ms, *bound),
            Bound::Figure(read) => read(run, floor),
        }
    }
}

/// Which delivery of a broadcast its latency bound is on: the p99.
const BROADCAST_QUANTILE: f64 = 0.99;

/// The CPU estimate of a broadcast's p99 delivery in `run`, in ms after it reaches the server:
/// the CPU time its first 99% of frames cost the server and the generator, spread perfectly
/// over the cores the two share.
///
/// A broadcast is one frame per connected client, and the run measured what a frame costs:
/// the server's and the generator's CPU per frame received, over the steady window. The first
/// 99% of the frames then take 0.99 × clients × (server + generator) of CPU, so at least that
/// ÷ `cores` of time. It is an estimate, not a proof: it takes the window's mean cost per frame
/// as each frame's, and that mean carries the CPU of everything else in the window (timers,
/// sending the shouts, the per-second lines), which makes it the same as 0.99 × the share of
/// the cores in use × the time between two frames to one client. A run whose p99 lands before
/// it shows the estimate wrong ([`estimates`] says so). `None` without the figures.
fn cpu_estimate_ms(run: &Run) -> Option<f64> {
    let load = &run.load;
    let per_frame_us = load.server_cpu_us_per_frame? + load.generator_cpu_us_per_frame?;
    Some(BROADCAST_QUANTILE * load.peak_connected as f64 * per_frame_us / cores(run)? / 1000.0)
}

/// The cores `run` recorded, when it did.
fn cores(run: &Run) -> Option<f64> {
    run.load.cores.filter(|&n| n > 0).map(|n| n as f64)
}

/// How busy the machine's cores were over `run`'s steady window, in %: the server's and the
/// generator's CPU together, as a share of every core. Near 100%, frames queue for a core and
/// the tail grows however soon the work could have been done.
fn busy_percent(run: &Run) -> Option<f64> {
    let load = &run.load;
    Some((load.server_cpu_percent? + load.generator_cpu_percent?) / cores(run)?)
}

/// Every run's CPU estimate of its p99 ([`cpu_estimate_ms`]) against a broadcast's `bound`,
/// with how busy the cores were, and whether the bound lies below the estimate in every run.
/// A run without the figures, or whose own p99 beat its estimate (which shows the estimate
/// wrong), leaves the bound not shown beyond it.
fn estimates<'a>(runs: impl IntoIterator<Item = &'a Run>, bound: f64) -> (String, bool) {
    let mut shown = Vec::new();
    let (mut below_all, mut any) = (true, false);
    for run in runs {
        let Some(estimate) = cpu_estimate_ms(run) else {
            below_all = false;
            shown.push(format!("{} –", run.engine));
            continue;
        };
        any = true;
        below_all &= bound < estimate;
        let busy = busy_percent(run).map_or(String::new(), |b| format!(", {b:.0}% busy"));
        let p99 = run.load.shout.p99_ms;
        let beaten = if p99 < estimate {
            below_all = false;
            format!(", **its p99 {p99:.1} ms beat it**")
        } else {
            String::new()
        };
        shown.push(format!("{} {estimate:.1} ms{busy}{beaten}", run.engine));
    }
    if !any {
        return (
            "– (no run has the cores and both CPUs per frame)".to_owned(),
            false,
        );
    }
    let verdict = if below_all {
        format!("**beyond the CPU estimate**: {bound:.0} ms is below every run's")
    } else {
        format!("{bound:.0} ms is not below every run's")
    };
    (format!("{verdict} ({})", shown.join(" / ")), below_all)
}

fn ms(value: f64, bound: f64) -> Reading {
    Some((format!("{value:.1} ms"), value <= bound))
}

fn times(value: Option<f64>, floor: Option<f64>, bound: f64, unit: &str) -> Reading {
    let (value, floor) = (value?, floor?);
    let shown = format!("{value:.1} {unit} ({:.2}×)", value / floor);
    Some((shown, value <= bound * floor))
}

/// Server CPU per frame within 1.5× the floor's median.
fn cpu_within_half_again(run: &Run, floor: &Floor) -> Reading {
    let cpu = run.load.server_cpu_us_per_frame;
    times(cpu, floor.cpu_per_frame, 1.5, "µs")
}

const TARGETS: [Target; 8] = [
    Target {
        file: "mixed-19k",
        claim: "19,000 mixed, 5 min: relay p99 ≤ 50 ms",
        control: true,
        bound: Bound::Figure(|run, _| ms(run.load.relay.p99_ms, 50.0)),
    },
    Target {
        file: "mixed-19k",
        claim: "19,000 mixed: tick p99 ≤ 2× the floor's shout p99",
        control: false,
        bound: Bound::Figure(|run, floor| {
            times(Some(run.load.tick.p99_ms), floor.shout_p99, 2.0, "ms")
        }),
    },
    Target {
        file: "mixed-19k",
        claim: "19,000 mixed: server CPU per frame ≤ 1.5× the floor's",
        control: false,
        bound: Bound::Figure(cpu_within_half_again),
    },
    Target {
        file: "broadcast-10k-10",
        claim: "10,000 × 10 shouts/s: shout p99 ≤ 120 ms",
        control: true,
        bound: Bound::BroadcastP99(120.0),
    },
    Target {
        file: "broadcast-10k-10",
        claim: "one frame per write (10,000 × 10): server CPU per frame within 1.5× the floor's",
        control: false,
        bound: Bound::Figure(cpu_within_half_again),
    },
    Target {
        file: "broadcast-5k-10",
        claim: "5,000 × 10 shouts/s: shout p99 ≤ 40 ms",
        control: true,
        bound: Bound::BroadcastP99(40.0),
    },
    Target {
        file: "stall-200",
        claim: "one non-reader among 200: no reader's gap > 50 ms above the shouter's",
        control: true,
        bound: Bound::Figure(|run, _| {
            let excess = run.load.stall.as_ref()?.excess_ms();
            Some((format!("{excess:+.1} ms"), excess <= 50.0))
        }),
    },
    Target {
        file: "flood-200",
        claim: "a shouter at 100,000/s: no reader cut, the shouter hears `busy`",
        control: true,
        bound: Bound::Figure(|run, _| {
            let busy = run.load.shouts_refused_busy;
            Some((format!("{busy} busy"), busy > 0))
        }),
    },
];

/// Why a run cannot stand for any target, if it cannot.
fn unclean(run: &Run) -> Option<String> {
    let load = &run.load;
    if load.errors_total > 0 || load.connect_failed > 0 {
        Some(format!(
            "{} errors, {} failed connects",
            load.errors_total, load.connect_failed
        ))
    } else if !run.back_to_baseline {
        Some("not back to baseline".to_owned())
    } else {
        None
    }
}

/// One contender's runs against one bound: "holds", "fails (1 of 2 hold)", with every run's
/// figure; `None` when none of its runs has the figure.
fn judge(runs: &[&Run], target: &Target, floor: &Floor) -> Option<(bool, String)> {
    let mut held = 0;
    let mut shown = Vec::new();
    for run in runs {
        let (figure, within) = target.bound.reading(run, floor)?;
        let reason = unclean(run);
        if within && reason.is_none() {
            held += 1;
        }
        shown.push(match reason {
            Some(reason) => format!("{figure} ({reason})"),
            None => figure,
        });
    }
    let holds = held == runs.len();
    let verdict = if holds {
        "holds".to_owned()
    } else {
        format!("**fails** ({held} of {} hold)", runs.len())
    };
    Some((holds, format!("{verdict}: {}", shown.join(" / "))))
}

/// The runs of one file, in round order.
fn read_runs(path: &Path) -> anyhow::Result<Vec<Run>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut runs: Vec<Run> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    runs.sort_by_key(|run| run.round);
    Ok(runs)
}

/// The table, and whether every target held for every engine.
fn verdicts(dir: &Path) -> (String, bool) {
    let mut out = String::from(
        "| target | engine | runs: figure each | the floor in the same runs | the CPU estimate of a shout's p99, each run |\n|---|---|---|---|---|\n",
    );
    let (mut failed, mut failed_on_floor, mut beyond_estimate) = (0, 0, 0);
    for target in &TARGETS {
        let path = dir.join(format!("{}.json", target.file));
        let runs = match read_runs(&path) {
            Ok(runs) => runs,
            Err(error) => {
                failed += 1;
                let _ = writeln!(
                    out,
                    "| {} | – | **no runs**: {error:#} | – | – |",
                    target.claim
                );
                continue;
            }
        };
        let of = |name: &str| -> Vec<&Run> { runs.iter().filter(|r| r.engine == name).collect() };
        let floor_runs = of(FLOOR_NAME);
        let floor_median = |figure: fn(&Run) -> Option<f64>| {
            let values: Vec<f64> = floor_runs.iter().filter_map(|run| figure(run)).collect();
            median(&values)
        };
        let floor = Floor {
            shout_p99: floor_median(|run| Some(run.load.shout.p99_ms)),
            cpu_per_frame: floor_median(|run| run.load.server_cpu_us_per_frame),
        };
        let (floor_fails, control) = if !target.control {
            (false, "– (its own bound)".to_owned())
        } else {
            judge(&floor_runs, target, &floor)
                .map_or((false, "no floor run".to_owned()), |(holds, s)| (!holds, s))
        };
        let mut engines: Vec<&str> = Vec::new();
        for run in &runs {
            if run.engine != FLOOR_NAME && !engines.contains(&run.engine.as_str()) {
                engines.push(&run.engine);
            }
        }
        for engine in engines {
            let (holds, shown) = judge(&of(engine), target, &floor)
                .unwrap_or((false, "**fails**: no figure in its runs".to_owned()));
            // The floor's runs and this engine's, as they ran.
            let (estimate, beyond) = match target.bound {
                Bound::BroadcastP99(bound) => estimates(
                    runs.iter()
                        .filter(|r| r.engine == FLOOR_NAME || r.engine == engine),
                    bound,
                ),
                Bound::Figure(_) => ("–".to_owned(), false),
            };
            if !holds {
                failed += 1;
                failed_on_floor += usize::from(floor_fails);
                beyond_estimate += usize::from(beyond);
            }
            let _ = writeln!(
                out,
                "| {} ([{}]({}.md)) | {engine} | {shown} | {control} | {estimate} |",
                target.claim, target.file, target.file
            );
        }
    }
    let _ = write!(
        out,
        "\n{} bound(s) failed for an engine; the floor failed {failed_on_floor} of them too",
        failed
    );
    if beyond_estimate > 0 {
        let _ = write!(
            out,
            "; for {beyond_estimate} of them, the bound lies below every run's CPU estimate"
        );
    }
    out.push_str(".\n");
    (out, failed == 0)
}

pub(crate) fn targets(args: TargetsArgs) -> anyhow::Result<ExitCode> {
    let (table, all_hold) = verdicts(&args.dir);
    print!("{table}");
    let out = args.dir.join("verdicts.md");
    std::fs::write(&out, &table).with_context(|| format!("writing {}", out.display()))?;
    Ok(if all_hold {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A run of the committed stall target as the shape of every run here: only the figures
    /// the targets read are set.
    fn template() -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/targets/stall-200.json");
        let runs: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(path).expect("committed")).expect("runs");
        runs[0].clone()
    }

    /// A clean run of `engine` in `round` with these p99s (relay, shout, tick) and CPU per frame.
    fn run(engine: &str, round: usize, p99s: [f64; 3], cpu: f64) -> Value {
        let mut run = template();
        run["engine"] = json!(engine);
        run["round"] = json!(round);
        run["back_to_baseline"] = json!(true);
        let load = &mut run["load"];
        load["errors_total"] = json!(0);
        load["connect_failed"] = json!(0);
        for (kind, p99) in ["relay", "shout", "tick"].into_iter().zip(p99s) {
            load[kind]["p99_ms"] = json!(p99);
        }
        load["server_cpu_us_per_frame"] = json!(cpu);
        load["generator_cpu_us_per_frame"] = json!(8.0);
        load["cores"] = json!(2);
        load["server_cpu_percent"] = json!(100.0);
        load["generator_cpu_percent"] = json!(80.0);
        run
    }

    /// `run`, with `clients` clients.
    fn with_clients(mut run: Value, clients: usize) -> Value {
        run["load"]["clients"] = json!(clients);
        run["load"]["peak_connected"] = json!(clients);
        run
    }

    #[test]
    fn each_bound_is_judged_run_by_run_beside_the_floors_runs() {
        let dir = std::env::temp_dir().join(format!("lockchan-targets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let write = |file: &str, runs: Vec<Value>| {
            let text = serde_json::to_string(&runs).expect("json");
            std::fs::write(dir.join(format!("{file}.json")), text).expect("written");
        };
        // 19k: the engine's relay p99 fails in one run of two; its ticks and CPU are within
        // the floor's multiples.
        write(
            "mixed-19k",
            vec![
                run("floor", 0, [30.0, 400.0, 300.0], 10.0),
                run("lock/1", 0, [45.0, 420.0, 350.0], 12.0),
                run("floor", 1, [40.0, 500.0, 320.0], 14.0),
                run("lock/1", 1, [55.0, 480.0, 330.0], 13.0),
            ],
        );
        // 10k: the engine holds while the floor fails; the second engine run had an error and
        // recorded no cores. 120 ms is above every CPU estimate: 0.99 × 10,000 × (9 + 8) µs ÷
        // 2 cores = 84.2 ms.
        let mut erred = run("actor/1", 1, [0.0, 100.0, 0.0], 9.0);
        erred["load"]["errors_total"] = json!(2);
        erred["load"]["cores"] = Value::Null;
        let tenk = |run| with_clients(run, 10_000);
        write(
            "broadcast-10k-10",
            vec![
                tenk(run("floor", 0, [0.0, 130.0, 0.0], 9.0)),
                tenk(run("lock/1", 0, [0.0, 110.0, 0.0], 9.5)),
                tenk(run("actor/1", 0, [0.0, 100.0, 0.0], 9.0)),
                tenk(run("floor", 1, [0.0, 140.0, 0.0], 9.0)),
                tenk(run("lock/1", 1, [0.0, 115.0, 0.0], 9.5)),
                tenk(erred),
            ],
        );
        // 5k: 40 ms lies below every CPU estimate (0.99 × 5,000 × (9.4 + 8) µs ÷ 2 = 43.1
        // ms) for lock/1; one of actor/1's runs beat its own estimate, which shows the estimate
        // wrong, so for actor/1 the bound is not called beyond it.
        let beat = run("actor/1", 1, [0.0, 42.0, 0.0], 9.4);
        let fivek = |run| with_clients(run, 5_000);
        write(
            "broadcast-5k-10",
            vec![
                fivek(run("floor", 0, [0.0, 50.0, 0.0], 9.4)),
                fivek(run("lock/1", 0, [0.0, 52.0, 0.0], 9.6)),
                fivek(run("actor/1", 0, [0.0, 53.0, 0.0], 9.4)),
                fivek(run("floor", 1, [0.0, 51.0, 0.0], 9.4)),
                fivek(run("lock/1", 1, [0.0, 49.0, 0.0], 9.4)),
                fivek(beat),
            ],
        );
        let (table, all_hold) = verdicts(&dir);
        std::fs::remove_dir_all(&dir).expect("removed");
        assert!(!all_hold, "{table}");
        let row = |claim: &str, engine: &str| -> String {
            let found = table
                .lines()
                .find(|line| line.contains(claim) && line.contains(&format!("| {engine} |")));
            found
                .unwrap_or_else(|| panic!("no row {claim} {engine}:\n{table}"))
                .to_owned()
        };
        // The floor's shout p99 median is 450 ms and its CPU per frame 12 µs.
        let expected = [
            (
                "relay p99 ≤ 50 ms",
                "lock/1",
                "**fails** (1 of 2 hold): 45.0 ms / 55.0 ms | holds: 30.0 ms / 40.0 ms",
            ),
            (
                "tick p99 ≤ 2×",
                "lock/1",
                "holds: 350.0 ms (0.78×) / 330.0 ms (0.73×) | – (its own bound)",
            ),
            (
                "19,000 mixed: server CPU",
                "lock/1",
                "holds: 12.0 µs (1.00×) / 13.0 µs (1.08×)",
            ),
            (
                "shout p99 ≤ 120 ms",
                "lock/1",
                "holds: 110.0 ms / 115.0 ms | **fails** (0 of 2 hold): 130.0 ms / 140.0 ms",
            ),
            (
                "shout p99 ≤ 120 ms",
                "actor/1",
                "**fails** (1 of 2 hold): 100.0 ms / 100.0 ms (2 errors, 0 failed connects)",
            ),
            (
                "shout p99 ≤ 120 ms",
                "lock/1",
                "| 120 ms is not below every run's (floor 84.2 ms, 90% busy / lock/1 86.6 ms, 90% \
                 busy / floor 84.2 ms, 90% busy / lock/1 86.6 ms, 90% busy) |",
            ),
            (
                "shout p99 ≤ 120 ms",
                "actor/1",
                "| 120 ms is not below every run's (floor 84.2 ms, 90% busy / actor/1 84.2 ms, 90% \
                 busy / floor 84.2 ms, 90% busy / actor/1 –) |",
            ),
            (
                "5,000 × 10",
                "lock/1",
                "**fails** (0 of 2 hold): 52.0 ms / 49.0 ms | **fails** (0 of 2 hold): 50.0 ms / \
                 51.0 ms | **beyond the CPU estimate**: 40 ms is below every run's (floor 43.1 ms, \
                 90% busy / lock/1 43.6 ms, 90% busy / floor 43.1 ms, 90% busy / lock/1 43.1 ms, \
                 90% busy) |",
            ),
            (
                "5,000 × 10",
                "actor/1",
                "| 40 ms is not below every run's (floor 43.1 ms, 90% busy / actor/1 43.1 ms, 90% \
                 busy / floor 43.1 ms, 90% busy / actor/1 43.1 ms, 90% busy, **its p99 42.0 ms \
                 beat it**) |",
            ),
            ("stall", "–", "**no runs**"),
            ("relay p99", "lock/1", "| – |"),
        ];
        for (claim, engine, shown) in expected {
            let row = row(claim, engine);
            assert!(row.contains(shown), "{row}");
        }
        // Failed for an engine: the relay (lock/1); the 10k shout and CPU (actor/1, whose
        // second run erred); the 5k shout (lock/1 and actor/1); the two files that are not
        // there. The floor failed the 10k and the 5k shouts too; the 5k shout lies below
        // every run's CPU estimate for lock/1.
        assert!(
            table.ends_with(
                "7 bound(s) failed for an engine; the floor failed 3 of them too; for 1 of them, \
                 the bound lies below every run's CPU estimate.\n"
            ),
            "{table}"
        );
    }
}
