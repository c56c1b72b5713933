//! Race scenarios: a sequential setup, then a few threads each making its own list of calls on
//! one engine at once. [`run`] plays one on an engine and records what the linearizability
//! checker needs — every call with the ids it used, every client's events, the settled state
//! — and [`Scenario::to_rust`] prints one as code, for a failure's ready-to-paste regression
//! test.
//!
//! The threads come from `crate::sync`, so the same scenario runs on real threads in a normal
//! build and under shuttle's controlled scheduler in a `--cfg lockchan_shuttle` build.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::{CloseReason, OutboxReceiver, RecvError, outbox};
use crate::engines::engine::Engine;
use crate::engines::registry::EngineSpec;
use crate::invariants::check_empty;
use crate::spec::call::{Call, ClientName, Connected};
use crate::sync::thread::spawn_named;
use crate::verify::linearize::{
    self, Budget, Explanation, History, LinearizeError, Observed, Semantics,
};
use crate::verify::slow::Stopped;

/// A client named by a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    /// The n-th client the setup connected; any thread may command it.
    Shared(usize),
    /// The n-th client this thread connected itself (in the setup: the same as `Shared`).
    Own(usize),
}

/// One call of a scenario, its clients named by [`Who`]. A `Connect` makes the thread's next
/// `Own` (in the setup, the next `Shared`); a `Tick` moves the thread's clock on by its
/// duration, and only the setup and thread 0 tick, so one ticker decides every `Tick` (what
/// the checker needs). A say's or shout's payload is sent with the call's place appended
/// (`t1.3`: thread 1's call 3; `s.2` in the setup), so that every one differs.
pub type Op = Call<Who>;

impl ClientName for Who {
    type Connect = ();
}

/// A setup made one call at a time, then threads racing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scenario {
    pub setup: Vec<Op>,
    pub threads: Vec<Vec<Op>>,
}

/// The engine settings scenarios run under: queues of two, so the actor engine's callers and
/// world really wait on full queues; a short match timeout, so ticks dissolve rooms.
pub fn scenario_config() -> EngineConfig {
    EngineConfig {
        match_timeout: Duration::from_secs(3),
        queue_capacity: 2,
        ..EngineConfig::default()
    }
}

/// [`scenario_config`] with the clients split into `tick_phases` tick phase groups
/// (`EngineConfig::tick_phases`): the generated race tests pick 1, 2 or 3, so that every
/// engine and the checker are compared with ticks spread over a period too.
pub fn phased_scenario_config(tick_phases: u32) -> EngineConfig {
    EngineConfig {
        tick_phases,
        ..scenario_config()
    }
}

/// Room for every event a scenario can send one client, so no outbox fills: a full outbox's
/// cut depends on when the reader reads, which is not what these scenarios race. Only the
/// stopped readers of [`run_stopping`] have smaller outboxes.
const OUTBOX_CAPACITY: usize = 1024;

/// What one run of a scenario recorded.
#[derive(Debug)]
pub struct Run {
    pub history: History,
    pub observed: Observed,
    /// Broken rules found outside the checker: something left behind after the teardown, an
    /// outbox never ended, an outbox that filled (other than a stopped reader's).
    pub problems: Vec<String>,
    /// The stopped readers' ids (see [`run_stopping`]); empty for [`run`].
    pub stopped: Vec<ClientId>,
    /// Why each client's outbox was closed, read after the teardown (`None`: never closed).
    pub closed_as: BTreeMap<ClientId, Option<CloseReason>>,
}

/// A name for the client a thread's call names, and the ids behind its `Own` clients.
struct Clients {
    shared: Arc<Vec<ClientId>>,
    own: Vec<ClientId>,
    /// In the setup, `Shared(n)` and `Own(n)` both name the setup's n-th client.
    in_setup: bool,
}

impl Clients {
    fn id(&self, who: Who) -> ClientId {
        let found = match who {
            Who::Shared(n) if !self.in_setup => self.shared.get(n),
            Who::Shared(n) | Who::Own(n) => self.own.get(n),
        };
        // A name past the connected clients (as shrinking makes) is a client the engine never
        // had: its calls are refused as from an unknown client.
        found.copied().unwrap_or(ClientId(UNKNOWN_CLIENT))
    }
}

/// The id a scenario's dangling client names stand for: never handed out by an engine.
const UNKNOWN_CLIENT: u64 = 1 << 40;

/// Makes one call of `op` for a thread (or the setup) labelled `label`, at its `index`.
/// Returns the call as made, and a new client's outbox, which holds `capacity` events.
fn perform(
    engine: &dyn Engine,
    clients: &mut Clients,
    clock: &mut Duration,
    (label, index): (&str, usize),
    op: &Op,
    capacity: usize,
) -> (Call, Option<(ClientId, OutboxReceiver)>) {
    let made = match op {
        Call::Connect(()) => {
            let (tx, rx) = outbox(capacity);
            let name = format!("{label}-{}", clients.own.len());
            let player = Player::new(name.clone(), name);
            let client = engine.connect(player.clone(), tx);
            clients.own.push(client);
            return (
                Call::Connect(Connected { client, player }),
                Some((client, rx)),
            );
        }
        Call::Submit(who, command) => {
            let client = clients.id(*who);
            let tag = |payload: &str| -> Arc<str> { format!("{payload}{label}.{index}").into() };
            let command = match command {
                Command::Say { data } => Command::Say { data: tag(data) },
                Command::Shout { text } => Command::Shout { text: tag(text) },
                Command::Join { .. } | Command::Leave => command.clone(),
            };
            engine.submit(client, command.clone());
            Call::Submit(client, command)
        }
        Call::Disconnect(who) => {
            let client = clients.id(*who);
            engine.disconnect(client);
            Call::Disconnect(client)
        }
        Call::Tick(advance) => {
            *clock += *advance;
            engine.tick(*clock);
            Call::Tick(*clock)
        }
    };
    (made, None)
}

/// Plays `scenario` on `engine`: the setup one call at a time, the threads at once (on
/// `crate::sync` threads), then `quiesce`, a snapshot, and a teardown that disconnects everyone
/// left, one at a time.
pub fn run(engine: Arc<dyn Engine>, scenario: &Scenario) -> Run {
    run_stopping(engine, scenario, &Stopped::default())
}

/// [`run`], with the setup's clients that `stopped` names connected with its small outboxes:
/// each is read after every call of the setup, then not again until the race has settled, so
/// the race's events fill its outbox (`verify::slow`). Reading it after the race, for the
/// record, decides nothing: by then the engine must have cut it off.
pub fn run_stopping(engine: Arc<dyn Engine>, scenario: &Scenario, stopped: &Stopped) -> Run {
    let mut setup = Clients {
        shared: Arc::new(Vec::new()),
        own: Vec::new(),
        in_setup: true,
    };
    let mut clock = Duration::ZERO;
    let mut receivers: Vec<(ClientId, OutboxReceiver)> = Vec::new();
    let mut history = History::default();
    let mut streams: BTreeMap<ClientId, Vec<_>> = BTreeMap::new();
    for (index, op) in scenario.setup.iter().enumerate() {
        let capacity = stopped.capacity_of(setup.own.len(), OUTBOX_CAPACITY);
        let place = ("s", index);
        let (call, new) = perform(&*engine, &mut setup, &mut clock, place, op, capacity);
        engine.quiesce();
        history.setup.push(call);
        receivers.extend(new);
        // The stopped readers still read during the setup.
        let stopping = stopped.ids(&setup.own);
        for (id, rx) in receivers.iter().filter(|(id, _)| stopping.contains(id)) {
            streams.entry(*id).or_default().extend(rx.drain());
        }
    }
    let stopped_ids: Vec<ClientId> = stopped.ids(&setup.own);
    let shared = Arc::new(setup.own);
    let threads: Vec<_> = scenario
        .threads
        .iter()
        .enumerate()
        .map(|(thread, ops)| {
            let (engine, ops) = (engine.clone(), ops.clone());
            let mut clients = Clients {
                shared: shared.clone(),
                own: Vec::new(),
                in_setup: false,
            };
            let start = clock;
            spawn_named(format!("scenario-t{thread}"), move || {
                let mut clock = start;
                let label = format!("t{thread}");
                let mut calls = Vec::with_capacity(ops.len());
                let mut own = Vec::new();
                for (index, op) in ops.iter().enumerate() {
                    let place = (label.as_str(), index);
                    let (call, new) = perform(
                        &*engine,
                        &mut clients,
                        &mut clock,
                        place,
                        op,
                        OUTBOX_CAPACITY,
                    );
                    calls.push(call);
                    own.extend(new);
                }
                (calls, own)
            })
        })
        .collect();
    let mut problems = Vec::new();
    for (thread, handle) in threads.into_iter().enumerate() {
        match handle.join() {
            Ok((calls, own)) => {
                history.threads.push(calls);
                receivers.extend(own);
            }
            Err(_) => {
                history.threads.push(Vec::new());
                problems.push(format!("thread {thread} panicked"));
            }
        }
    }
    engine.quiesce();
    let race_snapshot = engine.snapshot();
    let mut closed_after_race = BTreeSet::new();
    for (id, rx) in &receivers {
        streams.entry(*id).or_default().extend(rx.drain());
        if rx.close_reason().is_some() {
            closed_after_race.insert(*id);
        }
    }
    if race_snapshot.counters.slow_consumer_cuts > stopped_ids.len() as u64 {
        problems.push("an outbox filled: the scenario is too large for its capacity".into());
    }
    for client in race_snapshot.clients.keys() {
        engine.disconnect(*client);
        engine.quiesce();
        history.teardown.push(Call::Disconnect(*client));
    }
    let last = engine.snapshot();
    problems.extend(
        check_empty(&last)
            .into_iter()
            .map(|b| format!("after the teardown: {b}")),
    );
    for (id, rx) in &receivers {
        let heard = streams.entry(*id).or_default();
        loop {
            match rx.try_recv() {
                Ok(event) => heard.push(event),
                Err(RecvError::Closed(_)) => break,
                Err(RecvError::Empty) => {
                    problems.push(format!("{id}'s outbox is still open after the teardown"));
                    break;
                }
            }
        }
    }
    let closed_as = receivers
        .iter()
        .map(|(id, rx)| (*id, rx.close_reason()))
        .collect();
    Run {
        history,
        observed: Observed {
            streams,
            race_snapshot,
            closed_after_race,
        },
        problems,
        stopped: stopped_ids,
        closed_as,
    }
}

/// Why a run of a scenario failed.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("broken after the race: {}", .0.join("; "))]
    Broken(Vec<String>),
    #[error(transparent)]
    Unexplained(#[from] LinearizeError),
}

/// Plays `scenario` on a fresh engine of `spec` and checks the run: the teardown's rules, then
/// the linearizability checker.
pub fn run_and_check(
    spec: EngineSpec,
    config: &EngineConfig,
    scenario: &Scenario,
    budget: Budget,
) -> Result<Explanation, ScenarioError> {
    let engine: Arc<dyn Engine> = Arc::from(spec.build(config.clone()));
    let run = run(engine, scenario);
    if !run.problems.is_empty() {
        return Err(ScenarioError::Broken(run.problems));
    }
    let semantics = Semantics::of(spec);
    Ok(linearize::check(
        &run.history,
        &run.observed,
        semantics,
        config,
        budget,
    )?)
}

impl Who {
    fn to_rust(self) -> String {
        match self {
            Who::Shared(n) => format!("Shared({n})"),
            Who::Own(n) => format!("Own({n})"),
        }
    }
}

/// One call of a scenario as a Rust expression, with `Call`, `Duration` and `Who::*` in scope.
fn to_rust(op: &Op) -> String {
    match op {
        Call::Connect(()) => "Call::connect()".to_owned(),
        Call::Submit(who, command) => {
            let who = who.to_rust();
            match command {
                Command::Join { limit } => format!("Call::join({who}, {limit})"),
                Command::Leave => format!("Call::leave({who})"),
                Command::Say { data } => format!("Call::say({who}, {data:?})"),
                Command::Shout { text } => format!("Call::shout({who}, {text:?})"),
            }
        }
        Call::Disconnect(who) => format!("Call::Disconnect({})", who.to_rust()),
        Call::Tick(advance) if advance.subsec_nanos() % 1_000_000 == 0 => {
            format!("Call::Tick(Duration::from_millis({}))", advance.as_millis())
        }
        Call::Tick(advance) => format!("Call::Tick(Duration::from_nanos({}))", advance.as_nanos()),
    }
}

impl Scenario {
    /// The total number of calls, setup included.
    pub fn len(&self) -> usize {
        self.setup.len() + self.threads.iter().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The scenario as a Rust expression, with `Call`, `Duration` and `Who::*` in scope.
    pub fn to_rust(&self) -> String {
        let list = |ops: &[Op], indent: &str| {
            let mut out = String::from("vec![");
            for op in ops {
                let _ = write!(out, "\n{indent}    {},", to_rust(op));
            }
            if !ops.is_empty() {
                out.push('\n');
                out.push_str(indent);
            }
            out.push(']');
            out
        };
        let mut out = format!(
            "Scenario {{\n    setup: {},\n    threads: vec![",
            list(&self.setup, "    ")
        );
        for thread in &self.threads {
            let _ = write!(out, "\n        {},", list(thread, "        "));
        }
        out.push_str("\n    ],\n}");
        out
    }
}
