//! Mutants: patches that break the kernel or the module on purpose, each
//! with the reports the rig must answer it with.
//!
//! A mutant's description says what it patches in a `Mutates:` line:
//! `kernel` (applied after the series, paths under the kernel tree) or
//! `module` (applied to a copy of the module's sources, paths `rust/...` or
//! `Kbuild`, built against the unmutated kernel).
//!
//! A mutant's description names them in `Expected-Splat:` lines, a splat
//! kind of the scanner and, after `~`, an optional pattern its header or a
//! line of its excerpt must match:
//!
//! ```text
//! Expected-Splat: KASAN
//! Expected-Splat: WARN ~ at fs/dcache\.c:\d+ dentry_free
//! ```
//!
//! A run is caught when one of its splats matches one of the lines; any
//! other failure (a timeout, a taint, an unexpected splat) is reported as
//! such, not counted as a catch.
//!
//! A mutant of an error path that leaves no splat, only a selftest that
//! fails, names that test instead (`make check MUTANT=...` shows it):
//!
//! ```text
//! Expected-Failure: faults_test faults.reaper_pass.every_allocation_failure
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use regex::Regex;

use crate::splat::{self, Splat};

const EXPECTED_SPLAT: &str = "Expected-Splat:";
const EXPECTED_FAILURE: &str = "Expected-Failure:";
const MUTATES: &str = "Mutates:";

/// What a mutant patches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The kernel, after the series.
    Kernel,
    /// The module's sources (`rust/`, `Kbuild`).
    Module,
}

impl Target {
    fn owns(self, path: &str) -> bool {
        let module = path == "Kbuild" || path.starts_with("rust/");
        module == (self == Target::Module)
    }
}

/// One report that counts as catching a mutant.
#[derive(Debug)]
pub struct ExpectedSplat {
    pub kind: &'static str,
    header: Option<Regex>,
}

impl ExpectedSplat {
    fn parse(value: &str) -> Result<Self> {
        let (kind, header) = match value.split_once('~') {
            Some((kind, header)) => (kind.trim(), Some(header.trim())),
            None => (value.trim(), None),
        };
        let Some(kind) = splat::kinds().find(|k| *k == kind) else {
            bail!(
                "unknown splat kind '{kind}' (known: {})",
                splat::kinds().collect::<Vec<_>>().join(", ")
            );
        };
        let header = header
            .map(|h| Regex::new(h).with_context(|| format!("pattern '{h}'")))
            .transpose()?;
        Ok(ExpectedSplat { kind, header })
    }

    /// Whether `splat` is of this kind and its report (the header or a line
    /// of its excerpt: a WARN's message follows its header) matches.
    pub fn matches(&self, splat: &Splat) -> bool {
        splat.kind == self.kind
            && self.header.as_ref().is_none_or(|h| {
                h.is_match(&splat.header) || splat.excerpt.iter().any(|l| h.is_match(l))
            })
    }
}

impl std::fmt::Display for ExpectedSplat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.header {
            Some(header) => write!(f, "{} ~ {header}", self.kind),
            None => f.write_str(self.kind),
        }
    }
}

/// A mutant patch and what must catch it.
#[derive(Debug)]
pub struct Mutant {
    pub name: String,
    pub path: PathBuf,
    pub target: Target,
    pub expected: Vec<ExpectedSplat>,
    /// Selftests whose failure catches it, as `program test`.
    pub failing_tests: Vec<String>,
}

impl Mutant {
    /// Reads `path`; fails at once on a missing file, a description with
    /// neither `Expected-Splat:` nor `Expected-Failure:`, or an unknown
    /// kind in it.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("reading mutant {}", path.display()))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("a mutant is a file")?
            .to_string();
        let (expected, failing_tests) =
            parse_expectations(&text).with_context(|| format!("mutant {name}"))?;
        let target = parse_target(&text).with_context(|| format!("mutant {name}"))?;
        Ok(Mutant {
            name,
            path: path.to_path_buf(),
            target,
            expected,
            failing_tests,
        })
    }

    /// The first splat that catches this mutant.
    pub fn catch<'a>(&self, splats: &'a [Splat]) -> Option<&'a Splat> {
        splats
            .iter()
            .find(|s| self.expected.iter().any(|e| e.matches(s)))
    }
}

/// The lines of a patch's description (before its diff).
fn description(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .take_while(|l| !l.starts_with("--- ") && !l.starts_with("diff "))
}

/// The one `Mutates:` line of a patch's description, checked against the
/// files its diff touches.
fn parse_target(text: &str) -> Result<Target> {
    let targets: Vec<&str> = description(text)
        .filter_map(|l| l.strip_prefix(MUTATES))
        .map(str::trim)
        .collect();
    let target = match targets.as_slice() {
        ["kernel"] => Target::Kernel,
        ["module"] => Target::Module,
        [] => bail!("its description has no `{MUTATES} kernel|module` line"),
        [one] => bail!("`{MUTATES} {one}`: a mutant patches the kernel or the module"),
        _ => bail!("its description has {} `{MUTATES}` lines", targets.len()),
    };
    let files = text
        .lines()
        .filter_map(|l| l.strip_prefix("--- a/"))
        .map(|l| l.split('\t').next().unwrap_or(l).trim_end());
    for file in files {
        if !target.owns(file) {
            bail!("it says `{MUTATES} {}` but patches {file}", targets[0]);
        }
    }
    Ok(target)
}

/// The `Expected-Splat:` and `Expected-Failure:` lines of a patch's
/// description (before its diff): at least one of either.
fn parse_expectations(text: &str) -> Result<(Vec<ExpectedSplat>, Vec<String>)> {
    let expected = description(text)
        .filter_map(|l| l.strip_prefix(EXPECTED_SPLAT))
        .map(ExpectedSplat::parse)
        .collect::<Result<Vec<_>>>()?;
    let failing_tests = description(text)
        .filter_map(|l| l.strip_prefix(EXPECTED_FAILURE))
        .map(
            |l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
                [program, test] => Ok(format!("{program} {test}")),
                _ => bail!("`{EXPECTED_FAILURE}{l}`: expected `<program> <test>`"),
            },
        )
        .collect::<Result<Vec<_>>>()?;
    if expected.is_empty() && failing_tests.is_empty() {
        bail!(
            "its description names no `{EXPECTED_SPLAT} <kind> [~ <header pattern>]` \
             or `{EXPECTED_FAILURE} <program> <test>` line"
        );
    }
    Ok((expected, failing_tests))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn splat(kind: &'static str, header: &str) -> Splat {
        Splat {
            kind,
            line: 1,
            header: header.to_string(),
            excerpt: vec![header.to_string()],
        }
    }

    const MUTANT: &str = "\
Mutant: frees what it does not own

Mutates: kernel
Expected-Splat: KASAN
Expected-Splat: WARN ~ at fs/dcache\\.c:\\d+ dentry_free
--- a/fs/dcache.c
+++ b/fs/dcache.c
+Expected-Splat: not part of the description
";

    #[test]
    fn reads_the_expected_splats_of_the_description() {
        let (expected, failing_tests) = parse_expectations(MUTANT).unwrap();
        assert!(failing_tests.is_empty());
        let shown: Vec<_> = expected.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["KASAN", "WARN ~ at fs/dcache\\.c:\\d+ dentry_free"]);
    }

    #[test]
    fn only_an_expected_splat_catches() {
        let mutant = Mutant {
            name: "m".into(),
            path: "m.patch".into(),
            target: Target::Kernel,
            expected: parse_expectations(MUTANT).unwrap().0,
            failing_tests: vec![],
        };
        let other_warn = splat(
            "WARN",
            "WARNING: CPU: 0 PID: 1 at fs/dcache.c:1658 umount_check",
        );
        let its_warn = splat(
            "WARN",
            "WARNING: CPU: 1 PID: 59 at fs/dcache.c:376 dentry_free+0xab/0xf0",
        );
        let kasan = splat("KASAN", "BUG: KASAN: slab-use-after-free in d_walk");
        assert!(mutant.catch(std::slice::from_ref(&other_warn)).is_none());
        assert_eq!(
            mutant.catch(&[other_warn.clone(), its_warn.clone()]),
            Some(&its_warn)
        );
        assert_eq!(mutant.catch(&[kasan.clone(), its_warn]), Some(&kasan));
    }

    #[test]
    fn a_description_without_expectations_or_with_a_typo_is_refused() {
        let none = parse_expectations("Mutant: x\n--- a/f\n+++ b/f\n").unwrap_err();
        assert!(format!("{none:#}").contains("names no `Expected-Splat:"));
        let typo = parse_expectations("Expected-Splat: KASN\n").unwrap_err();
        assert!(format!("{typo:#}").contains("unknown splat kind 'KASN'"));
        assert!(parse_expectations("Expected-Splat: WARN ~ (\n").is_err());
        let half = parse_expectations("Expected-Failure: faults_test\n").unwrap_err();
        assert!(format!("{half:#}").contains("expected `<program> <test>`"));
    }

    #[test]
    fn a_failing_selftest_may_be_the_expectation() {
        let text = "Mutant: m\n\nExpected-Failure: faults_test  faults.reaper_pass.x\n\
                    --- a/rust/shrinkfs.rs\n+Expected-Failure: a b\n";
        let (splats, tests) = parse_expectations(text).unwrap();
        assert!(splats.is_empty());
        assert_eq!(tests, ["faults_test faults.reaper_pass.x"]);
    }

    #[test]
    fn a_pattern_may_match_a_warns_message_below_its_header() {
        let expected = ExpectedSplat::parse("WARN ~ expiry: disposing").unwrap();
        let mut warn = splat(
            "WARN",
            "WARNING: CPU: 1 PID: 9 at rust/vfs/helpers.c:171 shrinkfs_vfs_warn+0x1/0x2",
        );
        assert!(!expected.matches(&warn));
        warn.excerpt
            .push("expiry: disposing of a dentry after its ->d_release".to_string());
        assert!(expected.matches(&warn));
    }

    #[test]
    fn a_mutant_names_what_it_patches_and_patches_only_that() {
        assert_eq!(Target::Kernel, parse_target(MUTANT).unwrap());
        let module = "Mutates: module\n--- a/rust/vfs/expiry_index.rs\n+++ b/x\n";
        assert_eq!(Target::Module, parse_target(module).unwrap());
        let kbuild = "Mutates: module\n--- a/Kbuild\t2026-01-01\n+++ b/Kbuild\n";
        assert_eq!(Target::Module, parse_target(kbuild).unwrap());
        let wrong = parse_target("Mutates: module\n--- a/fs/dcache.c\n").unwrap_err();
        assert!(format!("{wrong:#}").contains("says `Mutates: module` but patches fs/dcache.c"));
        let wrong = parse_target("Mutates: kernel\n--- a/rust/shrinkfs.rs\n").unwrap_err();
        assert!(format!("{wrong:#}").contains("patches rust/shrinkfs.rs"));
        let none = parse_target("Expected-Splat: KASAN\n--- a/f\n").unwrap_err();
        assert!(format!("{none:#}").contains("no `Mutates: kernel|module` line"));
        assert!(parse_target("Mutates: modul\n").is_err());
        assert!(parse_target("Mutates: kernel\nMutates: module\n").is_err());
    }

    #[test]
    fn every_shipped_mutant_reads() {
        // The torture's mutants, and those of error paths the selftests take.
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut seen = 0;
        for dir in ["qemu/mutants", "selftests/mutants"] {
            for entry in fs::read_dir(repo.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "patch") {
                    Mutant::read(&path).unwrap_or_else(|e| panic!("{e:#}"));
                    seen += 1;
                }
            }
        }
        assert!(seen >= 7);
    }
}
