//! The rig's verdict as KTAP v1 (Documentation/dev-tools/ktap.rst), so any
//! TAP consumer reads a run's stdout.
//!
//! The version line opens a command's stdout. Everything printed while the
//! guests run (the guests' own TAP echoed live, progress) is a `# `
//! diagnostic line; the plan and the numbered results follow once every
//! check is known. A command does not know its number of checks before its
//! last boot is judged, and KTAP wants the plan before the first result,
//! hence results at the end. The guests' TAP is not nested as subtests: it
//! arrives before the rig has judged anything, a crashed guest leaves it cut
//! off mid-plan (which would make the whole stream unparsable), and each of
//! its cases already becomes one of the rig's own numbered results.

use crate::verdict::{Check, Status};

pub const VERSION_LINE: &str = "KTAP version 1";

/// A line of free text as a diagnostic line.
pub fn diagnostic(text: &str) -> String {
    if text.is_empty() {
        "#".to_string()
    } else {
        format!("# {text}")
    }
}

/// The plan, one result line per check (a failure's details as diagnostic
/// lines under it) and the `# Totals:` line kselftest prints.
pub fn render(checks: &[Check]) -> Vec<String> {
    let mut lines = vec![format!("1..{}", checks.len())];
    for (index, check) in checks.iter().enumerate() {
        let number = index + 1;
        // A `#` in a description would start a directive.
        let name = check.name.replace('#', "_");
        let (first, rest) = check.detail.split_once('\n').unwrap_or((&check.detail, ""));
        let (result, details) = match check.status {
            Status::Passed => (format!("ok {number} {name}"), ""),
            Status::Failed => (format!("not ok {number} {name}"), check.detail.as_str()),
            Status::Skipped => (format!("ok {number} {name} # SKIP {first}"), rest),
            Status::KnownFailure => (
                format!("not ok {number} {name} # TODO known bug: {first}"),
                rest,
            ),
        };
        lines.push(result);
        lines.extend(details.lines().map(|l| diagnostic(&format!("  {l}"))));
    }
    lines.push(totals(checks));
    lines
}

/// `# Totals: pass:P fail:F xfail:X xpass:0 skip:S error:0`; a known
/// failure is an expected failure, and one that passes is already a
/// failure of its own check, so there is never an unexpected pass.
fn totals(checks: &[Check]) -> String {
    let count = |status: Status| checks.iter().filter(|c| c.status == status).count();
    format!(
        "# Totals: pass:{} fail:{} xfail:{} xpass:0 skip:{} error:0",
        count(Status::Passed),
        count(Status::Failed),
        count(Status::KnownFailure),
        count(Status::Skipped),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    /// What a KTAP consumer makes of a stream: the plan, the results'
    /// numbers and outcomes, the totals; any line of no known shape fails.
    struct Parsed {
        plan: usize,
        results: Vec<(bool, usize, Option<String>)>,
        totals: Option<String>,
    }

    fn parse_ktap(lines: &[String]) -> Parsed {
        let result = Regex::new(r"^(ok|not ok) (\d+) [^#]+?(?: # (SKIP|TODO)\b.*)?$").unwrap();
        let plan = Regex::new(r"^1\.\.(\d+)$").unwrap();
        assert_eq!(lines.first().map(String::as_str), Some(VERSION_LINE));
        let mut parsed = Parsed {
            plan: 0,
            results: vec![],
            totals: None,
        };
        let mut seen_plan = false;
        for line in &lines[1..] {
            if let Some(c) = plan.captures(line) {
                assert!(!seen_plan && parsed.results.is_empty(), "late plan: {line}");
                seen_plan = true;
                parsed.plan = c[1].parse().unwrap();
            } else if let Some(c) = result.captures(line) {
                assert!(seen_plan, "a result before the plan: {line}");
                let directive = c.get(3).map(|d| d.as_str().to_string());
                parsed
                    .results
                    .push((&c[1] == "ok", c[2].parse().unwrap(), directive));
            } else if let Some(totals) = line.strip_prefix("# Totals: ") {
                parsed.totals = Some(totals.to_string());
            } else {
                assert!(line == "#" || line.starts_with("# "), "not KTAP: {line:?}");
            }
        }
        parsed
    }

    fn check(name: &str, status: Status, detail: &str) -> Check {
        Check {
            name: name.to_string(),
            status,
            detail: detail.to_string(),
        }
    }

    #[test]
    fn a_run_renders_as_ktap_with_a_plan_and_totals() {
        let checks = vec![
            check("guest ran to its end", Status::Passed, ""),
            check(
                "no kernel splat",
                Status::Failed,
                "1 splat(s)\n    BUG: KASAN",
            ),
            check("t: f.skipped", Status::Skipped, "no KVM\nat all"),
            check("liveness_test: l.dying", Status::KnownFailure, "spins"),
            check("a # in a name", Status::Passed, ""),
        ];
        let mut stream = vec![VERSION_LINE.to_string(), diagnostic("TAP version 13")];
        stream.extend(render(&checks));
        let parsed = parse_ktap(&stream);
        assert_eq!(parsed.plan, checks.len());
        let numbers: Vec<usize> = parsed.results.iter().map(|r| r.1).collect();
        assert_eq!(numbers, (1..=checks.len()).collect::<Vec<_>>());
        assert_eq!(parsed.results[1], (false, 2, None));
        assert_eq!(parsed.results[2], (true, 3, Some("SKIP".to_string())));
        assert_eq!(parsed.results[3], (false, 4, Some("TODO".to_string())));
        assert_eq!(
            parsed.totals.as_deref(),
            Some("pass:2 fail:1 xfail:1 xpass:0 skip:1 error:0")
        );
        assert!(stream.contains(&"not ok 4 liveness_test: l.dying # TODO known bug: spins".into()));
        assert!(stream.contains(&"#       BUG: KASAN".to_string()));
    }

    #[test]
    fn no_checks_is_an_empty_plan() {
        let mut stream = vec![VERSION_LINE.to_string()];
        stream.extend(render(&[]));
        let parsed = parse_ktap(&stream);
        assert_eq!((parsed.plan, parsed.results.len()), (0, 0));
        assert_eq!(
            parsed.totals.as_deref(),
            Some("pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0")
        );
    }
}
