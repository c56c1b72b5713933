//! Fan-out admission over real loopback sockets, on every engine: one client flooding shouts
//! past the server's delivery budget is refused with `busy`, and the readers it would have
//! buried keep reading, are never cut, and all see the same shouts in the same order.

mod common;

use std::num::NonZeroU32;

use common::server::{TestClient, TestServer, WAIT, http_get};
use futures_util::{SinkExt, StreamExt};
use lockchan::EngineSpec;
use lockchan::server::ServerConfig;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

per_engine!(async: a_flood_of_shouts_gets_busy_and_no_reader_is_cut);

const READERS: usize = 100;
const SHOUTS: u64 = 4_000;

/// The flood: one client whose rate limit is raised sends `SHOUTS` shouts as fast as it can
/// while `READERS` clients read. With the budget off (`fanout_budget: None`) this fails on
/// every engine: the readers' small outboxes fill long before the server has written such a
/// flood, and they are cut as slow consumers (all 100 on the lock engine; the hub engines cut
/// the shouter too, which hears its own shouts, so the failure names it and the figures). With
/// the budget, the shouter hears `busy` and every reader stays.
async fn a_flood_of_shouts_gets_busy_and_no_reader_is_cut(spec: EngineSpec) {
    let clients = u32::try_from(READERS + 1).unwrap();
    let config = ServerConfig {
        outbox_capacity: 32,
        rate: 1_000_000,
        // 20 shouts a second to everyone, in bursts of 32 / 4 = 8: a reader would have to
        // fall a second behind to be cut.
        fanout_budget: NonZeroU32::new(20 * clients),
        ..ServerConfig::default()
    };
    let server = TestServer::start(spec, config).await;
    // How many shouts each reader is owed, once the shouter knows.
    let (owed_tx, owed) = watch::channel(None);
    let mut readers = Vec::new();
    for n in 0..READERS {
        let reader = server.client(&format!("reader{n}")).await;
        readers.push(tokio::spawn(read_shouts(reader, owed.clone())));
    }
    let shouter = server.client("shouter").await;
    let me = shouter.id;
    let (mut sink, mut stream) = shouter.ws.split();
    // The shouter reads its answers while it floods: every shout comes back either as its own
    // `shouted` (admitted) or as a `busy` error (dropped).
    let answers = tokio::spawn(async move {
        let (mut admitted, mut busy) = (Vec::new(), 0);
        while admitted.len() as u64 + busy < SHOUTS {
            let frame = next_json(&mut stream).await?;
            match frame["type"].as_str() {
                Some("shouted") if frame["from"] == me => admitted.push(shout_number(&frame)),
                Some("error") if frame["code"] == "busy" => {
                    assert_eq!(frame["command"], "shout", "{frame}");
                    busy += 1;
                }
                Some("tick") => {}
                _ => panic!("the shouter got {frame}"),
            }
        }
        Ok::<_, String>((admitted, busy))
    });
    for n in 0..SHOUTS {
        let shout = json!({"type":"shout","text":n.to_string()}).to_string();
        let sent = sink.feed(Message::text(shout)).await;
        // A shouter cut off stops here; its reader says why.
        if sent.is_err() || (n % 64 == 63 && sink.flush().await.is_err()) {
            break;
        }
    }
    let _ = sink.flush().await;
    let (admitted, busy) = match answers.await.expect("the shouter's reader") {
        Ok(answers) => answers,
        // Only the figures can say how many readers went with it.
        Err(end) => panic!(
            "the shouter (who hears its shouts too): {end}; {}",
            server.stats().await
        ),
    };
    assert!(
        admitted.windows(2).all(|pair| pair[0] < pair[1]),
        "the shouter's own shouts out of order: {admitted:?}"
    );
    owed_tx.send_replace(Some(admitted.len()));
    // Kept open until the server's figures are read.
    let mut still_open = Vec::new();
    let mut cut = Vec::new();
    for (n, reader) in readers.into_iter().enumerate() {
        match reader.await.expect("a reader's task") {
            Ok((heard, reader)) => {
                assert_eq!(heard, admitted, "reader {n} heard other shouts");
                still_open.push(reader);
            }
            Err(end) => cut.push(format!("reader {n}: {end}")),
        }
    }
    assert!(
        cut.is_empty(),
        "{} of {READERS} readers cut ({busy} busy, {} admitted); the first: {}",
        cut.len(),
        admitted.len(),
        cut[0]
    );
    assert!(
        busy > 0,
        "no shout was refused: {} admitted",
        admitted.len()
    );
    assert!(!admitted.is_empty(), "no shout was admitted");
    let stats = server.stats().await;
    assert_eq!(stats["slow_consumer_cuts"], 0, "{stats}");
    assert_eq!(stats["connections"], READERS + 1, "{stats}");
    assert_eq!(stats["shouts_refused_busy"], busy, "{stats}");
    assert_eq!(stats["protocol_errors"], 0, "{stats}");
    let metrics = http_get(server.admin, "/metrics").await.1;
    let line = format!("lockchan_shouts_refused_busy_total {busy}\n");
    assert!(metrics.contains(&line), "{metrics}");
    drop(still_open);
    server.stop().await;
}

/// Reads a reader's frames, keeping the number of every shout, until it has heard as many as
/// `owed` says it is owed; then hands back the numbers and the still open client. The error
/// says how the connection ended if it ended first.
async fn read_shouts(
    mut reader: TestClient,
    mut owed: watch::Receiver<Option<usize>>,
) -> Result<(Vec<u64>, TestClient), String> {
    let mut heard = Vec::new();
    loop {
        if owed.borrow().is_some_and(|owed| heard.len() >= owed) {
            return Ok((heard, reader));
        }
        tokio::select! {
            frame = next_json(&mut reader.ws) => {
                let frame = frame?;
                match frame["type"].as_str() {
                    Some("shouted") => heard.push(shout_number(&frame)),
                    Some("tick") => {}
                    _ => return Err(format!("unexpected {frame}")),
                }
            }
            // The owed count arrived: check it against what was heard.
            _ = owed.changed() => {}
        }
    }
}

/// The next text frame as JSON, or how the connection ended.
async fn next_json<S>(stream: &mut S) -> Result<Value, String>
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(WAIT, stream.next())
            .await
            .map_err(|_| "no frame within the wait".to_owned())?;
        match message {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"));
            }
            Some(Ok(Message::Close(frame))) => return Err(format!("closed: {frame:?}")),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(format!("connection failed: {error}")),
            None => return Err("connection ended".to_owned()),
        }
    }
}

fn shout_number(frame: &Value) -> u64 {
    frame["text"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("a shout of this test: {frame}"))
}
