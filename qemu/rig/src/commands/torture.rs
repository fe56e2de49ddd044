//! `torture`: the torture alone in one guest, and its report; also the one
//! torture boot that `mutant-check` runs per seed.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::{begin_ktap, summarise};
use crate::guest::{boot_and_judge, prepare, GuestArgs};
use crate::mutant::Mutant;
use crate::protocol::{mode, param, path};
use crate::splat::Splat;
use crate::verdict::{self, Check, Expectations};
use crate::{detection, torture};

#[derive(Args)]
pub struct TortureArgs {
    #[command(flatten)]
    guest: GuestArgs,
    /// How long the workload runs, in seconds.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// The workload's seed; a new one each run if not given.
    #[arg(long)]
    seed: Option<u32>,
    /// Seconds per round (the module is reloaded between rounds).
    #[arg(long, default_value_t = 15)]
    round: u64,
    /// The module's `race_delay_us` values a round draws from; `0` runs
    /// without widened race windows.
    #[arg(long, default_value = torture::RACE_DELAYS_ON, value_parser = torture::parse_race_delays)]
    race_delays: String,
    /// What `repeat:` in the report says besides the seed and duration,
    /// e.g. `KERNEL=patched`.
    #[arg(long, default_value = "")]
    repeat_knobs: String,
    /// A host shell command run in the guest beside the torture for its
    /// whole duration (the guest gets the host's root, `/` unless
    /// `--host-root` says otherwise).
    #[arg(long)]
    load: Option<String>,
    /// Also run the fault thread: its calls meet an allocation failure
    /// (fail-nth) while the forces run.
    #[arg(long)]
    faults: bool,
    /// Also run the fuzz thread: fuzzed mount options, ioctls and sysfs
    /// writes while the forces run.
    #[arg(long)]
    fuzz: bool,
}

/// Boot, guest init, kmemleak scans and the torture's own teardown on top of
/// its duration; generous, since a hung guest is caught by the time limit.
const TORTURE_OVERHEAD: Duration = Duration::from_secs(600);

/// How long a mutant-check guest runs on after its first splat: the
/// report's own lines (a KASAN report, a hung task's stack) reach the
/// console within it, and the seed's question is answered.
const SPLAT_REPORT_GRACE: Duration = Duration::from_secs(5);

/// One torture run: where it went, and what came of it.
pub struct TortureOutcome {
    pub checks: Vec<Check>,
    /// Each splat, with its seconds into the torture.
    pub splats: Vec<(Splat, Option<f64>)>,
    pub report_path: PathBuf,
}

impl TortureOutcome {
    fn failed(&self) -> bool {
        verdict::tally(&self.checks).1 > 0
    }

    /// How a mutant-check seed ended: caught by the first splat the mutant
    /// expects (for the unmutated kernel, by any splat), or failed for
    /// another reason, or clean.
    pub fn verdict(&self, mutant: Option<&Mutant>) -> detection::SeedVerdict {
        let splats: Vec<Splat> = self.splats.iter().map(|(s, _)| s.clone()).collect();
        let caught = match mutant {
            Some(mutant) => mutant.catch(&splats),
            None => splats.first(),
        };
        if let Some(splat) = caught {
            let index = splats.iter().position(|s| s == splat).unwrap_or(0);
            return detection::SeedVerdict::Caught {
                kind: splat.kind.to_string(),
                seconds: self.splats[index].1,
            };
        }
        match self
            .checks
            .iter()
            .find(|c| c.status == verdict::Status::Failed)
        {
            Some(check) => detection::SeedVerdict::Other {
                check: check.name.clone(),
            },
            None => detection::SeedVerdict::Clean,
        }
    }
}

/// What one torture boot runs.
pub struct TortureSpec<'a> {
    /// Run directory under the guest's `--out`.
    pub name: &'a str,
    pub seed: u32,
    pub duration: u64,
    pub round: u64,
    /// The `race_delay_us` values its rounds draw from.
    pub race_delays: &'a str,
    /// How to repeat it, for the report.
    pub repeat: String,
    /// A host command run beside the torture.
    pub load: Option<&'a str>,
    /// Stop at the first splat (a campaign's question is whether and when).
    pub stop_at_splat: bool,
    /// The optional fault and fuzz threads.
    pub faults: bool,
    pub fuzz: bool,
}

pub fn run_torture(guest: &GuestArgs, spec: &TortureSpec<'_>) -> Result<TortureOutcome> {
    let mut append = format!(
        "{} {}={} {}={} {}={} {}={}",
        mode::TORTURE,
        param::TORTURE_DURATION,
        spec.duration,
        param::TORTURE_SEED,
        spec.seed,
        param::TORTURE_ROUND,
        spec.round,
        param::TORTURE_RACE_DELAYS,
        spec.race_delays
    );
    for (param, _) in optional_threads(spec.faults, spec.fuzz) {
        append.push_str(&format!(" {param}=1"));
    }
    let mut files = vec![];
    let load_script = guest.out.join(spec.name).join("load-script");
    let mut guest = guest.clone();
    if let Some(load) = spec.load {
        fs::create_dir_all(guest.out.join(spec.name))?;
        fs::write(&load_script, format!("#!/bin/sh\n{load}\n"))?;
        files.push((path::LOAD_SCRIPT, load_script.as_path()));
        guest.host_root.get_or_insert_with(|| PathBuf::from("/"));
    }
    let mut boot = prepare(&guest, spec.name, &append, &files)?;
    boot.timeout = boot
        .timeout
        .max(Duration::from_secs(spec.duration) + TORTURE_OVERHEAD);
    if spec.stop_at_splat {
        boot.stop_after_splat = Some(SPLAT_REPORT_GRACE);
    }
    let expect = Expectations {
        debug_kernel: !guest.no_debug,
        splats: vec![],
        known_failures: vec![],
    };
    let label = format!("torture seed {}", spec.seed);
    let outcome = boot_and_judge(&boot, &label, &expect)?;
    let text = torture::render(&torture::Run {
        repeat: &spec.repeat,
        seed: spec.seed,
        duration: spec.duration,
        vcpus: boot.vcpus(),
        race_delays: spec.race_delays,
        checks: &outcome.checks,
        console: &outcome.console,
        splats: &outcome.splats,
        console_path: &outcome.finished.console_log.display().to_string(),
        report: &outcome.report,
        load: spec.load,
    });
    let report_path = boot.out_dir.join("report.txt");
    fs::write(&report_path, &text)?;
    let console = &outcome.console;
    Ok(TortureOutcome {
        splats: outcome
            .splats
            .into_iter()
            .map(|s| {
                let seconds = torture::seconds_into(console, &s);
                (s, seconds)
            })
            .collect(),
        checks: outcome.checks,
        report_path,
    })
}

pub fn torture(args: &TortureArgs) -> Result<ExitCode> {
    if !args.guest.no_debug {
        crate::kernel::require_debug_config(&args.guest.kdir)?;
    }
    begin_ktap();
    let seed = args.seed.unwrap_or_else(new_seed);
    let load_knob = match &args.load {
        Some(load) => format!(" LOAD='{}'", load.replace('\'', "'\\''")),
        None => String::new(),
    };
    let threads_knobs: String = optional_threads(args.faults, args.fuzz)
        .map(|(_, knob)| format!(" {knob}=1"))
        .collect();
    let repeat = format!(
        "make torture SEED={seed} DURATION={} CPUS={} RACE_DELAYS={}{threads_knobs} {}{load_knob}",
        args.duration, args.guest.cpus, args.race_delays, args.repeat_knobs
    );
    let outcome = run_torture(
        &args.guest,
        &TortureSpec {
            name: "torture",
            seed,
            duration: args.duration,
            round: args.round,
            race_delays: &args.race_delays,
            repeat: repeat.trim_end().to_string(),
            load: args.load.as_deref(),
            stop_at_splat: false,
            faults: args.faults,
            fuzz: args.fuzz,
        },
    )?;
    eprintln!("torture: report in {}", outcome.report_path.display());
    if outcome.failed() {
        eprintln!("torture: repeat with `{}`", repeat.trim_end());
    }
    Ok(summarise(&outcome.checks))
}

/// The torture's optional threads that are on: each one's guest parameter
/// and its `make torture` knob.
fn optional_threads(
    faults: bool,
    fuzz: bool,
) -> impl Iterator<Item = (&'static str, &'static str)> {
    [
        (faults, param::TORTURE_FAULTS, "FAULTS"),
        (fuzz, param::TORTURE_FUZZ, "FUZZ"),
    ]
    .into_iter()
    .filter(|(on, ..)| *on)
    .map(|(_, param, knob)| (param, knob))
}

/// A seed from the clock, for runs that do not name one.
pub fn new_seed() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_nanos() % u128::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_threads_asked_for_reach_the_guest_and_the_repeat_line() {
        let on: Vec<_> = optional_threads(false, true).collect();
        assert_eq!(on, vec![(param::TORTURE_FUZZ, "FUZZ")]);
        assert_eq!(optional_threads(true, true).count(), 2);
        assert_eq!(optional_threads(false, false).count(), 0);
    }

    #[test]
    fn the_makefile_passes_each_knob_as_its_flag() {
        let makefile = include_str!("../../../../Makefile");
        for (_, knob) in optional_threads(true, true) {
            let flag = format!("$(if $({knob}),--{})", knob.to_lowercase());
            assert!(makefile.contains(&flag), "Makefile has no `{flag}`");
        }
    }
}
