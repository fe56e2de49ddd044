//! Which accelerator a boot gets: `tcg`, `kvm` (refused at once where
//! /dev/kvm is missing or not ours to open), or `auto`, which boots a probe
//! guest under KVM and remembers the answer with the kernel build for as
//! long as the host stays up as it was.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::guest::{prepare, GuestArgs, Outcome};
use crate::protocol::mode;
use crate::qemu::Clock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    Tcg,
    Kvm,
    /// KVM if a short probe boot under KVM finishes, else TCG.
    Auto,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
            Accel::Auto => "auto",
        }
    }
}

/// What a boot under `clock` really runs on (QEMU's command line is made
/// the same way): icount is always single-threaded TCG, and `Auto` must
/// have been resolved before.
pub fn used(clock: Clock, accel: Accel) -> &'static str {
    match (clock, accel) {
        (Clock::Icount, _) => "tcg (icount)",
        (Clock::Wall, Accel::Kvm) => "kvm",
        (Clock::Wall, Accel::Tcg | Accel::Auto) => "tcg",
    }
}

const KVM_DEVICE: &str = "/dev/kvm";
/// Changes with every boot of the host.
const HOST_BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// Why /dev/kvm cannot be used, if it cannot.
pub fn kvm_device_problem() -> Option<String> {
    match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(KVM_DEVICE)
    {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("{KVM_DEVICE} is missing (no KVM on this host)"))
        }
        Err(e) => Some(format!("{KVM_DEVICE} cannot be opened read-write: {e}")),
    }
}

/// Fails at once when KVM is asked for and cannot work, before anything
/// is built or booted.
pub fn require_usable(accel: Accel) -> Result<()> {
    if accel != Accel::Kvm {
        return Ok(());
    }
    match kvm_device_problem() {
        Some(problem) => bail!(
            "ACCEL=kvm, but {problem}; ACCEL=tcg runs without KVM, \
             ACCEL=auto uses KVM only where it works"
        ),
        None => Ok(()),
    }
}

/// The accelerator a boot of `guest` gets.
pub fn resolve(guest: &GuestArgs) -> Result<Accel> {
    match guest.accel {
        Accel::Auto => probe_kvm(guest),
        accel => require_usable(accel).map(|()| accel),
    }
}

/// Where the outcome of a KVM probe for one kernel build is kept.
pub const KVM_PROBE_FILE: &str = ".shrinkfs-kvm-probe";
/// A KVM boot of the test guest takes seconds; a hung one never ends.
const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// A probe's answer and the host it holds for.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct ProbeRecord {
    accel: String,
    host_boot_id: String,
    device_usable: bool,
    /// Seconds after the Unix epoch, for a person reading the record.
    probed_at: u64,
}

impl ProbeRecord {
    /// An answer holds while the host has not rebooted and /dev/kvm is as
    /// usable as it was (a module loaded or a group joined since changes it).
    fn holds(&self, host_boot_id: &str, device_usable: bool) -> Option<Accel> {
        if self.host_boot_id != host_boot_id || self.device_usable != device_usable {
            return None;
        }
        Accel::from_str(&self.accel, false)
            .ok()
            .filter(|a| *a != Accel::Auto)
    }
}

fn host_boot_id() -> String {
    fs::read_to_string(HOST_BOOT_ID)
        .map(|id| id.trim().to_string())
        .unwrap_or_default()
}

fn read_record(path: &Path) -> Option<ProbeRecord> {
    serde_json::from_str(&fs::read_to_string(path).ok()?).ok()
}

/// Boots the guest once under KVM with nothing to do; KVM is used only if
/// that boot reaches the end of its init.
fn probe_kvm(guest: &GuestArgs) -> Result<Accel> {
    let path = guest.kdir.join(KVM_PROBE_FILE);
    let boot_id = host_boot_id();
    let device_problem = kvm_device_problem();
    if let Some(accel) =
        read_record(&path).and_then(|r| r.holds(&boot_id, device_problem.is_none()))
    {
        return Ok(accel);
    }
    let accel = match &device_problem {
        Some(problem) => {
            eprintln!("accel: {problem}; using TCG");
            Accel::Tcg
        }
        None => probe_boot(guest)?,
    };
    let record = ProbeRecord {
        accel: accel.name().to_string(),
        host_boot_id: boot_id,
        device_usable: device_problem.is_none(),
        probed_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    };
    fs::write(&path, serde_json::to_string_pretty(&record)?)?;
    Ok(accel)
}

fn probe_boot(guest: &GuestArgs) -> Result<Accel> {
    let mut boot = prepare(
        &GuestArgs {
            accel: Accel::Kvm,
            ..guest.clone()
        },
        "kvm-probe",
        mode::PROBE,
        &[],
    )?;
    boot.timeout = KVM_PROBE_TIMEOUT;
    Ok(match boot.run("kvm probe") {
        Ok(finished) if finished.timed_out() => {
            eprintln!("accel: the KVM probe guest hung; using TCG");
            Accel::Tcg
        }
        Ok(finished) => {
            let probe = Outcome::read(finished)?;
            if probe.report.done {
                eprintln!(
                    "accel: a KVM guest booted in {:.1} s; using KVM",
                    probe.finished.seconds
                );
                Accel::Kvm
            } else {
                eprintln!("accel: the KVM probe guest died before its init finished; using TCG");
                Accel::Tcg
            }
        }
        Err(e) => {
            eprintln!("accel: KVM does not work here ({e:#}); using TCG");
            Accel::Tcg
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(accel: &str) -> ProbeRecord {
        ProbeRecord {
            accel: accel.to_string(),
            host_boot_id: "boot-1".to_string(),
            device_usable: false,
            probed_at: 0,
        }
    }

    #[test]
    fn a_probe_holds_only_for_the_host_boot_and_device_it_saw() {
        let tcg = record("tcg");
        assert_eq!(tcg.holds("boot-1", false), Some(Accel::Tcg));
        assert_eq!(tcg.holds("boot-2", false), None, "the host rebooted");
        assert_eq!(tcg.holds("boot-1", true), None, "/dev/kvm became usable");
        assert_eq!(record("auto").holds("boot-1", false), None);
    }

    #[test]
    fn icount_boots_are_tcg_whatever_the_accelerator() {
        assert_eq!(used(Clock::Icount, Accel::Kvm), "tcg (icount)");
        assert_eq!(used(Clock::Wall, Accel::Kvm), "kvm");
        assert_eq!(used(Clock::Wall, Accel::Auto), "tcg");
    }

    #[test]
    fn an_old_plain_record_means_probing_again() {
        let dir = std::env::temp_dir().join(format!("shrinkfs-probe-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("old"), "tcg").unwrap();
        let new = record("kvm");
        fs::write(dir.join("new"), serde_json::to_string(&new).unwrap()).unwrap();
        let (old, read_new) = (read_record(&dir.join("old")), read_record(&dir.join("new")));
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(old, None);
        assert_eq!(read_new, Some(new));
    }

    #[test]
    fn kvm_is_refused_at_once_when_the_device_does_not_work() {
        assert!(require_usable(Accel::Tcg).is_ok());
        assert!(require_usable(Accel::Auto).is_ok());
        match (kvm_device_problem(), require_usable(Accel::Kvm)) {
            (Some(_), Err(e)) => {
                let text = format!("{e:#}");
                assert!(
                    text.contains("ACCEL=tcg") && text.contains("ACCEL=auto"),
                    "{text}"
                );
            }
            (None, Ok(())) => {}
            (problem, result) => panic!("{problem:?} but {result:?}"),
        }
    }
}
