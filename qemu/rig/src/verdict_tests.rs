//! The tests of `verdict`.

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

/// Judges a console as the rig does: scanned first.
fn judge_console(
    console: &str,
    report: &Report,
    hang: Option<&str>,
    vcpus: u32,
    expect: &Expectations,
) -> Vec<Check> {
    judge(console, report, &splat::scan(console), hang, vcpus, expect)
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
    let checks = judge_console(CLEAN_CONSOLE, &results(4096), None, 2, &debug());
    assert!(failed(&checks).is_empty(), "{checks:?}");
    assert_eq!(checks.len(), 7);
}

#[test]
fn a_splat_fails_the_run_and_is_named() {
    let console =
        format!("{CLEAN_CONSOLE}[ 3.0] BUG: KASAN: slab-use-after-free in d_walk+0x1/0x2\n");
    let checks = judge_console(&console, &results(4096), None, 2, &debug());
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
    let checks = judge_console(
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
    let checks = judge_console(console, &results(512), None, 2, &expect);
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
    let checks = judge_console(&console, &results(4096), Some(why), 2, &debug());
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
    let checks = judge_console(CLEAN_CONSOLE, &results(4096), None, 4, &debug());
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
    let checks = judge_console(
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
    let checks = judge_console(CLEAN_CONSOLE, &two_cases("ok", "ok"), None, 2, &known_bug());
    let dying = check_of(&checks, "liveness_test: tree.dying_dentry");
    assert_eq!(dying.status, Status::Failed);
    assert!(dying.detail.contains("lost its teeth"), "{}", dying.detail);
    assert!(!summary(&checks).contains("known"));
}

#[test]
fn a_failure_not_listed_as_known_fails() {
    let checks = judge_console(
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
