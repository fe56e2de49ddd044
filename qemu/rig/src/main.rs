//! `shrinkfs-rig`: builds shrinkfs's test kernels, boots them in QEMU with the
//! module and the kselftests inside, and judges the run (TAP results, kernel
//! splats, debug options live).

mod accel;
mod bench;
mod bench_log;
mod bench_shard;
mod campaign;
mod commands;
mod detection;
mod guest;
mod hostroot;
mod identity;
mod initramfs;
mod kernel;
mod ktap;
mod merge;
mod monitor;
mod mutant;
mod profile;
mod progress;
mod protocol;
mod qemu;
mod results;
#[cfg(test)]
mod scale_tests;
mod shard;
mod splat;
mod torture;
mod verdict;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::commands::bench::BenchArgs;
use crate::commands::boot_time::BootTimeArgs;
use crate::commands::check::CheckArgs;
use crate::commands::fuzz::FuzzArgs;
use crate::commands::kernel::KernelArgs;
use crate::commands::merge::MergeArgs;
use crate::commands::mutant_check::MutantCheckArgs;
use crate::commands::torture::TortureArgs;
use crate::commands::vm::VmArgs;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build (or find in the cache) a guest kernel and print its build dir.
    Kernel(KernelArgs),
    /// Check every patch of the series: checkpatch --strict, and the kernel
    /// builds after each one (incrementally, from the stock kernel).
    PatchesCheck(KernelArgs),
    /// Boot the guest, run every selftest program, judge the run.
    Check(CheckArgs),
    /// Boot the guest and run the torture alone; write a report.
    Torture(TortureArgs),
    /// Boot the guest and run the fuzzer alone: seeded inputs to every
    /// control, as root and unprivileged, each errno judged.
    Fuzz(FuzzArgs),
    /// Run the torture on each mutant kernel and on the unmutated one, for
    /// every seed; pass if each mutant is caught and the unmutated kernel not.
    MutantCheck(MutantCheckArgs),
    /// Boot the guest for a person (a shell), or to run one host script.
    Vm(VmArgs),
    /// Boot-to-shell time of the busybox guest and the host-root guest,
    /// booted alternately.
    BootTime(BootTimeArgs),
    /// The benchmark: stock and patched perf kernels booted in turn, in
    /// icount and wall-clock mode; statistics, plots, the gate's verdict.
    Bench(BenchArgs),
    /// Merge the results of a sharded mutant check or benchmark (one output
    /// directory per shard) and judge them as one run.
    Merge(MergeArgs),
    /// Scan console logs for kernel splats; fails if any is found.
    Scan {
        /// Console logs to scan.
        #[arg(required = true)]
        logs: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shrinkfs-rig: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Kernel(args) => commands::kernel::kernel(args),
        Cmd::PatchesCheck(args) => commands::kernel::patches_check(args),
        Cmd::Check(args) => commands::check::check(&args),
        Cmd::Torture(args) => commands::torture::torture(&args),
        Cmd::Fuzz(args) => commands::fuzz::fuzz(&args),
        Cmd::MutantCheck(args) => commands::mutant_check::mutant_check(args),
        Cmd::Vm(args) => commands::vm::vm(&args),
        Cmd::BootTime(args) => commands::boot_time::boot_time(&args),
        Cmd::Bench(args) => commands::bench::run_bench(&args),
        Cmd::Merge(args) => commands::merge::merge(&args),
        Cmd::Scan { logs } => commands::scan::scan(&logs),
    }
}
