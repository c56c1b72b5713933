//! The two HTTP faces of the server: the public port (`/ws` upgrades, `/` the demo page) and
//! the admin port (`/admin`, `/admin/stats`, `/metrics`, `/healthz`), and the accept loop both
//! share.
//!
//! hyper parses the requests, so that a plain HTTP request to `/ws`, a full server or a bad
//! query each get a proper HTTP answer before any WebSocket work; an accepted upgrade hands
//! the raw connection to tokio-tungstenite.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::{Shared, admin, connection};
use crate::Player;

type Body = Full<Bytes>;

/// The demo page served at `/` on the public port.
const DEMO_PAGE: &str = include_str!("../../../assets/demo.html");

/// The longest `player` or `nick` accepted in the upgrade query, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// Which routes a listener serves.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Port {
    Public,
    Admin,
}

/// Accepts connections until shutdown, serving each with `port`'s routes on a task of the
/// server's tracker.
pub(crate) async fn accept(listener: TcpListener, shared: Arc<Shared>, port: Port) {
    loop {
        let accepted = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of file descriptors (or a connection reset before it was accepted):
                // the listener stays, and a pause lets closing connections free descriptors
                // instead of spinning on the same error.
                tracing::warn!(%error, ?port, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Events are small and latency matters more than packet count; the writer batches.
        let _ = stream.set_nodelay(true);
        let conn_shared = shared.clone();
        shared.tasks.spawn(async move {
            let service_shared = conn_shared.clone();
            let service = service_fn(move |request| {
                let shared = service_shared.clone();
                async move {
                    Ok::<_, Infallible>(match port {
                        Port::Public => public(request, &shared),
                        Port::Admin => admin::route(request, &shared).await,
                    })
                }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                () = conn_shared.shutdown.cancelled() => {}
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "http connection ended with an error");
                    }
                }
            }
        });
    }
}

fn public(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Body> {
    match (request.method(), request.uri().path()) {
        (_, "/ws") => upgrade(request, shared),
        (&Method::GET, "/") => page(DEMO_PAGE),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: the WebSocket endpoint is /ws\n",
        ),
    }
}

/// Answers a request to `/ws`: 101 and a connection task, or the HTTP error that says why not.
fn upgrade(mut request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Body> {
    let headers = request.headers();
    if !(has_token(headers, header::CONNECTION, "upgrade")
        && has_token(headers, header::UPGRADE, "websocket"))
    {
        let mut response = refuse(
            StatusCode::UPGRADE_REQUIRED,
            "this endpoint speaks WebSocket: connect with a WebSocket client\n",
        );
        response
            .headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        return response;
    }
    if request.method() != Method::GET {
        return refuse(StatusCode::BAD_REQUEST, "a WebSocket upgrade is a GET\n");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut response = refuse(StatusCode::BAD_REQUEST, "WebSocket version 13 only\n");
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return response;
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return refuse(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n");
    };
    let accept_key = derive_accept_key(key.as_bytes());
    let (player, nick) = match names(request.uri().query()) {
        Ok(names) => names,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, &message),
    };
    let Some(seat) = Seat::take(shared) else {
        shared.metrics.rejected_over_capacity.inc();
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is full: try again later\n",
        );
    };
    let player = player.unwrap_or_else(|| format!("guest-{}", seat.number));
    let nick = nick.unwrap_or_else(|| player.clone());
    let on_upgrade = hyper::upgrade::on(&mut request);
    let task_shared = shared.clone();
    shared.tasks.spawn(async move {
        let _seat = seat;
        match on_upgrade.await {
            Ok(upgraded) => {
                let config = task_shared.config.websocket();
                let io = TokioIo::new(upgraded);
                let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                connection::serve(ws, task_shared, Player::new(player, nick)).await;
            }
            Err(error) => tracing::debug!(%error, "upgrade did not complete"),
        }
    });
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept_key) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

/// An answer to a `/ws` request that will not become a WebSocket: the connection is closed
/// after it, so a refused client (a flood of them, when the server is full) holds no socket.
fn refuse(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = plain(status, text);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A place under the `--max-clients` cap, held from the upgrade to the connection's end.
struct Seat {
    shared: Arc<Shared>,
    /// This seat's number among all ever taken: a guest's default name.
    number: u64,
}

impl Seat {
    fn take(shared: &Arc<Shared>) -> Option<Seat> {
        let number = shared.metrics.take_seat(shared.config.max_clients)?;
        Some(Seat {
            shared: shared.clone(),
            number,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.shared.metrics.connections.dec();
    }
}

/// `player` and `nick` from the upgrade query, each at most [`MAX_NAME_BYTES`].
fn names(query: Option<&str>) -> Result<(Option<String>, Option<String>), String> {
    let (mut player, mut nick) = (None, None);
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match key.as_ref() {
            "player" => &mut player,
            "nick" => &mut nick,
            _ => continue,
        };
        if value.is_empty() || value.len() > MAX_NAME_BYTES {
            return Err(format!(
                "`{key}` must be 1 to {MAX_NAME_BYTES} bytes long\n"
            ));
        }
        *slot = Some(value.into_owned());
    }
    Ok((player, nick))
}

/// Whether a comma-separated header such as `Connection: keep-alive, Upgrade` has `token`.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .map(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
            .unwrap_or(false)
    })
}

pub(crate) fn page(html: &'static str) -> Response<Body> {
    respond(
        StatusCode::OK,
        "text/html; charset=utf-8",
        Bytes::from_static(html.as_bytes()),
    )
}

pub(crate) fn plain(status: StatusCode, text: &str) -> Response<Body> {
    respond(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(text.to_owned()),
    )
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_query_and_are_bounded() {
        assert_eq!(names(None), Ok((None, None)));
        assert_eq!(
            names(Some("player=p%201&nick=Ann&x=1")),
            Ok((Some("p 1".to_owned()), Some("Ann".to_owned())))
        );
        assert!(names(Some(&format!("nick={}", "n".repeat(65)))).is_err());
        assert!(names(Some("player=")).is_err());
    }

    #[test]
    fn connection_tokens_are_matched_in_lists_and_any_case() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(has_token(&headers, header::CONNECTION, "upgrade"));
        assert!(!has_token(&headers, header::UPGRADE, "websocket"));
    }
}
