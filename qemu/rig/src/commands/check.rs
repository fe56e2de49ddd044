//! `check`: every selftest program in one guest, judged; optionally the
//! rig's self-test and the host-root guest's read-only check.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{begin_ktap, summarise};
use crate::guest::{boot_and_judge, prepare, GuestArgs};
use crate::ktap;
use crate::protocol::{mode, param, path};
use crate::verdict::{self, Check, Expectations};
use crate::{hostroot, kernel, torture};

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    guest: GuestArgs,
    /// Also boot once more, provoke a WARN and a KASAN report through LKDTM,
    /// and check that the rig catches and names both.
    #[arg(long)]
    self_test: bool,
    /// Also boot the host-root guest with this guest script (the repo's
    /// `qemu/guest/host-root-check`), which tries to change the host through
    /// the share; then check on the host that nothing changed.
    #[arg(long)]
    host_root_check: Option<PathBuf>,
    /// A JSON list of the test cases that reproduce known bugs of this
    /// kernel (`[{"case": "program: fixture.case", "bug": "..."}]`): they
    /// must fail, and are counted apart.
    #[arg(long)]
    known_failures: Option<PathBuf>,
    /// The knobs of this run besides seed, duration and CPUs, for the
    /// `make torture ...` line printed when the check fails.
    #[arg(long, default_value = "")]
    repeat_knobs: String,
}

/// How much of the provoked report the self-test shows.
const SELF_TEST_EXCERPT_LINES: usize = 24;

pub fn check(args: &CheckArgs) -> Result<ExitCode> {
    let guest = &args.guest;
    if !guest.no_debug {
        kernel::require_debug_config(&guest.kdir)?;
    }
    begin_ktap();
    let mut checks = Vec::new();
    let boot = prepare(guest, "check", mode::CHECK, &[])?;
    let known_failures = match &args.known_failures {
        Some(path) => verdict::read_known_failures(path)?,
        None => Vec::new(),
    };
    let expect = Expectations {
        debug_kernel: !guest.no_debug,
        splats: vec![],
        known_failures,
    };
    let outcome = boot_and_judge(&boot, "check", &expect)?;
    if verdict::tally(&outcome.checks).1 > 0 {
        if let Some((seed, duration)) = torture::started(&outcome.report) {
            eprintln!(
                "check: failed; its torture alone: make torture SEED={seed} DURATION={duration} \
                 CPUS={} RACE_DELAYS={} {}",
                guest.cpus,
                torture::RACE_DELAYS_ON,
                args.repeat_knobs
            );
        }
    }
    checks.extend(outcome.checks);

    if args.self_test {
        let boot = prepare(
            guest,
            "self-test",
            &format!(
                "{} {}=WARNING,READ_AFTER_FREE",
                mode::PROVOKE,
                param::PROVOKE
            ),
            &[],
        )?;
        let expect = Expectations {
            debug_kernel: false,
            splats: vec!["WARN", "KASAN"],
            known_failures: vec![],
        };
        let outcome = boot_and_judge(&boot, "self-test", &expect)?;
        let mut self_checks = outcome.checks;
        for c in &mut self_checks {
            c.name = format!("rig self-test: {}", c.name);
        }
        let report = verdict::describe(&outcome.splats);
        println!(
            "{}",
            ktap::diagnostic("what a failing run would report of the provoked splats:")
        );
        for line in report.lines().take(SELF_TEST_EXCERPT_LINES) {
            println!("{}", ktap::diagnostic(line));
        }
        checks.append(&mut self_checks);
    }
    if let Some(template) = &args.host_root_check {
        let mut host_checks = host_root_check(guest, template)?;
        checks.append(&mut host_checks);
    }

    Ok(summarise(&checks))
}

/// The host-root guest runs the guest script that tries to change the host;
/// its TAP results plus the host's own look at the victim file.
fn host_root_check(guest: &GuestArgs, template: &Path) -> Result<Vec<Check>> {
    let dir = guest.out.join("host-root-check");
    let probe = hostroot::Probe::create(&dir.join("probe"))?;
    let script = probe.script(template, &dir)?;
    let host_guest = GuestArgs {
        host_root: Some(PathBuf::from("/")),
        ..guest.clone()
    };
    let mut boot = prepare(
        &host_guest,
        "host-root-check",
        mode::RUN,
        &[(path::RUN_SCRIPT, script.as_path())],
    )?;
    boot.shares.push(probe.share());
    let expect = Expectations {
        debug_kernel: false,
        splats: vec![],
        known_failures: vec![],
    };
    let mut checks = boot_and_judge(&boot, "host-root check", &expect)?.checks;
    for c in &mut checks {
        c.name = format!("host root: {}", c.name);
    }
    checks.extend(probe.host_checks());
    Ok(checks)
}
