//! Turns a finished guest run into named checks, each passed or failed.

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

/// Judges one boot that was given `vcpus` CPUs; `hang` says, for a boot
/// that reached its time limit, what became of its task dump.
pub fn judge(
    console: &str,
    report: &Report,
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
        .filter(|p| p.name != crate::torture::HOST_LOAD)
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
    if let Some(state) = report.fact("host-root") {
        checks.push(Check::new(
            "the host root is mounted in the guest",
            state == "up",
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
    let splats = splat::scan(console);
    if expect.splats.is_empty() {
        checks.push(Check::new(
            "no kernel splat",
            splats.is_empty(),
            describe(&splats),
        ));
        let tainted = report
            .fact("tainted after")
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
                    None => format!("no {kind} splat found; saw: {}", describe(&splats)),
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
    let before = report.fact("debug_locks before");
    let after = report.fact("debug_locks after");
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

/// Prints the checks as TAP-like lines, with the details of failures.
pub fn print(checks: &[Check]) {
    for check in checks {
        match check.status {
            Status::Passed => println!("ok - {}", check.name),
            Status::Failed => {
                println!("not ok - {}", check.name);
                for line in check.detail.lines() {
                    println!("#   {line}");
                }
            }
            Status::Skipped => println!("ok - {} # SKIP {}", check.name, check.detail),
            Status::KnownFailure => {
                println!("not ok - {} # TODO known bug: {}", check.name, check.detail)
            }
        }
    }
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
mod tests {
    use super::*;
    use crate::results::parse;

    const CLEAN_CONSOLE: &str = "[ 0.0] KernelAddressSanitizer initialized (generic)\n\
                                 [ 0.1] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar\n";

    fn results(tainted: u64) -> Report {
        parse(&format!(
            "shrinkfs-rig: cpus online 0-1\nshrinkfs-rig: debug_locks before 1\n\
             shrinkfs-rig: begin t\n1..1\nok 1 t.a\n\
             shrinkfs-rig: end t 0\nshrinkfs-rig: debug_locks after 1\n\
             shrinkfs-rig: tainted after {tainted}\nshrinkfs-rig: done\n"
        ))
    }

    fn failed(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| c.status == Status::Failed)
            .map(|c| c.name.as_str())
            .collect()
    }

    fn debug() -> Expectations {
        Expectations {
            debug_kernel: true,
            splats: vec![],
            known_failures: vec![],
        }
    }

    #[test]
    fn a_clean_run_passes_every_check() {
        let checks = judge(CLEAN_CONSOLE, &results(4096), None, 2, &debug());
        assert!(failed(&checks).is_empty(), "{checks:?}");
        assert_eq!(checks.len(), 7);
    }

    #[test]
    fn a_splat_fails_the_run_and_is_named() {
        let console =
            format!("{CLEAN_CONSOLE}[ 3.0] BUG: KASAN: slab-use-after-free in d_walk+0x1/0x2\n");
        let checks = judge(&console, &results(4096), None, 2, &debug());
        assert_eq!(failed(&checks), vec!["no kernel splat"]);
        let detail = &checks
            .iter()
            .find(|c| c.name == "no kernel splat")
            .unwrap()
            .detail;
        assert!(detail.contains("KASAN at console line 3"), "{detail}");
    }

    #[test]
    fn silent_taint_dead_lockdep_and_timeouts_fail() {
        let console = "[ 0.0] KernelAddressSanitizer initialized (generic)\n";
        let checks = judge(
            console,
            &results(4096 | 512),
            Some("no task dump: x"),
            2,
            &debug(),
        );
        assert_eq!(
            failed(&checks),
            vec![
                "guest ran to its end",
                "lockdep is live before and after the tests",
                "kernel not tainted"
            ]
        );
    }

    #[test]
    fn a_self_test_passes_only_when_the_provoked_splat_is_found() {
        let expect = Expectations {
            debug_kernel: false,
            splats: vec!["WARN", "KASAN"],
            known_failures: vec![],
        };
        let console = "[ 1.0] WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:1 x+0x1/0x2\n";
        let checks = judge(console, &results(512), None, 2, &expect);
        assert_eq!(failed(&checks), vec!["rig detects a provoked KASAN splat"]);
    }

    #[test]
    fn a_real_one_cpu_boot_fails_and_a_two_cpu_boot_passes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cpus");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
        let one = cpus_check(
            &read("acpi-off-console.log"),
            &parse(&read("acpi-off-results.log")),
            2,
        );
        assert_eq!(one.status, Status::Failed);
        assert_eq!(
            "QEMU gave it 2, 1 online; the kernel said: smp: Brought up 1 node, 1 CPU",
            one.detail
        );
        let two = cpus_check(
            &read("two-cpus-console.log"),
            &parse(&read("two-cpus-results.log")),
            2,
        );
        assert_eq!(two.status, Status::Passed, "{}", two.detail);
    }

    #[test]
    fn a_hang_names_where_its_task_dump_is() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/hang/lkdtm-hung-task-sysrq.log");
        let console = std::fs::read_to_string(path).unwrap();
        let why = "no progress: nothing on the results channel for 300 s; dumped";
        let checks = judge(&console, &results(4096), Some(why), 2, &debug());
        let ran = checks
            .iter()
            .find(|c| c.name == "guest ran to its end")
            .unwrap();
        assert_eq!(ran.status, Status::Failed);
        assert_eq!(
            "no progress: nothing on the results channel for 300 s; dumped\n\
             sysrq: Show Blocked State at console line 249\n\
             sysrq: Show State at console line 273\n\
             sysrq: Show backtrace of all active CPUs at console line 1093",
            ran.detail
        );
    }

    #[test]
    fn a_guest_with_fewer_cpus_than_given_fails() {
        let checks = judge(CLEAN_CONSOLE, &results(4096), None, 4, &debug());
        assert_eq!(
            failed(&checks),
            vec!["the guest runs on all 4 vCPUs it was given"]
        );
        let silent = parse("shrinkfs-rig: done\n");
        let check = cpus_check("[ 0.3] smp: Brought up 1 node, 1 CPU\n", &silent, 2);
        assert_eq!(check.status, Status::Failed);
        assert!(
            check.detail.contains("none reported")
                && check.detail.contains("smp: Brought up 1 node, 1 CPU"),
            "{}",
            check.detail
        );
    }

    fn two_cases(first: &str, second: &str) -> Report {
        parse(&format!(
            "shrinkfs-rig: cpus online 0-1\nshrinkfs-rig: debug_locks before 1\n\
             shrinkfs-rig: begin liveness_test\n1..2\n{first} 1 tree.dying_dentry\n\
             {second} 2 tree.busy\nshrinkfs-rig: end liveness_test 1\n\
             shrinkfs-rig: debug_locks after 1\nshrinkfs-rig: tainted after 4096\n\
             shrinkfs-rig: done\n"
        ))
    }

    fn known_bug() -> Expectations {
        Expectations {
            known_failures: vec![KnownFailure {
                case: "liveness_test: tree.dying_dentry".into(),
                bug: "busy-waits on a dying dentry".into(),
            }],
            ..debug()
        }
    }

    fn check_of<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks.iter().find(|c| c.name == name).expect(name)
    }

    #[test]
    fn a_known_failure_that_fails_is_counted_apart() {
        let checks = judge(
            CLEAN_CONSOLE,
            &two_cases("not ok", "ok"),
            None,
            2,
            &known_bug(),
        );
        let dying = check_of(&checks, "liveness_test: tree.dying_dentry");
        assert_eq!(dying.status, Status::KnownFailure);
        assert_eq!(dying.detail, "busy-waits on a dying dentry");
        assert!(summary(&checks).ends_with(", 0 failed, 0 skipped, 1 known failures"));
        assert_eq!(tally(&checks).1, 0, "{checks:?}");
    }

    #[test]
    fn a_known_failure_that_passes_fails() {
        let checks = judge(CLEAN_CONSOLE, &two_cases("ok", "ok"), None, 2, &known_bug());
        let dying = check_of(&checks, "liveness_test: tree.dying_dentry");
        assert_eq!(dying.status, Status::Failed);
        assert!(dying.detail.contains("lost its teeth"), "{}", dying.detail);
        assert!(!summary(&checks).contains("known"));
    }

    #[test]
    fn a_failure_not_listed_as_known_fails() {
        let checks = judge(
            CLEAN_CONSOLE,
            &two_cases("not ok", "not ok"),
            None,
            2,
            &known_bug(),
        );
        assert_eq!(failed(&checks), ["liveness_test: tree.busy"]);
    }

    #[test]
    fn the_stock_kernels_known_failures_parse() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../selftests/known-failures/stock.json");
        let known = read_known_failures(&path).unwrap();
        assert_eq!(known.len(), 3);
        assert!(known
            .iter()
            .all(|k| k.case.starts_with("liveness_test: tree.")));
    }
}
