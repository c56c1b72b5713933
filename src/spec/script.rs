//! Scripts of calls made one at a time, run on the model or on any engine, and what each
//! client saw: the harness behind the differential tests, public so that a new engine can be
//! held to the model the same way.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::event::Event;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::{CloseReason, OutboxReceiver, RecvError, outbox};
use crate::domain::snapshot::Snapshot;
use crate::engines::engine::Engine;
use crate::spec::call::Call;
use crate::spec::model::Model;

/// One step of a script: a call, or a client reading its outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A call. Clients are named by the order they connected (0 is the first); a number past
    /// the last connected client names a client the engine never had. A tick moves the
    /// script's clock on by its duration.
    Call(Call<usize>),
    /// The client reads everything in its outbox.
    Drain(usize),
}

/// What a script produced: every client's events in order, how each outbox ended, and the
/// final snapshot.
#[derive(Debug, PartialEq, Eq)]
pub struct Transcript {
    pub events: BTreeMap<ClientId, Vec<Event>>,
    pub closed: BTreeMap<ClientId, CloseReason>,
    pub snapshot: Snapshot,
}

/// Where a script's calls go: the model (by `&mut`) or an engine.
trait Target {
    fn connect(&mut self, player: Player, outbox: crate::OutboxSender) -> ClientId;
    fn submit(&mut self, client: ClientId, command: Command);
    fn disconnect(&mut self, client: ClientId);
    fn tick(&mut self, now: Duration);
    fn settle(&mut self);
    fn snapshot(&mut self) -> Snapshot;
}

impl Target for Model {
    fn connect(&mut self, player: Player, outbox: crate::OutboxSender) -> ClientId {
        Model::connect(self, player, outbox)
    }
    fn submit(&mut self, client: ClientId, command: Command) {
        Model::submit(self, client, command)
    }
    fn disconnect(&mut self, client: ClientId) {
        Model::disconnect(self, client)
    }
    fn tick(&mut self, now: Duration) {
        Model::tick(self, now)
    }
    fn settle(&mut self) {}
    fn snapshot(&mut self) -> Snapshot {
        Model::snapshot(self)
    }
}

impl Target for &dyn Engine {
    fn connect(&mut self, player: Player, outbox: crate::OutboxSender) -> ClientId {
        Engine::connect(*self, player, outbox)
    }
    fn submit(&mut self, client: ClientId, command: Command) {
        Engine::submit(*self, client, command)
    }
    fn disconnect(&mut self, client: ClientId) {
        Engine::disconnect(*self, client)
    }
    fn tick(&mut self, now: Duration) {
        Engine::tick(*self, now)
    }
    fn settle(&mut self) {
        Engine::quiesce(*self)
    }
    fn snapshot(&mut self) -> Snapshot {
        Engine::snapshot(*self)
    }
}

/// Runs `steps` on the sequential model.
pub fn run_model(config: &EngineConfig, outbox_capacity: usize, steps: &[Step]) -> Transcript {
    let mut model = Model::new(config.clone());
    run(&mut model, outbox_capacity, steps)
}

/// Runs `steps` on `engine`, one call at a time: `quiesce` after each.
pub fn run_engine(engine: &dyn Engine, outbox_capacity: usize, steps: &[Step]) -> Transcript {
    let mut target = engine;
    run(&mut target, outbox_capacity, steps)
}

fn run(target: &mut impl Target, outbox_capacity: usize, steps: &[Step]) -> Transcript {
    let mut clients: Vec<(ClientId, OutboxReceiver)> = Vec::new();
    let mut events: BTreeMap<ClientId, Vec<Event>> = BTreeMap::new();
    let mut clock = Duration::ZERO;
    let id_of = |clients: &[(ClientId, OutboxReceiver)], index: usize| {
        clients.get(index).map_or(ClientId(u64::MAX), |(id, _)| *id)
    };
    for step in steps {
        match step {
            Step::Call(Call::Connect(())) => {
                let (tx, rx) = outbox(outbox_capacity);
                let n = clients.len();
                let id = target.connect(Player::new(format!("p{n}"), format!("nick{n}")), tx);
                events.insert(id, Vec::new());
                clients.push((id, rx));
            }
            Step::Call(Call::Submit(index, command)) => {
                target.submit(id_of(&clients, *index), command.clone());
            }
            Step::Call(Call::Disconnect(index)) => target.disconnect(id_of(&clients, *index)),
            Step::Call(Call::Tick(advance)) => {
                clock += *advance;
                target.tick(clock);
            }
            Step::Drain(index) => {
                target.settle();
                if let Some((id, rx)) = clients.get(*index) {
                    events.entry(*id).or_default().extend(rx.drain());
                }
            }
        }
        target.settle();
    }
    let snapshot = target.snapshot();
    let mut closed = BTreeMap::new();
    for (id, rx) in &clients {
        let seen = events.entry(*id).or_default();
        loop {
            match rx.try_recv() {
                Ok(event) => seen.push(event),
                Err(RecvError::Closed(reason)) => {
                    closed.insert(*id, reason);
                    break;
                }
                Err(RecvError::Empty) => break,
            }
        }
    }
    Transcript {
        events,
        closed,
        snapshot,
    }
}
