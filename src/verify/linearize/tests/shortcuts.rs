//! The search's shortcuts (see the module doc's "Shortcuts") change no verdict: runs the
//! checker explains, refutes or gives up on are decided the same with and without them, on real
//! runs, on the same runs with calls swapped or moved between threads, and on runs replayed in a
//! random order.

use proptest::prelude::*;

use super::*;
/// A change to what a run recorded: most make it unexplainable, some leave it explainable.
#[derive(Clone, Debug)]
enum Change {
    /// Swap the event at this place (in all streams, one after another) with the next one.
    Swap(usize),
    /// Drop the event at this place.
    Drop(usize),
    /// Hear the event at this place twice.
    Repeat(usize),
    /// Turn the event at this place, if it is a refusal, into the other refusal of its
    /// command, or a refusal of the other command.
    Refuse(usize),
    /// Move one of the engine's counters (by index: commands, errors, unknown client,
    /// disconnects, events delivered, rooms opened, matched, timed out) by one, up or down.
    Count(usize, bool),
    /// Swap a thread's call at this place (in all threads, one after another) with its next.
    SwapCalls(usize),
    /// Move a thread's last call (by thread) to the end of the next thread.
    MoveCall(usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..200usize).prop_map(Change::Swap),
        (0..200usize).prop_map(Change::Drop),
        (0..200usize).prop_map(Change::Repeat),
        (0..200usize).prop_map(Change::Refuse),
        ((0..8usize), any::<bool>()).prop_map(|(counter, up)| Change::Count(counter, up)),
        (0..200usize).prop_map(Change::SwapCalls),
        (0..4usize).prop_map(Change::MoveCall),
    ]
}

impl Change {
    /// The run with the change made; `None` when it changes nothing.
    fn made(&self, history: &History, observed: &Observed) -> Option<(History, Observed)> {
        let mut calls = history.clone();
        match *self {
            Change::SwapCalls(at) => {
                let total: usize = calls.threads.iter().map(Vec::len).sum();
                let mut at = at % total.max(1);
                for thread in &mut calls.threads {
                    if at < thread.len() {
                        if at + 1 == thread.len() || thread[at] == thread[at + 1] {
                            return None;
                        }
                        thread.swap(at, at + 1);
                        return Some((calls, observed.clone()));
                    }
                    at -= thread.len();
                }
                return None;
            }
            Change::MoveCall(from) => {
                let count = calls.threads.len();
                let from = from % count.max(1);
                let call = calls.threads.get_mut(from)?.pop()?;
                // The ticks must stay on one thread.
                let to = (from + 1) % count;
                if matches!(call, Call::Tick(_)) || to == from {
                    return None;
                }
                calls.threads[to].push(call);
                return Some((calls, observed.clone()));
            }
            _ => {}
        }
        Some((calls, self.made_to(observed)?))
    }

    /// `observed` with the change made; `None` when it changes nothing.
    fn made_to(&self, observed: &Observed) -> Option<Observed> {
        use crate::domain::command::CommandKind;
        use crate::domain::event::ErrorCode;

        let mut changed = observed.clone();
        let total: usize = changed.streams.values().map(Vec::len).sum();
        let place = |at: usize| {
            let mut at = at % total.max(1);
            for (id, stream) in &observed.streams {
                if at < stream.len() {
                    return (*id, at);
                }
                at -= stream.len();
            }
            unreachable!("a place within the streams")
        };
        match *self {
            Change::Count(counter, up) => {
                let counters = &mut changed.race_snapshot.counters;
                let count = [
                    &mut counters.commands,
                    &mut counters.errors,
                    &mut counters.unknown_client,
                    &mut counters.disconnects,
                    &mut counters.events_delivered,
                    &mut counters.rooms_opened,
                    &mut counters.rooms_matched,
                    &mut counters.rooms_timed_out,
                ]
                .into_iter()
                .nth(counter)?;
                *count = if up {
                    *count + 1
                } else {
                    count.checked_sub(1)?
                };
                return Some(changed);
            }
            _ if total == 0 => return None,
            Change::Swap(at) | Change::Drop(at) | Change::Repeat(at) | Change::Refuse(at) => {
                let (id, at) = place(at);
                let stream = changed.streams.get_mut(&id)?;
                match self {
                    Change::Swap(_) if at + 1 < stream.len() && stream[at] != stream[at + 1] => {
                        stream.swap(at, at + 1);
                    }
                    Change::Drop(_) => {
                        stream.remove(at);
                    }
                    Change::Repeat(_) => stream.insert(at, stream[at].clone()),
                    Change::Refuse(_) => {
                        let Event::Error { code, command } = stream[at] else {
                            return None;
                        };
                        let (code, command) = match (code, command) {
                            (ErrorCode::AlreadyInRoom, CommandKind::Join) => {
                                (ErrorCode::NotInRoom, CommandKind::Leave)
                            }
                            (ErrorCode::NotInRoom, CommandKind::Leave) => {
                                (ErrorCode::AlreadyInRoom, CommandKind::Join)
                            }
                            (ErrorCode::NotInRoom, CommandKind::Say) => {
                                (ErrorCode::NotInRoom, CommandKind::Leave)
                            }
                            (code, _) => (code, CommandKind::Shout),
                        };
                        stream[at] = Event::Error { code, command };
                    }
                    _ => return None,
                }
            }
            Change::SwapCalls(_) | Change::MoveCall(_) => return None,
        }
        Some(changed)
    }
}

/// A small race scenario: two to four shared clients, a few setup calls, two or three
/// threads of one to five calls (thread 0 also ticks).
/// The `engine`th of the shortcut engines (modulo their count) at `phases` tick phases: its
/// spec, the config it was built with, and its run of `scenario`.
fn real_run(
    scenario: &crate::verify::scenario::Scenario,
    engine: usize,
    phases: u32,
) -> (EngineSpec, EngineConfig, crate::verify::scenario::Run) {
    let specs = shortcut_engines();
    let spec = specs[engine % specs.len()];
    let config = crate::verify::scenario::phased_scenario_config(phases);
    let built = std::sync::Arc::from(spec.build(config.clone()));
    (spec, config, crate::verify::scenario::run(built, scenario))
}

fn small_scenario() -> impl Strategy<Value = crate::verify::scenario::Scenario> {
    use crate::verify::scenario::{Op, Scenario, Who};

    fn op(shared: usize, ticks: bool) -> impl Strategy<Value = Op> {
        let who = prop_oneof![
            4 => (0..shared).prop_map(Who::Shared),
            1 => (0..2usize).prop_map(Who::Own),
        ];
        let tick_weight = if ticks { 2 } else { 0 };
        prop_oneof![
            1 => Just(Op::connect()),
            6 => (who.clone(), 2u8..=3).prop_map(|(who, limit)| Op::join(who, limit)),
            3 => who.clone().prop_map(Op::leave),
            2 => who.clone().prop_map(|who| Op::say(who, "")),
            2 => who.clone().prop_map(|who| Op::shout(who, "")),
            2 => who.prop_map(Op::Disconnect),
            tick_weight => (500u64..=4000).prop_map(|ms| Op::Tick(Duration::from_millis(ms))),
        ]
    }
    (2..=4usize, 2..=3usize).prop_flat_map(|(shared, threads)| {
        let who = (0..shared).prop_map(Who::Shared);
        let setup_op = prop_oneof![
            3 => (who, 2u8..=3).prop_map(|(who, limit)| Op::join(who, limit)),
            1 => (500u64..=4000).prop_map(|ms| Op::Tick(Duration::from_millis(ms))),
        ];
        let setup = prop::collection::vec(setup_op, 0..=3).prop_map(move |calls| {
            std::iter::repeat_n(Op::connect(), shared)
                .chain(calls)
                .collect::<Vec<_>>()
        });
        let threads = (0..threads)
            .map(|thread| prop::collection::vec(op(shared, thread == 0), 1..=5))
            .collect::<Vec<_>>();
        (setup, threads).prop_map(|(setup, threads)| Scenario { setup, threads })
    })
}

/// The search's verdict on `observed`, with or without its shortcuts; `None` when it gave up.
fn verdict(
    history: &History,
    observed: &Observed,
    (semantics, config): (Semantics, &EngineConfig),
    shortcuts: bool,
) -> Option<bool> {
    let mut checker = super::replay::Checker::new(history, observed, semantics, config).ok()?;
    checker.shortcuts = shortcuts;
    let budget = Budget {
        states: 300_000,
        deadline: Some(std::time::Instant::now() + Duration::from_secs(20)),
    };
    match checker.search(budget) {
        Ok(_) => Some(true),
        Err(LinearizeError::Unexplained { .. }) => Some(false),
        Err(_) => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The shortcuts (the reductions and the cuts that bound what is left) change no verdict:
    /// on runs of real engines, as recorded and with one change each, the search with them
    /// explains exactly the runs the search without them explains (where both decide).
    #[test]
    fn the_shortcuts_change_no_verdict(
        scenario in small_scenario(),
        engine in 0..4usize,
        changes in prop::collection::vec(change(), 4),
        phases in 1..=3u32,
    ) {
        let (spec, config, run) = real_run(&scenario, engine, phases);
        prop_assume!(run.problems.is_empty());
        let semantics = Semantics::of(spec);
        let variants = std::iter::once(Some((run.history.clone(), run.observed.clone())))
            .chain(changes.iter().map(|change| change.made(&run.history, &run.observed)))
            .flatten();
        for (n, (history, observed)) in variants.enumerate() {
            let with = verdict(&history, &observed, (semantics, &config), true);
            let without = verdict(&history, &observed, (semantics, &config), false);
            if n == 0 {
                prop_assert_eq!(with, Some(true), "{}: the run as recorded", spec);
            }
            if let (Some(with), Some(without)) = (with, without) {
                let change = changes.get(n.wrapping_sub(1));
                prop_assert_eq!(with, without, "{}: variant {} ({:?})", spec, n, change);
            }
        }
    }
}

/// What the model records for `history` when its racing steps (as `steps.rs` cuts them for
/// `semantics`) take effect in the order `pick` chooses among the ready ones, each
/// broadcast reaching every reachable client at once: a run an engine of those semantics
/// could produce, however interleaved.
fn simulated(
    history: &History,
    (semantics, config): (Semantics, &EngineConfig),
    mut pick: impl FnMut(usize) -> usize,
) -> Observed {
    use super::steps::{self, Part};
    use crate::engines::rooms::room_shard;
    use crate::spec::state::{Effect, ModelState, Rules, in_phase};

    struct Sim {
        state: ModelState,
        streams: BTreeMap<ClientId, Vec<Event>>,
        players: BTreeMap<ClientId, Player>,
    }
    impl Sim {
        fn step(&mut self, rules: &Rules, call: &Call, part: Part) {
            if let Call::Connect(Connected { client, player }) = call {
                self.players.insert(*client, player.clone());
                self.streams.entry(*client).or_default();
            }
            let state = &mut self.state;
            let effects = match (call, part) {
                (Call::Disconnect(client), Part::ActorClose) => {
                    state.close_early(*client);
                    return;
                }
                (Call::Tick(now), Part::LockVisit(s)) => state.tick_visit(rules, s, *now),
                (Call::Tick(_), Part::LockExpire) => state.expire_all(rules),
                (Call::Tick(now), Part::ActorWorld) => state.tick_world(rules, *now),
                (Call::Tick(now), Part::ActorRoom(s)) => state.tick_room(rules, s, *now),
                _ => state.apply(rules, call),
            };
            for effect in effects.out {
                let reachable: Vec<ClientId> =
                    state.connected().filter(|&c| !state.is_closed(c)).collect();
                let to = match effect {
                    Effect::To(to, event) => vec![(to, event)],
                    Effect::Everyone(event) => {
                        reachable.iter().map(|&to| (to, event.clone())).collect()
                    }
                    Effect::Phase { group, of, event } => reachable
                        .iter()
                        .filter(|&&to| in_phase(to, group, of))
                        .map(|&to| (to, event.clone()))
                        .collect(),
                    Effect::Gone(..) => Vec::new(),
                };
                for (to, event) in to {
                    if reachable.contains(&to) {
                        self.streams.entry(to).or_default().push(event);
                        state.count_delivered();
                    }
                }
            }
        }
    }

    let rules = Rules { config, room_shard };
    let mut sim = Sim {
        state: ModelState::new(semantics.shards),
        streams: BTreeMap::new(),
        players: BTreeMap::new(),
    };
    for call in &history.setup {
        for part in steps::parts(call, semantics) {
            sim.step(&rules, call, part);
        }
    }
    let cut = steps::cut(history, semantics);
    let mut done = vec![false; cut.len()];
    loop {
        let ready: Vec<usize> = (0..cut.len())
            .filter(|&id| !done[id] && cut[id].after.iter().all(|&a| done[a]))
            .collect();
        if ready.is_empty() {
            break;
        }
        let id = ready[pick(ready.len())];
        done[id] = true;
        sim.step(&rules, cut[id].call(history), cut[id].part);
    }
    let players = sim.players.clone();
    let player = |id| {
        players
            .get(&id)
            .cloned()
            .unwrap_or_else(|| Player::new("?", "?"))
    };
    let race_snapshot = sim.state.snapshot(player);
    let closed_after_race = sim
        .players
        .keys()
        .copied()
        .filter(|&id| !sim.state.is_connected(id) || sim.state.is_closed(id))
        .collect();
    for call in &history.teardown {
        for part in steps::parts(call, semantics) {
            sim.step(&rules, call, part);
        }
    }
    Observed {
        streams: sim.streams,
        race_snapshot,
        closed_after_race,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// As `the_shortcuts_change_no_verdict`, on runs interleaved far more than real threads
    /// interleave a short scenario: the recorded history's racing steps replayed on the model
    /// in a random order.
    #[test]
    fn the_shortcuts_change_no_verdict_on_interleaved_runs(
        scenario in small_scenario(),
        engine in 0..4usize,
        seed in any::<u64>(),
        changes in prop::collection::vec(change(), 4),
        phases in 1..=3u32,
    ) {
        let (spec, config, run) = real_run(&scenario, engine, phases);
        prop_assume!(run.problems.is_empty());
        let semantics = Semantics::of(spec);
        let mut random = seed | 1;
        let observed = simulated(&run.history, (semantics, &config), |n| {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            (random % n as u64) as usize
        });
        let variants = std::iter::once(Some((run.history.clone(), observed.clone())))
            .chain(changes.iter().map(|change| change.made(&run.history, &observed)))
            .flatten();
        for (n, (history, observed)) in variants.enumerate() {
            let with = verdict(&history, &observed, (semantics, &config), true);
            let without = verdict(&history, &observed, (semantics, &config), false);
            if let (Some(with), Some(without)) = (with, without) {
                let change = changes.get(n.wrapping_sub(1));
                prop_assert_eq!(with, without, "{}: variant {} ({:?})", spec, n, change);
            }
        }
    }
}
