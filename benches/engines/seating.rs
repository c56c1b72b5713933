//! Clients for the workloads: connected only, or connected and seated in full rooms of the
//! given sizes, dealt to the caller threads.

use lockchan::{Command, DEFAULT_OUTBOX_CAPACITY, Player, outbox};

use crate::callers::{Client, Crew};
use crate::harness::Ctx;

/// Room sizes of the seated workloads; one room of each is a *set* of 22 clients. The rooms of
/// a limit live in shard `limit % shards`, so these four fall on four shards at 4 and
/// alternate at 2: every stripe of the lock engine and every room actor gets work.
pub(crate) const LIMITS: [u8; 4] = [4, 5, 6, 7];

/// Room sizes of `contention`: at least 8 members, so that each of up to 8 caller threads has
/// a member in every room to say something with.
pub(crate) const WIDE_LIMITS: [u8; 4] = [8, 9, 10, 11];

/// Connects `clients` clients, dealt to the threads round robin.
pub(crate) fn connect_all(ctx: &Ctx, clients: usize) -> Vec<Crew> {
    let mut crews: Vec<Crew> = (0..ctx.threads).map(Crew::new).collect();
    for k in 0..clients {
        let (tx, rx) = outbox(DEFAULT_OUTBOX_CAPACITY);
        let id = ctx
            .engine
            .connect(Player::new(format!("p{k}"), "bench"), tx);
        crews[k % ctx.threads].clients.push(Client::new(id, rx, 0));
    }
    ctx.engine.quiesce();
    crews
}

/// A room's members, as (thread, index in that thread's crew).
pub(crate) type Members = Vec<(usize, usize)>;

/// Connects `sets` sets of clients (one room's worth for each of `limits`) and seats them,
/// dealing the joiners to the threads round robin so that a room's members belong to as many
/// threads as it has seats, up to all of them. Joins are made one at a time, so room `n` of
/// the result is exactly the `n`th group of joiners. Returns once every room has matched.
pub(crate) fn seat(ctx: &Ctx, limits: &[u8], sets: usize) -> (Vec<Crew>, Vec<Members>) {
    let engine = &*ctx.engine;
    let mut crews: Vec<Crew> = (0..ctx.threads).map(Crew::new).collect();
    let mut rooms = Vec::with_capacity(sets * limits.len());
    let mut k = 0;
    for _ in 0..sets {
        for &limit in limits {
            let mut members = Vec::with_capacity(usize::from(limit));
            for _ in 0..limit {
                let thread = k % ctx.threads;
                k += 1;
                let (tx, rx) = outbox(DEFAULT_OUTBOX_CAPACITY);
                let id = engine.connect(Player::new(format!("p{k}"), "bench"), tx);
                engine.submit(id, Command::Join { limit });
                let mut client = Client::new(id, rx, limit);
                client.joining = true;
                members.push((thread, crews[thread].clients.len()));
                crews[thread].clients.push(client);
            }
            rooms.push(members);
        }
    }
    engine.quiesce();
    for crew in &mut crews {
        let all = 0..crew.clients.len();
        crew.collect(&ctx.ticks, all, |c| c.matched >= 1, "setup: Matched");
    }
    (crews, rooms)
}

pub(crate) fn set_size(limits: &[u8]) -> usize {
    limits.iter().map(|&l| usize::from(l)).sum()
}
