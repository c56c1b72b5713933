//! The `contention` group: says into rooms whose popularity is Zipf-skewed, with the hottest
//! room's share of all says as the dial.

use std::collections::BTreeMap;

use criterion::{Criterion, SamplingMode};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::callers::{Crew, say};
use crate::contenders::busy;
use crate::harness::{Ctx, Workload, bench_case};
use crate::seating::{WIDE_LIMITS, seat};
use crate::support::{self, Window, configure, now_ns, sized};

/// How skewed `contention`'s says are.
#[derive(Clone, Copy, Debug)]
enum Hot {
    /// The hottest room gets this share of all says, the rest fall off as a Zipf law (1.0:
    /// every say goes to one room).
    Share(f64),
    /// Every room is as likely.
    Uniform,
}

impl Hot {
    fn label(self) -> String {
        match self {
            Hot::Share(share) => format!("hot{}", (share * 100.0).round()),
            Hot::Uniform => "uniform".to_owned(),
        }
    }
}

/// The cumulative distribution of room ranks `0..rooms` under `hot`.
fn zipf_cdf(rooms: usize, hot: Hot) -> Vec<f64> {
    let exponent = match hot {
        Hot::Share(share) if share >= 1.0 => return vec![1.0; rooms],
        Hot::Share(share) => zipf_exponent(rooms, share),
        Hot::Uniform => 0.0,
    };
    let weights: Vec<f64> = (1..=rooms).map(|k| (k as f64).powf(-exponent)).collect();
    let total: f64 = weights.iter().sum();
    let mut sum = 0.0;
    weights
        .iter()
        .map(|w| {
            sum += w / total;
            sum
        })
        .collect()
}

/// The Zipf exponent under which the first of `rooms` ranks has `share` of the mass, found by
/// bisection: that share, 1 / Σ k^-s, rises with s from 1/rooms at s = 0.
fn zipf_exponent(rooms: usize, share: f64) -> f64 {
    let top = |s: f64| 1.0 / (1..=rooms).map(|k| (k as f64).powf(-s)).sum::<f64>();
    if share <= top(0.0) {
        return 0.0;
    }
    let (mut low, mut high) = (0.0, 64.0);
    for _ in 0..60 {
        let mid = (low + high) / 2.0;
        if top(mid) < share {
            low = mid;
        } else {
            high = mid;
        }
    }
    (low + high) / 2.0
}

/// A room rank drawn from `cdf`.
fn sample(cdf: &[f64], rng: &mut SmallRng) -> usize {
    let u: f64 = rng.random();
    cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
}

/// `contention`: `sets` sets of full rooms of [`WIDE_LIMITS`] (rank order alternates limits,
/// so neighbouring ranks live in different shards). A batch is `rounds` rounds of
/// [`CONTENTION_ROUND`] says shared by the threads; each say goes to a room drawn from the
/// Zipf law of `hot` and is made by a member that the thread owns. The plan is drawn once,
/// so each thread knows what its clients are owed each round and waits for exactly that: no
/// thread gets more than a round ahead, and a hot room's members hold at most two rounds.
struct Contention {
    hot: Hot,
    sets: usize,
    rounds: usize,
    /// `plan[thread][round]`.
    plan: Vec<Vec<Round>>,
}

/// Says per round, all threads together: with the one-round lead, at most 128 events wait in
/// a hot room member's outbox of 256.
const CONTENTION_ROUND: usize = 64;

#[derive(Default)]
struct Round {
    /// The thread's clients that say something, in order.
    says: Vec<usize>,
    /// How many `Said` each of the thread's clients hears this round.
    owed: Vec<(usize, u64)>,
}

impl Workload for Contention {
    fn ops(&self) -> u64 {
        (self.rounds * CONTENTION_ROUND) as u64
    }

    fn prepare(&mut self, ctx: &Ctx) -> Vec<Crew> {
        let threads = ctx.threads;
        assert_eq!(CONTENTION_ROUND % threads, 0, "a round splits evenly");
        let (crews, rooms) = seat(ctx, &WIDE_LIMITS, self.sets);
        let cdf = zipf_cdf(rooms.len(), self.hot);
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        self.plan = (0..threads).map(|_| Vec::new()).collect();
        for _ in 0..self.rounds {
            let mut owed: Vec<BTreeMap<usize, u64>> = vec![BTreeMap::new(); threads];
            for (thread, plan) in self.plan.iter_mut().enumerate() {
                let mut round = Round::default();
                for _ in 0..CONTENTION_ROUND / threads {
                    let members = &rooms[sample(&cdf, &mut rng)];
                    let mine: Vec<usize> = members
                        .iter()
                        .filter(|&&(owner, _)| owner == thread)
                        .map(|&(_, index)| index)
                        .collect();
                    assert!(!mine.is_empty(), "every thread has a member in every room");
                    let sayer = mine[rng.random_range(0..mine.len())];
                    round.says.push(sayer);
                    for &(owner, index) in members {
                        if (owner, index) != (thread, sayer) {
                            *owed[owner].entry(index).or_default() += 1;
                        }
                    }
                }
                plan.push(round);
            }
            for (plan, owed) in self.plan.iter_mut().zip(owed) {
                if let Some(round) = plan.last_mut() {
                    round.owed = owed.into_iter().collect();
                }
            }
        }
        crews
    }

    fn batch(&self, ctx: &Ctx, thread: usize, crew: &mut Crew, window: &mut Window<'_>) {
        let engine = &*ctx.engine;
        let rounds = &self.plan[thread];
        for (n, round) in rounds.iter().enumerate() {
            for &i in &round.says {
                say(engine, crew.clients[i].id, now_ns());
                window.ops(1);
            }
            if n + 1 == rounds.len() {
                window.done();
            }
            for &(i, heard) in &round.owed {
                crew.clients[i].owed += heard;
            }
            let listeners = round.owed.iter().map(|&(i, _)| i);
            crew.collect(
                &ctx.ticks,
                listeners,
                |c| c.said >= c.owed,
                "contention: Said",
            );
        }
    }
}

pub(crate) fn contention(c: &mut Criterion) {
    let (sets, rounds) = sized((256, 64), (32, 2));
    support::machine();
    let mut group = c.benchmark_group("contention");
    configure(&mut group, SamplingMode::Flat);
    let dial = [
        Hot::Share(1.0),
        Hot::Share(0.25),
        Hot::Share(0.05),
        Hot::Share(0.01),
        Hot::Uniform,
    ];
    for hot in dial {
        for case in busy() {
            let param = format!("{}-t{}", hot.label(), case.1);
            let work = Contention {
                hot,
                sets,
                rounds,
                plan: Vec::new(),
            };
            bench_case(&mut group, "contention", case, &param, work);
        }
    }
    group.finish();
}
