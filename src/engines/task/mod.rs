//! The task engine: the [hub](crate::engines::hub)'s world and room actors as tokio tasks fed
//! by tokio mpsc channels — the original Go server's goroutines-on-channels design, written
//! the way a Rust server writes actors. A task owns its state; the engine is the handle that
//! holds the senders; a caller that must wait for an answer gets it over a `oneshot`.
//!
//! **Queues.** Commands (`submit`, and `quiesce` behind them) go into the world's bounded
//! queue: that bound is the engine's backpressure. `connect`, `disconnect` and `tick` go into
//! an unbounded control queue that the world reads first: there is one connect and one
//! disconnect per client and one tick per call of the ticker, so it stays as small as the
//! client count, and those calls never wait. The world reads a command only after every
//! control message already sent, so a client's `connect` takes effect before its commands; its
//! `disconnect` may overtake its queued commands, which then count as an unknown client's —
//! the ordering the actor engine declares too ([`DisconnectOrder::ClosesFirst`]).
//!
//! **Which calls wait.** When the world's queue is full, [`Engine::submit_async`] awaits room
//! in it without holding its thread; that is the path for a caller on a runtime (the server).
//! `submit` waits too: a plain thread blocks, a multi-thread runtime's worker hands its other
//! tasks on first (`block_in_place`), and a current-thread runtime's thread waits on a helper
//! thread. `quiesce` and `snapshot` wait for answers the same way. `connect`, `disconnect` and
//! `tick` never wait.
//!
//! **Why an async path.** Three rules could keep a full queue from blocking a runtime thread.
//! A non-blocking `submit` answering `busy` would let an engine refuse a command for load,
//! which the model has no word for: every engine's differential tests and every client would
//! have to allow it, and a client would have to retry. A queue per client in front of the
//! world moves the wait instead of removing it, and costs memory per client at the 19,000
//! clients the server holds. An awaited send keeps the world's bound as the one point of
//! backpressure, costs one boxed future per command, and puts the wait on the client whose
//! frame is being handled: its task stops reading its socket, and TCP pushes back on that
//! client alone — the Go server's read pump blocking on the hub's channel, without a thread.
//!
//! **Runtime.** Built inside a multi-thread tokio runtime (the server's), the engine spawns its
//! tasks there; anywhere else (benches, the duel, verify, a current-thread test runtime) it
//! starts a multi-thread runtime of its own with a worker per core.
//!
//! [`DisconnectOrder::ClosesFirst`]: crate::engines::engine::DisconnectOrder::ClosesFirst

mod loops;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::OutboxSender;
use crate::domain::snapshot::Snapshot;
use crate::engines::engine::Engine;
use crate::engines::hub::messages::{Part, ToRoom, ToWorld};
use crate::engines::hub::room::RoomActor;
use crate::engines::hub::world::World;
use crate::engines::hub::{Mail, QueuePeak, Reply, assemble};
use crate::sync::Arc;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::task::{
    Builder, Handle, JoinHandle, Runtime, RuntimeFlavor, TrySendError, block_in_place, mpsc,
    oneshot,
};

/// The task engine's replies: a `oneshot` for the one answer to a quiesce, an unbounded
/// channel for the parts of a snapshot.
pub(crate) struct Tasks;

impl Mail for Tasks {
    type Done = oneshot::Sender<()>;
    type Parts = mpsc::UnboundedSender<Part>;
}

impl Reply<()> for oneshot::Sender<()> {
    fn reply(self, value: ()) {
        // The asker may have given up waiting; nothing to do about it.
        let _ = self.send(value);
    }
}

impl Reply<Part> for mpsc::UnboundedSender<Part> {
    fn reply(self, value: Part) {
        let _ = self.send(value);
    }
}

/// The engine of tokio tasks fed by tokio channels.
pub struct TaskEngine {
    /// `submit` and `quiesce`: bounded.
    commands: mpsc::Sender<ToWorld<Tasks>>,
    /// `connect`, `disconnect`, `tick`, and the final `Stop`: unbounded, read first.
    control: mpsc::UnboundedSender<ToWorld<Tasks>>,
    /// The last client id handed out; `Relaxed` because only uniqueness matters.
    last_client: AtomicU64,
    shards: usize,
    /// The runtime the tasks run on, and the runtime itself when the engine started its own.
    handle: Handle,
    own_runtime: Option<Runtime>,
    tasks: Vec<JoinHandle<()>>,
    /// The rooms' queues, only to report their depth when a watchdog asks; never sent on.
    room_queues: Vec<mpsc::Sender<ToRoom<Tasks>>>,
    peak: Arc<QueuePeak>,
}

impl TaskEngine {
    pub fn new(shards: usize, config: EngineConfig) -> TaskEngine {
        let shards = shards.max(1);
        let capacity = config.queue_capacity.max(1);
        let (handle, own_runtime) = runtime();
        let (notice_tx, notice_rx) = mpsc::unbounded_channel();
        let peak = Arc::new(QueuePeak::default());
        let mut tasks = Vec::with_capacity(shards + 1);
        let mut rooms = Vec::with_capacity(shards);
        for index in 0..shards {
            let (tx, rx) = mpsc::channel(capacity);
            let actor = RoomActor::new(index, shards, &config);
            let room = loops::run_room(actor, rx, notice_tx.clone(), peak.clone());
            tasks.push(handle.spawn(room));
            rooms.push(tx);
        }
        drop(notice_tx);
        let room_queues = rooms.clone();
        let (commands, commands_rx) = mpsc::channel(capacity);
        let (control, control_rx) = mpsc::unbounded_channel();
        let world = World::new(config, shards);
        let inboxes = loops::WorldInboxes {
            control: control_rx,
            commands: commands_rx,
            notices: notice_rx,
        };
        tasks.push(handle.spawn(loops::run_world(world, inboxes, rooms, peak.clone())));
        TaskEngine {
            commands,
            control,
            last_client: AtomicU64::new(0),
            shards,
            handle,
            own_runtime,
            tasks,
            room_queues,
            peak,
        }
    }

    /// Sends a control message; never waits.
    fn control(&self, message: ToWorld<Tasks>) {
        // The world lives as long as the engine unless it panicked; then there is no engine.
        self.control
            .send(message)
            .unwrap_or_else(|_| panic!("the world task stopped: an engine task panicked"));
    }

    /// Queues a command, waiting (see the module's doc) while the world's queue is full.
    fn command(&self, message: ToWorld<Tasks>) {
        let sent = match self.commands.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(message)) => {
                let commands = self.commands.clone();
                self.wait(async move { commands.send(message).await.is_ok() })
            }
            Err(TrySendError::Closed(_)) => false,
        };
        assert!(sent, "the world task stopped: an engine task panicked");
    }

    /// Runs `future` to its end from synchronous code, wherever that code runs, without
    /// stalling the tasks of the runtime it may be on.
    fn wait<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        match Handle::try_current() {
            Err(_) => self.handle.block_on(future),
            Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => {
                block_in_place(|| current.block_on(future))
            }
            // A current-thread runtime's only thread cannot hand its tasks on; the engine's own
            // runtime (which it then has) drives the future from a helper thread.
            Ok(_) => std::thread::scope(|scope| {
                scope
                    .spawn(|| self.handle.block_on(future))
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }),
        }
    }
}

/// The runtime to spawn on: the current one if it is a multi-thread runtime, else a new one.
fn runtime() -> (Handle, Option<Runtime>) {
    if let Ok(current) = Handle::try_current()
        && current.runtime_flavor() == RuntimeFlavor::MultiThread
    {
        return (current, None);
    }
    let runtime = Builder::new_multi_thread()
        .thread_name("lockchan-task")
        .build()
        .expect("starting the task engine's runtime");
    (runtime.handle().clone(), Some(runtime))
}

impl Engine for TaskEngine {
    fn name(&self) -> String {
        format!("task/{}", self.shards)
    }

    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId {
        let client = ClientId(self.last_client.fetch_add(1, Ordering::Relaxed) + 1);
        self.control(ToWorld::Connect {
            client,
            player,
            outbox,
        });
        client
    }

    fn submit(&self, client: ClientId, command: Command) {
        self.command(ToWorld::Submit { client, command });
    }

    fn submit_async<'a>(
        &'a self,
        client: ClientId,
        command: Command,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let message = ToWorld::Submit { client, command };
            if self.commands.send(message).await.is_err() {
                panic!("the world task stopped: an engine task panicked");
            }
        })
    }

    fn disconnect(&self, client: ClientId) {
        self.control(ToWorld::Disconnect { client });
    }

    fn tick(&self, now: Duration) {
        self.control(ToWorld::Tick { now });
    }

    fn snapshot(&self) -> Snapshot {
        self.quiesce();
        let (reply, mut parts) = mpsc::unbounded_channel();
        self.command(ToWorld::Snapshot { reply });
        let actors = self.shards + 1;
        let parts = self.wait(async move {
            let mut all = Vec::with_capacity(actors);
            while all.len() < actors {
                all.push(parts.recv().await.expect("every actor answers a snapshot"));
            }
            all
        });
        assemble(parts)
    }

    fn quiesce(&self) {
        let (done, finished) = oneshot::channel();
        self.command(ToWorld::Quiesce { done });
        self.wait(finished)
            .expect("the world answers every quiesce");
    }

    fn diagnose(&self) -> Option<String> {
        let commands = &self.commands;
        let mut state = format!(
            "world queue {}/{}",
            commands.max_capacity() - commands.capacity(),
            commands.max_capacity()
        );
        for (index, queue) in self.room_queues.iter().enumerate() {
            let (depth, capacity) = (
                queue.max_capacity() - queue.capacity(),
                queue.max_capacity(),
            );
            state.push_str(&format!(", room-{index} queue {depth}/{capacity}"));
        }
        let metrics = self.handle.metrics();
        state.push_str(&format!(
            ", runtime tasks alive {}",
            metrics.num_alive_tasks()
        ));
        Some(state)
    }

    fn runtime_tasks(&self) -> Option<usize> {
        Some(self.handle.metrics().num_alive_tasks())
    }

    fn peak_queue_depth(&self) -> Option<usize> {
        Some(self.peak.deepest())
    }
}

impl Drop for TaskEngine {
    fn drop(&mut self) {
        // Stop goes on the control queue, read first: commands still queued are dropped.
        let _ = self.control.send(ToWorld::Stop);
        let tasks = std::mem::take(&mut self.tasks);
        if let Some(runtime) = self.own_runtime.take() {
            // A panicked task has already reported itself; shutting down goes on.
            self.wait(async move {
                for task in tasks {
                    let _ = task.await;
                }
            });
            match Handle::try_current() {
                // Its tasks are done: wait for its worker threads to end, so that dropping the
                // engine leaves no thread behind.
                Err(_) => runtime.shutdown_timeout(Duration::from_secs(10)),
                // Waiting for threads inside a runtime would block it: let them go.
                Ok(_) => runtime.shutdown_background(),
            }
        }
        // On a runtime it shares, the engine's tasks end by themselves once the rooms stop.
    }
}
