//! Who is measured: the sequential model (the floor) and each engine at each shard count,
//! and which of them a group runs at which thread counts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lockchan::{
    ClientId, Command, Engine, EngineConfig, EngineKind, EngineSpec, Model, OutboxSender, Player,
    Snapshot,
};

use crate::support;

/// Shard counts of each engine: one big lock (or one room actor), then striped.
const SHARDS: [usize; 3] = [1, 2, 4];
/// Caller threads of the closed-loop groups: up to four times the cores.
const THREADS: [usize; 4] = [1, 2, 4, 8];

/// Caller threads of the open-loop and contention cases: more than the cores, as a server has.
const BUSY_THREADS: usize = 4;

/// Who is measured: the model, or an engine with its shard count.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Contender {
    Model,
    Engine(EngineSpec),
}

impl Contender {
    /// The function id: `model`, `lock-4`, `actor-2` (a `/` would become `_` in criterion's
    /// paths).
    pub(crate) fn name(self) -> String {
        match self {
            Contender::Model => "model".to_owned(),
            Contender::Engine(spec) => format!("{}-{}", spec.kind, spec.shards),
        }
    }

    pub(crate) fn build(self, config: EngineConfig) -> Arc<dyn Engine> {
        match self {
            Contender::Model => Arc::new(SequentialModel::new(config)),
            Contender::Engine(spec) => Arc::from(spec.build(config)),
        }
    }
}

/// Every engine at every shard count.
pub(crate) fn engines() -> impl Iterator<Item = Contender> {
    EngineKind::all().flat_map(|kind| {
        SHARDS
            .into_iter()
            .map(move |shards| Contender::Engine(EngineSpec::new(kind, shards)))
    })
}

/// The cases of a closed-loop group: the model on one thread, then each engine on each
/// thread count.
pub(crate) fn closed_loop() -> Vec<(Contender, usize)> {
    let mut cases = vec![(Contender::Model, 1)];
    for engine in engines() {
        cases.extend(THREADS.map(|threads| (engine, threads)));
    }
    cases
}

/// The cases of a group at one busy thread count: the model on one thread, each engine on
/// [`BUSY_THREADS`].
pub(crate) fn busy() -> Vec<(Contender, usize)> {
    std::iter::once((Contender::Model, 1))
        .chain(engines().map(|engine| (engine, BUSY_THREADS)))
        .collect()
}

/// The model as an [`Engine`] for one caller thread, as the duel wraps it. The mutex is never
/// contended, so what it measures is the model's own work: the floor under both engines.
struct SequentialModel(Mutex<Model>);

impl SequentialModel {
    pub(crate) fn new(config: EngineConfig) -> SequentialModel {
        SequentialModel(Mutex::new(Model::new(config)))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Model) -> R) -> R {
        f(&mut support::lock(&self.0))
    }
}

impl Engine for SequentialModel {
    fn name(&self) -> String {
        "model".to_owned()
    }
    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId {
        self.with(|m| m.connect(player, outbox))
    }
    fn submit(&self, client: ClientId, command: Command) {
        self.with(|m| m.submit(client, command))
    }
    fn disconnect(&self, client: ClientId) {
        self.with(|m| m.disconnect(client))
    }
    fn tick(&self, now: Duration) {
        self.with(|m| m.tick(now))
    }
    fn snapshot(&self) -> Snapshot {
        self.with(|m| m.snapshot())
    }
    fn quiesce(&self) {}
}
