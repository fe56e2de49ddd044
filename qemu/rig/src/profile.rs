//! Where a guest's CPUs spend a run: every vCPU's program counter, read
//! over QMP a few times a second, counted per kernel function of the
//! kernel's System.map. A flat profile, without call chains, but from
//! outside the guest: it needs nothing from the guest kernel and still
//! answers when the guest's own tools cannot (a CPU spinning with
//! interrupts off, a run too slow to say why).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use regex::Regex;

use crate::monitor::Monitor;

/// Time between two samples of every vCPU.
pub const INTERVAL: Duration = Duration::from_millis(50);

/// How long QEMU may take to open its monitor socket.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// Kernel addresses start here (x86-64, 4- and 5-level paging).
const KERNEL_SPACE: u64 = 0xff00_0000_0000_0000;

/// The kernel's text symbols, sorted by address.
pub struct Symbols {
    starts: Vec<u64>,
    names: Vec<String>,
}

impl Symbols {
    pub fn load(system_map: &Path) -> Result<Self> {
        let text = fs::read_to_string(system_map)
            .with_context(|| format!("reading {}", system_map.display()))?;
        Symbols::parse(&text)
            .with_context(|| format!("{} is not a System.map", system_map.display()))
    }

    /// System.map's lines: address, type, name; only code (`t`, `T`, `w`,
    /// `W`) is kept.
    pub fn parse(map: &str) -> Result<Self> {
        let mut symbols = Vec::new();
        for line in map.lines() {
            let mut fields = line.split_whitespace();
            let (Some(address), Some(kind), Some(name)) =
                (fields.next(), fields.next(), fields.next())
            else {
                anyhow::bail!("a line without address, type and name: {line:?}");
            };
            if matches!(kind, "t" | "T" | "w" | "W") {
                let address = u64::from_str_radix(address, 16)
                    .with_context(|| format!("the address of {line:?}"))?;
                symbols.push((address, name.to_string()));
            }
        }
        anyhow::ensure!(!symbols.is_empty(), "no code symbols");
        symbols.sort();
        let (starts, names) = symbols.into_iter().unzip();
        Ok(Symbols { starts, names })
    }

    /// The function `pc` is in: the nearest symbol at or below it. Past the
    /// last one (`_etext` and beyond) is module code or data.
    fn function(&self, pc: u64) -> Option<&str> {
        let i = self.starts.partition_point(|&start| start <= pc);
        (i > 0 && i < self.starts.len()).then(|| self.names[i - 1].as_str())
    }
}

/// One vCPU's state in a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vcpu {
    pub pc: u64,
    /// Stopped in `hlt`, waiting for an interrupt: idle.
    pub halted: bool,
}

/// Every vCPU in the text of QEMU's `info registers -a`.
pub fn parse_registers(text: &str) -> Vec<Vcpu> {
    static LINE: OnceLock<Regex> = OnceLock::new();
    let line = LINE.get_or_init(|| {
        Regex::new(r"RIP=([0-9a-f]{16})[^\n]*?(?:HLT=([01]))?\s*$").expect("a valid regex")
    });
    text.lines()
        .filter_map(|l| line.captures(l))
        .filter_map(|c| {
            Some(Vcpu {
                pc: u64::from_str_radix(&c[1], 16).ok()?,
                halted: c.get(2).is_some_and(|h| h.as_str() == "1"),
            })
        })
        .collect()
}

/// Every vCPU at one moment, `at` seconds into the run.
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: f64,
    pub vcpus: Vec<Vcpu>,
}

/// Samples counted per place.
#[derive(Debug, Default, PartialEq)]
pub struct Profile {
    pub vcpu_samples: u64,
    pub seconds: f64,
    counts: HashMap<String, u64>,
}

const IDLE: &str = "(idle: halted)";
const USER: &str = "(user space)";
const OUTSIDE: &str = "(kernel, outside vmlinux: a module)";

impl Profile {
    /// The samples taken at or after `since` seconds.
    pub fn count(symbols: &Symbols, samples: &[Sample], since: f64) -> Self {
        let mut profile = Profile::default();
        let taken: Vec<&Sample> = samples.iter().filter(|s| s.at >= since).collect();
        if let (Some(first), Some(last)) = (taken.first(), taken.last()) {
            profile.seconds = last.at - first.at;
        }
        for vcpu in taken.iter().flat_map(|s| &s.vcpus) {
            let place = if vcpu.halted {
                IDLE
            } else if vcpu.pc < KERNEL_SPACE {
                USER
            } else {
                symbols.function(vcpu.pc).unwrap_or(OUTSIDE)
            };
            *profile.counts.entry(place.to_string()).or_default() += 1;
            profile.vcpu_samples += 1;
        }
        profile
    }

    /// The `top` places, most samples first, a line each.
    pub fn report(&self, top: usize) -> String {
        let mut places: Vec<(&String, &u64)> = self.counts.iter().collect();
        places.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut out = format!(
            "{} vCPU samples over {:.1} s (every {} ms)\n",
            self.vcpu_samples,
            self.seconds,
            INTERVAL.as_millis()
        );
        for (place, &n) in places.into_iter().take(top) {
            let share = 100.0 * n as f64 / self.vcpu_samples.max(1) as f64;
            let _ = writeln!(out, "{share:5.1}% {n:8}  {place}");
        }
        out
    }
}

/// Samples a running QEMU's vCPUs on its own monitor socket until finished.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<Result<Vec<Sample>>>,
}

impl Sampler {
    /// Starts sampling the QEMU that serves QMP on `socket`; `start` is
    /// when that QEMU started.
    pub fn start(socket: PathBuf, start: Instant) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut monitor = connect(&socket, &stopped)?;
            let mut samples = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                // QEMU exits at the guest's end: a monitor that stops
                // answering then ends the profile, not the run.
                let Ok(text) = monitor.human("info registers -a") else {
                    break;
                };
                samples.push(Sample {
                    at: start.elapsed().as_secs_f64(),
                    vcpus: parse_registers(&text),
                });
                thread::sleep(INTERVAL);
            }
            Ok(samples)
        });
        Sampler { stop, thread }
    }

    /// Stops sampling: what was sampled.
    pub fn finish(self) -> Result<Vec<Sample>> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.join() {
            Ok(samples) => samples,
            Err(_) => anyhow::bail!("the profile's sampler panicked"),
        }
    }
}

fn connect(socket: &Path, stopped: &AtomicBool) -> Result<Monitor> {
    let deadline = Instant::now() + CONNECT_WAIT;
    loop {
        match Monitor::connect(socket) {
            Ok(monitor) => return Ok(monitor),
            Err(e) if Instant::now() > deadline || stopped.load(Ordering::Relaxed) => {
                return Err(e.context("the profile's sampler"))
            }
            Err(_) => thread::sleep(INTERVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "\
ffffffff81000000 T _stext
ffffffff81000100 t unwind_next_frame
ffffffff81000400 D some_data
ffffffff81000500 W default_idle
ffffffff81000600 T _etext
";

    fn sample(at: f64, vcpus: &[(u64, bool)]) -> Sample {
        Sample {
            at,
            vcpus: vcpus
                .iter()
                .map(|&(pc, halted)| Vcpu { pc, halted })
                .collect(),
        }
    }

    #[test]
    fn a_pc_is_in_the_code_symbol_at_or_below_it() {
        let symbols = Symbols::parse(MAP).unwrap();
        assert_eq!(Some("_stext"), symbols.function(0xffffffff81000000));
        assert_eq!(
            Some("unwind_next_frame"),
            symbols.function(0xffffffff81000100)
        );
        // Data symbols are not functions: the code before them goes on.
        assert_eq!(
            Some("unwind_next_frame"),
            symbols.function(0xffffffff81000450)
        );
        assert_eq!(Some("default_idle"), symbols.function(0xffffffff810005ff));
        assert_eq!(None, symbols.function(0xffffffff80ffffff));
        assert_eq!(None, symbols.function(0xffffffffa0001000));
    }

    #[test]
    fn a_map_without_code_is_refused() {
        assert!(Symbols::parse("ffffffff81000400 D some_data\n").is_err());
        assert!(Symbols::parse("not a map\n").is_err());
    }

    #[test]
    fn info_registers_gives_each_vcpus_pc_and_whether_it_halted() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/profile/info-registers-a.txt"
        ))
        .unwrap();
        assert_eq!(
            vec![
                Vcpu {
                    pc: 0xffffffff81efad82,
                    halted: true
                },
                Vcpu {
                    pc: 0xffffffff81139ae0,
                    halted: false
                },
            ],
            parse_registers(&text)
        );
    }

    #[test]
    fn hlt_marks_an_idle_vcpu() {
        let text = "RIP=ffffffff81000500 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n\
                    RIP=00007f0000001000 RFL=00000202 [-------] CPL=3 II=0 A20=1 SMM=0 HLT=0\n";
        assert_eq!(
            vec![
                Vcpu {
                    pc: 0xffffffff81000500,
                    halted: true
                },
                Vcpu {
                    pc: 0x7f0000001000,
                    halted: false
                },
            ],
            parse_registers(text)
        );
    }

    #[test]
    fn the_report_ranks_places_by_their_share_of_samples() {
        let symbols = Symbols::parse(MAP).unwrap();
        let samples = [
            sample(0.0, &[(0xffffffff81000500, true), (0x400000, false)]),
            sample(
                1.0,
                &[(0xffffffff81000110, false), (0xffffffff81000120, false)],
            ),
            sample(
                2.0,
                &[(0xffffffff81000130, false), (0xffffffffa0000000, false)],
            ),
        ];
        let report = Profile::count(&symbols, &samples, 0.0).report(3);
        assert_eq!(
            "6 vCPU samples over 2.0 s (every 50 ms)\n \
             50.0%        3  unwind_next_frame\n \
             16.7%        1  (idle: halted)\n \
             16.7%        1  (kernel, outside vmlinux: a module)\n",
            report
        );
    }

    #[test]
    fn a_window_counts_only_its_samples() {
        let symbols = Symbols::parse(MAP).unwrap();
        let samples = [
            sample(0.0, &[(0xffffffff81000110, false)]),
            sample(5.0, &[(0x400000, false)]),
            sample(6.0, &[(0x400000, false)]),
        ];
        let profile = Profile::count(&symbols, &samples, 5.0);
        assert_eq!(2, profile.vcpu_samples);
        assert_eq!(1.0, profile.seconds);
        assert!(profile.report(5).contains("100.0%        2  (user space)"));
    }
}
