//! Race scenarios for proptest, shared by the real-thread smoke test (`tests/race_smoke.rs`)
//! and the shuttle tests (`tests/shuttle.rs`), and a per-case time limit.

use std::sync::mpsc;
use std::time::Duration;

use lockchan::verify::scenario::{Op, Scenario, Who};
use proptest::prelude::*;

/// One call a racing thread may make; `shared` clients came from the setup. Only thread 0
/// ticks: the checker needs a single ticker.
fn op(shared: usize, ticks: bool) -> impl Strategy<Value = Op> {
    let who = prop_oneof![
        4 => (0..shared).prop_map(Who::Shared),
        1 => (0..2usize).prop_map(Who::Own),
    ];
    let tick_weight = if ticks { 2 } else { 0 };
    prop_oneof![
        1 => Just(Op::connect()),
        7 => (who.clone(), 2u8..=4).prop_map(|(who, limit)| Op::join(who, limit)),
        3 => who.clone().prop_map(Op::leave),
        3 => who.clone().prop_map(|who| Op::say(who, "")),
        2 => who.clone().prop_map(|who| Op::shout(who, "")),
        2 => who.prop_map(Op::Disconnect),
        tick_weight => (500u64..=4000).prop_map(|ms| Op::Tick(Duration::from_millis(ms))),
    ]
}

/// A setup call: seat some of the shared clients, chat, tick.
fn setup_op(shared: usize) -> impl Strategy<Value = Op> {
    let who = (0..shared).prop_map(Who::Shared);
    prop_oneof![
        4 => (who.clone(), 2u8..=4).prop_map(|(who, limit)| Op::join(who, limit)),
        1 => who.clone().prop_map(|who| Op::say(who, "")),
        1 => who.prop_map(|who| Op::shout(who, "")),
        1 => (500u64..=4000).prop_map(|ms| Op::Tick(Duration::from_millis(ms))),
    ]
}

/// A scenario: 2 to 6 shared clients and up to 6 more setup calls, then 2 to 4 threads of 1 to
/// `most` calls each.
pub fn scenario(most: usize) -> impl Strategy<Value = Scenario> {
    (2..=6usize, 2..=4usize).prop_flat_map(move |(shared, threads)| {
        let setup = prop::collection::vec(setup_op(shared), 0..=6).prop_map(move |calls| {
            std::iter::repeat_n(Op::connect(), shared)
                .chain(calls)
                .collect::<Vec<_>>()
        });
        let threads = (0..threads)
            .map(|thread| prop::collection::vec(op(shared, thread == 0), 1..=most))
            .collect::<Vec<_>>();
        (setup, threads).prop_map(|(setup, threads)| Scenario { setup, threads })
    })
}

/// Runs `body` on a thread of its own and waits at most `limit` for it: a case that hangs (a
/// deadlock on real threads, a search that explodes) fails with a message instead of hanging
/// the suite. A stuck thread is left behind; the test fails anyway.
pub fn within<T: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (done, finished) = mpsc::channel();
    std::thread::Builder::new()
        .name("case".into())
        .stack_size(16 << 20)
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let _ = done.send(outcome);
        })
        .map_err(|error| format!("could not start the case's thread: {error}"))?;
    match finished.recv_timeout(limit) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(panic_message(panic)),
        Err(_) => Err(format!("the case took longer than its limit of {limit:?}")),
    }
}

pub use lockchan::verify::panic_message;

/// The engines `lockchan verify` checks that `for_each_engine!(…, several = 2)` leaves out:
/// every sharded engine at more than two shards (lock/4, actor/4). A layer that could run
/// them but did not would fail them in the merged summary ("not run"), so the race tests
/// run them too, in one test per file.
pub fn beyond_two_shards() -> Vec<lockchan::EngineSpec> {
    let specs = lockchan::all_specs(&lockchan::verify::SHARD_COUNTS);
    specs.into_iter().filter(|spec| spec.shards > 2).collect()
}

/// What one proptest's cases may record in the layer log. proptest reruns a failed case's
/// shrinking steps through the same test body; those are the same failure made smaller, not
/// more runs of the engine, so a test records its cases up to its first failure and none
/// after, and while shrinking reruns only the engine that failed. Each test keeps one, as a
/// `static` in its body.
pub struct Shrinking(std::sync::Mutex<Option<lockchan::EngineSpec>>);

impl Shrinking {
    pub const fn new() -> Shrinking {
        Shrinking(std::sync::Mutex::new(None))
    }

    /// The engines to run this case on: `specs`, or only the one that failed once shrinking.
    pub fn engines(&self, specs: Vec<lockchan::EngineSpec>) -> Vec<lockchan::EngineSpec> {
        self.failed_on().map_or(specs, |spec| vec![spec])
    }

    /// Whether this case's runs are recorded: not once a case failed.
    pub fn records(&self) -> bool {
        self.failed_on().is_none()
    }

    /// Marks the test failed on `spec`: from here on proptest is shrinking.
    pub fn failed(&self, spec: lockchan::EngineSpec) {
        let mut failed_on = self.0.lock().unwrap_or_else(|p| p.into_inner());
        failed_on.get_or_insert(spec);
    }

    fn failed_on(&self) -> Option<lockchan::EngineSpec> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
