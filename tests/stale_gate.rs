//! A gate decided on other engine sources is stale for this binary: `serve --engine auto`
//! says so in `/metrics` and on the admin page, and `--require-fresh-gate` refuses to start.

mod common;

use std::process::Command;

use common::server::{TestServer, http_get};
use lockchan::server::ServerConfig;
use lockchan::{EngineConfig, EngineKind, EngineSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_gate_shows_in_metrics_and_admin_stats() {
    let spec = EngineSpec::new(EngineKind::LOCK, 1);
    let stale = "stale gate: decided on engine sources 0123".to_owned();
    let server = TestServer::start_served(
        spec,
        ServerConfig::default(),
        EngineConfig::default(),
        Some(stale.clone()),
    )
    .await;
    let (status, metrics) = http_get(server.admin, "/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("lockchan_gate_stale 1"), "{metrics}");
    let stats = server.stats().await;
    assert_eq!(stats["stale_gate"].as_str(), Some(stale.as_str()));
    server.stop().await;

    let fresh = TestServer::start(spec, ServerConfig::default()).await;
    let (_, metrics) = http_get(fresh.admin, "/metrics").await;
    assert!(metrics.contains("lockchan_gate_stale 0"), "{metrics}");
    assert!(fresh.stats().await["stale_gate"].is_null());
    fresh.stop().await;
}

#[test]
fn require_fresh_gate_refuses_a_stale_gate_before_binding() {
    let dir = std::env::temp_dir().join(format!("lockchan-stale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gate = dir.join("gate.json");
    std::fs::write(
        &gate,
        r#"{"choice": {"engine": "lock", "shards": 1}, "reason": "measured", "candidates": [],
            "inputs": {"criterion": {"path": "c", "found": true},
                       "verification": {"path": "v", "found": true}},
            "engine_source_hash": "0123"}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lockchan"))
        .args([
            "serve",
            "--engine",
            "auto",
            "--require-fresh-gate",
            "--gate",
        ])
        .arg(&gate)
        .args(["--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a stale gate was served: {stderr}"
    );
    assert!(
        stderr.contains("--require-fresh-gate: stale gate"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
