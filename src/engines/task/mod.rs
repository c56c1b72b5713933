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
//! starts a multi-thread runtime of its own with a worker per core. That decision, and how a
//! synchronous caller waits, are `crate::sync::task::TaskRuntime`'s: under shuttle
//! (`--cfg lockchan_shuttle`) the same code runs on shuttle-tokio, its tasks scheduled by
//! shuttle, and a caller waits by blocking its shuttle thread.
//!
//! **Seeded bugs** (feature `seeded-bugs`, [`crate::seeded`]): a lock guard held across an
//! `.await` and a cycle of bounded channels (in `loops.rs`), a quiesce answer never sent
//! ([`Answer`]), and a full client outbox awaited instead of cut off (the world holds the
//! delivery; its loop awaits room).
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
use crate::engines::hub::messages::{Notice, Part, ToRoom, ToWorld};
use crate::engines::hub::room::RoomActor;
use crate::engines::hub::world::World;
use crate::engines::hub::{Mail, QueuePeak, Reply, assemble};
use crate::seeded::SeededBug;
use crate::sync::Arc;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::task::{AsyncMutex, JoinHandle, TaskRuntime, TrySendError, mpsc, oneshot};

/// The task engine's replies: a `oneshot` for the one answer to a quiesce, an unbounded
/// channel for the parts of a snapshot.
pub(crate) struct Tasks;

impl Mail for Tasks {
    type Done = Answer;
    type Parts = mpsc::UnboundedSender<Part>;
}

/// The answer to a quiesce: a `oneshot` the world sends on once the round is over.
pub(crate) struct Answer {
    done: oneshot::Sender<()>,
    /// Seeded `dropped_quiesce_reply`.
    dropped: bool,
}

impl Reply<()> for Answer {
    fn reply(self, value: ()) {
        if self.dropped {
            // The mistake: the answer is put aside and never sent, while its sender lives on
            // (as one kept in a list that nobody drains would): the asker's `oneshot` neither
            // resolves nor closes, and the asker waits forever.
            std::mem::forget(self.done);
            return;
        }
        // The asker may have given up waiting; nothing to do about it.
        let _ = self.done.send(value);
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
    /// Where the tasks run (see the module's doc).
    runtime: TaskRuntime,
    tasks: Vec<JoinHandle<()>>,
    /// The rooms' queues, only to report their depth when a watchdog asks; never sent on.
    room_queues: Vec<mpsc::Sender<ToRoom<Tasks>>>,
    /// The notice queue when it is bounded (seeded `bounded_notice_cycle`), likewise.
    notice_queue: Option<mpsc::Sender<Notice>>,
    peak: Arc<QueuePeak>,
    /// Seeded `dropped_quiesce_reply`: every quiesce's answer is dropped.
    drops_answers: bool,
}

impl TaskEngine {
    pub fn new(shards: usize, config: EngineConfig) -> TaskEngine {
        let shards = shards.max(1);
        let capacity = config.queue_capacity.max(1);
        let seeded = config.seeded;
        let runtime = TaskRuntime::start("lockchan-task");
        let (notice_tx, notice_rx) = if seeded.has(SeededBug::BoundedNoticeCycle) {
            // The mistake: notices get a bounded queue, which rooms await, of one slot ("a room
            // answers each message with one notice, and the world reads notices first").
            loops::notices(Some(1))
        } else {
            loops::notices(None)
        };
        let notice_queue = notice_tx.bounded();
        // Seeded `lock_across_await`: a ledger the world and the rooms share behind an async
        // mutex (see `loops::Ledger`).
        let ledger = seeded
            .has(SeededBug::LockAcrossAwait)
            .then(|| Arc::new(AsyncMutex::new(0)));
        let peak = Arc::new(QueuePeak::default());
        let mut tasks = Vec::with_capacity(shards + 1);
        let mut rooms = Vec::with_capacity(shards);
        for index in 0..shards {
            let (tx, rx) = mpsc::channel(capacity);
            let actor = RoomActor::new(index, shards, &config);
            let inbox = loops::RoomInbox {
                messages: rx,
                ledger: ledger.clone(),
            };
            let room = loops::run_room(actor, inbox, notice_tx.clone(), peak.clone());
            tasks.push(runtime.spawn(room));
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
        let outlets = loops::WorldOutlets { rooms, ledger };
        tasks.push(runtime.spawn(loops::run_world(world, inboxes, outlets, peak.clone())));
        TaskEngine {
            commands,
            control,
            last_client: AtomicU64::new(0),
            shards,
            runtime,
            tasks,
            room_queues,
            notice_queue,
            peak,
            drops_answers: seeded.has(SeededBug::DroppedQuiesceReply),
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
    /// stalling the tasks of the runtime it may be on (`TaskRuntime::wait`).
    fn wait<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        self.runtime.wait(future)
    }
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
        let done = Answer {
            done,
            dropped: self.drops_answers,
        };
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
        if let Some(queue) = &self.notice_queue {
            let (depth, capacity) = (
                queue.max_capacity() - queue.capacity(),
                queue.max_capacity(),
            );
            state.push_str(&format!(", notice queue {depth}/{capacity}"));
        }
        if let Some(alive) = self.runtime.alive_tasks() {
            state.push_str(&format!(", runtime tasks alive {alive}"));
        }
        Some(state)
    }

    fn runtime_tasks(&self) -> Option<usize> {
        self.runtime.alive_tasks()
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
        self.runtime.shut_down(tasks);
    }
}
