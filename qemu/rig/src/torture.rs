//! A torture run's outcome: when its first splat came, what the workload
//! counted, and the report a person reads afterwards.

use std::fmt::Write as _;

use crate::protocol::{console, fact, program};
use crate::results::Report;
use crate::splat::{self, Splat};
use crate::verdict::{self, Check, Status};

/// The module's `race_delay_us` values a round draws from by default: a
/// quarter of the rounds without widened windows.
pub const RACE_DELAYS_ON: &str = "0,10,50,200";

/// Checks a set of `race_delay_us` values (`0,10,50`) as the torture and
/// the module take them: 1 to 16 values of 0..=1000.
pub fn parse_race_delays(list: &str) -> Result<String, String> {
    let values: Vec<&str> = list.split(',').collect();
    if values.len() > 16 {
        return Err(format!("{} values; at most 16", values.len()));
    }
    for value in &values {
        match value.parse::<u32>() {
            Ok(us) if us <= 1000 => {}
            _ => return Err(format!("'{value}' is not a delay of 0..1000 µs")),
        }
    }
    Ok(list.to_string())
}

/// How long after the torture's start the first splat came, in seconds:
/// `None` without splats; the whole boot counts if the marker is missing.
pub fn time_to_first_splat(console: &str, splats: &[Splat]) -> Option<f64> {
    seconds_into(console, splats.first()?)
}

/// Seconds from the torture's start marker (or the boot) to `splat`.
pub fn seconds_into(console: &str, splat: &Splat) -> Option<f64> {
    let lines: Vec<&str> = console.lines().collect();
    let at = lines
        .get(splat.line.checked_sub(1)?)
        .and_then(|l| splat::timestamp(l))?;
    let start = lines
        .iter()
        .find(|l| splat::message(l) == console::TORTURE_START)
        .and_then(|l| splat::timestamp(l))
        .unwrap_or(0.0);
    Some((at - start).max(0.0))
}

/// The knobs of the round the first splat came in: the last round line on
/// the console before it.
pub fn round_of_first_splat<'a>(console: &'a str, splats: &[Splat]) -> Option<&'a str> {
    let first = splats.first()?;
    console
        .lines()
        .take(first.line)
        .map(splat::message)
        .filter(|m| m.starts_with(console::TORTURE_ROUND))
        .filter_map(|m| m.strip_prefix(console::TORTURE_PREFIX))
        .last()
}

/// The torture's own summary lines ("# torture: ..."), without the prefix.
pub fn summary(report: &Report) -> Vec<String> {
    report
        .programs
        .iter()
        .filter(|p| p.name == program::TORTURE)
        .flat_map(|p| &p.output)
        .filter_map(|l| l.strip_prefix(program::TORTURE_SUMMARY))
        .map(str::to_string)
        .collect()
}

/// The seed and duration a torture run announced at its start
/// (`seed 7, 60 s in rounds of 15 s; ...`), from its summary lines.
pub fn started(report: &Report) -> Option<(u32, u64)> {
    summary(report).iter().find_map(|line| {
        let (seed, rest) = line.strip_prefix("seed ")?.split_once(", ")?;
        let (duration, _) = rest.split_once(" s in rounds")?;
        Some((seed.parse().ok()?, duration.parse().ok()?))
    })
}

/// One torture run, as the report describes it.
pub struct Run<'a> {
    /// How to run it again, e.g. `make torture SEED=7 DURATION=120 KERNEL=patched`.
    pub repeat: &'a str,
    pub seed: u32,
    pub duration: u64,
    /// vCPUs QEMU gave the guest.
    pub vcpus: u32,
    pub race_delays: &'a str,
    pub checks: &'a [Check],
    pub console: &'a str,
    /// What the scan found on `console`.
    pub splats: &'a [Splat],
    pub console_path: &'a str,
    pub report: &'a Report,
    /// The host command that ran beside the torture, if any.
    pub load: Option<&'a str>,
}

/// The report: verdict, how to repeat, the counters, the first splat.
pub fn render(run: &Run<'_>) -> String {
    let (passed, failed, _) = verdict::tally(run.checks);
    let splats = run.splats;
    let mut out = String::new();
    let verdict = if failed == 0 { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "shrinkfs torture: {verdict} ({passed} checks passed, {failed} failed)"
    );
    let _ = writeln!(
        out,
        "seed {}, {} s, {} vCPUs ({} online), race_delay_us drawn from {}",
        run.seed,
        run.duration,
        run.vcpus,
        run.report
            .cpus_online()
            .map_or("none reported".to_string(), |n| n.to_string()),
        run.race_delays
    );
    let _ = writeln!(out, "repeat: {}", run.repeat);
    let _ = writeln!(out, "console: {}", run.console_path);
    let _ = writeln!(out, "\nchecks:");
    for check in run.checks {
        // A check's detail explains its failure.
        let _ = match check.status {
            Status::Passed => writeln!(out, "  ok      {}", check.name),
            Status::Failed => writeln!(out, "  FAILED  {}: {}", check.name, check.detail),
            Status::Skipped => writeln!(out, "  skipped {}: {}", check.name, check.detail),
            Status::KnownFailure => {
                writeln!(out, "  known failure {}: {}", check.name, check.detail)
            }
        };
    }
    let _ = writeln!(out, "\nworkload:");
    for line in summary(run.report) {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(load) = run.load {
        render_load(&mut out, load, run.report);
    }
    match (splats.first(), time_to_first_splat(run.console, splats)) {
        (Some(first), Some(seconds)) => {
            let _ = writeln!(
                out,
                "\nfirst splat, {seconds:.1} s into the torture ({} in all):",
                splats.len()
            );
            if let Some(round) = round_of_first_splat(run.console, splats) {
                let _ = writeln!(out, "  (in {round})");
            }
            for line in &first.excerpt {
                let _ = writeln!(out, "  {line}");
            }
        }
        _ => {
            let _ = writeln!(out, "\nno splat");
        }
    }
    out
}

/// The extra load: whether it lasted the whole torture, how it ended, and
/// its last lines. It informs; the verdict comes from the scan and checks.
fn render_load(out: &mut String, load: &str, report: &Report) {
    let _ = writeln!(out, "\nextra load: {load}");
    let program = report
        .programs
        .iter()
        .find(|p| p.name == program::HOST_LOAD);
    let lasted = match report.fact(fact::LOAD_AT_END) {
        Some(fact::LOAD_STOPPED) => "it ran for the whole torture and was stopped at its end",
        Some(_) => "it ended before the torture did",
        None => "it never started (no host root?)",
    };
    let _ = writeln!(out, "  {lasted}");
    match program.and_then(|p| p.exit) {
        Some(code) => {
            let _ = writeln!(out, "  exit status {code}");
        }
        None => {
            let _ = writeln!(out, "  no exit status");
        }
    }
    if let Some(program) = program {
        let _ = writeln!(out, "  last lines:");
        for line in &program.output {
            let _ = writeln!(out, "    {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn race_delays_are_checked() {
        assert_eq!(Ok("0".to_string()), parse_race_delays("0"));
        assert_eq!(
            Ok(RACE_DELAYS_ON.to_string()),
            parse_race_delays(RACE_DELAYS_ON)
        );
        assert!(parse_race_delays("").is_err());
        assert!(parse_race_delays("0,,5").is_err());
        assert!(parse_race_delays("1001").is_err());
        assert!(parse_race_delays("-1").is_err());
        assert!(parse_race_delays(&format!("{}1", "1,".repeat(16))).is_err());
    }

    #[test]
    fn the_start_line_gives_seed_and_duration() {
        let report = crate::results::parse(
            "shrinkfs-rig: begin torture_test\n\
             TAP version 13\n\
             # torture: seed 4711, 60 s in rounds of 15 s; repeat with TORTURE_SEED=4711 TORTURE_DURATION=60\n\
             # torture: round 1\n\
             shrinkfs-rig: end torture_test 1\n",
        );
        assert_eq!(Some((4711, 60)), started(&report));
        assert_eq!(None, started(&crate::results::parse("")));
    }

    const CONSOLE: &str = "\
[    3.000000] shrinkfs: registered filesystem type shrinkfs
[    4.250000] shrinkfs-rig: torture start
[    4.300000] shrinkfs-torture: round 1: race_delay_us=0 reap_interval_ms=5 cpus free
[    9.300000] shrinkfs-torture: round 2: race_delay_us=10 reap_interval_ms=0 cpus one CPU 1,1
[   10.000000] ------------[ cut here ]------------
[   10.500000] WARNING: CPU: 1 PID: 77 at fs/dcache.c:1611 umount_check+0x1/0x2
[   10.500001] ---[ end trace 0000000000000000 ]---
";

    #[test]
    fn time_to_first_splat_counts_from_the_start_marker() {
        let splats = splat::scan(CONSOLE);
        assert_eq!(1, splats.len());
        let seconds = time_to_first_splat(CONSOLE, &splats).expect("a splat");
        assert!((seconds - 6.25).abs() < 1e-9, "{seconds}");
    }

    #[test]
    fn the_first_splat_is_placed_in_its_round() {
        let splats = splat::scan(CONSOLE);
        assert_eq!(
            Some("round 2: race_delay_us=10 reap_interval_ms=0 cpus one CPU 1,1"),
            round_of_first_splat(CONSOLE, &splats)
        );
        assert_eq!(None, round_of_first_splat(CONSOLE, &[]));
    }

    #[test]
    fn without_a_marker_the_boot_counts() {
        let console = CONSOLE.replace(console::TORTURE_START, "something else");
        let splats = splat::scan(&console);
        let seconds = time_to_first_splat(&console, &splats).expect("a splat");
        assert!((seconds - 10.5).abs() < 1e-9, "{seconds}");
    }

    #[test]
    fn no_splat_no_time() {
        let console = "[    1.000000] shrinkfs-rig: torture start\n";
        assert_eq!(None, time_to_first_splat(console, &splat::scan(console)));
    }

    #[test]
    fn summary_takes_the_torture_lines_only() {
        let results = "\
shrinkfs-rig: begin torture_test
TAP version 13
1..1
# torture: seed 7, 60 s in rounds of 15 s
#  RUN           torture.run ...
# torture: stat 1234 20.5/s
ok 1 torture.run
shrinkfs-rig: end torture_test 0
";
        let report = crate::results::parse(results);
        assert_eq!(
            vec!["seed 7, 60 s in rounds of 15 s", "stat 1234 20.5/s"],
            summary(&report)
        );
    }
}
