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

    /// A model with `phases` tick phases and `clients` clients (ids 1, 2, ...), each with
    /// room for every tick a test sends.
    fn phased(phases: u32, clients: usize) -> (Model, Vec<crate::OutboxReceiver>) {
        let mut model = Model::new(EngineConfig {
            tick_phases: phases,
            ..EngineConfig::default()
        });
        let rxs = (0..clients)
            .map(|_| {
                let (tx, rx) = outbox(256);
                model.connect(Player::new("p", "n"), tx);
                rx
            })
            .collect();
        (model, rxs)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The `at` of every `Tick` in `rx`, in ms.
    fn ticks(rx: &crate::OutboxReceiver) -> Vec<u128> {
        rx.drain()
            .into_iter()
            .filter_map(|event| match event {
                Event::Tick { at } => Some(at.as_millis()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_phase_group_ticks_at_its_offset() {
        // Four groups: client 4 in group 0 (at 0 ms), 1 in 1 (250), 2 in 2 (500), 3 in 3 (750).
        let (mut model, rxs) = phased(4, 4);
        for t in [0, 100, 250, 600, 750, 1000, 1249, 1250] {
            model.tick(ms(t));
        }
        let heard: Vec<Vec<u128>> = rxs.iter().map(ticks).collect();
        assert_eq!(
            heard,
            [vec![250, 1250], vec![600], vec![750], vec![0, 1000]]
        );
    }

    #[test]
    fn each_client_hears_one_tick_a_period() {
        let (mut model, rxs) = phased(3, 7);
        for t in (0..3000).step_by(40) {
            model.tick(ms(t));
        }
        for (i, rx) in rxs.iter().enumerate() {
            let heard = ticks(rx);
            // Client i + 1, in group (i + 1) % 3: its ticks at the first call on or after its
            // offset of 0, 333 or 666 ms, one each period.
            let offset: u128 = [0, 333, 666][(i + 1) % 3];
            let first = offset.div_ceil(40) * 40;
            let want: Vec<u128> = (0..3).map(|k| first + k * 1000).collect();
            assert_eq!(heard, want, "client {}", i + 1);
        }
    }

    #[test]
    fn one_phase_ticks_everyone_at_once_on_whole_periods_and_zero_counts_as_one() {
        for phases in [0, 1] {
            let (mut model, rxs) = phased(phases, 3);
            for t in [100, 900, 1100, 1500, 2000, 2999, 3000] {
                model.tick(ms(t));
            }
            // Anchored on whole periods: 2000 ms is due though only 900 ms after 1100.
            for rx in &rxs {
                assert_eq!(ticks(rx), [100, 1100, 2000, 3000], "{phases} phases");
            }
        }
    }

    #[test]
    fn more_phases_than_clients_leave_some_groups_empty() {
        let (mut model, rxs) = phased(5, 2);
        for t in [0, 200, 400, 600, 800, 1000, 1200] {
            model.tick(ms(t));
        }
        // Client 1 in group 1 (200 ms), client 2 in group 2 (400 ms); groups 0, 3, 4 empty.
        assert_eq!(ticks(&rxs[0]), [200, 1200]);
        assert_eq!(ticks(&rxs[1]), [400]);
    }

    #[test]
    fn a_clock_told_an_earlier_time_ticks_nobody_again() {
        let (mut model, rxs) = phased(2, 2);
        // Both groups' first slots (0 and 500 ms) have come by 700 ms.
        for t in [700, 300, 1000, 600, 1499, 1500] {
            model.tick(ms(t));
        }
        // Client 1 in group 1 (500 ms), client 2 in group 0 (0 ms).
        assert_eq!(ticks(&rxs[0]), [700, 1500]);
        assert_eq!(ticks(&rxs[1]), [700, 1000]);
        assert_eq!(model.snapshot().clock, ms(1500));
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
