//! `vm`: the guest for a person (a shell), or to run one host script.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::guest::{prepare, GuestArgs, Outcome};
use crate::protocol::{mode, path, program};
use crate::qemu::Clock;
use crate::verdict;

#[derive(Args)]
pub struct VmArgs {
    #[command(flatten)]
    guest: GuestArgs,
    /// A host script to run as root inside the guest instead of a shell.
    #[arg(long)]
    run: Option<PathBuf>,
    /// Boot as the benchmark's icount mode does: one vCPU whose clock
    /// advances one nanosecond per instruction.
    #[arg(long)]
    icount: bool,
}

pub fn vm(args: &VmArgs) -> Result<ExitCode> {
    let guest = &args.guest;
    let clock = if args.icount {
        Clock::Icount
    } else {
        Clock::Wall
    };
    let Some(script) = &args.run else {
        let mut boot = prepare(guest, "vm", mode::SHELL, &[])?;
        boot.clock = clock;
        boot.interactive()?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut boot = prepare(
        guest,
        "vm",
        mode::RUN,
        &[(path::RUN_SCRIPT, script.as_path())],
    )?;
    boot.clock = clock;
    // The script's own output, not a KTAP stream.
    boot.echo_as_diagnostics = false;
    let outcome = Outcome::read(boot.run("vm")?)?;
    let status = outcome
        .report
        .programs
        .iter()
        .find(|p| p.name == program::RUN_SCRIPT)
        .and_then(|p| p.exit);
    if !outcome.splats.is_empty() {
        eprintln!("vm: kernel splat: {}", verdict::describe(&outcome.splats));
        return Ok(ExitCode::FAILURE);
    }
    match status {
        Some(code) => {
            eprintln!("vm: {} exited with status {code}", script.display());
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        None => {
            eprintln!(
                "vm: {} did not finish ({}); console: {}",
                script.display(),
                outcome
                    .finished
                    .hang_dump
                    .as_deref()
                    .unwrap_or("the guest stopped before its end"),
                outcome.finished.console_log.display()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
