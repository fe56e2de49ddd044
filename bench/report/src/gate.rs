//! The pass/fail gate.
//!
//! A ratio fails only when its whole interval lies above the threshold, so
//! noise alone cannot fail a run; the thresholds leave room for the small
//! fixed cost the patch may add. An exponent fails on its point estimate,
//! since with few sizes its interval is too wide to bound anything.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sample::Mode;
use crate::stats::{Exponent, Ratio, PATCHED, SCALING_METRICS, STOCK};
use crate::Results;

/// Limits a run must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Largest patched/stock ratio tolerated in icount mode.
    pub icount_ratio: f64,
    /// Largest patched/stock ratio tolerated in wall mode (noisier).
    pub wall_ratio: f64,
    /// Largest scaling exponent tolerated (1 is linear).
    pub exponent: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            icount_ratio: 1.005,
            wall_ratio: 1.05,
            exponent: 1.15,
        }
    }
}

impl Thresholds {
    /// The ratio threshold of a mode.
    pub fn ratio(&self, mode: Mode) -> f64 {
        match mode {
            Mode::Icount => self.icount_ratio,
            Mode::Wall => self.wall_ratio,
        }
    }
}

/// One way a run failed the gate.
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    Ratio { ratio: Ratio, threshold: f64 },
    Exponent { exponent: Exponent, threshold: f64 },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Ratio {
                ratio: r,
                threshold,
            } => write!(
                f,
                "{} {}/{} n={}: {PATCHED}/{STOCK} {:.3} [{:.3}, {:.3}] lies wholly above {}",
                r.mode, r.metric, r.shape, r.n, r.estimate, r.lo, r.hi, threshold
            ),
            Violation::Exponent {
                exponent: e,
                threshold,
            } => {
                write!(
                    f,
                    "{} {}/{} {}: scaling exponent {:.3}",
                    e.mode, e.metric, e.shape, e.kernel, e.slope
                )?;
                if let Some([lo, hi]) = e.ci {
                    write!(f, " [{lo:.3}, {hi:.3}]")?;
                }
                write!(f, " exceeds {threshold}")
            }
        }
    }
}

/// Every violation of `t` in `results`: ratios first, then exponents.
pub fn check(results: &Results, t: &Thresholds) -> Vec<Violation> {
    let ratios = results
        .ratios
        .iter()
        .filter(|r| r.lo > t.ratio(r.mode))
        .map(|r| Violation::Ratio {
            ratio: r.clone(),
            threshold: t.ratio(r.mode),
        });
    let exponents = results
        .exponents
        .iter()
        .filter(|e| SCALING_METRICS.contains(&e.metric.as_str()) && e.slope > t.exponent)
        .map(|e| Violation::Exponent {
            exponent: e.clone(),
            threshold: t.exponent,
        });
    ratios.chain(exponents).collect()
}

/// The closing line of a check: `bench-check: N violations`.
pub fn verdict_line(violations: &[Violation]) -> String {
    format!("bench-check: {} violations", violations.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Meta;

    fn ratio(mode: Mode, estimate: f64, lo: f64, hi: f64) -> Ratio {
        Ratio {
            mode,
            metric: "umount".into(),
            shape: "flat".into(),
            n: 100000,
            stock_count: 5,
            patched_count: 5,
            estimate,
            lo,
            hi,
        }
    }

    fn exponent(metric: &str, kernel: &str, slope: f64) -> Exponent {
        Exponent {
            kernel: kernel.into(),
            mode: Mode::Wall,
            metric: metric.into(),
            shape: "deep".into(),
            sizes: 3,
            slope,
            ci: Some([slope - 0.1, slope + 0.1]),
        }
    }

    fn results(ratios: Vec<Ratio>, exponents: Vec<Exponent>) -> Results {
        let mut r = Results::compute(Meta::default(), Vec::new()).unwrap();
        r.ratios = ratios;
        r.exponents = exponents;
        r
    }

    #[test]
    fn passing_results_have_no_violations() {
        let r = results(
            vec![
                // Above the threshold but the interval reaches below it.
                ratio(Mode::Icount, 1.006, 1.004, 1.008),
                // Wholly above the icount threshold, but wall allows 1.05.
                ratio(Mode::Wall, 1.04, 1.03, 1.045),
                ratio(Mode::Icount, 0.8, 0.7, 0.9),
            ],
            vec![
                exponent("umount", "patched", 1.1),
                // The reference is reported, not gated.
                exponent("tmpfs_umount", "stock", 1.6),
            ],
        );
        assert!(check(&r, &Thresholds::default()).is_empty());
        assert_eq!(verdict_line(&[]), "bench-check: 0 violations");
    }

    #[test]
    fn failing_results_list_each_violation() {
        let r = results(
            vec![
                ratio(Mode::Icount, 1.034, 1.026, 1.041),
                ratio(Mode::Wall, 1.2, 1.06, 1.3),
            ],
            vec![
                exponent("shrinker", "stock", 1.3),
                exponent("umount", "patched", 1.0),
            ],
        );
        let v = check(&r, &Thresholds::default());
        let lines: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            lines,
            [
                "icount umount/flat n=100000: patched/stock 1.034 [1.026, 1.041] lies wholly above 1.005",
                "wall umount/flat n=100000: patched/stock 1.200 [1.060, 1.300] lies wholly above 1.05",
                "wall shrinker/deep stock: scaling exponent 1.300 [1.200, 1.400] exceeds 1.15",
            ]
        );
        assert_eq!(verdict_line(&v), "bench-check: 3 violations");
        // Looser thresholds let the same run pass.
        let loose = Thresholds {
            icount_ratio: 1.1,
            wall_ratio: 1.1,
            exponent: 1.5,
        };
        assert!(check(&r, &loose).is_empty());
    }
}
