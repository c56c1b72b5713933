//! `lockchan serve`: flags (each with an environment variable) into a running server.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use lockchan::EngineConfig;
use lockchan::server::{self, EngineFlag, ServedEngine, ServerConfig};

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Where WebSocket clients connect (`/ws`) and the demo page is served (`/`).
    #[arg(long, env = "LOCKCHAN_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Where the admin page, `/metrics` and `/healthz` are served. Keep it private.
    #[arg(long, env = "LOCKCHAN_ADMIN_ADDR", default_value = "127.0.0.1:8081")]
    admin_addr: SocketAddr,
    /// `auto` (the gate's choice) or an engine's name (`lockchan engines` lists them).
    #[arg(long, env = "LOCKCHAN_ENGINE", default_value = "auto")]
    engine: EngineFlag,
    /// Shards of the engine (locks, or room actors); default: the gate's, else 1.
    #[arg(long, env = "LOCKCHAN_SHARDS")]
    shards: Option<usize>,
    /// The gate's decision, read by `--engine auto`.
    #[arg(long, env = "LOCKCHAN_GATE", default_value = "reports/gate.json")]
    gate: PathBuf,
    /// With `--engine auto`: refuse to start unless a gate chose the engine and was decided
    /// on this binary's engine sources (without it, a stale gate is only a warning).
    #[arg(long, env = "LOCKCHAN_REQUIRE_FRESH_GATE")]
    require_fresh_gate: bool,
    /// Most clients at once; past it an upgrade gets HTTP 503. Lowered, with a warning, to
    /// what the open-files limit allows.
    #[arg(long, env = "LOCKCHAN_MAX_CLIENTS", default_value_t = ServerConfig::default().max_clients)]
    max_clients: usize,
    /// Events queued per client before it is cut off as a slow consumer.
    #[arg(long, env = "LOCKCHAN_OUTBOX", default_value_t = ServerConfig::default().outbox_capacity)]
    outbox: usize,
    /// Largest frame a client may send, in bytes; past it, close 1009.
    #[arg(long, env = "LOCKCHAN_MAX_MESSAGE", default_value_t = ServerConfig::default().max_message)]
    max_message: usize,
    /// Messages per second per client; over it, an error, then close 1008 if it persists.
    #[arg(long, env = "LOCKCHAN_RATE", default_value_t = ServerConfig::default().rate)]
    rate: u32,
    /// Deliveries per second the server admits for shouts, each charged one delivery per
    /// connected client; a shout over it is dropped with a `busy` error. 0 admits every shout.
    #[arg(long, env = "LOCKCHAN_FANOUT_BUDGET", default_value_t = server::DEFAULT_FANOUT_BUDGET)]
    fanout_budget: u32,
    /// Seconds between pings to a client.
    #[arg(long, env = "LOCKCHAN_PING_SECS", default_value_t = 54)]
    ping_secs: u64,
    /// Seconds a client may send nothing (not even a pong) before it is closed.
    #[arg(long, env = "LOCKCHAN_PONG_TIMEOUT_SECS", default_value_t = 60)]
    pong_timeout_secs: u64,
    /// Seconds one write to a client may take before it is cut off.
    #[arg(long, env = "LOCKCHAN_WRITE_TIMEOUT_SECS", default_value_t = 10)]
    write_timeout_secs: u64,
    /// Seconds an open room waits for its last member.
    #[arg(long, env = "LOCKCHAN_MATCH_TIMEOUT_SECS", default_value_t = 10)]
    match_timeout_secs: u64,
    /// tungstenite's read buffer per connection, in bytes (allocated up front).
    #[arg(long, env = "LOCKCHAN_READ_BUFFER", default_value_t = ServerConfig::default().read_buffer)]
    read_buffer: usize,
    /// Bytes of outgoing frames gathered before a write (grows only when used).
    #[arg(long, env = "LOCKCHAN_WRITE_BUFFER", default_value_t = ServerConfig::default().write_buffer)]
    write_buffer: usize,
    /// Spread each second's ticks over this many phases: clients are split into N groups by
    /// id (id modulo N), and group g hears its `tick` g/N of a second into each second, so a
    /// client still gets one tick a second but not all at the same instant. The clock then
    /// runs every min(250 ms, 1 s / N), at least 10 ms. 1 ticks every client at once.
    #[arg(long, env = "LOCKCHAN_TICK_PHASES", default_value_t = ServerConfig::default().tick_phases,
          value_parser = clap::value_parser!(u32).range(1..))]
    tick_phases: u32,
    /// The listen backlog, sized for connection storms.
    #[arg(long, env = "LOCKCHAN_BACKLOG", default_value_t = 4096)]
    backlog: u32,
    /// Serve the floor instead of an engine: every setting above, but no rooms or matchmaking;
    /// shouts and ticks fan out to every client (docs/LOAD.md). `--engine`, `--shards` and the
    /// gate are not read.
    #[arg(long)]
    floor: bool,
}

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut config = ServerConfig {
        max_clients: args.max_clients,
        outbox_capacity: args.outbox,
        max_message: args.max_message,
        rate: args.rate,
        fanout_budget: NonZeroU32::new(args.fanout_budget),
        ping_period: Duration::from_secs(args.ping_secs),
        pong_timeout: Duration::from_secs(args.pong_timeout_secs),
        write_timeout: Duration::from_secs(args.write_timeout_secs),
        read_buffer: args.read_buffer,
        write_buffer: args.write_buffer,
        tick_phases: args.tick_phases,
        ..ServerConfig::default()
    };
    let room = server::raise_open_files_limit().context("raising the open-files limit")?;
    if config.max_clients > room {
        tracing::warn!(
            requested = config.max_clients,
            allowed = room,
            "--max-clients is above what the open-files limit leaves room for; lowering it \
             (raise the hard limit with `ulimit -Hn` or systemd's LimitNOFILE to serve more)"
        );
        config.max_clients = room;
    }
    let engine_config = config.engine_config(EngineConfig {
        match_timeout: Duration::from_secs(args.match_timeout_secs),
        ..EngineConfig::default()
    });
    let served = if args.floor {
        lockchan::floor::served(engine_config)
    } else {
        engine(&args, engine_config)?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let public = server::bind(args.addr, args.backlog)
            .with_context(|| format!("binding {} (is another server running?)", args.addr))?;
        let admin = server::bind(args.admin_addr, 128)
            .with_context(|| format!("binding the admin address {}", args.admin_addr))?;
        server::run(public, admin, served, config, shutdown_signal())
            .await
            .context("serving")
    })
}

/// The engine `--engine` names (or the gate chose), built with `engine_config`.
fn engine(args: &ServeArgs, engine_config: EngineConfig) -> anyhow::Result<ServedEngine> {
    let choice = server::choose_engine(args.engine, args.shards, &args.gate);
    if args.require_fresh_gate && args.engine == EngineFlag::Auto {
        if let Some(stale) = &choice.stale_gate {
            anyhow::bail!("--require-fresh-gate: {stale}");
        }
        if !choice.gate_used {
            anyhow::bail!("--require-fresh-gate: {}", choice.reason);
        }
    }
    Ok(ServedEngine {
        engine: Arc::from(choice.spec.build(engine_config)),
        name: choice.spec.to_string(),
        reason: choice.reason,
        stale_gate: choice.stale_gate,
    })
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot listen for signals; stop the server with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("SIGINT"),
        _ = terminate.recv() => tracing::info!("SIGTERM"),
    }
}
