//! The robust statistics behind every verdict: the median of a contender's trials, a
//! percentile-bootstrap confidence interval of the ratio between two medians, and the
//! Mann–Whitney U rank test. Pure functions of the samples; the bootstrap's seed is fixed, so
//! the same samples always give the same interval.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Resamples drawn for each bootstrap interval. At 10,000 the 2.5th and 97.5th percentiles
/// each sit on 250 resamples, so rerunning with another seed moves them by well under a
/// percent of the ratio, far less than the interval is wide on a noisy machine.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The bootstrap's seed. Fixed so that a verdict is a function of its samples alone: a rerun
/// of `compare` or the gate on the same files prints the same interval.
pub const BOOTSTRAP_SEED: u64 = 0x6c6f_636b_6368_616e;

/// The confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// Up to this many trials on each side, and with no tied values, the rank test's p-value is
/// exact; beyond it, or with ties, the normal approximation is used, as benchstat does.
pub const EXACT_RANK_LIMIT: usize = 50;

/// The ratio of two medians, `a / b`, with its bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatioInterval {
    /// `median(a) / median(b)` on the samples as measured.
    pub ratio: f64,
    /// The interval's bounds ([`CONFIDENCE`], percentile bootstrap).
    pub lo: f64,
    pub hi: f64,
}

/// The median of `samples`, or `None` when there are none. The mean of the middle two for an
/// even count. NaN sorts last and so only moves the median if most samples are NaN; callers
/// reject non-finite samples before this.
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    median_in_place(&mut sorted)
}

/// [`median`] on a scratch buffer it may reorder, so the bootstrap allocates nothing per
/// resample.
fn median_in_place(samples: &mut [f64]) -> Option<f64> {
    let n = samples.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (below, upper, _) = samples.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    // After selection every value below `mid` is at most `upper`; the largest of them is the
    // lower middle value.
    let lower = below.iter().copied().max_by(f64::total_cmp)?;
    Some((lower + upper) / 2.0)
}

/// The ratio `median(a) / median(b)` and its percentile-bootstrap interval: each resample
/// draws `a` and `b` independently with replacement, keeping their sizes, and takes the
/// ratio of the resampled medians; the interval is the middle [`CONFIDENCE`] of those
/// ratios.
///
/// The two sides are resampled independently, not pairwise by round: the interval then
/// serves as well for two runs whose rounds do not correspond (`compare OLD NEW`) as for two
/// contenders interleaved in one run, where interleaving has already spread the machine's
/// drift evenly over both.
///
/// `None` when either side is empty or a median is not a positive finite number, where a
/// ratio means nothing.
pub fn ratio_interval(a: &[f64], b: &[f64], resamples: usize, seed: u64) -> Option<RatioInterval> {
    let ratio = positive(median(a)?)? / positive(median(b)?)?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut scratch_a = vec![0.0; a.len()];
    let mut scratch_b = vec![0.0; b.len()];
    let mut ratios = Vec::with_capacity(resamples.max(1));
    for _ in 0..resamples {
        for slot in scratch_a.iter_mut() {
            *slot = a[rng.random_range(0..a.len())];
        }
        for slot in scratch_b.iter_mut() {
            *slot = b[rng.random_range(0..b.len())];
        }
        let ma = median_in_place(&mut scratch_a)?;
        let mb = median_in_place(&mut scratch_b)?;
        // A resample of `b` can hold only its zeros even when its median is positive; such
        // a resample has no ratio and is left out rather than counted as infinite.
        if let Some(mb) = positive(mb) {
            ratios.push(ma / mb);
        }
    }
    if ratios.is_empty() {
        return Some(RatioInterval {
            ratio,
            lo: ratio,
            hi: ratio,
        });
    }
    ratios.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    Some(RatioInterval {
        ratio,
        lo: quantile(&ratios, tail),
        hi: quantile(&ratios, 1.0 - tail),
    })
}

fn positive(value: f64) -> Option<f64> {
    (value.is_finite() && value > 0.0).then_some(value)
}

/// The `q` quantile of sorted, non-empty values, interpolating linearly between the two
/// nearest ranks (Hyndman and Fan's type 7, R's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let weight = position - below as f64;
    sorted[below] * (1.0 - weight) + sorted[above] * weight
}

/// The two-sided p-value of the Mann–Whitney U test that `a` and `b` come from the same
/// distribution, against a shift of one against the other. `None` when either side is
/// empty.
///
/// Exact when both sides have at most [`EXACT_RANK_LIMIT`] trials and no value repeats;
/// otherwise the normal approximation with the tie correction of the variance and a
/// continuity correction, as golang.org/x/perf's benchstat does. Samples all equal give 1.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> Option<f64> {
    let (m, n) = (a.len(), b.len());
    if m == 0 || n == 0 {
        return None;
    }
    let (ranks_a, tie_sum) = ranks(a, b);
    let rank_sum: f64 = ranks_a.iter().sum();
    let m_f = m as f64;
    let n_f = n as f64;
    // U of `a`: pairs in which the `a` trial is the larger, a tie counting one half.
    let u = rank_sum - m_f * (m_f + 1.0) / 2.0;
    let p = if tie_sum == 0.0 && m <= EXACT_RANK_LIMIT && n <= EXACT_RANK_LIMIT {
        // U counts whole pairs when nothing ties; the rounding only removes float dust.
        let u = u.round() as usize;
        let distribution = u_distribution(m, n);
        let lower: f64 = distribution[..=u].iter().sum();
        let upper: f64 = distribution[u..].iter().sum();
        2.0 * lower.min(upper)
    } else {
        let total = m_f + n_f;
        let variance = m_f * n_f / 12.0 * ((total + 1.0) - tie_sum / (total * (total - 1.0)));
        if variance <= 0.0 {
            return Some(1.0);
        }
        let centred = u - m_f * n_f / 2.0;
        // The continuity correction moves U half a step toward the mean, never past it.
        let corrected = centred - centred.signum() * 0.5_f64.min(centred.abs());
        let z = corrected / variance.sqrt();
        2.0 * standard_normal_cdf(-z.abs())
    };
    Some(p.min(1.0))
}

/// Mid-ranks of `a`'s values in the pooled sample, and Σ(t³ − t) over the groups of `t` tied
/// values, the tie correction's numerator.
fn ranks(a: &[f64], b: &[f64]) -> (Vec<f64>, f64) {
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let mut ranks_a = Vec::with_capacity(a.len());
    let mut tie_sum = 0.0;
    let mut start = 0;
    while start < pooled.len() {
        let mut end = start + 1;
        while end < pooled.len() && pooled[end].0 == pooled[start].0 {
            end += 1;
        }
        let tied = (end - start) as f64;
        tie_sum += tied * tied * tied - tied;
        // Ranks are 1-based: the group covers ranks start+1 ..= end.
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        ranks_a.extend(pooled[start..end].iter().filter(|p| p.1).map(|_| mid_rank));
        start = end;
    }
    (ranks_a, tie_sum)
}

/// P(U = u) for u in 0..=m·n, when `m` and `n` untied trials come from one distribution, so
/// every interleaving of the two is equally likely. The largest pooled trial is from the
/// first side with probability m/(m+n), and then beats all n of the other; hence
/// p(m, n, u) = m/(m+n)·p(m−1, n, u−n) + n/(m+n)·p(m, n−1, u). Probabilities rather than
/// counts keep every term within f64's range (counts reach C(100, 50) ≈ 10²⁹).
fn u_distribution(m: usize, n: usize) -> Vec<f64> {
    // previous[j] holds p(i−1, j, ·) and current[j] p(i, j, ·) as `i` climbs to `m`.
    let mut previous: Vec<Vec<f64>> = vec![vec![1.0]; n + 1];
    for i in 1..=m {
        let mut current: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        current.push(vec![1.0]);
        for j in 1..=n {
            let total = (i + j) as f64;
            let from_first = i as f64 / total;
            let from_second = j as f64 / total;
            let mut row = vec![0.0; i * j + 1];
            for (u, p) in previous[j].iter().enumerate() {
                row[u + j] += from_first * p;
            }
            for (u, p) in current[j - 1].iter().enumerate() {
                row[u] += from_second * p;
            }
            current.push(row);
        }
        previous = current;
    }
    previous.swap_remove(n)
}

/// Φ(x), through the complementary error function.
fn standard_normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// erfc(x) by the Chebyshev fit of Press et al., *Numerical Recipes* §6.2, with a fractional
/// error under 1.2·10⁻⁷ everywhere: ample for a p-value compared with 0.05. The standard
/// library has no stable `erf`, and this one function does not justify a dependency.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        // One wild trial does not move it.
        assert_eq!(median(&[10.0, 11.0, 12.0, 13.0, 1e9]), Some(12.0));
    }

    #[test]
    fn exact_distribution_is_a_distribution_and_symmetric() {
        let d = u_distribution(4, 6);
        assert_eq!(d.len(), 25);
        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for u in 0..d.len() {
            assert!((d[u] - d[d.len() - 1 - u]).abs() < 1e-12);
        }
        // Complete separation of 3 and 3 is 1 arrangement in C(6, 3) = 20.
        assert!((u_distribution(3, 3)[0] - 1.0 / 20.0).abs() < 1e-12);
    }

    #[test]
    fn exact_p_values_match_the_tables() {
        // Complete separation: two-sided p = 2 / C(m+n, m).
        let p = mann_whitney_p(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!((p - 0.1).abs() < 1e-12, "{p}");
        let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert!((p - 2.0 / 252.0).abs() < 1e-12, "{p}");
        // R: wilcox.test(c(1,3,5,7,9), c(2,4,6,8,10))$p.value = 0.6905.
        let p = mann_whitney_p(&[1.0, 3.0, 5.0, 7.0, 9.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
        assert!((p - 0.690_476).abs() < 1e-5, "{p}");
    }

    #[test]
    fn normal_approximation_with_ties() {
        // Worked by hand: a's mid-ranks 1, 2.5, 2.5, 4.5, 6.5 sum to 17, so U = 2 against a
        // mean of 12.5; four pairs tie, so σ² = 25/12 · (11 − 24/90); the continuity
        // correction makes |U − 12.5| 10, z = −2.1147 and p = 2Φ(z) = 0.034454.
        let p = mann_whitney_p(&[1.0, 2.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 5.0, 6.0]).unwrap();
        assert!((p - 0.034_454).abs() < 1e-5, "{p}");
        assert_eq!(mann_whitney_p(&[2.0; 8], &[2.0; 8]), Some(1.0));
    }

    #[test]
    fn erfc_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        assert!((standard_normal_cdf(-1.959_964) - 0.025).abs() < 1e-7);
    }

    #[test]
    fn interval_brackets_the_ratio_and_is_reproducible() {
        let a: Vec<f64> = (0..15).map(|i| 120.0 + (i % 5) as f64).collect();
        let b: Vec<f64> = (0..15).map(|i| 100.0 + (i % 5) as f64).collect();
        let first = ratio_interval(&a, &b, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        let again = ratio_interval(&a, &b, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        assert_eq!(first, again);
        assert!((first.ratio - 122.0 / 102.0).abs() < 1e-12);
        assert!(
            first.lo <= first.ratio && first.ratio <= first.hi,
            "{first:?}"
        );
        assert!(first.lo > 1.1 && first.hi < 1.3, "{first:?}");
        assert_eq!(ratio_interval(&a, &[0.0, 0.0], 100, 1), None);
        assert_eq!(ratio_interval(&[], &b, 100, 1), None);
    }
}
