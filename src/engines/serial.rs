//! The test-only `serial` engine: the sequential [`Model`] behind one mutex. It exists to prove
//! that the registry is the only list of engines — registered under the `test-engine` feature,
//! it is picked up by the differential tests, `verify`, the duel and the report with no other
//! edit (`tests/registry.rs`). It is never served: one lock around the whole world is the
//! baseline the real engines are measured against, not a contender for production.

use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::Snapshot;
use crate::engines::engine::Engine;
use crate::spec::model::Model;
use crate::sync::{Mutex, MutexGuard};

/// The model as an engine: every call takes the one lock, runs the model's step and returns
/// with its effects delivered, so calls are linearized in the order they take the lock.
pub(crate) struct SerialEngine {
    /// The whole state under one mutex: the simplest guard that makes `&self` calls from many
    /// threads safe, and the strictest order (a call is one step, done before it returns).
    /// Outboxes are pushed to while it is held; a push never blocks (a full outbox closes), so
    /// nothing waits on anything else under the lock.
    model: Mutex<Model>,
}

impl SerialEngine {
    pub(crate) fn new(config: EngineConfig) -> SerialEngine {
        SerialEngine {
            model: Mutex::new(Model::new(config)),
        }
    }

    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock()
    }
}

impl Engine for SerialEngine {
    fn name(&self) -> String {
        "serial".to_owned()
    }

    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId {
        self.model().connect(player, outbox)
    }

    fn submit(&self, client: ClientId, command: Command) {
        self.model().submit(client, command);
    }

    fn disconnect(&self, client: ClientId) {
        self.model().disconnect(client);
    }

    fn tick(&self, now: Duration) {
        self.model().tick(now);
    }

    fn snapshot(&self) -> Snapshot {
        self.model().snapshot()
    }

    /// Every call is done before it returns: there is never work in flight.
    fn quiesce(&self) {}
}
