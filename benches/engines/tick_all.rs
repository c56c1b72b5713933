//! The `tick_all` group: the world's 1 s tick to 10,000 clients, sent by one ticker.

use criterion::Criterion;

use crate::callers::Crew;
use crate::harness::{Ctx, Workload, closed_group};
use crate::seating::connect_all;
use crate::support::{Window, now_ns, sized};

/// `tick_all`: `clients` connected clients; thread 0 is the world ticker and sends `ticks`
/// ticks, each after its own clients heard the previous one; every thread reads its clients'
/// ticks. The other threads make no operations, so the fairness record shows one ticker.
struct TickAll {
    clients: usize,
    ticks: usize,
}

impl Workload for TickAll {
    fn ops(&self) -> u64 {
        self.ticks as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        connect_all(ctx, self.clients)
    }

    fn batch(&self, ctx: &Ctx, thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let clients = crew.clients.len();
        for _ in 0..self.ticks {
            if thread == 0 {
                ctx.ticks.tick(&*ctx.engine, now_ns());
                window.ops(1);
            }
            for client in &mut crew.clients {
                client.owed += 1;
            }
            crew.collect(
                &ctx.ticks,
                0..clients,
                |c| c.ticks >= c.owed,
                "tick_all: Tick",
            );
        }
        window.done();
    }
}

pub(crate) fn tick_all(c: &mut Criterion) {
    let (clients, ticks) = sized((10_000, 16), (1_000, 2));
    closed_group(c, "tick_all", || TickAll { clients, ticks });
}
