//! A worker: a share of the clients in one process, with one set of histograms. Past the
//! open-files limit of one process the coordinator starts several, each as `lockchan
//! load-worker`, and reads their JSON lines.
//!
//! A worker runs its clients on single-threaded runtimes, one for each core of its share of
//! the machine ([`runtimes_per_worker`]), each on a thread of its own with every n-th client.
//! A client's wake-ups then stay on one thread: no work stealing and no wake-up sent across
//! cores. (Its tallies in [`Live`] are still shared by the worker's threads.)

use std::io::Write;
use std::iter::StepBy;
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

/// How many runtimes each of `workers` workers runs its clients on: the cores this process may
/// use, shared among the workers (rounded down), at least one.
pub(crate) fn runtimes_per_worker(workers: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / workers.max(1)).max(1)
}

/// The clients of `range` that runtime `offset` of `runtimes` runs: every `runtimes`-th, from
/// the `offset`-th on, so that each runtime's clients connect over the whole ramp.
fn share(range: &Range<usize>, runtimes: usize, offset: usize) -> StepBy<Range<usize>> {
    (range.start + offset..range.end).step_by(runtimes.max(1))
}

/// Runs clients `range` of `config` on `runtimes` single-threaded runtimes, each on a thread of
/// its own with every `runtimes`-th client of the range, from `start` (the coordinator's ramp
/// origin) until `stop`; everything they saw is in `live`. Waits for the threads without
/// blocking the caller's runtime.
///
/// Any thread that ends, however, cancels `stop`, and so does this future when it ends or is
/// dropped: a thread whose runtime could not start or that panicked ends the whole run rather
/// than leaving it short of clients, and no client outlives its caller. An error when a thread
/// or its runtime could not start, or a thread panicked.
pub(crate) async fn run_on_runtimes(
    config: Arc<LoadConfig>,
    range: Range<usize>,
    live: Arc<Live>,
    start: Instant,
    stop: CancellationToken,
    runtimes: usize,
) -> std::io::Result<()> {
    let _stop_on_exit = stop.clone().drop_guard();
    let runtimes = runtimes.max(1);
    let mut finished = Vec::new();
    for offset in 0..runtimes {
        let indices = share(&range, runtimes, offset);
        let (its_config, its_live, its_stop) = (config.clone(), live.clone(), stop.clone());
        let (done, finish) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("load-clients-{offset}"))
            .spawn(move || {
                // Also on a panic, as the stack unwinds.
                let _stop_on_exit = its_stop.clone().drop_guard();
                let ran = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|runtime| {
                        let clients = run_clients(its_config, indices, its_live, start, its_stop);
                        runtime.block_on(clients);
                    });
                let _ = done.send(ran);
            });
        // On an error, the threads already started stop as `_stop_on_exit` drops.
        thread?;
        finished.push(finish);
    }
    // Each thread cancels `stop` as it ends, so waiting in order waits no longer than the
    // first to end.
    let mut outcome = Ok(());
    for finish in finished {
        match finish.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => outcome = Err(error),
            // The thread ended without a word: it panicked outside the clients' tasks.
            Err(_) => outcome = Err(std::io::Error::other("a client thread panicked")),
        }
    }
    outcome
}

/// Runs clients `indices` of `config` from `start` (the coordinator's ramp origin) until `stop`;
/// everything they saw is in `live`.
async fn run_clients(
    config: Arc<LoadConfig>,
    indices: StepBy<Range<usize>>,
    live: Arc<Live>,
    start: Instant,
    stop: CancellationToken,
) {
    let tasks = TaskTracker::new();
    let clients = config.clients.max(1);
    for index in indices {
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

/// The body of `lockchan load-worker`: runs clients `first..first + count` on `runtimes`
/// runtimes and prints a [`Line::Second`] every second, then a [`Line::Result`]. The run lasts
/// `config.ramp + config.duration` from now.
pub fn worker_process(
    config: LoadConfig,
    first: usize,
    count: usize,
    runtimes: usize,
) -> std::io::Result<()> {
    // This runtime only prints the lines; the clients have their own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = Arc::new(config);
    let live = Arc::new(Live::default());
    runtime.block_on(async {
        let stop = CancellationToken::new();
        let start = Instant::now();
        let end = start + config.ramp + config.duration;
        let clients = tokio::spawn(run_on_runtimes(
            config.clone(),
            first..first + count,
            live.clone(),
            start,
            stop.clone(),
            runtimes,
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
        match clients.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(error) => return Err(std::io::Error::other(error)),
        }
        print_line(&Line::Result(live.finish()))
    })
}

fn print_line(line: &Line) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, line)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtimes' shares cover a worker's range exactly once, however it divides.
    #[test]
    fn every_client_runs_on_exactly_one_runtime() {
        for (range, runtimes) in [(0..10, 1), (0..10, 3), (7..20, 2), (5..6, 4), (3..3, 2)] {
            let mut ran: Vec<usize> = (0..runtimes)
                .flat_map(|offset| share(&range, runtimes, offset))
                .collect();
            ran.sort_unstable();
            assert_eq!(
                ran,
                range.clone().collect::<Vec<_>>(),
                "{range:?} on {runtimes}"
            );
        }
        assert_eq!(share(&(0..10), 3, 1).collect::<Vec<_>>(), [1, 4, 7]);
    }
}
