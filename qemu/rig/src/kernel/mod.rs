//! Guest kernels: Debian's 6.12 source (or a user's git tree), the series,
//! optional extra patches (mutants) and a config merged from `qemu/config/`
//! fragments, built with `LLVM=1` and cached outside the checkout under a key
//! that hashes all of those inputs.

mod build;
mod config;
mod lock;

pub use build::patch_tree;
pub use config::require_debug_config;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// Debian's `linux-source-6.12` package puts its tarball here.
const DEBIAN_TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";
const DEBIAN_PACKAGE: &str = "linux-source-6.12";

/// Which kernel to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    /// The series applied, debug config (KASAN, lockdep, ...).
    Patched,
    /// No series, debug config: the baseline the series is judged against.
    Stock,
    /// The series applied, benchmark config (no KASAN, no lockdep).
    PatchedPerf,
    /// No series, benchmark config.
    StockPerf,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Patched => "patched",
            Variant::Stock => "stock",
            Variant::PatchedPerf => "patched-perf",
            Variant::StockPerf => "stock-perf",
        }
    }

    fn applies_series(self) -> bool {
        matches!(self, Variant::Patched | Variant::PatchedPerf)
    }

    /// Built with KASAN and lockdep, so a guest must show them armed.
    pub fn is_debug(self) -> bool {
        matches!(self, Variant::Patched | Variant::Stock)
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the kernel source comes from.
pub enum Source {
    /// Debian's `linux-source-6.12` tarball.
    Debian,
    /// The committed `HEAD` of a user's 6.12.y git checkout.
    Git(PathBuf),
}

impl Source {
    /// A string that changes whenever the source does.
    fn identity(&self) -> Result<String> {
        match self {
            Source::Debian => {
                let version = debian_package_version()?;
                Ok(format!("{DEBIAN_PACKAGE} {version}"))
            }
            Source::Git(tree) => {
                let head = capture(
                    Command::new("git")
                        .arg("-C")
                        .arg(tree)
                        .args(["rev-parse", "HEAD"]),
                )
                .with_context(|| format!("KSRC={} is not a git checkout", tree.display()))?;
                Ok(format!("git {head}"))
            }
        }
    }
}

/// Everything that decides which kernel gets built.
pub struct Request {
    pub repo: PathBuf,
    pub cache: PathBuf,
    pub source: Source,
    pub variant: Variant,
    /// Patches applied after the series, each built incrementally from the
    /// build before it (a mutant; or the series itself, patch by patch).
    pub extra_patches: Vec<PathBuf>,
    pub jobs: usize,
}

/// A finished kernel build.
#[derive(Debug)]
pub struct Kernel {
    /// The kernel build directory (`O=`), what out-of-tree modules call `KDIR`.
    pub build_dir: PathBuf,
    /// `uname -r` of the kernel and where its source came from.
    pub version: String,
}

/// The inputs of one build, each as (label, content), in a fixed order.
struct Inputs {
    parts: Vec<(String, Vec<u8>)>,
    patches: Vec<PathBuf>,
    fragments: Vec<PathBuf>,
}

impl Inputs {
    fn gather(req: &Request) -> Result<Self> {
        let mut parts = vec![("source".to_string(), req.source.identity()?.into_bytes())];
        parts.push(("toolchain".to_string(), toolchain_identity()?.into_bytes()));
        let config_dir = req.repo.join("qemu/config");
        let fragments: Vec<PathBuf> = req
            .variant
            .fragments()
            .iter()
            .map(|f| config_dir.join(f))
            .collect();
        for fragment in &fragments {
            let content = fs::read(fragment)
                .with_context(|| format!("reading config fragment {}", fragment.display()))?;
            parts.push((format!("fragment {}", file_name(fragment)), content));
        }
        let mut inputs = Inputs {
            parts,
            patches: Vec::new(),
            fragments,
        };
        if req.variant.applies_series() {
            for patch in series(&req.repo.join("patches"))? {
                inputs.add_patch(&patch)?;
            }
        }
        Ok(inputs)
    }

    fn add_patch(&mut self, patch: &Path) -> Result<()> {
        let content =
            fs::read(patch).with_context(|| format!("reading patch {}", patch.display()))?;
        self.parts
            .push(("patch".to_string(), patch_code(&content).to_vec()));
        self.patches.push(patch.to_path_buf());
        Ok(())
    }

    fn key(&self) -> String {
        let mut hasher = Sha256::new();
        for (label, content) in &self.parts {
            hasher.update(label.as_bytes());
            hasher.update((content.len() as u64).to_le_bytes());
            hasher.update(content);
        }
        hasher.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The part of a patch that `patch` applies: from its first diff header to the
/// end, without a trailing `git format-patch` signature. Commit messages and
/// diffstats stay out of the cache key, so rewording a patch (say, to quote
/// the benchmark it was measured with) does not rebuild the kernel.
fn patch_code(content: &[u8]) -> &[u8] {
    let mut start = None;
    let mut offset = 0;
    let mut previous: &[u8] = b"";
    for line in content.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"diff ") {
            start = Some(offset);
            break;
        }
        if line.starts_with(b"+++ ") && previous.starts_with(b"--- ") {
            start = Some(offset - previous.len());
            break;
        }
        previous = line;
        offset += line.len();
    }
    let Some(start) = start else {
        return content;
    };
    let code = &content[start..];
    match code.windows(5).rposition(|w| w == b"\n-- \n") {
        Some(end)
            if code[end + 5..]
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count()
                <= 1 =>
        {
            &code[..end + 1]
        }
        _ => code,
    }
}

/// The patch files `patches/series` lists, in order. Blank lines and `#`
/// comments are skipped; a missing series file means an empty series.
pub fn series(patch_dir: &Path) -> Result<Vec<PathBuf>> {
    let series_file = patch_dir.join("series");
    let text = match fs::read_to_string(&series_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(format!("reading {}", series_file.display())),
    };
    Ok(parse_series(&text)
        .into_iter()
        .map(|name| patch_dir.join(name))
        .collect())
}

fn parse_series(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .collect()
}

/// Builds the requested kernel unless the cache already holds it; with extra
/// patches, also every step of the chain from the base to the last of them.
pub fn ensure(req: &Request) -> Result<Kernel> {
    ensure_chain(req).map(|mut chain| chain.pop().expect("a chain holds its base"))
}

/// A chain of builds as far as it got.
pub struct Chain {
    /// The base build, then one per extra patch, up to the first failure.
    pub built: Vec<Kernel>,
    /// Why the chain stopped short, if it did.
    pub failure: Option<anyhow::Error>,
    /// The base's source tree, extracted and patched even if its build
    /// failed (not if its extraction did).
    pub base_tree: PathBuf,
}

/// The base build, then one build per extra patch, each from the one before.
pub fn ensure_chain(req: &Request) -> Result<Vec<Kernel>> {
    let chain = build_chain(req)?;
    match chain.failure {
        Some(e) => Err(e),
        None => Ok(chain.built),
    }
}

/// Builds the chain as far as it goes; fails only if its inputs are bad.
pub fn build_chain(req: &Request) -> Result<Chain> {
    // A mistyped path fails now, not after the base build.
    for patch in &req.extra_patches {
        if !patch.is_file() {
            bail!("no patch file at {}", patch.display());
        }
    }
    let mut inputs = Inputs::gather(req)?;
    let mut dir = req.cache.join(format!("{}-{}", req.variant, inputs.key()));
    let mut chain = Chain {
        built: vec![],
        failure: None,
        base_tree: dir.clone(),
    };
    match build::build_tree(req, &inputs, &dir, None) {
        Ok(kernel) => chain.built.push(kernel),
        Err(e) => chain.failure = Some(e),
    }
    for patch in &req.extra_patches {
        if chain.failure.is_some() {
            break;
        }
        inputs.add_patch(patch)?;
        let stem = file_name(patch)
            .trim_end_matches(".patch")
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
        let next = req
            .cache
            .join(format!("{}+{}-{}", req.variant, stem, inputs.key()));
        match build::build_tree(req, &inputs, &next, Some((&dir, patch))) {
            Ok(kernel) => chain.built.push(kernel),
            Err(e) => chain.failure = Some(e),
        }
        dir = next;
    }
    Ok(chain)
}

fn debian_package_version() -> Result<String> {
    capture(Command::new("dpkg-query").args(["-W", "-f=${Version}", DEBIAN_PACKAGE]))
        .with_context(|| format!("package {DEBIAN_PACKAGE} is not installed: run `make setup`"))
}

fn toolchain_identity() -> Result<String> {
    let rustc = capture(Command::new("rustc").arg("--version"))?;
    let clang = capture(Command::new("clang").arg("--version"))?;
    let clang = clang.lines().next().unwrap_or_default().to_string();
    Ok(format!("{rustc}\n{clang}"))
}

/// Runs a command and returns its trimmed stdout, failing on a non-zero exit.
pub fn capture(cmd: &mut Command) -> Result<String> {
    let output = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !output.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str =
        "diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";

    #[test]
    fn patch_code_ignores_the_message_and_the_signature() {
        let first =
            format!("From x\nSubject: one\n\nWhy.\n---\n f | 2 +-\n\n{DIFF}-- \n2.47.3\n\n");
        let reworded = format!("From y\nSubject: two\n\nWhy, with figures.\n---\n{DIFF}");
        assert_eq!(patch_code(first.as_bytes()), DIFF.as_bytes());
        assert_eq!(patch_code(reworded.as_bytes()), DIFF.as_bytes());
    }

    #[test]
    fn patch_code_of_a_plain_diff_starts_at_its_headers() {
        let mutant = "What it breaks.\n---\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(
            patch_code(mutant.as_bytes()),
            b"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
        );
        assert_eq!(patch_code(b"no diff at all\n"), b"no diff at all\n");
    }

    #[test]
    fn patch_code_keeps_a_change_to_the_code() {
        let changed = DIFF.replace("+b", "+c");
        assert_ne!(patch_code(changed.as_bytes()), patch_code(DIFF.as_bytes()));
    }

    #[test]
    fn series_skips_comments_and_blank_lines() {
        let text = "# the series\n0001-a.patch\n\n  0002-b.patch  # why\n";
        assert_eq!(parse_series(text), vec!["0001-a.patch", "0002-b.patch"]);
    }

    #[test]
    fn variant_parses_known_names_only() {
        use clap::ValueEnum;
        assert_eq!(Variant::from_str("stock", false), Ok(Variant::Stock));
        assert_eq!(
            Variant::from_str("patched-perf", false),
            Ok(Variant::PatchedPerf)
        );
        assert!(!Variant::StockPerf.is_debug());
        assert!(Variant::from_str("perf", false).is_err());
        // Each variant's cache dir name is what the command line calls it.
        for v in Variant::value_variants() {
            assert_eq!(v.to_possible_value().unwrap().get_name(), v.name());
        }
    }
}
