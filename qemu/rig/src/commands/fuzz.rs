//! `fuzz`: the fuzzer alone in one guest (`selftests/fuzz_test`), judged
//! like any selftest run: its own verdict on every errno, and the console
//! scanned for splats and leaks.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::torture::new_seed;
use super::{begin_ktap, summarise};
use crate::guest::{boot_and_judge, prepare, GuestArgs};
use crate::protocol::{mode, param, program};
use crate::verdict::{self, Expectations};

#[derive(Args)]
pub struct FuzzArgs {
    #[command(flatten)]
    guest: GuestArgs,
    /// Fuzz this many seconds in all (nine tenths as root, one as nobody);
    /// without it, `--inputs` inputs.
    #[arg(long)]
    duration: Option<u64>,
    /// Inputs as root (the unprivileged case runs a tenth as many).
    #[arg(long, default_value_t = 100_000)]
    inputs: u64,
    /// The fuzzer's seed; a new one each run if not given.
    #[arg(long)]
    seed: Option<u32>,
    /// What the repeat line says besides the seed, e.g. `KERNEL=patched`.
    #[arg(long, default_value = "")]
    repeat_knobs: String,
}

/// Boot and kmemleak scans; a run that stops making
/// progress is caught by the stall limit.
const FUZZ_OVERHEAD: Duration = Duration::from_secs(600);

pub fn fuzz(args: &FuzzArgs) -> Result<ExitCode> {
    if !args.guest.no_debug {
        crate::kernel::require_debug_config(&args.guest.kdir)?;
    }
    begin_ktap();
    let seed = args.seed.unwrap_or_else(new_seed);
    let (bound, knob) = match args.duration {
        Some(seconds) => (
            format!("{}={seconds}", param::FUZZ_DURATION),
            format!("DURATION={seconds}"),
        ),
        None => (
            format!("{}={}", param::FUZZ_INPUTS, args.inputs),
            format!("INPUTS={}", args.inputs),
        ),
    };
    let append = format!("{} {}={seed} {bound}", mode::FUZZ, param::FUZZ_SEED);
    let mut boot = prepare(&args.guest, "fuzz", &append, &[])?;
    if let Some(seconds) = args.duration {
        boot.timeout = boot
            .timeout
            .max(Duration::from_secs(seconds) + FUZZ_OVERHEAD);
    }
    let expect = Expectations {
        debug_kernel: !args.guest.no_debug,
        splats: vec![],
        known_failures: vec![],
    };
    let outcome = boot_and_judge(&boot, &format!("{} seed {seed}", program::FUZZ), &expect)?;
    let repeat = format!(
        "make fuzz SEED={seed} {knob} CPUS={} {}",
        args.guest.cpus, args.repeat_knobs
    );
    if verdict::tally(&outcome.checks).1 > 0 {
        eprintln!("fuzz: failed; repeat with `{}`", repeat.trim_end());
        eprintln!("fuzz: one input alone: the same with FUZZ_ONLY=<input> in APPEND");
    } else {
        eprintln!("fuzz: seed {seed}; repeat with `{}`", repeat.trim_end());
    }
    Ok(summarise(&outcome.checks))
}
