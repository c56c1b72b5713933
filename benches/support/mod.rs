//! What the three criterion benches share: the profile they run in (full, quick or criterion's
//! test mode) and the criterion settings that go with it, the pool of caller threads that a
//! barrier releases inside a measurement, resource usage from `getrusage`, the latency clock
//! and histogram, fairness between threads, and writing the per-case record the report reads
//! from `target/lockchan-bench/{group}__{engine}__{param}.json` (its format is the library's
//! `lockchan::bench_extras::BenchRecord`, so the report reads exactly what is written here).
//!
//! Each bench includes this file as its own `mod support`, so an item one bench leaves unused
//! is still used by another.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};
use hdrhistogram::Histogram;
use lockchan::bench_extras::{BenchMachine, BenchRecord, ContextSwitches, Fairness, Latency};

/// How much work the benches do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `cargo bench`: the sizes and criterion settings the figures are quoted at.
    Full,
    /// `LOCKCHAN_BENCH_QUICK=1 cargo bench`: tiny sizes and criterion's least settings, for CI;
    /// every case still runs and writes its JSON.
    Quick,
    /// `cargo test --benches`: criterion runs each case once, unoptimized, to prove it works.
    /// Nothing is recorded, so a test run never overwrites a measurement.
    Test,
}

/// The profile of this run, decided once.
pub fn profile() -> Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    *PROFILE.get_or_init(|| {
        // Criterion's own rule: without `--bench` (as under `cargo test --benches`), or with
        // `--test`, it runs every case once instead of measuring.
        let args: Vec<String> = std::env::args().collect();
        let bench = args.iter().any(|arg| arg == "--bench");
        let test = args.iter().any(|arg| arg == "--test");
        if !bench || test {
            Profile::Test
        } else if std::env::var("LOCKCHAN_BENCH_QUICK").is_ok_and(|v| v == "1") {
            Profile::Quick
        } else {
            Profile::Full
        }
    })
}

/// True when sizes should be tiny: the quick profile and test mode.
pub fn small() -> bool {
    profile() != Profile::Full
}

/// Picks the full-profile value or the small one.
pub fn sized<T>(full: T, small: T) -> T {
    if self::small() { small } else { full }
}

/// Applies the suite's criterion settings to a group. Ten samples, half a second of warm-up
/// and a second of measurement per case keep the engine suite's two hundred cases inside
/// fifteen minutes; the quick profile takes criterion's least settings.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>, sampling: SamplingMode) {
    group.sample_size(10).sampling_mode(sampling);
    match profile() {
        Profile::Full => {
            group
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(1));
        }
        Profile::Quick | Profile::Test => {
            group
                .warm_up_time(Duration::from_millis(1))
                .measurement_time(Duration::from_millis(10))
                .nresamples(10_000);
        }
    }
}

/// The instant every latency stamp counts from: payloads carry nanoseconds since it.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds from the epoch to now.
pub fn now_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Microseconds from 1 µs to a minute at three significant figures; a slower delivery is
/// recorded as a minute, which no healthy run comes near.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("the bounds are valid")
}

/// Takes a lock whose holder may have panicked: every lock here guards plain data that a
/// panic leaves whole, and the panic itself is reported by whoever caught it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

type Job<S> = Arc<dyn Fn(usize, &mut S) + Send + Sync>;

/// Caller threads that live for a whole benchmark case, so that no thread is ever spawned
/// inside a measurement. Each worker keeps a state `S` of its own (its clients, say) from one
/// job to the next; [`Pool::run`] hands every worker the same job, releases them together by
/// a barrier and returns when the last is done.
pub struct Pool<S: 'static> {
    shared: Arc<PoolShared<S>>,
    workers: Vec<JoinHandle<()>>,
}

struct PoolShared<S> {
    /// Crossed by every worker and the caller of `run` once the job is in place.
    go: Barrier,
    /// Crossed by every worker once its part is done and by the caller collecting the results.
    done: Barrier,
    /// The current job; `None` tells the workers to exit. Read once per release, so a mutex
    /// costs nothing measurable and keeps the job's type erased.
    job: Mutex<Option<Job<S>>>,
    /// What the workers' panics said during the current job.
    panics: Mutex<Vec<String>>,
}

impl<S: Default + 'static> Pool<S> {
    /// Starts `threads` workers named `{name}-{index}`, each with `S::default()`.
    pub fn new(threads: usize, name: &str) -> Pool<S> {
        let shared = Arc::new(PoolShared {
            go: Barrier::new(threads + 1),
            done: Barrier::new(threads + 1),
            job: Mutex::new(None),
            panics: Mutex::new(Vec::new()),
        });
        let workers = (0..threads)
            .map(|index| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("{name}-{index}"))
                    .spawn(move || work(&shared, index))
                    .expect("the OS refused to start a bench thread")
            })
            .collect();
        Pool { shared, workers }
    }

    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Runs `job(index, state)` on every worker at once and returns the results in worker
    /// order. Panics, after every worker is done, if any worker's job panicked.
    pub fn run<R, F>(&self, job: F) -> Vec<R>
    where
        R: Send + 'static,
        F: Fn(usize, &mut S) -> R + Send + Sync + 'static,
    {
        let results: Arc<Mutex<Vec<Option<R>>>> =
            Arc::new(Mutex::new((0..self.threads()).map(|_| None).collect()));
        let slots = results.clone();
        let erased: Job<S> = Arc::new(move |index, state: &mut S| {
            let result = job(index, state);
            lock(&slots)[index] = Some(result);
        });
        *lock(&self.shared.job) = Some(erased);
        self.shared.go.wait();
        self.shared.done.wait();
        let panics = std::mem::take(&mut *lock(&self.shared.panics));
        assert!(panics.is_empty(), "a bench thread panicked: {panics:?}");
        let results = std::mem::take(&mut *lock(&results));
        results
            .into_iter()
            .map(|result| result.expect("every worker that did not panic left a result"))
            .collect()
    }
}

impl<S: 'static> Drop for Pool<S> {
    fn drop(&mut self) {
        *lock(&self.shared.job) = None;
        self.shared.go.wait();
        for worker in self.workers.drain(..) {
            // A worker's panics were caught and reported by `run`; exiting cannot panic.
            let _ = worker.join();
        }
    }
}

fn work<S: Default>(shared: &PoolShared<S>, index: usize) {
    let mut state = S::default();
    loop {
        shared.go.wait();
        let Some(job) = lock(&shared.job).clone() else {
            return;
        };
        // A panicking job must still reach `done`, or the caller and every other worker would
        // wait for it forever; the panic is handed to the caller instead.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            job(index, &mut state);
        }));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic without a message".to_owned());
            lock(&shared.panics).push(format!("thread {index}: {message}"));
        }
        shared.done.wait();
    }
}

/// Counts one thread's operations in a batch, and how many it had made when the first thread
/// of the batch made its last. That count is the fairness figure: with fixed work per thread
/// every total is equal, but how far each thread had got while all were still competing shows
/// whom the locks, queues and scheduler favoured.
pub struct Window<'a> {
    first_done: &'a AtomicBool,
    ops: u64,
    at_first_done: Option<u64>,
    done: bool,
}

impl<'a> Window<'a> {
    /// `first_done` is the batch's flag, cleared before the batch starts.
    pub fn new(first_done: &'a AtomicBool) -> Window<'a> {
        Window {
            first_done,
            ops: 0,
            at_first_done: None,
            done: false,
        }
    }

    /// Counts `n` operations just made.
    #[inline]
    pub fn ops(&mut self, n: u64) {
        // Relaxed: the flag is a statistic's boundary, not a guard; seeing it one operation
        // late shifts a count by one. The line is only read until its one store, so the load
        // costs an L1 hit.
        if self.at_first_done.is_none() && self.first_done.load(Ordering::Relaxed) {
            self.at_first_done = Some(self.ops);
        }
        self.ops += n;
    }

    /// Says this thread has made its last operation of the batch (what is left is reading
    /// its clients' events); the first thread to say so closes every thread's window.
    pub fn done(&mut self) {
        if !self.done {
            self.done = true;
            self.first_done.store(true, Ordering::Relaxed);
        }
    }

    /// Returns the thread's operations and its count when the first thread was done.
    pub fn finish(&mut self) -> (u64, u64) {
        self.done();
        (self.ops, self.at_first_done.unwrap_or(self.ops))
    }
}

/// What `getrusage(RUSAGE_SELF)` says about the whole process: every thread, the engine's
/// actors included.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu: Duration,
    pub voluntary: u64,
    pub involuntary: u64,
    pub max_rss_kb: u64,
}

/// The process's resource usage now; zeros if the call fails, which Linux never does here.
pub fn usage() -> Usage {
    // SAFETY: `rusage` is plain integers, so all-zero is a valid value, and `getrusage` only
    // writes the struct it is given a pointer to.
    let mut raw: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointer is to a live, writable `rusage`.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut raw) } != 0 {
        return Usage::default();
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Usage {
        cpu: time(raw.ru_utime) + time(raw.ru_stime),
        voluntary: u64::try_from(raw.ru_nvcsw).unwrap_or(0),
        involuntary: u64::try_from(raw.ru_nivcsw).unwrap_or(0),
        max_rss_kb: u64::try_from(raw.ru_maxrss).unwrap_or(0),
    }
}

/// The peak resident set size of one case.
///
/// `ru_maxrss` is the high-water mark of the whole process's life, so in a bench binary that
/// runs two hundred cases it would report the largest case for every later one. Linux can
/// reset the mark (`/proc/self/clear_refs`, since 4.0) and reports it as `VmHWM`; where that
/// works each case gets its own peak, and elsewhere the record falls back to `ru_maxrss`.
pub struct PeakRss {
    reset: bool,
}

impl PeakRss {
    /// Resets the high-water mark to the current RSS, if the kernel allows, after handing the
    /// allocator's free memory back: what earlier cases freed but malloc kept would otherwise
    /// count as this case's.
    pub fn start() -> PeakRss {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free heap pages to the kernel; it touches no live
        // allocation and is safe to call from any thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
        PeakRss {
            reset: std::fs::write("/proc/self/clear_refs", "5").is_ok(),
        }
    }

    /// The peak since `start`, in KiB.
    pub fn kb(&self) -> u64 {
        let hwm = || {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        };
        match self.reset.then(hwm).flatten() {
            Some(kb) => kb,
            None => usage().max_rss_kb,
        }
    }
}

/// Totals of one case over every batch criterion ran (warm-up included, since criterion does
/// not say which calls are warm-up), from which the record's per-operation figures come.
pub struct Tally {
    pub ops: u64,
    /// Per thread: operations made while every thread was still working (see [`Window`]).
    window: Vec<u64>,
    cpu: Duration,
    voluntary: u64,
    involuntary: u64,
}

impl Tally {
    pub fn new(threads: usize) -> Tally {
        Tally {
            ops: 0,
            window: vec![0; threads],
            cpu: Duration::ZERO,
            voluntary: 0,
            involuntary: 0,
        }
    }

    /// Adds one batch: each thread's total operations and its count when the first finished.
    pub fn add_batch(&mut self, per_thread: impl IntoIterator<Item = (u64, u64)>) {
        for (slot, (ops, window)) in self.window.iter_mut().zip(per_thread) {
            self.ops += ops;
            *slot += window;
        }
    }

    /// Adds the resources used between two readings taken around some batches.
    pub fn add_usage(&mut self, before: &Usage, after: &Usage) {
        self.cpu += after.cpu.saturating_sub(before.cpu);
        self.voluntary += after.voluntary.saturating_sub(before.voluntary);
        self.involuntary += after.involuntary.saturating_sub(before.involuntary);
    }

    /// The record of a case.
    pub fn record(
        &self,
        case: Case<'_>,
        latency: Option<&Histogram<u64>>,
        peak: &PeakRss,
    ) -> BenchRecord {
        let per_op = |total: f64| {
            if self.ops == 0 {
                0.0
            } else {
                total / self.ops as f64
            }
        };
        let latency = latency.map_or(
            Latency {
                p50: 0,
                p99: 0,
                p999: 0,
                max: 0,
            },
            |h| Latency {
                p50: h.value_at_quantile(0.5),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
            },
        );
        BenchRecord {
            group: case.group.to_owned(),
            engine: case.engine.to_owned(),
            param: case.param.to_owned(),
            threads: case.threads,
            ops: self.ops,
            latency_us: latency,
            fairness: Fairness {
                min_ops: self.window.iter().copied().min().unwrap_or(0),
                max_ops: self.window.iter().copied().max().unwrap_or(0),
                jain: jain(&self.window),
            },
            cpu_us_per_op: per_op(self.cpu.as_secs_f64() * 1e6),
            ctx_switches_per_op: ContextSwitches {
                voluntary: per_op(self.voluntary as f64),
                involuntary: per_op(self.involuntary as f64),
            },
            peak_rss_kb: peak.kb(),
            peak_queue_depth: None,
            machine: machine().clone(),
        }
    }
}

/// Jain's fairness index of `counts`: 1 when all are equal, 1/n when one has everything.
pub fn jain(counts: &[u64]) -> f64 {
    let sum: f64 = counts.iter().map(|&c| c as f64).sum();
    let squares: f64 = counts.iter().map(|&c| (c as f64) * (c as f64)).sum();
    if squares == 0.0 {
        0.0
    } else {
        sum * sum / (counts.len() as f64 * squares)
    }
}

/// Names a case the way criterion and the record do: `group/engine/param`.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    pub group: &'a str,
    pub engine: &'a str,
    pub param: &'a str,
    pub threads: usize,
}

/// The machine, read once per bench binary. Each bench calls it before its first case, so
/// the commands it runs never overlap a measurement.
pub fn machine() -> &'static BenchMachine {
    static MACHINE: OnceLock<BenchMachine> = OnceLock::new();
    MACHINE.get_or_init(|| {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split(':').nth(1))
            .map(str::trim)
            .filter(|name| !name.is_empty());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok();
        BenchMachine {
            cpu: known(cpu.map(str::to_owned)),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: known(kernel.map(|k| k.trim().to_owned())),
            rustc: known(command("rustc", &["--version"])),
            commit: known(command("git", &["rev-parse", "--short", "HEAD"])),
            date: known(command("date", &["-u", "+%FT%TZ"])),
        }
    })
}

fn known(value: Option<String>) -> String {
    value
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The trimmed standard output of a command that succeeded; `None` if it could not run or
/// failed (no git checkout, no `date`), which the record shows as "unknown".
fn command(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Where the records go: `target/lockchan-bench` under `CARGO_TARGET_DIR` if it is set, else
/// under the package.
pub fn record_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("lockchan-bench")
}

/// Writes a case's record as `{group}__{engine}__{param}.json`, unless this is a test run.
/// A record that cannot be written is reported and skipped: the criterion figures stand
/// without it.
pub fn write_record(record: &BenchRecord) {
    if profile() == Profile::Test {
        return;
    }
    let dir = record_dir();
    let name = record.file_name();
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let json = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(&name), json + "\n")
    });
    if let Err(err) = written {
        eprintln!(
            "lockchan-bench: could not write {}: {err}",
            dir.join(name).display()
        );
    }
}
