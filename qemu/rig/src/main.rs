//! `shrinkfs-rig`: builds shrinkfs's test kernels, boots them in QEMU with the
//! module and the kselftests inside, and judges the run (TAP results, kernel
//! splats, debug options live).

mod bench;
mod hostroot;
mod initramfs;
mod kernel;
mod monitor;
mod mutant;
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
use crate::kernel::Kernel;
use crate::qemu::{Accel, Boot, Clock};
use crate::splat::Splat;
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
    /// vCPUs of the guest (one under icount); a boot that brings up fewer
    /// fails.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    cpus: u32,
    #[arg(long, default_value_t = 2048)]
    memory_mib: u32,
    /// Wall-clock limit of one boot, in seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// Seconds without a line on the results channel after which the guest
    /// has stopped making progress and is dumped and stopped (0: never).
    #[arg(long, default_value_t = DEFAULT_STALL_S)]
    stall: u64,
    /// Echo the whole guest console.
    #[arg(long)]
    verbose: bool,
    /// The kernel is not a debug build: do not require KASAN and lockdep.
    #[arg(long)]
    no_debug: bool,
    /// Extra kernel parameters, e.g. `kmemleak=on`.
    #[arg(long, default_value = "")]
    append: String,
    /// Share this host directory (normally `/`) read-only as the root of
    /// the run script, the shell and the torture's extra load.
    #[arg(long)]
    host_root: Option<PathBuf>,
    /// Where host programs start inside the host-root guest.
    #[arg(long, default_value = "/")]
    host_cwd: PathBuf,
}

#[derive(Args)]
struct CheckArgs {
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
}

#[derive(Args)]
struct BenchArgs {
    /// Boots of each kernel in each mode.
    #[arg(long, default_value_t = 10)]
    reps: u32,
    /// Nominal dentry counts, comma-separated.
    #[arg(long, default_value = "1000,3000,10000,30000,100000")]
    sizes: String,
    #[arg(long, default_value = "flat,bushy,deep")]
    shapes: String,
    /// The largest size that also gets the tmpfs reference.
    #[arg(long, default_value_t = 10000)]
    tmpfs_max: u64,
    /// `icount`, `wall` or both, comma-separated.
    #[arg(long, default_value = "icount,wall")]
    modes: String,
    /// Which kernel of each pair boots first.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// An extra patch on the patched kernel only (e.g. one that makes a
    /// dentry kill dearer, to see the gate fail).
    #[arg(long = "patch")]
    extra_patches: Vec<PathBuf>,
    #[arg(long, default_value_t = 4096)]
    memory_mib: u32,
    /// The guest's benchmark program.
    #[arg(long)]
    program: PathBuf,
    /// `--accel` is for the wall-clock boots; icount is always TCG.
    #[command(flatten)]
    rig: KernelsAndGuests,
}

#[derive(Args)]
struct BootTimeArgs {
    #[command(flatten)]
    guest: GuestArgs,
    /// Boots of each guest.
    #[arg(long, default_value_t = 5)]
    boots: u32,
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
}

#[derive(Args)]
struct MutantCheckArgs {
    /// Patches applied after the series, one mutant kernel each.
    #[arg(long = "mutant", required = true)]
    mutants: Vec<PathBuf>,
    /// Seeds per kernel: `first_seed`, `first_seed + 1`, ...
    #[arg(long, default_value_t = 10)]
    seeds: u32,
    #[arg(long, default_value_t = 1)]
    first_seed: u32,
    /// Torture seconds per seed (a caught mutant ends its run early).
    #[arg(long, default_value_t = 120)]
    duration: u64,
    #[arg(long, default_value_t = 15)]
    round: u64,
    /// Sets of `race_delay_us` values, one column of the table each; the
    /// first set is the one each mutant must be caught with.
    #[arg(long = "race-delays", default_values_t = [torture::RACE_DELAYS_ON.to_string(), "0".to_string()],
          value_parser = torture::parse_race_delays)]
    race_delay_sets: Vec<String>,
    /// Skip the unmutated kernel's runs.
    #[arg(long)]
    no_baseline: bool,
    /// Extra kernel parameters for every boot, e.g. `preempt=none`.
    #[arg(long, default_value = "")]
    append: String,
    #[command(flatten)]
    rig: KernelsAndGuests,
}

/// What the commands that build their own kernels and boot them share.
#[derive(Args)]
struct KernelsAndGuests {
    #[arg(long)]
    ksrc: Option<PathBuf>,
    #[arg(long)]
    cache: PathBuf,
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    #[arg(long, default_value_t = 3)]
    jobs: usize,
    #[arg(long)]
    selftests: PathBuf,
    #[arg(long, default_value = "qemu/guest/init")]
    init: PathBuf,
    #[arg(long, default_value = "out")]
    out: PathBuf,
    #[arg(long, default_value = "tcg")]
    accel: Accel,
    /// vCPUs of each wall-clock guest.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    cpus: u32,
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// Seconds of silence on a guest's results channel before it is called
    /// stuck (0: only the time limit).
    #[arg(long, default_value_t = DEFAULT_STALL_S)]
    stall: u64,
    #[arg(long)]
    verbose: bool,
}

impl KernelsAndGuests {
    fn kernel(&self, variant: kernel::Variant, extra_patches: Vec<PathBuf>) -> Result<Kernel> {
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
    fn guest(&self, kernel: &Kernel, module: PathBuf, out: PathBuf) -> GuestArgs {
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
        }
    }
}

#[derive(Args)]
struct VmArgs {
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
        Cmd::MutantCheck(args) => mutant_check(args),
        Cmd::Vm(args) => vm(&args),
        Cmd::BootTime(args) => boot_time(&args),
        Cmd::Bench(args) => run_bench(&args),
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

/// Packs the initramfs for one boot and describes the boot; `files` are
/// host files put into the initramfs at the given guest paths.
fn prepare(guest: &GuestArgs, name: &str, append: &str, files: &[(&str, &Path)]) -> Result<Boot> {
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
    for (guest_path, host) in files {
        image.add_host_file(guest_path, host)?;
    }
    let initramfs = out_dir.join("initramfs.cpio");
    image.write(&initramfs)?;
    let accel = match guest.accel {
        Accel::Auto => probe_kvm(guest)?,
        accel => accel,
    };
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
            &[],
        )?;
        boot.timeout = KVM_PROBE_TIMEOUT;
        match boot.run("kvm probe") {
            Ok(finished) if finished.timed_out() => {
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
        finished.hang_dump.as_deref(),
        boot.vcpus(),
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
    println!("{}", verdict::summary(checks));
    if verdict::tally(checks).1 == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Longest silence of a test guest's results channel: the torture reports
/// progress every few seconds and each selftest case ends within a minute,
/// while the hung task detector speaks after 60 s.
const DEFAULT_STALL_S: u64 = 300;

/// How much of the provoked report the self-test shows.
const SELF_TEST_EXCERPT_LINES: usize = 24;

fn check(args: &CheckArgs) -> Result<ExitCode> {
    let guest = &args.guest;
    let mut checks = Vec::new();
    let boot = prepare(guest, "check", "RIG_MODE=check", &[])?;
    let known_failures = match &args.known_failures {
        Some(path) => verdict::read_known_failures(path)?,
        None => Vec::new(),
    };
    let expect = Expectations {
        debug_kernel: !guest.no_debug,
        splats: vec![],
        known_failures,
    };
    let mut run_checks = boot_and_judge(&boot, "check", &expect)?;
    verdict::print(&run_checks);
    checks.append(&mut run_checks);

    if args.self_test {
        let boot = prepare(
            guest,
            "self-test",
            "RIG_MODE=provoke RIG_PROVOKE=WARNING,READ_AFTER_FREE",
            &[],
        )?;
        let expect = Expectations {
            debug_kernel: false,
            splats: vec!["WARN", "KASAN"],
            known_failures: vec![],
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
    if let Some(template) = &args.host_root_check {
        let mut host_checks = host_root_check(guest, template)?;
        verdict::print(&host_checks);
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
        "RIG_MODE=run",
        &[(initramfs::GUEST_RUN_SCRIPT, script.as_path())],
    )?;
    boot.shares.push(probe.share());
    let expect = Expectations {
        debug_kernel: false,
        splats: vec![],
        known_failures: vec![],
    };
    let mut checks = boot_and_judge(&boot, "host-root check", &expect)?;
    for c in &mut checks {
        c.name = format!("host root: {}", c.name);
    }
    checks.extend(probe.host_checks());
    Ok(checks)
}

fn run_bench(args: &BenchArgs) -> Result<ExitCode> {
    let modes: Vec<shrinkfs_bench::Mode> = args
        .modes
        .split(',')
        .map(|m| match m.trim() {
            "icount" => Ok(shrinkfs_bench::Mode::Icount),
            "wall" => Ok(shrinkfs_bench::Mode::Wall),
            other => bail!("unknown bench mode '{other}' (known: icount, wall)"),
        })
        .collect::<Result<_>>()?;
    let sizes: Vec<u64> = args
        .sizes
        .split(',')
        .map(|n| n.trim().parse().with_context(|| format!("bad size '{n}'")))
        .collect::<Result<_>>()?;
    let shapes: Vec<String> = args
        .shapes
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let out = args.rig.out.join("bench");
    let mut subjects = vec![];
    for (variant, label) in bench::VARIANTS {
        let extra = if variant == kernel::Variant::PatchedPerf {
            args.extra_patches.clone()
        } else {
            vec![]
        };
        let built = args.rig.kernel(variant, extra)?;
        let module = build_module(&args.rig.repo, &built.build_dir, &out.join(label))?;
        let config_hash = bench::config_hash(&built.build_dir)?;
        subjects.push(bench::Subject {
            label,
            kernel: built,
            module,
            config_hash,
        });
    }
    let append = format!(
        "{} RIG_MODE=bench BENCH_SIZES={} BENCH_SHAPES={} BENCH_TMPFS_MAX={}",
        bench::KERNEL_PARAMS,
        args.sizes,
        args.shapes,
        args.tmpfs_max
    );
    let steps = args.reps as usize * modes.len() * 2;
    let start = std::time::Instant::now();
    let mut samples = vec![];
    let mut done = 0;
    for rep in 1..=args.reps {
        for &mode in &modes {
            for turn in 0..2 {
                let subject = &subjects[bench::order((rep as usize - 1) * 2 + turn, args.seed)];
                let guest = GuestArgs {
                    memory_mib: args.memory_mib,
                    no_debug: true,
                    // One sample at 10^5 dentries under icount is minutes
                    // of silence: only the time limit holds.
                    stall: 0,
                    ..args
                        .rig
                        .guest(&subject.kernel, subject.module.clone(), out.join("boots"))
                };
                let mut boot = prepare(
                    &guest,
                    &format!("{}-{mode}", subject.label),
                    &append,
                    &[(bench::GUEST_PROGRAM, args.program.as_path())],
                )?;
                boot.clock = bench::clock(mode);
                eprintln!(
                    "# bench [{}/{steps}] rep {rep}/{}: {} kernel, {mode} mode; ETA {}",
                    done + 1,
                    args.reps,
                    subject.label,
                    bench::eta(start, done, steps)
                );
                let finished = boot.run(&bench::step_label(
                    rep,
                    args.reps,
                    subject.label,
                    mode,
                    start,
                ))?;
                if finished.timed_out() {
                    bail!(
                        "the {} guest timed out; console: {}",
                        subject.label,
                        finished.console_log.display()
                    );
                }
                let mut got = bench::samples_of(
                    &read_lossy(&finished.console_log)?,
                    &read_lossy(&finished.results_log)?,
                    subject.label,
                    mode,
                    rep,
                    boot.vcpus(),
                )
                .with_context(|| format!("console: {}", finished.console_log.display()))?;
                eprintln!(
                    "# bench: {} figures in {:.1} s",
                    got.len(),
                    finished.seconds
                );
                samples.append(&mut got);
                done += 1;
            }
        }
    }
    let meta = shrinkfs_bench::Meta {
        kernels: subjects
            .iter()
            .map(|s| (s.label.to_string(), s.info()))
            .collect(),
        accelerator: format!("{:?}", args.rig.accel).to_lowercase(),
        kernel_params: bench::KERNEL_PARAMS.to_string(),
        seed: args.seed,
        reps: args.reps,
        sizes,
        shapes,
        started: format!(
            "{} s after the Unix epoch",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                - start.elapsed().as_secs()
        ),
        host: format!(
            "{} CPUs",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        ),
    };
    let results = bench::finish(meta, samples, &out)?;
    let violations = results.violations();
    for v in &violations {
        println!("bench-check: {v}");
    }
    println!("{}", shrinkfs_bench::gate::verdict_line(&violations));
    eprintln!("bench: report in {}", out.join("report.md").display());
    Ok(ExitCode::SUCCESS)
}

/// What the boot-time script prints once the guest's shell runs it.
const SHELL_READY: &str = "shell-ready";
const PYTHON_READY: &str = "python-ready";

/// Boots the busybox and the host-root guest alternately and reports when
/// each one's shell first ran a command (and, with the host root, python3).
fn boot_time(args: &BootTimeArgs) -> Result<ExitCode> {
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
                "RIG_MODE=run",
                &[(initramfs::GUEST_RUN_SCRIPT, script.as_path())],
            )?;
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

/// Boot, guest init, kmemleak scans and the torture's own teardown on top of
/// its duration; generous, since a hung guest is caught by the time limit.
const TORTURE_OVERHEAD: Duration = Duration::from_secs(600);

/// One torture run: where it went, and what came of it.
struct TortureOutcome {
    checks: Vec<Check>,
    /// Each splat, with its seconds into the torture.
    splats: Vec<(Splat, Option<f64>)>,
    report_path: PathBuf,
}

impl TortureOutcome {
    fn failed(&self) -> bool {
        verdict::tally(&self.checks).1 > 0
    }

    /// How a mutant-check seed ended: caught by the first splat the mutant
    /// expects (for the unmutated kernel, by any splat), or failed for
    /// another reason, or clean.
    fn verdict(&self, mutant: Option<&mutant::Mutant>) -> torture::SeedVerdict {
        let splats: Vec<Splat> = self.splats.iter().map(|(s, _)| s.clone()).collect();
        let caught = match mutant {
            Some(mutant) => mutant.catch(&splats),
            None => splats.first(),
        };
        if let Some(splat) = caught {
            let index = splats.iter().position(|s| s == splat).unwrap_or(0);
            return torture::SeedVerdict::Caught {
                kind: splat.kind,
                seconds: self.splats[index].1,
            };
        }
        match self
            .checks
            .iter()
            .find(|c| c.status == verdict::Status::Failed)
        {
            Some(check) => torture::SeedVerdict::Other(check.name.clone()),
            None => torture::SeedVerdict::Clean,
        }
    }
}

/// What one torture boot runs.
struct TortureSpec<'a> {
    /// Run directory under the guest's `--out`.
    name: &'a str,
    seed: u32,
    duration: u64,
    round: u64,
    /// The `race_delay_us` values its rounds draw from.
    race_delays: &'a str,
    /// How to repeat it, for the report.
    repeat: String,
    /// A host command run beside the torture.
    load: Option<&'a str>,
    /// Stop at the first splat (a campaign's question is whether and when).
    stop_at_splat: bool,
}

fn run_torture(guest: &GuestArgs, spec: &TortureSpec<'_>) -> Result<TortureOutcome> {
    let append = format!(
        "RIG_MODE=torture TORTURE_DURATION={} TORTURE_SEED={} TORTURE_ROUND={} \
         TORTURE_RACE_DELAYS={}",
        spec.duration, spec.seed, spec.round, spec.race_delays
    );
    let mut files = vec![];
    let load_script = guest.out.join(spec.name).join("load-script");
    let mut guest = guest.clone();
    if let Some(load) = spec.load {
        fs::create_dir_all(guest.out.join(spec.name))?;
        fs::write(&load_script, format!("#!/bin/sh\n{load}\n"))?;
        files.push((initramfs::GUEST_LOAD_SCRIPT, load_script.as_path()));
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
    let checks = boot_and_judge(&boot, &label, &expect)?;
    let console_path = boot.out_dir.join("console.log");
    let console = read_lossy(&console_path)?;
    let report = results::parse(&read_lossy(&boot.out_dir.join("results.log"))?);
    let text = torture::render(&torture::Run {
        repeat: &spec.repeat,
        seed: spec.seed,
        duration: spec.duration,
        vcpus: boot.vcpus(),
        race_delays: spec.race_delays,
        checks: &checks,
        console: &console,
        console_path: &console_path.display().to_string(),
        report: &report,
        load: spec.load,
    });
    let report_path = boot.out_dir.join("report.txt");
    fs::write(&report_path, &text)?;
    Ok(TortureOutcome {
        splats: splat::scan(&console)
            .into_iter()
            .map(|s| {
                let seconds = torture::seconds_into(&console, &s);
                (s, seconds)
            })
            .collect(),
        checks,
        report_path,
    })
}

fn torture(args: &TortureArgs) -> Result<ExitCode> {
    let seed = args.seed.unwrap_or_else(new_seed);
    let load_knob = match &args.load {
        Some(load) => format!(" LOAD='{}'", load.replace('\'', "'\\''")),
        None => String::new(),
    };
    let repeat = format!(
        "make torture SEED={seed} DURATION={} CPUS={} RACE_DELAYS={} {}{load_knob}",
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
        },
    )?;
    verdict::print(&outcome.checks);
    eprintln!("torture: report in {}", outcome.report_path.display());
    if outcome.failed() {
        eprintln!("torture: repeat with `{}`", repeat.trim_end());
    }
    Ok(summarise(&outcome.checks))
}

/// How long a mutant-check guest runs on after its first splat: the
/// report's own lines (a KASAN report, a hung task's stack) reach the
/// console within it, and the seed's question is answered.
const SPLAT_REPORT_GRACE: Duration = Duration::from_secs(5);

/// Share of seeds on which a mutant must be caught.
const MUTANT_DETECTION_SHARE: f64 = 0.9;

/// Builds each mutant kernel and the module against it, runs the torture
/// with every seed and every set of race delays on it and on the unmutated
/// kernel; passes if every mutant is caught on at least 90% of the seeds
/// with the first set of delays, and the unmutated kernel on none with any.
fn mutant_check(args: MutantCheckArgs) -> Result<ExitCode> {
    // Every mutant is read (and its expectations checked) before any build.
    let mutants = args
        .mutants
        .iter()
        .map(|path| mutant::Mutant::read(path))
        .collect::<Result<Vec<_>>>()?;
    let seeds: Vec<u32> = (0..args.seeds).map(|i| args.first_seed + i).collect();
    let mut kernels: Vec<(String, Option<&mutant::Mutant>)> = vec![];
    if !args.no_baseline {
        kernels.push(("unmutated".to_string(), None));
    }
    kernels.extend(mutants.iter().map(|m| (m.name.clone(), Some(m))));
    let cpus = args.rig.cpus;
    let mut checks = vec![];
    // All kernels first: a mutant that does not apply or build fails its
    // own line at once, not hours into the runs of the others.
    let mut guests = vec![];
    for (name, mutant) in kernels {
        match mutant_guest(&args, &name, mutant.map(|m| m.path.as_path())) {
            Ok(guest) => guests.push((name, mutant, guest)),
            Err(e) => {
                eprintln!("mutant-check: {name}: {e:#}");
                checks.push(Check::new(
                    format!("kernel builds: {name}"),
                    false,
                    format!("{e:#}"),
                ));
            }
        }
    }
    let mut table = torture::DetectionTable::new(&args.race_delay_sets);
    for (name, mutant, guest) in guests {
        let mut knobs = match mutant {
            Some(m) => format!(" MUTANT={}", m.path.display()),
            None => String::new(),
        };
        if !args.append.trim().is_empty() {
            knobs.push_str(&format!(" APPEND='{}'", args.append.trim()));
        }
        let mut row = vec![];
        for (set, delays) in args.race_delay_sets.iter().enumerate() {
            let mut detection = torture::Detection::default();
            for &seed in &seeds {
                let outcome = run_torture(
                    &guest,
                    &TortureSpec {
                        name: &format!("{name}/delays-{}/seed-{seed}", delays.replace(',', "-")),
                        seed,
                        duration: args.duration,
                        round: args.round,
                        race_delays: delays,
                        repeat: format!(
                            "make torture SEED={seed} DURATION={} CPUS={cpus} RACE_DELAYS={delays} \
                             KERNEL=patched{knobs}",
                            args.duration
                        ),
                        load: None,
                        stop_at_splat: true,
                    },
                )?;
                let verdict = outcome.verdict(mutant);
                println!(
                    "# {name}, race_delay_us {delays}, seed {seed}: {verdict} ({})",
                    outcome.report_path.display()
                );
                detection.add(&verdict);
            }
            let line = format!(
                "{name}, race_delay_us {delays}, {cpus} vCPUs: {}",
                detection.describe(seeds.len())
            );
            println!("# {line}");
            // The unmutated kernel must be clean with every set; a mutant
            // is held to the first one, the others are reported.
            match (mutant, set) {
                (None, _) => checks.push(Check::new(
                    format!("clean: {name}, race_delay_us {delays}"),
                    detection.caught == 0 && detection.others == 0,
                    line,
                )),
                (Some(m), 0) => checks.push(Check::new(
                    format!("mutant caught: {name}, race_delay_us {delays}"),
                    detection.caught as f64 >= MUTANT_DETECTION_SHARE * seeds.len() as f64,
                    format!(
                        "{line}; expected: {}",
                        m.expected
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ),
                )),
                (Some(_), _) => {}
            }
            row.push(detection);
        }
        table.push(&name, row);
    }
    let summary = args.rig.out.join("mutants/summary.txt");
    fs::create_dir_all(args.rig.out.join("mutants"))?;
    let text = table.render(seeds.len(), args.duration, cpus);
    fs::write(&summary, &text)?;
    print!("{text}");
    verdict::print(&checks);
    eprintln!("mutant-check: summary in {}", summary.display());
    Ok(summarise(&checks))
}

/// The guest for one kernel of a mutant check: the kernel (mutated or
/// not) and the module built against it.
fn mutant_guest(args: &MutantCheckArgs, name: &str, mutant: Option<&Path>) -> Result<GuestArgs> {
    let rig = &args.rig;
    let built = rig.kernel(
        kernel::Variant::Patched,
        mutant.map(Path::to_path_buf).into_iter().collect(),
    )?;
    let module = build_module(
        &rig.repo,
        &built.build_dir,
        &rig.out.join("mutants").join(name),
    )?;
    Ok(GuestArgs {
        append: format!("kmemleak=on {}", args.append),
        ..rig.guest(&built, module, rig.out.join("mutants"))
    })
}

/// Builds the module from a copy of its sources in `dir` (6.12 has no
/// separate output directory for external modules), against `kdir`.
fn build_module(repo: &Path, kdir: &Path, dir: &Path) -> Result<PathBuf> {
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

/// A seed from the clock, for runs that do not name one.
fn new_seed() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_nanos() % u128::from(u32::MAX)) as u32
}

fn vm(args: &VmArgs) -> Result<ExitCode> {
    let guest = &args.guest;
    let clock = if args.icount {
        Clock::Icount
    } else {
        Clock::Wall
    };
    let Some(script) = &args.run else {
        let mut boot = prepare(guest, "vm", "RIG_MODE=shell", &[])?;
        boot.clock = clock;
        boot.interactive()?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut boot = prepare(
        guest,
        "vm",
        "RIG_MODE=run",
        &[(initramfs::GUEST_RUN_SCRIPT, script.as_path())],
    )?;
    boot.clock = clock;
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
                "vm: {} did not finish ({}); console: {}",
                script.display(),
                finished
                    .hang_dump
                    .as_deref()
                    .unwrap_or("the guest stopped before its end"),
                finished.console_log.display()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
