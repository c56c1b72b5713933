//! Fixture trees for the report's and the gate's tests: criterion results, extra stats, a duel
//! and a verification summary, written into a fresh directory under the system's temp dir and
//! removed when the fixture is dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

/// Tests run in parallel threads of one process; the counter keeps their trees apart.
static NEXT: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct Fixture {
    pub(crate) root: PathBuf,
}

impl Fixture {
    pub(crate) fn new(name: &str) -> Fixture {
        let root = std::env::temp_dir().join(format!(
            "lockchan-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A tree left by a crashed run with the same pid would mix in stale files.
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("the fixture directory is created");
        Fixture { root }
    }

    pub(crate) fn criterion(&self) -> PathBuf {
        self.root.join("target/criterion")
    }

    pub(crate) fn extra(&self) -> PathBuf {
        self.root.join("target/lockchan-bench")
    }

    pub(crate) fn reports(&self) -> PathBuf {
        self.root.join("reports")
    }

    pub(crate) fn verification_path(&self) -> PathBuf {
        self.reports().join("verification.json")
    }

    /// The gate's inputs under their default names in this tree's reports.
    pub(crate) fn gate_paths(&self) -> crate::gate::GatePaths {
        crate::gate::GatePaths {
            trials: self.reports().join(crate::gate::TRIALS_FILE),
            verification: self.verification_path(),
            e2e_trials: self.reports().join(crate::gate::E2E_TRIALS_FILE),
        }
    }

    pub(crate) fn write(&self, path: &Path, text: &str) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the fixture directory is created");
        }
        std::fs::write(path, text).expect("the fixture file is written");
    }

    /// A criterion result `group/function/param` whose mean is `mean_ns` per iteration, with
    /// a confidence interval 5% either side, laid out as criterion lays it out.
    pub(crate) fn bench(
        &self,
        group: &str,
        function: &str,
        param: &str,
        elements: Option<u64>,
        mean_ns: f64,
    ) {
        let dir = self.criterion().join(group).join(function).join(param);
        let throughput = elements.map(|n| json!({ "Elements": n }));
        let id = format!("{group}/{function}/{param}");
        let benchmark = json!({
            "group_id": group,
            "function_id": function,
            "value_str": param,
            "throughput": throughput,
            "full_id": id,
            "directory_name": id,
            "title": id,
        });
        let estimate = |point: f64| {
            json!({
                "confidence_interval": {
                    "confidence_level": 0.95,
                    "lower_bound": point * 0.95,
                    "upper_bound": point * 1.05,
                },
                "point_estimate": point,
                "standard_error": point * 0.01,
            })
        };
        let estimates = json!({
            "mean": estimate(mean_ns),
            "median": estimate(mean_ns),
            "median_abs_dev": estimate(mean_ns * 0.01),
            "slope": null,
            "std_dev": estimate(mean_ns * 0.02),
        });
        self.write(&dir.join("new/benchmark.json"), &benchmark.to_string());
        self.write(&dir.join("new/estimates.json"), &estimates.to_string());
    }

    /// The extra stats of one run, with latency percentiles given and the rest derived from
    /// them so each file differs.
    pub(crate) fn extra_stats(
        &self,
        group: &str,
        engine: &str,
        param: &str,
        latency: [u64; 4],
        machine_commit: &str,
    ) {
        let stats = json!({
            "group": group,
            "engine": engine,
            "param": param,
            "threads": 4,
            "ops": 100_000,
            "latency_us": {
                "p50": latency[0], "p99": latency[1], "p999": latency[2], "max": latency[3],
            },
            "fairness": { "min_ops": 24_000, "max_ops": 26_000, "jain": 0.998 },
            "cpu_us_per_op": 1.25,
            "ctx_switches_per_op": { "voluntary": 0.5, "involuntary": 0.0125 },
            "peak_rss_kb": 20_480,
            "machine": {
                "cpu": "Test CPU 9000",
                "cores": 2,
                "kernel": "6.1.0-test",
                "rustc": "rustc 1.95.0",
                "commit": machine_commit,
                "date": "2026-01-02T03:04:05Z",
            },
        });
        let file = self
            .extra()
            .join(format!("{group}__{engine}__{param}.json"));
        self.write(&file, &stats.to_string());
    }

    /// `reports/verification.json` with each engine's checks passing or not.
    pub(crate) fn verification(&self, engines: &[(&str, &[bool])]) {
        let engines: serde_json::Map<String, serde_json::Value> = engines
            .iter()
            .map(|(engine, checks)| {
                let checks: Vec<_> = checks
                    .iter()
                    .enumerate()
                    .map(|(i, passed)| {
                        json!({
                            "name": format!("check-{i}"),
                            "passed": passed,
                            "explored": 1000,
                            "seconds": 0.5,
                            "detail": if *passed { None } else { Some("client 3 saw a stale room") },
                        })
                    })
                    .collect();
                ((*engine).to_owned(), json!({ "checks": checks }))
            })
            .collect();
        self.write(
            &self.verification_path(),
            &json!({
                "engines": engines, "seed": 1, "unix_time": 1_795_554_030,
                "engine_source_hash": crate::engines::ENGINE_SOURCE_HASH,
            })
            .to_string(),
        );
    }

    /// `reports/duel.json` with the model and one engine, in `DuelReport`'s shape.
    pub(crate) fn duel(&self) {
        let row = |engine: &str, threads: u64, ops_per_sec: f64, held: bool| {
            json!({
                "engine": engine, "threads": threads, "ops": 496_090,
                "seconds": 496_090.0 / ops_per_sec, "ops_per_sec": ops_per_sec,
                "p50_us": 95, "p99_us": 33_535, "max_us": 47_007,
                "events_delivered": 2_160_000, "slow_consumer_cuts": 0,
                "invariants_held": held,
                "broken": if held { json!([]) } else { json!(["client 7 saw Matched twice"]) },
            })
        };
        let duel = json!({
            "config": {
                "clients": 8000, "threads": 4, "shards": [1, 4], "room_size": 4, "rounds": 10,
                "says": 4, "shouts": 8, "outbox_capacity": 256, "seed": 1,
            },
            "machine": {
                "cpu": "Duel CPU", "cores": 2, "os": "linux x86_64",
                "unix_time": 1_795_554_030, "lockchan": "0.1.0",
            },
            "rows": [
                row("model", 1, 120_000.0, true),
                row("lock/1", 4, 300_000.0, true),
                row("actor/1", 4, 240_000.0, false),
            ],
        });
        self.write(&self.reports().join("duel.json"), &duel.to_string());
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Cleaning up is a courtesy; a leftover tree in the temp dir fails nothing.
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
