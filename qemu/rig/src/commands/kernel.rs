//! `kernel` and `patches-check`: a guest kernel built or found in the cache,
//! and the series checked patch by patch.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{begin_ktap, summarise};
use crate::kernel;
use crate::verdict::Check;

#[derive(Args)]
pub struct KernelArgs {
    /// `patched` (the series applied) or `stock`.
    #[arg(long, default_value = "patched")]
    variant: kernel::Variant,
    /// An extra patch applied after the series (e.g. a mutant), built as its
    /// own variant from the build without it; repeatable.
    #[arg(long = "patch")]
    extra_patches: Vec<PathBuf>,
    /// A 6.12.y git checkout to build instead of Debian's linux-source-6.12.
    #[arg(long)]
    ksrc: Option<PathBuf>,
    /// Where kernel builds are cached.
    #[arg(long)]
    cache: PathBuf,
    /// The project checkout (for `patches/` and `qemu/config/`).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    #[arg(long, default_value_t = 3)]
    jobs: usize,
}

impl KernelArgs {
    fn request(self) -> kernel::Request {
        kernel::Request {
            source: match self.ksrc {
                Some(tree) => kernel::Source::Git(tree),
                None => kernel::Source::Debian,
            },
            repo: self.repo,
            cache: self.cache,
            variant: self.variant,
            extra_patches: self.extra_patches,
            jobs: self.jobs,
        }
    }
}

/// Prints the build directory of the requested kernel, built if need be.
pub fn kernel(args: KernelArgs) -> Result<ExitCode> {
    let built = kernel::ensure(&args.request())?;
    eprintln!("kernel: {}", built.version);
    println!("{}", built.build_dir.display());
    Ok(ExitCode::SUCCESS)
}

/// checkpatch's verdict and a build after each patch of the series, each
/// patch grown incrementally from the stock kernel. A build that fails
/// fails its own line and those after it; checkpatch still judges every
/// patch.
pub fn patches_check(args: KernelArgs) -> Result<ExitCode> {
    let patches = kernel::series(&args.repo.join("patches"))?;
    if patches.is_empty() {
        bail!("patches/series lists no patches");
    }
    begin_ktap();
    let mut req = args.request();
    req.variant = kernel::Variant::Stock;
    req.extra_patches = patches.clone();
    let mut checks = Vec::new();
    let chain = kernel::build_chain(&req)?;
    for (i, patch) in patches.iter().enumerate() {
        let name = patch.file_name().unwrap_or_default().to_string_lossy();
        let built = build_step(&chain, i + 1);
        checks.push(Check::new(
            format!("kernel builds after {name}"),
            built.is_ok(),
            match built {
                Ok(k) => k.build_dir.display().to_string(),
                Err(why) => why,
            },
        ));
        checks.push(checkpatch(&chain.base_tree, patch, &name)?);
    }
    if let Some(e) = &chain.failure {
        eprintln!("patches-check: {e:#}");
    }
    Ok(summarise(&checks))
}

/// Step `step` of the chain (0: the base), or why it was not built.
fn build_step(chain: &kernel::Chain, step: usize) -> Result<&kernel::Kernel, String> {
    if let Some(kernel) = chain.built.get(step) {
        return Ok(kernel);
    }
    match &chain.failure {
        Some(e) if step == chain.built.len() => Err(format!("{e:#}")),
        Some(_) if chain.built.is_empty() => Err("not built: the stock kernel failed".into()),
        Some(_) => Err(format!(
            "not built: the build after patch {} failed",
            chain.built.len() - 1
        )),
        None => Err("not built".into()),
    }
}

/// checkpatch --strict on one patch, run from the kernel tree: it leaves
/// its `.checkpatch-camelcase.*` cache in the working directory.
fn checkpatch(tree: &Path, patch: &Path, name: &str) -> Result<Check> {
    let label = format!("checkpatch --strict {name}");
    let script = tree.join("scripts/checkpatch.pl");
    if !script.is_file() {
        return Ok(Check::new(
            label,
            false,
            format!(
                "no {}: the stock kernel's source was not extracted",
                script.display()
            ),
        ));
    }
    let patch = fs::canonicalize(patch).with_context(|| format!("{}", patch.display()))?;
    let output = Command::new("perl")
        .arg(&script)
        .args(["--strict", "--no-tree", "--show-types"])
        .arg(&patch)
        .current_dir(tree)
        .output()
        .context("running checkpatch.pl")?;
    let report = String::from_utf8_lossy(&output.stdout);
    Ok(Check::new(
        label,
        output.status.success() && report.contains("total: 0 errors, 0 warnings, 0 checks"),
        report.trim().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(name: &str) -> kernel::Kernel {
        kernel::Kernel {
            build_dir: PathBuf::from(name),
            version: String::new(),
        }
    }

    #[test]
    fn a_failed_build_fails_its_step_and_those_after_it() {
        let chain = kernel::Chain {
            built: vec![kernel("stock"), kernel("+1")],
            failure: Some(anyhow::anyhow!("build failed (exit status: 2)")),
            base_tree: PathBuf::from("stock"),
        };
        assert_eq!(
            build_step(&chain, 1).unwrap().build_dir,
            PathBuf::from("+1")
        );
        assert_eq!(
            build_step(&chain, 2).unwrap_err(),
            "build failed (exit status: 2)"
        );
        assert_eq!(
            build_step(&chain, 3).unwrap_err(),
            "not built: the build after patch 1 failed"
        );
    }

    #[test]
    fn checkpatch_without_a_tree_is_a_failed_check_not_a_skip() {
        let check = checkpatch(Path::new("/nonexistent-tree"), Path::new("x.patch"), "x").unwrap();
        assert_eq!(check.status, crate::verdict::Status::Failed);
        assert!(check.detail.contains("checkpatch.pl"), "{}", check.detail);
    }
}
