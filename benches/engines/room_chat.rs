//! The `room_chat` group (every client of full rooms says 4 times) and `critical_section`
//! (`room_chat` at 4 threads with simulated game logic per `Say` inside the engine's critical
//! section or outside it), which share one workload.

use criterion::{Criterion, SamplingMode};
use lockchan::EngineConfig;

use crate::callers::{Crew, say, sweep_every};
use crate::contenders::busy;
use crate::harness::{Ctx, Workload, bench_case, closed_group};
use crate::seating::{LIMITS, seat, set_size};
use crate::support::{self, Window, configure, now_ns, sized};

/// `room_chat`: `sets` sets of full rooms; each batch every client says `says` times, and each
/// thread waits until its clients have heard every word of their roommates.
struct RoomChat {
    sets: usize,
    says: usize,
    /// Units of simulated game logic per `Say` done by the engine while it holds the room
    /// (`inside`) or by the caller before it submits (`outside`): the `critical_section` dial.
    inside: u32,
    outside: u32,
}

impl Workload for RoomChat {
    fn ops(&self) -> u64 {
        (self.sets * set_size(&LIMITS) * self.says) as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        seat(ctx, &LIMITS, self.sets).0
    }

    fn batch(&self, ctx: &Ctx, _thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let engine = &*ctx.engine;
        let clients = crew.clients.len();
        let every = sweep_every(clients);
        let mut made = 0;
        for _ in 0..self.says {
            for i in 0..clients {
                lockchan::work::burn(self.outside);
                say(engine, crew.clients[i].id, now_ns());
                window.ops(1);
                made += 1;
                if made % every == 0 {
                    crew.sweep(&ctx.ticks);
                }
            }
        }
        window.done();
        for client in &mut crew.clients {
            client.owed += (self.says * usize::from(client.limit - 1)) as u64;
        }
        crew.collect(
            &ctx.ticks,
            0..clients,
            |c| c.said >= c.owed,
            "room_chat: Said",
        );
    }

    fn config(&self) -> EngineConfig {
        EngineConfig {
            say_work: self.inside,
            ..EngineConfig::default()
        }
    }
}

pub(crate) fn room_chat(c: &mut Criterion) {
    let (sets, says) = sized((104, 4), (8, 1));
    closed_group(c, "room_chat", || RoomChat {
        sets,
        says,
        inside: 0,
        outside: 0,
    });
}

/// `critical_section`: `room_chat` at 4 threads with the same simulated game logic per `Say`
/// either inside the engine's critical section (under the room's lock, on the room's actor) or
/// outside it (by the caller, before it submits): `in-200`, `out-200`, `in-2000`, `out-2000`
/// units of about a nanosecond each.
pub(crate) fn critical_section(c: &mut Criterion) {
    let (sets, says) = sized((52, 2), (8, 1));
    support::machine();
    let mut group = c.benchmark_group("critical_section");
    configure(&mut group, SamplingMode::Flat);
    for units in [200, 2000] {
        for (place, inside, outside) in [("in", units, 0), ("out", 0, units)] {
            for case in busy() {
                let param = format!("{place}-{units}-t{}", case.1);
                let work = RoomChat {
                    sets,
                    says,
                    inside,
                    outside,
                };
                bench_case(&mut group, "critical_section", case, &param, work);
            }
        }
    }
    group.finish();
}
