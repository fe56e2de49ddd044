//! One guest boot from the command line's arguments: the initramfs packed,
//! the accelerator chosen, QEMU run, its logs read and scanned once, and the
//! run judged.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::accel::{self, Accel};
use crate::hostroot;
use crate::initramfs::Initramfs;
use crate::kernel::{self, Kernel};
use crate::ktap;
use crate::protocol::path;
use crate::qemu::{Boot, Clock, Finished};
use crate::results::{self, Report};
use crate::splat::{self, Splat};
use crate::verdict::{self, Check, Expectations};

/// Longest silence of a test guest's results channel: the torture reports
/// progress every few seconds and each selftest case ends within a minute,
/// while the hung task detector speaks after 60 s.
const DEFAULT_STALL_S: u64 = 300;

#[derive(Args, Clone)]
pub struct GuestArgs {
    /// The kernel build directory whose bzImage boots.
    #[arg(long)]
    pub kdir: PathBuf,
    /// The module to put into the guest.
    #[arg(long)]
    pub module: PathBuf,
    /// A directory of selftest programs to put into the guest.
    #[arg(long)]
    pub selftests: PathBuf,
    /// The guest init script.
    #[arg(long, default_value = "qemu/guest/init")]
    pub init: PathBuf,
    /// Where logs go.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// `tcg`, `kvm`, or `auto`: KVM if a probe boot under it finishes.
    #[arg(long, default_value = "tcg")]
    pub accel: Accel,
    /// vCPUs of the guest (one under icount); a boot that brings up fewer
    /// fails.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub cpus: u32,
    #[arg(long, default_value_t = 2048)]
    pub memory_mib: u32,
    /// Wall-clock limit of one boot, in seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
    /// Seconds without a line on the results channel after which the guest
    /// has stopped making progress and is dumped and stopped (0: never).
    #[arg(long, default_value_t = DEFAULT_STALL_S)]
    pub stall: u64,
    /// Echo the whole guest console.
    #[arg(long)]
    pub verbose: bool,
    /// The kernel is not a debug build: do not require KASAN and lockdep.
    #[arg(long)]
    pub no_debug: bool,
    /// Extra kernel parameters, e.g. `kmemleak=on`.
    #[arg(long, default_value = "")]
    pub append: String,
    /// Share this host directory (normally `/`) read-only as the root of
    /// the run script, the shell and the torture's extra load.
    #[arg(long)]
    pub host_root: Option<PathBuf>,
    /// Where host programs start inside the host-root guest.
    #[arg(long, default_value = "/")]
    pub host_cwd: PathBuf,
    /// Sample every vCPU's program counter over QMP and count the samples
    /// per kernel function (System.map): `profile.txt` beside the logs.
    #[arg(long)]
    pub profile: bool,
}

/// What the commands that build their own kernels and boot them share.
#[derive(Args)]
pub struct KernelsAndGuests {
    #[arg(long)]
    pub ksrc: Option<PathBuf>,
    #[arg(long)]
    pub cache: PathBuf,
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    #[arg(long, default_value_t = 3)]
    pub jobs: usize,
    #[arg(long)]
    pub selftests: PathBuf,
    #[arg(long, default_value = "qemu/guest/init")]
    pub init: PathBuf,
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    #[arg(long, default_value = "tcg")]
    pub accel: Accel,
    /// vCPUs of each wall-clock guest.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub cpus: u32,
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
    /// Seconds of silence on a guest's results channel before it is called
    /// stuck (0: only the time limit).
    #[arg(long, default_value_t = DEFAULT_STALL_S)]
    pub stall: u64,
    #[arg(long)]
    pub verbose: bool,
}

impl KernelsAndGuests {
    pub fn kernel(&self, variant: kernel::Variant, extra_patches: Vec<PathBuf>) -> Result<Kernel> {
        kernel::ensure(&kernel::Request {
            source: match &self.ksrc {
                Some(tree) => kernel::Source::Git(tree.clone()),
                None => kernel::Source::Debian,
            },
            repo: self.repo.clone(),
            cache: self.cache.clone(),
            variant,
            extra_patches,
            jobs: self.jobs,
        })
    }

    /// A busybox guest of `kernel` with `module`, its runs under `out`.
    pub fn guest(&self, kernel: &Kernel, module: PathBuf, out: PathBuf) -> GuestArgs {
        GuestArgs {
            kdir: kernel.build_dir.clone(),
            module,
            selftests: self.selftests.clone(),
            init: self.init.clone(),
            out,
            accel: self.accel,
            cpus: self.cpus,
            memory_mib: 2048,
            timeout: self.timeout,
            stall: self.stall,
            verbose: self.verbose,
            no_debug: false,
            append: String::new(),
            host_root: None,
            host_cwd: PathBuf::from("/"),
            profile: false,
        }
    }
}

pub fn read_lossy(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Packs the initramfs for one boot and describes the boot; `files` are
/// host files put into the initramfs at the given guest paths.
pub fn prepare(
    guest: &GuestArgs,
    name: &str,
    append: &str,
    files: &[(&str, &Path)],
) -> Result<Boot> {
    let bzimage = guest.kdir.join("arch/x86/boot/bzImage");
    if !bzimage.exists() {
        bail!(
            "{} is missing: build the kernel first (`make kernel`)",
            bzimage.display()
        );
    }
    let accel = accel::resolve(guest)?;
    let out_dir = guest.out.join(name);
    fs::create_dir_all(&out_dir)?;
    let mut image = Initramfs::new(&guest.init)?;
    image
        .add_host_file(path::MODULE, &guest.module)
        .context("the module is not built (`make`)")?;
    image.add_selftests(&guest.selftests)?;
    for (guest_path, host) in files {
        image.add_host_file(guest_path, host)?;
    }
    let initramfs = out_dir.join("initramfs.cpio");
    image.write(&initramfs)?;
    let mut shares = vec![];
    let mut append = format!("{} {append}", guest.append);
    if let Some(root) = &guest.host_root {
        shares.push(hostroot::share(root)?);
        append.push_str(&hostroot::append(&guest.host_cwd)?);
    }
    Ok(Boot {
        bzimage,
        initramfs,
        append,
        shares,
        clock: Clock::Wall,
        accel,
        cpus: guest.cpus,
        memory_mib: guest.memory_mib,
        timeout: Duration::from_secs(guest.timeout),
        stall: (guest.stall > 0).then(|| Duration::from_secs(guest.stall)),
        stop_after_splat: None,
        out_dir,
        verbose: guest.verbose,
        echo_as_diagnostics: true,
        profile: guest.profile.then(|| guest.kdir.join("System.map")),
    })
}

/// One boot, its logs read and its console scanned once for every caller.
pub struct Outcome {
    pub finished: Finished,
    pub console: String,
    pub report: Report,
    pub splats: Vec<Splat>,
    /// The verdict; empty for a boot that was only read (`Outcome::read`).
    pub checks: Vec<Check>,
}

impl Outcome {
    /// Reads and scans what a finished boot left behind, without judging it.
    pub fn read(finished: Finished) -> Result<Self> {
        let console = read_lossy(&finished.console_log)?;
        let report = results::parse(&read_lossy(&finished.results_log)?);
        let splats = splat::scan(&console);
        Ok(Outcome {
            finished,
            console,
            report,
            splats,
            checks: vec![],
        })
    }
}

/// Boots, waits, judges: one guest run and its checks.
pub fn boot_and_judge(boot: &Boot, label: &str, expect: &Expectations) -> Result<Outcome> {
    let mut outcome = Outcome::read(boot.run(label)?)?;
    let finished = &outcome.finished;
    eprintln!(
        "{label}: guest ran {:.1} s; console: {}",
        finished.seconds,
        finished.console_log.display()
    );
    outcome.checks = verdict::judge(
        &outcome.console,
        &outcome.report,
        &outcome.splats,
        finished.hang_dump.as_deref(),
        boot.vcpus(),
        expect,
    );
    // The numbered results come at the command's end; this says at once
    // how the boot went.
    println!(
        "{}",
        ktap::diagnostic(&format!("{label}: {}", verdict::summary(&outcome.checks)))
    );
    Ok(outcome)
}

/// Builds the module from a copy of its sources in `dir` (6.12 has no
/// separate output directory for external modules), against `kdir`.
/// Removes the object files (`*.o`) under `dir`.
fn remove_objects(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            remove_objects(&path)?;
        } else if path.extension().is_some_and(|e| e == "o") {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Builds the module of `repo` against `kdir` in a copy under `dir`, with
/// `mutant` (a patch to the module's sources) applied first if given.
pub fn build_module(
    repo: &Path,
    kdir: &Path,
    dir: &Path,
    mutant: Option<&Path>,
) -> Result<PathBuf> {
    let src = dir.join("module");
    if src.exists() {
        fs::remove_dir_all(&src)?;
    }
    fs::create_dir_all(&src)?;
    fs::copy(repo.join("Kbuild"), src.join("Kbuild"))?;
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(repo.join("rust"))
        .arg(&src)
        .status()?;
    if !status.success() {
        bail!("copying the module's sources into {}", src.display());
    }
    if let Some(mutant) = mutant {
        // Not the repo's object files: the mutant changes their sources.
        remove_objects(&src)?;
        kernel::patch_tree(&src, mutant, false)?;
    }
    let log = fs::File::create(dir.join("module-build.log"))?;
    let status = std::process::Command::new("make")
        .arg("-C")
        .arg(kdir)
        .arg(format!("M={}", src.display()))
        .args(["LLVM=1", "ARCH=x86_64", "modules"])
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running make for the module")?;
    if !status.success() {
        bail!(
            "the module does not build against {} (see {})",
            kdir.display(),
            dir.join("module-build.log").display()
        );
    }
    Ok(src.join("shrinkfs.ko"))
}
