//! The `churn` group: clients connect, join, wait for `Matched`, say twice, and disconnect.

use criterion::Criterion;
use lockchan::{Command, DEFAULT_OUTBOX_CAPACITY, Player, outbox};

use crate::callers::{Client, Crew, say, share};
use crate::harness::{Ctx, Workload, closed_group};
use crate::seating::{LIMITS, set_size};
use crate::support::{Window, now_ns, sized};

/// `churn`: each thread's share of `waves` waves; a wave connects one room's worth of clients
/// for each limit, joins them, waits until each has `Matched`, has each say `says` times,
/// reads, and disconnects them all. Rooms mix the waves of all threads, as they mix strangers.
struct Churn {
    waves: usize,
    says: usize,
}

impl Workload for Churn {
    fn ops(&self) -> u64 {
        // Per client: connect, join, its says, disconnect.
        (self.waves * set_size(&LIMITS) * (3 + self.says)) as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        (0..ctx.threads).map(Crew::new).collect()
    }

    fn batch(&self, ctx: &Ctx, thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let engine = &*ctx.engine;
        let waves = share(self.waves, ctx.threads, thread);
        for wave in 0..waves {
            for &limit in &LIMITS {
                for _ in 0..limit {
                    let (tx, rx) = outbox(DEFAULT_OUTBOX_CAPACITY);
                    let id = engine.connect(Player::new("churn", "bench"), tx);
                    crew.clients.push(Client::new(id, rx, limit));
                    window.ops(1);
                }
            }
            for client in &mut crew.clients {
                client.joining = true;
                let limit = client.limit;
                engine.submit(client.id, Command::Join { limit });
                window.ops(1);
            }
            let all = 0..crew.clients.len();
            crew.collect(&ctx.ticks, all, |c| c.matched >= 1, "churn: Matched");
            for _ in 0..self.says {
                for client in &crew.clients {
                    say(engine, client.id, now_ns());
                    window.ops(1);
                }
            }
            crew.sweep(&ctx.ticks);
            for client in &crew.clients {
                engine.disconnect(client.id);
                window.ops(1);
            }
            if wave + 1 == waves {
                window.done();
            }
            crew.clients.clear();
        }
    }
}

pub(crate) fn churn(c: &mut Criterion) {
    let waves = sized(48, 8);
    closed_group(c, "churn", || Churn { waves, says: 2 });
}
