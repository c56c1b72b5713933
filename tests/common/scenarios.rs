//! Race scenarios for proptest, shared by the real-thread smoke test (`tests/race_smoke.rs`)
//! and the shuttle tests (`tests/shuttle.rs`): plain ones and ones with stopped readers; and
//! a per-case time limit.

use std::sync::mpsc;
use std::time::Duration;

use lockchan::Call;
use lockchan::verify::scenario::{Op, Scenario, Who};
use lockchan::verify::slow::Stopped;
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

/// How many tick phase groups a generated case's engine splits its clients into
/// (`EngineConfig::tick_phases`, through `phased_scenario_config`): 1 ticks everyone at once,
/// 2 and 3 spread a period's ticks, so each of a scenario's ticks may reach only some groups.
pub fn tick_phases() -> impl Strategy<Value = u32> {
    1..=3u32
}

/// The limit of the stopped readers' room in [`slow_scenario`]: one the generated calls never
/// use, so nobody else ever joins it.
const STOPPED_ROOM: u8 = 5;

/// A scenario with stopped readers (issue 14, item 3; `lockchan::verify::slow`), and who they
/// are. The setup connects `s` (`Shared(0)`) and `m` (`Shared(1)`), then a generated scenario's
/// clients and calls (its `Shared` names moved past these two), and last seats `s` and `m` in
/// a room of [`STOPPED_ROOM`]. Once the race begins `s` stops reading, in half the cases `m`
/// too, their outboxes holding one or two events. Into the generated threads go, each at a
/// generated place: thread 0 ticks a period on (a `Tick` for everyone, whatever the tick
/// phases: a period holds one slot of every phase group), thread 1 has `m` say
/// something (relayed to `s`), the last thread has `m` shout (to everyone). So on every
/// schedule each stopped reader is sent at least three events in the race, more than its
/// outbox holds: `s` the shout, the tick, and the say or its room's `MatchTimeout` (should the
/// ticks dissolve the room first); `m` its own shout, the tick, and `s` leaving the room or
/// the room's `MatchTimeout`. The generated calls never name `s` or `m`; their shouts and
/// ticks reach them too, racing.
pub fn slow_scenario(most: usize) -> impl Strategy<Value = (Scenario, Stopped)> {
    (1..=4usize, 2..=3usize).prop_flat_map(move |(shared, threads)| {
        let setup = prop::collection::vec(setup_op(shared), 0..=4);
        let threads: Vec<_> = (0..threads)
            .map(|thread| {
                let calls = prop::collection::vec(op(shared, thread == 0), 0..most);
                (calls, any::<prop::sample::Index>())
            })
            .collect();
        (setup, threads, 1..=2usize, any::<bool>()).prop_map(
            move |(setup_calls, threads, capacity, both)| {
                let (s, m) = (Who::Shared(0), Who::Shared(1));
                let setup = [Op::connect(), Op::connect()]
                    .into_iter()
                    .chain(std::iter::repeat_n(Op::connect(), shared))
                    .chain(setup_calls.into_iter().map(moved_past_two))
                    .chain([Op::join(s, STOPPED_ROOM), Op::join(m, STOPPED_ROOM)])
                    .collect();
                let last = threads.len() - 1;
                let threads = threads
                    .into_iter()
                    .enumerate()
                    .map(|(thread, (calls, place))| {
                        let mut calls: Vec<Op> = calls.into_iter().map(moved_past_two).collect();
                        let mut insert = |op: Op| calls.insert(place.index(calls.len() + 1), op);
                        if thread == 0 {
                            insert(Op::Tick(Duration::from_secs(1)));
                        }
                        if thread == 1 {
                            insert(Op::say(m, ""));
                        }
                        if thread == last {
                            insert(Op::shout(m, ""));
                        }
                        calls
                    })
                    .collect();
                let readers = if both { vec![0, 1] } else { vec![0] };
                let stopped = Stopped { readers, capacity };
                (Scenario { setup, threads }, stopped)
            },
        )
    })
}

/// A generated call, its `Shared` names moved on by two (past `s` and `m`).
fn moved_past_two(op: Op) -> Op {
    let moved = |who: Who| match who {
        Who::Shared(n) => Who::Shared(n + 2),
        Who::Own(n) => Who::Own(n),
    };
    match op {
        Call::Submit(who, command) => Call::Submit(moved(who), command),
        Call::Disconnect(who) => Call::Disconnect(moved(who)),
        Call::Connect(()) | Call::Tick(_) => op,
    }
}

/// How [`within`]'s message for a case that did not finish in time begins.
pub const OVER_LIMIT: &str = "the case took longer than its limit";

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
        Err(_) => Err(format!("{OVER_LIMIT} of {limit:?}")),
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
