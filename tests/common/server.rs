//! A real server on loopback for integration tests, and a WebSocket test client for it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lockchan::server::{self, ServedEngine, ServerConfig};
use lockchan::{EngineConfig, EngineSpec};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one thing before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server on `127.0.0.1:0`, stopped by [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start(spec: EngineSpec, config: ServerConfig) -> TestServer {
        TestServer::start_with(spec, config, EngineConfig::default()).await
    }

    pub async fn start_with(
        spec: EngineSpec,
        config: ServerConfig,
        engine_config: EngineConfig,
    ) -> TestServer {
        TestServer::start_served(spec, config, engine_config, None).await
    }

    /// Starts a server whose engine was chosen by a gate that `stale_gate` says is stale.
    pub async fn start_served(
        spec: EngineSpec,
        config: ServerConfig,
        engine_config: EngineConfig,
        stale_gate: Option<String>,
    ) -> TestServer {
        let served = ServedEngine {
            engine: Arc::from(spec.build(config.engine_config(engine_config))),
            name: spec.to_string(),
            reason: "chosen by the test".to_owned(),
            stale_gate,
        };
        TestServer::serve(served, config)
    }

    /// Starts the floor (`serve --floor`): the same server with no engine.
    pub async fn start_floor(config: ServerConfig) -> TestServer {
        let served = lockchan::floor::served(config.engine_config(EngineConfig::default()));
        TestServer::serve(served, config)
    }

    fn serve(served: ServedEngine, config: ServerConfig) -> TestServer {
        let public = server::bind("127.0.0.1:0".parse().unwrap(), 1024).unwrap();
        let admin = server::bind("127.0.0.1:0".parse().unwrap(), 128).unwrap();
        let (addr, admin_addr) = (public.local_addr().unwrap(), admin.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(public, admin, served, config, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            admin: admin_addr,
            stop: Some(stop),
            task,
        }
    }

    pub fn url(&self, query: &str) -> String {
        format!("ws://{}/ws?{query}", self.addr)
    }

    /// Connects a client named `name` and reads its welcome.
    pub async fn client(&self, name: &str) -> TestClient {
        TestClient::connect(&self.url(&format!("player={name}&nick={name}"))).await
    }

    /// `/admin/stats` as JSON.
    pub async fn stats(&self) -> Value {
        let body = http_get(self.admin, "/admin/stats").await.1;
        serde_json::from_str(&body).expect("stats are JSON")
    }

    /// Waits until `/admin/stats` satisfies `done`, polling; fails after [`WAIT`].
    pub async fn stats_until(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let stats = self.stats().await;
            if done(&stats) {
                return stats;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "stats never showed {what}: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Shuts the server down and returns how long it took.
    pub async fn stop(mut self) -> Duration {
        let started = tokio::time::Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("the server did not stop")
            .expect("the server task panicked")
            .expect("the server failed");
        started.elapsed()
    }
}

/// One raw HTTP/1.1 GET; returns the status code and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// Sends `request` as is and reads the response to the end.
pub async fn http_request(addr: SocketAddr, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("no HTTP response")
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A WebSocket client that reads JSON events.
pub struct TestClient {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The id the welcome gave.
    pub id: u64,
}

impl TestClient {
    pub async fn connect(url: &str) -> TestClient {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        let mut client = TestClient { ws, id: 0 };
        let welcome = client.next_any().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        client.id = welcome["client"].as_u64().expect("a client id");
        client
    }

    pub async fn send(&mut self, json: Value) {
        self.ws
            .send(Message::text(json.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send");
    }

    /// The next frame, ticks included.
    pub async fn next_any(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no frame within the wait")
                .expect("the connection ended")
                .expect("a frame");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
                Message::Close(frame) => panic!("closed by the server: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next event that is not a tick.
    pub async fn next(&mut self) -> Value {
        loop {
            let event = self.next_any().await;
            if event["type"] != "tick" {
                return event;
            }
        }
    }

    /// Reads until the server closes; returns its close frame.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("not closed within the wait");
            match message {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}
