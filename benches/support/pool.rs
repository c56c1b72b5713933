//! The pool of caller threads that a barrier releases inside a measurement, so that no thread
//! is ever spawned while criterion is timing.

use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;

use super::lock;

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
