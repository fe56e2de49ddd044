//! Raw benchmark samples: the JSON Lines records the rig stores, and the
//! guest's one-line text protocol they are made from.
//!
//! The guest cannot speak JSON cheaply from a shell, so it prints
//! `bench key=value ...` lines on the console; the host parses them and adds
//! what only it knows (which kernel, which clock mode, which repetition).

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// How QEMU measured `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `-icount shift=0`: 1 guest ns per executed guest instruction, so
    /// `value` counts instructions. Deterministic, but blind to cache misses
    /// and lock contention.
    Icount,
    /// Guest nanoseconds under multi-threaded TCG: emulated, not hardware time.
    Wall,
}

impl Mode {
    /// Every mode, in report order.
    pub const ALL: [Mode; 2] = [Mode::Icount, Mode::Wall];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Icount => "icount",
            Mode::Wall => "wall",
        }
    }

    /// Unit of a per-dentry cost in this mode.
    pub fn unit(self) -> &'static str {
        match self {
            Mode::Icount => "insns/dentry",
            Mode::Wall => "ns/dentry",
        }
    }

    /// What a whole call's figure counts in this mode.
    pub fn total_unit(self) -> &'static str {
        match self {
            Mode::Icount => "instructions",
            Mode::Wall => "guest nanoseconds",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One measurement of one operation on one kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub kernel: String,
    pub mode: Mode,
    /// Repetition index, from 1.
    pub rep: u32,
    pub metric: String,
    pub shape: String,
    /// Nominal tree size asked for.
    pub n: u64,
    /// Dentries the operation actually touched; never 0.
    pub dentries: u64,
    /// Total for the whole operation (instructions or ns, by `mode`).
    pub value: u64,
}

impl Sample {
    /// Builds a sample from a figure the guest printed.
    pub fn from_guest(fig: GuestFigure, kernel: &str, mode: Mode, rep: u32) -> Sample {
        Sample {
            kernel: kernel.to_string(),
            mode,
            rep,
            metric: fig.metric,
            shape: fig.shape,
            n: fig.n,
            dentries: fig.dentries,
            value: fig.value,
        }
    }

    /// Cost per dentry: the figure compared across sizes and kernels.
    pub fn per_dentry(&self) -> f64 {
        self.value as f64 / self.dentries as f64
    }
}

/// What one `bench ...` console line says, before the host adds its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFigure {
    pub metric: String,
    pub shape: String,
    pub n: u64,
    pub dentries: u64,
    pub value: u64,
}

/// Parses `bench metric=umount shape=flat n=10000 dentries=10001 value=123456`.
///
/// Keys may come in any order and unknown keys are ignored, so the guest can
/// add fields without breaking older hosts. Anything else that is off (no
/// `bench` word, a token without `=`, a repeated or missing key, a bad
/// number, zero dentries) gives `None`: a garbled console line must not
/// become a figure.
pub fn parse_guest_line(line: &str) -> Option<GuestFigure> {
    let mut tokens = line.split_whitespace();
    if tokens.next()? != "bench" {
        return None;
    }
    let (mut metric, mut shape, mut n, mut dentries, mut value) = (None, None, None, None, None);
    for token in tokens {
        let (key, val) = token.split_once('=')?;
        let slot = match key {
            "metric" => &mut metric,
            "shape" => &mut shape,
            "n" => &mut n,
            "dentries" => &mut dentries,
            "value" => &mut value,
            _ => continue,
        };
        if val.is_empty() || slot.replace(val).is_some() {
            return None;
        }
    }
    let fig = GuestFigure {
        metric: metric?.to_string(),
        shape: shape?.to_string(),
        n: n?.parse().ok()?,
        dentries: dentries?.parse().ok()?,
        value: value?.parse().ok()?,
    };
    (fig.dentries > 0).then_some(fig)
}

/// Parses JSON Lines text; blank lines are skipped.
pub fn parse_samples(text: &str) -> Result<Vec<Sample>> {
    let mut samples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let sample: Sample =
            serde_json::from_str(line).with_context(|| format!("line {}", i + 1))?;
        if sample.dentries == 0 {
            bail!("line {}: dentries is 0", i + 1);
        }
        samples.push(sample);
    }
    Ok(samples)
}

/// Reads a JSON Lines sample file.
pub fn read_samples(path: &Path) -> Result<Vec<Sample>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_samples(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig() -> GuestFigure {
        GuestFigure {
            metric: "umount".into(),
            shape: "flat".into(),
            n: 10000,
            dentries: 10001,
            value: 123456,
        }
    }

    #[test]
    fn parses_guest_line_in_any_order() {
        let line = "bench metric=umount shape=flat n=10000 dentries=10001 value=123456";
        assert_eq!(parse_guest_line(line), Some(fig()));
        let shuffled =
            "bench value=123456 extra=1 n=10000 shape=flat dentries=10001 metric=umount\r";
        assert_eq!(parse_guest_line(shuffled), Some(fig()));
    }

    #[test]
    fn rejects_malformed_guest_lines() {
        for line in [
            "",
            "metric=umount shape=flat n=1 dentries=1 value=1",
            "benchmark metric=umount shape=flat n=1 dentries=1 value=1",
            "bench metric=umount shape=flat n=1 dentries=1",
            "bench metric=umount shape=flat n=x dentries=1 value=1",
            "bench metric=umount shape=flat n=1 dentries=0 value=1",
            "bench metric=umount shape=flat n=1 dentries=1 value=-1",
            "bench metric=umount shape=flat n=1 dentries=1 value=1 junk",
            "bench metric=umount metric=reaper shape=flat n=1 dentries=1 value=1",
            "bench metric= shape=flat n=1 dentries=1 value=1",
        ] {
            assert_eq!(parse_guest_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn sample_from_guest_and_json_round_trip() {
        let s = Sample::from_guest(fig(), "patched", Mode::Icount, 3);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"kernel":"patched","mode":"icount","rep":3,"metric":"umount","shape":"flat","n":10000,"dentries":10001,"value":123456}"#
        );
        let back = parse_samples(&format!("{json}\n\n{json}\n")).unwrap();
        assert_eq!(back, vec![s.clone(), s.clone()]);
        assert!((s.per_dentry() - 123456.0 / 10001.0).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_sample_lines() {
        let err = parse_samples("{\"kernel\":1}").unwrap_err();
        assert!(format!("{err:#}").contains("line 1"));
        let zero = r#"{"kernel":"stock","mode":"wall","rep":1,"metric":"m","shape":"s","n":1,"dentries":0,"value":1}"#;
        assert!(parse_samples(zero).is_err());
    }
}
