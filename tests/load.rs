//! The load generator against a real in-process server, on every engine: every client
//! connects, plays, measures, and the server sees none of them afterwards.

mod common;

use std::time::Duration;

use common::server::TestServer;
use lockchan::EngineSpec;
use lockchan::load::{LoadConfig, RunOptions, Scenario, run_load};
use lockchan::server::ServerConfig;

per_engine!(async:
    a_short_mixed_load_runs_clean_and_leaves_nothing_behind,
    the_flood_hears_busy_and_cuts_no_reader,
);

/// A short load against `server` from two source addresses; each test sets what it measures.
fn base(server: &TestServer) -> LoadConfig {
    LoadConfig {
        url: format!("ws://{}/ws", server.addr),
        clients: 20,
        ramp: Duration::from_millis(500),
        duration: Duration::from_secs(2),
        scenario: Scenario::Mixed,
        room_size: 4,
        say_rate: 1.0,
        shout_rate: 1.0,
        sources: vec![[127, 0, 0, 1].into(), [127, 0, 0, 2].into()],
        server_started_unix_ms: None,
    }
}

/// Runs `config` in this process, reading `server`'s admin figures as it goes.
async fn load(server: &TestServer, config: LoadConfig) -> lockchan::load::LoadReport {
    let options = RunOptions {
        admin: Some(server.admin.to_string()),
        clients_per_worker: 10_000,
        progress: false,
    };
    run_load(config, options).await.expect("the load ran")
}

async fn a_short_mixed_load_runs_clean_and_leaves_nothing_behind(spec: EngineSpec) {
    let server = TestServer::start(spec, ServerConfig::default()).await;
    let report = load(
        &server,
        LoadConfig {
            clients: 80,
            ramp: Duration::from_millis(500),
            scenario: Scenario::Mixed,
            say_rate: 5.0,
            shout_rate: 2.0,
            ..base(&server)
        },
    )
    .await;
    assert_eq!(report.connect_ok, 80, "{:?}", report.errors);
    assert_eq!(report.errors_total, 0, "{:?}", report.errors);
    assert_eq!(report.engine.as_deref(), Some(spec.to_string().as_str()));
    assert!(report.relay.samples > 0, "says were relayed and timed");
    assert!(report.shout.samples > 0, "shouts were delivered and timed");
    assert!(report.tick.samples > 0, "ticks arrived and were timed");
    assert!(report.relay.p50_ms > 0.0 && report.relay.max_ms < 10_000.0);
    assert!(!report.server.is_empty(), "the server was sampled");
    // Samples at 1 s and 2 s make the steady window: the server's own delivery latency and
    // both sides' CPU are taken over it.
    assert!(report.server_delivery.samples > 0, "{report:?}");
    assert!(report.server_delivery.p99_ms < 10_000.0, "{report:?}");
    // Relays and room events are directed; shouts and ticks are not.
    let directed = &report.server_directed_delivery;
    assert!(directed.samples > 0, "{report:?}");
    assert!(
        directed.samples < report.server_delivery.samples,
        "{report:?}"
    );
    assert!(report.generator_cpu_us_per_frame.is_some(), "{report:?}");
    server
        .stats_until("every load client gone", |s| {
            s["connections"] == 0 && s["rooms_open"] == 0 && s["rooms_matched"] == 0
        })
        .await;
    server.stop().await;
}

/// Shouts the server's fan-out budget refuses come back as `busy`: the load counts them apart
/// and not as errors, so a run that meets the budget still runs clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_shouts_are_counted_apart_from_errors() {
    let spec = EngineSpec::new(lockchan::EngineKind::LOCK, 1);
    let server = TestServer::start(
        spec,
        ServerConfig {
            // One delivery a second: after the first shout, every shout is over the budget.
            fanout_budget: std::num::NonZeroU32::new(1),
            ..ServerConfig::default()
        },
    )
    .await;
    let report = load(
        &server,
        LoadConfig {
            clients: 20,
            ramp: Duration::from_millis(200),
            scenario: Scenario::Broadcast,
            shout_rate: 20.0,
            ..base(&server)
        },
    )
    .await;
    assert!(report.shouts_refused_busy > 0, "{report:?}");
    assert_eq!(report.errors_total, 0, "{:?}", report.errors);
    server.stop().await;
}

/// The flood scenario at small scale: its one shouter, unlimited by the per-client rate, is
/// refused with `busy` past the fan-out budget, and none of the readers is cut (a cut reader
/// would show as `closed by server` among the errors).
async fn the_flood_hears_busy_and_cuts_no_reader(spec: EngineSpec) {
    let clients = 20;
    let server = TestServer::start(
        spec,
        ServerConfig {
            rate: 100_000,
            // 10 shouts a second to everyone: far below the flood, far above what readers in
            // a test process on a busy machine could fall behind.
            fanout_budget: std::num::NonZeroU32::new(10 * clients),
            ..ServerConfig::default()
        },
    )
    .await;
    let report = load(
        &server,
        LoadConfig {
            clients: clients as usize,
            ramp: Duration::from_millis(200),
            scenario: Scenario::Flood,
            shout_rate: Scenario::Flood.default_shout_rate(),
            ..base(&server)
        },
    )
    .await;
    assert_eq!(report.connect_ok, u64::from(clients), "{:?}", report.errors);
    assert_eq!(report.errors_total, 0, "{:?}", report.errors);
    assert!(report.shouts_refused_busy > 0, "{report:?}");
    assert!(
        report.shout.samples > 0,
        "shouts within the budget were delivered"
    );
    assert!(report.stall.is_none(), "gaps are the stall's figure");
    server.stop().await;
}

/// The stall scenario at small scale: the last client never reads; the report times the
/// readers' longest gap between shouts and the shouter's between sends (each at least about
/// the shout period, 20 ms here), and accounts for the stalled client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stall_times_both_gaps_and_accounts_for_the_stalled_client() {
    let spec = EngineSpec::new(lockchan::EngineKind::LOCK, 1);
    let server = TestServer::start(
        spec,
        ServerConfig {
            rate: 100_000,
            ..ServerConfig::default()
        },
    )
    .await;
    let report = load(
        &server,
        LoadConfig {
            clients: 10,
            ramp: Duration::from_millis(200),
            scenario: Scenario::Stall,
            shout_rate: 50.0,
            ..base(&server)
        },
    )
    .await;
    assert_eq!(report.connect_ok, 10, "{:?}", report.errors);
    assert_eq!(report.errors_total, 0, "{:?}", report.errors);
    let stall = report.stall.expect("the stall reports its figures");
    assert_eq!(stall.stalled, 1, "{stall:?}");
    assert!(stall.stalled_cut <= 1, "{stall:?}");
    assert!(stall.sender_gap_max_ms >= 10.0, "{stall:?}");
    assert!(stall.reader_gap_max_ms >= 10.0, "{stall:?}");
    assert!(report.shout.samples > 0, "the readers heard the shouts");
    server.stop().await;
}
