//! `lockchan verify`: the checks an engine must pass before it may be served, run in-process
//! on any engine, with results for the gate (`reports/verification.json`) and for people
//! (`reports/VERIFICATION.md`).
//!
//! The checks here need nothing but the binary: differential scripts against the model, races
//! of many threads against the invariants, and leak cycles, each under a watchdog so a deadlock
//! or a lost reply fails instead of hanging. loom's exhaustive model checks and shuttle's
//! controlled schedules need builds of their own (`--cfg lockchan_loom`, `lockchan_shuttle`)
//! and run as tests, like the race smoke test; [`layers`] folds their results in
//! (`verify --merge-layers`, `scripts/verify-all`).

mod differential;
pub mod layers;
mod leaks;
pub mod linearize;
pub mod race;
pub mod scenario;
pub mod slow;
mod summary;
pub mod watchdog;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::config::EngineConfig;
use crate::engines::engine::Engine;
use crate::engines::registry::EngineSpec;
use crate::seeded::Seeded;
use watchdog::{Progress, SLOW_CEILING, Watched, watch};

/// Kept here too for the tests that take it from `lockchan::verify`.
pub use crate::domain::panic::panic_message;
pub use leaks::RSS_GROWTH_BOUND_KB;
pub use summary::{
    CheckResult, Detection, EngineVerification, LayerResult, LayerVerdict, Tally,
    VerificationReport,
};

/// How much of each check to run.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    pub engines: Vec<EngineSpec>,
    /// Random scripts per engine for the differential check.
    pub scripts: u64,
    /// Races per engine.
    pub races: u64,
    /// Connect / match / chat / disconnect cycles per engine for the leak check.
    pub leak_cycles: usize,
    pub seed: u64,
    /// How long a check may go without progress (a script run, a race's call, a leak cycle)
    /// before it counts as stalled; one still moving is waited for up to
    /// [`SLOW_CEILING`](watchdog::SLOW_CEILING) and then reported as slow.
    pub time_limit: Duration,
}

/// The shard counts every engine kind is verified at by default: one shard, and two and four
/// so that the paths that cross shards run too.
pub const SHARD_COUNTS: [usize; 3] = [1, 2, 4];

impl Default for VerifyConfig {
    fn default() -> VerifyConfig {
        VerifyConfig {
            engines: crate::engines::registry::all_specs(&SHARD_COUNTS),
            scripts: 2000,
            races: 10,
            leak_cycles: 100,
            seed: 1,
            time_limit: watchdog::STALL_AFTER,
        }
    }
}

/// Runs every check on every engine in `config`, telling `progress` as each finishes.
pub fn verify(
    config: &VerifyConfig,
    mut progress: impl FnMut(&str, &CheckResult),
) -> VerificationReport {
    let mut engines = BTreeMap::new();
    for &spec in &config.engines {
        let name = spec.to_string();
        let mut checks = Vec::new();
        for check in CHECKS {
            let result = run_check(check, spec, Seeded::default(), config);
            progress(&name, &result);
            checks.push(result);
        }
        engines.insert(
            name,
            EngineVerification {
                checks,
                layers: BTreeMap::new(),
            },
        );
    }
    let unix_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    VerificationReport {
        engines,
        seeded: Vec::new(),
        seed: Some(config.seed),
        unix_time: Some(unix_time),
        engine_source_hash: Some(crate::engines::ENGINE_SOURCE_HASH.to_owned()),
    }
}

/// Runs every check on every seeded bug's engine: each must fail at least one.
#[cfg(feature = "seeded-bugs")]
pub fn detect_seeded(
    config: &VerifyConfig,
    mut progress: impl FnMut(&Detection),
) -> Vec<Detection> {
    use crate::seeded::{Seeded, SeededBug};
    SeededBug::ALL
        .iter()
        .map(|&bug| {
            let seeded = Seeded::new(Some(bug));
            let spec = bug.engine();
            let checks = CHECKS
                .into_iter()
                .map(|check| run_check(check, spec, seeded, config))
                .collect();
            let detection = Detection {
                bug: bug.name().to_owned(),
                engine: spec.to_string(),
                checks,
            };
            progress(&detection);
            detection
        })
        .collect()
}

/// The checks, in the order they run.
const CHECKS: [&str; 3] = ["differential", "race_invariants", "leaks"];

fn run_check(
    check: &'static str,
    spec: EngineSpec,
    seeded: Seeded,
    config: &VerifyConfig,
) -> CheckResult {
    let started = Instant::now();
    let (scripts, races, cycles, seed) = (
        config.scripts,
        config.races,
        config.leak_cycles,
        config.seed,
    );
    let progress = Progress::default();
    let builder = Builder::new(spec, seeded, progress.clone());
    let watched = watch(
        check,
        &progress,
        config.time_limit,
        SLOW_CEILING,
        move || match check {
            "differential" => differential::check(&builder, scripts, seed),
            "race_invariants" => race_check(&builder, races, seed),
            _ => leaks::check(&builder, cycles),
        },
    );
    let failure = watched.failure(check, &progress);
    let (passed, explored, detail) = match watched {
        Watched::Finished(Ok(explored)) => (true, explored, None),
        Watched::Finished(Err(broken)) => (false, 0, Some(broken)),
        _ => (false, 0, failure),
    };
    CheckResult {
        name: check.to_owned(),
        passed,
        explored,
        seconds: started.elapsed().as_secs_f64(),
        detail,
    }
}

/// Builds the engine under check, and names it to the check's [`Progress`] so that a watchdog
/// that finds the check stalled can ask it what it is stuck on.
#[derive(Clone)]
pub(crate) struct Builder {
    spec: EngineSpec,
    seeded: Seeded,
    progress: Progress,
}

impl Builder {
    fn new(spec: EngineSpec, seeded: Seeded, progress: Progress) -> Builder {
        Builder {
            spec,
            seeded,
            progress,
        }
    }

    pub(crate) fn build(&self, config: EngineConfig) -> Arc<dyn Engine> {
        let config = EngineConfig {
            seeded: self.seeded,
            ..config
        };
        let engine: Arc<dyn Engine> = self.spec.build(config).into();
        self.progress.watch_engine(&engine);
        engine
    }

    /// Where the check counts its steps.
    pub(crate) fn progress(&self) -> &Progress {
        &self.progress
    }
}

fn race_check(builder: &Builder, races: u64, seed: u64) -> Result<u64, String> {
    for run in 0..races {
        // Every other race, from the first, with queues of two (the backpressure paths).
        let engine_config = if run % 2 == 0 {
            race::backpressure_engine_config()
        } else {
            race::race_engine_config()
        };
        let engine = builder.build(engine_config);
        let config = race::RaceConfig {
            seed: seed.wrapping_add(run),
            progress: builder.progress().clone(),
            ..race::RaceConfig::default()
        };
        let broken = race::race(engine, &config);
        if !broken.is_empty() {
            let shown: Vec<_> = broken.iter().take(10).collect();
            return Err(format!(
                "race {run}: {} broken rules: {shown:?}",
                broken.len()
            ));
        }
    }
    Ok(races)
}

/// Writes `verification.json` and `VERIFICATION.md` into `dir`.
pub fn write_reports(report: &VerificationReport, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("verification.json"), json + "\n")?;
    std::fs::write(dir.join("VERIFICATION.md"), render_markdown(report))
}

/// Seeded bug × check: caught (the check failed, with the time it took) or missed.
fn render_detection_matrix(report: &VerificationReport, out: &mut String) {
    out.push_str(
        "\n## Seeded bugs: the checks can fail\n\nEach row is an engine carrying one planted \
         mistake (`--features seeded-bugs`, `verify --seeded`); a cell says whether that check \
         caught it and how long the check ran until it did.\n\n",
    );
    out.push_str("| seeded bug | engine | differential | race_invariants | leaks | caught |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for detection in &report.seeded {
        let _ = write!(out, "| {} | {} |", detection.bug, detection.engine);
        for check in &detection.checks {
            if check.passed {
                out.push_str(" missed |");
            } else {
                let _ = write!(out, " **caught** in {:.1} s |", check.seconds);
            }
        }
        let caught = if detection.caught_by().is_empty() {
            "NO"
        } else {
            "yes"
        };
        let _ = writeln!(out, " {caught} |");
    }
    let details = report.seeded.iter().flat_map(|d| {
        let failed = d.checks.iter().filter(|c| !c.passed);
        failed.filter_map(move |c| c.detail.as_ref().map(|text| (&d.bug, &c.name, text)))
    });
    out.push_str("\nWhat each check saw:\n\n");
    for (bug, check, detail) in details {
        let short: String = detail.chars().take(300).collect();
        let _ = writeln!(out, "- {bug} / {check}: {short}");
    }
}

/// The verification results for people: a table of engine × check.
pub fn render_markdown(report: &VerificationReport) -> String {
    let mut out = String::from("# Verification\n\n");
    out.push_str(
        "Written by `cargo run --release -- verify` (`scripts/verify-all` folds the layers \
         in). Each cell: passed or FAILED, how many scripts, races or cycles ran, and the time \
         it took. `verified` counts the layers below too.\n\n",
    );
    out.push_str("| engine | differential | race_invariants | leaks | verified |\n");
    out.push_str("|---|---|---|---|---|\n");
    for (engine, verification) in &report.engines {
        let _ = write!(out, "| {engine} |");
        for check in &verification.checks {
            let status = if check.passed { "passed" } else { "FAILED" };
            let _ = write!(
                out,
                " {status} ({} in {:.1} s) |",
                check.explored, check.seconds
            );
        }
        let verified = if verification.passed() { "yes" } else { "no" };
        let _ = writeln!(out, " {verified} |");
    }
    layers::render_layers(report, &mut out);
    if !report.seeded.is_empty() {
        render_detection_matrix(report, &mut out);
    }
    let failures: Vec<_> = report
        .engines
        .iter()
        .flat_map(|(engine, v)| v.checks.iter().map(move |c| (engine, c)))
        .filter_map(|(engine, check)| check.detail.as_ref().map(|d| (engine, &check.name, d)))
        .collect();
    if !failures.is_empty() {
        out.push_str("\n## Failures\n\n");
        for (engine, check, detail) in failures {
            let _ = writeln!(out, "- **{engine} / {check}**: {detail}");
        }
    }
    out.push_str(
        "\n## What each check proves\n\n\
         - **differential**: random scripts of one-at-a-time calls (outboxes of 3 and 256) give \
         every client exactly the sequential model's events and end in the model's snapshot.\n\
         - **race_invariants**: 4 threads × 40 clients × 3,000 random commands (some clients \
         commanded from two threads), a ticker taking snapshots: every client's stream tells a \
         possible story, every snapshot is consistent, nothing is left after disconnect.\n\
         - **leaks**: connect / match / chat / disconnect cycles of 500 clients: registries \
         empty and every outbox let go after each cycle, resident memory growth after warm-up \
         within the stated bound, and the engine's threads gone once it is dropped.\n\n\
         Every check runs under a watchdog: a deadlock or a lost reply fails it instead of \
         hanging. loom, shuttle and the race smoke test run as tests of their own; \
         `scripts/verify-all` folds them in (see docs/VERIFICATION.md).\n",
    );
    out
}
