//! `lockchan gate`: measure the verified engines on `mixed` in interleaved rounds, decide on
//! verdicts, write reports/gate.json and the trials; with `--repeat N`, run that whole
//! procedure N times and say whether the verdicts agree (exit status 1 when they do not).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use lockchan::gate::stability::Procedure;
use lockchan::gate::{
    Choice, GATE_THREADS, GATE_WORKLOAD, Gate, GatePaths, STABILITY_FILE, Stability, decide,
    read_verification, verified_specs,
};
use lockchan::trials::{TrialDone, measure};

use super::rounds::TrialArgs;
use lockchan::verdict::{Criteria, ResultSet};

#[derive(Args)]
pub(crate) struct GateArgs {
    /// The verification summary: only the engines it calls verified are measured.
    #[arg(long, default_value = "reports/verification.json")]
    verification: PathBuf,
    /// Where the decision goes.
    #[arg(long, default_value = "reports/gate.json")]
    out: PathBuf,
    /// The trials' result set: written after measuring, read with --from-trials.
    #[arg(long, default_value = "reports/gate-trials.json")]
    trials: PathBuf,
    /// The end-to-end trials (`lockchan duel --e2e`): when present, from this build's engine
    /// sources and the machine of the trials, also judged on (relay p99, server CPU per frame).
    #[arg(long, default_value = "reports/e2e-trials.json")]
    e2e_trials: PathBuf,
    /// Decide from the saved trials instead of measuring.
    #[arg(long, conflicts_with_all = ["repeat", "quick", "rounds", "bench"])]
    from_trials: bool,
    /// Percent: a difference smaller than this is a tie, even when significant.
    #[arg(long, default_value_t = 5.0)]
    min_effect: f64,
    /// Significance level of the rank test.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Run the whole procedure this many times, write reports/gate-stability.json, and exit
    /// 1 when the verdicts differ.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    #[command(flatten)]
    trials_args: TrialArgs,
}

pub(crate) fn gate(args: GateArgs) -> anyhow::Result<ExitCode> {
    let criteria = Criteria {
        alpha: args.alpha,
        min_effect: args.min_effect / 100.0,
    };
    let paths = GatePaths {
        trials: args.trials.clone(),
        verification: args.verification.clone(),
        e2e_trials: args.e2e_trials.clone(),
    };
    if args.from_trials {
        let trials = ResultSet::read(&args.trials).context("reading the trials")?;
        let gate = decide(Some(&trials), &paths, criteria).context("deciding the gate")?;
        finish(&gate, &args.out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let summary = read_verification(&args.verification).context("reading verification")?;
    let specs = verified_specs(summary.as_ref());
    let bench = if specs.is_empty() {
        None
    } else {
        Some(args.trials_args.bench()?)
    };
    let mut procedures = Vec::new();
    for procedure in 0..args.repeat.max(1) {
        let seed = args.trials_args.seed.wrapping_add(procedure as u64);
        let started = Instant::now();
        let trials = match &bench {
            Some(bench) => {
                let names: Vec<String> = specs.iter().map(ToString::to_string).collect();
                eprintln!(
                    "gate: procedure {}/{}: {} rounds of {} (seed {seed}){}",
                    procedure + 1,
                    args.repeat.max(1),
                    args.trials_args.rounds,
                    names.join(", "),
                    if args.trials_args.quick {
                        ", quick profile"
                    } else {
                        ""
                    }
                );
                let settings =
                    args.trials_args
                        .settings(seed, vec![GATE_WORKLOAD.to_owned()], GATE_THREADS);
                let set = measure(bench, &specs, &settings, print_trial)
                    .context("measuring the trials")?;
                set.write(&args.trials).context("writing the trials")?;
                Some(set)
            }
            None => None,
        };
        let gate = decide(trials.as_ref(), &paths, criteria).context("deciding the gate")?;
        let seconds = started.elapsed().as_secs_f64();
        finish(&gate, &args.out)?;
        eprintln!("gate: procedure {} took {seconds:.0} s", procedure + 1);
        procedures.push(Procedure {
            seed,
            seconds,
            verdict: gate.verdict_key(),
            served: gate.choice.as_ref().map(Choice::label),
            gate,
        });
    }
    if args.repeat <= 1 {
        return Ok(ExitCode::SUCCESS);
    }
    let stability = Stability::of(procedures);
    let path = args
        .out
        .parent()
        .unwrap_or(Path::new("."))
        .join(STABILITY_FILE);
    stability
        .save(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    for (i, p) in stability.procedures.iter().enumerate() {
        eprintln!("procedure {}: {} ({:.0} s)", i + 1, p.verdict, p.seconds);
    }
    for s in &stability.spread {
        let percent = |x: Option<f64>| x.map_or("–".to_owned(), |x| format!("{:.1}%", x * 100.0));
        eprintln!(
            "  {}: median ops/s moved {} between procedures, median p99 {}",
            s.candidate,
            percent(s.ops_spread),
            percent(s.p99_spread)
        );
    }
    eprintln!("wrote {}", path.display());
    if stability.agree {
        eprintln!("gate: the {} verdicts agree", stability.procedures.len());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("gate: the verdicts differ between procedures");
        Ok(ExitCode::from(1))
    }
}

/// One line per trial's workload: its round, contender and figures.
pub(crate) fn print_trial(done: &TrialDone) {
    for figure in &done.figures {
        let p99 = figure
            .p99_us
            .map_or_else(|| "–".to_owned(), |p99| format!("{p99:.0} µs"));
        eprintln!(
            "  round {:>2}: {:<16} {:<8} {:>12.0} ops/s  p99 {p99:>10}  ({:.1} s)",
            done.round + 1,
            figure.workload,
            done.spec.to_string(),
            figure.ops_per_sec,
            done.seconds
        );
    }
}

/// Writes the gate and says what it chose and why.
fn finish(gate: &Gate, out: &Path) -> anyhow::Result<()> {
    gate.save(out).context("writing the gate")?;
    match &gate.choice {
        Some(choice) => eprintln!("gate: {}", choice.label()),
        None => eprintln!("gate: no engine chosen"),
    }
    eprintln!("{}", gate.reason);
    eprintln!("wrote {}", out.display());
    Ok(())
}
