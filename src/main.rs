//! The `lockchan` command: parse the arguments and hand over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lockchan::EngineSpec;
use lockchan::duel::{DuelConfig, render_table, run_duel, verdict_lines};
use lockchan::verify::{VerifyConfig, verify, write_reports};

mod cli {
    pub(crate) mod compare;
    pub(crate) mod e2e;
    pub(crate) mod floor;
    pub(crate) mod gate;
    pub(crate) mod load;
    pub(crate) mod rounds;
    pub(crate) mod serve;
    pub(crate) mod stall;
    pub(crate) mod targets;
    pub(crate) mod time_went;
}

/// Locks or actors for a real-time game server? One matchmaking engine built both ways,
/// checked against a sequential model and measured side by side.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run one seeded workload on the model and on every engine, and compare them.
    Duel(DuelArgs),
    /// Check engines against the model, under races and for leaks; write the results the gate
    /// reads (reports/verification.json) and a table for people (reports/VERIFICATION.md).
    Verify(VerifyArgs),
    /// Read every result (criterion, bench extras, duel, verification) and write
    /// reports/REPORT.md with SVG plots.
    Report(ReportArgs),
    /// Choose the engine the server runs: measure the verified engines on the mixed workload
    /// in interleaved rounds and decide on verdicts; writes reports/gate.json.
    Gate(cli::gate::GateArgs),
    /// Measure every engine and shard count on every closed-loop workload in interleaved
    /// rounds, keeping every trial: reports/trials.json, which the report's verdicts read.
    Rounds(cli::rounds::RoundsArgs),
    /// Serve WebSocket clients on the gate's engine, with an admin page on a second port.
    Serve(cli::serve::ServeArgs),
    /// Drive a running server with WebSocket clients playing a scenario; print a line a
    /// second and write reports/load.json with plots.
    Load(cli::load::LoadArgs),
    /// List the registered engines, one a line: name, `sharded` or `single`, and what it is.
    Engines,
    /// One worker process of `load` (started by it; prints JSON lines).
    #[command(hide = true)]
    LoadWorker(cli::load::WorkerArgs),
    /// Judge the server's targets from the runs `scripts/server-targets` wrote: each engine
    /// run by run, beside the floor of the same runs; writes DIR/verdicts.md. Exits 1 when a
    /// target fails for an engine.
    Targets(cli::targets::TargetsArgs),
    /// Compare two saved result sets: per case, contender and metric, improved, regressed or
    /// no change, as a markdown table. Exits 1 when a case regressed beyond the threshold, 2
    /// when the files cannot be compared.
    Compare(cli::compare::CompareArgs),
}

#[derive(Args)]
struct ReportArgs {
    /// Where criterion wrote its results.
    #[arg(long, default_value = "target/criterion")]
    criterion_dir: PathBuf,
    /// Where the benches wrote their extra statistics.
    #[arg(long, default_value = "target/lockchan-bench")]
    extra_dir: PathBuf,
    /// The reports directory: read duel.json and verification.json, write REPORT.md and plots.
    #[arg(long, default_value = "reports")]
    reports_dir: PathBuf,
}

#[derive(Args)]
struct VerifyArgs {
    /// Engines to check, comma-separated, as kind/shards.
    #[arg(long, value_delimiter = ',', default_values_t = VerifyConfig::default().engines)]
    engines: Vec<EngineSpec>,
    /// Random scripts per engine for the differential check.
    #[arg(long, default_value_t = VerifyConfig::default().scripts)]
    scripts: u64,
    /// Races per engine.
    #[arg(long, default_value_t = VerifyConfig::default().races)]
    races: u64,
    /// Leak-check cycles per engine.
    #[arg(long, default_value_t = VerifyConfig::default().leak_cycles)]
    leak_cycles: usize,
    /// Seed of the scripts and races.
    #[arg(long, default_value_t = VerifyConfig::default().seed)]
    seed: u64,
    /// Seconds a check may go without progress before it counts as stalled (a deadlock or a
    /// lost reply); one still moving is waited for, and reported as slow at the ceiling.
    #[arg(long, default_value_t = VerifyConfig::default().time_limit.as_secs())]
    time_limit: u64,
    /// Directory for verification.json and VERIFICATION.md.
    #[arg(long, default_value = "reports")]
    out_dir: PathBuf,
    /// Also run every check on engines carrying seeded bugs and write the detection matrix
    /// (needs a build with `--features seeded-bugs`).
    #[arg(long)]
    seeded: bool,
    /// With --seeded: seconds a check on a seeded engine may take before it counts as stalled.
    #[arg(long, default_value_t = 20)]
    seeded_time_limit: u64,
    /// Run no check: fold the layer log the tests wrote (LOCKCHAN_LAYER_LOG: loom, shuttle,
    /// race smoke) into OUT_DIR's verification.json and VERIFICATION.md. `scripts/verify-all`
    /// runs everything and then this.
    #[arg(long, value_name = "LOG")]
    merge_layers: Option<PathBuf>,
    /// With --merge-layers: the highest share of a layer's runs the linearizability checker
    /// may give up on (inconclusive) before the layer fails.
    #[arg(long, default_value_t = lockchan::verify::layers::DEFAULT_INCONCLUSIVE_CEILING,
          requires = "merge_layers")]
    inconclusive_ceiling: f64,
}

#[derive(Args)]
struct DuelArgs {
    /// Connected clients.
    #[arg(long, default_value_t = DuelConfig::default().clients)]
    clients: usize,
    /// Caller threads driving each engine (the model always gets one; not with --e2e).
    #[arg(long, default_value_t = DuelConfig::default().threads, conflicts_with = "e2e")]
    threads: usize,
    /// Shard counts to run each engine at, comma-separated (not with --e2e: see --engines).
    #[arg(long, value_delimiter = ',', default_values_t = DuelConfig::default().shards,
          conflicts_with = "e2e")]
    shards: Vec<usize>,
    /// User limit of every room (2 to 16).
    #[arg(long, default_value_t = DuelConfig::default().room_size,
          value_parser = clap::value_parser!(u8).range(2..=16))]
    room_size: u8,
    /// Rounds of join, say, shout, tick and leave (not with --e2e, whose interleaved rounds
    /// are --trials).
    #[arg(long, default_value_t = DuelConfig::default().rounds, conflicts_with = "e2e")]
    rounds: usize,
    /// Says per client per round (not with --e2e: see --say-rate).
    #[arg(long, default_value_t = DuelConfig::default().says, conflicts_with = "e2e")]
    says: usize,
    /// Shouts to everyone per round (not with --e2e: see --shout-rate).
    #[arg(long, default_value_t = DuelConfig::default().shouts, conflicts_with = "e2e")]
    shouts: usize,
    /// Seed of the workload's choices and of the trials' order (with --e2e, of the rounds'
    /// order).
    #[arg(long, default_value_t = DuelConfig::default().seed)]
    seed: u64,
    /// Interleaved trials of every engine (each round runs each once, in a shuffled order);
    /// the verdict lines compare them. With --e2e too: each trial a server and a load run. 5 is
    /// the fewest at which the rank test can tell two engines apart at 5% (3 against 3 never
    /// can).
    #[arg(long, default_value_t = DuelConfig::default().trials,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    trials: usize,
    /// Where to write the figures as JSON (not with --e2e: see --e2e-out).
    #[arg(long, default_value = "reports/duel.json", conflicts_with = "e2e")]
    out: PathBuf,
    #[command(flatten)]
    e2e: cli::e2e::E2eArgs,
}

fn main() -> anyhow::Result<ExitCode> {
    let done = match Cli::parse().command {
        // `compare` has three outcomes, not two: see its exit statuses.
        Commands::Compare(args) => return Ok(cli::compare::compare(args)),
        Commands::Duel(args) => duel(args),
        Commands::Verify(args) => verify_engines(args),
        Commands::Report(args) => report(args),
        Commands::Gate(args) => return cli::gate::gate(args),
        Commands::Targets(args) => return cli::targets::targets(args),
        Commands::Rounds(args) => cli::rounds::rounds(args),
        Commands::Serve(args) => cli::serve::serve(args),
        Commands::Load(args) => cli::load::load(args),
        Commands::Engines => {
            engines();
            Ok(())
        }
        Commands::LoadWorker(args) => cli::load::worker(args),
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// One line per registered engine, tab-separated so scripts can count or cut them (`.ci/run`
/// checks the end-to-end duel ran on every one).
fn engines() {
    for entry in lockchan::ENGINES {
        let shards = if entry.sharded { "sharded" } else { "single" };
        println!("{}\t{shards}\t{}", entry.name, entry.summary);
    }
}

fn report(args: ReportArgs) -> anyhow::Result<()> {
    let summary =
        lockchan::report::write_report(&args.criterion_dir, &args.extra_dir, &args.reports_dir)
            .context("writing the report")?;
    for missing in &summary.missing {
        eprintln!("missing: {missing}");
    }
    for stale in &summary.stale {
        eprintln!("stale: {stale}");
    }
    eprintln!(
        "wrote {} with {} plots from {} criterion results",
        summary.report.display(),
        summary.plots.len(),
        summary.criterion_results
    );
    Ok(())
}

fn verify_engines(args: VerifyArgs) -> anyhow::Result<()> {
    if let Some(log) = &args.merge_layers {
        return merge_layers(&args.out_dir, log, args.inconclusive_ceiling);
    }
    let config = VerifyConfig {
        engines: args.engines,
        scripts: args.scripts,
        races: args.races,
        leak_cycles: args.leak_cycles,
        seed: args.seed,
        time_limit: std::time::Duration::from_secs(args.time_limit),
    };
    if args.seeded && !cfg!(feature = "seeded-bugs") {
        anyhow::bail!(
            "--seeded needs the seeded bugs compiled in: \
             cargo run --release --features seeded-bugs -- verify --seeded"
        );
    }
    // A failing check's panic is caught and reported in the results; the default hook would
    // also spray its backtrace over the progress lines.
    std::panic::set_hook(Box::new(|_| {}));
    // Without the seeded bugs compiled in, nothing adds to the report after this.
    #[cfg_attr(not(feature = "seeded-bugs"), allow(unused_mut))]
    let mut report = verify(&config, |engine, check| {
        let status = if check.passed { "passed" } else { "FAILED" };
        eprintln!(
            "  {engine:<9} {:<16} {status} ({} in {:.1} s)",
            check.name, check.explored, check.seconds
        );
        if let Some(detail) = &check.detail {
            eprintln!("            {detail}");
        }
    });
    #[cfg(feature = "seeded-bugs")]
    if args.seeded {
        let config = VerifyConfig {
            time_limit: std::time::Duration::from_secs(args.seeded_time_limit),
            ..config
        };
        report.seeded = lockchan::verify::detect_seeded(&config, |detection| {
            let caught = detection.caught_by();
            eprintln!("  seeded {:<26} caught by {caught:?}", detection.bug);
        });
    }
    write_reports(&report, &args.out_dir)
        .with_context(|| format!("writing results into {}", args.out_dir.display()))?;
    eprintln!(
        "wrote {}/verification.json and VERIFICATION.md",
        args.out_dir.display()
    );
    let failed: Vec<_> = report
        .engines
        .iter()
        .filter(|(_, v)| !v.passed())
        .map(|(engine, _)| engine.as_str())
        .collect();
    if !failed.is_empty() {
        anyhow::bail!("not verified: {}; see VERIFICATION.md", failed.join(", "));
    }
    let missed: Vec<_> = report
        .seeded
        .iter()
        .filter(|d| d.caught_by().is_empty())
        .collect();
    if let Some(first) = missed.first() {
        anyhow::bail!("seeded bug {} went unnoticed by every check", first.bug);
    }
    // A stalled check leaves its threads behind; exiting ends them.
    std::process::exit(0)
}

/// `verify --merge-layers`: folds the layer log into the summary; fails when an engine is not
/// verified once the layers count.
fn merge_layers(dir: &std::path::Path, log: &std::path::Path, ceiling: f64) -> anyhow::Result<()> {
    let merged = lockchan::verify::layers::merge_layers(dir, log, ceiling)?;
    for engine in &merged.unchecked {
        eprintln!("  {engine}: in the layer log but not checked by the summary; left out");
    }
    let mut failed = Vec::new();
    for (engine, verification) in &merged.report.engines {
        for (layer, result) in &verification.layers {
            let tally = &result.tally;
            eprintln!(
                "  {engine:<9} {layer:<10} {:?}: {} passed, {} failed, {} inconclusive ({:.1}%)",
                result.verdict(),
                tally.passed,
                tally.failed,
                tally.inconclusive,
                100.0 * tally.inconclusive_rate()
            );
        }
        if !verification.passed() {
            failed.push(engine.as_str());
        }
    }
    eprintln!(
        "folded {} into {}/verification.json and VERIFICATION.md",
        log.display(),
        dir.display()
    );
    if !failed.is_empty() {
        anyhow::bail!("not verified: {}; see VERIFICATION.md", failed.join(", "));
    }
    Ok(())
}

fn duel(args: DuelArgs) -> anyhow::Result<()> {
    if args.e2e.e2e {
        let shared = cli::e2e::Shared {
            clients: args.clients,
            room_size: args.room_size,
            rounds: args.trials,
            seed: args.seed,
        };
        return cli::e2e::e2e(&args.e2e, &shared);
    }
    if !args.clients.is_multiple_of(usize::from(args.room_size)) {
        anyhow::bail!(
            "--clients {} is not a multiple of --room-size {}: some rooms could never fill; \
             pick a multiple",
            args.clients,
            args.room_size
        );
    }
    if args.clients < args.threads || args.threads == 0 || args.shards.contains(&0) {
        anyhow::bail!("need at least one thread, one client per thread and shards of 1 or more");
    }
    let config = DuelConfig {
        clients: args.clients,
        threads: args.threads,
        shards: args.shards,
        room_size: args.room_size,
        rounds: args.rounds,
        says: args.says,
        shouts: args.shouts,
        seed: args.seed,
        trials: args.trials,
        ..DuelConfig::default()
    };
    eprintln!(
        "duel: {} clients, {} threads, rooms of {}, {} rounds, {} interleaved trials, seed {}",
        config.clients, config.threads, config.room_size, config.rounds, config.trials, config.seed
    );
    let report = run_duel(&config, |row| {
        eprintln!("  {:<10} {:>10.0} ops/s", row.engine, row.ops_per_sec);
    });
    println!("{}", render_table(&report));
    for line in verdict_lines(&report) {
        println!("{line}");
    }
    for row in report.rows.iter().filter(|row| !row.invariants_held) {
        eprintln!("{} broke invariants: {:#?}", row.engine, row.broken);
    }
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(&args.out, json + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    if report.rows.iter().any(|row| !row.invariants_held) {
        anyhow::bail!("an engine broke the invariants: see above");
    }
    Ok(())
}
