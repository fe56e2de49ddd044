//! `shrinkfs-rig`: builds shrinkfs's test kernels, boots them in QEMU with the
//! module and the kselftests inside, and judges the run (TAP results, kernel
//! splats, debug options live).

mod initramfs;
mod kernel;
mod progress;
mod qemu;
mod results;
mod splat;
mod torture;
mod verdict;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::initramfs::Initramfs;
use crate::qemu::{Accel, Boot};
use crate::verdict::{Check, Expectations};

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
    /// Boot the guest for a person (a shell), or to run one host script.
    Vm(VmArgs),
    /// Scan console logs for kernel splats; fails if any is found.
    Scan {
        /// Console logs to scan.
        #[arg(required = true)]
        logs: Vec<PathBuf>,
    },
}

#[derive(Args)]
struct KernelArgs {
    /// `patched` (the series applied) or `stock`.
    #[arg(long, default_value = "patched")]
    variant: kernel::Variant,
    /// An extra patch applied after the series (e.g. a mutant), built as its
    /// own variant from the build without it; repeatable.
    #[arg(long = "patch")]
    extra_patches: Vec<PathBuf>,
    /// A 6.12.y git checkout to build instead of Debian's linux-source-6.12.
    #[arg(long)]
    ksrc: Option<PathBuf>,
    /// Where kernel builds are cached.
    #[arg(long)]
    cache: PathBuf,
    /// The project checkout (for `patches/` and `qemu/config/`).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    #[arg(long, default_value_t = 3)]
    jobs: usize,
}

impl KernelArgs {
    fn request(self) -> kernel::Request {
        kernel::Request {
            source: match self.ksrc {
                Some(tree) => kernel::Source::Git(tree),
                None => kernel::Source::Debian,
            },
            repo: self.repo,
            cache: self.cache,
            variant: self.variant,
            extra_patches: self.extra_patches,
            jobs: self.jobs,
        }
    }
}

#[derive(Args, Clone)]
struct GuestArgs {
    /// The kernel build directory whose bzImage boots.
    #[arg(long)]
    kdir: PathBuf,
    /// The module to put into the guest.
    #[arg(long)]
    module: PathBuf,
    /// A directory of selftest programs to put into the guest.
    #[arg(long)]
    selftests: PathBuf,
    /// The guest init script.
    #[arg(long, default_value = "qemu/guest/init")]
    init: PathBuf,
    /// Where logs go.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// `tcg`, `kvm`, or `auto`: KVM if a probe boot under it finishes.
    #[arg(long, default_value = "tcg")]
    accel: Accel,
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    #[arg(long, default_value_t = 2048)]
    memory_mib: u32,
    /// Wall-clock limit of one boot, in seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// Echo the whole guest console.
    #[arg(long)]
    verbose: bool,
    /// The kernel is not a debug build: do not require KASAN and lockdep.
    #[arg(long)]
    no_debug: bool,
    /// Extra kernel parameters, e.g. `kmemleak=on`.
    #[arg(long, default_value = "")]
    append: String,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    guest: GuestArgs,
    /// Also boot once more, provoke a WARN and a KASAN report through LKDTM,
    /// and check that the rig catches and names both.
    #[arg(long)]
    self_test: bool,
}

#[derive(Args)]
struct TortureArgs {
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
    /// What `repeat:` in the report says besides the seed and duration,
    /// e.g. `KERNEL=patched`.
    #[arg(long, default_value = "")]
    repeat_knobs: String,
}

#[derive(Args)]
struct VmArgs {
    #[command(flatten)]
    guest: GuestArgs,
    /// A host script to run as root inside the guest instead of a shell.
    #[arg(long)]
    run: Option<PathBuf>,
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
        Cmd::Kernel(args) => {
            let built = kernel::ensure(&args.request())?;
            eprintln!("kernel: {}", built.version);
            println!("{}", built.build_dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::PatchesCheck(args) => patches_check(args),
        Cmd::Check(args) => check(&args),
        Cmd::Torture(args) => torture(&args),
        Cmd::Vm(args) => vm(&args),
        Cmd::Scan { logs } => {
            let mut found = 0;
            for log in &logs {
                let text = read_lossy(log)?;
                let splats = splat::scan(&text);
                found += splats.len();
                println!("{}: {}", log.display(), verdict::describe(&splats));
            }
            Ok(if found == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn read_lossy(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Packs the initramfs for one boot and describes the boot.
fn prepare(guest: &GuestArgs, name: &str, append: &str, script: Option<&Path>) -> Result<Boot> {
    let bzimage = guest.kdir.join("arch/x86/boot/bzImage");
    if !bzimage.exists() {
        bail!(
            "{} is missing: build the kernel first (`make kernel`)",
            bzimage.display()
        );
    }
    let out_dir = guest.out.join(name);
    fs::create_dir_all(&out_dir)?;
    let mut image = Initramfs::new(&guest.init)?;
    image
        .add_host_file(initramfs::GUEST_MODULE, &guest.module)
        .context("the module is not built (`make`)")?;
    image.add_selftests(&guest.selftests)?;
    if let Some(script) = script {
        image.add_host_file(initramfs::GUEST_RUN_SCRIPT, script)?;
    }
    let initramfs = out_dir.join("initramfs.cpio");
    image.write(&initramfs)?;
    let accel = match guest.accel {
        Accel::Auto => probe_kvm(guest)?,
        accel => accel,
    };
    Ok(Boot {
        bzimage,
        initramfs,
        append: format!("{} {append}", guest.append),
        accel,
        cpus: guest.cpus,
        memory_mib: guest.memory_mib,
        timeout: Duration::from_secs(guest.timeout),
        out_dir,
        verbose: guest.verbose,
    })
}

/// Where the outcome of a KVM probe for one kernel build is kept.
const KVM_PROBE_FILE: &str = ".shrinkfs-kvm-probe";
/// A KVM boot of the test guest takes seconds; a hung one never ends.
const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Boots the guest once under KVM with nothing to do; KVM is used only if
/// that boot reaches the end of its init. The answer is kept per kernel build.
fn probe_kvm(guest: &GuestArgs) -> Result<Accel> {
    let record = guest.kdir.join(KVM_PROBE_FILE);
    if let Ok(answer) = fs::read_to_string(&record) {
        return answer.trim().parse();
    }
    let accel = if fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        eprintln!("accel: /dev/kvm is not usable; using TCG");
        Accel::Tcg
    } else {
        let mut boot = prepare(
            &GuestArgs {
                accel: Accel::Kvm,
                ..guest.clone()
            },
            "kvm-probe",
            "RIG_MODE=probe",
            None,
        )?;
        boot.timeout = KVM_PROBE_TIMEOUT;
        match boot.run("kvm probe") {
            Ok(finished) if finished.timed_out => {
                eprintln!("accel: the KVM probe guest hung; using TCG");
                Accel::Tcg
            }
            Ok(finished) if results::parse(&read_lossy(&finished.results_log)?).done => {
                eprintln!(
                    "accel: a KVM guest booted in {:.1} s; using KVM",
                    finished.seconds
                );
                Accel::Kvm
            }
            Ok(_) => {
                eprintln!("accel: the KVM probe guest died before its init finished; using TCG");
                Accel::Tcg
            }
            Err(e) => {
                eprintln!("accel: KVM does not work here ({e:#}); using TCG");
                Accel::Tcg
            }
        }
    };
    let name = if accel == Accel::Kvm { "kvm" } else { "tcg" };
    fs::write(&record, name)?;
    Ok(accel)
}

/// Boots, waits, judges: the checks of one guest run.
fn boot_and_judge(boot: &Boot, label: &str, expect: &Expectations) -> Result<Vec<Check>> {
    let finished = boot.run(label)?;
    let console = read_lossy(&finished.console_log)?;
    let report = results::parse(&read_lossy(&finished.results_log)?);
    eprintln!(
        "{label}: guest ran {:.1} s; console: {}",
        finished.seconds,
        finished.console_log.display()
    );
    Ok(verdict::judge(
        &console,
        &report,
        finished.timed_out,
        expect,
    ))
}

/// checkpatch's verdict and a build after each patch of the series, each
/// patch grown incrementally from the stock kernel.
fn patches_check(args: KernelArgs) -> Result<ExitCode> {
    let patches = kernel::series(&args.repo.join("patches"))?;
    if patches.is_empty() {
        bail!("patches/series lists no patches");
    }
    let mut req = args.request();
    req.variant = kernel::Variant::Stock;
    req.extra_patches = patches.clone();
    let mut checks = Vec::new();
    let chain = kernel::ensure_chain(&req);
    let stock_tree = match &chain {
        Ok(chain) => chain[0].build_dir.join("source"),
        Err(_) => PathBuf::new(),
    };
    for (i, patch) in patches.iter().enumerate() {
        let name = patch.file_name().unwrap_or_default().to_string_lossy();
        let built = match &chain {
            Ok(chain) => Ok(&chain[i + 1]),
            Err(e) => Err(e),
        };
        checks.push(Check::new(
            format!("kernel builds after {name}"),
            built.is_ok(),
            match built {
                Ok(k) => k.build_dir.display().to_string(),
                Err(e) => format!("{e:#}"),
            },
        ));
        if stock_tree.as_os_str().is_empty() {
            continue;
        }
        let output = std::process::Command::new("perl")
            .arg(stock_tree.join("scripts/checkpatch.pl"))
            .args(["--strict", "--no-tree", "--show-types"])
            .arg(patch)
            .output()
            .context("running checkpatch.pl")?;
        let report = String::from_utf8_lossy(&output.stdout);
        checks.push(Check::new(
            format!("checkpatch --strict {name}"),
            output.status.success() && report.contains("total: 0 errors, 0 warnings, 0 checks"),
            report.trim().to_string(),
        ));
    }
    if let Err(e) = chain {
        eprintln!("patches-check: {e:#}");
    }
    verdict::print(&checks);
    Ok(summarise(&checks))
}

/// Prints the closing line and turns the checks into an exit code.
fn summarise(checks: &[Check]) -> ExitCode {
    let (passed, failed, skipped) = verdict::tally(checks);
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// How much of the provoked report the self-test shows.
const SELF_TEST_EXCERPT_LINES: usize = 24;

fn check(args: &CheckArgs) -> Result<ExitCode> {
    let guest = &args.guest;
    let mut checks = Vec::new();
    let boot = prepare(guest, "check", "RIG_MODE=check", None)?;
    let expect = Expectations {
        debug_kernel: !guest.no_debug,
        splats: vec![],
    };
    let mut run_checks = boot_and_judge(&boot, "check", &expect)?;
    verdict::print(&run_checks);
    checks.append(&mut run_checks);

    if args.self_test {
        let boot = prepare(
            guest,
            "self-test",
            "RIG_MODE=provoke RIG_PROVOKE=WARNING,READ_AFTER_FREE",
            None,
        )?;
        let expect = Expectations {
            debug_kernel: false,
            splats: vec!["WARN", "KASAN"],
        };
        let mut self_checks = boot_and_judge(&boot, "self-test", &expect)?;
        for c in &mut self_checks {
            c.name = format!("rig self-test: {}", c.name);
        }
        verdict::print(&self_checks);
        let console = read_lossy(&boot.out_dir.join("console.log"))?;
        let report = verdict::describe(&splat::scan(&console));
        println!("# what a failing run would report of the provoked splats:");
        for line in report.lines().take(SELF_TEST_EXCERPT_LINES) {
            println!("# {line}");
        }
        checks.append(&mut self_checks);
    }

    Ok(summarise(&checks))
}

/// Boot, guest init, kmemleak scans and the torture's own teardown on top of
/// its duration; generous, since a hung guest is caught by the time limit.
const TORTURE_OVERHEAD: Duration = Duration::from_secs(600);

fn torture(args: &TortureArgs) -> Result<ExitCode> {
    let seed = args.seed.unwrap_or_else(new_seed);
    let append = format!(
        "RIG_MODE=torture TORTURE_DURATION={} TORTURE_SEED={seed} TORTURE_ROUND={}",
        args.duration, args.round
    );
    let mut boot = prepare(&args.guest, "torture", &append, None)?;
    boot.timeout = boot
        .timeout
        .max(Duration::from_secs(args.duration) + TORTURE_OVERHEAD);
    let expect = Expectations {
        debug_kernel: !args.guest.no_debug,
        splats: vec![],
    };
    let label = format!("torture seed {seed}");
    let checks = boot_and_judge(&boot, &label, &expect)?;
    verdict::print(&checks);
    let console_path = boot.out_dir.join("console.log");
    let console = read_lossy(&console_path)?;
    let report = results::parse(&read_lossy(&boot.out_dir.join("results.log"))?);
    let repeat = format!(
        "make torture SEED={seed} DURATION={} {}",
        args.duration, args.repeat_knobs
    );
    let text = torture::render(&torture::Run {
        repeat: repeat.trim_end(),
        seed,
        duration: args.duration,
        checks: &checks,
        console: &console,
        console_path: &console_path.display().to_string(),
        report: &report,
    });
    let report_path = boot.out_dir.join("report.txt");
    fs::write(&report_path, &text)?;
    eprintln!("torture: report in {}", report_path.display());
    if verdict::tally(&checks).1 > 0 {
        eprintln!("torture: repeat with `{}`", repeat.trim_end());
    }
    Ok(summarise(&checks))
}

/// A seed from the clock, for runs that do not name one.
fn new_seed() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_nanos() % u128::from(u32::MAX)) as u32
}

fn vm(args: &VmArgs) -> Result<ExitCode> {
    let guest = &args.guest;
    let Some(script) = &args.run else {
        let boot = prepare(guest, "vm", "RIG_MODE=shell", None)?;
        boot.interactive()?;
        return Ok(ExitCode::SUCCESS);
    };
    let boot = prepare(guest, "vm", "RIG_MODE=run", Some(script))?;
    let finished = boot.run("vm")?;
    let console = read_lossy(&finished.console_log)?;
    let report = results::parse(&read_lossy(&finished.results_log)?);
    let splats = splat::scan(&console);
    let status = report
        .programs
        .iter()
        .find(|p| p.name == initramfs::GUEST_RUN_SCRIPT)
        .and_then(|p| p.exit);
    if !splats.is_empty() {
        eprintln!("vm: kernel splat: {}", verdict::describe(&splats));
        return Ok(ExitCode::FAILURE);
    }
    match status {
        Some(code) => {
            eprintln!("vm: {} exited with status {code}", script.display());
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        None => {
            eprintln!(
                "vm: {} did not finish (timed out: {}); console: {}",
                script.display(),
                finished.timed_out,
                finished.console_log.display()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
