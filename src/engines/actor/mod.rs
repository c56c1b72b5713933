//! The actor engine: state owned by threads that share nothing and talk over channels.
//!
//! It is the original server's channel design: one *world* actor (the hub goroutine) owns every
//! client and relays broadcasts; `shards` *room* actors behind it own the rooms, the rooms of
//! a user limit always at the same actor, and relay inside them. Callers only send messages;
//! `quiesce` and `snapshot` wait for answers. See [`messages`] for the topology and why it
//! cannot deadlock.
//!
//! A client's events may come from the world (ticks, shouts, refusals) and from its room's
//! actor; the world sends a client's commands to one room actor at a time, pipelining only
//! `Say`s and holding anything else until the room has answered, so a client's own commands
//! still take effect, and answer, in its order.

mod messages;
mod room;
mod world;

use std::time::Duration;

use messages::{Part, ToWorld};
use room::RoomActor;
use world::World;

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::{ClientView, Snapshot};
use crate::engines::engine::Engine;
use crate::sync::Arc;
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::sync::channel::{self, Sender};
use crate::sync::thread::{JoinHandle, spawn_named};

/// The engine of actors fed by channels.
pub struct ActorEngine {
    world: Sender<ToWorld>,
    /// The last client id handed out. Ids are made by the caller's thread so that `connect`
    /// answers without a round trip; `Relaxed` because only uniqueness matters.
    last_client: AtomicU64,
    shards: usize,
    threads: Vec<JoinHandle<()>>,
    /// The rooms' queues, only to report their depth when a watchdog asks; never sent on.
    room_queues: Vec<Sender<messages::ToRoom>>,
    peak: Arc<QueuePeak>,
}

/// The deepest any actor's queue has been: a statistic for benchmarks, written by the actors
/// and read by no decision, so it does not break the rule that actors share no state.
#[derive(Default)]
pub(super) struct QueuePeak {
    deepest: AtomicUsize,
}

impl QueuePeak {
    /// Records `depth` if it is a new high; each actor passes its own high-water mark in
    /// `seen` so the shared atomic is touched only when that mark rises. `Relaxed`: nothing
    /// is published through it.
    pub(super) fn record(&self, depth: usize, seen: &mut usize) {
        if depth > *seen {
            *seen = depth;
            self.deepest.fetch_max(depth, Ordering::Relaxed);
        }
    }
}

impl ActorEngine {
    pub fn new(shards: usize, config: EngineConfig) -> ActorEngine {
        let shards = shards.max(1);
        let capacity = config.queue_capacity.max(1);
        let (notice_tx, notice_rx) = channel::unbounded();
        let mut threads = Vec::with_capacity(shards + 1);
        let peak = Arc::new(QueuePeak::default());
        let mut rooms = Vec::with_capacity(shards);
        for index in 0..shards {
            let (tx, rx) = channel::bounded(capacity);
            let actor = RoomActor::new(index, shards, &config, notice_tx.clone(), peak.clone());
            let name = format!("lockchan-room-{index}");
            threads.push(spawn_named(name, move || actor.run(rx)));
            rooms.push(tx);
        }
        drop(notice_tx);
        let room_queues = rooms.clone();
        let (world_tx, world_rx) = channel::bounded(capacity);
        let world = World::new(config, rooms, peak.clone());
        let name = "lockchan-world".to_owned();
        threads.push(spawn_named(name, move || world.run(world_rx, notice_rx)));
        ActorEngine {
            world: world_tx,
            last_client: AtomicU64::new(0),
            shards,
            threads,
            room_queues,
            peak,
        }
    }

    fn tell(&self, message: ToWorld) {
        // The world lives as long as the engine unless it panicked; then there is no engine.
        self.world
            .send(message)
            .expect("the world actor stopped: an engine thread panicked");
    }
}

impl Engine for ActorEngine {
    fn name(&self) -> String {
        format!("actor/{}", self.shards)
    }

    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId {
        let client = ClientId(self.last_client.fetch_add(1, Ordering::Relaxed) + 1);
        self.tell(ToWorld::Connect {
            client,
            player,
            outbox,
        });
        client
    }

    fn submit(&self, client: ClientId, command: Command) {
        self.tell(ToWorld::Submit { client, command });
    }

    fn disconnect(&self, client: ClientId) {
        self.tell(ToWorld::Disconnect { client });
    }

    fn tick(&self, now: Duration) {
        self.tell(ToWorld::Tick { now });
    }

    fn snapshot(&self) -> Snapshot {
        self.quiesce();
        let (reply, parts) = channel::unbounded();
        self.tell(ToWorld::Snapshot { reply });
        let mut snapshot = Snapshot::default();
        let mut seats = Vec::new();
        for _ in 0..=self.shards {
            match parts.recv().expect("every actor answers a snapshot") {
                Part::World {
                    clock,
                    clients,
                    counters,
                } => {
                    snapshot.clock = clock;
                    snapshot.counters += counters;
                    for (id, player) in clients {
                        let view = ClientView { player, room: None };
                        snapshot.clients.insert(id, view);
                    }
                }
                Part::Rooms { rooms, counters } => {
                    snapshot.counters += counters;
                    for (id, view) in rooms {
                        seats.extend(view.members.iter().map(|member| (*member, id)));
                        snapshot.rooms.insert(id, view);
                    }
                }
            }
        }
        // Rooms know who sits where; a member the world no longer knows shows up as a leak.
        for (member, room) in seats {
            if let Some(client) = snapshot.clients.get_mut(&member) {
                client.room = Some(room);
            }
        }
        snapshot
    }

    fn diagnose(&self) -> Option<String> {
        let capacity = |queue: &Sender<_>| queue.capacity().unwrap_or(0);
        let mut state = format!("world queue {}/{}", self.world.len(), capacity(&self.world));
        for (index, queue) in self.room_queues.iter().enumerate() {
            let (depth, room_capacity) = (queue.len(), queue.capacity().unwrap_or(0));
            state.push_str(&format!(", room-{index} queue {depth}/{room_capacity}"));
        }
        Some(state)
    }

    fn peak_queue_depth(&self) -> Option<usize> {
        Some(self.peak.deepest.load(Ordering::Relaxed))
    }

    fn quiesce(&self) {
        let (done, finished) = channel::bounded(1);
        self.tell(ToWorld::Quiesce { done });
        finished.recv().expect("the world answers every quiesce");
    }
}

impl Drop for ActorEngine {
    fn drop(&mut self) {
        let _ = self.world.send(ToWorld::Stop);
        for thread in self.threads.drain(..) {
            // A panicked actor has already reported itself; shutting down goes on.
            let _ = thread.join();
        }
    }
}
