//! Reading what the report and the gate are built from: criterion's results, the benches'
//! extra stats, the duel and the verification summary. Every input is optional; one that is
//! absent is recorded as absent, never filled in.
//!
//! To add an input (the load tests' results, say), give it a reader here and a field in
//! [`Inputs`]; the sections that use it read that field and say what is missing when it is
//! `None`.

use std::cmp::Ordering;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::duel::DuelReport;
use crate::engines::registry::{EngineKind, EngineSpec};
use crate::verify::VerificationReport;

/// An input that exists but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot parse {}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// One input: where it was looked for and what was there.
#[derive(Clone, Debug)]
pub(crate) struct Source<T> {
    pub(crate) path: PathBuf,
    /// `None` when the input is absent (or, for a directory, holds nothing usable).
    pub(crate) data: Option<T>,
}

/// Everything the report reads, each part optional.
#[derive(Clone, Debug)]
pub(crate) struct Inputs {
    pub(crate) criterion: Source<Vec<BenchResult>>,
    pub(crate) extra: Source<Vec<ExtraStats>>,
    pub(crate) duel: Source<DuelReport>,
    pub(crate) verification: Source<VerificationReport>,
    /// Things found but not used, such as a criterion result without its estimates, so the
    /// report can say why a figure is absent.
    pub(crate) notes: Vec<String>,
}

impl Inputs {
    pub(crate) fn read(
        criterion_dir: &Path,
        extra_dir: &Path,
        duel: &Path,
        verification: &Path,
    ) -> Result<Inputs, InputError> {
        let mut notes = Vec::new();
        let criterion = read_criterion(criterion_dir, &mut notes)?;
        let extra = read_extra(extra_dir)?;
        Ok(Inputs {
            criterion: Source {
                path: criterion_dir.to_owned(),
                data: (!criterion.is_empty()).then_some(criterion),
            },
            extra: Source {
                path: extra_dir.to_owned(),
                data: (!extra.is_empty()).then_some(extra),
            },
            duel: Source {
                path: duel.to_owned(),
                data: read_json_if_present(duel)?,
            },
            verification: Source {
                path: verification.to_owned(),
                data: read_json_if_present(verification)?,
            },
            notes,
        })
    }

    pub(crate) fn results(&self) -> &[BenchResult] {
        self.criterion.data.as_deref().unwrap_or_default()
    }

    pub(crate) fn extra_stats(&self) -> &[ExtraStats] {
        self.extra.data.as_deref().unwrap_or_default()
    }
}

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
    /// `lock/4`), `actor-2`; anything else is a case name.
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
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(InputError::Read {
                path: dir.to_owned(),
                source,
            });
        }
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

/// The extra figures one benchmark run records beside criterion's: latency percentiles,
/// fairness between caller threads, CPU and context switches, memory and the machine.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ExtraStats {
    pub(crate) group: String,
    pub(crate) engine: String,
    pub(crate) param: String,
    pub(crate) threads: u32,
    pub(crate) ops: u64,
    pub(crate) latency_us: Latency,
    pub(crate) fairness: Fairness,
    pub(crate) cpu_us_per_op: f64,
    pub(crate) ctx_switches_per_op: ContextSwitches,
    pub(crate) peak_rss_kb: u64,
    /// The deepest engine queue of the case; absent in records from before it was measured,
    /// and for contenders without queues.
    #[serde(default)]
    pub(crate) peak_queue_depth: Option<u64>,
    pub(crate) machine: BenchMachine,
}

impl ExtraStats {
    pub(crate) fn contender(&self) -> Contender {
        Contender::parse(&self.engine)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Latency {
    pub(crate) p50: u64,
    pub(crate) p99: u64,
    pub(crate) p999: u64,
    pub(crate) max: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Fairness {
    pub(crate) min_ops: u64,
    pub(crate) max_ops: u64,
    pub(crate) jain: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ContextSwitches {
    pub(crate) voluntary: f64,
    pub(crate) involuntary: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct BenchMachine {
    pub(crate) cpu: String,
    pub(crate) cores: u32,
    pub(crate) kernel: String,
    pub(crate) rustc: String,
    pub(crate) commit: String,
    pub(crate) date: String,
}

/// Every `*.json` in `dir` (named `{group}__{engine}__{param}.json`), sorted by group,
/// contender and parameter. A missing directory is no stats.
pub(crate) fn read_extra(dir: &Path) -> Result<Vec<ExtraStats>, InputError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(InputError::Read {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| InputError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
            paths.push(path);
        }
    }
    let mut stats = paths
        .iter()
        .map(|path| read_json::<ExtraStats>(path))
        .collect::<Result<Vec<_>, _>>()?;
    stats.sort_by(|a, b| {
        (&a.group, a.contender())
            .cmp(&(&b.group, b.contender()))
            .then_with(|| natural_cmp(&a.param, &b.param))
    });
    Ok(stats)
}

/// Reads and parses `path`, or `None` when there is no such file.
pub(crate) fn read_json_if_present<T: DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>, InputError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text).map(Some),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InputError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    serde_json::from_str(text).map_err(|source| InputError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Orders strings with their digit runs compared as numbers, so `t2` comes before `t16`.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let a_len = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
                let b_len = b.find(|c: char| !c.is_ascii_digit()).unwrap_or(b.len());
                let (a_digits, b_digits) = (
                    a[..a_len].trim_start_matches('0'),
                    b[..b_len].trim_start_matches('0'),
                );
                let order = a_digits
                    .len()
                    .cmp(&b_digits.len())
                    .then_with(|| a_digits.cmp(b_digits));
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[a_len..];
                b = &b[b_len..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}
