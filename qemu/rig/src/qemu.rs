//! Boots a guest in QEMU: console on the first serial port (saved, scanned),
//! the guest init's results on the second, a wall-clock limit, and a live
//! status line. The guest ends itself with a reboot, which `-no-reboot` turns
//! into QEMU's exit (the same for every kernel, ACPI or not).

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::accel::Accel;
use crate::progress::{elapsed, StatusLine};
use crate::protocol::PREFIX;

/// The kernel command line every guest gets. `oops=panic` and `panic=-1`
/// make a dead kernel end the run at once; `kasan_multi_shot` reports every
/// KASAN error, not just the first. The kernel has ACPI for the vCPU list
/// (MADT), but `pci=noacpi` keeps PCI interrupt routing on the firmware's
/// PIRQ table: under TCG with KASAN and lockdep, ACPICA runs QEMU's
/// `\_SB.PCI0._PRT` into its 30 s loop timeout (`AE_AML_LOOP_TIMEOUT`) once
/// per virtio device and then gives it no interrupt, which hangs virtio-9p.
const BASE_APPEND: &str = "console=ttyS0 panic=-1 oops=panic kasan_multi_shot printk.devkmsg=on \
                           loglevel=7 rdinit=/init pci=noacpi";

/// How often a running guest's results channel is read.
const POLL: Duration = Duration::from_millis(50);

/// How long a hung guest gets to print its task dump before QEMU is killed;
/// every task's stack, under TCG with KASAN, takes seconds.
const DUMP_WAIT: Duration = Duration::from_secs(20);

pub struct Boot {
    pub bzimage: PathBuf,
    pub initramfs: PathBuf,
    /// Extra kernel parameters; `RIG_MODE=...` reaches the guest init's env.
    pub append: String,
    pub accel: Accel,
    pub cpus: u32,
    pub memory_mib: u32,
    pub timeout: Duration,
    /// A guest whose results channel (TAP and progress lines) stays silent
    /// this long has stopped making progress: it is dumped and stopped.
    pub stall: Option<Duration>,
    /// A campaign that asks only whether and when a kernel splats stops the
    /// guest this long after the console's first report (time for the
    /// report itself to print).
    pub stop_after_splat: Option<Duration>,
    /// Where `console.log` and `results.log` go.
    pub out_dir: PathBuf,
    /// Echo the whole console, not only a status line.
    pub verbose: bool,
    /// Host directories shared read-only with the guest.
    pub shares: Vec<Share>,
    /// Echo the results channel as KTAP diagnostic lines (`# ...`), for
    /// commands whose stdout is KTAP; else as the guest printed it.
    pub echo_as_diagnostics: bool,
    pub clock: Clock,
    /// The kernel's System.map, to profile the run against: every vCPU's
    /// program counter sampled (`profile.txt` beside the logs).
    pub profile: Option<PathBuf>,
}

/// What the guest's clock measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Real time; TCG runs one host thread per vCPU.
    Wall,
    /// One nanosecond per executed guest instruction (`-icount shift=0`,
    /// one vCPU, single-threaded TCG): deterministic, noise-free counts.
    Icount,
}

/// A host directory the guest mounts over virtio-9p as `tag`. QEMU itself
/// refuses writes (`readonly=on`), so a guest remounting it read-write
/// still cannot change the host.
#[derive(Clone, Debug)]
pub struct Share {
    pub tag: &'static str,
    pub path: PathBuf,
}

impl Share {
    fn virtfs(&self) -> String {
        // QEMU's option syntax doubles a comma inside a value.
        let path = self.path.display().to_string().replace(',', ",,");
        format!(
            "local,path={path},mount_tag={},security_model=none,readonly=on,multidevs=remap",
            self.tag
        )
    }
}

pub struct Finished {
    pub console_log: PathBuf,
    pub results_log: PathBuf,
    /// Only for a guest stopped early (time limit, no progress, a splat in a
    /// campaign): why, and what became of the SysRq task dump asked for
    /// before QEMU was killed.
    pub hang_dump: Option<String>,
    pub seconds: f64,
    /// Each results line with when the host saw it, in seconds after QEMU
    /// started (to within the poll interval).
    pub arrivals: Vec<(f64, String)>,
}

impl Boot {
    /// The vCPUs QEMU gives the guest: `cpus`, but one under icount.
    pub fn vcpus(&self) -> u32 {
        match self.clock {
            Clock::Wall => self.cpus,
            Clock::Icount => 1,
        }
    }

    /// The accelerator QEMU really runs this boot under.
    pub fn accel_used(&self) -> &'static str {
        crate::accel::used(self.clock, self.accel)
    }

    fn command(&self, console: &str, results: &Path) -> Command {
        let mut cmd = Command::new("qemu-system-x86_64");
        match (self.clock, self.accel) {
            (Clock::Icount, _) => {
                cmd.args(["-accel", "tcg,thread=single", "-cpu", "max"])
                    .args(["-icount", "shift=0,sleep=off"]);
            }
            (Clock::Wall, Accel::Kvm) => {
                cmd.args(["-accel", "kvm", "-cpu", "host"]);
            }
            // `Auto` is resolved before a boot; TCG is the safe reading.
            (Clock::Wall, Accel::Tcg | Accel::Auto) => {
                cmd.args(["-accel", "tcg,thread=multi", "-cpu", "max"]);
            }
        }
        cmd.args(["-smp", &self.vcpus().to_string()])
            .args(["-m", &format!("{}M", self.memory_mib)])
            .args(["-display", "none", "-no-reboot", "-nodefaults"])
            .arg("-kernel")
            .arg(&self.bzimage)
            .arg("-initrd")
            .arg(&self.initramfs)
            .args(["-append", &format!("{BASE_APPEND} {}", self.append)])
            .args(["-serial", console])
            .arg("-serial")
            .arg(format!("file:{}", results.display()));
        for share in &self.shares {
            cmd.args(["-virtfs", &share.virtfs()]);
        }
        cmd
    }

    /// A person's shell on the guest console; returns when the guest reboots.
    pub fn interactive(&self) -> Result<()> {
        fs::create_dir_all(&self.out_dir)?;
        eprintln!("vm: Ctrl-A X quits QEMU; `exit` in the shell reboots the guest");
        let status = self
            .command("mon:stdio", &self.out_dir.join("results.log"))
            .status()
            .context("starting qemu-system-x86_64 (run `make setup`)")?;
        if !status.success() {
            bail!("qemu exited with {status}");
        }
        Ok(())
    }

    fn echo(&self, line: &str) {
        if self.echo_as_diagnostics {
            println!("{}", crate::ktap::diagnostic(line));
        } else {
            println!("{line}");
        }
    }

    /// The first splat's header, once `stop_after_splat` has passed since it.
    fn splat_grace_over(&self, first_splat: &Mutex<Option<(Instant, String)>>) -> Option<String> {
        let grace = self.stop_after_splat?;
        let seen = first_splat.lock().unwrap_or_else(|e| e.into_inner());
        let (when, line) = seen.as_ref()?;
        (when.elapsed() > grace).then(|| crate::splat::message(line).to_string())
    }

    /// Runs the guest to its end (or the time limit), echoing what its test
    /// programs print on the results channel.
    pub fn run(&self, label: &str) -> Result<Finished> {
        fs::create_dir_all(&self.out_dir)?;
        let console_log = self.out_dir.join("console.log");
        let results_log = self.out_dir.join("results.log");
        File::create(&results_log)?;
        let qmp = crate::monitor::socket_path();
        let _ = fs::remove_file(&qmp);
        let mut command = self.command("stdio", &results_log);
        command.args(["-qmp", &crate::monitor::qmp_arg(&qmp)]);
        // The sampler's own monitor: one QMP socket serves one client, and
        // a hang's SysRq keys must still get through.
        let profile_qmp = self.profile.as_ref().map(|_| {
            let socket = crate::monitor::socket_path();
            let _ = fs::remove_file(&socket);
            command.args(["-qmp", &crate::monitor::qmp_arg(&socket)]);
            socket
        });
        let start = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting qemu-system-x86_64 (run `make setup`)")?;
        let sampler = profile_qmp
            .clone()
            .map(|socket| crate::profile::Sampler::start(socket, start));

        let last_console = Arc::new(Mutex::new(String::new()));
        let first_splat = Arc::new(Mutex::new(None::<(Instant, String)>));
        let console_thread = {
            let stdout = child.stdout.take().expect("piped stdout");
            let mut log = File::create(&console_log)?;
            let last = Arc::clone(&last_console);
            let splat = Arc::clone(&first_splat);
            let verbose = self.verbose;
            thread::spawn(move || {
                for line in BufReader::new(stdout).split(b'\n') {
                    let Ok(line) = line else { break };
                    let _ = log.write_all(&line);
                    let _ = log.write_all(b"\n");
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    if verbose {
                        eprintln!("{text}");
                    }
                    if crate::splat::starts_report(&text) {
                        splat
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert_with(|| (Instant::now(), text.clone()));
                    }
                    *last.lock().unwrap_or_else(|e| e.into_inner()) = text;
                }
            })
        };
        let mut stderr = child.stderr.take().expect("piped stderr");

        let mut status_line = StatusLine::new();
        let mut results = ResultsTail::new(&results_log);
        let mut phase = "booting".to_string();
        let mut hang_dump = None;
        // When the results channel last spoke, for a guest called stuck.
        let mut stuck_since = None;
        let mut arrivals = Vec::new();
        let mut last_line = Instant::now();
        let status = loop {
            for line in results.new_lines() {
                last_line = Instant::now();
                arrivals.push((start.elapsed().as_secs_f64(), line.clone()));
                status_line.finish();
                match line.strip_prefix(PREFIX) {
                    Some(proto) => phase = proto.to_string(),
                    None => self.echo(&line),
                }
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if let Some(header) = self.splat_grace_over(&first_splat) {
                status_line.finish();
                let why = format!(
                    "stopped {} s after its first splat ({header}): the campaign has its answer",
                    self.stop_after_splat.unwrap_or_default().as_secs()
                );
                eprintln!("{label}: {why}");
                hang_dump = Some(why);
                let _ = child.kill();
                break child.wait()?;
            }
            let why = if start.elapsed() > self.timeout {
                Some(format!("no end after {} s", self.timeout.as_secs()))
            } else {
                self.stall.filter(|s| last_line.elapsed() > *s).map(|s| {
                    format!(
                        "no progress: nothing on the results channel for {} s",
                        s.as_secs()
                    )
                })
            };
            if let Some(why) = why {
                status_line.finish();
                stuck_since = Some(last_line.duration_since(start).as_secs_f64());
                eprintln!("{label}: {why}; dumping tasks (SysRq w, t, l)");
                hang_dump = Some(match dump_tasks(&qmp) {
                    Ok(()) => {
                        thread::sleep(DUMP_WAIT);
                        format!(
                            "{why}; SysRq {} pressed {} s before QEMU was killed: blocked \
                             tasks, every task, every CPU's backtrace are on the console",
                            crate::monitor::HANG_SYSRQ.map(String::from).join(", "),
                            DUMP_WAIT.as_secs()
                        )
                    }
                    Err(e) => format!("{why}; no task dump: {e:#}"),
                });
                let _ = child.kill();
                break child.wait()?;
            }
            let console = last_console
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            status_line.show(&format!(
                "{label} [{}] {phase} | {}",
                elapsed(start),
                crate::splat::message(&console)
            ));
            thread::sleep(POLL);
        };
        let _ = console_thread.join();
        for line in results.new_lines() {
            arrivals.push((start.elapsed().as_secs_f64(), line.clone()));
            if !line.starts_with(PREFIX) {
                self.echo(&line);
            }
        }
        status_line.finish();
        let _ = fs::remove_file(&qmp);
        if let (Some(sampler), Some(map), Some(socket)) = (sampler, &self.profile, &profile_qmp) {
            let _ = fs::remove_file(socket);
            match self.write_profile(sampler, map, stuck_since) {
                Ok(summary) => eprintln!("{label}: {summary}"),
                Err(e) => eprintln!("{label}: no profile: {e:#}"),
            }
        }
        let mut qemu_errors = String::new();
        let _ = stderr.read_to_string(&mut qemu_errors);
        if hang_dump.is_none() && !status.success() {
            bail!("qemu exited with {status}: {}", qemu_errors.trim());
        }
        Ok(Finished {
            console_log,
            results_log,
            hang_dump,
            seconds: start.elapsed().as_secs_f64(),
            arrivals,
        })
    }
}

impl Boot {
    /// Writes `profile.txt`: the whole run, and for a guest called stuck
    /// the time since its results channel last spoke. Returns a summary.
    fn write_profile(
        &self,
        sampler: crate::profile::Sampler,
        system_map: &Path,
        stuck_since: Option<f64>,
    ) -> Result<String> {
        use crate::profile::{Profile, Symbols};
        const TOP: usize = 40;
        let samples = sampler.finish()?;
        let symbols = Symbols::load(system_map)?;
        let whole = Profile::count(&symbols, &samples, 0.0);
        let mut text = format!("# the whole run\n{}", whole.report(TOP));
        if let Some(since) = stuck_since {
            let stuck = Profile::count(&symbols, &samples, since);
            text.push_str(&format!(
                "\n# from {since:.0} s, when the results channel last spoke\n{}",
                stuck.report(TOP)
            ));
        }
        let path = self.out_dir.join("profile.txt");
        fs::write(&path, &text)?;
        let top = whole.report(6);
        let top: Vec<&str> = top.lines().skip(1).map(str::trim).collect();
        Ok(format!("profile {}: {}", path.display(), top.join("; ")))
    }
}

impl Finished {
    pub fn timed_out(&self) -> bool {
        self.hang_dump.is_some()
    }
}

/// Asks a guest that stopped making progress for its tasks' state.
fn dump_tasks(qmp: &Path) -> Result<()> {
    let mut monitor = crate::monitor::Monitor::connect(qmp)?;
    for key in crate::monitor::HANG_SYSRQ {
        monitor.sysrq(key)?;
        // One dump at a time on the console.
        thread::sleep(Duration::from_secs(2));
    }
    Ok(())
}

/// Follows a file that QEMU appends to, yielding whole lines.
struct ResultsTail {
    path: PathBuf,
    offset: usize,
    partial: String,
}

impl ResultsTail {
    fn new(path: &Path) -> Self {
        ResultsTail {
            path: path.to_path_buf(),
            offset: 0,
            partial: String::new(),
        }
    }

    fn new_lines(&mut self) -> Vec<String> {
        let Ok(bytes) = fs::read(&self.path) else {
            return Vec::new();
        };
        if bytes.len() <= self.offset {
            return Vec::new();
        }
        self.partial
            .push_str(&String::from_utf8_lossy(&bytes[self.offset..]));
        self.offset = bytes.len();
        let mut lines: Vec<String> = self.partial.split('\n').map(str::to_string).collect();
        self.partial = lines.pop().unwrap_or_default();
        lines
            .into_iter()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_read_only_and_escapes_commas() {
        let share = Share {
            tag: "hostroot",
            path: PathBuf::from("/src/a,b"),
        };
        assert_eq!(
            "local,path=/src/a,,b,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            share.virtfs()
        );
    }
}
