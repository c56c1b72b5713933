//! The floor: a bare broadcast server, `lockchan serve --floor`, the first contender of
//! `duel --e2e`. It answers how much of a latency or of the CPU per frame is WebSocket fan-out
//! on this machine, and how much is the engine and matchmaking on top of it.
//!
//! [`Floor`] plugs into the server where an engine does, behind the `Engine` trait, so the
//! floor runs the server's own code for everything but the engine: the listener and upgrade,
//! tungstenite's settings, the rate limit, the fan-out budget, each client's bounded outbox with
//! its doorbell and slow-consumer rule, the connection task, the encoding of frames, the clock
//! task and the admin port. What it leaves out is the engine: no rooms, no matchmaking, no queue,
//! no actor. It is never in the registry (`ENGINES`), so nothing verifies, benches or gates it;
//! it does not keep the model's contract and does not pretend to.
//!
//! What it does with each message (docs/LOAD.md says which e2e figures this makes comparable):
//!
//! - `shout`: the frame the server encoded once goes into every connected client's outbox, the
//!   sender's included, as an engine's `Shouted` does.
//! - the tick: once per tick period (1 s), `tick` goes into each outbox at its client's tick
//!   phase (`EngineConfig::tick_phases`, the same schedule as the engines', `domain/phase.rs`),
//!   as an engine's does.
//! - `say`: the frame goes to the sender's *would-be room partners*: the clients whose ids fall
//!   in the sender's block of `limit` consecutive ids (ids count from 1 in connection order), the
//!   sender left out. A say costs the floor the deliveries it costs an engine in a full room,
//!   with no room to find.
//! - `join`: `joined` and `matched` at once, to the joiner only, naming its block as the room;
//!   `leave`: `left`, to the leaver only. No `member_joined` or `member_left`, no match timeout.
//! - a bad limit, a second join, a leave or say without a join, an oversized payload: the
//!   engines' error event, so a broken client sees the same refusals.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::server::ServedEngine;
use crate::domain::phase::{TickSchedule, phase_group};
use crate::{
    ClientId, ClientView, CloseReason, Command, Engine, EngineConfig, ErrorCode, Event,
    MAX_ROOM_LIMIT, MIN_ROOM_LIMIT, OutboxSender, Player, PushError, RoomId, Snapshot,
};

/// The floor's name: in its welcome frame, its admin stats and the e2e table.
pub const FLOOR_NAME: &str = "floor";

/// The server `lockchan serve --floor` runs: the floor in place of an engine.
pub fn served(config: EngineConfig) -> ServedEngine {
    ServedEngine {
        engine: Arc::new(Floor::new(config)),
        name: FLOOR_NAME.to_owned(),
        reason: "--floor: a bare broadcast server with no engine (the e2e duel's floor)".to_owned(),
        stale_gate: None,
    }
}

/// Every connected client's outbox, and the clock. See the module doc for what each command
/// does.
pub struct Floor {
    /// Every connected client by id. An `RwLock`, not a mutex, because every fan-out (shout,
    /// say, tick) only reads it, and two fan-outs may then run at once on two cores; only
    /// `connect` and `disconnect` write. Held while pushing into outboxes, which never waits (a
    /// full outbox is closed, not waited on), and never across an await.
    clients: RwLock<HashMap<ClientId, Client>>,
    /// The last id given. `Relaxed`: an id only has to be unique, and the map's lock orders
    /// everything that reads it.
    last_id: AtomicU64,
    /// The time as `tick` was last told, and each tick phase group's next due slot. A mutex
    /// because only the server's clock task calls `tick`, one call at a time; never held while
    /// delivering.
    clock: Mutex<Clock>,
    /// The largest `say` or `shout` frame, as the engines check it.
    max_message_bytes: usize,
}

struct Clock {
    now: Duration,
    ticks: TickSchedule,
}

struct Client {
    player: Player,
    outbox: OutboxSender,
    /// The limit of the client's standing `join`, 0 when it has none. Atomic so that `join`
    /// and `leave` need only the read lock. `Relaxed`: only the client's own commands read or
    /// write it, and the server submits them one at a time from the client's task.
    limit: AtomicU8,
}

impl Floor {
    pub fn new(config: EngineConfig) -> Floor {
        Floor {
            clients: RwLock::new(HashMap::new()),
            last_id: AtomicU64::new(0),
            clock: Mutex::new(Clock {
                now: Duration::ZERO,
                ticks: TickSchedule::new(&config),
            }),
            max_message_bytes: config.max_message_bytes,
        }
    }
}

/// The block of `limit` consecutive ids that holds `client`, as a room id (`seq` counting from
/// 1) and the ids in it.
fn block(client: ClientId, limit: u8) -> (RoomId, std::ops::Range<u64>) {
    let size = u64::from(limit.max(1));
    let index = client.0.saturating_sub(1) / size;
    let first = index * size + 1;
    let room = RoomId {
        limit,
        seq: index + 1,
    };
    (room, first..first.saturating_add(size))
}

/// Queues `event`; a full outbox is closed as a slow consumer, which the server's connection
/// task sees and ends the client with close 1008, as it does for an engine's cut.
fn push(outbox: &OutboxSender, event: Event) {
    if let Err(PushError::Full) = outbox.try_push(event) {
        outbox.close(CloseReason::SlowConsumer);
    }
}

impl Engine for Floor {
    fn name(&self) -> String {
        FLOOR_NAME.to_owned()
    }

    fn connect(&self, player: Player, outbox: OutboxSender) -> ClientId {
        let id = ClientId(self.last_id.fetch_add(1, Ordering::Relaxed) + 1);
        let client = Client {
            player,
            outbox,
            limit: AtomicU8::new(0),
        };
        self.clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, client);
        id
    }

    fn submit(&self, client: ClientId, command: Command) {
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        let Some(me) = clients.get(&client) else {
            return;
        };
        let kind = command.kind();
        let refuse = |code| {
            push(
                &me.outbox,
                Event::Error {
                    code,
                    command: kind,
                },
            )
        };
        match command {
            Command::Join { limit } => {
                if !(MIN_ROOM_LIMIT..=MAX_ROOM_LIMIT).contains(&limit) {
                    return refuse(ErrorCode::InvalidLimit);
                }
                let joined =
                    me.limit
                        .compare_exchange(0, limit, Ordering::Relaxed, Ordering::Relaxed);
                if joined.is_err() {
                    return refuse(ErrorCode::AlreadyInRoom);
                }
                let (room, ids) = block(client, limit);
                let members: Arc<[ClientId]> = ids
                    .map(ClientId)
                    .filter(|id| clients.contains_key(id))
                    .collect();
                push(
                    &me.outbox,
                    Event::Joined {
                        room,
                        members: members.clone(),
                    },
                );
                push(&me.outbox, Event::Matched { room, members });
            }
            Command::Leave => match me.limit.swap(0, Ordering::Relaxed) {
                0 => refuse(ErrorCode::NotInRoom),
                limit => push(
                    &me.outbox,
                    Event::Left {
                        room: block(client, limit).0,
                    },
                ),
            },
            Command::Say { data } => {
                if data.len() > self.max_message_bytes {
                    return refuse(ErrorCode::MessageTooLarge);
                }
                let limit = me.limit.load(Ordering::Relaxed);
                if limit == 0 {
                    return refuse(ErrorCode::NotInRoom);
                }
                let (room, ids) = block(client, limit);
                let said = Event::Said {
                    room,
                    from: client,
                    data,
                };
                for id in ids.map(ClientId).filter(|id| *id != client) {
                    if let Some(partner) = clients.get(&id) {
                        push(&partner.outbox, said.clone());
                    }
                }
            }
            Command::Shout { text } => {
                if text.len() > self.max_message_bytes {
                    return refuse(ErrorCode::MessageTooLarge);
                }
                let shouted = Event::Shouted { from: client, text };
                for everyone in clients.values() {
                    push(&everyone.outbox, shouted.clone());
                }
            }
        }
    }

    fn disconnect(&self, client: ClientId) {
        let removed = self
            .clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&client);
        if let Some(gone) = removed {
            gone.outbox.close(CloseReason::Disconnected);
        }
    }

    fn tick(&self, now: Duration) {
        let (at, groups, due) = {
            let mut clock = self.clock.lock().unwrap_or_else(PoisonError::into_inner);
            clock.now = clock.now.max(now);
            let at = clock.now;
            (at, clock.ticks.groups(), clock.ticks.due(at))
        };
        if due.is_empty() {
            return;
        }
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        for (&id, client) in clients.iter() {
            if due.contains(&phase_group(id, groups)) {
                push(&client.outbox, Event::Tick { at });
            }
        }
    }

    /// The clients, seated nowhere, and no room: the floor keeps none, so the admin port
    /// shows none and the e2e duel's baseline check finds none left.
    fn snapshot(&self) -> Snapshot {
        let clock = self
            .clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .now;
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        Snapshot {
            clock,
            clients: clients
                .iter()
                .map(|(id, client)| {
                    let view = ClientView {
                        player: client.player.clone(),
                        room: None,
                    };
                    (*id, view)
                })
                .collect(),
            ..Snapshot::default()
        }
    }

    fn quiesce(&self) {
        // Every call has done all its work when it returns.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OutboxReceiver, RecvError, outbox};

    fn connected(floor: &Floor, n: usize, capacity: usize) -> Vec<(ClientId, OutboxReceiver)> {
        (0..n)
            .map(|i| {
                let (tx, rx) = outbox(capacity);
                (floor.connect(Player::new(format!("p{i}"), "n"), tx), rx)
            })
            .collect()
    }

    fn drain(rx: &OutboxReceiver) -> Vec<Event> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn a_shout_and_a_tick_reach_every_client_once() {
        let floor = Floor::new(EngineConfig::default());
        let clients = connected(&floor, 5, 16);
        let text: Arc<str> = Arc::from("{\"type\":\"shouted\"}");
        let from = clients[2].0;
        floor.submit(from, Command::Shout { text: text.clone() });
        floor.tick(Duration::from_millis(10));
        // Not due again until the next whole period.
        floor.tick(Duration::from_millis(500));
        for (_, rx) in &clients {
            let expected = [
                Event::Shouted {
                    from,
                    text: text.clone(),
                },
                Event::Tick {
                    at: Duration::from_millis(10),
                },
            ];
            assert_eq!(drain(rx), expected);
        }
        floor.tick(Duration::from_millis(1010));
        for (_, rx) in &clients {
            let tick = Event::Tick {
                at: Duration::from_millis(1010),
            };
            assert_eq!(drain(rx), [tick]);
        }
    }

    #[test]
    fn ticks_are_spread_over_the_period_as_an_engines_are() {
        let floor = Floor::new(EngineConfig {
            tick_phases: 3,
            ..EngineConfig::default()
        });
        // Clients 1, 2, 3 in groups 1 (333 ms), 2 (666 ms) and 0 (0 ms).
        let clients = connected(&floor, 3, 16);
        for ms in [0, 400, 700, 1000, 1300] {
            floor.tick(Duration::from_millis(ms));
        }
        let at = |ms| Event::Tick {
            at: Duration::from_millis(ms),
        };
        let heard: Vec<Vec<Event>> = clients.iter().map(|(_, rx)| drain(rx)).collect();
        assert_eq!(heard, [vec![at(400)], vec![at(700)], vec![at(0), at(1000)]]);
    }

    #[test]
    fn a_say_reaches_the_senders_block_of_ids_and_no_one_else() {
        let floor = Floor::new(EngineConfig::default());
        let clients = connected(&floor, 6, 16);
        let ids: Vec<ClientId> = clients.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids[0], ClientId(1));
        floor.submit(ids[1], Command::Join { limit: 4 });
        let room = RoomId { limit: 4, seq: 1 };
        let members: Arc<[ClientId]> = ids[..4].into();
        assert_eq!(
            drain(&clients[1].1),
            [
                Event::Joined {
                    room,
                    members: members.clone()
                },
                Event::Matched { room, members }
            ]
        );
        let data: Arc<str> = Arc::from("said");
        floor.submit(ids[1], Command::Say { data: data.clone() });
        for (i, (_, rx)) in clients.iter().enumerate() {
            let expected = match i {
                0 | 2 | 3 => vec![Event::Said {
                    room,
                    from: ids[1],
                    data: data.clone(),
                }],
                _ => vec![],
            };
            assert_eq!(drain(rx), expected, "client {i}");
        }
        floor.submit(ids[1], Command::Leave);
        assert_eq!(drain(&clients[1].1), [Event::Left { room }]);
    }

    #[test]
    fn refusals_are_the_engines_error_events() {
        let config = EngineConfig {
            max_message_bytes: 8,
            ..EngineConfig::default()
        };
        let floor = Floor::new(config);
        let clients = connected(&floor, 1, 16);
        let (me, rx) = &clients[0];
        let commands = [
            (Command::Join { limit: 1 }, ErrorCode::InvalidLimit),
            (Command::Leave, ErrorCode::NotInRoom),
            (Command::Say { data: "x".into() }, ErrorCode::NotInRoom),
            (
                Command::Shout {
                    text: "too long for eight".into(),
                },
                ErrorCode::MessageTooLarge,
            ),
        ];
        for (command, code) in commands {
            let kind = command.kind();
            floor.submit(*me, command);
            assert_eq!(
                drain(rx),
                [Event::Error {
                    code,
                    command: kind
                }]
            );
        }
        floor.submit(*me, Command::Join { limit: 2 });
        drain(rx);
        floor.submit(*me, Command::Join { limit: 2 });
        let again = Event::Error {
            code: ErrorCode::AlreadyInRoom,
            command: crate::CommandKind::Join,
        };
        assert_eq!(drain(rx), [again]);
    }

    #[test]
    fn a_full_outbox_is_cut_as_a_slow_consumer_and_a_disconnect_closes() {
        let floor = Floor::new(EngineConfig::default());
        let clients = connected(&floor, 2, 2);
        for _ in 0..3 {
            floor.submit(clients[0].0, Command::Shout { text: "s".into() });
        }
        for (_, rx) in &clients {
            assert_eq!(drain(rx).len(), 2);
            assert_eq!(rx.close_reason(), Some(CloseReason::SlowConsumer));
        }
        floor.disconnect(clients[0].0);
        floor.disconnect(clients[1].0);
        assert!(floor.snapshot().clients.is_empty());
        assert!(matches!(
            clients[0].1.try_recv(),
            Err(RecvError::Closed(CloseReason::SlowConsumer))
        ));
    }
}
