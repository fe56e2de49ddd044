//! Mutants: patches that break the kernel on purpose, each with the reports
//! the rig must answer it with.
//!
//! A mutant's description names them in `Expected-Splat:` lines, a splat
//! kind of the scanner and, after `~`, an optional pattern its header must
//! match:
//!
//! ```text
//! Expected-Splat: KASAN
//! Expected-Splat: WARN ~ at fs/dcache\.c:\d+ dentry_free
//! ```
//!
//! A run is caught when one of its splats matches one of the lines; any
//! other failure (a timeout, a taint, an unexpected splat) is reported as
//! such, not counted as a catch.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use regex::Regex;

use crate::splat::{self, Splat};

const EXPECTED_SPLAT: &str = "Expected-Splat:";

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

    pub fn matches(&self, splat: &Splat) -> bool {
        splat.kind == self.kind
            && self
                .header
                .as_ref()
                .is_none_or(|h| h.is_match(&splat.header))
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
    pub expected: Vec<ExpectedSplat>,
}

impl Mutant {
    /// Reads `path`; fails at once on a missing file, a description without
    /// `Expected-Splat:` or an unknown kind in it.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("reading mutant {}", path.display()))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("a mutant is a file")?
            .to_string();
        let expected = parse_expected(&text).with_context(|| format!("mutant {name}"))?;
        Ok(Mutant {
            name,
            path: path.to_path_buf(),
            expected,
        })
    }

    /// The first splat that catches this mutant.
    pub fn catch<'a>(&self, splats: &'a [Splat]) -> Option<&'a Splat> {
        splats
            .iter()
            .find(|s| self.expected.iter().any(|e| e.matches(s)))
    }
}

/// The `Expected-Splat:` lines of a patch's description (before its diff).
fn parse_expected(text: &str) -> Result<Vec<ExpectedSplat>> {
    let expected = text
        .lines()
        .take_while(|l| !l.starts_with("--- ") && !l.starts_with("diff "))
        .filter_map(|l| l.strip_prefix(EXPECTED_SPLAT))
        .map(ExpectedSplat::parse)
        .collect::<Result<Vec<_>>>()?;
    if expected.is_empty() {
        bail!("its description names no `{EXPECTED_SPLAT} <kind> [~ <header pattern>]` line");
    }
    Ok(expected)
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

Expected-Splat: KASAN
Expected-Splat: WARN ~ at fs/dcache\\.c:\\d+ dentry_free
--- a/fs/dcache.c
+++ b/fs/dcache.c
+Expected-Splat: not part of the description
";

    #[test]
    fn reads_the_expected_splats_of_the_description() {
        let expected = parse_expected(MUTANT).unwrap();
        let shown: Vec<_> = expected.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["KASAN", "WARN ~ at fs/dcache\\.c:\\d+ dentry_free"]);
    }

    #[test]
    fn only_an_expected_splat_catches() {
        let mutant = Mutant {
            name: "m".into(),
            path: "m.patch".into(),
            expected: parse_expected(MUTANT).unwrap(),
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
        let none = parse_expected("Mutant: x\n--- a/f\n+++ b/f\n").unwrap_err();
        assert!(format!("{none:#}").contains("names no `Expected-Splat:"));
        let typo = parse_expected("Expected-Splat: KASN\n").unwrap_err();
        assert!(format!("{typo:#}").contains("unknown splat kind 'KASN'"));
        assert!(parse_expected("Expected-Splat: WARN ~ (\n").is_err());
    }

    #[test]
    fn every_shipped_mutant_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mutants");
        let mut seen = 0;
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "patch") {
                Mutant::read(&path).unwrap_or_else(|e| panic!("{e:#}"));
                seen += 1;
            }
        }
        assert!(seen >= 4);
    }
}
