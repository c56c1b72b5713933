//! The WebSocket server over real loopback sockets, on every engine: every protocol path,
//! every kind of bad input, panics, slow consumers, shutdown and the return to baseline.

mod common;

use std::time::Duration;

use common::server::{TestServer, WAIT, http_get, http_request};
use lockchan::EngineSpec;
use lockchan::server::ServerConfig;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

per_engine!(async:
    join_match_say_shout_leave,
    bad_frames_get_errors_and_the_connection_lives,
    an_oversized_frame_closes_with_1009,
    a_flooding_client_is_warned_then_closed_with_1008,
    http_answers_plain_requests_and_refuses_past_the_cap,
    a_client_that_stops_reading_is_cut_off_and_others_do_not_notice,
    a_panic_is_contained_to_its_room,
    shutdown_closes_every_client_with_1001,
    everything_returns_to_baseline_after_clients_leave,
    a_silent_client_is_closed_and_ticks_arrive,
    with_two_tick_phases_each_client_ticks_at_its_phase,
);

fn config() -> ServerConfig {
    ServerConfig::default()
}

async fn join_match_say_shout_leave(spec: EngineSpec) {
    let server = TestServer::start(spec, config()).await;
    let mut ann = server.client("ann").await;
    let mut bob = server.client("bob").await;
    ann.send(json!({"type":"join","limit":2})).await;
    let joined = ann.next().await;
    assert_eq!(
        joined,
        json!({"type":"joined","room":"r2-1","members":[ann.id],"limit":2})
    );
    bob.send(json!({"type":"join","limit":2})).await;
    let both = json!([ann.id, bob.id]);
    assert_eq!(
        bob.next().await,
        json!({"type":"joined","room":"r2-1","members":both,"limit":2})
    );
    assert_eq!(
        ann.next().await,
        json!({"type":"member_joined","room":"r2-1","client":bob.id})
    );
    let matched = json!({"type":"matched","room":"r2-1","members":both});
    assert_eq!(ann.next().await, matched);
    assert_eq!(bob.next().await, matched);

    ann.send(json!({"type":"say","data":{"move":[3,4],"note":"ü"}}))
        .await;
    assert_eq!(
        bob.next().await,
        json!({"type":"said","from":ann.id,"data":{"move":[3,4],"note":"ü"}})
    );
    bob.send(json!({"type":"shout","text":"hello all"})).await;
    let shouted = json!({"type":"shouted","from":bob.id,"text":"hello all"});
    assert_eq!(ann.next().await, shouted);
    assert_eq!(bob.next().await, shouted, "a shout reaches its sender too");

    ann.send(json!({"type":"leave"})).await;
    assert_eq!(ann.next().await, json!({"type":"left","room":"r2-1"}));
    assert_eq!(
        bob.next().await,
        json!({"type":"member_left","room":"r2-1","client":ann.id})
    );

    // Every frame above came through an outbox (the welcomes did not), and the server timed
    // each from its outbox to the socket: in /admin/stats as buckets and percentiles, and in
    // /metrics as a histogram. Ten frames, of which all but the two shouts are directed (a
    // tick, a broadcast too, may add to the first count, never to the second).
    let frames = |stats: &serde_json::Value, histogram: &str| -> u64 {
        let buckets = stats[histogram]["buckets"].as_array().cloned();
        let counts = buckets
            .into_iter()
            .flatten()
            .map(|b| b[1].as_u64().unwrap_or(0));
        counts.sum()
    };
    let stats = server
        .stats_until("ten frames timed, eight directed", |s| {
            frames(s, "frame_delivery") >= 10 && frames(s, "directed_delivery") >= 8
        })
        .await;
    assert_eq!(frames(&stats, "directed_delivery"), 8, "{stats}");
    let p99 = stats["frame_delivery_p99_ms"].as_f64().expect("a p99");
    assert!(p99 > 0.0 && p99 < WAIT.as_secs_f64() * 1000.0, "{stats}");
    let (status, metrics) = http_get(server.admin, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("# TYPE lockchan_frame_delivery_seconds histogram"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lockchan_directed_delivery_seconds_count 8"),
        "{metrics}"
    );
    server.stop().await;
}

async fn bad_frames_get_errors_and_the_connection_lives(spec: EngineSpec) {
    let server = TestServer::start(spec, config()).await;
    let mut client = server.client("eve").await;
    let cases = [
        (Message::text("{not json"), "invalid_json"),
        (Message::text(r#"{"type":"dance"}"#), "unknown_type"),
        (Message::text(r#"{"limit":2}"#), "unknown_type"),
        (
            Message::text(r#"{"type":"join","limit":"two"}"#),
            "invalid_field",
        ),
        (Message::text(r#"{"type":"shout"}"#), "invalid_field"),
        (Message::binary(vec![1, 2, 3]), "binary_frame"),
        (Message::text(r#"{"type":"leave"}"#), "not_in_room"),
        (
            Message::text(r#"{"type":"join","limit":1}"#),
            "invalid_limit",
        ),
    ];
    for (frame, code) in cases {
        client.send_raw(frame).await;
        let error = client.next().await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["code"], code, "{error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }
    // Still alive and served.
    client.send(json!({"type":"join","limit":3})).await;
    assert_eq!(client.next().await["type"], "joined");
    let stats = server.stats().await;
    assert_eq!(stats["protocol_errors"], 6, "{stats}");
    server.stop().await;
}

async fn an_oversized_frame_closes_with_1009(spec: EngineSpec) {
    let server = TestServer::start(spec, config()).await;
    let mut client = server.client("big").await;
    // Just under the limit is fine: the engine relays it.
    let fits = "x".repeat(4096 - r#"{"type":"shout","text":""}"#.len());
    client.send(json!({"type":"shout","text":fits})).await;
    assert_eq!(client.next().await["type"], "shouted");
    client
        .send(json!({"type":"shout","text":"x".repeat(5000)}))
        .await;
    let close = client.closed().await.expect("a close frame");
    assert_eq!(close.code, CloseCode::Size);
    server.stop().await;
}

async fn a_flooding_client_is_warned_then_closed_with_1008(spec: EngineSpec) {
    let rate = 20;
    let server = TestServer::start(spec, ServerConfig { rate, ..config() }).await;
    let mut flood = server.client("flood").await;
    let mut calm = server.client("calm").await;
    let started = std::time::Instant::now();
    for _ in 0..3 * rate {
        // A refused command: an answer per message that gets through.
        flood.send(json!({"type":"leave"})).await;
    }
    let mut answers = Vec::new();
    let close = loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut flood.ws)).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                answers.push(serde_json::from_str::<serde_json::Value>(&text).unwrap());
            }
            Ok(Some(Ok(Message::Close(frame)))) => break frame.expect("a close code"),
            Ok(Some(Ok(_))) => {}
            other => panic!("no close: {other:?}"),
        }
    };
    assert_eq!(close.code, CloseCode::Policy);
    // The bucket refills in real time: on a loaded machine the flood's frames may reach the
    // server spread out, and each token refilled meanwhile lets one more through (and may
    // start a new run of drops, warned once more). Within a 50 ms spread there is none.
    let refills = (started.elapsed().as_secs_f64() * f64::from(rate)).floor() as usize;
    let codes: Vec<&str> = answers
        .iter()
        .filter(|a| a["type"] == "error")
        .filter_map(|a| a["code"].as_str())
        .collect();
    // At most a second's burst got through to the engine. (How many of its answers arrive
    // before the close depends on the engine: the actor engine answers asynchronously.)
    let refused = codes.iter().filter(|&&c| c == "not_in_room").count();
    assert!(
        refused <= rate as usize + refills,
        "{refills} refills: {codes:?}"
    );
    let warnings = codes.iter().filter(|&&c| c == "rate_limited").count();
    assert!(
        (1..=1 + refills).contains(&warnings),
        "{refills} refills: {codes:?}"
    );
    // The calm client is unaffected.
    calm.send(json!({"type":"join","limit":2})).await;
    assert_eq!(calm.next().await["type"], "joined");
    server.stop().await;
}

async fn http_answers_plain_requests_and_refuses_past_the_cap(spec: EngineSpec) {
    let server = TestServer::start(
        spec,
        ServerConfig {
            max_clients: 2,
            ..config()
        },
    )
    .await;
    let (status, body) = http_get(server.addr, "/ws").await;
    assert_eq!(status, 426, "{body}");
    let (status, body) = http_get(server.addr, "/").await;
    assert_eq!(status, 200);
    assert!(body.contains("<html"), "the demo page");
    assert_eq!(http_get(server.addr, "/nowhere").await.0, 404);
    let long = "n".repeat(100);
    let (status, _) = http_request(
        server.addr,
        &format!(
            "GET /ws?nick={long} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 400);
    let _a = server.client("a").await;
    let _b = server.client("b").await;
    let third = tokio_tungstenite::connect_async(server.url("player=c")).await;
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503);
        }
        other => panic!("a third client past the cap of 2 got {other:?}"),
    }
    assert_eq!(server.stats().await["rejected_over_capacity"], 1);
    assert_eq!(
        http_get(server.admin, "/healthz").await,
        (200, "ok\n".to_owned())
    );
    let (status, metrics) = http_get(server.admin, "/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("lockchan_connections 2"), "{metrics}");
    assert!(
        metrics.contains("lockchan_rejected_over_capacity_total 1"),
        "{metrics}"
    );
    let (status, page) = http_get(server.admin, "/admin").await;
    assert_eq!(status, 200);
    assert!(page.contains("/admin/stats"));
    server.stop().await;
}

async fn a_client_that_stops_reading_is_cut_off_and_others_do_not_notice(spec: EngineSpec) {
    let config = ServerConfig {
        outbox_capacity: 32,
        rate: 100_000,
        write_timeout: Duration::from_secs(3),
        ..config()
    };
    let server = TestServer::start(spec, config).await;
    // A client with a tiny receive window, that never reads after its welcome.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (mut sleeper, _) = tokio_tungstenite::client_async(server.url("player=zzz"), stream)
        .await
        .unwrap();
    let _welcome = futures_util::StreamExt::next(&mut sleeper).await;
    let mut reader = server.client("reader").await;
    let mut shouter = server.client("shouter").await;
    let text = "s".repeat(3000);
    let shouts = 2000;
    // The reader and the shouter (who hears its own shouts) keep up; the sleeper does not.
    for n in 0..shouts {
        shouter.send(json!({"type":"shout","text":text})).await;
        for client in [&mut reader, &mut shouter] {
            let event = client.next().await;
            assert_eq!(event["type"], "shouted", "shout {n}: {event}");
        }
    }
    server
        .stats_until("the sleeper cut off", |s| {
            s["slow_consumer_cuts"] == 1 && s["connections"] == 2
        })
        .await;
    drop(sleeper);
    server.stop().await;
}

async fn a_panic_is_contained_to_its_room(spec: EngineSpec) {
    let config = ServerConfig {
        panic_trigger: Some("PANIC-NOW".to_owned()),
        ..config()
    };
    let server = TestServer::start(spec, config).await;
    let mut ann = server.client("ann").await;
    let mut bob = server.client("bob").await;
    let mut other = server.client("other").await;
    // Ann seated first, so the room's members are [ann, bob] and are dissolved in that order.
    ann.send(json!({"type":"join","limit":2})).await;
    assert_eq!(ann.next().await["type"], "joined");
    bob.send(json!({"type":"join","limit":2})).await;
    other.send(json!({"type":"join","limit":3})).await;
    assert_eq!(other.next().await["type"], "joined");
    while ann.next().await["type"] != "matched" {}
    while bob.next().await["type"] != "matched" {}

    ann.send(json!({"type":"say","data":"PANIC-NOW"})).await;
    let mut ann_saw = [ann.next().await, ann.next().await];
    ann_saw.sort_by_key(|e| e["type"].as_str().map(str::to_owned));
    assert_eq!(ann_saw[0]["code"], "internal_error", "{ann_saw:?}");
    assert_eq!(
        ann_saw[1],
        json!({"type":"left","room":"r2-1"}),
        "{ann_saw:?}"
    );
    let mut bob_saw = [bob.next().await, bob.next().await];
    bob_saw.sort_by_key(|e| e["type"].as_str().map(str::to_owned));
    assert_eq!(bob_saw[0], json!({"type":"left","room":"r2-1"}));
    assert_eq!(bob_saw[1]["type"], "member_left");
    // The server goes on serving, the panicking client included.
    ann.send(json!({"type":"join","limit":3})).await;
    assert_eq!(ann.next().await["type"], "joined");
    assert_eq!(other.next().await["type"], "member_joined");
    assert_eq!(server.stats().await["panics_caught"], 1);
    server.stop().await;
}

async fn shutdown_closes_every_client_with_1001(spec: EngineSpec) {
    let server = TestServer::start(spec, config()).await;
    let mut clients = Vec::new();
    for n in 0..20 {
        clients.push(server.client(&format!("c{n}")).await);
    }
    let took = server.stop().await;
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    for client in &mut clients {
        let close = client.closed().await.expect("a close frame");
        assert_eq!(close.code, CloseCode::Away);
    }
}

async fn everything_returns_to_baseline_after_clients_leave(spec: EngineSpec) {
    let server = TestServer::start(spec, config()).await;
    let baseline = server.stats().await;
    let mut clients = Vec::new();
    for n in 0..40 {
        clients.push(server.client(&format!("c{n}")).await);
    }
    for client in &mut clients {
        client.send(json!({"type":"join","limit":4})).await;
    }
    for client in &mut clients {
        while client.next().await["type"] != "matched" {}
    }
    let busy = server.stats().await;
    assert_eq!(busy["connections"], 40);
    assert_eq!(busy["rooms_matched"], 10);
    for mut client in clients {
        client.ws.close(None).await.unwrap();
    }
    let tasks = baseline["tokio_alive_tasks"].as_u64().unwrap();
    server
        .stats_until("no client, no room, tasks at baseline", |s| {
            s["connections"] == 0
                && s["rooms_open"] == 0
                && s["rooms_matched"] == 0
                && s["tokio_alive_tasks"].as_u64() <= Some(tasks)
        })
        .await;
    server.stop().await;
}

async fn a_silent_client_is_closed_and_ticks_arrive(spec: EngineSpec) {
    let config = ServerConfig {
        ping_period: Duration::from_millis(300),
        pong_timeout: Duration::from_millis(900),
        ..config()
    };
    let server = TestServer::start(spec, config).await;
    let mut lively = server.client("lively").await;
    let tick = lively.next_any().await;
    assert_eq!(
        tick["type"], "tick",
        "a tick within the first second: {tick}"
    );
    // A client that answers nothing, not even pings: closed after the pong timeout.
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut silent, _) = tokio_tungstenite::client_async(server.url("player=mute"), stream)
        .await
        .unwrap();
    // The lively client keeps reading, and so answers the server's pings, while the silent one
    // is closed.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        tokio::select! {
            event = lively.next_any() => assert_eq!(event["type"], "tick", "{event}"),
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                if server.stats().await["connections"] == 1 {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "the silent client was never closed");
            }
        }
    }
    lively.send(json!({"type":"join","limit":2})).await;
    assert_eq!(lively.next().await["type"], "joined");
    let _ = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut silent)).await;
    server.stop().await;
}

/// Issue 3's promise: the server's default engine is one that passed verification.
#[test]
fn the_default_engine_is_a_verified_one() {
    use lockchan::server::{EngineFlag, choose_engine};
    use lockchan::verify::VerificationReport;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let choice = choose_engine(EngineFlag::Auto, None, &root.join("reports/gate.json"));
    let text = std::fs::read_to_string(root.join("reports/verification.json")).unwrap();
    let verification: VerificationReport = serde_json::from_str(&text).unwrap();
    assert!(
        verification.verified(choice.spec),
        "{} is not among the verified engines: {}",
        choice.spec,
        choice.reason
    );
}

/// `--tick-phases 2`: the client with an even id (group 0) ticks on the server clock's whole
/// seconds, the one with an odd id (group 1) half a second later. Only what the rule decides
/// is asserted, never how late a tick came: each client hears ticks; the odd one's first is
/// not before its first slot (500 ms); and each client's next tick is not before its group's
/// next slot after the last one (one tick a period, at its phase).
async fn with_two_tick_phases_each_client_ticks_at_its_phase(spec: EngineSpec) {
    let config = ServerConfig {
        tick_phases: 2,
        ..config()
    };
    let server = TestServer::start(spec, config).await;
    let mut ann = server.client("ann").await;
    let mut bob = server.client("bob").await;
    assert_ne!(ann.id % 2, bob.id % 2, "two clients in different groups");
    for client in [&mut ann, &mut bob] {
        let group = client.id % 2;
        let mut ats = Vec::new();
        while ats.len() < 2 {
            let tick = client.next_any().await;
            assert_eq!(tick["type"], "tick", "{tick}");
            ats.push(tick["at"].as_u64().expect("a tick's time in ms"));
        }
        let first_slot = group * 500;
        assert!(ats[0] >= first_slot, "group {group} ticked at {ats:?}");
        // The first slot of the group (500 ms apart from the other's) after the first tick.
        let next_slot = (ats[0].saturating_sub(first_slot) / 1000 + 1) * 1000 + first_slot;
        assert!(ats[1] >= next_slot, "group {group} ticked at {ats:?}");
    }
    server.stop().await;
}
