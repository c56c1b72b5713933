//! Runs a check under a watchdog that tells a stall from slowness: the check counts its steps
//! on a [`Progress`], and the watchdog declares a stall only when the count has not moved for
//! a while ([`STALL_AFTER`] by default). A check that is slow but still moving, as on a loaded
//! machine, is waited for up to a much longer ceiling, and reported as slow, not stuck, if it
//! reaches it. A stall ends in a diagnosis: the lock cycles parking_lot's detector sees (with
//! the feature `deadlock-detection`) and the stuck engine's own account (`Engine::diagnose`).
//!
//! `lockchan verify` watches its checks this way, and so do the per-engine tests
//! ([`run_watched`]), so a deadlock in `cargo test` fails its test with a message instead of
//! hanging CI.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::{Duration, Instant};

use crate::domain::panic::panic_message;
use crate::engines::engine::Engine;

/// How long a check may go without a step before it counts as stalled.
pub const STALL_AFTER: Duration = Duration::from_secs(30);

/// How long a check that keeps moving is waited for in all.
pub const SLOW_CEILING: Duration = Duration::from_secs(600);

/// The steps a watched check has taken, and the engine it is working on; clones share both.
#[derive(Clone, Default)]
pub struct Progress(Arc<Inner>);

#[derive(Default)]
struct Inner {
    steps: AtomicU64,
    /// Weak: holding the engine would keep its threads alive and fool the leak check.
    engine: Mutex<Option<Weak<dyn Engine>>>,
}

impl Progress {
    /// Counts one step: a call that returned, a script run, a cycle finished.
    pub fn step(&self) {
        // Relaxed: the count is only compared with itself a while later.
        self.0.steps.fetch_add(1, Ordering::Relaxed);
    }

    pub fn steps(&self) -> u64 {
        self.0.steps.load(Ordering::Relaxed)
    }

    /// Names the engine the check works on now, to be asked what it is stuck on.
    pub fn watch_engine(&self, engine: &Arc<dyn Engine>) {
        let mut slot = self.0.engine.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(Arc::downgrade(engine));
    }

    /// What a stalled check is stuck on: lock cycles, and the engine's own account.
    pub fn diagnosis(&self) -> String {
        let slot = self.0.engine.lock().unwrap_or_else(|p| p.into_inner());
        let engine = slot.as_ref().and_then(Weak::upgrade);
        let state = engine.and_then(|engine| {
            let name = engine.name();
            engine.diagnose().map(|state| format!("{name}: {state}"))
        });
        match (crate::sync::deadlock_cycles(), state) {
            (Some(cycles), Some(state)) => format!("deadlock: {cycles}; stuck engine {state}"),
            (Some(cycles), None) => format!("deadlock: {cycles}"),
            (None, Some(state)) => format!("no lock cycle; stuck engine {state}"),
            (None, None) => "no lock cycle, and the engine gave no account of itself".to_owned(),
        }
    }
}

/// How a watched run ended.
pub(crate) enum Watched<T> {
    Finished(T),
    /// The run panicked: an assertion inside it failed, or the engine did.
    Panicked(String),
    /// No step for `quiet`, after `steps` steps. The stuck threads are left behind: nothing
    /// can free them.
    Stalled {
        quiet: Duration,
        steps: u64,
    },
    /// Still moving at the ceiling `after`, after `steps` steps.
    Slow {
        after: Duration,
        steps: u64,
    },
}

impl<T> Watched<T> {
    /// What went wrong, for a run that did not finish: one line naming the check, with the
    /// diagnosis of a stall.
    pub(crate) fn failure(&self, name: &str, progress: &Progress) -> Option<String> {
        match self {
            Watched::Finished(_) => None,
            Watched::Panicked(message) => Some(format!("{name} panicked: {message}")),
            Watched::Stalled { quiet, steps } => Some(format!(
                "{name} stalled: no progress for {} s after {steps} steps; {}",
                quiet.as_secs(),
                progress.diagnosis()
            )),
            Watched::Slow { after, steps } => Some(format!(
                "{name} is slow, not stalled: still moving after {} s ({steps} steps)",
                after.as_secs()
            )),
        }
    }
}

/// Runs `body` on its own thread and waits while `progress` keeps moving: a stall after
/// `stall_after` without a step, slowness at `ceiling`.
pub(crate) fn watch<T, F>(
    name: &str,
    progress: &Progress,
    stall_after: Duration,
    ceiling: Duration,
    body: F,
) -> Watched<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("watched-{name}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let _ = done.send(outcome);
        });
    if let Err(error) = spawned {
        return Watched::Panicked(format!("could not start the check's thread: {error}"));
    }
    let started = Instant::now();
    let (mut seen, mut moved_at) = (progress.steps(), started);
    let look = (stall_after / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        match finished.recv_timeout(look) {
            Ok(Ok(value)) => return Watched::Finished(value),
            Ok(Err(panic)) => return Watched::Panicked(panic_message(panic)),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Watched::Panicked("the check's thread ended without an answer".into());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let (now, steps) = (Instant::now(), progress.steps());
        if steps != seen {
            (seen, moved_at) = (steps, now);
        } else if now - moved_at >= stall_after {
            let quiet = now - moved_at;
            return Watched::Stalled { quiet, steps };
        }
        if now - started >= ceiling {
            let after = now - started;
            return Watched::Slow { after, steps };
        }
    }
}

/// Runs a test's `body` under the watchdog with the default bounds, handing it the
/// [`Progress`] to count its steps on and name its engine to; a stall or a panic fails the
/// calling test with a message naming `name` (and, for a stall, what it is stuck on). A body
/// that takes no step at all is held to [`STALL_AFTER`] from its start.
pub fn run_watched<T, F>(name: &str, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce(Progress) -> T + Send + 'static,
{
    let progress = Progress::default();
    let handed = progress.clone();
    try_watched(name, &progress, move || body(handed)).unwrap_or_else(|failure| panic!("{failure}"))
}

/// Runs `body` under the watchdog with the default bounds, watching `progress` (which the
/// body steps), for a caller that reports a failure itself (a proptest case, which must
/// return it to be shrunk): a stall, slowness at [`SLOW_CEILING`] or a panic comes back as
/// its one-line message naming `name`.
pub fn try_watched<T, F>(name: &str, progress: &Progress, body: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let watched = watch(name, progress, STALL_AFTER, SLOW_CEILING, body);
    if let Some(failure) = watched.failure(name, progress) {
        return Err(failure);
    }
    match watched {
        Watched::Finished(value) => Ok(value),
        _ => unreachable!("every other ending is a failure"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a watched run that panicked reported.
    fn reported<F: FnOnce() + Send + 'static>(body: F) -> String {
        let progress = Progress::default();
        match watch("panics", &progress, STALL_AFTER, SLOW_CEILING, body) {
            Watched::Panicked(message) => message,
            _ => panic!("the run did not panic"),
        }
    }

    #[test]
    fn a_panicking_check_reports_its_message() {
        assert_eq!(reported(|| panic!("boom")), "boom");
        let what = "formatted";
        assert_eq!(reported(move || panic!("boom, {what}")), "boom, formatted");
    }

    #[test]
    fn a_panic_with_a_payload_that_is_not_text_says_so() {
        assert_eq!(
            reported(|| std::panic::panic_any(17_u32)),
            "a panic without a message"
        );
    }

    #[test]
    fn a_check_that_stops_moving_is_a_stall_with_a_diagnosis() {
        let progress = Progress::default();
        let engine: Arc<dyn Engine> = crate::EngineSpec::new(crate::EngineKind::ACTOR, 2)
            .build(crate::EngineConfig::default())
            .into();
        progress.watch_engine(&engine);
        let (_keep, never) = mpsc::channel::<()>();
        let handed = progress.clone();
        let stall = Duration::from_millis(200);
        let watched = watch("stuck", &progress, stall, SLOW_CEILING, move || {
            handed.step();
            let _ = never.recv();
        });
        let message = watched.failure("stuck", &progress).expect("a failure");
        assert!(matches!(watched, Watched::Stalled { steps: 1, .. }));
        assert!(
            message.starts_with("stuck stalled: no progress"),
            "{message}"
        );
        assert!(message.contains("actor/2: world queue 0/"), "{message}");
    }

    #[test]
    fn a_check_that_keeps_moving_past_the_stall_bound_is_waited_for() {
        let progress = Progress::default();
        let handed = progress.clone();
        let stall = Duration::from_millis(500);
        // Runs for about four stall bounds, stepping every 10 ms: slow, never stuck.
        let watched = watch("slow", &progress, stall, SLOW_CEILING, move || {
            let started = Instant::now();
            while started.elapsed() < 4 * stall {
                handed.step();
                std::thread::sleep(Duration::from_millis(10));
            }
            7
        });
        assert!(matches!(watched, Watched::Finished(7)));
    }

    #[test]
    fn a_check_still_moving_at_the_ceiling_is_slow_not_stalled() {
        let progress = Progress::default();
        let handed = progress.clone();
        let (stop, stopped) = mpsc::channel::<()>();
        let bound = Duration::from_millis(300);
        let watched = watch("busy", &progress, bound, bound, move || {
            while stopped.try_recv().is_err() {
                handed.step();
                std::thread::yield_now();
            }
        });
        let _ = stop.send(());
        let message = watched.failure("busy", &progress).expect("a failure");
        assert!(
            message.starts_with("busy is slow, not stalled"),
            "{message}"
        );
    }
}
