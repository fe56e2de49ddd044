//! `boot-time`: how soon the busybox and the host-root guest run a command.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::guest::{prepare, GuestArgs};
use crate::hostroot;
use crate::protocol::{mode, path, PYTHON_READY, SHELL_READY};

#[derive(Args)]
pub struct BootTimeArgs {
    #[command(flatten)]
    guest: GuestArgs,
    /// Boots of each guest.
    #[arg(long, default_value_t = 5)]
    boots: u32,
}

/// Boots the busybox and the host-root guest alternately and reports when
/// each one's shell first ran a command (and, with the host root, python3).
pub fn boot_time(args: &BootTimeArgs) -> Result<ExitCode> {
    let dir = args.guest.out.join("boot-time");
    fs::create_dir_all(&dir)?;
    let busybox_script = dir.join("busybox.sh");
    fs::write(&busybox_script, format!("#!/bin/sh\necho {SHELL_READY}\n"))?;
    let host_script = dir.join("host.sh");
    fs::write(
        &host_script,
        format!("#!/bin/sh\necho {SHELL_READY}\npython3 -c 'print(\"{PYTHON_READY}\")'\n"),
    )?;
    let (mut busybox, mut host, mut python) = (vec![], vec![], vec![]);
    for boot_no in 1..=args.boots {
        for host_root in [false, true] {
            let guest = GuestArgs {
                host_root: host_root.then(|| PathBuf::from("/")),
                ..args.guest.clone()
            };
            let (kind, script) = if host_root {
                ("host-root", &host_script)
            } else {
                ("busybox", &busybox_script)
            };
            let boot = prepare(
                &guest,
                &format!("boot-time/{kind}"),
                mode::RUN,
                &[(path::RUN_SCRIPT, script.as_path())],
            )?;
            // Only when its lines arrived counts, not what the logs hold.
            let finished = boot.run(&format!("{kind} boot {boot_no}/{}", args.boots))?;
            let ready = hostroot::shell_ready(&finished, SHELL_READY)
                .with_context(|| format!("the {kind} guest's shell never ran the script"))?;
            println!("# {kind} boot {boot_no}: shell ran its first command {ready:.2} s after QEMU started");
            if host_root {
                host.push(ready);
                if let Some(at) = hostroot::shell_ready(&finished, PYTHON_READY) {
                    python.push(at - ready);
                }
            } else {
                busybox.push(ready);
            }
        }
    }
    println!(
        "busybox guest, boot to shell:   {}",
        hostroot::spread(&mut busybox)
    );
    println!(
        "host-root guest, boot to shell: {}",
        hostroot::spread(&mut host)
    );
    println!(
        "host-root guest, python3 -c print: {}",
        hostroot::spread(&mut python)
    );
    Ok(ExitCode::SUCCESS)
}
