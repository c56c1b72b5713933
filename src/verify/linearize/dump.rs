//! `LOCKCHAN_DUMP_RUNS=<dir>`: every run the checker gives up on is written to `<dir>` as a
//! Rust expression of a [`Dump`] (history, observed streams and snapshot, the engine's
//! semantics and settings), so that it can be replayed and studied offline: the unit test
//! `a_dumped_actor_2_run_is_decided` includes one with `include!`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::time::Duration;

use super::{Call, History, LinearizeError, Observed, Semantics};
use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::event::Event;
use crate::domain::ids::{ClientId, Player};
use crate::domain::snapshot::Snapshot;
use crate::spec::call::Connected;

/// The environment variable naming the directory inconclusive runs are dumped to.
pub const DUMP_RUNS: &str = "LOCKCHAN_DUMP_RUNS";

/// One run as the checker saw it.
#[cfg_attr(not(test), allow(dead_code))] // Built by dumped expressions, in tests.
pub(crate) struct Dump {
    pub(crate) semantics: Semantics,
    pub(crate) config: EngineConfig,
    pub(crate) history: History,
    pub(crate) observed: Observed,
}

/// Writes the run to the directory [`DUMP_RUNS`] names, if it names one. Failing to write is
/// reported on stderr, never to the caller: the dump is a by-product of a check.
pub(super) fn maybe_write(
    history: &History,
    observed: &Observed,
    semantics: Semantics,
    config: &EngineConfig,
    error: &LinearizeError,
) {
    let Some(dir) = std::env::var_os(DUMP_RUNS) else {
        return;
    };
    let text = to_rust(history, observed, semantics, config, error);
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    let name = format!(
        "{:?}-{}-{:016x}.rs",
        semantics.orderings.calls,
        semantics.shards,
        hasher.finish()
    )
    .to_lowercase();
    let path = Path::new(&dir).join(name);
    let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text));
    if let Err(error) = written {
        eprintln!("{DUMP_RUNS}: could not write {}: {error}", path.display());
    }
}

/// The run as a Rust expression of a [`Dump`], with the names the checker's tests import in
/// scope, headed by a comment saying why it was dumped.
fn to_rust(
    history: &History,
    observed: &Observed,
    semantics: Semantics,
    config: &EngineConfig,
    error: &LinearizeError,
) -> String {
    let mut out = String::new();
    let reason = match error {
        LinearizeError::Inconclusive {
            explored, reason, ..
        } => format!("the search gave up after {explored} states ({reason})"),
        other => other.to_string().lines().next().unwrap_or("").to_owned(),
    };
    let _ = writeln!(out, "// A run dumped by {DUMP_RUNS}: {reason}.");
    let orderings = semantics.orderings;
    let _ = writeln!(
        out,
        "Dump {{\n    semantics: Semantics {{\n        orderings: Orderings {{\n            \
         calls: CallOrder::{:?},\n            tick: TickOrder::{:?},\n            \
         disconnect: DisconnectOrder::{:?},\n        }},\n        shards: {},\n    }},",
        orderings.calls, orderings.tick, orderings.disconnect, semantics.shards
    );
    let _ = writeln!(
        out,
        "    config: EngineConfig {{\n        tick_period: {},\n        tick_phases: {},\n        \
         match_timeout: {},\n        max_message_bytes: {},\n        queue_capacity: {},\n        \
         ..EngineConfig::default()\n    }},",
        duration(config.tick_period),
        config.tick_phases,
        duration(config.match_timeout),
        config.max_message_bytes,
        config.queue_capacity
    );
    let calls = |calls: &[Call]| list(calls.iter().map(call), "        ");
    let threads = list(
        history
            .threads
            .iter()
            .map(|thread| list(thread.iter().map(call), "            ")),
        "        ",
    );
    let _ = writeln!(
        out,
        "    history: History {{\n        setup: {},\n        threads: {threads},\n        \
         teardown: {},\n    }},",
        calls(&history.setup),
        calls(&history.teardown)
    );
    let streams = observed.streams.iter().map(|(id, events)| {
        let events = list(events.iter().map(event), "                ");
        format!("({id:?}, {events})")
    });
    let _ = writeln!(
        out,
        "    observed: Observed {{\n        streams: BTreeMap::from({}),\n        \
         race_snapshot: {},\n        closed_after_race: BTreeSet::from({}),\n    }},\n}}",
        array(streams, "            "),
        snapshot(&observed.race_snapshot),
        closed(&observed.closed_after_race),
    );
    out
}

fn list(items: impl Iterator<Item = String>, indent: &str) -> String {
    format!("vec!{}", array(items, indent))
}

fn array(items: impl Iterator<Item = String>, indent: &str) -> String {
    let mut out = String::from("[");
    let mut any = false;
    for item in items {
        let _ = write!(out, "\n{indent}    {item},");
        any = true;
    }
    if any {
        out.push('\n');
        out.push_str(indent);
    }
    out.push(']');
    out
}

fn duration(d: Duration) -> String {
    format!("Duration::from_nanos({})", d.as_nanos())
}

fn player(p: &Player) -> String {
    format!("Player::new({:?}, {:?})", p.id, p.nick)
}

fn call(call: &Call) -> String {
    match call {
        Call::Connect(Connected { client, player: p }) => format!(
            "Call::Connect(Connected {{ client: {client:?}, player: {} }})",
            player(p)
        ),
        Call::Submit(client, Command::Join { limit }) => format!("Call::join({client:?}, {limit})"),
        Call::Submit(client, Command::Leave) => format!("Call::leave({client:?})"),
        Call::Submit(client, Command::Say { data }) => format!("Call::say({client:?}, {data:?})"),
        Call::Submit(client, Command::Shout { text }) => {
            format!("Call::shout({client:?}, {text:?})")
        }
        Call::Disconnect(client) => format!("Call::Disconnect({client:?})"),
        Call::Tick(now) => format!("Call::Tick({})", duration(*now)),
    }
}

fn members(members: &[ClientId]) -> String {
    let ids: Vec<String> = members.iter().map(|id| format!("{id:?}")).collect();
    format!("[{}].into()", ids.join(", "))
}

fn event(event: &Event) -> String {
    match event {
        Event::Joined { room, members: m } => {
            format!(
                "Event::Joined {{ room: {room:?}, members: {} }}",
                members(m)
            )
        }
        Event::MemberJoined { room, client } => {
            format!("Event::MemberJoined {{ room: {room:?}, client: {client:?} }}")
        }
        Event::Matched { room, members: m } => {
            format!(
                "Event::Matched {{ room: {room:?}, members: {} }}",
                members(m)
            )
        }
        Event::MemberLeft { room, client } => {
            format!("Event::MemberLeft {{ room: {room:?}, client: {client:?} }}")
        }
        Event::Left { room } => format!("Event::Left {{ room: {room:?} }}"),
        Event::MatchTimeout { room } => format!("Event::MatchTimeout {{ room: {room:?} }}"),
        Event::Said { room, from, data } => format!(
            "Event::Said {{ room: {room:?}, from: {from:?}, data: {:?}.into() }}",
            &**data
        ),
        Event::Shouted { from, text } => format!(
            "Event::Shouted {{ from: {from:?}, text: {:?}.into() }}",
            &**text
        ),
        Event::Tick { at } => format!("Event::Tick {{ at: {} }}", duration(*at)),
        Event::Error { code, command } => format!(
            "Event::Error {{ code: ErrorCode::{code:?}, command: CommandKind::{command:?} }}"
        ),
    }
}

fn snapshot(s: &Snapshot) -> String {
    let indent = "            ";
    let clients = s.clients.iter().map(|(id, view)| {
        format!(
            "({id:?}, ClientView {{ player: {}, room: {:?} }})",
            player(&view.player),
            view.room
        )
    });
    let rooms = s.rooms.iter().map(|(id, view)| {
        let members: Vec<String> = view.members.iter().map(|m| format!("{m:?}")).collect();
        format!(
            "({id:?}, RoomView {{ created_at: {}, members: vec![{}], matched: {} }})",
            duration(view.created_at),
            members.join(", "),
            view.matched
        )
    });
    format!(
        "Snapshot {{\n            clock: {},\n            clients: BTreeMap::from({}),\n            \
         rooms: BTreeMap::from({}),\n            counters: {:?},\n        }}",
        duration(s.clock),
        array(clients, indent),
        array(rooms, indent),
        s.counters
    )
}

fn closed(clients: &BTreeSet<ClientId>) -> String {
    let ids: Vec<String> = clients.iter().map(|id| format!("{id:?}")).collect();
    format!("[{}]", ids.join(", "))
}
