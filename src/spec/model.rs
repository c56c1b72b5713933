//! The sequential reference model: the executable specification of the engine.
//!
//! For any sequence of calls made one at a time, every engine must deliver exactly the events
//! this model delivers, in the same order per client, and end in an equal [`Snapshot`]. The
//! rules themselves are [`ModelState`]'s (`spec/state.rs`, listed in its module doc); `Model`
//! adds what a value cannot hold: each client's player and real outbox, the ids it hands out,
//! and the slow-consumer cuts a full outbox causes.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::event::Event;
use crate::domain::ids::{ClientId, Player};
use crate::domain::outbox::{CloseReason, OutboxSender, PushError};
use crate::domain::snapshot::Snapshot;
use crate::spec::call::{Call, Connected};
use crate::spec::state::{Effect, Effects, ModelState, Rules, in_phase};

/// The reference model. Same calls as an [`Engine`](crate::Engine), by `&mut self`.
pub struct Model {
    config: EngineConfig,
    state: ModelState,
    /// Each connected client's player and outbox, which the state does not hold.
    clients: BTreeMap<ClientId, ModelClient>,
    last_client: u64,
}

struct ModelClient {
    player: Player,
    outbox: OutboxSender,
}

/// The model is not split: every room of every limit lives in its one shard.
fn one_shard(_limit: u8, _shards: usize) -> usize {
    0
}

impl Model {
    pub fn new(config: EngineConfig) -> Model {
        Model {
            config,
            state: ModelState::new(1),
            clients: BTreeMap::new(),
            last_client: 0,
        }
    }

    pub fn connect(&mut self, player: Player, outbox: OutboxSender) -> ClientId {
        self.last_client += 1;
        let client = ClientId(self.last_client);
        let connected = Connected {
            client,
            player: player.clone(),
        };
        self.clients.insert(client, ModelClient { player, outbox });
        self.call(&Call::Connect(connected));
        client
    }

    pub fn submit(&mut self, client: ClientId, command: Command) {
        self.call(&Call::Submit(client, command));
    }

    pub fn disconnect(&mut self, client: ClientId) {
        self.call(&Call::Disconnect(client));
    }

    pub fn tick(&mut self, now: Duration) {
        self.call(&Call::Tick(now));
    }

    pub fn snapshot(&self) -> Snapshot {
        self.state.snapshot(|id| {
            self.clients
                .get(&id)
                .map(|client| client.player.clone())
                .expect("the state and the model hold the same clients")
        })
    }

    /// Applies `call`, delivers what it sends, then cuts the slow consumers it made, lowest
    /// client id first, delivering what each cut sends in turn.
    fn call(&mut self, call: &Call) {
        let rules = Rules {
            config: &self.config,
            room_shard: one_shard,
        };
        let effects = self.state.apply(&rules, call);
        self.deliver(effects);
        while let Some(effects) = self.state.next_cut() {
            self.deliver(effects);
        }
    }

    fn deliver(&mut self, effects: Effects) {
        crate::work::burn(effects.work);
        for effect in effects.out {
            match effect {
                Effect::To(to, event) => self.push(to, event),
                Effect::Everyone(event) => {
                    let everyone: Vec<ClientId> = self.clients.keys().copied().collect();
                    for to in everyone {
                        self.push(to, event.clone());
                    }
                }
                Effect::Phase { group, of, event } => {
                    let group: Vec<ClientId> = self
                        .clients
                        .keys()
                        .copied()
                        .filter(|&c| in_phase(c, group, of))
                        .collect();
                    for to in group {
                        self.push(to, event.clone());
                    }
                }
                Effect::Gone(client, reason) => {
                    if let Some(gone) = self.clients.remove(&client) {
                        gone.outbox.close(reason);
                    }
                }
            }
        }
    }

    /// Pushes one event; a full outbox closes at once, and its client is cut when the call is
    /// done.
    fn push(&mut self, to: ClientId, event: Event) {
        let Some(client) = self.clients.get(&to) else {
            return;
        };
        match client.outbox.try_push(event) {
            Ok(()) => self.state.count_delivered(),
            Err(PushError::Full) => {
                if client.outbox.close(CloseReason::SlowConsumer) {
                    self.state.cut(to);
                }
            }
            Err(PushError::Closed) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::RoomId;
    use crate::domain::outbox::outbox;

    fn connect(model: &mut Model) -> (ClientId, crate::OutboxReceiver) {
        let (tx, rx) = outbox(4);
        (model.connect(Player::new("p", "n"), tx), rx)
    }

    #[test]
    fn the_first_tick_is_sent_and_the_next_waits_a_period() {
        let mut model = Model::new(EngineConfig::default());
        let (_, rx) = connect(&mut model);
        model.tick(Duration::from_millis(100));
        model.tick(Duration::from_millis(900));
        model.tick(Duration::from_millis(1100));
        let ticks: Vec<_> = rx.drain();
        let at = |ms| Event::Tick {
            at: Duration::from_millis(ms),
        };
        assert_eq!(ticks, vec![at(100), at(1100)]);
    }

    #[test]
    fn the_clock_never_goes_back() {
        let mut model = Model::new(EngineConfig::default());
        model.tick(Duration::from_secs(5));
        model.tick(Duration::from_secs(3));
        assert_eq!(model.snapshot().clock, Duration::from_secs(5));
    }

    #[test]
    fn a_slow_consumer_is_removed_after_the_call_with_its_room_told() {
        let mut model = Model::new(EngineConfig::default());
        let (slow, slow_rx) = connect(&mut model);
        let (fast, fast_rx) = connect(&mut model);
        model.submit(slow, Command::Join { limit: 3 });
        model.submit(fast, Command::Join { limit: 3 });
        // slow holds Joined and MemberJoined; two shouts fill it and the third cuts it.
        for _ in 0..3 {
            model.submit(fast, Command::Shout { text: "x".into() });
            fast_rx.drain();
        }
        assert_eq!(
            slow_rx.close_reason(),
            Some(CloseReason::SlowConsumer),
            "{:?}",
            slow_rx.drain()
        );
        let snapshot = model.snapshot();
        assert!(!snapshot.clients.contains_key(&slow));
        assert_eq!(snapshot.counters.slow_consumer_cuts, 1);
        let room = RoomId { limit: 3, seq: 1 };
        assert_eq!(snapshot.rooms[&room].members, vec![fast]);
    }
}
