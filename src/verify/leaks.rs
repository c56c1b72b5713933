//! The leak check, in the spirit of the original server's goroutine and memory checks: after
//! many connect / match / chat / disconnect cycles every registry is empty, every outbox was
//! let go, an engine on an async runtime has no more tasks alive than when it started, the
//! engine's threads are gone once it is dropped, and resident memory stops growing.

use std::time::Duration;

use super::Builder;
use crate::domain::command::Command;
use crate::domain::config::EngineConfig;
use crate::domain::ids::Player;
use crate::domain::outbox::{RecvError, outbox};
use crate::invariants::check_empty;
use crate::measure::process::{resident_kb, thread_count};

/// Resident memory may grow by at most this much between the end of the warm-up cycles and
/// the end of the run: the allocator keeps some, a leak of one entry per client per cycle
/// (hundreds of bytes × 500 clients × 40 cycles) goes far past it.
pub const RSS_GROWTH_BOUND_KB: u64 = 8 * 1024;

const CLIENTS: usize = 500;
const WARM_UP: usize = 10;

/// Runs `cycles` cycles and returns how many ran, or what leaked.
///
/// The thread count and resident memory are the whole process's: a caller that runs other
/// engines or threads at the same time (tests in one binary run in parallel) must keep them
/// apart from this check, or it reports their threads as this engine's.
pub(crate) fn check(builder: &Builder, cycles: usize) -> Result<u64, String> {
    let threads_before = thread_count();
    let engine = builder.build(EngineConfig::default());
    let tasks_at_start = engine.runtime_tasks();
    let mut rss_after_warm_up = None;
    for cycle in 0..cycles {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|n| {
                let (tx, rx) = outbox(64);
                (engine.connect(Player::new(format!("p{n}"), "leak"), tx), rx)
            })
            .collect();
        for (id, _) in &clients {
            engine.submit(*id, Command::Join { limit: 4 });
        }
        for (id, _) in &clients {
            engine.submit(
                *id,
                Command::Say {
                    data: "hello".into(),
                },
            );
        }
        engine.tick(Duration::from_secs(cycle as u64));
        for (id, _) in &clients {
            engine.disconnect(*id);
        }
        engine.quiesce();
        let broken = check_empty(&engine.snapshot());
        if !broken.is_empty() {
            return Err(format!("cycle {cycle}: {broken:?}"));
        }
        for (id, rx) in &clients {
            // Everything queued is readable; then the outbox must be over: every sender gone.
            while rx.try_recv().is_ok() {}
            if rx.try_recv() != Err(RecvError::Closed(crate::CloseReason::Disconnected)) {
                return Err(format!("cycle {cycle}: {id}'s outbox was not let go"));
            }
        }
        if let (Some(start), Some(now)) = (tasks_at_start, engine.runtime_tasks())
            && now > start
        {
            return Err(format!(
                "cycle {cycle}: {now} tasks alive on the engine's runtime, {start} after it \
                 started"
            ));
        }
        builder.progress().step();
        if cycle + 1 == WARM_UP {
            rss_after_warm_up = resident_kb();
        }
    }
    if let (Some(before), Some(after)) = (rss_after_warm_up, resident_kb())
        && after > before + RSS_GROWTH_BOUND_KB
    {
        return Err(format!(
            "resident memory grew from {before} kB to {after} kB after warm-up"
        ));
    }
    drop(engine);
    let threads_after = thread_count();
    if threads_after > threads_before {
        return Err(format!(
            "{threads_before} threads before the engine, {threads_after} after it was dropped"
        ));
    }
    Ok(cycles as u64)
}
