//! The Markdown report: what a person reads to judge a run.
//!
//! It opens by saying what the figures are not (instruction counts are not
//! time, TCG time is not hardware time), because the absolute numbers invite
//! exactly those readings; the ratios are what the run is for.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::plots;
use crate::sample::Mode;
use crate::stats::{Group, PATCHED, REFERENCE_SCALING_METRIC, STOCK};
use crate::Results;

/// Per-dentry costs and other magnitudes: three significant digits, no
/// exponent, whole numbers from 100 up.
fn fmt_value(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = usize::try_from(2 - magnitude).unwrap_or(0);
    format!("{x:.decimals$}")
}

/// A whole call's cost: three significant digits with an SI prefix.
fn fmt_total(x: f64) -> String {
    match x.abs() {
        a if a >= 1e9 => format!("{}G", fmt_value(x / 1e9)),
        a if a >= 1e6 => format!("{}M", fmt_value(x / 1e6)),
        a if a >= 1e3 => format!("{}k", fmt_value(x / 1e3)),
        _ => fmt_value(x),
    }
}

/// Ratios and exponents: three decimals, as the gate's thresholds need.
fn fmt_ratio(x: f64) -> String {
    format!("{x:.3}")
}

fn fmt_ci(estimate: f64, ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!(
            "{} [{}, {}]",
            fmt_ratio(estimate),
            fmt_ratio(lo),
            fmt_ratio(hi)
        ),
        None => fmt_ratio(estimate),
    }
}

fn fmt_spread(spread: Option<f64>) -> String {
    spread.map_or("–".into(), |s| format!("{:.1}%", s * 100.0))
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Kernels in column order: stock, patched, then any others.
fn kernel_order<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut kernels: Vec<&str> = names.collect::<BTreeSet<_>>().into_iter().collect();
    kernels.sort_by_key(|&k| (k != STOCK, k != PATCHED, k));
    kernels
}

/// The full report.
pub fn markdown(results: &Results) -> String {
    let mut out = String::new();
    preamble(&mut out, results);
    let plot_files: BTreeSet<String> = plots::file_names(results).into_iter().collect();
    let image = |out: &mut String, name: String| {
        if plot_files.contains(&name) {
            let _ = writeln!(out, "![{name}]({name})\n");
        }
    };
    for mode in Mode::ALL {
        let groups: Vec<&Group> = results.groups.iter().filter(|g| g.mode == mode).collect();
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {mode} ({})\n", mode.unit());
        let _ = writeln!(
            out,
            "Per dentry: the median over repetitions, with their spread (max − min) / median. \
             Per call: the median {} of the whole timed call.\n",
            mode.total_unit()
        );
        image(&mut out, plots::ab_name(mode));
        image(&mut out, plots::loglog_name(mode));
        let metrics: BTreeSet<&str> = groups.iter().map(|g| g.metric.as_str()).collect();
        for metric in metrics {
            let cells: Vec<&Group> = groups
                .iter()
                .copied()
                .filter(|g| g.metric == metric)
                .collect();
            metric_table(&mut out, results, mode, metric, &cells);
            image(&mut out, plots::scaling_name(mode, metric));
        }
    }
    exponents(&mut out, results);
    noise_floor(&mut out, results);
    verdict(&mut out, results);
    out
}

fn preamble(out: &mut String, results: &Results) {
    let meta = &results.meta;
    let _ = writeln!(out, "# shrinkfs dentry-reclaim benchmark\n");
    let _ = writeln!(
        out,
        "**What the numbers are.** icount figures count guest instructions: QEMU runs \
         with `-icount shift=0`, so 1 guest ns = 1 executed instruction. They are not \
         time: cache misses and lock contention do not show in them. Wall-clock figures \
         are guest nanoseconds under multi-threaded TCG emulation, not hardware time. In both, the \
         {PATCHED}/{STOCK} ratios are what count, not the absolute figures.\n"
    );
    let _ = writeln!(
        out,
        "**What a window holds.** Each timed call runs as a SCHED_FIFO task. On icount's one \
         CPU, RCU's grace-period kthread then cannot run until the call returns, so the RCU \
         callbacks it queues (a dentry's and an inode's free per kill) run after its window, \
         at every size alike: icount figures are the call's own work, and the deferred \
         freeing, the same code on both kernels, is not in them. Wall-clock guests have two \
         vCPUs and the kthread runs on the other one, so some freeing lands in their windows.\n"
    );
    let _ = writeln!(out, "## Setup\n");
    if !meta.kernels.is_empty() {
        let _ = writeln!(
            out,
            "| kernel | version | config hash |\n| --- | --- | --- |"
        );
        for name in kernel_order(meta.kernels.keys().map(String::as_str)) {
            let k = &meta.kernels[name];
            let _ = writeln!(out, "| {name} | {} | `{}` |", k.version, k.config_hash);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "- accelerator: {}", meta.accelerator);
    if !meta.kernel_params.is_empty() {
        let _ = writeln!(out, "- kernel parameters: `{}`", meta.kernel_params);
    }
    let _ = writeln!(out, "- reps: {}", meta.reps);
    let _ = writeln!(out, "- sizes: {}", join(&meta.sizes));
    let _ = writeln!(out, "- shapes: {}", join(&meta.shapes));
    let _ = writeln!(out, "- seed: {}", meta.seed);
    let _ = writeln!(out, "- started: {}", meta.started);
    let _ = writeln!(out, "- host: {}", meta.host);
    let _ = writeln!(out, "- samples: {}\n", results.samples.len());
}

/// Why a row has no ratio.
fn no_ratio(cells: &[&Group]) -> String {
    match cells {
        [only] => format!("{} only", only.kernel),
        _ if cells.iter().any(|g| g.count < 2) => "too few samples".into(),
        _ => "no ratio".into(),
    }
}

fn metric_table(out: &mut String, results: &Results, mode: Mode, metric: &str, cells: &[&Group]) {
    let kernels = kernel_order(
        [STOCK, PATCHED]
            .into_iter()
            .chain(cells.iter().map(|g| g.kernel.as_str())),
    );
    let mut rows: BTreeMap<(usize, &str, u64), BTreeMap<&str, &Group>> = BTreeMap::new();
    for g in cells {
        let key = (results.meta.shape_rank(&g.shape), g.shape.as_str(), g.n);
        rows.entry(key).or_default().insert(&g.kernel, g);
    }
    let _ = writeln!(out, "### {metric}\n");
    let mut header = "| shape | n | dentries |".to_string();
    for k in &kernels {
        let _ = write!(header, " {k} median (spread) |");
    }
    for k in &kernels {
        let _ = write!(header, " {k} per call |");
    }
    let _ = writeln!(out, "{header} {PATCHED}/{STOCK} [95% CI] |");
    let _ = writeln!(out, "|{}", " --- |".repeat(2 * kernels.len() + 4));
    for ((_, shape, n), by_kernel) in rows {
        let mut dentries: Vec<String> = by_kernel
            .values()
            .map(|g| fmt_value(g.median_dentries))
            .collect();
        dentries.sort();
        dentries.dedup();
        let _ = write!(out, "| {shape} | {n} | {} |", dentries.join(" / "));
        for k in &kernels {
            let cell = by_kernel.get(k).map_or("–".into(), |g| {
                format!("{} ({})", fmt_value(g.median), fmt_spread(g.spread))
            });
            let _ = write!(out, " {cell} |");
        }
        for k in &kernels {
            let cell = by_kernel
                .get(k)
                .map_or("–".into(), |g| fmt_total(g.median_value));
            let _ = write!(out, " {cell} |");
        }
        let ratio = results
            .ratios
            .iter()
            .find(|r| r.mode == mode && r.metric == metric && r.shape == shape && r.n == n);
        let text = match ratio {
            Some(r) => fmt_ci(r.estimate, Some([r.lo, r.hi])),
            None => no_ratio(&by_kernel.values().copied().collect::<Vec<_>>()),
        };
        let _ = writeln!(out, " {text} |");
    }
    out.push('\n');
}

fn exponents(out: &mut String, results: &Results) {
    let _ = writeln!(out, "## Scaling exponents\n");
    if results.exponents.is_empty() {
        let _ = writeln!(out, "Fewer than two sizes: no exponents.\n");
        return;
    }
    let _ = writeln!(
        out,
        "Slope of ln(median total) against ln(median dentries) over the sizes run, \
         95% CI (none with two sizes). 1 is linear. `{REFERENCE_SCALING_METRIC}` is \
         the kernel's own reference and is not gated.\n"
    );
    let _ = writeln!(
        out,
        "| mode | metric | shape | kernel | sizes | exponent [95% CI] |\n| --- | --- | --- | --- | --- | --- |"
    );
    let mut rows: Vec<_> = results.exponents.iter().collect();
    rows.sort_by_key(|e| {
        let kernel = kernel_order([STOCK, PATCHED, e.kernel.as_str()].into_iter());
        let kernel_rank = kernel.iter().position(|&k| k == e.kernel);
        (
            e.mode,
            &e.metric,
            results.meta.shape_rank(&e.shape),
            &e.shape,
            kernel_rank,
        )
    });
    for e in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            e.mode,
            e.metric,
            e.shape,
            e.kernel,
            e.sizes,
            fmt_ci(e.slope, e.ci)
        );
    }
    out.push('\n');
}

fn noise_floor(out: &mut String, results: &Results) {
    let _ = writeln!(out, "## Noise floor\n");
    if results.noise_floor.is_empty() {
        let _ = writeln!(out, "No group has two samples: no noise floor.\n");
        return;
    }
    let _ = writeln!(
        out,
        "Median over groups of (max − min) / median per-dentry cost: differences \
         smaller than this are run-to-run noise.\n"
    );
    let _ = writeln!(
        out,
        "| mode | metric | groups | median spread |\n| --- | --- | --- | --- |"
    );
    for f in &results.noise_floor {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            f.mode,
            f.metric,
            f.groups,
            fmt_spread(Some(f.spread))
        );
    }
    out.push('\n');
}

fn verdict(out: &mut String, results: &Results) {
    let t = &results.thresholds;
    let violations = results.violations();
    let _ = writeln!(out, "## Gate\n");
    let _ = writeln!(
        out,
        "A ratio fails when its whole 95% CI lies above {} (icount) or {} (wall); \
         an exponent fails when it exceeds {}.\n",
        t.icount_ratio, t.wall_ratio, t.exponent
    );
    if violations.is_empty() {
        let _ = writeln!(out, "**PASS**: no violations.");
    } else {
        let _ = writeln!(out, "**FAIL**: {} violations.\n", violations.len());
        for v in &violations {
            let _ = writeln!(out, "- {v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic_results;

    #[test]
    fn formats_numbers() {
        assert_eq!(fmt_value(1234.56), "1235");
        assert_eq!(fmt_value(123.456), "123");
        assert_eq!(fmt_value(12.345), "12.3");
        assert_eq!(fmt_value(0.012345), "0.0123");
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_total(136_612_345.0), "137M");
        assert_eq!(fmt_total(1_366_000.0), "1.37M");
        assert_eq!(fmt_total(12_345.0), "12.3k");
        assert_eq!(fmt_total(2.5e9), "2.50G");
        assert_eq!(fmt_total(999.0), "999");
        assert_eq!(fmt_ratio(1.03449), "1.034");
        assert_eq!(fmt_spread(Some(0.0234)), "2.3%");
        assert_eq!(fmt_spread(None), "–");
    }

    #[test]
    fn report_has_every_part() {
        let md = markdown(&synthetic_results());
        for needle in [
            "# shrinkfs dentry-reclaim benchmark",
            "count guest instructions",
            "not hardware time",
            "**What a window holds.** Each timed call runs as a SCHED_FIFO task.",
            "| stock | 6.12.0 | `stock-cfg` |",
            "- kernel parameters: `rcutree.qhimark=1000000000`",
            "- sizes: 100, 1000, 10000",
            "## icount (insns/dentry)",
            "## wall (ns/dentry)",
            "### umount",
            "| shape | n | dentries | stock median (spread) | patched median (spread) \
             | stock per call | patched per call | patched/stock [95% CI] |",
            "patched only",
            "## Scaling exponents",
            "## Noise floor",
            "## Gate",
            "**FAIL**",
            "![ab-icount.svg](ab-icount.svg)",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
        // Shapes follow the meta's order, not the alphabet.
        assert!(md.find("| flat | 100 |").unwrap() < md.find("| deep | 100 |").unwrap());
    }

    #[test]
    fn results_without_kernel_parameters_still_load() {
        let mut r = synthetic_results();
        r.meta.kernel_params.clear();
        let mut json = serde_json::to_value(&r).unwrap();
        json["meta"]
            .as_object_mut()
            .unwrap()
            .remove("kernel_params");
        let back: Results = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        assert!(!markdown(&back).contains("- kernel parameters:"));
    }

    #[test]
    fn passing_run_says_pass() {
        let mut r = synthetic_results();
        r.thresholds.icount_ratio = 2.0;
        r.thresholds.wall_ratio = 2.0;
        assert!(markdown(&r).contains("**PASS**: no violations."));
    }
}
