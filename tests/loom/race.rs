//! The one runner of the race scenarios: what a scenario is as data ([`Scenario`]: its
//! clients, setup, the two racing threads' calls and the outcomes it may end in), and how it
//! is model-checked on one engine ([`Scenario::check`]).
//!
//! A run connects the clients and makes the setup's calls on one schedule, then lets loom
//! explore from [`race_begins`] to [`race_settled`]: a spawned thread makes the racer's calls
//! while the main thread makes its own. Once settled it checks the snapshot rules, the
//! stream rules of every client's events and that the departed clients' outboxes ended, then
//! demands that the world is one of the scenario's outcomes, disconnects everyone and checks
//! that nothing is left behind. The outcome it found is tallied, and every outcome the
//! scenario must reach on that engine has to come up in some interleaving, so that a
//! scenario cannot pass by never really racing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use loom::sync::Arc;
use loom::thread;

use lockchan::invariants::{StreamCheck, check_empty, check_snapshot};
use lockchan::{
    ClientId, CloseReason, Command, Engine, EngineConfig, EngineKind, EngineSpec, Event,
    OutboxReceiver, Player, RecvError, RoomId, Snapshot, outbox,
};

/// One race, as data: who takes part, what is set up, what each of the two threads does,
/// and every way it may end.
pub(crate) struct Scenario {
    /// The clients, connected in this order before anything else: the engine numbers them
    /// from 1, so the first is `ClientId(1)`.
    pub(crate) clients: Vec<&'static str>,
    /// Calls made on the main thread before the race, on one schedule.
    pub(crate) setup: Vec<Step>,
    /// The calls of the spawned thread, racing the main thread's.
    pub(crate) racer: Vec<Step>,
    /// The calls (and mid-race checks) of the main thread, racing the racer's.
    pub(crate) main: Vec<Step>,
    /// Clients the race disconnects: once settled, each one's outbox is drained and ended.
    pub(crate) gone: Vec<ClientId>,
    /// Every world the race may end in; the settled world must be one of them.
    pub(crate) outcomes: Vec<Outcome>,
    /// The most preemptions for actor/2, whose models are the largest (see the module doc of
    /// `tests/loom.rs`).
    pub(crate) two_room_actors_at_most: usize,
}

/// One call of a scenario's thread, or a check the main thread makes in the middle of the
/// race.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    Submit(ClientId, Command),
    Disconnect(ClientId),
    Tick(Duration),
    Quiesce,
    /// The client's outbox is closed now: drained, it ends with `Closed` (main thread only).
    Closed(ClientId),
    /// Reads the client's outbox now; once the race settles it must have heard nothing more
    /// (main thread only).
    NothingMore(ClientId),
}

/// A way the race may end: facts about the settled state and what each client heard.
pub(crate) struct Outcome {
    pub(crate) name: &'static str,
    /// Where some interleaving must reach it.
    pub(crate) reached: Reach,
    pub(crate) facts: Vec<Fact>,
    /// What each client heard over the whole scenario, from its first event to the settled
    /// state.
    pub(crate) heard: Vec<(ClientId, Heard)>,
}

/// Where an outcome must come up in some interleaving. It is allowed everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    OnEveryEngine,
    OnTheActorEngine,
}

/// A fact about the settled snapshot.
#[derive(Clone, Debug)]
pub(crate) enum Fact {
    /// The world has this many rooms.
    Rooms(usize),
    /// The room exists with these members, in seat order.
    Members(RoomId, Vec<ClientId>),
    /// The room exists and is matched (or open).
    Matched(RoomId, bool),
    /// The room exists and was opened at this time.
    CreatedAt(RoomId, Duration),
    /// The client is connected and seated there (or nowhere).
    Seated(ClientId, Option<RoomId>),
    /// Exactly these clients are connected.
    Connected(Vec<ClientId>),
    /// The world's count of commands that found their client gone.
    UnknownClient(u64),
}

/// What one client heard.
#[derive(Clone, Debug)]
pub(crate) enum Heard {
    Exactly(Vec<Event>),
    /// Exactly one of these.
    OneOf(Vec<Vec<Event>>),
    /// These events in this order, with the given one exactly once at any place among them.
    WithOnce(Vec<Event>, Event),
}

impl Scenario {
    /// The preemption bound (`None`: no bound) for `spec`, given the file's bound.
    fn bound(&self, spec: EngineSpec, file_bound: usize) -> Option<usize> {
        if spec.kind == EngineKind::LOCK {
            // The lock engine's race windows are small enough to check exhaustively.
            None
        } else if spec.shards == 1 {
            Some(file_bound)
        } else {
            Some(file_bound.min(self.two_room_actors_at_most))
        }
    }

    /// Model-checks the scenario on `spec`: every interleaving of its race within the bound.
    /// `name` is the scenario's, for the report line.
    pub(crate) fn check(self, name: &str, kind: EngineKind, shards: usize) {
        let spec = EngineSpec::new(kind, shards);
        let must_reach: Vec<&'static str> = self
            .outcomes
            .iter()
            .filter(|outcome| match outcome.reached {
                Reach::OnEveryEngine => true,
                Reach::OnTheActorEngine => kind == EngineKind::ACTOR,
            })
            .map(|outcome| outcome.name)
            .collect();
        let bound = self.bound(spec, file_bound());
        let seen = explore(&format!("{name}::{kind}_{shards}"), bound, move || {
            self.run(spec)
        });
        for outcome in must_reach {
            assert!(
                seen.contains_key(outcome),
                "{spec}: no interleaving reached `{outcome}`: {seen:?}"
            );
        }
    }

    /// One execution: sets up, races, settles and checks; returns the outcome it ended in.
    fn run(&self, spec: EngineSpec) -> &'static str {
        let engine = build(spec);
        let mut clients: Vec<Client> = self
            .clients
            .iter()
            .map(|name| Client::connect(&**engine, name))
            .collect();
        for (n, client) in clients.iter().enumerate() {
            let id = ClientId(n as u64 + 1);
            assert_eq!(
                client.id, id,
                "the scenario names clients by connection order"
            );
        }
        for step in &self.setup {
            main_step(&**engine, &mut clients, step);
        }
        race_begins(&**engine);
        let racer = {
            let engine = engine.clone();
            let steps = self.racer.clone();
            thread::spawn(move || {
                for step in &steps {
                    racer_step(&**engine, step);
                }
            })
        };
        for step in &self.main {
            main_step(&**engine, &mut clients, step);
        }
        racer.join().unwrap();
        race_settled(&**engine);

        for &id in &self.gone {
            client(&mut clients, id).assert_closed();
        }
        let snapshot = settled(&**engine);
        let heard: BTreeMap<ClientId, Vec<Event>> = clients
            .iter_mut()
            .map(|client| (client.id, client.events()))
            .collect();
        let outcome = self.outcome(&snapshot, &heard);
        tear_down(&**engine, &mut clients);
        outcome
    }

    /// The outcome the settled world is, or a failure naming, for each outcome, the first
    /// thing that differs.
    fn outcome(&self, snapshot: &Snapshot, heard: &BTreeMap<ClientId, Vec<Event>>) -> &'static str {
        let mut differences = String::new();
        for outcome in &self.outcomes {
            match outcome.differs(snapshot, heard) {
                None => return outcome.name,
                Some(why) => {
                    let _ = writeln!(differences, "  not `{}`: {why}", outcome.name);
                }
            }
        }
        panic!(
            "the race ended in none of its outcomes:\n{differences}heard {heard:?}\nin {snapshot:?}"
        );
    }
}

impl Outcome {
    /// The first fact or stream of this outcome that the settled world does not have.
    fn differs(
        &self,
        snapshot: &Snapshot,
        heard: &BTreeMap<ClientId, Vec<Event>>,
    ) -> Option<String> {
        let found = self.facts.iter().find(|fact| !fact.holds(snapshot));
        if let Some(fact) = found {
            return Some(format!("{fact:?} does not hold"));
        }
        self.heard.iter().find_map(|(client, expected)| {
            let got = heard.get(client).map_or(&[][..], Vec::as_slice);
            (!expected.matches(got)).then(|| format!("{client} heard {got:?}, not {expected:?}"))
        })
    }
}

impl Fact {
    fn holds(&self, snapshot: &Snapshot) -> bool {
        let room = |id: &RoomId| snapshot.rooms.get(id);
        match self {
            Fact::Rooms(count) => snapshot.rooms.len() == *count,
            Fact::Members(id, members) => room(id).is_some_and(|view| view.members == *members),
            Fact::Matched(id, matched) => room(id).is_some_and(|view| view.matched == *matched),
            Fact::CreatedAt(id, at) => room(id).is_some_and(|view| view.created_at == *at),
            Fact::Seated(client, seat) => snapshot
                .clients
                .get(client)
                .is_some_and(|view| view.room == *seat),
            Fact::Connected(clients) => snapshot.clients.keys().eq(clients.iter()),
            Fact::UnknownClient(count) => snapshot.counters.unknown_client == *count,
        }
    }
}

impl Heard {
    fn matches(&self, got: &[Event]) -> bool {
        match self {
            Heard::Exactly(events) => got == events.as_slice(),
            Heard::OneOf(choices) => choices.iter().any(|events| got == events.as_slice()),
            Heard::WithOnce(events, once) => {
                let rest: Vec<Event> = got.iter().filter(|event| *event != once).cloned().collect();
                got.len() == rest.len() + 1 && rest == *events
            }
        }
    }
}

/// The preemption bound loom's settings give the file (`LOOM_MAX_PREEMPTIONS`), 2 when unset.
pub(crate) fn file_bound() -> usize {
    loom::model::Builder::new().preemption_bound.unwrap_or(2)
}

/// Runs `execution` in every interleaving loom explores within `bound` (`None`: no bound),
/// exploring from `race_begins` on, and counts the outcome each execution returns. Prints the
/// model's size under `label` (shown with `--nocapture`, as quoted in the module doc) and
/// returns the tally.
pub(crate) fn explore(
    label: &str,
    bound: Option<usize>,
    execution: impl Fn() -> &'static str + Send + Sync + 'static,
) -> BTreeMap<&'static str, usize> {
    let seen = std::sync::Arc::new(StdMutex::new(BTreeMap::<&'static str, usize>::new()));
    let tally = seen.clone();
    let start = std::time::Instant::now();
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = bound;
    // Exploration starts at `race_begins`: the setup runs on one schedule.
    builder.expect_explicit_explore = true;
    // A path holds the setup's and the checks' branches too: loom's default of 1,000 is
    // too short for the actor engine.
    builder.max_branches = builder.max_branches.max(20_000);
    builder.check(move || {
        let outcome = execution();
        *tally.lock().unwrap().entry(outcome).or_default() += 1;
    });
    let seen = seen.lock().unwrap().clone();
    let runs: usize = seen.values().sum();
    println!(
        "{label}: {runs} executions, preemption bound {}, {:.1?}, {seen:?}",
        bound.map_or("none".to_owned(), |bound| bound.to_string()),
        start.elapsed()
    );
    seen
}

/// Makes one of the racer's calls.
pub(crate) fn racer_step(engine: &dyn Engine, step: &Step) {
    match step {
        Step::Submit(client, command) => engine.submit(*client, command.clone()),
        Step::Disconnect(client) => engine.disconnect(*client),
        Step::Tick(now) => engine.tick(*now),
        Step::Quiesce => engine.quiesce(),
        Step::Closed(_) | Step::NothingMore(_) => {
            panic!("{step:?}: only the main thread holds the outboxes")
        }
    }
}

/// Makes one of the main thread's calls, or its check.
fn main_step(engine: &dyn Engine, clients: &mut [Client], step: &Step) {
    match step {
        Step::Closed(id) => client(clients, *id).assert_closed(),
        Step::NothingMore(id) => {
            let client = client(clients, *id);
            client.heard_at_most = Some(client.events().len());
        }
        _ => racer_step(engine, step),
    }
}

fn client(clients: &mut [Client], id: ClientId) -> &mut Client {
    clients
        .iter_mut()
        .find(|client| client.id == id)
        .unwrap_or_else(|| panic!("{id} is not a client of the scenario"))
}

/// The actor engine's queue capacity for `spec`: two with one room actor, one with two, so
/// that there the world and the callers wait on full queues. The lock engine has no queues.
fn queue_capacity(spec: EngineSpec) -> usize {
    if spec.shards == 1 { 2 } else { 1 }
}

/// Where the race begins: everything before (the setup) ran on one schedule, since it is no
/// part of the race; from here loom explores.
pub(crate) fn race_begins(engine: &dyn Engine) {
    engine.quiesce();
    loom::explore();
}

/// Where the race ends: once every call of it is done (`quiesce`) loom stops exploring, and
/// the checks that follow run on one schedule.
pub(crate) fn race_settled(engine: &dyn Engine) {
    engine.quiesce();
    loom::stop_exploring();
}

pub(crate) fn build(spec: EngineSpec) -> Arc<Box<dyn Engine>> {
    let config = EngineConfig {
        queue_capacity: queue_capacity(spec),
        ..EngineConfig::default()
    };
    Arc::new(spec.build(config))
}

/// A client of a scenario: its outbox, and the stream rules its events must keep.
struct Client {
    id: ClientId,
    rx: OutboxReceiver,
    check: StreamCheck,
    seen: Vec<Event>,
    /// Set by [`Step::NothingMore`]: how many events it may ever hear.
    heard_at_most: Option<usize>,
}

impl Client {
    fn connect(engine: &dyn Engine, name: &str) -> Client {
        let (tx, rx) = outbox(16);
        let id = engine.connect(Player::new(name, name), tx);
        Client {
            id,
            rx,
            check: StreamCheck::new(id),
            seen: Vec::new(),
            heard_at_most: None,
        }
    }

    /// Every event delivered so far, each checked against the stream rules.
    fn events(&mut self) -> Vec<Event> {
        for event in self.rx.drain() {
            self.check.observe(&event);
            self.seen.push(event);
        }
        let broken = &self.check.broken;
        assert!(broken.is_empty(), "{broken:?} in {:?}", self.seen);
        if let Some(most) = self.heard_at_most {
            assert_eq!(
                self.seen.len(),
                most,
                "an event came after the close: {:?}",
                self.seen
            );
        }
        self.seen.clone()
    }

    /// Asserts that the outbox is drained and ended by a disconnect, with every sender gone:
    /// the receiver sees `Closed` and can never see anything after it.
    fn assert_closed(&mut self) {
        self.events();
        let closed = Err(RecvError::Closed(CloseReason::Disconnected));
        for _ in 0..2 {
            assert_eq!(
                self.rx.try_recv(),
                closed,
                "{} after {:?}",
                self.id,
                self.seen
            );
        }
    }
}

/// Disconnects every client still connected, and checks that nothing is left behind: no
/// client, no room, as many disconnects as connects, and every outbox closed.
fn tear_down(engine: &dyn Engine, clients: &mut [Client]) {
    let snapshot = engine.snapshot();
    for client in clients.iter() {
        if snapshot.clients.contains_key(&client.id) {
            engine.disconnect(client.id);
        }
    }
    let snapshot = engine.snapshot();
    let broken = check_empty(&snapshot);
    assert!(broken.is_empty(), "{broken:?} in {snapshot:?}");
    for client in clients.iter_mut() {
        client.assert_closed();
    }
}

/// The state once the race settled, checked against the snapshot rules.
pub(crate) fn settled(engine: &dyn Engine) -> Snapshot {
    let snapshot = engine.snapshot();
    let broken = check_snapshot(&snapshot);
    assert!(broken.is_empty(), "{broken:?} in {snapshot:?}");
    snapshot
}
