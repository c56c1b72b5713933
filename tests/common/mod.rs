//! What the integration tests share: the macro that runs one test on every engine, and
//! small helpers to connect clients and read their events.
#![allow(dead_code)] // Each test file uses its own subset.

pub mod scenarios;

use std::time::Duration;

use lockchan::{ClientId, Engine, Event, OutboxReceiver, Player, RecvError, outbox};

pub mod server;

/// Runs each named `fn(EngineSpec)` once per engine under test, as `lock_1::name`,
/// `lock_3::name`, `actor_1::name`, `actor_3::name` and so on for every registered engine
/// (`lockchan::for_each_engine!`), so every engine passes the same tests under the same names.
/// Each runs under the watchdog (`lockchan::verify::watchdog`): one that takes no step for its
/// stall bound fails with what the engine is stuck on, instead of hanging the suite.
/// `per_engine!(watched: ...)` is for a long `fn(EngineSpec, Progress)` that counts its steps
/// (and names its engine) on the `Progress`, so only a stop in its progress is a stall.
/// `per_engine!(async: ...)` does the same for `async fn(EngineSpec)`, each on its own
/// two-worker tokio runtime.
#[macro_export]
macro_rules! per_engine {
    (watched: $($test:ident),* $(,)?) => {
        lockchan::for_each_engine!($crate::per_engine { @engines watched [$($test),*] }, several = 3);
    };
    ($($test:ident),* $(,)?) => {
        lockchan::for_each_engine!($crate::per_engine { @engines sync [$($test),*] }, several = 3);
    };
    (async: $($test:ident),* $(,)?) => {
        lockchan::for_each_engine!($crate::per_engine { @engines async [$($test),*] }, several = 3);
    };
    (@engines $mode:tt $tests:tt $($module:ident: $kind:ident / $shards:literal,)*) => {
        $($crate::per_engine!(@$mode $module, $kind, $shards; $tests);)*
    };
    (@async $module:ident, $kind:ident, $shards:literal; [$($test:ident),*]) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    let spec = lockchan::EngineSpec::new(lockchan::EngineKind::$kind, $shards);
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .expect("a runtime")
                        .block_on(super::$test(spec));
                }
            )*
        }
    };
    (@sync $module:ident, $kind:ident, $shards:literal; [$($test:ident),*]) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    let spec = lockchan::EngineSpec::new(lockchan::EngineKind::$kind, $shards);
                    let name = concat!(stringify!($module), "::", stringify!($test));
                    lockchan::verify::watchdog::run_watched(name, move |_| super::$test(spec));
                }
            )*
        }
    };
    (@watched $module:ident, $kind:ident, $shards:literal; [$($test:ident),*]) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    let spec = lockchan::EngineSpec::new(lockchan::EngineKind::$kind, $shards);
                    let name = concat!(stringify!($module), "::", stringify!($test));
                    lockchan::verify::watchdog::run_watched(name, move |progress| {
                        super::$test(spec, progress)
                    });
                }
            )*
        }
    };
}

/// A connected test client: its id and its outbox's reading end.
pub struct Client {
    pub id: ClientId,
    pub rx: OutboxReceiver,
}

impl Client {
    pub fn connect(engine: &dyn Engine, name: &str, capacity: usize) -> Client {
        let (tx, rx) = outbox(capacity);
        let id = engine.connect(Player::new(name, name), tx);
        Client { id, rx }
    }

    /// Everything delivered so far, after the engine settled.
    pub fn events(&self, engine: &dyn Engine) -> Vec<Event> {
        engine.quiesce();
        self.rx.drain()
    }

    /// Waits (by blocking on the outbox, never by sleeping) for the next event.
    pub fn next(&self) -> Event {
        match self.rx.recv_timeout(Duration::from_secs(10)) {
            Ok(event) => event,
            Err(RecvError::Empty) => panic!("{}: no event within 10 s", self.id),
            Err(RecvError::Closed(reason)) => panic!("{}: outbox closed: {reason}", self.id),
        }
    }
}
