//! `lockchan load` and its hidden worker: flags into a load run, the report to the terminal
//! and to `reports/`.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use lockchan::load::{
    LoadConfig, LoadReport, RunOptions, Scenario, render_summary, run_load, worker_process,
    write_plots,
};

#[derive(Args, Clone)]
pub(crate) struct LoadArgs {
    /// The server's WebSocket endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub(crate) url: String,
    /// The server's admin address, sampled for memory and CPU (and tick timing).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub(crate) admin: String,
    /// Don't sample the admin address.
    #[arg(long)]
    pub(crate) no_admin: bool,
    #[arg(long, default_value_t = 1000)]
    pub(crate) clients: usize,
    /// Seconds over which connections are paced.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) ramp: f64,
    /// Seconds the run lasts after the ramp.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) duration: f64,
    #[arg(long, value_enum, default_value_t = Scenario::Mixed)]
    pub(crate) scenario: Scenario,
    #[arg(long, default_value_t = 4)]
    pub(crate) room_size: u8,
    /// `say`s per second per chatting client [default: 0.5 in mixed, else 1].
    #[arg(long)]
    pub(crate) say_rate: Option<f64>,
    /// `shout`s per second over all clients [default: 5 in broadcast, 1 in mixed, else 0].
    #[arg(long)]
    pub(crate) shout_rate: Option<f64>,
    /// Most clients per process (the open-files limit is 20,000 per process here); more start
    /// worker processes.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) clients_per_worker: usize,
    /// Loopback source addresses to spread client sockets over (127.0.0.1 … 127.0.0.N).
    #[arg(long, default_value_t = 4)]
    pub(crate) sources: u8,
    /// Where the JSON report goes; plots go beside it under plots/.
    #[arg(long, default_value = "reports/load.json")]
    pub(crate) out: PathBuf,
}

impl LoadArgs {
    pub(crate) fn config(&self) -> LoadConfig {
        LoadConfig {
            url: self.url.clone(),
            clients: self.clients,
            ramp: Duration::from_secs_f64(self.ramp.max(0.0)),
            duration: Duration::from_secs_f64(self.duration.max(0.0)),
            scenario: self.scenario,
            room_size: self.room_size,
            say_rate: self
                .say_rate
                .unwrap_or_else(|| self.scenario.default_say_rate()),
            shout_rate: self
                .shout_rate
                .unwrap_or_else(|| self.scenario.default_shout_rate()),
            sources: (1..=self.sources.max(1))
                .map(|n| Ipv4Addr::new(127, 0, 0, n))
                .collect(),
            server_started_unix_ms: None,
        }
    }

    pub(crate) fn options(&self, admin: Option<String>) -> RunOptions {
        RunOptions {
            admin,
            clients_per_worker: self.clients_per_worker,
            progress: true,
        }
    }

    /// Runs the load and returns its report, on a runtime of its own.
    pub(crate) fn run(&self, admin: Option<String>) -> anyhow::Result<LoadReport> {
        raise_open_files()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        runtime
            .block_on(run_load(self.config(), self.options(admin)))
            .context("running the load")
    }
}

pub(crate) fn load(args: LoadArgs) -> anyhow::Result<()> {
    args.scenario
        .check_clients(args.clients)
        .map_err(anyhow::Error::msg)?;
    let admin = (!args.no_admin).then(|| args.admin.clone());
    let report = args.run(admin)?;
    print!("{}", render_summary(&report));
    save(&report, &args.out)
}

/// Writes `report` as JSON at `out` and its plots under `plots/` beside it.
pub(crate) fn save(report: &LoadReport, out: &std::path::Path) -> anyhow::Result<()> {
    let dir = out.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(out, json + "\n").with_context(|| format!("writing {}", out.display()))?;
    let stem = out
        .file_stem()
        .map_or("load".into(), |s| s.to_string_lossy().into_owned());
    let plots = dir.join(lockchan::report::LOAD_PLOTS_DIR);
    write_plots(report, &plots, &stem).context("writing the load plots")?;
    println!(
        "wrote {} and {}/{stem}-*.svg",
        out.display(),
        plots.display()
    );
    Ok(())
}

/// Every client is a socket: take all the open files the hard limit allows.
fn raise_open_files() -> anyhow::Result<()> {
    lockchan::server::raise_open_files_limit().context("raising the open-files limit")?;
    Ok(())
}

#[derive(Args)]
pub(crate) struct WorkerArgs {
    /// The run, as the coordinator serialized it.
    #[arg(long)]
    pub(crate) config: String,
    #[arg(long)]
    pub(crate) first: usize,
    #[arg(long)]
    pub(crate) count: usize,
    /// Single-threaded runtimes to run the worker's clients on, each on a thread of its own
    /// (0 counts as 1).
    #[arg(long, default_value_t = 1)]
    pub(crate) runtimes: usize,
}

pub(crate) fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    raise_open_files()?;
    let config: LoadConfig =
        serde_json::from_str(&args.config).context("the worker's --config is not a load config")?;
    worker_process(config, args.first, args.count, args.runtimes)
        .context("running the worker's clients")
}
