//! The admin port: a live page, its JSON, Prometheus metrics and a health check. Never on the
//! public port: these show every figure of the server to whoever can reach them.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::Serialize;

use super::Shared;
use super::delivery::Delivery;
use super::http::{page, plain, respond};
use super::metrics::{Figures, Sampled};
use crate::measure::process;

const ADMIN_PAGE: &str = include_str!("../../../assets/admin.html");

pub(crate) async fn route(
    request: Request<Incoming>,
    shared: &Arc<Shared>,
) -> Response<Full<Bytes>> {
    match request.uri().path() {
        "/admin" | "/admin/" => page(ADMIN_PAGE),
        "/admin/stats" => {
            let stats = stats(shared).await;
            let json = serde_json::to_vec(&stats).unwrap_or_default();
            respond(StatusCode::OK, "application/json", Bytes::from(json))
        }
        "/metrics" => {
            sample(shared).await;
            respond(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                Bytes::from(shared.metrics.prometheus()),
            )
        }
        "/healthz" => plain(StatusCode::OK, "ok\n"),
        "/" => {
            let mut response = plain(StatusCode::SEE_OTHER, "the admin page is /admin\n");
            response
                .headers_mut()
                .insert(header::LOCATION, HeaderValue::from_static("/admin"));
            response
        }
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: try /admin, /metrics or /healthz\n",
        ),
    }
}

/// What `/admin/stats` returns: the keys the admin page shows, each as `stat-<key>`.
#[derive(Serialize)]
pub(crate) struct Stats {
    pub engine: String,
    pub engine_reason: String,
    /// Why the gate is stale for this binary, `null` when it is not.
    pub stale_gate: Option<String>,
    pub uptime_s: f64,
    /// When the server started, in ms since the Unix epoch: a tick's `at` is counted from it.
    pub started_unix_ms: u64,
    /// CPU time the process has used, user and system.
    pub cpu_seconds: f64,
    pub max_clients: usize,
    /// `--fanout-budget` in deliveries per second, `null` when off.
    pub fanout_budget: Option<u32>,
    #[serde(flatten)]
    pub figures: Figures,
    pub messages_in_per_s: f64,
    pub messages_out_per_s: f64,
    /// Every frame written since the server started, from its outbox to the socket: what a
    /// reader subtracts two readings of to get a window ([`Delivery::since`]).
    pub frame_delivery: Delivery,
    /// Its median and 99th percentile since the start, in ms, for the page.
    pub frame_delivery_p50_ms: Option<f64>,
    pub frame_delivery_p99_ms: Option<f64>,
    /// The directed frames among them (all but broadcasts: relays, room events, answers),
    /// read as `frame_delivery` is.
    pub directed_delivery: Delivery,
}

pub(crate) async fn stats(shared: &Arc<Shared>) -> Stats {
    let figures = sample(shared).await;
    let rates = *shared
        .rates
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let delivery = shared.metrics.frame_delivery.read();
    let ms = |q: f64| delivery.quantile_us(q).map(|us| us / 1000.0);
    Stats {
        frame_delivery_p50_ms: ms(0.50),
        frame_delivery_p99_ms: ms(0.99),
        frame_delivery: delivery,
        directed_delivery: shared.metrics.directed_delivery.read(),
        engine: shared.engine_name.clone(),
        engine_reason: shared.engine_reason.clone(),
        stale_gate: shared.stale_gate.clone(),
        uptime_s: shared.started.elapsed().as_secs_f64(),
        started_unix_ms: shared.started_unix_ms,
        cpu_seconds: process::cpu_seconds(),
        max_clients: shared.config.max_clients,
        fanout_budget: shared.config.fanout_budget.map(std::num::NonZeroU32::get),
        figures,
        messages_in_per_s: rates.messages_in_per_s,
        messages_out_per_s: rates.messages_out_per_s,
    }
}

/// Reads the figures that are not counted: rooms from an engine snapshot (taken on a blocking
/// thread, as it visits every client), and the process's tasks, threads and memory.
async fn sample(shared: &Arc<Shared>) -> Figures {
    let engine = shared.engine.clone();
    let rooms = tokio::task::spawn_blocking(move || {
        let snapshot = engine.snapshot();
        let matched = snapshot.rooms.values().filter(|room| room.matched).count();
        (snapshot.rooms.len() - matched, matched)
    })
    .await
    .unwrap_or_default();
    shared.metrics.sample(Sampled {
        rooms_open: rooms.0 as u64,
        rooms_matched: rooms.1 as u64,
        tokio_alive_tasks: tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks() as u64,
        os_threads: process::thread_count(),
        rss_bytes: process::resident_kb().unwrap_or(0) * 1024,
    })
}

/// Messages per second, over the last second: kept by a sampler task, read by `stats`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rates {
    pub messages_in_per_s: f64,
    pub messages_out_per_s: f64,
}

/// Updates `shared.rates` once a second until shutdown, and hands freed memory back to the
/// system once the last client has gone.
pub(crate) async fn keep_rates(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut last = (Instant::now(), 0, 0);
    let mut had_clients = false;
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        let now = Instant::now();
        let (inn, out) = (
            shared.metrics.messages_in.get(),
            shared.metrics.messages_out.get(),
        );
        let seconds = now.duration_since(last.0).as_secs_f64().max(1e-3);
        let rates = Rates {
            messages_in_per_s: (inn - last.1) as f64 / seconds,
            messages_out_per_s: (out - last.2) as f64 / seconds,
        };
        *shared
            .rates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = rates;
        last = (now, inn, out);
        let has_clients = shared.metrics.connections.get() > 0;
        if had_clients && !has_clients {
            // glibc keeps the pages of a crowd that has left (measured: lock/1 stayed at its
            // 157 MiB peak after 19,000 clients); give them back while the server is idle.
            let _ = tokio::task::spawn_blocking(process::release_free_memory).await;
        }
        had_clients = has_clients;
    }
}
