// A run of a hub engine (actor or task) at 1 shard from tests/race_smoke.rs, dumped by
// LOCKCHAN_DUMP_RUNS when the checker of 2026-12-01, before its shortcuts, gave up on it after
// 1000001 states (state budget spent).
Dump {
    semantics: Semantics {
        orderings: Orderings {
            calls: CallOrder::Client,
            tick: TickOrder::WorldThenRooms,
            disconnect: DisconnectOrder::ClosesFirst,
        },
        shards: 1,
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
            Call::Connect(Connected { client: ClientId(3), player: Player::new("s-2", "s-2") }),
            Call::say(ClientId(3), "s.3"),
            Call::Tick(Duration::from_nanos(843000000)),
        ],
        threads: vec![
            vec![
                Call::leave(ClientId(3)),
                Call::Tick(Duration::from_nanos(3718000000)),
                Call::leave(ClientId(2)),
                Call::Tick(Duration::from_nanos(5395000000)),
            ],
            vec![
                Call::join(ClientId(1099511627776), 3),
                Call::join(ClientId(2), 4),
                Call::join(ClientId(3), 4),
                Call::Disconnect(ClientId(3)),
                Call::Disconnect(ClientId(1)),
                Call::say(ClientId(1), "t1.5"),
            ],
            vec![
                Call::join(ClientId(1), 3),
                Call::leave(ClientId(2)),
                Call::join(ClientId(3), 4),
                Call::join(ClientId(1099511627776), 4),
                Call::Connect(Connected { client: ClientId(4), player: Player::new("t2-0", "t2-0") }),
                Call::leave(ClientId(1)),
                Call::say(ClientId(3), "t2.6"),
                Call::Disconnect(ClientId(3)),
                Call::Connect(Connected { client: ClientId(5), player: Player::new("t2-1", "t2-1") }),
                Call::join(ClientId(3), 2),
                Call::Connect(Connected { client: ClientId(6), player: Player::new("t2-2", "t2-2") }),
            ],
        ],
        teardown: vec![
            Call::Disconnect(ClientId(2)),
            Call::Disconnect(ClientId(4)),
            Call::Disconnect(ClientId(5)),
            Call::Disconnect(ClientId(6)),
        ],
    },
    observed: Observed {
        streams: BTreeMap::from([
                (ClientId(1), vec![
                    Event::Tick { at: Duration::from_nanos(843000000) },
                    Event::Joined { room: RoomId { limit: 3, seq: 1 }, members: [ClientId(1)].into() },
                ]),
                (ClientId(2), vec![
                    Event::Tick { at: Duration::from_nanos(843000000) },
                    Event::Joined { room: RoomId { limit: 4, seq: 1 }, members: [ClientId(2)].into() },
                    Event::Left { room: RoomId { limit: 4, seq: 1 } },
                    Event::Tick { at: Duration::from_nanos(3718000000) },
                    Event::Tick { at: Duration::from_nanos(5395000000) },
                    Event::Error { code: ErrorCode::NotInRoom, command: CommandKind::Leave },
                ]),
                (ClientId(3), vec![
                    Event::Error { code: ErrorCode::NotInRoom, command: CommandKind::Say },
                    Event::Tick { at: Duration::from_nanos(843000000) },
                ]),
                (ClientId(4), vec![
                    Event::Tick { at: Duration::from_nanos(3718000000) },
                    Event::Tick { at: Duration::from_nanos(5395000000) },
                ]),
                (ClientId(5), vec![
                    Event::Tick { at: Duration::from_nanos(3718000000) },
                    Event::Tick { at: Duration::from_nanos(5395000000) },
                ]),
                (ClientId(6), vec![
                    Event::Tick { at: Duration::from_nanos(3718000000) },
                    Event::Tick { at: Duration::from_nanos(5395000000) },
                ]),
            ]),
        race_snapshot: Snapshot {
            clock: Duration::from_nanos(5395000000),
            clients: BTreeMap::from([
                (ClientId(2), ClientView { player: Player::new("s-1", "s-1"), room: None }),
                (ClientId(4), ClientView { player: Player::new("t2-0", "t2-0"), room: None }),
                (ClientId(5), ClientView { player: Player::new("t2-1", "t2-1"), room: None }),
                (ClientId(6), ClientView { player: Player::new("t2-2", "t2-2"), room: None }),
            ]),
            rooms: BTreeMap::from([]),
            counters: Counters { connects: 6, disconnects: 2, commands: 5, unknown_client: 10, errors: 2, events_delivered: 16, slow_consumer_cuts: 0, rooms_opened: 2, rooms_matched: 0, rooms_timed_out: 0, seat_mismatches: 0 },
        },
        closed_after_race: BTreeSet::from([ClientId(1), ClientId(3)]),
    },
}
