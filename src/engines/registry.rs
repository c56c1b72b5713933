//! The registry: the one table of engines that every consumer iterates — the tests, verify,
//! the duel, the benches, the gate, the report, the server and the end-to-end duel.
//!
//! Adding an engine is its module plus, in this file, one [`EngineEntry`] in [`ENGINES`] and
//! its row in [`for_each_engine!`](crate::for_each_engine), the test suites' list (a unit test
//! fails while the row is missing); nothing else names an engine. A consumer that needs a property of an engine (does it have shards? which orders
//! may the checker allow? which colour is its line?) reads the entry instead of matching on a
//! kind, so a new engine cannot be silently left out. The pattern is crossbeam-channel's
//! flavours and ripgrep's `rgtest!`: one list, many users.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::domain::config::EngineConfig;
use crate::engines::actor::ActorEngine;
use crate::engines::engine::{CallOrder, DisconnectOrder, Engine, Orderings, TickOrder};
use crate::engines::lock::LockEngine;

/// One engine: its name, how to build it, and what consumers need to know about it.
pub struct EngineEntry {
    /// The name on the command line, in result files and in bench ids: `lock`.
    pub name: &'static str,
    /// One line for tables and `--help`.
    pub summary: &'static str,
    /// Whether the engine takes a shard count (`lock/4`). An engine without shards is always
    /// built with one and printed without a `/n`.
    pub sharded: bool,
    /// The orders its results may show when calls race; the checker allows these and no
    /// others.
    pub orderings: Orderings,
    /// Its family of plot colours, one per shard count in turn (RGB).
    pub palette: &'static [(u8, u8, u8)],
    /// Builds it with `shards` (1 for an engine without shards).
    pub build: fn(shards: usize, config: EngineConfig) -> Box<dyn Engine>,
    /// Why loom cannot run it, for an engine built on primitives loom does not model. Declared
    /// here, in every build, because a loom build does not compile such an engine and so its
    /// tests cannot name it; the verification summary reads it where the loom log is silent.
    pub beyond_loom: Option<&'static str>,
}

/// The lock engine's entry.
const LOCK: EngineEntry = EngineEntry {
    name: "lock",
    summary: "shared state striped over parking_lot mutexes",
    sharded: true,
    orderings: Orderings {
        calls: CallOrder::Thread,
        tick: TickOrder::ShardsThenExpiry,
        disconnect: DisconnectOrder::AfterEarlierCalls,
    },
    palette: &[(31, 119, 180), (23, 190, 207), (44, 160, 44), (44, 62, 140)],
    build: |shards, config| Box::new(LockEngine::new(shards, config)),
    beyond_loom: None,
};

/// The actor engine's entry.
const ACTOR: EngineEntry = EngineEntry {
    name: "actor",
    summary: "a world actor and room actors on threads, fed by crossbeam channels",
    sharded: true,
    orderings: Orderings {
        calls: CallOrder::Client,
        tick: TickOrder::WorldThenRooms,
        disconnect: DisconnectOrder::ClosesFirst,
    },
    palette: &[
        (214, 39, 40),
        (255, 127, 14),
        (140, 86, 75),
        (227, 119, 194),
    ],
    build: |shards, config| Box::new(ActorEngine::new(shards, config)),
    beyond_loom: None,
};

/// The task engine's entry. It keeps the actor engine's orderings: the same hub, carried by
/// tokio tasks instead of threads. Not in a loom build, which cannot run tokio; under shuttle
/// it runs on shuttle-tokio (`crate::sync`'s shuttle backend).
#[cfg(not(lockchan_loom))]
const TASK: EngineEntry = EngineEntry {
    name: "task",
    summary: "the same world and room actors as tokio tasks, fed by tokio mpsc",
    sharded: true,
    orderings: ACTOR.orderings,
    palette: &[
        (148, 103, 189),
        (188, 189, 34),
        (197, 176, 213),
        (99, 60, 140),
    ],
    build: |shards, config| Box::new(crate::engines::task::TaskEngine::new(shards, config)),
    beyond_loom: Some(
        "loom models std's threads and locks, not tokio's runtime, so a loom build leaves the \
         task engine out; its hub state machines are the actor engine's, which loom runs, and \
         shuttle (shuttle-tokio) and the real-thread race layers run the task engine itself",
    ),
};

/// The test-only engine: the sequential model behind one mutex (`tests/registry.rs`). It
/// takes the strictest orderings there are, those of a lock engine with a single shard: every
/// call is one step, done before it returns.
#[cfg(feature = "test-engine")]
const SERIAL: EngineEntry = EngineEntry {
    name: "serial",
    summary: "test only: the sequential model behind one mutex",
    sharded: false,
    orderings: Orderings {
        calls: CallOrder::Thread,
        tick: TickOrder::ShardsThenExpiry,
        disconnect: DisconnectOrder::AfterEarlierCalls,
    },
    palette: &[(127, 127, 127)],
    build: |_, config| Box::new(crate::engines::serial::SerialEngine::new(config)),
    beyond_loom: None,
};

/// Every engine, in the order tables list them. [`for_each_engine!`](crate::for_each_engine)
/// lists the same engines for the test macros; a unit test below holds the two equal.
/// The test-only engine comes last, with the feature `test-engine`.
pub static ENGINES: &[EngineEntry] = &[
    LOCK,
    ACTOR,
    #[cfg(not(lockchan_loom))]
    TASK,
    #[cfg(feature = "test-engine")]
    SERIAL,
];

/// Expands `callback! { args... specs }` once, where `specs` is every registered engine at the
/// shard counts the tests run, as `module: KIND / shards,` items: the sharded engines at one
/// shard and at `several` (2 or 3) shards, an engine without shards once under its bare name.
///
/// ```text
/// lockchan::for_each_engine!(my_tests { some args; }, several = 3);
/// // expands to
/// my_tests! { some args; lock_1: LOCK / 1, lock_3: LOCK / 3, actor_1: ACTOR / 1,
///             actor_3: ACTOR / 3, }
/// ```
///
/// `KIND` names an [`EngineKind`](crate::EngineKind) const. This is the test suites' list of
/// engines (ripgrep's `rgtest!` pattern): `per_engine!`, the race smoke test and the shuttle
/// tests take theirs from here, so a registered engine is tested under the same names as the
/// others. A macro cannot read [`ENGINES`], so the rows below repeat its names; the unit test
/// `the_test_macro_lists_every_registered_engine` fails when the two disagree.
#[macro_export]
macro_rules! for_each_engine {
    ($($callback:ident)::+ { $($args:tt)* }, several = $several:tt) => {
        $crate::__with_task_engine! {
            @several $several; $($callback)::+ { $($args)* }; [];
            // One row per engine: `KIND: module_1 module_2 module_3;` for an engine with shards,
            // `KIND: module;` for one without.
            LOCK: lock_1 lock_2 lock_3;
            ACTOR: actor_1 actor_2 actor_3;
        }
    };
}

/// Walks the rows of [`for_each_engine!`], gathering the specs, then calls the callback.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_engine {
    (@several $several:tt; $($callback:ident)::+ { $($args:tt)* }; [$($done:tt)*];) => {
        $($callback)::+! { $($args)* $($done)* }
    };
    (@several 2; $($callback:ident)::+ { $($args:tt)* }; [$($done:tt)*];
     $kind:ident: $one:ident $two:ident $three:ident; $($rows:tt)*) => {
        $crate::__for_each_engine! {
            @several 2; $($callback)::+ { $($args)* };
            [$($done)* $one: $kind / 1, $two: $kind / 2,]; $($rows)*
        }
    };
    (@several 3; $($callback:ident)::+ { $($args:tt)* }; [$($done:tt)*];
     $kind:ident: $one:ident $two:ident $three:ident; $($rows:tt)*) => {
        $crate::__for_each_engine! {
            @several 3; $($callback)::+ { $($args)* };
            [$($done)* $one: $kind / 1, $three: $kind / 3,]; $($rows)*
        }
    };
    (@several $several:tt; $($callback:ident)::+ { $($args:tt)* }; [$($done:tt)*];
     $kind:ident: $module:ident; $($rows:tt)*) => {
        $crate::__for_each_engine! {
            @several $several; $($callback)::+ { $($args)* };
            [$($done)* $module: $kind / 1,]; $($rows)*
        }
    };
}

/// Appends the task engine's row in every build that registers it (not under loom), then the
/// test-only engine's. Defined in the library, so the cfgs are the library's.
#[cfg(not(lockchan_loom))]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_task_engine {
    ($($walk:tt)*) => {
        $crate::__with_test_engines! { $($walk)* TASK: task_1 task_2 task_3; }
    };
}

/// Under loom there is no task engine to add.
#[cfg(lockchan_loom)]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_task_engine {
    ($($walk:tt)*) => {
        $crate::__with_test_engines! { $($walk)* }
    };
}

/// Appends the test-only engine's row when the `test-engine` feature registers it. Defined
/// here, in the library, so the feature is the library's and not the caller's.
#[cfg(feature = "test-engine")]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_test_engines {
    ($($walk:tt)*) => {
        $crate::__for_each_engine! { $($walk)* SERIAL: serial; }
    };
}

/// Without the `test-engine` feature there is no test-only engine to add.
#[cfg(not(feature = "test-engine"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_test_engines {
    ($($walk:tt)*) => {
        $crate::__for_each_engine! { $($walk)* }
    };
}

/// An engine of the registry, by reference: cheap to copy, compared and hashed by name,
/// serialized as its name.
#[derive(Clone, Copy)]
pub struct EngineKind(&'static EngineEntry);

impl EngineKind {
    /// The lock engine, for the code and tests that are about it in particular.
    pub const LOCK: EngineKind = EngineKind(&LOCK);
    /// The actor engine, likewise.
    pub const ACTOR: EngineKind = EngineKind(&ACTOR);
    /// The task engine (not in a loom build).
    #[cfg(not(lockchan_loom))]
    pub const TASK: EngineKind = EngineKind(&TASK);
    /// The test-only engine (feature `test-engine`).
    #[cfg(feature = "test-engine")]
    pub const SERIAL: EngineKind = EngineKind(&SERIAL);

    /// Every registered engine, in table order.
    pub fn all() -> impl Iterator<Item = EngineKind> {
        ENGINES.iter().map(EngineKind)
    }

    /// Its place in the registry's table, for sorting in table order.
    pub fn index(self) -> usize {
        ENGINES
            .iter()
            .position(|entry| entry.name == self.0.name)
            .unwrap_or(ENGINES.len())
    }

    /// Its registry entry.
    pub fn entry(self) -> &'static EngineEntry {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn sharded(self) -> bool {
        self.0.sharded
    }

    pub fn orderings(self) -> Orderings {
        self.0.orderings
    }

    /// The shard counts of `wanted` this engine takes: all of them when it has shards, else
    /// just 1.
    pub fn shard_counts(self, wanted: &[usize]) -> Vec<usize> {
        if self.sharded() {
            wanted.to_vec()
        } else {
            vec![1]
        }
    }

    /// One spec per shard count of `wanted` this engine takes.
    pub fn specs(self, wanted: &[usize]) -> impl Iterator<Item = EngineSpec> {
        self.shard_counts(wanted)
            .into_iter()
            .map(move |shards| EngineSpec::new(self, shards))
    }
}

/// Every registered engine at each of `shards` it takes (`lock/1, lock/4, actor/1, ...`).
pub fn all_specs(shards: &[usize]) -> Vec<EngineSpec> {
    EngineKind::all()
        .flat_map(|kind| kind.specs(shards))
        .collect()
}

impl PartialEq for EngineKind {
    fn eq(&self, other: &EngineKind) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for EngineKind {}

impl Hash for EngineKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl PartialOrd for EngineKind {
    fn partial_cmp(&self, other: &EngineKind) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Table order, so sorted lists read like the registry.
impl Ord for EngineKind {
    fn cmp(&self, other: &EngineKind) -> std::cmp::Ordering {
        self.index().cmp(&other.index())
    }
}

impl fmt::Debug for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl serde::Serialize for EngineKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name)
    }
}

impl<'de> serde::Deserialize<'de> for EngineKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<EngineKind, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for EngineKind {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<EngineKind, UnknownEngine> {
        EngineKind::all()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownEngine(s.to_owned()))
    }
}

/// A name that is not an engine.
#[derive(Debug, thiserror::Error)]
#[error("unknown engine `{0}`: expected one of {names}, optionally with `/shards` (`lock/4`)", names = known_names())]
pub struct UnknownEngine(pub String);

fn known_names() -> String {
    let names: Vec<String> = ENGINES.iter().map(|e| format!("`{}`", e.name)).collect();
    names.join(", ")
}

/// Which engine to build: a registered engine and its shard count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct EngineSpec {
    pub kind: EngineKind,
    /// Lock engine: how many locks stripe the state. Actor engine: how many room actors
    /// stand behind the world actor. At least 1; always 1 for an engine without shards.
    pub shards: usize,
}

impl EngineSpec {
    pub fn new(kind: EngineKind, shards: usize) -> EngineSpec {
        let shards = if kind.sharded() { shards.max(1) } else { 1 };
        EngineSpec { kind, shards }
    }

    /// Builds the engine. Every engine in the crate is made here and nowhere else.
    pub fn build(self, config: EngineConfig) -> Box<dyn Engine> {
        (self.kind.0.build)(self.shards, config)
    }
}

impl FromStr for EngineSpec {
    type Err = UnknownEngine;

    /// Parses `lock/4`, `actor/2`, or a bare name (one shard). An engine without shards takes
    /// no `/n`.
    fn from_str(s: &str) -> Result<EngineSpec, UnknownEngine> {
        let unknown = || UnknownEngine(s.to_owned());
        let (kind, shards) = match s.split_once('/') {
            Some((kind, shards)) => (kind, Some(shards)),
            None => (s, None),
        };
        let kind: EngineKind = kind.parse().map_err(|_| unknown())?;
        let shards = match shards {
            None => 1,
            Some(_) if !kind.sharded() => return Err(unknown()),
            Some(shards) => shards
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(unknown)?,
        };
        Ok(EngineSpec::new(kind, shards))
    }
}

impl fmt::Display for EngineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind.sharded() {
            write!(f, "{}/{}", self.kind, self.shards)
        } else {
            write!(f, "{}", self.kind)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_parse_and_print() {
        assert_eq!("lock".parse::<EngineKind>().ok(), Some(EngineKind::LOCK));
        assert_eq!("actor".parse::<EngineKind>().ok(), Some(EngineKind::ACTOR));
        let err = "mutex".parse::<EngineKind>().err().map(|e| e.to_string());
        let expected = format!(
            "unknown engine `mutex`: expected one of {}, optionally with `/shards` (`lock/4`)",
            known_names()
        );
        assert_eq!(err, Some(expected));
        let spec = "actor/3".parse::<EngineSpec>().ok();
        assert_eq!(spec, Some(EngineSpec::new(EngineKind::ACTOR, 3)));
        assert!("lock/0".parse::<EngineSpec>().is_err());
        assert!("lock/x".parse::<EngineSpec>().is_err());
        assert!("nope/2".parse::<EngineSpec>().is_err());
        assert_eq!(EngineSpec::new(EngineKind::ACTOR, 0).to_string(), "actor/1");
    }

    #[test]
    fn names_are_unique_and_every_entry_builds() {
        let mut names: Vec<&str> = ENGINES.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ENGINES.len());
        for spec in all_specs(&[1, 2]) {
            let engine = spec.build(EngineConfig::default());
            assert_eq!(engine.name(), spec.to_string());
            assert_eq!(spec.to_string().parse::<EngineSpec>().ok(), Some(spec));
        }
    }

    /// `for_each_engine!` repeats the registry's names, as a macro cannot read a static: this
    /// holds the two lists equal, at both shard choices.
    #[test]
    fn the_test_macro_lists_every_registered_engine() {
        macro_rules! specs {
            ($($module:ident: $kind:ident / $shards:literal,)*) => {
                vec![$((stringify!($module), EngineSpec::new(EngineKind::$kind, $shards))),*]
            };
        }
        for (listed, several) in [
            (crate::for_each_engine!(specs {}, several = 2), 2),
            (crate::for_each_engine!(specs {}, several = 3), 3),
        ] {
            let expected: Vec<EngineSpec> = all_specs(&[1, several]);
            let specs: Vec<EngineSpec> = listed.iter().map(|&(_, spec)| spec).collect();
            assert_eq!(specs, expected);
            for (module, spec) in listed {
                let name = spec.to_string().replace('/', "_");
                assert_eq!(module, name, "{spec} is tested as `{module}`");
            }
        }
    }

    #[test]
    fn kinds_serialize_as_their_names() {
        let json = serde_json::to_string(&EngineSpec::new(EngineKind::LOCK, 2)).ok();
        assert_eq!(json.as_deref(), Some(r#"{"kind":"lock","shards":2}"#));
        let back: Option<EngineKind> = serde_json::from_str(r#""actor""#).ok();
        assert_eq!(back, Some(EngineKind::ACTOR));
    }
}
