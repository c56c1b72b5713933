//! Reads the server's `/admin/stats` over HTTP: its memory, CPU, connection count and frame
//! delivery histogram during a load run, and the wall-clock time it started (to time ticks).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use crate::server::Delivery;

/// The part of `/admin/stats` a load run reads.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ServerStats {
    pub engine: String,
    pub connections: u64,
    pub rooms_open: u64,
    pub rooms_matched: u64,
    pub tokio_alive_tasks: u64,
    pub os_threads: u64,
    pub rss_bytes: u64,
    pub cpu_seconds: f64,
    pub started_unix_ms: u64,
    pub slow_consumer_cuts: u64,
    pub panics_caught: u64,
    /// Every frame the server has written, from its outbox to the socket, in the server's own
    /// type (empty from a server older than the figure).
    #[serde(default)]
    pub frame_delivery: Delivery,
    /// The directed frames among them (all but broadcasts), empty from a server older than
    /// the figure.
    #[serde(default)]
    pub directed_delivery: Delivery,
}

/// `GET /admin/stats` from the admin port at `admin` (`host:port`).
pub async fn fetch(admin: &str) -> Result<ServerStats, String> {
    let get = async {
        let stream = TcpStream::connect(admin)
            .await
            .map_err(|e| format!("connect {admin}: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = Request::get("/admin/stats")
            .header(hyper::header::HOST, admin)
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| format!("stats are not as expected: {e}"))
    };
    tokio::time::timeout(Duration::from_secs(5), get)
        .await
        .map_err(|_| format!("{admin}/admin/stats did not answer within 5 s"))?
}
