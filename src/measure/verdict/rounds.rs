//! Interleaved rounds: the measurement design every comparison uses. Each round runs every
//! contender once, in an order shuffled per round from a seed, so that whatever the shared
//! machine does over the run (another build starting, the CPU warming, a neighbour's burst)
//! lands on all contenders alike instead of on whichever ran during it. Each round's figures
//! are kept as trials; the statistics compare the trials, never a single run.

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

/// How many rounds a comparison takes by default: enough for the rank test to call a clear
/// difference at 5% (ten a side), few enough to stay within minutes.
pub const DEFAULT_ROUNDS: usize = 10;

/// The order contenders run in, round by round: round `r` is a permutation of
/// `0..contenders`, shuffled by a generator seeded from `seed` and `r`, so a rerun with the
/// same seed repeats the same schedule and each round's order is independent of the others.
pub fn schedule(contenders: usize, rounds: usize, seed: u64) -> Vec<Vec<usize>> {
    (0..rounds)
        .map(|round| {
            let mut order: Vec<usize> = (0..contenders).collect();
            let mut rng = SmallRng::seed_from_u64(seed ^ (round as u64).wrapping_mul(0x9E37_79B9));
            order.shuffle(&mut rng);
            order
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_runs_every_contender_once() {
        for round in schedule(5, 12, 7) {
            let mut sorted = round.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
        }
    }

    #[test]
    fn the_schedule_repeats_for_a_seed_and_the_order_varies_between_rounds() {
        assert_eq!(schedule(4, 10, 3), schedule(4, 10, 3));
        let rounds = schedule(4, 10, 3);
        let firsts: std::collections::BTreeSet<usize> = rounds.iter().map(|r| r[0]).collect();
        assert!(
            firsts.len() > 1,
            "every round started with the same contender: {rounds:?}"
        );
        assert_ne!(schedule(4, 10, 3), schedule(4, 10, 4));
    }
}
