//! The domain every engine, the model and the server speak: commands in, events out through
//! each client's bounded outbox, ids, the engine's tunables and the tick's phase groups and the snapshot of its state; and
//! how a caught panic reads, which the server and verify both report.
//! Plain data; nothing here synchronizes or reads a clock.

pub(crate) mod command;
pub(crate) mod config;
pub(crate) mod event;
pub(crate) mod ids;
pub(crate) mod outbox;
pub(crate) mod panic;
pub(crate) mod phase;
pub(crate) mod snapshot;
