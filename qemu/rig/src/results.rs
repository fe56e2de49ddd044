//! The guest's results channel (its second serial port): lines of the guest
//! init's protocol (`shrinkfs-rig: ...`) around the TAP output of each test
//! program.

use std::collections::BTreeMap;

use crate::protocol::{fact, BEGIN, DONE, END, PREFIX};

/// kselftest's exit code for "skipped".
const KSFT_SKIP: i32 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
}

/// One test program's run inside the guest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    pub plan: Option<usize>,
    pub cases: Vec<Case>,
    /// `None` when the program never finished (the guest died or hung).
    pub exit: Option<i32>,
    /// Diagnostic lines (`# ...`) and anything else it printed.
    pub output: Vec<String>,
}

impl Program {
    /// Problems with the program as a whole, beyond its failing cases.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.exit {
            None => problems.push(format!("{} did not finish", self.name)),
            Some(0) | Some(KSFT_SKIP) => {}
            // A failing case already explains a non-zero exit.
            Some(_) if self.cases.iter().any(|c| c.outcome == Outcome::Fail) => {}
            Some(code) => problems.push(format!("{} exited with status {code}", self.name)),
        }
        if let Some(plan) = self.plan {
            if self.exit.is_some() && plan != self.cases.len() {
                problems.push(format!(
                    "{} planned {plan} tests but reported {}",
                    self.name,
                    self.cases.len()
                ));
            }
        } else if self.exit.is_some() && self.exit != Some(KSFT_SKIP) && self.cases.is_empty() {
            problems.push(format!("{} printed no TAP plan", self.name));
        }
        problems
    }
}

/// Everything the guest reported.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub programs: Vec<Program>,
    /// `shrinkfs-rig: KEY VALUE...` facts, e.g. `debug_locks before` → `1`.
    pub facts: BTreeMap<String, String>,
    /// The guest init reached its end.
    pub done: bool,
}

impl Report {
    pub fn fact(&self, key: &str) -> Option<&str> {
        self.facts.get(key).map(String::as_str)
    }

    /// How many CPUs the guest had online as its init started, from
    /// `/sys/devices/system/cpu/online`.
    pub fn cpus_online(&self) -> Option<u32> {
        cpulist_len(self.fact(fact::CPUS_ONLINE)?)
    }
}

/// The number of CPUs in a kernel cpulist (`0-3,5,7-8`); `None` if it is
/// not one.
pub fn cpulist_len(list: &str) -> Option<u32> {
    let list = list.trim();
    if list.is_empty() {
        return None;
    }
    list.split(',').try_fold(0, |sum, range| {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (first, last): (u32, u32) = (first.parse().ok()?, last.parse().ok()?);
        (first <= last).then(|| sum + last - first + 1)
    })
}

/// Parses a TAP result line: `ok 3 name # SKIP why` or `not ok 4 - name`.
fn parse_case(line: &str) -> Option<Case> {
    let (passed, rest) = if let Some(rest) = line.strip_prefix("ok ") {
        (true, rest)
    } else {
        (false, line.strip_prefix("not ok ")?)
    };
    let (number, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    number.parse::<usize>().ok()?;
    let (name, directive) = match rest.split_once(" # ") {
        Some((name, directive)) => (name, Some(directive.trim())),
        None => (rest, None),
    };
    let name = name.trim().trim_start_matches("- ").to_string();
    let outcome = match directive {
        Some(d) if d.len() >= 4 && d[..4].eq_ignore_ascii_case("skip") => {
            Outcome::Skip(d[4..].trim().to_string())
        }
        // A TODO test is expected to fail and does not count against the run.
        Some(d) if d.len() >= 4 && d[..4].eq_ignore_ascii_case("todo") => {
            Outcome::Skip(d.to_string())
        }
        _ if passed => Outcome::Pass,
        _ => Outcome::Fail,
    };
    Some(Case { name, outcome })
}

/// Parses a `1..N` plan line.
fn parse_plan(line: &str) -> Option<usize> {
    line.strip_prefix("1..")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub fn parse(text: &str) -> Report {
    let mut report = Report::default();
    let mut current: Option<Program> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(proto) = line.strip_prefix(PREFIX) {
            let mut words = proto.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(BEGIN), Some(name), _) => {
                    report.programs.extend(current.take());
                    current = Some(Program {
                        name: name.to_string(),
                        ..Program::default()
                    });
                }
                (Some(END), Some(name), Some(code)) => {
                    if let Some(mut program) = current.take() {
                        if program.name == name {
                            program.exit = code.parse().ok();
                        }
                        report.programs.push(program);
                    }
                }
                (Some(DONE), _, _) => report.done = true,
                (Some(key), Some(_), _) => {
                    let rest: Vec<&str> = proto.split_whitespace().collect();
                    // `debug_locks before 1` → key `debug_locks before`.
                    let (k, v) = match rest.len() {
                        2 => (rest[0].to_string(), rest[1].to_string()),
                        _ => (format!("{key} {}", rest[1]), rest[2..].join(" ")),
                    };
                    report.facts.insert(k, v);
                }
                _ => {}
            }
            continue;
        }
        let Some(program) = current.as_mut() else {
            continue;
        };
        let trimmed = line.trim_start();
        if let Some(case) = parse_case(trimmed) {
            program.cases.push(case);
        } else if let Some(plan) = parse_plan(trimmed) {
            program.plan.get_or_insert(plan);
        } else if !line.is_empty() && !line.starts_with("TAP version") {
            program.output.push(line.to_string());
        }
    }
    report.programs.extend(current);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
shrinkfs-rig: guest up 6.12.117
shrinkfs-rig: debug_locks before 1
shrinkfs-rig: begin mount_test\r
TAP version 13\r
1..3\r
# Starting 3 tests from 1 test cases.\r
#  RUN           shrinkfs.mounts ...\r
ok 1 shrinkfs.mounts\r
not ok 2 shrinkfs.stats\r
ok 3 shrinkfs.reaper # SKIP kernel does not export dput_to_list\r
# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0\r
shrinkfs-rig: end mount_test 1
shrinkfs-rig: begin crashes
TAP version 13
1..2
ok 1 crashes.first
shrinkfs-rig: debug_locks after 0
";

    #[test]
    fn parses_programs_cases_and_facts() {
        let report = parse(SAMPLE);
        assert_eq!(report.fact("debug_locks before"), Some("1"));
        assert_eq!(report.fact("debug_locks after"), Some("0"));
        assert_eq!(report.fact("guest up"), Some("6.12.117"));
        assert!(!report.done);
        let first = &report.programs[0];
        assert_eq!(first.name, "mount_test");
        assert_eq!(first.plan, Some(3));
        assert_eq!(first.exit, Some(1));
        let outcomes: Vec<_> = first.cases.iter().map(|c| c.outcome.clone()).collect();
        assert_eq!(
            outcomes,
            vec![
                Outcome::Pass,
                Outcome::Fail,
                Outcome::Skip("kernel does not export dput_to_list".into())
            ]
        );
        // The failing case explains the non-zero exit; nothing else is wrong.
        assert!(first.problems().is_empty());
    }

    #[test]
    fn an_unfinished_program_is_a_problem() {
        let report = parse(SAMPLE);
        let second = &report.programs[1];
        assert_eq!(second.exit, None);
        assert_eq!(second.problems(), vec!["crashes did not finish"]);
    }

    #[test]
    fn short_plans_and_silent_failures_are_problems() {
        let text = "shrinkfs-rig: begin t\n1..2\nok 1 a\nshrinkfs-rig: end t 0\n\
                    shrinkfs-rig: begin u\nshrinkfs-rig: end u 139\nshrinkfs-rig: done\n";
        let report = parse(text);
        assert!(report.done);
        assert_eq!(
            report.programs[0].problems(),
            vec!["t planned 2 tests but reported 1"]
        );
        assert_eq!(
            report.programs[1].problems(),
            vec!["u exited with status 139", "u printed no TAP plan"]
        );
    }

    #[test]
    fn cpulists_count_their_cpus() {
        assert_eq!(cpulist_len("0"), Some(1));
        assert_eq!(cpulist_len("0-1\n"), Some(2));
        assert_eq!(cpulist_len("0-3,5,7-8"), Some(7));
        assert_eq!(cpulist_len(""), None);
        assert_eq!(cpulist_len("3-1"), None);
        assert_eq!(cpulist_len("0-x"), None);
        let report = parse("shrinkfs-rig: cpus online 0-1\n");
        assert_eq!(report.cpus_online(), Some(2));
    }

    #[test]
    fn case_names_drop_the_dash() {
        assert_eq!(parse_case("ok 7 - x").unwrap().name, "x");
        assert!(parse_case("ok x").is_none());
        assert!(parse_case("# ok 1 x").is_none());
    }
}
