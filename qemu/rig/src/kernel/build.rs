//! Extraction, patching and building of one kernel tree.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::config::verify_config;
use super::{capture, file_name, Inputs, Kernel, Request, Source, DEBIAN_PACKAGE, DEBIAN_TARBALL};
use crate::accel::KVM_PROBE_FILE;
use crate::progress::run_with_progress;

/// Marks a source tree whose extraction and patching finished.
const SOURCE_READY: &str = ".shrinkfs-source-ready";
/// Marks a build directory whose kernel build finished; holds the version line.
const BUILD_COMPLETE: &str = ".shrinkfs-build-complete";

impl Source {
    pub(super) fn unpack_into(&self, dir: &Path) -> Result<()> {
        match self {
            Source::Debian => {
                if !Path::new(DEBIAN_TARBALL).exists() {
                    bail!(
                        "{DEBIAN_TARBALL} is missing: run `make setup` (package {DEBIAN_PACKAGE})"
                    );
                }
                run_with_progress(
                    "extract",
                    Command::new("tar")
                        .arg("-xf")
                        .arg(DEBIAN_TARBALL)
                        .arg("--strip-components=1")
                        .arg("-C")
                        .arg(dir),
                    &dir.join("extract.log"),
                )
            }
            Source::Git(tree) => {
                let script = format!(
                    "git -C '{}' archive --format=tar HEAD | tar -x -C '{}'",
                    tree.display(),
                    dir.display()
                );
                run_with_progress(
                    "git archive",
                    Command::new("sh").arg("-c").arg(script),
                    &dir.join("extract.log"),
                )
            }
        }
    }
}

/// Prepares `dir` as a source tree with its build in `dir/build` and builds it.
/// A tree grown from a base by one patch is a hard-linked copy of the base's
/// sources plus a real copy of its build, so only what the patch touches is
/// rebuilt.
pub(super) fn build_tree(
    req: &Request,
    inputs: &Inputs,
    dir: &Path,
    grown_from: Option<(&Path, &Path)>,
) -> Result<Kernel> {
    // Until it returns: a second rig after the same build waits, then finds it.
    let lock = super::lock::BuildLock::acquire(dir)?;
    let build_dir = dir.join("build");
    let source_ready = dir.join(SOURCE_READY).exists();
    if let Some(version) = fs::read_to_string(build_dir.join(BUILD_COMPLETE))
        .ok()
        .filter(|_| source_ready)
    {
        let by_other = if lock.waited {
            ", built meanwhile by another rig"
        } else {
            ""
        };
        eprintln!(
            "kernel: cached {} ({}){by_other}",
            dir.display(),
            version.trim()
        );
        return Ok(Kernel {
            build_dir,
            version: version.trim().to_string(),
        });
    }
    eprintln!("kernel: building {}", dir.display());
    if !source_ready {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        fs::create_dir_all(dir)?;
        match grown_from {
            None => {
                req.source.unpack_into(dir)?;
                for patch in &inputs.patches {
                    apply_patch(dir, patch)?;
                }
            }
            Some((base, patch)) => {
                // Refused before the copy of a whole tree, not after.
                patch_tree(base, patch, true)?;
                copy_base_tree(base, dir)?;
                // The base was patched already; only this patch is new.
                apply_patch(dir, patch)?;
            }
        }
        fs::write(dir.join(SOURCE_READY), "")?;
    }
    let kmake = |target: &str| {
        let mut cmd = Command::new("make");
        cmd.arg("-C")
            .arg(dir)
            .args(["O=build", "LLVM=1", "ARCH=x86_64"])
            .arg(target);
        cmd
    };
    if grown_from.is_none() {
        run_with_progress(
            "tinyconfig",
            &mut kmake("tinyconfig"),
            &dir.join("config.log"),
        )?;
        let mut merge = Command::new(dir.join("scripts/kconfig/merge_config.sh"));
        merge
            .current_dir(dir)
            .args(["-m", "-O", "build", "build/.config"])
            .args(&inputs.fragments);
        run_with_progress("merge config", &mut merge, &dir.join("config.log"))?;
        run_with_progress(
            "olddefconfig",
            &mut kmake("olddefconfig"),
            &dir.join("config.log"),
        )?;
        verify_config(&build_dir.join(".config"), &inputs.fragments)?;
    }
    let mut build = kmake("all");
    build.arg(format!("-j{}", req.jobs));
    run_with_progress("build", &mut build, &dir.join("build.log"))?;
    let release = capture(kmake("kernelrelease").arg("-s"))?;
    let version = format!("{release} from {}", req.source.identity()?);
    fs::write(build_dir.join(BUILD_COMPLETE), format!("{version}\n"))?;
    eprintln!("kernel: built {version}");
    Ok(Kernel { build_dir, version })
}

fn copy_base_tree(base: &Path, dir: &Path) -> Result<()> {
    // Sources are only ever replaced by `patch` (write to a temporary file,
    // then rename), so sharing their inodes with the base is safe; build
    // outputs are rewritten in place by Kbuild, so they get a real copy.
    // objtool's and the Rust crates' dependency files record absolute paths:
    // pointing them at the copy keeps Kbuild from rebuilding everything.
    const SCRIPT: &str = r#"
        set -e
        base=$1 dir=$2
        for e in "$base"/* "$base"/.[!.]*; do
            case "${e##*/}" in
            build) cp -a "$e" "$dir"/ ;;
            *.log | .shrinkfs-*) ;;
            *) cp -al "$e" "$dir"/ ;;
            esac
        done
        grep -rlZF --include='.*.cmd' --include='*.d' "$base" "$dir/build" |
            xargs -0 -r sed -i "s|$base|$dir|g"
    "#;
    run_with_progress(
        "copy base tree",
        Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("sh")
            .arg(base)
            .arg(dir),
        &dir.join("extract.log"),
    )?;
    // The base's stamps and probe results are not the new tree's.
    for stamp in [BUILD_COMPLETE, KVM_PROBE_FILE] {
        let _ = fs::remove_file(dir.join("build").join(stamp));
    }
    Ok(())
}

/// Applies `patch` to the tree in `dir` exactly (fuzz 0: a hunk whose
/// context moved on a new base is refused, not placed in whatever function
/// now looks alike), or only tries it (`dry_run`).
pub fn patch_tree(dir: &Path, patch: &Path, dry_run: bool) -> Result<()> {
    let mut cmd = Command::new("patch");
    cmd.args([
        "-p1",
        "--batch",
        "--forward",
        "--fuzz=0",
        "--no-backup-if-mismatch",
    ]);
    if dry_run {
        cmd.arg("--dry-run");
    }
    let output = cmd
        .arg("-d")
        .arg(dir)
        .arg("-i")
        .arg(patch)
        .output()
        .context("running patch (is it installed? `make setup`)")?;
    if !output.status.success() {
        bail!(
            "patch {} does not apply with fuzz 0:\n{}{}",
            patch.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn apply_patch(dir: &Path, patch: &Path) -> Result<()> {
    patch_tree(dir, patch, false)?;
    eprintln!("kernel: applied {}", file_name(patch));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_that_needs_fuzz_is_refused() {
        let dir = std::env::temp_dir().join(format!("shrinkfs-fuzz-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let lines: String = (1..=9).map(|i| format!("line {i}\n")).collect();
        fs::write(dir.join("f"), lines.replace("line 2\n", "line two\n")).unwrap();
        let hunk = |context: &str| {
            format!(
                "--- a/f\n+++ b/f\n@@ -2,5 +2,5 @@\n {context}\n line 3\n-line 4\n+line four\n line 5\n line 6\n"
            )
        };
        let exact = dir.join("exact.patch");
        let fuzzy = dir.join("fuzzy.patch");
        fs::write(&exact, hunk("line two")).unwrap();
        fs::write(&fuzzy, hunk("line 2")).unwrap();
        let refused = patch_tree(&dir, &fuzzy, true).unwrap_err();
        let exact_applies = patch_tree(&dir, &exact, true);
        fs::remove_dir_all(&dir).unwrap();
        assert!(format!("{refused:#}").contains("does not apply with fuzz 0"));
        exact_applies.unwrap();
    }
}
