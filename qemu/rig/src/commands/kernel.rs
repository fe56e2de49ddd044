//! `kernel` and `patches-check`: a guest kernel built or found in the cache,
//! and the series checked patch by patch.

use std::path::PathBuf;
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
/// patch grown incrementally from the stock kernel.
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
    let chain = kernel::ensure_chain(&req);
    let stock_tree = match &chain {
        Ok(chain) => chain[0].build_dir.join("source"),
        Err(_) => PathBuf::new(),
    };
    for (i, patch) in patches.iter().enumerate() {
        let name = patch.file_name().unwrap_or_default().to_string_lossy();
        let built = match &chain {
            Ok(chain) => Ok(&chain[i + 1]),
            Err(e) => Err(e),
        };
        checks.push(Check::new(
            format!("kernel builds after {name}"),
            built.is_ok(),
            match built {
                Ok(k) => k.build_dir.display().to_string(),
                Err(e) => format!("{e:#}"),
            },
        ));
        if stock_tree.as_os_str().is_empty() {
            continue;
        }
        let output = std::process::Command::new("perl")
            .arg(stock_tree.join("scripts/checkpatch.pl"))
            .args(["--strict", "--no-tree", "--show-types"])
            .arg(patch)
            .output()
            .context("running checkpatch.pl")?;
        let report = String::from_utf8_lossy(&output.stdout);
        checks.push(Check::new(
            format!("checkpatch --strict {name}"),
            output.status.success() && report.contains("total: 0 errors, 0 warnings, 0 checks"),
            report.trim().to_string(),
        ));
    }
    if let Err(e) = chain {
        eprintln!("patches-check: {e:#}");
    }
    Ok(summarise(&checks))
}
