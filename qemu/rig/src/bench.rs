//! `make bench`: the stock and the patched benchmark kernels booted in turn
//! (ABBA...), each boot running the guest's `shrinkfs_bench` once, in icount
//! mode (the guest clock counts instructions) and in multi-threaded TCG (wall
//! clock); the samples go to the `shrinkfs_bench` library for statistics,
//! plots and the gate.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use shrinkfs_bench::{KernelInfo, Meta, Mode, Results, Sample};

use crate::kernel::{Kernel, Variant};
use crate::progress::elapsed;
use crate::protocol::program;
use crate::qemu::Clock;
use crate::results::Report;
use crate::splat::Splat;
use crate::verdict::{self, Status};

/// Kernel parameters of every benchmark boot. The guest program holds RCU
/// grace periods off during a timed call, and with none in flight every
/// `call_rcu()` past `qhimark` queued callbacks (10^4 by default) takes
/// RCU's overload path and tries to start one: a lock round trip per
/// callback that a system with a grace period in flight does not pay.
pub const KERNEL_PARAMS: &str = "rcutree.qhimark=1000000000";

/// One kernel under test: its build, and the module built against it.
pub struct Subject {
    pub label: &'static str,
    pub kernel: Kernel,
    pub module: PathBuf,
    pub config_hash: String,
}

impl Subject {
    pub fn info(&self) -> KernelInfo {
        KernelInfo {
            version: self.kernel.version.clone(),
            config_hash: self.config_hash.clone(),
        }
    }
}

/// The two benchmark kernels, A and B.
pub const VARIANTS: [(Variant, &str); 2] = [
    (Variant::StockPerf, "stock"),
    (Variant::PatchedPerf, "patched"),
];

/// The first 16 hex digits of the SHA-256 of a build's `.config`.
pub fn config_hash(build_dir: &Path) -> Result<String> {
    let config = fs::read(build_dir.join(".config"))
        .with_context(|| format!("reading {}/.config", build_dir.display()))?;
    Ok(Sha256::digest(&config)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Which kernel boots at step `i` of a run: pairs alternate their order
/// (AB BA AB ...), so a drift of the host over the run hits both alike;
/// `seed` picks which pair order comes first.
pub fn order(step: usize, seed: u64) -> usize {
    let pair = step / 2;
    let first = (pair as u64 + seed) % 2;
    ((step % 2) as u64 ^ first) as usize
}

/// The figures one guest of `vcpus` vCPUs printed, or why there are none;
/// `splats` are what the scan found on its console.
pub fn samples_of(
    console: &str,
    report: &Report,
    splats: &[Splat],
    kernel: &str,
    mode: Mode,
    rep: u32,
    vcpus: u32,
) -> Result<Vec<Sample>> {
    if !splats.is_empty() {
        bail!(
            "the {kernel} kernel splatted during the benchmark: {}",
            verdict::describe(splats)
        );
    }
    let cpus = verdict::cpus_check(console, report, vcpus);
    if cpus.status != Status::Passed {
        bail!("the {kernel} guest: {}: {}", cpus.name, cpus.detail);
    }
    let program = report
        .programs
        .iter()
        .find(|p| p.name == program::BENCH)
        .context("the guest never ran shrinkfs_bench")?;
    if program.exit != Some(0) {
        bail!(
            "shrinkfs_bench on {kernel} exited with {:?}: {}",
            program.exit,
            program.output.join(" | ")
        );
    }
    let samples: Vec<Sample> = program
        .output
        .iter()
        .filter_map(|line| shrinkfs_bench::parse_guest_line(line))
        .map(|fig| Sample::from_guest(fig, kernel, mode, rep))
        .collect();
    if samples.is_empty() {
        bail!("shrinkfs_bench on {kernel} printed no figures");
    }
    Ok(samples)
}

pub fn clock(mode: Mode) -> Clock {
    match mode {
        Mode::Icount => Clock::Icount,
        Mode::Wall => Clock::Wall,
    }
}

/// Seconds left, from the boots done so far.
pub fn eta(start: Instant, done: usize, total: usize) -> String {
    if done == 0 {
        return "?".to_string();
    }
    let per_boot = start.elapsed().as_secs_f64() / done as f64;
    let left = (per_boot * (total - done) as f64) as u64;
    format!("{:02}:{:02}", left / 60, left % 60)
}

/// Writes the raw samples and meta (so `shrinkfs-bench report` can redo the
/// statistics), then results, report and plots.
pub fn finish(meta: Meta, samples: Vec<Sample>, dir: &Path) -> Result<Results> {
    fs::create_dir_all(dir)?;
    fs::write(
        dir.join(crate::bench_log::SAMPLES),
        crate::bench_log::jsonl(&samples)?,
    )?;
    fs::write(dir.join("meta.json"), serde_json::to_string_pretty(&meta)?)?;
    let results = Results::compute(meta, samples)?;
    let written = shrinkfs_bench::write_all(&results, dir)?;
    for path in written {
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(results)
}

/// The label of a step for progress lines.
pub fn step_label(rep: u32, reps: u32, subject: &str, mode: Mode, start: Instant) -> String {
    format!(
        "bench rep {rep}/{reps} {subject} {mode} [{}]",
        elapsed(start)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The samples of a guest's logs, parsed and scanned as the rig does.
    fn samples_of_logs(
        console: &str,
        results_log: &str,
        kernel: &str,
        mode: Mode,
        rep: u32,
        vcpus: u32,
    ) -> Result<Vec<Sample>> {
        let report = crate::results::parse(results_log);
        let splats = crate::splat::scan(console);
        samples_of(console, &report, &splats, kernel, mode, rep, vcpus)
    }

    #[test]
    fn order_alternates_pairs() {
        let seq: Vec<usize> = (0..8).map(|i| order(i, 0)).collect();
        assert_eq!(vec![0, 1, 1, 0, 0, 1, 1, 0], seq);
        let seq: Vec<usize> = (0..4).map(|i| order(i, 1)).collect();
        assert_eq!(vec![1, 0, 0, 1], seq);
    }

    #[test]
    fn samples_come_from_the_bench_program_only() {
        let results = "\
shrinkfs-rig: cpus online 0
shrinkfs-rig: begin shrinkfs_bench
# flat n=1000: depth=0 fanout=1 files=999
bench metric=umount shape=flat n=1000 dentries=1000 value=1234567
shrinkfs-rig: end shrinkfs_bench 0
shrinkfs-rig: done
";
        let samples = samples_of_logs("", results, "stock", Mode::Icount, 3, 1).unwrap();
        assert_eq!(1, samples.len());
        assert_eq!("umount", samples[0].metric);
        assert_eq!(3, samples[0].rep);
    }

    #[test]
    fn a_failed_or_splatting_guest_gives_no_samples() {
        let failed = "shrinkfs-rig: cpus online 0-1\nshrinkfs-rig: begin shrinkfs_bench\n# umount: EBUSY\nshrinkfs-rig: end shrinkfs_bench 1\n";
        let err = samples_of_logs("", failed, "stock", Mode::Wall, 1, 2).unwrap_err();
        assert!(format!("{err:#}").contains("exited with"), "{err:#}");
        let console = "[    1.000000] BUG: KASAN: use-after-free in d_walk+0x1/0x2\n";
        let ok = "shrinkfs-rig: cpus online 0-1\nshrinkfs-rig: begin shrinkfs_bench\nbench metric=umount shape=flat n=2 dentries=2 value=9\nshrinkfs-rig: end shrinkfs_bench 0\n";
        assert!(samples_of_logs(console, ok, "patched", Mode::Wall, 1, 2).is_err());
        let err = samples_of_logs("", ok, "patched", Mode::Wall, 1, 4).unwrap_err();
        assert!(format!("{err:#}").contains("all 4 vCPUs"), "{err:#}");
    }
}
