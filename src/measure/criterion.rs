//! Criterion's results as the gate and the report read them: `**/new/benchmark.json` with its
//! `estimates.json` beside it, and what an id says (who ran it, with how many threads).
//!
//! Criterion writes these files but does not export their types, so the fields read here are
//! declared here, once, for both readers; everything else in the files is ignored.

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engines::registry::{EngineKind, EngineSpec};
use crate::measure::files::{
    InputError, natural_cmp, read_dir_if_present, read_json, read_json_if_present,
};

/// Who ran a benchmark: the model, an engine, or a named case of the micro and calibration
/// groups.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Contender {
    Model,
    Engine(EngineSpec),
    Case(String),
}

impl Contender {
    /// Reads a criterion function id or an extra-stats engine: `model`, `lock-4` (or
    /// `lock/4`), `actor-2`, and for an engine without shards its bare name as well as the
    /// benches' `name-1`; anything else is a case name.
    pub(crate) fn parse(id: &str) -> Contender {
        if id == "model" {
            return Contender::Model;
        }
        if let Some((kind, shards)) = id.split_once(['-', '/'])
            && let Ok(kind) = kind.parse::<EngineKind>()
            && let Ok(shards) = shards.parse::<usize>()
            && shards > 0
        {
            return Contender::Engine(EngineSpec::new(kind, shards));
        }
        if let Ok(kind) = id.parse::<EngineKind>()
            && !kind.sharded()
        {
            return Contender::Engine(EngineSpec::new(kind, 1));
        }
        Contender::Case(id.to_owned())
    }

    pub(crate) fn spec(&self) -> Option<EngineSpec> {
        match self {
            Contender::Engine(spec) => Some(*spec),
            Contender::Model | Contender::Case(_) => None,
        }
    }

    fn sort_key(&self) -> (u8, usize, usize, &str) {
        match self {
            Contender::Model => (0, 0, 0, ""),
            Contender::Engine(spec) => (1, spec.kind.index(), spec.shards, ""),
            Contender::Case(name) => (2, 0, 0, name),
        }
    }
}

impl Ord for Contender {
    fn cmp(&self, other: &Contender) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for Contender {
    fn partial_cmp(&self, other: &Contender) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Contender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contender::Model => f.write_str("model"),
            Contender::Engine(spec) => write!(f, "{spec}"),
            Contender::Case(name) => f.write_str(name),
        }
    }
}

/// A benchmark's parameter: `t4` is four caller threads; whatever else it says (`open-50k`,
/// `w4`) is its variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Param {
    pub(crate) raw: String,
    pub(crate) threads: Option<u32>,
    /// The parameter without its thread token; the whole parameter when it has none.
    pub(crate) variant: String,
}

impl Param {
    pub(crate) fn parse(raw: &str) -> Param {
        let tokens: Vec<&str> = raw.split(['-', '_']).collect();
        let thread_token = tokens.iter().enumerate().find_map(|(i, token)| {
            let digits = token.strip_prefix('t')?;
            let threads = digits.parse::<u32>().ok()?;
            (!digits.starts_with('+')).then_some((i, threads))
        });
        match thread_token {
            Some((index, threads)) => Param {
                raw: raw.to_owned(),
                threads: Some(threads),
                variant: tokens
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != index)
                    .map(|(_, token)| *token)
                    .collect::<Vec<_>>()
                    .join("-"),
            },
            None => Param {
                raw: raw.to_owned(),
                threads: None,
                variant: raw.to_owned(),
            },
        }
    }
}

/// One criterion result: `group/function/param`, the work of one iteration and its mean
/// time.
#[derive(Clone, Debug)]
pub(crate) struct BenchResult {
    pub(crate) group: String,
    pub(crate) contender: Contender,
    pub(crate) param: Param,
    /// Elements (operations, items) per iteration, when the benchmark declared them.
    pub(crate) elements: Option<u64>,
    pub(crate) mean_ns: f64,
    /// The mean's confidence interval, in nanoseconds per iteration.
    pub(crate) mean_ci_ns: (f64, f64),
    pub(crate) confidence_level: f64,
}

impl BenchResult {
    /// Operations per second: elements over the mean time of one iteration.
    pub(crate) fn ops_per_sec(&self) -> Option<f64> {
        per_second(self.elements?, self.mean_ns)
    }

    /// Operations per second at the slow and the fast end of the mean's confidence interval.
    pub(crate) fn ops_per_sec_interval(&self) -> Option<(f64, f64)> {
        let elements = self.elements?;
        Some((
            per_second(elements, self.mean_ci_ns.1)?,
            per_second(elements, self.mean_ci_ns.0)?,
        ))
    }

    /// Nanoseconds per element, or per iteration when no elements were declared.
    pub(crate) fn ns_per_element(&self) -> f64 {
        match self.elements {
            Some(elements) if elements > 0 => self.mean_ns / elements as f64,
            _ => self.mean_ns,
        }
    }
}

fn per_second(elements: u64, ns: f64) -> Option<f64> {
    (ns > 0.0 && ns.is_finite()).then(|| elements as f64 / (ns / 1e9))
}

/// The fields of criterion's `benchmark.json` that name a result.
#[derive(Deserialize)]
struct BenchmarkFile {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    /// Criterion's `Throughput` enum, externally tagged: `{"Elements": n}`,
    /// `{"ElementsAndBytes": {"elements": n, "bytes": m}}`, or a byte or bit count.
    throughput: Option<serde_json::Value>,
}

/// Elements per iteration, if the throughput declares them. Byte and bit counts are not
/// operations, so a result declaring only those has no ops/s.
fn elements(throughput: Option<&serde_json::Value>) -> Option<u64> {
    let throughput = throughput?;
    throughput
        .get("Elements")
        .or_else(|| throughput.get("ElementsAndBytes")?.get("elements"))?
        .as_u64()
}

#[derive(Deserialize)]
struct EstimatesFile {
    mean: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: ConfidenceInterval,
}

#[derive(Deserialize)]
struct ConfidenceInterval {
    confidence_level: f64,
    lower_bound: f64,
    upper_bound: f64,
}

/// Every `**/new/benchmark.json` under `dir` with its sibling `estimates.json`, sorted by
/// group, contender and parameter. A missing directory is no results.
pub(crate) fn read_criterion(
    dir: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<BenchResult>, InputError> {
    let mut files = Vec::new();
    find_benchmark_files(dir, &mut files)?;
    let mut results = Vec::new();
    for benchmark_path in files {
        let estimates_path = benchmark_path.with_file_name("estimates.json");
        let Some(estimates) = read_json_if_present::<EstimatesFile>(&estimates_path)? else {
            notes.push(format!(
                "`{}` has no `estimates.json` beside it, so it was left out",
                benchmark_path.display()
            ));
            continue;
        };
        let benchmark: BenchmarkFile = read_json(&benchmark_path)?;
        let elements = elements(benchmark.throughput.as_ref());
        let function = benchmark.function_id.unwrap_or_default();
        let interval = estimates.mean.confidence_interval;
        results.push(BenchResult {
            group: benchmark.group_id,
            contender: Contender::parse(&function),
            param: Param::parse(benchmark.value_str.as_deref().unwrap_or_default()),
            elements,
            mean_ns: estimates.mean.point_estimate,
            mean_ci_ns: (interval.lower_bound, interval.upper_bound),
            confidence_level: interval.confidence_level,
        });
    }
    results.sort_by(|a, b| {
        (&a.group, &a.contender)
            .cmp(&(&b.group, &b.contender))
            .then_with(|| natural_cmp(&a.param.raw, &b.param.raw))
    });
    Ok(results)
}

fn find_benchmark_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let Some(entries) = read_dir_if_present(dir)? else {
        return Ok(());
    };
    let read_error = |source| InputError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in entries {
        let entry = entry.map_err(read_error)?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(read_error)?;
        if file_type.is_dir() {
            find_benchmark_files(&path, out)?;
        } else if entry.file_name() == "benchmark.json"
            && dir.file_name().is_some_and(|name| name == "new")
        {
            // Criterion keeps the previous run in `base` and comparisons in `change`; only
            // `new` is the latest measurement.
            out.push(path);
        }
    }
    Ok(())
}
