//! `lockchan rounds`: every engine and shard count on every closed-loop workload at one
//! thread count, in interleaved rounds, every trial kept in a result set
//! (`reports/trials.json`). The report's verdict table is stated from it, and `lockchan
//! compare` compares two of them.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use lockchan::gate::GATE_SHARDS;
use lockchan::trials::{BenchBinary, CLOSED_LOOP_WORKLOADS, RunSettings, measure};
use lockchan::verdict::DEFAULT_ROUNDS;

use super::gate::print_trial;

#[derive(Args)]
pub(crate) struct RoundsArgs {
    /// Workloads (bench groups), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = CLOSED_LOOP_WORKLOADS.map(str::to_owned))]
    workloads: Vec<String>,
    /// Caller threads of the measured cases.
    #[arg(long, default_value_t = 4)]
    threads: u32,
    /// Interleaved rounds: each runs every engine and shard count once, in a shuffled order.
    #[arg(long, default_value_t = DEFAULT_ROUNDS)]
    rounds: usize,
    /// Seeds the order of the rounds.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The bench's quick profile: tiny sizes, to show the procedure works, not to compare.
    #[arg(long)]
    quick: bool,
    /// Where the result set goes.
    #[arg(long, default_value = "reports/trials.json")]
    out: PathBuf,
    /// The `engines` bench binary; built with `cargo bench --no-run` when not given.
    #[arg(long)]
    bench: Option<PathBuf>,
    /// Scratch directory for the trials' criterion files and bench records.
    #[arg(long, default_value = "target/lockchan-rounds")]
    scratch: PathBuf,
}

pub(crate) fn rounds(args: RoundsArgs) -> anyhow::Result<()> {
    let bench = match args.bench {
        Some(path) => BenchBinary::at(path),
        None => {
            eprintln!("rounds: building the `engines` bench (cargo bench --no-run)");
            BenchBinary::build().context("building the bench")?
        }
    };
    let specs = lockchan::all_specs(&GATE_SHARDS);
    let settings = RunSettings {
        rounds: args.rounds,
        seed: args.seed,
        quick: args.quick,
        scratch: args.scratch,
        workloads: args.workloads,
        threads: args.threads,
    };
    let names: Vec<String> = specs.iter().map(ToString::to_string).collect();
    eprintln!(
        "rounds: {} rounds of {} on {} at {} threads (seed {}){}",
        settings.rounds,
        names.join(", "),
        settings.workloads.join(", "),
        settings.threads,
        settings.seed,
        if settings.quick {
            ", quick profile"
        } else {
            ""
        }
    );
    let started = std::time::Instant::now();
    let set = measure(&bench, &specs, &settings, print_trial).context("measuring the trials")?;
    set.write(&args.out).context("writing the trials")?;
    eprintln!(
        "rounds: {} trials in {:.0} s; wrote {}",
        settings.rounds * specs.len(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
