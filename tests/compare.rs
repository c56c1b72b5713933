//! `lockchan compare OLD NEW` as CI runs it: the binary on two result sets in a temp dir,
//! judged by its exit status (0 no regression, 1 regressed beyond the threshold, 2 the files
//! could not be compared) and its markdown table.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lockchan::verdict::{Better, Provenance, ResultSet};

/// A scratch directory removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let root =
            std::env::temp_dir().join(format!("lockchan-compare-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("the scratch directory is created");
        Dir(root)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Ten rounds of two contenders on two cases, throughput and p99, each trial off its centre
/// by a fixed pattern of up to ±4% with a median of 0: deterministic, and noisy enough for
/// ranks to interleave.
/// `scale` multiplies `lock/1`'s throughput on `mixed/4threads` and divides its latency.
fn result_set(scale: f64) -> ResultSet {
    let mut set = ResultSet::new(Provenance::read());
    set.declare("throughput", "ops/s", Better::Higher);
    set.declare("p99", "µs", Better::Lower);
    let wobble = [0.0, 0.03, -0.02, 0.04, -0.04, 0.01, -0.01, 0.02, -0.03, 0.0];
    for case in ["mixed/4threads", "churn/2threads"] {
        for (contender, ops, p99) in [("lock/1", 400_000.0, 90.0), ("actor/1", 250_000.0, 140.0)] {
            let planted = case == "mixed/4threads" && contender == "lock/1";
            let factor = if planted { scale } else { 1.0 };
            for w in wobble {
                set.push(case, contender, "throughput", ops * factor * (1.0 + w))
                    .expect("declared and finite");
                set.push(case, contender, "p99", p99 / factor * (1.0 - w))
                    .expect("declared and finite");
            }
        }
    }
    set
}

fn save(dir: &Dir, name: &str, set: &ResultSet) -> PathBuf {
    let path = dir.0.join(name);
    set.write(&path).expect("the result set is written");
    path
}

fn compare(old: &Path, new: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockchan"))
        .arg("compare")
        .arg(old)
        .arg(new)
        .args(extra)
        .output()
        .expect("lockchan runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn identical_inputs_exit_zero_with_no_change() {
    let dir = Dir::new("identical");
    let old = save(&dir, "old.json", &result_set(1.0));
    let output = compare(&old, &old, &[]);
    let table = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(table.contains("| case | contender | metric | old | new | change | verdict |"));
    // Two cases × two contenders × two metrics, all unchanged.
    assert_eq!(
        table
            .matches("| no change | no significant difference (~ p=1.000 n=10) |")
            .count(),
        8,
        "{table}"
    );
}

#[test]
fn a_planted_20_percent_regression_exits_one() {
    let dir = Dir::new("regression");
    let old = save(&dir, "old.json", &result_set(1.0));
    // The old ran 20% faster: 1/1.2 of the throughput, 1.2× the latency.
    let new = save(&dir, "new.json", &result_set(1.0 / 1.2));
    let output = compare(&old, &new, &[]);
    let table = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{table}\n{}",
        text(&output.stderr)
    );
    assert_eq!(
        table
            .matches("| **regressed** | old is faster than new by ")
            .count(),
        2,
        "{table}"
    );
    assert!(
        table.contains("| mixed/4threads | lock/1 | throughput (ops/s) | 400,000 | 333,333 |"),
        "{table}"
    );
    assert!(text(&output.stderr).contains("regressed: mixed/4threads lock/1 p99"));
    // A threshold above the effect lets it pass, still reported as a regression.
    let lenient = compare(&old, &new, &["--threshold", "30"]);
    assert_eq!(lenient.status.code(), Some(0));
    assert_eq!(
        text(&lenient.stdout)
            .matches("| regressed | old is faster")
            .count(),
        2
    );
}

#[test]
fn an_improvement_exits_zero() {
    let dir = Dir::new("improvement");
    let old = save(&dir, "old.json", &result_set(1.0));
    let new = save(&dir, "new.json", &result_set(1.2));
    let output = compare(&old, &new, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout)
            .matches("| improved | new is faster than old by ")
            .count(),
        2
    );
}

#[test]
fn unreadable_or_unrelated_input_exits_two() {
    let dir = Dir::new("unreadable");
    let old = save(&dir, "old.json", &result_set(1.0));
    let missing = compare(&old, &dir.0.join("missing.json"), &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("reading the new result set"));
    let garbage = dir.0.join("garbage.json");
    std::fs::write(&garbage, "not json").expect("written");
    assert_eq!(compare(&garbage, &old, &[]).status.code(), Some(2));
    let mut other = ResultSet::new(Provenance::default());
    other.declare("throughput", "ops/s", Better::Higher);
    other
        .push("broadcast/8threads", "lock/2", "throughput", 1.0)
        .expect("declared");
    let other = save(&dir, "other.json", &other);
    let unrelated = compare(&old, &other, &[]);
    assert_eq!(unrelated.status.code(), Some(2));
    assert!(text(&unrelated.stderr).contains("nothing was compared"));
}
