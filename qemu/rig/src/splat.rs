//! Finds kernel splats in a guest console log.
//!
//! A splat is any report that means the kernel misbehaved: KASAN, lockdep and
//! RCU reports, WARN and BUG, oopses and panics, the VFS's own complaints at
//! umount, hung tasks, lockups and kmemleak. Headers are matched at the start of
//! a kernel message (after the printk timestamp), so userspace text that merely
//! mentions "WARNING" does not count.

use std::sync::LazyLock;

use regex::Regex;

/// One kind of report and the header that starts it. Order matters: the first
/// kind whose pattern matches a line names it.
const KINDS: &[(&str, &str)] = &[
    ("KASAN", r"^BUG: KASAN: "),
    ("kmemleak", r"^kmemleak: \d+ new suspected memory leaks"),
    (
        "kmemleak",
        r"^unreferenced object 0x[0-9a-f]+ \(size \d+\):",
    ),
    (
        "lockdep",
        r"^WARNING: possible (circular|recursive) locking",
    ),
    ("lockdep", r"^WARNING: inconsistent lock state"),
    (
        "lockdep",
        r"^WARNING: (bad unlock balance|held lock freed|lock held when returning|nested lock|possible irq lock inversion)",
    ),
    ("lockdep", r"^INFO: trying to register non-static key"),
    ("RCU", r"^WARNING: suspicious RCU usage"),
    (
        "RCU stall",
        r"^(rcu: )?INFO: rcu_\w+ (self-)?detected (expedited )?stalls? on",
    ),
    ("dentry still in use", r"^BUG: Dentry .* still in use"),
    ("busy inodes", r"^VFS: Busy inodes after unmount"),
    (
        "hung task",
        r"^INFO: task .* blocked for more than \d+ seconds",
    ),
    ("soft lockup", r"^watchdog: BUG: soft lockup"),
    ("hard lockup", r"^watchdog: .*hard LOCKUP"),
    (
        "sleep in atomic",
        r"^BUG: sleeping function called from invalid context",
    ),
    ("list corruption", r"^list_(add|del) corruption"),
    ("debugobjects", r"^ODEBUG: "),
    ("UBSAN", r"^UBSAN: "),
    ("WARN", r"^WARNING: CPU: \d+ PID: \d+ at "),
    ("WARN", r"^WARNING: "),
    ("BUG", r"^kernel BUG at "),
    ("BUG", r"^BUG: "),
    ("Oops", r"^Oops: "),
    ("Oops", r"^general protection fault"),
    ("panic", r"^Kernel panic - not syncing"),
];

/// A header that ends a report's excerpt.
static END_OF_REPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(---\[ end (trace|Kernel panic)|={20,}$)").expect("valid regex")
});

static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    KINDS
        .iter()
        .map(|(kind, re)| (*kind, Regex::new(re).expect("valid splat regex")))
        .collect()
});

/// The printk timestamp `[   12.345678] ` that starts every kernel line,
/// with the caller id `[ C16]`/`[  T123]` of `PRINTK_CALLER` kernels
/// (syzbot's consoles) after it.
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\[\s*(\d+\.\d+)\](\[\s*[CT]\d+\])?\s?").expect("valid regex")
});

/// What `WARN()` prints before its message.
const CUT_HERE: &str = "------------[ cut here ]------------";

/// Lines of a report kept for the summary.
const EXCERPT_LINES: usize = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splat {
    pub kind: &'static str,
    /// 1-based line number of the header in the log.
    pub line: usize,
    pub header: String,
    /// The header and the report lines that follow it (stack, locks held).
    pub excerpt: Vec<String>,
}

/// The kernel message of a console line, without timestamp or carriage return.
pub fn message(line: &str) -> &str {
    let line = line.trim_end_matches('\r');
    match TIMESTAMP.find(line) {
        Some(m) => &line[m.end()..],
        None => line,
    }
}

/// The printk timestamp of a console line, in seconds since boot.
pub fn timestamp(line: &str) -> Option<f64> {
    TIMESTAMP.captures(line)?.get(1)?.as_str().parse().ok()
}

/// The kinds of report the scanner names, each once.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    KINDS
        .iter()
        .enumerate()
        .filter(|(i, (kind, _))| !KINDS[..*i].iter().any(|(k, _)| k == kind))
        .map(|(_, (kind, _))| *kind)
}

/// Whether a console line is the header of a report.
pub fn starts_report(line: &str) -> bool {
    classify(message(line)).is_some()
}

fn classify(msg: &str) -> Option<&'static str> {
    PATTERNS
        .iter()
        .find(|(_, re)| re.is_match(msg))
        .map(|(kind, _)| *kind)
}

/// Every splat in `log`, in order. Lines inside a report already found (its
/// stack, or the `WARNING:` line a `BUG: Dentry` report triggers) do not
/// start a new one unless they are themselves a different report header after
/// that report's end marker.
pub fn scan(log: &str) -> Vec<Splat> {
    let mut splats: Vec<Splat> = Vec::new();
    let mut open: Option<usize> = None;
    // The two messages before this one: `WARN(cond, fmt...)` prints its
    // message between the cut-here marker and the `WARNING:` header.
    let mut before: [&str; 2] = ["", ""];
    for (index, raw) in log.lines().enumerate() {
        let msg = message(raw);
        let previous = before;
        before = [before[1], msg];
        if let Some(current) = open {
            let splat = &mut splats[current];
            let ended = END_OF_REPORT.is_match(msg) && splat.excerpt.len() > 1;
            if splat.excerpt.len() < EXCERPT_LINES {
                splat.excerpt.push(msg.to_string());
            }
            if ended || splat.excerpt.len() >= EXCERPT_LINES {
                open = None;
            }
            let kind = classify(msg);
            // `BUG: Dentry ... still in use` and the like print their header,
            // then WARN(): one report, whose stack is the WARN's. Likewise a
            // header of the same kind right after (kmemleak's objects).
            let continues = splats[current].excerpt.len() == 2
                && (kind == Some("WARN") || kind == Some(splats[current].kind));
            if ended || continues || kind.is_none() {
                continue;
            }
            // A new header inside an open report: the one before has ended.
            splats[current].excerpt.pop();
        }
        if let Some(kind) = classify(msg) {
            let mut excerpt = vec![msg.to_string()];
            if kind == "WARN" && previous[0] == CUT_HERE && classify(previous[1]).is_none() {
                excerpt.insert(0, previous[1].to_string());
            }
            splats.push(Splat {
                kind,
                line: index + 1,
                header: msg.to_string(),
                excerpt,
            });
            open = Some(splats.len() - 1);
        }
    }
    splats
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sample(dir: &str, name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(dir)
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Console logs with reports in them, and the kinds the scan must name,
    /// in order. `lkdtm-*` and `leaked-*` are real consoles of this rig's
    /// kernel (LKDTM; a module that leaked its root dentry at umount; a
    /// module whose dentry counter missed releases).
    const SPLAT_SAMPLES: &[(&str, &[&str])] = &[
        ("lkdtm-warn-and-kasan.log", &["WARN", "KASAN"]),
        ("lkdtm-exception-oops-panic.log", &["Oops", "panic"]),
        ("lkdtm-list-corruption.log", &["list corruption"]),
        (
            "lkdtm-hung-task.log",
            &["hung task", "hung task", "hung task"],
        ),
        ("lkdtm-soft-lockup.log", &["soft lockup"]),
        (
            "leaked-root-dentry.log",
            &["dentry still in use", "busy inodes", "dentry still in use"],
        ),
        ("leaked-dentry-count.log", &["WARN"]),
        ("rcu-suspicious.log", &["RCU"]),
        (
            "lkdtm-double-free-and-bug.log",
            &["KASAN", "BUG", "Oops", "panic"],
        ),
        (
            "lkdtm-hardlockup-rcu-stall.log",
            &["RCU stall", "hard lockup"],
        ),
        // The summary line, then the 13 objects with their backtraces.
        ("kmemleak-test-module.log", &["kmemleak"; 14]),
        ("expiry-index-lock-order.log", &["lockdep"]),
        (
            "expiry-use-after-free.log",
            &[
                "KASAN", "WARN", "WARN", "WARN", "WARN", "WARN", "WARN", "WARN", "WARN", "WARN",
                "WARN", "WARN", "WARN", "WARN", "WARN", "KASAN", "WARN",
            ],
        ),
        (
            "odebug-rcu-head-reactivated.log",
            &[
                "debugobjects",
                "debugobjects",
                "WARN",
                "debugobjects",
                "debugobjects",
                "KASAN",
                "KASAN",
            ],
        ),
    ];

    #[test]
    fn every_sample_is_in_the_table() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/splats");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".log") {
                assert!(
                    SPLAT_SAMPLES.iter().any(|(n, _)| *n == name),
                    "{name} has no expected kinds"
                );
            }
        }
    }

    #[test]
    fn finds_and_names_every_sample_report() {
        for (name, kinds) in SPLAT_SAMPLES {
            let splats = scan(&sample("splats", name));
            let found: Vec<_> = splats.iter().map(|s| s.kind).collect();
            assert_eq!(&found, kinds, "{name}");
            // The report comes with its stack or details, not just a header.
            assert!(
                splats[0].excerpt.len() > 5,
                "{name}: {:?}",
                splats[0].excerpt
            );
        }
    }

    #[test]
    fn clean_consoles_have_no_splat() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/clean");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(scan(&text), vec![], "{}", path.display());
            seen += 1;
        }
        assert!(seen > 0);
    }

    #[test]
    fn strips_printk_timestamps() {
        assert_eq!(message("[   12.345678] BUG: KASAN: x\r"), "BUG: KASAN: x");
        assert_eq!(message("plain"), "plain");
    }

    #[test]
    fn caller_ids_are_part_of_the_prefix() {
        let line = "[   64.612345][ C16] BUG: KASAN: slab-use-after-free in d_walk";
        assert_eq!(message(line), "BUG: KASAN: slab-use-after-free in d_walk");
        assert_eq!(timestamp(line), Some(64.612345));
        assert!(starts_report(
            "[ 1.0][  T123] WARNING: CPU: 0 PID: 123 at fs/dcache.c:1 x"
        ));
        assert_eq!(scan(line)[0].kind, "KASAN");
    }

    #[test]
    fn rcu_stall_headers_of_both_shapes() {
        for header in [
            "rcu: INFO: rcu_sched self-detected stall on CPU",
            "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "INFO: rcu_sched detected stalls on CPUs/tasks:",
            "rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: {",
        ] {
            assert_eq!(
                scan(&format!("[ 9.0] {header}\n"))[0].kind,
                "RCU stall",
                "{header}"
            );
        }
    }

    #[test]
    fn sleep_in_atomic_is_its_own_kind() {
        // 6.12's LKDTM cannot provoke it; the header is __might_resched()'s.
        let console = "[ 5.0] BUG: sleeping function called from invalid context at mm/slub.c:4126\n\
                       [ 5.0] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 51, name: sh\n";
        assert_eq!(scan(console)[0].kind, "sleep in atomic");
    }

    #[test]
    fn a_fault_is_named_only_at_the_start_of_a_message() {
        assert_eq!(
            scan("[ 3.0] general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1]\n")[0].kind,
            "Oops"
        );
        assert!(scan("[ 3.0] lkdtm: provoking a general protection fault\n").is_empty());
    }

    #[test]
    fn userspace_mentions_do_not_count() {
        let log = "ok 1 shrinkfs.no_WARNING\n# the test greps for BUG: lines\n";
        assert!(scan(log).is_empty());
    }

    #[test]
    fn warn_block_is_one_splat_with_its_stack() {
        let log = "\
[    5.0] ------------[ cut here ]------------
[    5.0] WARNING: CPU: 1 PID: 90 at fs/dcache.c:1622 umount_check+0x1/0x2
[    5.0] Modules linked in: shrinkfs(O)
[    5.0] Call Trace:
[    5.0]  <TASK>
[    5.0]  d_walk+0x1/0x2
[    5.0]  </TASK>
[    5.0] ---[ end trace 0000000000000000 ]---
[    5.1] random: crng init done
";
        let splats = scan(log);
        assert_eq!(splats.len(), 1);
        assert_eq!(splats[0].kind, "WARN");
        assert_eq!(splats[0].line, 2);
        assert!(splats[0].excerpt.iter().any(|l| l.contains("d_walk")));
        assert_eq!(splats[0].excerpt[0], splats[0].header);
        assert!(!splats[0].excerpt.iter().any(|l| l.contains("crng")));
    }

    #[test]
    fn a_warn_message_comes_with_its_report() {
        let log = "\
[ 4.7] ------------[ cut here ]------------
[ 4.7] shrinkfs: kill_sb with 1 dentries and 0 inodes alive
[ 4.7] WARNING: CPU: 0 PID: 41 at rust/vfs/helpers.c:87 shrinkfs_vfs_warn+0xf/0x20 [shrinkfs]
[ 4.7] ---[ end trace 0000000000000000 ]---
";
        let splats = scan(log);
        assert_eq!(splats.len(), 1);
        assert_eq!(splats[0].line, 3);
        assert_eq!(
            splats[0].excerpt[..2],
            [
                "shrinkfs: kill_sb with 1 dentries and 0 inodes alive",
                "WARNING: CPU: 0 PID: 41 at rust/vfs/helpers.c:87 shrinkfs_vfs_warn+0xf/0x20 [shrinkfs]"
            ]
        );
    }

    #[test]
    fn a_warn_right_after_a_header_belongs_to_it() {
        let log = "\
[ 1.0] BUG: Dentry 0000000012345678{i=2,n=d0}  still in use (1) [unmount of shrinkfs shrinkfs]
[ 1.0] WARNING: CPU: 0 PID: 1 at fs/dcache.c:1540 umount_check+0x1/0x2
[ 1.0] ---[ end trace 0000000000000000 ]---
[ 1.2] VFS: Busy inodes after unmount of shrinkfs (shrinkfs)
";
        let splats = scan(log);
        let kinds: Vec<_> = splats.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, vec!["dentry still in use", "busy inodes"]);
        assert!(splats[0].excerpt[1].contains("umount_check"));
    }
}
