//! shrinkfs benchmark results: raw samples in, statistics, `results.json`,
//! a Markdown report, SVG plots and a pass/fail gate out.
//!
//! Kept apart from the rig that runs the VMs so the numbers can be
//! recomputed, re-gated and re-plotted from stored samples without booting
//! anything.

pub mod gate;
pub mod plots;
pub mod report;
pub mod sample;
pub mod stats;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub use gate::{check, Thresholds, Violation};
pub use sample::{parse_guest_line, read_samples, GuestFigure, Mode, Sample};
pub use stats::{Exponent, Group, NoiseFloor, Ratio};

/// What a kernel under test was built from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelInfo {
    pub version: String,
    pub config_hash: String,
}

/// How a run was set up, as the caller reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub kernels: BTreeMap<String, KernelInfo>,
    pub accelerator: String,
    /// Kernel parameters the benchmark adds to every boot.
    #[serde(default)]
    pub kernel_params: String,
    pub seed: u64,
    pub reps: u32,
    pub sizes: Vec<u64>,
    pub shapes: Vec<String>,
    /// When the run started (RFC 3339 or free text).
    pub started: String,
    pub host: String,
}

impl Meta {
    /// Where a shape sorts: its place in `shapes`, unlisted ones last.
    pub fn shape_rank(&self, shape: &str) -> usize {
        self.shapes
            .iter()
            .position(|s| s == shape)
            .unwrap_or(self.shapes.len())
    }
}

/// Everything derived from one run; serialised as `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub meta: Meta,
    pub samples: Vec<Sample>,
    pub groups: Vec<Group>,
    pub ratios: Vec<Ratio>,
    pub exponents: Vec<Exponent>,
    pub noise_floor: Vec<NoiseFloor>,
    /// Thresholds the report's verdict uses.
    pub thresholds: Thresholds,
}

impl Results {
    /// Computes every statistic with the default thresholds. Fails on a
    /// sample with zero dentries, which has no per-dentry cost.
    pub fn compute(meta: Meta, samples: Vec<Sample>) -> Result<Results> {
        if let Some(s) = samples.iter().find(|s| s.dentries == 0) {
            bail!(
                "sample {} {} {}/{} n={} rep {} has 0 dentries",
                s.kernel,
                s.mode,
                s.metric,
                s.shape,
                s.n,
                s.rep
            );
        }
        let groups = stats::groups(&samples);
        Ok(Results {
            ratios: stats::ratios(&samples),
            exponents: stats::exponents(&groups),
            noise_floor: stats::noise_floor(&groups),
            groups,
            meta,
            samples,
            thresholds: Thresholds::default(),
        })
    }

    /// Reads a `results.json` written by [`write_all`].
    pub fn load(path: &Path) -> Result<Results> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Violations of the results' own thresholds.
    pub fn violations(&self) -> Vec<Violation> {
        check(self, &self.thresholds)
    }
}

/// Reads the run's meta file (JSON).
pub fn read_meta(path: &Path) -> Result<Meta> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Writes `results.json`, `report.md` and the plots into `dir` (created if
/// missing) and returns the paths written.
pub fn write_all(results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, text: String| -> Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    let json = serde_json::to_string_pretty(results).context("serialising results")?;
    let mut paths = vec![
        write("results.json", json + "\n")?,
        write("report.md", report::markdown(results))?,
    ];
    paths.extend(plots::render_all(results, dir)?);
    Ok(paths)
}

/// A small run for tests: two kernels, both modes, two shapes, three sizes,
/// three reps; patched 3% dearer; `reaper` on patched only.
#[cfg(test)]
pub(crate) fn synthetic_results() -> Results {
    use stats::{PATCHED, STOCK};
    let mut samples = Vec::new();
    for mode in Mode::ALL {
        for (kernel, factor) in [(STOCK, 1.0), (PATCHED, 1.03)] {
            for shape in ["flat", "deep"] {
                for n in [100u64, 1000, 10000] {
                    for rep in 1..=3u32 {
                        for metric in ["umount", "cold_lookup", "reaper"] {
                            if metric == "reaper" && kernel == STOCK {
                                continue;
                            }
                            let per = 50.0 * factor * (1.0 + f64::from(rep) / 1000.0);
                            samples.push(Sample {
                                kernel: kernel.into(),
                                mode,
                                rep,
                                metric: metric.into(),
                                shape: shape.into(),
                                n,
                                dentries: n + 1,
                                value: (per * (n + 1) as f64) as u64,
                            });
                        }
                    }
                }
            }
        }
    }
    let mut kernels = BTreeMap::new();
    for (name, version) in [(STOCK, "6.12.0"), (PATCHED, "6.12.0-shrinkfs")] {
        let info = KernelInfo {
            version: version.into(),
            config_hash: format!("{name}-cfg"),
        };
        kernels.insert(name.to_string(), info);
    }
    let meta = Meta {
        kernels,
        accelerator: "tcg".into(),
        kernel_params: "rcutree.qhimark=1000000000".into(),
        seed: 7,
        reps: 3,
        sizes: vec![100, 1000, 10000],
        shapes: vec!["flat".into(), "deep".into()],
        started: "2024-01-01T00:00:00Z".into(),
        host: "test".into(),
    };
    Results::compute(meta, samples).expect("synthetic samples are valid")
}
