//! `lockchan duel --e2e`: the same binary serves on each engine in turn (every registered one
//! by default), the same load runs against each, and the table puts them side by side, with
//! whether each server returned to its baseline afterwards. The engines run in interleaved
//! rounds (the duel's `--trials`, each round in an order shuffled from `--seed`); every run
//! is kept in the JSON, its figures are kept as trials (`lockchan::e2e`) beside it, and the
//! verdict lines under the table judge every pair of engines on them. Unless `--no-floor`, the
//! floor (`serve --floor`, the same server with no engine) runs in every round too, as one more
//! contender: its runs are in the table and the JSON, every engine run is stated as a multiple
//! of its medians (`floor`), and each engine is judged against it; its trials stay out of the
//! file the gate reads, and it is never judged as an engine.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use lockchan::EngineSpec;
use lockchan::e2e::{E2eFigures, E2eTrials, trials_path};
use lockchan::floor::FLOOR_NAME;
use lockchan::load::{LoadReport, Scenario, ServerStats, fetch_server_stats, write_plots};
use lockchan::verdict::{Criteria, Provenance, schedule};
use serde::{Deserialize, Serialize};

use super::floor::{self, Contender};
use super::load::LoadArgs;
use super::{stall, time_went};

#[derive(Args)]
pub(crate) struct E2eArgs {
    /// Run the end-to-end duel: real servers, real sockets, the load generator.
    #[arg(long)]
    pub(crate) e2e: bool,
    /// Engines the server runs, in turn [default: every registered engine at one shard] (e2e).
    #[arg(long, value_delimiter = ',')]
    engines: Vec<EngineSpec>,
    /// The load's scenario (e2e).
    #[arg(long, value_enum, default_value_t = Scenario::Mixed)]
    scenario: Scenario,
    /// Seconds over which the load connects its clients (e2e).
    #[arg(long, default_value_t = 20.0)]
    ramp: f64,
    /// Seconds of load after the ramp (e2e).
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// `say`s per second per chatting client [default: 0.5 in mixed, else 1] (e2e).
    #[arg(long)]
    say_rate: Option<f64>,
    /// `shout`s per second over all clients [default: 5 in broadcast, 1 in mixed] (e2e).
    #[arg(long)]
    shout_rate: Option<f64>,
    /// Most load clients per process (e2e).
    #[arg(long, default_value_t = 10_000)]
    clients_per_worker: usize,
    /// Where the e2e results go (JSON; the table beside it as .md, the trials as
    /// <stem>-trials.json, plots under plots/).
    #[arg(long, default_value = "reports/e2e.json")]
    e2e_out: PathBuf,
    /// Run no floor (the same server with no engine) beside the engines, for a quick run (e2e).
    #[arg(long)]
    no_floor: bool,
    /// Tick phases for every server (`serve --tick-phases`) [default: the server's]. Several
    /// make each engine a contender at each (`lock/1 ticks/20`), to measure the spreading on
    /// its own; the floor then runs at the first (e2e).
    #[arg(long, value_delimiter = ',')]
    tick_phases: Vec<u32>,
}

/// The duel's flags the end-to-end duel uses too.
pub(crate) struct Shared {
    pub(crate) clients: usize,
    pub(crate) room_size: u8,
    /// Interleaved rounds: each runs every engine once.
    pub(crate) rounds: usize,
    /// Seeds the order of the rounds.
    pub(crate) seed: u64,
}

/// One engine's end-to-end result in one round: the JSON file holds a list of them, which
/// `lockchan targets` reads back.
#[derive(Serialize, Deserialize)]
pub(crate) struct Run {
    pub(crate) engine: String,
    /// The interleaved round it ran in, from 0.
    pub(crate) round: usize,
    pub(crate) load: LoadReport,
    /// The server before the load, and after every client had gone.
    before: ServerStats,
    after: ServerStats,
    /// No client, no room, and no more tasks than before the load.
    pub(crate) back_to_baseline: bool,
    shutdown_seconds: f64,
    exit_code: Option<i32>,
}

pub(crate) fn e2e(args: &E2eArgs, shared: &Shared) -> anyhow::Result<()> {
    let Shared {
        clients,
        room_size,
        rounds,
        seed,
    } = *shared;
    if clients == 0 {
        bail!("--clients must be at least 1");
    }
    if rounds == 0 {
        bail!("--trials must be at least 1");
    }
    args.scenario
        .check_clients(clients)
        .map_err(anyhow::Error::msg)?;
    if let Some(dir) = args.e2e_out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let engines = if args.engines.is_empty() {
        lockchan::all_specs(&[1])
    } else {
        args.engines.clone()
    };
    let phases: Vec<Option<u32>> = match args.tick_phases.as_slice() {
        [_, _, ..] => args.tick_phases.iter().copied().map(Some).collect(),
        _ => vec![None],
    };
    let engine_contenders: Vec<Contender> = engines
        .iter()
        .flat_map(|&spec| {
            phases
                .iter()
                .map(move |&tick_phases| Contender::Engine { spec, tick_phases })
        })
        .collect();
    let names: Vec<String> = engine_contenders.iter().map(ToString::to_string).collect();
    let contenders: Vec<Contender> = (!args.no_floor)
        .then_some(Contender::Floor)
        .into_iter()
        .chain(engine_contenders)
        .collect();
    let mut trials = E2eTrials::new(&args.scenario.to_string(), clients, Provenance::read());
    let mut runs = Vec::new();
    for (round, order) in schedule(contenders.len(), rounds, seed)
        .into_iter()
        .enumerate()
    {
        for index in order {
            let engine = contenders[index];
            eprintln!(
                "e2e: round {}/{rounds}: {engine}: {clients} clients, scenario {}",
                round + 1,
                args.scenario
            );
            let run = run_engine(args, engine, clients, room_size, round).with_context(|| {
                format!("the end-to-end run on {engine} in round {}", round + 1)
            })?;
            trials
                .record(&run.engine, &figures(&run.load))
                .with_context(|| format!("keeping the figures of {engine}"))?;
            runs.push(run);
        }
    }
    // One table row per run, engine by engine in the order given (the floor first: its
    // position is `None`), each engine's rounds in order.
    runs.sort_by_key(|run| {
        let engine = names.iter().position(|name| *name == run.engine);
        (engine, run.round)
    });
    let stem = args
        .e2e_out
        .file_stem()
        .map_or("e2e".into(), |s| s.to_string_lossy().into_owned());
    let plots = args
        .e2e_out
        .with_file_name(lockchan::report::LOAD_PLOTS_DIR);
    let mut plotted = Vec::new();
    for name in &names {
        let Some(run) = median_run(&runs, name) else {
            continue;
        };
        let file = format!("{stem}-{}", name.replace('/', "-"));
        write_plots(&run.load, &plots, &file).context("writing the e2e plots")?;
        plotted.push(format!("{name}: round {}", run.round + 1));
    }
    let lines = trials.verdict_lines(&names, Criteria::default());
    let mut table = render_table(&runs);
    table += &format!(
        "\nEach engine's plots are of its run of median relay p99 ({}).\n\n",
        plotted.join(", ")
    );
    for line in &lines {
        table += &format!("- {line}\n");
    }
    let rows: Vec<floor::Row<'_>> = runs
        .iter()
        .map(|run| floor::Row::of(&run.engine, run.round, &run.load))
        .collect();
    if let Some(section) = floor::section(&rows, args.scenario) {
        table = format!("{}\n\n{section}", table.trim_end());
        for line in trials.lines_against(&names, FLOOR_NAME, Criteria::default()) {
            table += &format!("- {line}\n");
        }
    }
    let spent: Vec<time_went::Spent<'_>> = runs
        .iter()
        .map(|run| time_went::Spent::of(&run.engine, args.scenario, &run.load))
        .collect();
    if let Some(section) = time_went::section(&spent, args.scenario) {
        table = format!("{}\n\n{section}", table.trim_end());
    }
    let stalls = runs
        .iter()
        .map(|run| (run.engine.as_str(), run.round, &run.load));
    if let Some(section) = stall::section(stalls) {
        table = format!("{}\n\n{section}", table.trim_end());
    }
    println!("{table}");
    let json = serde_json::to_string_pretty(&runs)?;
    std::fs::write(&args.e2e_out, json + "\n")
        .with_context(|| format!("writing {}", args.e2e_out.display()))?;
    let md = args.e2e_out.with_extension("md");
    std::fs::write(&md, table).with_context(|| format!("writing {}", md.display()))?;
    let trials_file = trials_path(&args.e2e_out);
    let failed: Vec<String> = runs.iter().filter_map(Run::failure).collect();
    if !failed.is_empty() {
        // A failed run measured a failure, not the engine: no trials speak for this set, and
        // an older trials file beside it would speak for runs no longer there.
        if trials_file.exists() {
            std::fs::remove_file(&trials_file)
                .with_context(|| format!("removing the stale {}", trials_file.display()))?;
        }
        println!(
            "wrote {} and {}; no trials: {} run(s) failed",
            args.e2e_out.display(),
            md.display(),
            failed.len()
        );
        bail!("{}", failed.join("; "));
    }
    trials
        .set_without(FLOOR_NAME)
        .write(&trials_file)
        .context("writing the e2e trials")?;
    println!(
        "wrote {}, {}, {} and plots/ beside them",
        args.e2e_out.display(),
        md.display(),
        trials_file.display()
    );
    Ok(())
}

impl Run {
    /// What went wrong in this run, if anything: a client that could not connect, an error
    /// the load saw, or a server that did not return to its baseline.
    fn failure(&self) -> Option<String> {
        let load = &self.load;
        let what = if load.connect_failed > 0 || load.errors_total > 0 {
            format!(
                "{} failed connects and {} errors",
                load.connect_failed, load.errors_total
            )
        } else if !self.back_to_baseline {
            "no return to its baseline after the load".to_owned()
        } else {
            return None;
        };
        Some(format!(
            "{} in round {}: {what}",
            self.engine,
            self.round + 1
        ))
    }
}

/// A run's figures as trials: relay and tick p99 where one was timed, CPU per frame where the
/// server's samples gave a steady window with frames in it.
fn figures(load: &LoadReport) -> E2eFigures {
    E2eFigures {
        relay_p99_ms: (load.relay.samples > 0).then_some(load.relay.p99_ms),
        server_cpu_us_per_frame: load.server_cpu_us_per_frame,
        tick_p99_ms: (load.tick.samples > 0).then_some(load.tick.p99_ms),
    }
}

/// `engine`'s run of median relay p99 (the upper middle one of an even count: the plots show
/// a typical run, and of two, the slower).
fn median_run<'a>(runs: &'a [Run], engine: &str) -> Option<&'a Run> {
    let mut own: Vec<&Run> = runs.iter().filter(|run| run.engine == engine).collect();
    own.sort_by(|a, b| a.load.relay.p99_ms.total_cmp(&b.load.relay.p99_ms));
    own.get(own.len() / 2).copied()
}

fn run_engine(
    args: &E2eArgs,
    engine: Contender,
    clients: usize,
    room_size: u8,
    round: usize,
) -> anyhow::Result<Run> {
    let (public, admin) = (free_port()?, free_port()?);
    let exe = std::env::current_exe().context("finding this program to start the server")?;
    let mut server = Server(
        Command::new(exe)
            .arg("serve")
            .args(engine.serve_args(args.tick_phases.first().copied()))
            .args(args.scenario.serve_args())
            .args([
                "--addr",
                &public.to_string(),
                "--admin-addr",
                &admin.to_string(),
            ])
            .args(["--max-clients", &(clients + 100).to_string()])
            .env("RUST_LOG", "warn")
            .spawn()
            .context("starting the server")?,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let admin_addr = admin.to_string();
    let before = runtime.block_on(wait_for_server(&admin_addr))?;
    let load = LoadArgs {
        url: format!("ws://{public}/ws"),
        admin: admin_addr.clone(),
        no_admin: false,
        clients,
        ramp: args.ramp,
        duration: args.duration,
        scenario: args.scenario,
        room_size,
        say_rate: args.say_rate,
        shout_rate: args.shout_rate,
        clients_per_worker: args.clients_per_worker,
        sources: 4,
        out: PathBuf::new(),
    };
    let report = load.run(Some(admin_addr.clone()))?;
    let after = runtime.block_on(wait_for_baseline(&admin_addr, &before));
    let back_to_baseline = after.connections == 0
        && after.rooms_open == 0
        && after.rooms_matched == 0
        && after.tokio_alive_tasks <= before.tokio_alive_tasks;
    let (shutdown_seconds, exit_code) = server.terminate()?;
    Ok(Run {
        engine: engine.to_string(),
        round,
        load: report,
        before,
        after,
        back_to_baseline,
        shutdown_seconds,
        exit_code,
    })
}

/// The server process, killed if the run fails before it is stopped properly.
struct Server(Child);

impl Server {
    /// SIGTERM, then the time until it exited and its exit code.
    fn terminate(&mut self) -> anyhow::Result<(f64, Option<i32>)> {
        let started = Instant::now();
        let pid = libc::pid_t::try_from(self.0.id()).context("a pid out of range")?;
        // SAFETY: `kill` takes any pid and signal number; this pid is our own child, which
        // has not been waited for, so it cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        loop {
            if let Some(status) = self.0.try_wait()? {
                return Ok((started.elapsed().as_secs_f64(), status.code()));
            }
            if started.elapsed() > Duration::from_secs(15) {
                bail!("the server did not exit within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A port the kernel says is free now (bound and released: a small race with any other
/// program picking ports the same moment).
fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

async fn wait_for_server(admin: &str) -> anyhow::Result<ServerStats> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match fetch_server_stats(admin).await {
            Ok(stats) => return Ok(stats),
            Err(error) if Instant::now() > deadline => bail!("the server never answered: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Polls until the server shows no client, no room, its starting task count and resident
/// memory near its start (the server hands freed pages back within a second or two of its
/// last client leaving), for at most 30 s; returns the last reading either way.
async fn wait_for_baseline(admin: &str, before: &ServerStats) -> ServerStats {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = fetch_server_stats(admin).await.unwrap_or_default();
        let settled = now.connections == 0
            && now.rooms_open == 0
            && now.rooms_matched == 0
            && now.tokio_alive_tasks <= before.tokio_alive_tasks
            && now.rss_bytes <= before.rss_bytes + (before.rss_bytes / 2).max(8 << 20);
        if settled || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn render_table(runs: &[Run]) -> String {
    let mut out = String::from(
        "| engine | round | clients ok / failed | errors (busy) | TPS | received/s | relay p50 / p99 ms | \
         shout p99 ms | tick p99 ms | server delivery p50 / p99 ms | server RSS peak MiB | bytes / client | CPU % | \
         CPU µs / frame | generator CPU % | generator CPU µs / frame | baseline after | \
         RSS after MiB | shutdown s |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|\n",
    );
    for run in runs {
        let l = &run.load;
        let peak = l.server.iter().map(|s| s.rss_bytes).max().unwrap_or(0);
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        out += &format!(
            "| {} | {} | {} / {} | {} ({}) | {:.0} | {:.0} | {:.2} / {:.2} | {:.2} | {:.2} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} |\n",
            run.engine,
            run.round + 1,
            l.connect_ok,
            l.connect_failed,
            l.errors_total,
            l.shouts_refused_busy,
            l.steady_tps,
            l.steady_received_per_s,
            l.relay.p50_ms,
            l.relay.p99_ms,
            l.shout.p99_ms,
            l.tick.p99_ms,
            if l.server_delivery.samples > 0 {
                format!(
                    "{:.2} / {:.2}",
                    l.server_delivery.p50_ms, l.server_delivery.p99_ms
                )
            } else {
                "–".to_owned()
            },
            mib(peak),
            l.server_rss_per_client_bytes
                .map_or("–".to_owned(), |b| format!("{b:.0}")),
            l.server_cpu_percent
                .map_or("–".to_owned(), |c| format!("{c:.0}")),
            l.server_cpu_us_per_frame
                .map_or("–".to_owned(), |c| format!("{c:.2}")),
            l.generator_cpu_percent
                .map_or("–".to_owned(), |c| format!("{c:.0}")),
            l.generator_cpu_us_per_frame
                .map_or("–".to_owned(), |c| format!("{c:.2}")),
            if run.back_to_baseline {
                "yes"
            } else {
                "**no**"
            },
            mib(run.after.rss_bytes),
            run.shutdown_seconds,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use lockchan::gate::GATE_E2E_SCENARIO;
    use lockchan::load::Scenario;

    /// The gate judges the end-to-end trials of the scenario it names; that name must be the
    /// load's own name for its mixed profile, or the gate would never find them.
    #[test]
    fn the_gates_scenario_is_the_loads_mixed_profile() {
        assert_eq!(Scenario::Mixed.to_string(), GATE_E2E_SCENARIO);
    }
}
