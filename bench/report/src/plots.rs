//! SVG plots of a run, drawn with plotters' SVG backend only: it writes text
//! as `<text>` elements, so no font files or system libraries are needed.
//!
//! - `scaling-<mode>-<metric>.svg`: per-dentry cost against dentries (log x);
//!   a flat line is linear scaling.
//! - `scaling-loglog-<mode>.svg`: total umount cost against dentries, log-log;
//!   the slope is the scaling exponent.
//! - `ab-<mode>.svg`: patched/stock ratio with its interval per metric and
//!   shape at the largest size, against 1.0 and the gate's threshold.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::sample::Mode;
use crate::stats::{Group, Ratio, PATCHED, STOCK};
use crate::Results;

/// The metric of the log-log plot.
const LOGLOG_METRIC: &str = "umount";
const SIZE: (u32, u32) = (900, 600);
const FONT: &str = "sans-serif";
/// Shape colours: distinct and readable on white.
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// File name of the per-dentry scaling plot of one metric.
pub fn scaling_name(mode: Mode, metric: &str) -> String {
    format!("scaling-{mode}-{metric}.svg")
}

/// File name of the log-log plot of a mode.
pub fn loglog_name(mode: Mode) -> String {
    format!("scaling-loglog-{mode}.svg")
}

/// File name of the A/B ratio plot of a mode.
pub fn ab_name(mode: Mode) -> String {
    format!("ab-{mode}.svg")
}

enum Plot<'a> {
    Scaling(Mode, &'a str),
    LogLog(Mode),
    Ab(Mode),
}

impl Plot<'_> {
    fn file_name(&self) -> String {
        match *self {
            Plot::Scaling(mode, metric) => scaling_name(mode, metric),
            Plot::LogLog(mode) => loglog_name(mode),
            Plot::Ab(mode) => ab_name(mode),
        }
    }
}

/// The plots a run has data for; empty plots are not drawn.
fn planned(results: &Results) -> Vec<Plot<'_>> {
    let mut plots = Vec::new();
    for mode in Mode::ALL {
        if results.ratios.iter().any(|r| r.mode == mode) {
            plots.push(Plot::Ab(mode));
        }
        if !loglog_series(results, mode).is_empty() {
            plots.push(Plot::LogLog(mode));
        }
        let metrics: BTreeSet<&str> = results
            .groups
            .iter()
            .filter(|g| g.mode == mode)
            .map(|g| g.metric.as_str())
            .collect();
        plots.extend(metrics.into_iter().map(|m| Plot::Scaling(mode, m)));
    }
    plots
}

/// Names of the files [`render_all`] writes for these results.
pub fn file_names(results: &Results) -> Vec<String> {
    planned(results).iter().map(Plot::file_name).collect()
}

/// Draws every plot into `dir` and returns the paths written.
pub fn render_all(results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
    planned(results)
        .into_iter()
        .map(|plot| {
            let path = dir.join(plot.file_name());
            match plot {
                Plot::Scaling(mode, metric) => scaling(results, mode, metric, &path),
                Plot::LogLog(mode) => loglog(results, mode, &path),
                Plot::Ab(mode) => ab(results, mode, &path),
            }
            .with_context(|| format!("plotting {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// One line of a scaling plot.
struct Series {
    kernel: String,
    shape: String,
    points: Vec<(f64, f64)>,
}

/// Lines per (kernel, shape) of the groups `keep` selects, `y` of each group
/// against its median dentries, sorted by dentries.
fn series(
    results: &Results,
    keep: impl Fn(&Group) -> bool,
    y: impl Fn(&Group) -> f64,
) -> Vec<Series> {
    let mut lines: BTreeMap<(&str, &str), Vec<(f64, f64)>> = BTreeMap::new();
    for g in results.groups.iter().filter(|g| keep(g)) {
        lines
            .entry((&g.kernel, &g.shape))
            .or_default()
            .push((g.median_dentries, y(g)));
    }
    lines
        .into_iter()
        .map(|((kernel, shape), mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                kernel: kernel.to_string(),
                shape: shape.to_string(),
                points,
            }
        })
        .collect()
}

fn loglog_series(results: &Results, mode: Mode) -> Vec<Series> {
    series(
        results,
        |g| g.mode == mode && g.metric == LOGLOG_METRIC && g.median_value > 0.0,
        |g| g.median_value,
    )
}

/// Smallest and largest of `values`, widened when they coincide.
fn bounds(values: impl Iterator<Item = f64>, log: bool) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    match (lo < hi, log) {
        (true, true) => lo / 1.5..hi * 1.5,
        (true, false) => lo..hi,
        (false, true) => lo / 2.0..hi * 2.0,
        (false, false) => lo - 0.5..hi + 0.5,
    }
}

/// Axis tick text: short, no trailing zeros, powers of ten as `1e5`.
fn axis_label(x: &f64) -> String {
    let text = if *x != 0.0 && !(1e-3..1e5).contains(&x.abs()) {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    };
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, ""));
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    match exponent {
        "" => mantissa.to_string(),
        e => format!("{mantissa}e{e}"),
    }
}

/// Colour by shape, so a shape's stock and patched lines match; the kernel
/// is told apart by line weight and marker fill.
fn style(results: &Results, lines: &[Series], s: &Series) -> (RGBColor, u32, bool) {
    let mut shapes: Vec<&str> = lines.iter().map(|l| l.shape.as_str()).collect();
    shapes.sort_by_key(|&x| (results.meta.shape_rank(x), x));
    shapes.dedup();
    let index = shapes.iter().position(|&x| x == s.shape).unwrap_or(0);
    let patched = s.kernel != STOCK;
    (
        COLORS[index % COLORS.len()],
        if patched { 3 } else { 1 },
        patched,
    )
}

/// Draws `lines` on a log-x chart (log-y too if `log_y`).
fn line_chart(
    results: &Results,
    path: &Path,
    caption: &str,
    y_desc: &str,
    lines: &[Series],
    log_y: bool,
) -> Result<()> {
    let all = || lines.iter().flat_map(|s| s.points.iter().copied());
    let x_range = bounds(all().map(|p| p.0), true);
    let y_bounds = bounds(all().map(|p| p.1), log_y);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(caption, (FONT, 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80);
    // The two axis types differ, so each arm draws its own chart.
    if log_y {
        let mut chart = builder.build_cartesian_2d(x_range.log_scale(), y_bounds.log_scale())?;
        chart
            .configure_mesh()
            .x_desc("dentries")
            .y_desc(y_desc)
            .x_label_formatter(&axis_label)
            .y_label_formatter(&axis_label)
            .draw()?;
        draw_lines(results, &mut chart, lines, SeriesLabelPosition::UpperLeft)?;
    } else {
        let y_range = 0.0..(y_bounds.end * 1.1).max(1.0);
        let mut chart = builder.build_cartesian_2d(x_range.log_scale(), y_range)?;
        chart
            .configure_mesh()
            .x_desc("dentries")
            .y_desc(y_desc)
            .x_label_formatter(&axis_label)
            .y_label_formatter(&axis_label)
            .draw()?;
        // Costs per dentry sit well above 0, leaving the bottom free.
        draw_lines(results, &mut chart, lines, SeriesLabelPosition::LowerRight)?;
    }
    root.present()?;
    Ok(())
}

fn draw_lines<'a, X, Y>(
    results: &Results,
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    lines: &[Series],
    legend: SeriesLabelPosition,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for s in lines {
        let (color, width, filled) = style(results, lines, s);
        let line = color.stroke_width(width);
        let marker = if filled {
            color.filled()
        } else {
            color.stroke_width(1)
        };
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), line))?
            .label(format!("{} {}", s.kernel, s.shape))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
        chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, marker)))?;
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn scaling(results: &Results, mode: Mode, metric: &str, path: &Path) -> Result<()> {
    let lines = series(
        results,
        |g| g.mode == mode && g.metric == metric,
        |g| g.median,
    );
    let caption = format!("{metric} ({mode}): cost per dentry, median");
    line_chart(results, path, &caption, mode.unit(), &lines, false)
}

fn loglog(results: &Results, mode: Mode, path: &Path) -> Result<()> {
    let lines = loglog_series(results, mode);
    let unit = match mode {
        Mode::Icount => "instructions",
        Mode::Wall => "ns",
    };
    let caption = format!("{LOGLOG_METRIC} ({mode}): total cost, log-log");
    line_chart(results, path, &caption, unit, &lines, true)
}

/// The ratios at each (metric, shape)'s largest size.
fn largest_n(results: &Results, mode: Mode) -> Vec<&Ratio> {
    let mut by_cell: BTreeMap<(&str, &str), &Ratio> = BTreeMap::new();
    for r in results.ratios.iter().filter(|r| r.mode == mode) {
        let slot = by_cell.entry((&r.metric, &r.shape)).or_insert(r);
        if r.n > slot.n {
            *slot = r;
        }
    }
    by_cell.into_values().collect()
}

fn ab(results: &Results, mode: Mode, path: &Path) -> Result<()> {
    let ratios = largest_n(results, mode);
    let last = i32::try_from(ratios.len())
        .map_err(|_| anyhow!("too many ratios to plot"))?
        .checked_sub(1)
        .ok_or_else(|| anyhow!("no ratios to plot"))?;
    let threshold = results.thresholds.ratio(mode);
    let x = bounds(
        ratios
            .iter()
            .flat_map(|r| [r.lo, r.hi])
            .chain([1.0, threshold]),
        false,
    );
    let pad = (x.end - x.start) * 0.1;
    // One row per ratio, the first at the top.
    let row = |i: usize| SegmentValue::CenterOf(last - i as i32);
    let labels: Vec<String> = ratios
        .iter()
        .rev()
        .map(|r| format!("{}/{} n={}", r.metric, r.shape, r.n))
        .collect();
    let label_of = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| labels.get(i).cloned())
            .unwrap_or_default(),
        _ => String::new(),
    };

    let height = SIZE.1.max(140 + 28 * labels.len() as u32);
    let root = SVGBackend::new(path, (SIZE.0, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{PATCHED}/{STOCK} per-dentry cost ({mode}): 95% CI at the largest n"),
            (FONT, 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(230)
        .build_cartesian_2d(x.start - pad..x.end + pad, (0..last).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(labels.len() + 1)
        .y_label_formatter(&label_of)
        .x_label_formatter(&axis_label)
        .x_desc(format!(
            "{PATCHED}/{STOCK} (black: 1.0, no change; red: gate threshold {threshold})"
        ))
        .draw()?;

    let span = [SegmentValue::Exact(0), SegmentValue::Last];
    for (at, line) in [
        (1.0, BLACK.stroke_width(1)),
        (threshold, RED.stroke_width(2)),
    ] {
        chart.draw_series(LineSeries::new(span.iter().map(|y| (at, y.clone())), line))?;
    }
    chart.draw_series(ratios.iter().enumerate().map(|(i, r)| {
        ErrorBar::new_horizontal(row(i), r.lo, r.estimate, r.hi, BLUE.stroke_width(2), 10)
    }))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{synthetic_results as synthetic, Meta};

    #[test]
    fn renders_every_plot_as_svg() {
        let results = synthetic();
        let dir = std::env::temp_dir().join(format!("shrinkfs-bench-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let paths = render_all(&results, &dir).unwrap();
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, file_names(&results));
        for expected in [
            "ab-icount.svg",
            "ab-wall.svg",
            "scaling-loglog-icount.svg",
            "scaling-icount-umount.svg",
            "scaling-wall-cold_lookup.svg",
            "scaling-wall-reaper.svg",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        for path in &paths {
            let svg = std::fs::read_to_string(path).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.contains("</svg>"),
                "{path:?}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn axis_labels_are_short() {
        let cases = [
            (0.0, "0"),
            (0.25, "0.25"),
            (1.05, "1.05"),
            (800.0, "800"),
            (10000.0, "10000"),
            (100000.0, "1e5"),
            (3.0e7, "3e7"),
            (3.16e7, "3.16e7"),
        ];
        for (x, text) in cases {
            assert_eq!(axis_label(&x), text);
        }
    }

    #[test]
    fn no_data_no_plots() {
        let empty = Results::compute(Meta::default(), Vec::new()).unwrap();
        assert!(file_names(&empty).is_empty());
    }
}
