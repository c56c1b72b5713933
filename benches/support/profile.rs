//! The profile a bench runs in (full, quick or criterion's test mode), the sizes that follow
//! from it, and the criterion settings that go with it.

use std::sync::OnceLock;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};

/// How much work the benches do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `cargo bench`: the sizes and criterion settings the figures are quoted at.
    Full,
    /// `LOCKCHAN_BENCH_QUICK=1 cargo bench`: tiny sizes and criterion's least settings, for CI;
    /// every case still runs and writes its JSON.
    Quick,
    /// `cargo test --benches`: criterion runs each case once, unoptimized, to prove it works.
    /// Nothing is recorded, so a test run never overwrites a measurement.
    Test,
}

/// The profile of this run, decided once.
pub fn profile() -> Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    *PROFILE.get_or_init(|| {
        // Criterion's own rule: without `--bench` (as under `cargo test --benches`), or with
        // `--test`, it runs every case once instead of measuring.
        let args: Vec<String> = std::env::args().collect();
        let bench = args.iter().any(|arg| arg == "--bench");
        let test = args.iter().any(|arg| arg == "--test");
        if !bench || test {
            Profile::Test
        } else if std::env::var("LOCKCHAN_BENCH_QUICK").is_ok_and(|v| v == "1") {
            Profile::Quick
        } else {
            Profile::Full
        }
    })
}

/// True when sizes should be tiny: the quick profile and test mode.
pub fn small() -> bool {
    profile() != Profile::Full
}

/// Picks the full-profile value or the small one.
pub fn sized<T>(full: T, small: T) -> T {
    if self::small() { small } else { full }
}

/// Applies the suite's criterion settings to a group. Ten samples, half a second of warm-up
/// and a second of measurement per case keep the engine suite's two hundred cases inside
/// fifteen minutes; the quick profile takes criterion's least settings.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>, sampling: SamplingMode) {
    group.sample_size(10).sampling_mode(sampling);
    match profile() {
        Profile::Full => {
            group
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(1));
        }
        Profile::Quick | Profile::Test => {
            group
                .warm_up_time(Duration::from_millis(1))
                .measurement_time(Duration::from_millis(10))
                .nresamples(10_000);
        }
    }
}
