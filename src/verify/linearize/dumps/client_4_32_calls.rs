// A run of a hub engine (actor or task) at 4 shards from tests/race_smoke.rs, dumped by
// LOCKCHAN_DUMP_RUNS when the checker of 2026-12-01, before its shortcuts, gave up on it after
// 1000001 states (state budget spent).
Dump {
    semantics: Semantics {
        orderings: Orderings {
            calls: CallOrder::Client,
            tick: TickOrder::WorldThenRooms,
            disconnect: DisconnectOrder::ClosesFirst,
        },
        shards: 4,
    },
    config: EngineConfig {
        tick_period: Duration::from_nanos(1000000000),
        match_timeout: Duration::from_nanos(3000000000),
        max_message_bytes: 4096,
        queue_capacity: 2,
        ..EngineConfig::default()
    },
    history: History {
        setup: vec![
            Call::Connect(Connected { client: ClientId(1), player: Player::new("s-0", "s-0") }),
            Call::Connect(Connected { client: ClientId(2), player: Player::new("s-1", "s-1") }),
            Call::say(ClientId(1), "s.2"),
            Call::join(ClientId(1), 2),
            Call::shout(ClientId(2), "s.4"),
            Call::Tick(Duration::from_nanos(3352000000)),
        ],
        threads: vec![
            vec![
                Call::shout(ClientId(1), "t0.0"),
                Call::Connect(Connected { client: ClientId(4), player: Player::new("t0-0", "t0-0") }),
                Call::shout(ClientId(2), "t0.2"),
                Call::Disconnect(ClientId(2)),
                Call::join(ClientId(2), 3),
                Call::Tick(Duration::from_nanos(6667000000)),
                Call::leave(ClientId(2)),
                Call::join(ClientId(2), 3),
                Call::Disconnect(ClientId(1)),
                Call::Disconnect(ClientId(2)),
                Call::join(ClientId(1), 2),
                Call::join(ClientId(1), 4),
                Call::shout(ClientId(2), "t0.12"),
                Call::leave(ClientId(2)),
                Call::say(ClientId(1099511627776), "t0.14"),
            ],
            vec![
                Call::join(ClientId(2), 2),
                Call::shout(ClientId(1099511627776), "t1.1"),
                Call::say(ClientId(1), "t1.2"),
                Call::leave(ClientId(1)),
                Call::say(ClientId(1), "t1.4"),
                Call::say(ClientId(1099511627776), "t1.5"),
                Call::join(ClientId(2), 2),
                Call::Disconnect(ClientId(1)),
                Call::Connect(Connected { client: ClientId(3), player: Player::new("t1-0", "t1-0") }),
            ],
            vec![
                Call::say(ClientId(1099511627776), "t2.0"),
                Call::join(ClientId(1), 2),
                Call::join(ClientId(2), 4),
                Call::shout(ClientId(1), "t2.3"),
                Call::Disconnect(ClientId(1)),
                Call::shout(ClientId(1), "t2.5"),
                Call::shout(ClientId(1), "t2.6"),
                Call::shout(ClientId(2), "t2.7"),
            ],
        ],
        teardown: vec![
            Call::Disconnect(ClientId(3)),
            Call::Disconnect(ClientId(4)),
        ],
    },
    observed: Observed {
        streams: BTreeMap::from([
                (ClientId(1), vec![
                    Event::Error { code: ErrorCode::NotInRoom, command: CommandKind::Say },
                    Event::Joined { room: RoomId { limit: 2, seq: 1 }, members: [ClientId(1)].into() },
                    Event::Shouted { from: ClientId(2), text: "s.4".into() },
                    Event::Tick { at: Duration::from_nanos(3352000000) },
                    Event::MatchTimeout { room: RoomId { limit: 2, seq: 1 } },
                ]),
                (ClientId(2), vec![
                    Event::Shouted { from: ClientId(2), text: "s.4".into() },
                    Event::Tick { at: Duration::from_nanos(3352000000) },
                    Event::Joined { room: RoomId { limit: 2, seq: 2 }, members: [ClientId(2)].into() },
                    Event::MemberJoined { room: RoomId { limit: 2, seq: 2 }, client: ClientId(1) },
                    Event::Matched { room: RoomId { limit: 2, seq: 2 }, members: [ClientId(2), ClientId(1)].into() },
                    Event::Error { code: ErrorCode::AlreadyInRoom, command: CommandKind::Join },
                    Event::Shouted { from: ClientId(2), text: "t2.7".into() },
                    Event::MemberLeft { room: RoomId { limit: 2, seq: 2 }, client: ClientId(1) },
                    Event::Error { code: ErrorCode::AlreadyInRoom, command: CommandKind::Join },
                    Event::Shouted { from: ClientId(2), text: "t0.2".into() },
                ]),
                (ClientId(3), vec![
                    Event::Shouted { from: ClientId(2), text: "t0.2".into() },
                    Event::Tick { at: Duration::from_nanos(6667000000) },
                ]),
                (ClientId(4), vec![
                    Event::Shouted { from: ClientId(2), text: "t0.2".into() },
                    Event::Tick { at: Duration::from_nanos(6667000000) },
                ]),
            ]),
        race_snapshot: Snapshot {
            clock: Duration::from_nanos(6667000000),
            clients: BTreeMap::from([
                (ClientId(3), ClientView { player: Player::new("t1-0", "t1-0"), room: None }),
                (ClientId(4), ClientView { player: Player::new("t0-0", "t0-0"), room: None }),
            ]),
            rooms: BTreeMap::from([]),
            counters: Counters { connects: 4, disconnects: 2, commands: 9, unknown_client: 20, errors: 3, events_delivered: 19, slow_consumer_cuts: 0, rooms_opened: 2, rooms_matched: 1, rooms_timed_out: 1, seat_mismatches: 0 },
        },
        closed_after_race: BTreeSet::from([ClientId(1), ClientId(2)]),
    },
}
