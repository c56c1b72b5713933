//! Hand-written scenarios, one rule each, run on every engine: the exact events of matching,
//! leaving, timing out and disconnecting, and every refusal leaving the state untouched.

mod common;

use std::time::Duration;

use common::Client;
use lockchan::{
    CloseReason, Command, CommandKind, Engine, EngineConfig, EngineSpec, ErrorCode, Event,
    RecvError, RoomId,
};

fn engine(spec: EngineSpec) -> Box<dyn Engine> {
    let config = EngineConfig {
        max_message_bytes: 8,
        ..EngineConfig::default()
    };
    spec.build(config)
}

fn say(text: &str) -> Command {
    Command::Say { data: text.into() }
}

fn refused(code: ErrorCode, command: CommandKind) -> Vec<Event> {
    vec![Event::Error { code, command }]
}

fn the_last_seat_matches_the_room(spec: EngineSpec) {
    let engine = engine(spec);
    let (a, b) = (
        Client::connect(&*engine, "a", 16),
        Client::connect(&*engine, "b", 16),
    );
    engine.submit(a.id, Command::Join { limit: 2 });
    engine.submit(b.id, Command::Join { limit: 2 });
    let room = RoomId { limit: 2, seq: 1 };
    let members: std::sync::Arc<[_]> = vec![a.id, b.id].into();
    let matched = Event::Matched {
        room,
        members: members.clone(),
    };
    let a_joined = Event::Joined {
        room,
        members: vec![a.id].into(),
    };
    let b_joined = Event::MemberJoined { room, client: b.id };
    assert_eq!(
        a.events(&*engine),
        vec![a_joined, b_joined, matched.clone()]
    );
    let joined = Event::Joined { room, members };
    assert_eq!(b.events(&*engine), vec![joined, matched]);
    let snapshot = engine.snapshot();
    assert!(snapshot.rooms[&room].matched);
    assert_eq!(snapshot.counters.rooms_matched, 1);
}

fn say_reaches_the_others_in_the_room_only(spec: EngineSpec) {
    let engine = engine(spec);
    let clients: Vec<_> = (0..3)
        .map(|n| Client::connect(&*engine, &n.to_string(), 16))
        .collect();
    for client in &clients[..2] {
        engine.submit(client.id, Command::Join { limit: 3 });
    }
    clients.iter().for_each(|c| drop(c.events(&*engine)));
    engine.submit(clients[0].id, say("hi"));
    assert_eq!(clients[0].events(&*engine), vec![]);
    let said = Event::Said {
        room: RoomId { limit: 3, seq: 1 },
        from: clients[0].id,
        data: "hi".into(),
    };
    assert_eq!(clients[1].events(&*engine), vec![said]);
    assert_eq!(clients[2].events(&*engine), vec![]);
}

fn leaving_a_matched_room_tells_the_others_and_the_last_removes_it(spec: EngineSpec) {
    let engine = engine(spec);
    let (a, b) = (
        Client::connect(&*engine, "a", 16),
        Client::connect(&*engine, "b", 16),
    );
    engine.submit(a.id, Command::Join { limit: 2 });
    engine.submit(b.id, Command::Join { limit: 2 });
    drop((a.events(&*engine), b.events(&*engine)));
    let room = RoomId { limit: 2, seq: 1 };
    engine.submit(a.id, Command::Leave);
    assert_eq!(a.events(&*engine), vec![Event::Left { room }]);
    assert_eq!(
        b.events(&*engine),
        vec![Event::MemberLeft { room, client: a.id }]
    );
    assert!(engine.snapshot().rooms.contains_key(&room));
    engine.submit(b.id, Command::Leave);
    assert_eq!(b.events(&*engine), vec![Event::Left { room }]);
    assert!(engine.snapshot().rooms.is_empty());
}

fn an_open_room_dissolves_at_the_match_timeout(spec: EngineSpec) {
    let engine = engine(spec);
    let a = Client::connect(&*engine, "a", 16);
    engine.submit(a.id, Command::Join { limit: 4 });
    drop(a.events(&*engine));
    engine.tick(Duration::from_secs(9));
    let tick = |s| Event::Tick {
        at: Duration::from_secs(s),
    };
    assert_eq!(a.events(&*engine), vec![tick(9)]);
    engine.tick(Duration::from_secs(10));
    let room = RoomId { limit: 4, seq: 1 };
    assert_eq!(
        a.events(&*engine),
        vec![tick(10), Event::MatchTimeout { room }]
    );
    let snapshot = engine.snapshot();
    assert!(snapshot.rooms.is_empty());
    assert_eq!(snapshot.clients[&a.id].room, None);
    assert_eq!(snapshot.counters.rooms_timed_out, 1);
}

fn disconnect_leaves_nothing_behind_and_closes_the_outbox(spec: EngineSpec) {
    let engine = engine(spec);
    let (a, b) = (
        Client::connect(&*engine, "a", 16),
        Client::connect(&*engine, "b", 16),
    );
    engine.submit(a.id, Command::Join { limit: 3 });
    engine.submit(b.id, Command::Join { limit: 3 });
    drop((a.events(&*engine), b.events(&*engine)));
    engine.disconnect(a.id);
    // One call at a time: the actor engine delivers `MemberLeft` from the room's actor and
    // `Shouted` from the world, which are ordered only by the caller waiting in between.
    engine.quiesce();
    engine.submit(b.id, Command::Shout { text: "x".into() });
    engine.quiesce();
    assert_eq!(
        a.rx.try_recv(),
        Err(RecvError::Closed(CloseReason::Disconnected))
    );
    let room = RoomId { limit: 3, seq: 1 };
    let shouted = Event::Shouted {
        from: b.id,
        text: "x".into(),
    };
    assert_eq!(
        b.events(&*engine),
        vec![Event::MemberLeft { room, client: a.id }, shouted]
    );
    let snapshot = engine.snapshot();
    assert!(!snapshot.clients.contains_key(&a.id));
    assert_eq!(snapshot.rooms[&room].members, vec![b.id]);
}

fn a_full_outbox_cuts_its_client_off_and_spares_the_others(spec: EngineSpec) {
    let engine = engine(spec);
    let slow = Client::connect(&*engine, "slow", 2);
    let fast = Client::connect(&*engine, "fast", 16);
    for _ in 0..3 {
        engine.submit(fast.id, Command::Shout { text: "x".into() });
    }
    engine.quiesce();
    assert_eq!(slow.rx.drain().len(), 2);
    assert_eq!(
        slow.rx.try_recv(),
        Err(RecvError::Closed(CloseReason::SlowConsumer))
    );
    assert_eq!(fast.events(&*engine).len(), 3);
    let snapshot = engine.snapshot();
    assert_eq!(snapshot.counters.slow_consumer_cuts, 1);
    assert_eq!(
        snapshot.clients.keys().copied().collect::<Vec<_>>(),
        vec![fast.id]
    );
}

fn refusals_change_nothing(spec: EngineSpec) {
    let engine = engine(spec);
    let (a, b) = (
        Client::connect(&*engine, "a", 16),
        Client::connect(&*engine, "b", 16),
    );
    engine.submit(b.id, Command::Join { limit: 3 });
    drop(b.events(&*engine));
    let before = engine.snapshot();
    let cases = [
        (a.id, Command::Join { limit: 1 }, ErrorCode::InvalidLimit),
        (a.id, Command::Join { limit: 17 }, ErrorCode::InvalidLimit),
        (a.id, Command::Leave, ErrorCode::NotInRoom),
        (a.id, say("hi"), ErrorCode::NotInRoom),
        (b.id, Command::Join { limit: 2 }, ErrorCode::AlreadyInRoom),
        (b.id, say("far too long"), ErrorCode::MessageTooLarge),
        (
            b.id,
            Command::Shout {
                text: "far too long".into(),
            },
            ErrorCode::MessageTooLarge,
        ),
    ];
    for (client, command, code) in cases {
        let kind = command.kind();
        engine.submit(client, command);
        let who = if client == a.id { &a } else { &b };
        assert_eq!(
            who.events(&*engine),
            refused(code, kind),
            "{kind:?} by {client}"
        );
        let after = engine.snapshot();
        assert_eq!(
            (&after.clients, &after.rooms),
            (&before.clients, &before.rooms)
        );
    }
    assert_eq!(engine.snapshot().counters.errors, 7);
}

fn an_unknown_client_is_counted_and_changes_nothing(spec: EngineSpec) {
    let engine = engine(spec);
    let a = Client::connect(&*engine, "a", 16);
    let before = engine.snapshot();
    let stranger = lockchan::ClientId(999);
    engine.submit(stranger, Command::Join { limit: 2 });
    engine.submit(stranger, Command::Shout { text: "x".into() });
    engine.disconnect(stranger);
    let after = engine.snapshot();
    assert_eq!(
        (&after.clients, &after.rooms),
        (&before.clients, &before.rooms)
    );
    assert_eq!(after.counters.unknown_client, 3);
    assert_eq!(a.events(&*engine), vec![]);
}

/// With two tick phases, client 2 (group 0) ticks on the whole seconds and client 1 (group 1)
/// half a second later, each once a period; a member still hears its tick before its room's
/// `MatchTimeout`.
fn ticks_are_spread_over_the_period_by_phase_group(spec: EngineSpec) {
    let engine = spec.build(EngineConfig {
        tick_phases: 2,
        ..EngineConfig::default()
    });
    let (a, b) = (
        Client::connect(&*engine, "a", 16),
        Client::connect(&*engine, "b", 16),
    );
    assert_eq!((a.id.0, b.id.0), (1, 2));
    let tick = |ms| Event::Tick {
        at: Duration::from_millis(ms),
    };
    engine.tick(Duration::from_millis(100));
    assert_eq!(a.events(&*engine), []);
    assert_eq!(b.events(&*engine), [tick(100)]);
    engine.tick(Duration::from_millis(499));
    assert_eq!((a.events(&*engine), b.events(&*engine)), (vec![], vec![]));
    engine.tick(Duration::from_millis(600));
    assert_eq!(
        (a.events(&*engine), b.events(&*engine)),
        (vec![tick(600)], vec![])
    );
    engine.tick(Duration::from_millis(1000));
    assert_eq!(
        (a.events(&*engine), b.events(&*engine)),
        (vec![], vec![tick(1000)])
    );
    engine.submit(a.id, Command::Join { limit: 4 });
    drop(a.events(&*engine));
    // The room opened at 1000 ms times out at 11 s: a late call brings both groups' ticks.
    engine.tick(Duration::from_millis(11_000));
    let room = RoomId { limit: 4, seq: 1 };
    let timed_out = Event::MatchTimeout { room };
    assert_eq!(a.events(&*engine), [tick(11_000), timed_out]);
    assert_eq!(b.events(&*engine), [tick(11_000)]);
}

per_engine!(
    ticks_are_spread_over_the_period_by_phase_group,
    the_last_seat_matches_the_room,
    say_reaches_the_others_in_the_room_only,
    leaving_a_matched_room_tells_the_others_and_the_last_removes_it,
    an_open_room_dissolves_at_the_match_timeout,
    disconnect_leaves_nothing_behind_and_closes_the_outbox,
    a_full_outbox_cuts_its_client_off_and_spares_the_others,
    refusals_change_nothing,
    an_unknown_client_is_counted_and_changes_nothing,
);

#[test]
fn only_the_actor_engine_has_queues_whose_depth_it_reports() {
    let lock = EngineSpec::new(lockchan::EngineKind::LOCK, 2).build(EngineConfig::default());
    assert_eq!(lock.peak_queue_depth(), None);
    let actor = EngineSpec::new(lockchan::EngineKind::ACTOR, 2).build(EngineConfig::default());
    let a = Client::connect(&*actor, "a", 64);
    for _ in 0..32 {
        actor.submit(a.id, Command::Join { limit: 2 });
    }
    actor.quiesce();
    let depth = actor
        .peak_queue_depth()
        .expect("the actor engine has queues");
    assert!((1..=1024).contains(&depth), "{depth}");
}
