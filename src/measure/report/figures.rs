//! Figures derived from the inputs: the throughput panels of each workload, the headline
//! (every engine at its best shard count), the calibration floors, the micro-experiment beside
//! the talk's, and the latency panels of `mixed`. Only arithmetic on what was read; nothing
//! here is measured or assumed.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::bench_extras::{BenchRecord, Latency};
use crate::engines::registry::{EngineKind, EngineSpec};
use crate::measure::criterion::{BenchResult, Contender};
use crate::measure::files::natural_cmp;
use crate::measure::trials::CLOSED_LOOP_WORKLOADS;

/// The open-loop workloads, shown after the closed-loop ones ([`CLOSED_LOOP_WORKLOADS`]); a
/// group in neither list but run by an engine or the model comes after them, by name.
const OPEN_LOOP_WORKLOADS: [&str; 1] = ["contention"];

/// The workload the latency plots and the gate read.
pub(crate) const MIXED: &str = "mixed";

/// The talk's micro-experiment, done again by the `micro` bench.
pub(crate) const MICRO_GROUP: &str = "micro_append";

/// The machine's floors, measured by the `calibration` bench.
pub(crate) const CALIBRATION_GROUP: &str = "calibration";

/// A calibration case whose name contains this is the uncontended lock floor.
pub(crate) const LOCK_FLOOR_MARK: &str = "uncontended";

/// A calibration case whose name contains this is the two-thread handoff floor.
pub(crate) const HANDOFF_FLOOR_MARK: &str = "handoff";

/// The workload groups present in `results`, in report order.
pub(crate) fn workload_groups(results: &[BenchResult]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for result in results {
        let is_engine_group = matches!(result.contender, Contender::Model | Contender::Engine(_))
            && result.group != MICRO_GROUP
            && result.group != CALIBRATION_GROUP;
        if is_engine_group && !groups.contains(&result.group) {
            groups.push(result.group.clone());
        }
    }
    groups.sort_by(|a, b| workload_order(a, b));
    groups
}

/// The order the report shows workloads in: the closed-loop ones as the benches run them,
/// then the open-loop ones, then any other group by name.
pub(crate) fn workload_order(a: &str, b: &str) -> Ordering {
    let rank = |group: &str| {
        CLOSED_LOOP_WORKLOADS
            .iter()
            .chain(&OPEN_LOOP_WORKLOADS)
            .position(|known| *known == group)
            .unwrap_or(CLOSED_LOOP_WORKLOADS.len() + OPEN_LOOP_WORKLOADS.len())
    };
    rank(a).cmp(&rank(b)).then_with(|| natural_cmp(a, b))
}

/// What a panel's x axis is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Axis {
    /// Caller threads; the panel holds the results of one variant (`""` when the parameter
    /// is only a thread count).
    Threads { variant: String },
    /// The parameter itself, for results whose parameter names no thread count.
    Params,
}

/// One chart's worth of a workload: ops/s at each x position, per contender.
#[derive(Clone, Debug)]
pub(crate) struct Panel {
    pub(crate) group: String,
    pub(crate) axis: Axis,
    pub(crate) x_labels: Vec<String>,
    /// The thread count at each x position, on a threads axis; empty on a parameter axis.
    pub(crate) x_threads: Vec<u32>,
    /// Engines, in contender order, each with `(x index, ops/s)` points.
    pub(crate) lines: Vec<(Contender, Vec<(usize, f64)>)>,
    /// The model's points: the floor every engine is read against.
    pub(crate) model: Vec<(usize, f64)>,
}

impl Panel {
    pub(crate) fn title(&self) -> String {
        match &self.axis {
            Axis::Threads { variant } if variant.is_empty() => {
                format!("{}: throughput against caller threads", self.group)
            }
            Axis::Threads { variant } => {
                format!(
                    "{} ({variant}): throughput against caller threads",
                    self.group
                )
            }
            Axis::Params => format!("{}: throughput per parameter", self.group),
        }
    }

    pub(crate) fn file_name(&self) -> String {
        match &self.axis {
            Axis::Threads { variant } if variant.is_empty() => {
                format!("throughput_{}.svg", file_safe(&self.group))
            }
            Axis::Threads { variant } => format!(
                "throughput_{}_{}.svg",
                file_safe(&self.group),
                file_safe(variant)
            ),
            Axis::Params => format!("throughput_{}_params.svg", file_safe(&self.group)),
        }
    }

    pub(crate) fn x_title(&self) -> &'static str {
        match self.axis {
            Axis::Threads { .. } => "caller threads",
            Axis::Params => "parameter",
        }
    }

    /// The model's label in a legend, saying where it was measured.
    pub(crate) fn model_label(&self) -> String {
        match self.model.as_slice() {
            [(x, _)] => match self.axis {
                Axis::Threads { .. } => format!("model ({} thread)", self.x_labels[*x]),
                Axis::Params => format!("model ({})", self.x_labels[*x]),
            },
            _ => "model".to_owned(),
        }
    }
}

/// Keeps letters, digits, `-` and `_`, so a group or parameter name is a safe file name.
pub(crate) fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The panels of one workload: one per variant over caller threads, and one over the
/// parameters that name no thread count. Results without ops/s are left out.
pub(crate) fn panels(results: &[BenchResult], group: &str) -> Vec<Panel> {
    let in_group: Vec<(&BenchResult, f64)> = results
        .iter()
        .filter(|r| r.group == group)
        .filter(|r| matches!(r.contender, Contender::Model | Contender::Engine(_)))
        .filter_map(|r| Some((r, r.ops_per_sec()?)))
        .collect();
    let mut by_variant: BTreeMap<String, Vec<(&BenchResult, f64)>> = BTreeMap::new();
    let mut unthreaded = Vec::new();
    for &(result, ops) in &in_group {
        if result.param.threads.is_some() {
            by_variant
                .entry(result.param.variant.clone())
                .or_default()
                .push((result, ops));
        } else {
            unthreaded.push((result, ops));
        }
    }
    let mut variants: Vec<_> = by_variant.into_iter().collect();
    variants.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    let mut out = Vec::new();
    for (variant, members) in variants {
        let mut threads: Vec<u32> = members
            .iter()
            .filter_map(|(r, _)| r.param.threads)
            .collect();
        threads.sort_unstable();
        threads.dedup();
        let position = |r: &BenchResult| {
            let t = r.param.threads?;
            threads.iter().position(|&x| x == t)
        };
        let mut panel = build_panel(
            group,
            Axis::Threads { variant },
            threads.iter().map(u32::to_string).collect(),
            &members,
            position,
        );
        panel.x_threads = threads.clone();
        out.push(panel);
    }
    if !unthreaded.is_empty() {
        let mut params: Vec<String> = unthreaded
            .iter()
            .map(|(r, _)| r.param.raw.clone())
            .collect();
        params.sort_by(|a, b| natural_cmp(a, b));
        params.dedup();
        let position = |r: &BenchResult| params.iter().position(|p| *p == r.param.raw);
        out.push(build_panel(
            group,
            Axis::Params,
            params.clone(),
            &unthreaded,
            position,
        ));
    }
    out
}

fn build_panel(
    group: &str,
    axis: Axis,
    x_labels: Vec<String>,
    members: &[(&BenchResult, f64)],
    position: impl Fn(&BenchResult) -> Option<usize>,
) -> Panel {
    let mut lines: BTreeMap<Contender, Vec<(usize, f64)>> = BTreeMap::new();
    let mut model = Vec::new();
    for &(result, ops) in members {
        let Some(x) = position(result) else { continue };
        match result.contender {
            Contender::Model => model.push((x, ops)),
            _ => lines
                .entry(result.contender.clone())
                .or_default()
                .push((x, ops)),
        }
    }
    for points in lines.values_mut() {
        points.sort_by_key(|&(x, _)| x);
    }
    model.sort_by_key(|&(x, _)| x);
    Panel {
        group: group.to_owned(),
        axis,
        x_labels,
        x_threads: Vec::new(),
        lines: lines.into_iter().collect(),
        model,
    }
}

/// The best shard count of one engine kind at one point, and its throughput.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Best {
    pub(crate) spec: EngineSpec,
    pub(crate) ops_per_sec: f64,
}

/// Every registered engine at one workload point, each at its best shard count.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HeadlineRow {
    pub(crate) group: String,
    /// The parameter without its thread count; the whole parameter when it has none.
    pub(crate) variant: String,
    pub(crate) threads: Option<u32>,
    /// One slot per registered engine, in registry order ([`EngineKind::all`]): its best
    /// shard count at this point, or `None` when it has no result here.
    pub(crate) best: Vec<Option<Best>>,
}

impl HeadlineRow {
    fn new(group: &str, variant: &str, threads: Option<u32>) -> HeadlineRow {
        HeadlineRow {
            group: group.to_owned(),
            variant: variant.to_owned(),
            threads,
            best: vec![None; EngineKind::all().count()],
        }
    }
}

/// One row per workload, variant and thread count where any engine has ops/s, in report
/// order. Within an engine, equal throughputs go to the fewer shards.
pub(crate) fn headline(results: &[BenchResult]) -> Vec<HeadlineRow> {
    let groups = workload_groups(results);
    let mut rows: Vec<HeadlineRow> = Vec::new();
    for result in results {
        if !groups.contains(&result.group) {
            continue;
        }
        let (Some(spec), Some(ops_per_sec)) = (result.contender.spec(), result.ops_per_sec())
        else {
            continue;
        };
        let index = match rows.iter().position(|row| {
            row.group == result.group
                && row.variant == result.param.variant
                && row.threads == result.param.threads
        }) {
            Some(index) => index,
            None => {
                rows.push(HeadlineRow::new(
                    &result.group,
                    &result.param.variant,
                    result.param.threads,
                ));
                rows.len() - 1
            }
        };
        // Every engine that parses is registered, so its slot exists.
        let Some(slot) = rows[index].best.get_mut(spec.kind.index()) else {
            continue;
        };
        let better = slot.is_none_or(|best| {
            ops_per_sec > best.ops_per_sec
                || (ops_per_sec == best.ops_per_sec && spec.shards < best.spec.shards)
        });
        if better {
            *slot = Some(Best { spec, ops_per_sec });
        }
    }
    rows.sort_by(|a, b| {
        workload_order(&a.group, &b.group)
            .then_with(|| natural_cmp(&a.variant, &b.variant))
            .then_with(|| a.threads.cmp(&b.threads))
    });
    rows
}

/// One of the machine's floors: the cost of one element of a calibration case.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Floor {
    pub(crate) case: String,
    pub(crate) param: String,
    pub(crate) ns: f64,
}

/// The two floors every engine figure is expressed against.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Floors {
    pub(crate) lock: Option<Floor>,
    pub(crate) handoff: Option<Floor>,
}

impl Floors {
    pub(crate) fn find(results: &[BenchResult]) -> Floors {
        let floor = |mark: &str| {
            results
                .iter()
                .filter(|r| r.group == CALIBRATION_GROUP)
                .find_map(|r| match &r.contender {
                    Contender::Case(name) if name.contains(mark) => Some(Floor {
                        case: name.clone(),
                        param: r.param.raw.clone(),
                        ns: r.ns_per_element(),
                    }),
                    _ => None,
                })
        };
        Floors {
            lock: floor(LOCK_FLOOR_MARK),
            handoff: floor(HANDOFF_FLOOR_MARK),
        }
    }
}

/// How many floors one operation's share of wall time is: `ns_per_op / floor`.
pub(crate) fn multiple(ns_per_op: f64, floor: Option<&Floor>) -> Option<f64> {
    let floor = floor?;
    (floor.ns > 0.0).then(|| ns_per_op / floor.ns)
}

/// A row of the talk's micro-experiment table, as the talk gave it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TalkRow {
    pub(crate) kind: &'static str,
    pub(crate) items: u64,
    pub(crate) ms: f64,
    /// The talk said "about".
    pub(crate) approximate: bool,
}

impl TalkRow {
    pub(crate) fn items_per_sec(&self) -> f64 {
        self.items as f64 / (self.ms / 1e3)
    }
}

/// The talk's figures: a mutex got 4,000,000 items done in 500 ms; a channel about 2.3 M in
/// the same time. They are quoted, not measured here.
pub(crate) const TALK: [TalkRow; 2] = [
    TalkRow {
        kind: "mutex",
        items: 4_000_000,
        ms: 500.0,
        approximate: false,
    },
    TalkRow {
        kind: "channel",
        items: 2_300_000,
        ms: 500.0,
        approximate: true,
    },
];

/// The talk's row that a micro case re-creates, judged by its name.
pub(crate) fn talk_row(case: &str) -> Option<&'static TalkRow> {
    let case = case.to_ascii_lowercase();
    if case.contains("mutex") || case.contains("lock") {
        Some(&TALK[0])
    } else if case.contains("chan") {
        Some(&TALK[1])
    } else {
        None
    }
}

/// The latency percentiles of every contender at one parameter of `mixed`.
#[derive(Clone, Debug)]
pub(crate) struct LatencyPanel {
    pub(crate) param: String,
    pub(crate) lines: Vec<(Contender, Latency)>,
}

impl LatencyPanel {
    pub(crate) fn title(&self) -> String {
        format!("{MIXED} ({}): latency percentiles per engine", self.param)
    }

    pub(crate) fn file_name(&self) -> String {
        format!("latency_{}_{}.svg", MIXED, file_safe(&self.param))
    }
}

/// The latency panels of `mixed`, one per parameter, in parameter order.
pub(crate) fn latency_panels(stats: &[BenchRecord]) -> Vec<LatencyPanel> {
    let mut panels: Vec<LatencyPanel> = Vec::new();
    for stat in stats.iter().filter(|s| s.group == MIXED) {
        let line = (stat.contender(), stat.latency_us.clone());
        match panels.iter_mut().find(|p| p.param == stat.param) {
            Some(panel) => panel.lines.push(line),
            None => panels.push(LatencyPanel {
                param: stat.param.clone(),
                lines: vec![line],
            }),
        }
    }
    panels.sort_by(|a, b| natural_cmp(&a.param, &b.param));
    for panel in &mut panels {
        panel.lines.sort_by(|a, b| a.0.cmp(&b.0));
    }
    panels
}
