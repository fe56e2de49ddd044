//! The rig's commands, one module each: its arguments and what it runs.

pub mod bench;
pub mod boot_time;
pub mod check;
pub mod fuzz;
pub mod kernel;
pub mod merge;
pub mod mutant_check;
pub mod scan;
pub mod torture;
pub mod vm;

use std::process::ExitCode;

use crate::ktap;
use crate::verdict::{self, Check};

/// Opens a command's stdout as a KTAP stream; everything but the verdict
/// printed after it must be a `ktap::diagnostic` line.
pub fn begin_ktap() {
    println!("{}", ktap::VERSION_LINE);
}

/// Prints the checks as KTAP, then the closing line, and turns the checks
/// into an exit code.
pub fn summarise(checks: &[Check]) -> ExitCode {
    for line in verdict_lines(checks) {
        println!("{line}");
    }
    exit_code(checks)
}

/// Success if no check failed.
pub fn exit_code(checks: &[Check]) -> ExitCode {
    if verdict::tally(checks).1 == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The plan, the results, the totals, and last the `N passed, N failed`
/// line CI greps for (to KTAP, an unknown line, which it allows).
pub fn verdict_lines(checks: &[Check]) -> Vec<String> {
    let mut lines = ktap::render(checks);
    lines.push(verdict::summary(checks));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Status;

    #[test]
    fn the_closing_line_follows_the_totals_as_ci_greps_it() {
        let checks = vec![
            Check::new("a", true, ""),
            Check::new("b", false, "why"),
            Check {
                name: "c".into(),
                status: Status::KnownFailure,
                detail: "bug".into(),
            },
        ];
        let lines = verdict_lines(&checks);
        let ci = regex::Regex::new(r"^[0-9]+ passed, [0-9]+ failed").unwrap();
        assert_eq!(
            lines.last().map(String::as_str),
            Some("1 passed, 1 failed, 0 skipped, 1 known failures")
        );
        assert_eq!(lines.iter().filter(|l| ci.is_match(l)).count(), 1);
        assert!(lines[lines.len() - 2].starts_with("# Totals: pass:1 fail:1 xfail:1 "));
    }
}
