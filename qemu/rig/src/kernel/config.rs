//! The kernel config: fragments merged onto tinyconfig, and the check that
//! `olddefconfig` kept every option they ask for.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::Variant;

impl Variant {
    /// Config fragments merged onto tinyconfig, in order.
    pub(super) fn fragments(self) -> &'static [&'static str] {
        if self.is_debug() {
            &["base.config", "debug.config"]
        } else {
            &["base.config", "perf.config"]
        }
    }
}

/// What a judged run needs of its kernel: the verdict requires KASAN and
/// lockdep live, and `make check` wakes kmemleak and scans for leaks.
const JUDGED_DEBUG_OPTIONS: [&str; 3] = [
    "CONFIG_KASAN=y",
    "CONFIG_PROVE_LOCKING=y",
    "CONFIG_DEBUG_KMEMLEAK=y",
];

/// Fails before any boot if the build in `kdir` lacks a debug option the
/// verdict relies on (a perf kernel, or a `KDIR=` of one's own), instead of
/// a late "KASAN is live" failure that does not say why.
pub fn require_debug_config(kdir: &Path) -> Result<()> {
    let path = kdir.join(".config");
    let config = fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let missing = missing_options(&JUDGED_DEBUG_OPTIONS.join("\n"), &config);
    if !missing.is_empty() {
        bail!(
            "{} is not a debug kernel: its .config lacks {}, which the checks judge; \
             use KERNEL=patched or KERNEL=stock (qemu/config/debug.config)",
            kdir.display(),
            missing.join(", ")
        );
    }
    Ok(())
}

/// Fails if any option the fragments ask for did not survive `olddefconfig`.
pub(super) fn verify_config(config: &Path, fragments: &[PathBuf]) -> Result<()> {
    let config_text = fs::read_to_string(config)?;
    let mut missing = Vec::new();
    for fragment in fragments {
        let requested = fs::read_to_string(fragment)?;
        missing.extend(missing_options(&requested, &config_text));
    }
    if !missing.is_empty() {
        bail!(
            "options requested but not in {} after olddefconfig (a dependency is missing?):\n  {}",
            config.display(),
            missing.join("\n  ")
        );
    }
    Ok(())
}

/// The lines of a config fragment (`CONFIG_X=v` or `# CONFIG_X is not set`)
/// that a final `.config` does not honour.
pub fn missing_options(fragment: &str, config: &str) -> Vec<String> {
    let set: std::collections::HashMap<&str, &str> = config
        .lines()
        .filter_map(|l| l.strip_prefix("CONFIG_").map(|_| l))
        .filter_map(|l| l.split_once('='))
        .collect();
    fragment
        .lines()
        .map(str::trim)
        .filter(|line| {
            if let Some(off) = line
                .strip_prefix("# ")
                .and_then(|l| l.strip_suffix(" is not set"))
            {
                matches!(set.get(off), Some(v) if *v != "n")
            } else if let Some((name, value)) = line.split_once('=') {
                line.starts_with("CONFIG_") && set.get(name) != Some(&value)
            } else {
                false
            }
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_options_reports_dropped_and_wrong_values() {
        let fragment = "# comment\nCONFIG_A=y\nCONFIG_B=y\nCONFIG_N=8\n# CONFIG_C is not set\n# CONFIG_D is not set\n";
        let config = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_N=4\nCONFIG_C=y\n";
        assert_eq!(
            missing_options(fragment, config),
            vec!["CONFIG_B=y", "CONFIG_N=8", "# CONFIG_C is not set"]
        );
    }

    #[test]
    fn a_perf_kernel_is_refused_naming_what_it_lacks() {
        let dir = std::env::temp_dir().join(format!("shrinkfs-config-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(".config"),
            "CONFIG_KASAN=y\n# CONFIG_PROVE_LOCKING is not set\n",
        )
        .unwrap();
        let perf = require_debug_config(&dir).unwrap_err();
        fs::write(dir.join(".config"), JUDGED_DEBUG_OPTIONS.join("\n")).unwrap();
        let debug = require_debug_config(&dir);
        fs::remove_dir_all(&dir).unwrap();
        let text = format!("{perf:#}");
        assert!(
            text.contains("lacks CONFIG_PROVE_LOCKING=y, CONFIG_DEBUG_KMEMLEAK=y,")
                && !text.contains("CONFIG_KASAN")
                && text.contains("KERNEL=patched"),
            "{text}"
        );
        debug.unwrap();
    }

    #[test]
    fn missing_options_accepts_an_honoured_fragment() {
        let fragment = "CONFIG_A=y\nCONFIG_S=\"x y\"\n# CONFIG_C is not set\n";
        let config = "CONFIG_A=y\nCONFIG_S=\"x y\"\n# CONFIG_C is not set\n";
        assert!(missing_options(fragment, config).is_empty());
    }
}
