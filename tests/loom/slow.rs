//! Slow readers under loom (issue 14, item 3): a client `s` that has stopped reading, its
//! outbox of one event, while two events race into it from the two threads: a say of its
//! room-mate `m` (relayed by the room) against `m`'s shout, or against a tick (both broadcasts).
//! Whichever comes second meets a full outbox, and must cut `s` off as a slow consumer, never
//! wait for room. `tests/loom.rs` runs each scenario on the same engines and under the same
//! bounds as the others (`race.rs`'s runner); this runner holds the run to rules rather than to
//! listed outcomes, since what `s` holds depends only on which event came first:
//!
//! - `s` ends cut off as a slow consumer (`lockchan::verify::race::not_cut_off`, the rule the
//!   real-thread race and the shuttle and race smoke scenarios check), holding exactly the
//!   event that came first, and is gone once the race has settled;
//! - `m`, reading, is never cut, keeps the stream rules and hears in the race exactly its
//!   broadcast and `s` leaving the room (the cut reshapes the room), in either order;
//! - the settled state keeps the snapshot rules, and after `m` disconnects nothing is left
//!   behind and both outboxes have ended, `s`'s still for the slow-consumer reason;
//! - each of the two events must fill the slot in some interleaving, so that the test cannot
//!   pass without the race really racing.
//!
//! A send that waited for room instead would never return, since `s` never reads: loom then
//! finds every thread blocked (its "deadlock; threads = …") or a thread spinning without end
//! (its "exceeded maximum number of branches"), and the failure says what that means here.

use std::time::Duration;

use loom::thread;

use lockchan::invariants::{StreamCheck, check_empty};
use lockchan::verify::race::not_cut_off;
use lockchan::{
    ClientId, CloseReason, Command, Engine, EngineKind, EngineSpec, Event, OutboxReceiver, Player,
    RecvError, RoomId, outbox,
};

use crate::race::Step::{Submit, Tick};
use crate::race::{
    Step, build, explore, file_bound, race_begins, race_settled, racer_step, settled,
};

/// The stopped reader, its room-mate, and the room they share: a room of five, open for the
/// whole race (the default match timeout is 10 s), which nobody else joins.
const S: ClientId = ClientId(1);
const M: ClientId = ClientId(2);
const ROOM: RoomId = RoomId { limit: 5, seq: 1 };
/// The stopped reader's outbox: one event, so the race's second event meets it full.
const CAPACITY: usize = 1;

/// One race into the stopped reader's outbox.
pub(crate) struct SlowScenario {
    /// The spawned thread's calls.
    racer: Vec<Step>,
    /// The main thread's calls.
    main: Vec<Step>,
    /// The events that may fill `s`'s one slot, each named; every one must do so in some
    /// interleaving.
    fillers: Vec<(&'static str, Event)>,
    /// What `m` hears in the race besides `s` leaving the room, in any order.
    heard_by_m: Vec<Event>,
}

/// `m`'s say races `m`'s shout from the other thread: a relay and a broadcast.
pub(crate) fn a_relay_and_a_shout_into_a_full_outbox_cut_its_reader_off(
    _: EngineKind,
) -> SlowScenario {
    let (said, shouted) = (said(), shouted());
    SlowScenario {
        racer: vec![Submit(M, Command::Say { data: "1".into() })],
        main: vec![Submit(M, Command::Shout { text: "2".into() })],
        fillers: vec![("the say", said), ("the shout", shouted.clone())],
        heard_by_m: vec![shouted],
    }
}

/// `m`'s say races the engine's tick (its first, so it is broadcast).
pub(crate) fn a_relay_and_a_tick_into_a_full_outbox_cut_its_reader_off(
    _: EngineKind,
) -> SlowScenario {
    let now = Duration::from_secs(1);
    let tick = Event::Tick { at: now };
    SlowScenario {
        racer: vec![Submit(M, Command::Say { data: "1".into() })],
        main: vec![Tick(now)],
        fillers: vec![("the say", said()), ("the tick", tick.clone())],
        heard_by_m: vec![tick],
    }
}

impl SlowScenario {
    /// Model-checks the scenario on `spec` within the bounds of `race.rs`'s scenarios (none
    /// on the lock engine, the file's on actor/1, one preemption on actor/2). `name` is the
    /// scenario's, for the report line.
    pub(crate) fn check(self, name: &str, kind: EngineKind, shards: usize) {
        let spec = EngineSpec::new(kind, shards);
        let must_fill: Vec<&'static str> = self.fillers.iter().map(|(name, _)| *name).collect();
        let bound = if kind == EngineKind::LOCK {
            None
        } else if shards == 1 {
            Some(file_bound())
        } else {
            Some(file_bound().min(1))
        };
        let label = format!("{name}::{kind}_{shards}");
        let explored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            explore(&label, bound, move || self.run(spec))
        }));
        let seen = match explored {
            Ok(seen) => seen,
            Err(panic) => {
                let message = lockchan::verify::panic_message(panic);
                if message.contains("deadlock") || message.contains("maximum number of branches") {
                    panic!(
                        "{spec}: a thread never finished: {message}\n(a send that waits for room \
                         in the stopped reader's full outbox, instead of cutting it off, hangs \
                         like this)"
                    );
                }
                panic!("{spec}: {message}");
            }
        };
        for filler in must_fill {
            assert!(
                seen.contains_key(filler),
                "{spec}: no interleaving had {filler} fill the stopped reader's slot: {seen:?}"
            );
        }
    }

    /// One execution: sets up, races, settles and checks; returns which event filled the slot.
    fn run(&self, spec: EngineSpec) -> &'static str {
        let engine = build(spec);
        let s = Reader::connect(&**engine, "s", CAPACITY);
        let m = Reader::connect(&**engine, "m", 16);
        assert_eq!(
            (s.id, m.id),
            (S, M),
            "the scenario names clients by connection order"
        );
        // `s` reads until the race begins: its slot is free then.
        let mut s_heard = Vec::new();
        for client in [S, M] {
            engine.submit(client, Command::Join { limit: ROOM.limit });
            engine.quiesce();
            s_heard.extend(s.rx.drain());
        }
        race_begins(&**engine);
        let racer = {
            let engine = engine.clone();
            let steps = self.racer.clone();
            thread::spawn(move || steps.iter().for_each(|step| racer_step(&**engine, step)))
        };
        self.main
            .iter()
            .for_each(|step| racer_step(&**engine, step));
        racer.join().unwrap();
        race_settled(&**engine);

        let held = s.rx.drain();
        let sent = "was sent two events in the race";
        if let Some(broken) = not_cut_off(S, s.rx.close_reason(), CAPACITY, sent) {
            panic!("{broken}; it holds {held:?}");
        }
        let filler = match held.as_slice() {
            [event] => self.fillers.iter().find(|(_, filler)| filler == event),
            _ => None,
        };
        let Some(&(filler, _)) = filler else {
            panic!(
                "the stopped reader's one slot holds {held:?}, not one of {:?}",
                self.fillers
            );
        };
        s_heard.extend(held);
        let snapshot = settled(&**engine);
        assert!(
            !snapshot.clients.contains_key(&S),
            "{S} was cut off, yet still connected once the race settled: {snapshot:?}"
        );
        let m_heard = m.rx.drain();
        self.check_m(&m_heard);
        for (id, heard) in [(S, &s_heard), (M, &m_heard)] {
            let mut check = StreamCheck::new(id);
            heard.iter().for_each(|event| check.observe(event));
            assert!(check.broken.is_empty(), "{:?} in {heard:?}", check.broken);
        }

        engine.disconnect(M);
        let snapshot = engine.snapshot();
        let broken = check_empty(&snapshot);
        assert!(broken.is_empty(), "{broken:?} in {snapshot:?}");
        m.ended(CloseReason::Disconnected);
        s.ended(CloseReason::SlowConsumer);
        filler
    }

    /// What `m` heard, from its own join on: in the race, its broadcast and `s` leaving the
    /// room, once each in either order.
    fn check_m(&self, heard: &[Event]) {
        let joined = Event::Joined {
            room: ROOM,
            members: [S, M].into_iter().collect(),
        };
        let left = Event::MemberLeft {
            room: ROOM,
            client: S,
        };
        let mut expected: Vec<Event> = self.heard_by_m.iter().cloned().chain([left]).collect();
        let mut race = heard.get(1..).unwrap_or_default().to_vec();
        let key = |event: &Event| format!("{event:?}");
        expected.sort_by_key(key);
        race.sort_by_key(key);
        assert!(
            heard.first() == Some(&joined) && race == expected,
            "{M} kept reading and heard {heard:?}: not its join, then {expected:?} in any order"
        );
    }
}

/// A client of a slow-reader scenario and its outbox.
struct Reader {
    id: ClientId,
    rx: OutboxReceiver,
}

impl Reader {
    fn connect(engine: &dyn Engine, name: &str, capacity: usize) -> Reader {
        let (tx, rx) = outbox(capacity);
        let id = engine.connect(Player::new(name, name), tx);
        Reader { id, rx }
    }

    /// The outbox is drained and ended for `reason`, every sender gone.
    fn ended(&self, reason: CloseReason) {
        let rest = self.rx.drain();
        let end = self.rx.try_recv();
        assert!(
            rest.is_empty() && end == Err(RecvError::Closed(reason)),
            "{}: the outbox should have ended for {reason:?}, but held {rest:?} then {end:?}",
            self.id
        );
    }
}

fn said() -> Event {
    Event::Said {
        room: ROOM,
        from: M,
        data: "1".into(),
    }
}

fn shouted() -> Event {
    Event::Shouted {
        from: M,
        text: "2".into(),
    }
}
