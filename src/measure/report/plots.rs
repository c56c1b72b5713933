//! The report's SVG charts, drawn with plotters: throughput against caller threads per
//! workload and latency percentiles on `mixed`. Charts are rendered to strings; the caller
//! writes them, so a failed write names its path.
//!
//! plotters is built without a font feature: its SVG backend writes text as `<text>` elements
//! that the viewer's font renders, and lays text out by a character-count estimate, which is
//! all a label needs.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

use super::figures::{LatencyPanel, Panel};
use crate::engines::registry::EngineKind;
use crate::measure::criterion::Contender;
use crate::measure::format;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 560;
/// The legend sits in its own column right of the plot, so it never hides a line.
const LEGEND_WIDTH: u32 = 210;
const FONT: &str = "sans-serif";

// Each engine's colours come from its registry entry (lock in blues and greens, actor in reds
// and oranges, so the designs read apart at a glance); shard counts take the shades in turn.
/// Anything else, such as a micro case.
const OTHER_COLORS: [RGBColor; 3] = [
    RGBColor(148, 103, 189),
    RGBColor(188, 189, 34),
    RGBColor(127, 127, 127),
];
const MODEL_COLOR: RGBColor = BLACK;

/// A line chart over x positions that carry their own labels.
#[derive(Clone, Debug)]
pub(crate) struct LineChart {
    pub(crate) title: String,
    pub(crate) x_title: String,
    pub(crate) y_title: String,
    /// Where each tick sits on the x axis and what it says.
    pub(crate) x_ticks: Vec<(f64, String)>,
    pub(crate) lines: Vec<ChartLine>,
    /// Horizontal dashed lines across the whole chart, such as the model's throughput.
    pub(crate) references: Vec<(String, f64)>,
    pub(crate) log_y: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct ChartLine {
    pub(crate) label: String,
    /// `(x, y)`; on a log axis, points at or below zero are not drawn.
    pub(crate) points: Vec<(f64, f64)>,
    pub(crate) color: RGBColor,
    pub(crate) dashed: bool,
}

/// Gives each contender its family's next colour.
fn colors(contenders: &[&Contender]) -> Vec<RGBColor> {
    let mut used: std::collections::HashMap<EngineKind, usize> = Default::default();
    let mut others = 0;
    let next = |palette: &[RGBColor], used: &mut usize| {
        let color = palette[*used % palette.len()];
        *used += 1;
        color
    };
    contenders
        .iter()
        .map(|contender| match contender {
            Contender::Model => MODEL_COLOR,
            Contender::Engine(spec) => {
                let palette: Vec<RGBColor> = spec
                    .kind
                    .entry()
                    .palette
                    .iter()
                    .map(|&(r, g, b)| RGBColor(r, g, b))
                    .collect();
                next(&palette, used.entry(spec.kind).or_default())
            }
            Contender::Case(_) => next(&OTHER_COLORS, &mut others),
        })
        .collect()
}

/// The throughput chart of one workload panel: one line per engine and shard count, the
/// model as a reference line when it was measured at one point. Thread counts sit on a
/// log-2 axis, so 1, 2, 4 and 8 are evenly spaced and a missing count leaves a gap.
pub(crate) fn throughput_chart(panel: &Panel) -> LineChart {
    let position = |index: usize| match panel.x_threads.get(index) {
        Some(&threads) => f64::from(threads.max(1)).log2(),
        None => index as f64,
    };
    let contenders: Vec<&Contender> = panel.lines.iter().map(|(c, _)| c).collect();
    let mut lines: Vec<ChartLine> = panel
        .lines
        .iter()
        .zip(colors(&contenders))
        .map(|((contender, points), color)| ChartLine {
            label: contender.to_string(),
            points: points.iter().map(|&(x, y)| (position(x), y)).collect(),
            color,
            dashed: false,
        })
        .collect();
    let mut references = Vec::new();
    match panel.model.as_slice() {
        [] => {}
        [(_, ops)] => references.push((panel.model_label(), *ops)),
        points => lines.push(ChartLine {
            label: panel.model_label(),
            points: points.iter().map(|&(x, y)| (position(x), y)).collect(),
            color: MODEL_COLOR,
            dashed: true,
        }),
    }
    LineChart {
        title: panel.title(),
        x_title: panel.x_title().to_owned(),
        y_title: "throughput (ops/s)".to_owned(),
        x_ticks: panel
            .x_labels
            .iter()
            .enumerate()
            .map(|(i, label)| (position(i), label.clone()))
            .collect(),
        lines,
        references,
        log_y: false,
    }
}

/// The latency chart of one `mixed` parameter: percentiles on x, one line per engine, on a
/// log axis because the tail is orders of magnitude above the median.
pub(crate) fn latency_chart(panel: &LatencyPanel) -> LineChart {
    let contenders: Vec<&Contender> = panel.lines.iter().map(|(c, _)| c).collect();
    LineChart {
        title: panel.title(),
        x_title: "percentile".to_owned(),
        y_title: "latency (µs, log scale)".to_owned(),
        x_ticks: ["p50", "p99", "p99.9", "max"]
            .into_iter()
            .enumerate()
            .map(|(i, label)| (i as f64, label.to_owned()))
            .collect(),
        lines: panel
            .lines
            .iter()
            .zip(colors(&contenders))
            .map(|((contender, latency), color)| ChartLine {
                label: contender.to_string(),
                points: [latency.p50, latency.p99, latency.p999, latency.max]
                    .into_iter()
                    .enumerate()
                    .map(|(x, us)| (x as f64, us as f64))
                    .collect(),
                color,
                dashed: false,
            })
            .collect(),
        references: Vec::new(),
        log_y: true,
    }
}

/// The y axis in plotted space: the values themselves, or their base-10 logarithms.
struct YAxis {
    log: bool,
    low: f64,
    high: f64,
    ticks: Vec<f64>,
}

impl YAxis {
    fn new(values: &[f64], log: bool) -> YAxis {
        if log {
            let positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
            let min = positive.iter().copied().fold(f64::INFINITY, f64::min);
            let max = positive.iter().copied().fold(0.0, f64::max);
            let (low, mut high) = if positive.is_empty() {
                (0.0, 1.0)
            } else {
                (min.log10().floor(), max.log10().ceil())
            };
            if high <= low {
                high = low + 1.0;
            }
            // Three steps a decade while there is room for them; whole decades beyond.
            let steps: &[f64] = if high - low <= 4.0 {
                &[1.0, 2.0, 5.0]
            } else {
                &[1.0]
            };
            let mut ticks = Vec::new();
            let mut decade = low;
            while decade <= high {
                for step in steps {
                    let tick = decade + step.log10();
                    if tick <= high + 1e-9 {
                        ticks.push(tick);
                    }
                }
                decade += 1.0;
            }
            YAxis {
                log,
                low,
                high,
                ticks,
            }
        } else {
            let max = values.iter().copied().fold(0.0, f64::max);
            let step = nice_step(if max > 0.0 { max * 1.08 / 6.0 } else { 1.0 });
            let high = ((max * 1.08) / step).ceil().max(1.0) * step;
            let count = (high / step).round() as usize;
            YAxis {
                log,
                low: 0.0,
                high,
                ticks: (0..=count).map(|i| i as f64 * step).collect(),
            }
        }
    }

    fn plotted(&self, value: f64) -> Option<f64> {
        if self.log {
            (value > 0.0).then(|| value.log10())
        } else {
            Some(value)
        }
    }

    fn label(&self, plotted: f64) -> String {
        if self.log {
            format::si(10f64.powf(plotted))
        } else {
            format::si(plotted)
        }
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * power)
}

/// A linear axis that puts its ticks where it is told. plotters' own key points are chosen
/// for round numbers, which would put a category axis's ticks between categories and a log
/// axis's between decades.
struct TickedAxis {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type ValueType = f64;
    // The labels come from the chart's own formatters, so the default never shows.
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let fraction = if span > 0.0 {
            (value - self.range.start) / span
        } else {
            0.0
        };
        limit.0 + (f64::from(limit.1 - limit.0) * fraction).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light mesh lines would only add clutter between the ticks.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Draws `chart` as an SVG document.
pub(crate) fn render_svg(chart: &LineChart) -> Result<String, String> {
    let mut svg = String::new();
    draw(chart, &mut svg).map_err(|err| err.to_string())?;
    Ok(svg)
}

fn draw(chart: &LineChart, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, legend_area) = root.split_horizontally(WIDTH - LEGEND_WIDTH);

    let values: Vec<f64> = chart
        .lines
        .iter()
        .flat_map(|line| line.points.iter().map(|&(_, y)| y))
        .chain(chart.references.iter().map(|&(_, y)| y))
        .collect();
    let y_axis = YAxis::new(&values, chart.log_y);
    let x_low = chart
        .x_ticks
        .iter()
        .map(|&(x, _)| x)
        .fold(f64::INFINITY, f64::min);
    let x_high = chart
        .x_ticks
        .iter()
        .map(|&(x, _)| x)
        .fold(f64::NEG_INFINITY, f64::max);
    let (x_low, x_high) = if x_low <= x_high {
        (x_low - 0.5, x_high + 0.5)
    } else {
        (-0.5, 0.5)
    };
    let x_range = TickedAxis {
        range: x_low..x_high,
        ticks: chart.x_ticks.iter().map(|&(x, _)| x).collect(),
    };
    let y_range = TickedAxis {
        range: y_axis.low..y_axis.high,
        ticks: y_axis.ticks.clone(),
    };

    // plotters' SVG backend draws text at 1/1.24 of the size asked for, hence the sizes.
    let mut ctx = ChartBuilder::on(&plot_area)
        .caption(&chart.title, (FONT, 25))
        .margin(14)
        .x_label_area_size(56)
        .y_label_area_size(84)
        .build_cartesian_2d(x_range, y_range)?;
    let x_label = |x: &f64| {
        chart
            .x_ticks
            .iter()
            .find(|(position, _)| (position - x).abs() < 1e-9)
            .map(|(_, label)| label.clone())
            .unwrap_or_default()
    };
    let y_label = |y: &f64| y_axis.label(*y);
    ctx.configure_mesh()
        .x_desc(chart.x_title.as_str())
        .y_desc(chart.y_title.as_str())
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 17))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;

    let mut legend: Vec<(String, ShapeStyle, bool)> = Vec::new();
    for line in &chart.lines {
        let style = line.color.stroke_width(2);
        // A point the axis cannot show breaks the line, so no segment pretends to pass
        // through a value that is not drawn.
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut run = Vec::new();
        for &(x, y) in &line.points {
            match y_axis.plotted(y) {
                Some(y) => run.push((x, y)),
                None => runs.push(std::mem::take(&mut run)),
            }
        }
        runs.push(run);
        for run in runs.iter().filter(|run| !run.is_empty()) {
            if line.dashed {
                ctx.draw_series(DashedLineSeries::new(run.clone(), 10, 6, style))?;
            } else {
                ctx.draw_series(LineSeries::new(run.clone(), style))?;
            }
            ctx.draw_series(
                run.iter()
                    .map(|&point| Circle::new(point, 4, style.color.filled())),
            )?;
        }
        legend.push((line.label.clone(), style, line.dashed));
    }
    let reference_style = MODEL_COLOR.stroke_width(2);
    for (label, value) in &chart.references {
        if let Some(y) = y_axis.plotted(*value) {
            let ends = vec![(x_low, y), (x_high, y)];
            ctx.draw_series(DashedLineSeries::new(ends, 10, 6, reference_style))?;
            legend.push((label.clone(), reference_style, true));
        }
    }

    legend_area.draw(&Text::new("legend", (10, 48), (FONT, 20).into_font()))?;
    for (row, (label, style, dashed)) in legend.iter().enumerate() {
        let y = 84 + 28 * row as i32;
        if *dashed {
            legend_area.draw(&PathElement::new(vec![(10, y), (20, y)], *style))?;
            legend_area.draw(&PathElement::new(vec![(28, y), (38, y)], *style))?;
        } else {
            legend_area.draw(&PathElement::new(vec![(10, y), (38, y)], *style))?;
            legend_area.draw(&Circle::new((24, y), 4, style.color.filled()))?;
        }
        legend_area.draw(&Text::new(
            label.clone(),
            (46, y - 9),
            (FONT, 18).into_font(),
        ))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(log_y: bool, values: &[f64]) -> LineChart {
        LineChart {
            title: "churn: throughput against caller threads".to_owned(),
            x_title: "caller threads".to_owned(),
            y_title: "throughput (ops/s)".to_owned(),
            x_ticks: [(0.0, "1"), (1.0, "2"), (2.0, "4")]
                .map(|(x, label)| (x, label.to_owned()))
                .to_vec(),
            lines: vec![ChartLine {
                label: "lock/4".to_owned(),
                points: values
                    .iter()
                    .enumerate()
                    .map(|(x, &y)| (x as f64, y))
                    .collect(),
                color: RGBColor(31, 119, 180),
                dashed: false,
            }],
            references: vec![("model (1 thread)".to_owned(), 150_000.0)],
            log_y,
        }
    }

    #[test]
    fn a_chart_has_its_title_axes_legend_and_ticks() {
        let svg =
            render_svg(&chart(false, &[100_000.0, 180_000.0, 250_000.0])).expect("the chart draws");
        assert!(svg.starts_with("<svg"));
        for text in [
            "churn: throughput against caller threads",
            "caller threads",
            "throughput (ops/s)",
            "lock/4",
            "model (1 thread)",
            "\n4\n",
            "\n250k\n",
        ] {
            assert!(svg.contains(text), "the chart lacks {text:?}");
        }
    }

    #[test]
    fn linear_ticks_start_at_zero_and_clear_the_top() {
        let axis = YAxis::new(&[250_000.0], false);
        assert_eq!(axis.low, 0.0);
        assert_eq!(axis.high, 300_000.0);
        assert_eq!(axis.ticks.len(), 7);
    }

    #[test]
    fn log_ticks_cover_whole_decades() {
        let axis = YAxis::new(&[95.0, 33_535.0, 0.0], true);
        assert_eq!((axis.low, axis.high), (1.0, 5.0));
        assert_eq!(axis.ticks.first().copied(), Some(1.0));
        assert_eq!(axis.label(axis.ticks[1]), "20");
        assert_eq!(axis.plotted(0.0), None);
        let svg = render_svg(&chart(true, &[95.0, 0.0, 33_535.0])).expect("the chart draws");
        assert!(svg.contains("100k"));
    }
}
