//! The `shout_fanout_1k` and `shout_fanout_10k` groups: shouts to 1,000 and to 10,000
//! connected clients.

use criterion::Criterion;

use crate::callers::{Crew, shout};
use crate::harness::{Ctx, Workload, closed_group};
use crate::seating::connect_all;
use crate::support::{Window, now_ns, sized};

/// `shout_fanout_*`: `clients` connected clients; a batch is `shouts` shouts in rounds of one
/// per thread, each thread reading until its clients have heard every shout of the round. A
/// thread is at most one round ahead of the slowest, so no outbox holds more than two rounds.
struct Fanout {
    clients: usize,
    shouts: usize,
}

impl Workload for Fanout {
    fn ops(&self) -> u64 {
        self.shouts as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        assert_eq!(self.shouts % ctx.threads, 0, "shouts split evenly");
        connect_all(ctx, self.clients)
    }

    fn batch(&self, ctx: &Ctx, _thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let rounds = self.shouts / ctx.threads;
        let clients = crew.clients.len();
        for round in 0..rounds {
            let from = crew.clients[crew.next % clients].id;
            crew.next += 1;
            shout(&*ctx.engine, from, now_ns());
            window.ops(1);
            if round + 1 == rounds {
                window.done();
            }
            for client in &mut crew.clients {
                client.owed += ctx.threads as u64;
            }
            crew.collect(
                &ctx.ticks,
                0..clients,
                |c| c.shouted >= c.owed,
                "fanout: Shouted",
            );
        }
    }
}

pub(crate) fn shout_fanout(c: &mut Criterion) {
    let shouts = sized(128, 8);
    closed_group(c, "shout_fanout_1k", || Fanout {
        clients: 1_000,
        shouts,
    });
    let shouts = sized(16, 8);
    closed_group(c, "shout_fanout_10k", || Fanout {
        clients: 10_000,
        shouts,
    });
}
