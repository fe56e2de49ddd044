//! The statistics the gate and the report rest on.
//!
//! Per-dentry costs are compared as ratios of geometric means with a Welch
//! interval on the logs: costs are positive and skewed, their noise is
//! multiplicative, and the two kernels need not have equal variances.
//! Scaling is judged by a log-log slope, so "linear" reads as 1 whatever the
//! constant factor is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::sample::{Mode, Sample};

/// The baseline kernel: the denominator of every ratio.
pub const STOCK: &str = "stock";
/// The kernel under test: the numerator of every ratio.
pub const PATCHED: &str = "patched";
/// Metrics whose cost must grow linearly with the number of dentries.
pub const SCALING_METRICS: [&str; 3] = ["shrinker", "shrink_parent", "umount"];
/// tmpfs's umount: its exponent is reported as a reference for what the
/// kernel itself does, but not gated, since shrinkfs cannot change it.
pub const REFERENCE_SCALING_METRIC: &str = "tmpfs_umount";

/// Two-sided confidence level of every interval.
const CONFIDENCE: f64 = 0.95;

/// Summary of one (kernel, mode, metric, shape, n) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub kernel: String,
    pub mode: Mode,
    pub metric: String,
    pub shape: String,
    pub n: u64,
    pub count: usize,
    /// Median, min and max of the per-dentry cost.
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// (max − min) / median; `None` when the median is 0.
    pub spread: Option<f64>,
    pub median_dentries: f64,
    /// Median of the total value, for the scaling fit.
    pub median_value: f64,
}

/// patched/stock ratio of per-dentry cost with its 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub mode: Mode,
    pub metric: String,
    pub shape: String,
    pub n: u64,
    pub stock_count: usize,
    pub patched_count: usize,
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Log-log slope of total cost against dentries over the sizes run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exponent {
    pub kernel: String,
    pub mode: Mode,
    pub metric: String,
    pub shape: String,
    /// Number of sizes fitted.
    pub sizes: usize,
    pub slope: f64,
    /// 95% interval; `None` with only two sizes.
    pub ci: Option<[f64; 2]>,
}

/// Typical run-to-run spread of one metric: below it, differences are noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseFloor {
    pub mode: Mode,
    pub metric: String,
    /// Groups with at least two samples that the median is taken over.
    pub groups: usize,
    /// Median relative spread.
    pub spread: f64,
}

/// Difference of means `mean(b) − mean(a)` with its Welch interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    pub diff: f64,
    /// Welch–Satterthwaite degrees of freedom; `None` when both variances
    /// are 0 and the interval collapses to the point.
    pub df: Option<f64>,
    pub lo: f64,
    pub hi: f64,
}

/// Least-squares slope with its interval (`None` with two points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub slope: f64,
    pub ci: Option<[f64; 2]>,
}

/// Median; `None` for an empty slice.
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        len if len % 2 == 1 => Some(v[mid]),
        _ => Some((v[mid - 1] + v[mid]) / 2.0),
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Unbiased sample variance; needs two values.
fn variance(xs: &[f64]) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
}

/// Two-sided Student t quantile for `CONFIDENCE`.
fn t_quantile(df: f64) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(t.inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0))
}

/// Welch interval of `mean(b) − mean(a)`; needs two values on each side.
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let diff = mean(b) - mean(a);
    let (va, vb) = (variance(a) / a.len() as f64, variance(b) / b.len() as f64);
    let se2 = va + vb;
    if se2 == 0.0 {
        return Some(Welch {
            diff,
            df: None,
            lo: diff,
            hi: diff,
        });
    }
    let df = se2.powi(2) / (va.powi(2) / (a.len() - 1) as f64 + vb.powi(2) / (b.len() - 1) as f64);
    let half = t_quantile(df)? * se2.sqrt();
    Some(Welch {
        diff,
        df: Some(df),
        lo: diff - half,
        hi: diff + half,
    })
}

/// Least-squares slope of y on x with a t interval on k − 2 df.
/// `None` with fewer than two points or when all x are equal.
pub fn fit_slope(points: &[(f64, f64)]) -> Option<Fit> {
    let k = points.len();
    if k < 2 {
        return None;
    }
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let (mx, my) = (mean(&xs), mean(&ys));
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = sxy / sxx;
    if k == 2 {
        return Some(Fit { slope, ci: None });
    }
    let intercept = my - slope * mx;
    let sse: f64 = points
        .iter()
        .map(|(x, y)| (y - intercept - slope * x).powi(2))
        .sum();
    let df = (k - 2) as f64;
    let half = t_quantile(df)? * (sse / df / sxx).sqrt();
    Some(Fit {
        slope,
        ci: Some([slope - half, slope + half]),
    })
}

type GroupKey<'a> = (&'a str, Mode, &'a str, &'a str, u64);

fn by_group(samples: &[Sample]) -> BTreeMap<GroupKey<'_>, Vec<&Sample>> {
    let mut map: BTreeMap<GroupKey<'_>, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        map.entry((&s.kernel, s.mode, &s.metric, &s.shape, s.n))
            .or_default()
            .push(s);
    }
    map
}

/// One summary per (kernel, mode, metric, shape, n), sorted by that key.
pub fn groups(samples: &[Sample]) -> Vec<Group> {
    by_group(samples)
        .into_iter()
        .filter_map(|((kernel, mode, metric, shape, n), members)| {
            let costs: Vec<f64> = members.iter().map(|s| s.per_dentry()).collect();
            let dentries: Vec<f64> = members.iter().map(|s| s.dentries as f64).collect();
            let values: Vec<f64> = members.iter().map(|s| s.value as f64).collect();
            let median_cost = median(&costs)?;
            let min = costs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = costs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Some(Group {
                kernel: kernel.to_string(),
                mode,
                metric: metric.to_string(),
                shape: shape.to_string(),
                n,
                count: members.len(),
                median: median_cost,
                min,
                max,
                spread: (median_cost > 0.0).then(|| (max - min) / median_cost),
                median_dentries: median(&dentries)?,
                median_value: median(&values)?,
            })
        })
        .collect()
}

/// Median relative spread per (mode, metric), over groups with at least two
/// samples (a single sample has no spread to speak of).
pub fn noise_floor(groups: &[Group]) -> Vec<NoiseFloor> {
    let mut spreads: BTreeMap<(Mode, &str), Vec<f64>> = BTreeMap::new();
    for g in groups.iter().filter(|g| g.count >= 2) {
        if let Some(spread) = g.spread {
            spreads.entry((g.mode, &g.metric)).or_default().push(spread);
        }
    }
    spreads
        .into_iter()
        .filter_map(|((mode, metric), v)| {
            Some(NoiseFloor {
                mode,
                metric: metric.to_string(),
                groups: v.len(),
                spread: median(&v)?,
            })
        })
        .collect()
}

/// patched/stock ratios wherever both kernels have two or more samples with
/// a positive cost (a log needs one).
pub fn ratios(samples: &[Sample]) -> Vec<Ratio> {
    let cells = by_group(samples);
    let log_costs = |kernel: &str, mode, metric: &str, shape: &str, n| -> Option<Vec<f64>> {
        let members = cells.get(&(kernel, mode, metric, shape, n))?;
        members
            .iter()
            .map(|s| {
                let c = s.per_dentry();
                (c > 0.0).then(|| c.ln())
            })
            .collect()
    };
    cells
        .keys()
        .filter(|key| key.0 == STOCK)
        .filter_map(|&(_, mode, metric, shape, n)| {
            let stock = log_costs(STOCK, mode, metric, shape, n)?;
            let patched = log_costs(PATCHED, mode, metric, shape, n)?;
            let w = welch(&stock, &patched)?;
            Some(Ratio {
                mode,
                metric: metric.to_string(),
                shape: shape.to_string(),
                n,
                stock_count: stock.len(),
                patched_count: patched.len(),
                estimate: w.diff.exp(),
                lo: w.lo.exp(),
                hi: w.hi.exp(),
            })
        })
        .collect()
}

/// Whether a metric gets a scaling exponent.
pub fn has_exponent(metric: &str) -> bool {
    SCALING_METRICS.contains(&metric) || metric == REFERENCE_SCALING_METRIC
}

/// Scaling exponents per (kernel, mode, metric, shape) for the scaling
/// metrics and the reference, from the groups' medians.
pub fn exponents(groups: &[Group]) -> Vec<Exponent> {
    type Key<'a> = (&'a str, Mode, &'a str, &'a str);
    let mut points: BTreeMap<Key<'_>, Vec<(f64, f64)>> = BTreeMap::new();
    for g in groups {
        if has_exponent(&g.metric) && g.median_value > 0.0 {
            points
                .entry((&g.kernel, g.mode, &g.metric, &g.shape))
                .or_default()
                .push((g.median_dentries.ln(), g.median_value.ln()));
        }
    }
    points
        .into_iter()
        .filter_map(|((kernel, mode, metric, shape), pts)| {
            let fit = fit_slope(&pts)?;
            Some(Exponent {
                kernel: kernel.to_string(),
                mode,
                metric: metric.to_string(),
                shape: shape.to_string(),
                sizes: pts.len(),
                slope: fit.slope,
                ci: fit.ci,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    fn sample(kernel: &str, metric: &str, n: u64, dentries: u64, value: u64) -> Sample {
        Sample {
            kernel: kernel.into(),
            mode: Mode::Icount,
            rep: 1,
            metric: metric.into(),
            shape: "flat".into(),
            n,
            dentries,
            value,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[1.0, 3.0, 2.0, 10.0]), Some(2.5));
    }

    #[test]
    fn group_summary_and_spread() {
        // Per-dentry costs 1, 2, 4 with 10 dentries each; dentries 10, 10, 12.
        let samples = vec![
            sample("stock", "umount", 10, 10, 10),
            sample("stock", "umount", 10, 10, 20),
            sample("stock", "umount", 10, 12, 48),
        ];
        let g = &groups(&samples)[0];
        assert_eq!(g.count, 3);
        assert_eq!((g.median, g.min, g.max), (2.0, 1.0, 4.0));
        assert_eq!(g.spread, Some(1.5));
        assert_eq!(g.median_dentries, 10.0);
        assert_eq!(g.median_value, 20.0);
    }

    #[test]
    fn noise_floor_is_median_spread_of_multi_sample_groups() {
        let mk = |spread: f64, count| Group {
            kernel: "stock".into(),
            mode: Mode::Wall,
            metric: "umount".into(),
            shape: "flat".into(),
            n: 1,
            count,
            median: 1.0,
            min: 1.0,
            max: 1.0 + spread,
            spread: Some(spread),
            median_dentries: 1.0,
            median_value: 1.0,
        };
        let floor = noise_floor(&[mk(0.1, 3), mk(0.3, 3), mk(0.2, 2), mk(9.0, 1)]);
        assert_eq!(floor.len(), 1);
        assert_eq!(floor[0].groups, 3);
        assert!(close(floor[0].spread, 0.2));
    }

    #[test]
    fn welch_equal_variances_matches_pooled_t() {
        // a = 1,2,3 and b = 4,5,6: diff 3, se = sqrt(2/3), df = 4,
        // t(0.975, 4) = 2.776445, half-width 2.266957.
        let w = welch(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!(close(w.diff, 3.0));
        assert!(close(w.df.unwrap(), 4.0));
        assert!(close(w.lo, 0.733043) && close(w.hi, 5.266957), "{w:?}");
    }

    #[test]
    fn welch_unequal_variances_df() {
        // va = 1/3, vb = 4/3: df = (5/3)² / ((1/9 + 16/9) / 2) = 50/17,
        // between 2 and 3 df, so t lies between t(3) and t(2).
        let w = welch(&[1.0, 2.0, 3.0], &[4.0, 6.0, 8.0]).unwrap();
        assert!(close(w.df.unwrap(), 50.0 / 17.0));
        let t = (w.hi - w.diff) / (5.0f64 / 3.0).sqrt();
        assert!(t > 3.182446 && t < 4.302653, "{t}");
    }

    #[test]
    fn welch_needs_two_per_side_and_collapses_without_variance() {
        assert_eq!(welch(&[1.0], &[1.0, 2.0]), None);
        let w = welch(&[2.0, 2.0], &[5.0, 5.0, 5.0]).unwrap();
        assert_eq!((w.diff, w.df, w.lo, w.hi), (3.0, None, 3.0, 3.0));
    }

    #[test]
    fn ratio_is_ratio_of_geometric_means() {
        // Per-dentry costs e^1, e^2, e^3 against e^4, e^5, e^6 (to six
        // digits): geometric means e^2 and e^5, ratio e^3, and the interval
        // exp(3 ± 2.266957) of the equal-variance Welch case above.
        let d = 1_000_000;
        let value = |x: f64| (x.exp() * d as f64).round() as u64;
        let mut samples = Vec::new();
        for x in [1.0, 2.0, 3.0] {
            samples.push(sample("stock", "umount", 1, d, value(x)));
            samples.push(sample("patched", "umount", 1, d, value(x + 3.0)));
        }
        // A metric on one kernel only gets no ratio.
        samples.push(sample("patched", "reaper", 1, 1, 5));
        samples.push(sample("patched", "reaper", 1, 1, 6));
        let r = ratios(&samples);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].stock_count, r[0].patched_count), (3, 3));
        let near = |a: f64, b: f64| (a - b).abs() < 1e-5;
        assert!(near(r[0].estimate.ln(), 3.0), "{:?}", r[0]);
        assert!(near(r[0].lo.ln(), 0.733043) && near(r[0].hi.ln(), 5.266957));
    }

    #[test]
    fn ratio_collapses_when_both_sides_are_constant() {
        let samples = vec![
            sample("stock", "umount", 1, 10, 20),
            sample("stock", "umount", 1, 10, 20),
            sample("patched", "umount", 1, 10, 30),
            sample("patched", "umount", 1, 10, 30),
        ];
        let r = &ratios(&samples)[0];
        assert!(close(r.estimate, 1.5) && close(r.lo, 1.5) && close(r.hi, 1.5));
    }

    #[test]
    fn slope_of_exact_power_law() {
        let pts: Vec<(f64, f64)> = [10.0f64, 100.0, 1000.0, 10000.0]
            .iter()
            .map(|&x| (x.ln(), (3.0 * x.powf(1.5)).ln()))
            .collect();
        let fit = fit_slope(&pts).unwrap();
        assert!(close(fit.slope, 1.5));
        let [lo, hi] = fit.ci.unwrap();
        assert!(close(lo, 1.5) && close(hi, 1.5));
        let two = fit_slope(&pts[..2]).unwrap();
        assert!(close(two.slope, 1.5) && two.ci.is_none());
        assert_eq!(fit_slope(&pts[..1]), None);
        assert_eq!(fit_slope(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }

    #[test]
    fn slope_interval_by_hand() {
        // x = 0,1,2; y = 0,2,2: slope 1, intercept 1/3, SSE 2/3, Sxx 2,
        // se = sqrt(1/3), t(0.975, 1) = 12.706205: 1 ± 7.335933.
        let fit = fit_slope(&[(0.0, 0.0), (1.0, 2.0), (2.0, 2.0)]).unwrap();
        assert!(close(fit.slope, 1.0));
        let [lo, hi] = fit.ci.unwrap();
        assert!(close(lo, -6.335933) && close(hi, 8.335933), "{lo} {hi}");
    }

    #[test]
    fn exponents_only_for_scaling_metrics() {
        let mut samples = Vec::new();
        for n in [100u64, 1000, 10000] {
            let v = (n as f64).powf(1.5) as u64;
            for metric in ["umount", "tmpfs_umount", "cold_lookup"] {
                samples.push(sample("patched", metric, n, n, v));
            }
        }
        let ex = exponents(&groups(&samples));
        let metrics: Vec<&str> = ex.iter().map(|e| e.metric.as_str()).collect();
        assert_eq!(metrics, ["tmpfs_umount", "umount"]);
        assert!((ex[1].slope - 1.5).abs() < 1e-3);
        assert_eq!(ex[1].sizes, 3);
    }
}
