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
    fn missing_options_accepts_an_honoured_fragment() {
        let fragment = "CONFIG_A=y\nCONFIG_S=\"x y\"\n# CONFIG_C is not set\n";
        let config = "CONFIG_A=y\nCONFIG_S=\"x y\"\n# CONFIG_C is not set\n";
        assert!(missing_options(fragment, config).is_empty());
    }
}
