//! The actor engine: state owned by threads that share nothing and talk over channels.
//!
//! It is the original server's channel design on OS threads: the [hub](crate::engines::hub)'s
//! world actor and `shards` room actors, each on a thread of its own, fed by crossbeam
//! channels. A send into a full queue blocks the sending thread. Callers only send messages;
//! `quiesce` and `snapshot` wait for answers.
//!
//! A client's events may come from the world (ticks, shouts, refusals) and from its room's
//! actor; the world sends a client's commands to one room actor at a time, pipelining only
//! `Say`s and holding anything else until the room has answered, so a client's own commands
//! still take effect, and answer, in its order.

use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::Snapshot;
use crate::engines::engine::Engine;
use crate::engines::hub::messages::{Notice, Part, ToRoom, ToWorld};
use crate::engines::hub::room::RoomActor;
use crate::engines::hub::world::World;
use crate::engines::hub::{Flow, Mail, QueuePeak, Reply, assemble};
use crate::sync::Arc;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::channel::{self, Biased, Receiver, Sender, recv_biased};
use crate::sync::thread::{JoinHandle, spawn_named};

/// The actor engine's replies: crossbeam channels, with room for every reply.
struct Threads;

impl Mail for Threads {
    type Done = Sender<()>;
    type Parts = Sender<Part>;
}

impl<T: Send + 'static> Reply<T> for Sender<T> {
    fn reply(self, value: T) {
        // The asker may have given up waiting; nothing to do about it.
        let _ = self.send(value);
    }
}

/// The engine of actors fed by channels.
pub struct ActorEngine {
    world: Sender<ToWorld<Threads>>,
    /// The last client id handed out. Ids are made by the caller's thread so that `connect`
    /// answers without a round trip; `Relaxed` because only uniqueness matters.
    last_client: AtomicU64,
    shards: usize,
    threads: Vec<JoinHandle<()>>,
    /// The rooms' queues, only to report their depth when a watchdog asks; never sent on.
    room_queues: Vec<Sender<ToRoom<Threads>>>,
    peak: Arc<QueuePeak>,
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
            let actor = RoomActor::new(index, shards, &config);
            let (notices, peak) = (notice_tx.clone(), peak.clone());
            let name = format!("lockchan-room-{index}");
            threads.push(spawn_named(name, move || {
                run_room(actor, rx, notices, &peak)
            }));
            rooms.push(tx);
        }
        drop(notice_tx);
        let room_queues = rooms.clone();
        let (world_tx, world_rx) = channel::bounded(capacity);
        let world = World::new(config, shards);
        let world_peak = peak.clone();
        let name = "lockchan-world".to_owned();
        threads.push(spawn_named(name, move || {
            run_world(world, world_rx, notice_rx, &rooms, &world_peak)
        }));
        ActorEngine {
            world: world_tx,
            last_client: AtomicU64::new(0),
            shards,
            threads,
            room_queues,
            peak,
        }
    }

    fn tell(&self, message: ToWorld<Threads>) {
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
        let parts =
            (0..=self.shards).map(|_| parts.recv().expect("every actor answers a snapshot"));
        assemble(parts.collect::<Vec<_>>())
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
        Some(self.peak.deepest())
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

/// The world's thread: notices first whenever there are any, then callers' messages; what a
/// message leaves for the rooms is sent before the next, waiting while a room's queue is full.
fn run_world(
    mut world: World<Threads>,
    inbox: Receiver<ToWorld<Threads>>,
    notices: Receiver<Notice>,
    rooms: &[Sender<ToRoom<Threads>>],
    peak: &QueuePeak,
) {
    let mut deepest = 0;
    loop {
        peak.record(channel::queued(&inbox), &mut deepest);
        let flow = match recv_biased(&notices, &inbox) {
            Biased::First(notice) => {
                world.handle_notice(notice);
                Flow::Continue
            }
            Biased::Second(message) => world.handle_message(message),
            Biased::Closed => world.handle_message(ToWorld::Stop),
        };
        for (room, message) in world.outgoing() {
            // Room threads outlive the world: they stop only when it tells them to.
            let _ = rooms[room].send(message);
        }
        if flow == Flow::Stop {
            return;
        }
    }
}

/// A room's thread: one message at a time, its notices sent to the world unbounded.
fn run_room(
    mut room: RoomActor,
    inbox: Receiver<ToRoom<Threads>>,
    notices: Sender<Notice>,
    peak: &QueuePeak,
) {
    let mut deepest = 0;
    while let Ok(message) = inbox.recv() {
        peak.record(channel::queued(&inbox) + 1, &mut deepest);
        let flow = room.handle(message);
        for notice in room.notices() {
            // Fails only when the world is gone, that is, during shutdown.
            let _ = notices.send(notice);
        }
        if flow == Flow::Stop {
            return;
        }
    }
}
