//! A worker: a share of the clients on one tokio runtime in one process, with one set of
//! histograms. Past the open-files limit of one process the coordinator starts several, each
//! as `lockchan load-worker`, and reads their JSON lines.

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::LoadConfig;
use super::client;
use super::stats::{Live, Second, WorkerResult};

/// How long clients get to say goodbye after the run before they are dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// What a worker process prints, one JSON object per line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Line {
    Second(Second),
    Result(WorkerResult),
}

/// Runs clients `range` of `config` from `start` (the coordinator's ramp origin) until `stop`;
/// everything they saw is in `live`.
pub(crate) async fn run_clients(
    config: Arc<LoadConfig>,
    range: Range<usize>,
    live: Arc<Live>,
    start: Instant,
    stop: CancellationToken,
) {
    let tasks = TaskTracker::new();
    let clients = config.clients.max(1);
    for index in range {
        // Connections are paced evenly over the ramp, so the server's accept queue and not
        // a storm of our own making is what the run measures.
        let timing = client::Timing {
            start_at: start + config.ramp.mul_f64(index as f64 / clients as f64),
            steady_from: start + config.ramp,
        };
        tasks.spawn(client::run(
            index,
            config.clone(),
            live.clone(),
            timing,
            stop.clone(),
        ));
    }
    tasks.close();
    stop.cancelled().await;
    let _ = tokio::time::timeout(CLOSE_GRACE, tasks.wait()).await;
}

/// The body of `lockchan load-worker`: runs `range` and prints a [`Line::Second`] every
/// second, then a [`Line::Result`]. The run lasts `config.ramp + config.duration` from now.
pub fn worker_process(config: LoadConfig, first: usize, count: usize) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let config = Arc::new(config);
    let live = Arc::new(Live::default());
    runtime.block_on(async {
        let stop = CancellationToken::new();
        let start = Instant::now();
        let end = start + config.ramp + config.duration;
        let clients = tokio::spawn(run_clients(
            config.clone(),
            first..first + count,
            live.clone(),
            start,
            stop.clone(),
        ));
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.tick().await;
        while Instant::now() < end {
            tokio::select! {
                _ = interval.tick() => print_line(&Line::Second(live.second()))?,
                () = tokio::time::sleep_until(end) => {}
            }
        }
        stop.cancel();
        let _ = clients.await;
        print_line(&Line::Result(live.finish()))
    })
}

fn print_line(line: &Line) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, line)?;
    out.write_all(b"\n")?;
    out.flush()
}
