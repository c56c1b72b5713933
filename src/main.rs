//! The `lockchan` command: parse the arguments and hand over to the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lockchan::duel::{DuelConfig, render_table, run_duel};

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
    /// Run one seeded workload on the model and on both engines, and compare them.
    Duel(DuelArgs),
}

#[derive(Args)]
struct DuelArgs {
    /// Connected clients.
    #[arg(long, default_value_t = DuelConfig::default().clients)]
    clients: usize,
    /// Caller threads driving each engine (the model always gets one).
    #[arg(long, default_value_t = DuelConfig::default().threads)]
    threads: usize,
    /// Shard counts to run each engine at, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = DuelConfig::default().shards)]
    shards: Vec<usize>,
    /// User limit of every room (2 to 16).
    #[arg(long, default_value_t = DuelConfig::default().room_size,
          value_parser = clap::value_parser!(u8).range(2..=16))]
    room_size: u8,
    /// Rounds of join, say, shout, tick and leave.
    #[arg(long, default_value_t = DuelConfig::default().rounds)]
    rounds: usize,
    /// Says per client per round.
    #[arg(long, default_value_t = DuelConfig::default().says)]
    says: usize,
    /// Shouts to everyone per round.
    #[arg(long, default_value_t = DuelConfig::default().shouts)]
    shouts: usize,
    /// Seed of the workload's choices.
    #[arg(long, default_value_t = DuelConfig::default().seed)]
    seed: u64,
    /// Where to write the figures as JSON.
    #[arg(long, default_value = "reports/duel.json")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Commands::Duel(args) => duel(args),
    }
}

fn duel(args: DuelArgs) -> anyhow::Result<()> {
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
        ..DuelConfig::default()
    };
    eprintln!(
        "duel: {} clients, {} threads, rooms of {}, {} rounds, seed {}",
        config.clients, config.threads, config.room_size, config.rounds, config.seed
    );
    let report = run_duel(&config, |row| {
        eprintln!("  {:<10} {:>10.0} ops/s", row.engine, row.ops_per_sec);
    });
    println!("{}", render_table(&report));
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
