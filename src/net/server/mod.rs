//! `lockchan serve`: the WebSocket matchmaking server, on whichever engine the gate chose.
//!
//! Data flow: the accept loop (`http`) answers HTTP on the public port and upgrades `/ws`
//! requests; each client gets one task (`connection`) that parses its frames (`protocol`),
//! submits commands to the engine, and writes what the engine queues in the client's outbox,
//! woken by the outbox's doorbell (`bell`, which paces a broadcast's wake-ups). A shout is
//! submitted only within the server's fan-out budget (`admission`). A ticker tells the engine
//! the time. The admin port (`admin`) shows the figures `metrics` keeps. Shutdown cancels one
//! token that every task watches, and the tracker waits for them, bounded by the grace period.
//!
//! The engines never see the network; the server never sees an engine's insides. Engine calls
//! are synchronous and short (the actor engine's `submit` may wait while its world queue is
//! full, which is its backpressure); the ones that visit every client (`tick`, `snapshot`) run
//! on blocking threads.

mod admin;
mod admission;
mod bell;
mod choice;
mod config;
mod connection;
mod delivery;
mod http;
mod metrics;
mod panic;
mod protocol;
mod rate;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpSocket};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use choice::{EngineChoice, EngineFlag, FALLBACK_ENGINE, choose_engine};
pub use config::{DEFAULT_FANOUT_BUDGET, ServerConfig};
pub use delivery::Delivery;
pub use http::MAX_NAME_BYTES;
pub use protocol::{ENVELOPE_BYTES, ProtocolError};

use crate::Engine;

/// The engine a server runs, with its name and the reason it was chosen (both shown to
/// clients and on the admin page).
pub struct ServedEngine {
    pub engine: Arc<dyn Engine>,
    pub name: String,
    pub reason: String,
    /// Why the gate that chose the engine is stale for this binary, if it is: shown in the
    /// log, on the admin page and in `/metrics`.
    pub stale_gate: Option<String>,
}

/// What every task of one server shares.
pub(crate) struct Shared {
    engine: Arc<dyn Engine>,
    engine_name: String,
    engine_reason: String,
    stale_gate: Option<String>,
    config: ServerConfig,
    metrics: metrics::Metrics,
    /// The deliveries per second shouts may ask for, shared by every connection.
    admission: admission::Admission,
    /// Wakes the connections a broadcast rang, a chunk at a time (`bell`).
    pacer: Arc<bell::Pacer>,
    /// Cancelled once, when shutdown begins; every loop of the server watches it.
    shutdown: CancellationToken,
    /// Every connection task, so that shutdown can wait for them.
    tasks: TaskTracker,
    started: Instant,
    /// `started` on the wall clock, in ms since the Unix epoch.
    started_unix_ms: u64,
    /// Written once a second by the sampler task, read by `/admin/stats`; a std mutex because
    /// it is held for a copy and never across an await.
    rates: Mutex<admin::Rates>,
}

/// Binds `addr` with a listen backlog of `backlog`, so a storm of connections waits in the
/// kernel's queue rather than being refused.
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Raises this process's soft open-files limit to its hard limit and returns how many clients
/// it leaves room for (the limit less a reserve for the listeners, logs and the runtime).
pub fn raise_open_files_limit() -> io::Result<usize> {
    const RESERVE: u64 = 100;
    let limit = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok(usize::try_from(limit.saturating_sub(RESERVE)).unwrap_or(usize::MAX))
}

/// Serves WebSocket clients on `public` and the admin pages on `admin` until `shutdown`
/// resolves; then stops accepting, sends every client close 1001 after what it was owed, and
/// returns once every connection has ended or the grace period is over.
pub async fn run(
    public: TcpListener,
    admin: TcpListener,
    served: ServedEngine,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let started = Instant::now();
    let shared = Arc::new(Shared {
        engine: served.engine,
        engine_name: served.name,
        engine_reason: served.reason,
        stale_gate: served.stale_gate,
        admission: admission::Admission::new(config.fanout_budget, config.outbox_capacity, started),
        config,
        metrics: metrics::Metrics::new(),
        pacer: Arc::default(),
        shutdown: CancellationToken::new(),
        tasks: TaskTracker::new(),
        started,
        started_unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        rates: Mutex::new(admin::Rates::default()),
    });
    tracing::info!(
        public = %public.local_addr()?, admin = %admin.local_addr()?,
        engine = %shared.engine_name, reason = %shared.engine_reason, "serving"
    );
    shared
        .metrics
        .gate_stale
        .set(i64::from(shared.stale_gate.is_some()));
    if let Some(stale) = &shared.stale_gate {
        tracing::warn!("{stale}");
    }
    let background = [
        tokio::spawn(http::accept(public, shared.clone(), http::Port::Public)),
        tokio::spawn(http::accept(admin, shared.clone(), http::Port::Admin)),
        tokio::spawn(clock(shared.clone())),
        tokio::spawn(admin::keep_rates(shared.clone())),
        tokio::spawn(shared.pacer.clone().run(shared.shutdown.clone())),
    ];
    shutdown.await;
    tracing::info!(
        clients = shared.metrics.connections.get(),
        "shutting down: closing every connection"
    );
    shared.shutdown.cancel();
    shared.tasks.close();
    if tokio::time::timeout(shared.config.shutdown_grace, shared.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            left = shared.tasks.len(),
            "grace period over with connections still closing"
        );
    }
    for task in background {
        task.abort();
    }
    Ok(())
}

/// Tells the engine the time every [`config::clock_interval`] (250 ms, or less with more tick
/// phases), on a blocking thread. The engine sends each client `Tick` once per its tick period
/// at the client's phase whatever the interval is; telling it often makes each phase, and
/// each match timeout, land closer to on time. The served engine's tick period is
/// `EngineConfig`'s default: `serve` has no flag for it.
async fn clock(shared: Arc<Shared>) {
    let period = crate::EngineConfig::default().tick_period;
    let every = config::clock_interval(period, shared.config.tick_phases);
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        let engine = shared.engine.clone();
        let now = shared.started.elapsed();
        if tokio::task::spawn_blocking(move || engine.tick(now))
            .await
            .is_err()
        {
            tracing::error!("the engine panicked in tick");
        }
    }
}
