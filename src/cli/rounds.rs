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
    /// Where the result set goes.
    #[arg(long, default_value = "reports/trials.json")]
    out: PathBuf,
    #[command(flatten)]
    trials: TrialArgs,
}

/// How trials run: what `rounds` and `gate` share.
#[derive(Args)]
pub(crate) struct TrialArgs {
    /// Interleaved rounds: each runs every contender once, in a shuffled order.
    #[arg(long, default_value_t = DEFAULT_ROUNDS)]
    pub(crate) rounds: usize,
    /// Seeds the order of the rounds.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// The bench's quick profile: tiny sizes, to show the procedure works (CI), not to compare.
    #[arg(long)]
    pub(crate) quick: bool,
    /// The `engines` bench binary; built with `cargo bench --no-run` when not given.
    #[arg(long)]
    pub(crate) bench: Option<PathBuf>,
    /// Scratch directory for the trials' criterion files and bench records.
    #[arg(long, default_value = "target/lockchan-trials")]
    pub(crate) scratch: PathBuf,
}

impl TrialArgs {
    /// The bench binary given, or the one `cargo bench --no-run` builds.
    pub(crate) fn bench(&self) -> anyhow::Result<BenchBinary> {
        match &self.bench {
            Some(path) => Ok(BenchBinary::at(path.clone())),
            None => {
                eprintln!("building the `engines` bench (cargo bench --no-run)");
                BenchBinary::build().context("building the bench")
            }
        }
    }

    /// The settings of one run of `workloads` at `threads`, its rounds seeded with `seed`.
    pub(crate) fn settings(&self, seed: u64, workloads: Vec<String>, threads: u32) -> RunSettings {
        RunSettings {
            rounds: self.rounds,
            seed,
            quick: self.quick,
            scratch: self.scratch.clone(),
            workloads,
            threads,
        }
    }
}

pub(crate) fn rounds(args: RoundsArgs) -> anyhow::Result<()> {
    let bench = args.trials.bench()?;
    let specs = lockchan::all_specs(&GATE_SHARDS);
    let settings = args
        .trials
        .settings(args.trials.seed, args.workloads, args.threads);
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
