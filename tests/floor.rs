//! The floor (`serve --floor`) on loopback: the server's own listener, sockets and outboxes
//! with no engine behind them. A shout reaches every socket once, a tick reaches every socket,
//! a say reaches the sender's block of ids and no one else, and the admin port names the floor
//! and counts no room.

mod common;

use common::server::{TestClient, TestServer};
use lockchan::server::ServerConfig;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shout_reaches_every_socket_once_and_a_tick_reaches_all() {
    // One tick phase, so that every socket hears the same tick (its `at`); the phases are
    // tested at injected times in `net::floor`'s own tests.
    let config = ServerConfig {
        tick_phases: 1,
        ..ServerConfig::default()
    };
    let server = TestServer::start_floor(config).await;
    let mut clients = Vec::new();
    for i in 0..5 {
        clients.push(server.client(&format!("f{i}")).await);
    }
    let ids: Vec<u64> = clients.iter().map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5], "ids count from 1 in connection order");
    let stats = server.stats().await;
    assert_eq!(stats["engine"], "floor", "{stats}");
    assert_eq!(stats["connections"], 5, "{stats}");

    // Two shouts from one client: every socket, the sender's too, reads the first and then
    // the second, so the first came exactly once.
    clients[1].send(json!({"type":"shout","text":"one"})).await;
    clients[1].send(json!({"type":"shout","text":"two"})).await;
    for client in &mut clients {
        for text in ["one", "two"] {
            let shouted = client.next().await;
            assert_eq!(shouted["type"], "shouted", "{shouted}");
            assert_eq!(shouted["text"], text, "{shouted}");
            assert_eq!(shouted["from"], ids[1], "{shouted}");
        }
    }

    // Each socket reads ticks until the latest any of them has seen: every one reaches it.
    let mut ats = Vec::new();
    for client in &mut clients {
        ats.push(next_tick(client).await);
    }
    let latest = *ats.iter().max().expect("five clients");
    for (client, mut at) in clients.iter_mut().zip(ats) {
        while at < latest {
            at = next_tick(client).await;
        }
        assert_eq!(
            at, latest,
            "client {} skipped the tick at {latest} ms",
            client.id
        );
    }

    // A say from client 2, joined with a limit of 4, reaches 1, 3 and 4 (its block of ids);
    // client 5 reads the shout that follows the say and no `said`.
    clients[1].send(json!({"type":"join","limit":4})).await;
    let joined = clients[1].next().await;
    assert_eq!(joined["type"], "joined", "{joined}");
    let matched = clients[1].next().await;
    assert_eq!(matched["type"], "matched", "{matched}");
    assert_eq!(matched["members"], json!([1, 2, 3, 4]), "{matched}");
    clients[1]
        .send(json!({"type":"say","data":{"hello":1}}))
        .await;
    // From the same client, so the server handles it after the say.
    clients[1]
        .send(json!({"type":"shout","text":"after"}))
        .await;
    for (i, client) in clients.iter_mut().enumerate() {
        if [0, 2, 3].contains(&i) {
            let said = client.next().await;
            assert_eq!(said["type"], "said", "client {i}: {said}");
            assert_eq!(said["data"], json!({"hello":1}), "{said}");
        }
        let after = client.next().await;
        assert_eq!(after["type"], "shouted", "client {i}: {after}");
        assert_eq!(after["text"], "after", "client {i}: {after}");
    }

    for client in &mut clients {
        let _ = client.ws.close(None).await;
    }
    server
        .stats_until("every client gone and no room", |s| {
            s["connections"] == 0 && s["rooms_open"] == 0 && s["rooms_matched"] == 0
        })
        .await;
    server.stop().await;
}

/// The `at` of the next tick `client` reads, skipping anything else.
async fn next_tick(client: &mut TestClient) -> u64 {
    loop {
        let event = client.next_any().await;
        if event["type"] == "tick" {
            return event["at"].as_u64().expect("a tick's at");
        }
    }
}
