//! Turns a finished guest run into named checks, each passed or failed.

use crate::protocol::{fact, program};
use crate::results::{Outcome, Report};
use crate::splat::{self, Splat};

/// Taint bits that loading our own out-of-tree module sets by design.
const TAINT_EXPECTED: u64 = (1 << 12) | (1 << 13); // O (out-of-tree), E (unsigned)

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Skipped,
    /// Failed as a known bug of the kernel under test says it must.
    KnownFailure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
}

impl Check {
    pub fn new(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            status: if passed {
                Status::Passed
            } else {
                Status::Failed
            },
            detail: detail.into(),
        }
    }
}

/// What the run is expected to show.
pub struct Expectations {
    /// KASAN and lockdep must be live in the guest.
    pub debug_kernel: bool,
    /// Splat kinds the run must provoke (the rig's self-test); empty means
    /// the run must be free of splats.
    pub splats: Vec<&'static str>,
    /// Test cases that reproduce a known bug of the kernel under test.
    pub known_failures: Vec<KnownFailure>,
}

/// A test case that must fail on a kernel, and the bug that makes it fail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct KnownFailure {
    /// `program: fixture.case`, as the checks name it.
    pub case: String,
    pub bug: String,
}

/// Reads a JSON list of known failures.
pub fn read_known_failures(path: &std::path::Path) -> anyhow::Result<Vec<KnownFailure>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading known failures {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: want a JSON list of {{\"case\", \"bug\"}}",
            path.display()
        )
    })
}

/// The check of one test case, given the known failures of the kernel.
fn case_check(name: String, outcome: &Outcome, known: &[KnownFailure]) -> Check {
    let known = known.iter().find(|k| k.case == name);
    match (outcome, known) {
        (Outcome::Fail, Some(k)) => Check {
            name,
            status: Status::KnownFailure,
            detail: k.bug.clone(),
        },
        (Outcome::Pass, Some(k)) => Check::new(
            name,
            false,
            format!(
                "passed, but this kernel has the bug it reproduces ({}): the reproducer lost its teeth",
                k.bug
            ),
        ),
        (Outcome::Pass, None) => Check::new(name, true, ""),
        (Outcome::Fail, None) => Check::new(name, false, "the test failed"),
        (Outcome::Skip(why), _) => Check {
            name,
            status: Status::Skipped,
            detail: why.clone(),
        },
    }
}

/// Judges one boot that was given `vcpus` CPUs, `splats` being what the
/// scan found on its console; `hang` says, for a boot that reached its time
/// limit, what became of its task dump.
pub fn judge(
    console: &str,
    report: &Report,
    splats: &[Splat],
    hang: Option<&str>,
    vcpus: u32,
    expect: &Expectations,
) -> Vec<Check> {
    let mut checks = vec![cpus_check(console, report, vcpus)];
    // The torture's extra load is whatever the user chose; it is reported,
    // not judged.
    for program in report
        .programs
        .iter()
        .filter(|p| p.name != program::HOST_LOAD)
    {
        for case in &program.cases {
            let name = format!("{}: {}", program.name, case.name);
            checks.push(case_check(name, &case.outcome, &expect.known_failures));
        }
        for problem in program.problems() {
            checks.push(Check::new(
                format!("{}: finished", program.name),
                false,
                problem,
            ));
        }
    }
    if let Some(state) = report.fact(fact::HOST_ROOT) {
        checks.push(Check::new(
            "the host root is mounted in the guest",
            state == fact::HOST_ROOT_UP,
            "mounting the virtio-9p share failed (kernel without 9p, or QEMU without -virtfs?)",
        ));
    }
    checks.push(Check::new(
        "guest ran to its end",
        report.done && hang.is_none(),
        match hang {
            Some(dump) => hang_detail(console, dump),
            None => "the guest stopped before its init finished (crash or panic?)".to_string(),
        },
    ));
    if expect.debug_kernel {
        checks.extend(debug_checks(console, report));
    }
    if expect.splats.is_empty() {
        checks.push(Check::new(
            "no kernel splat",
            splats.is_empty(),
            describe(splats),
        ));
        let tainted = report
            .fact(fact::TAINTED_AFTER)
            .and_then(|t| t.parse::<u64>().ok());
        checks.push(Check::new(
            "kernel not tainted",
            matches!(tainted, Some(t) if t & !TAINT_EXPECTED == 0),
            format!("tainted after the run: {tainted:?} (expected bits: O, E)"),
        ));
    } else {
        for kind in &expect.splats {
            let found = splats.iter().find(|s| s.kind == *kind);
            checks.push(Check::new(
                format!("rig detects a provoked {kind} splat"),
                found.is_some(),
                match found {
                    Some(s) => format!("found at console line {}: {}", s.line, s.header),
                    None => format!("no {kind} splat found; saw: {}", describe(splats)),
                },
            ));
        }
    }
    checks
}

/// Whether the guest brought up every vCPU QEMU gave it: a kernel that
/// finds fewer (no ACPI: the MP table lists the boot CPU alone) runs the
/// "concurrent" forces one at a time.
pub fn cpus_check(console: &str, report: &Report, vcpus: u32) -> Check {
    let online = report.cpus_online();
    let bringup = console
        .lines()
        .map(splat::message)
        .find(|m| m.starts_with("smp: Brought up"))
        .unwrap_or("no 'smp: Brought up' line on the console");
    Check::new(
        format!("the guest runs on all {vcpus} vCPUs it was given"),
        online == Some(vcpus),
        format!(
            "QEMU gave it {vcpus}, {} online; the kernel said: {bringup}",
            online.map_or("none reported".to_string(), |n| n.to_string()),
        ),
    )
}

/// Why a guest was stopped (`dump` says: its time limit, or no progress) and
/// where its console has the task dump.
fn hang_detail(console: &str, dump: &str) -> String {
    let mut detail = dump.to_string();
    for (number, line) in console.lines().enumerate() {
        let message = splat::message(line);
        if message.starts_with("sysrq: ") {
            detail.push_str(&format!("\n{message} at console line {}", number + 1));
        }
    }
    detail
}

fn debug_checks(console: &str, report: &Report) -> Vec<Check> {
    let kasan = console.contains("KernelAddressSanitizer initialized");
    let lockdep_banner = console.contains("Lock dependency validator");
    let before = report.fact(fact::DEBUG_LOCKS_BEFORE);
    let after = report.fact(fact::DEBUG_LOCKS_AFTER);
    vec![
        Check::new(
            "KASAN is live",
            kasan,
            "no 'KernelAddressSanitizer initialized' banner on the console",
        ),
        Check::new(
            "lockdep is live before and after the tests",
            lockdep_banner && before == Some("1") && after == Some("1"),
            format!(
                "banner: {lockdep_banner}, debug_locks before: {before:?}, after: {after:?} \
                 (lockdep turns itself off after its first report)"
            ),
        ),
    ]
}

/// The first splat with its report, and how many followed.
pub fn describe(splats: &[Splat]) -> String {
    let Some(first) = splats.first() else {
        return "none".to_string();
    };
    let mut text = format!(
        "{} splat(s); the first, {} at console line {}:\n",
        splats.len(),
        first.kind,
        first.line
    );
    for line in &first.excerpt {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// (passed, failed, skipped)
pub fn tally(checks: &[Check]) -> (usize, usize, usize) {
    let count = |status: Status| checks.iter().filter(|c| c.status == status).count();
    (
        count(Status::Passed),
        count(Status::Failed),
        count(Status::Skipped),
    )
}

/// The summary line: `N passed, N failed, N skipped`, and the known
/// failures if there were any.
pub fn summary(checks: &[Check]) -> String {
    let (passed, failed, skipped) = tally(checks);
    let mut line = format!("{passed} passed, {failed} failed, {skipped} skipped");
    let known = checks
        .iter()
        .filter(|c| c.status == Status::KnownFailure)
        .count();
    if known > 0 {
        line.push_str(&format!(", {known} known failures"));
    }
    line
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
