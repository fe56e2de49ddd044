//! The host-root guest: the host's root directory shared read-only over
//! virtio-9p, so host programs run in the guest as they do on the host. Also
//! the check that the guest cannot change the host through the share, and the
//! boot-to-shell timing against the busybox guest.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::protocol::param;
use crate::protocol::share::{HOST_ROOT_TAG, PROBE_DIR_VAR, PROBE_TAG};
use crate::qemu::{Finished, Share};
use crate::verdict::Check;

/// What the victim file holds before and, if the share holds, after.
const VICTIM_CONTENT: &str = "the guest must not change this\n";
const SECRET_CONTENT: &str = "secret: not shared\n";

pub fn share(root: &Path) -> Result<Share> {
    let path = fs::canonicalize(root)
        .with_context(|| format!("host root {} does not exist", root.display()))?;
    if !path.is_dir() {
        bail!("host root {} is not a directory", path.display());
    }
    Ok(Share {
        tag: HOST_ROOT_TAG,
        path,
    })
}

/// Kernel parameters that tell the guest init to mount the host root and
/// start host programs in `cwd`.
pub fn append(cwd: &Path) -> Result<String> {
    let cwd = cwd.display().to_string();
    // The kernel splits its command line at blanks and hands `X=Y` to init.
    if cwd.chars().any(char::is_whitespace) || cwd.contains('"') {
        bail!("the guest cannot start in '{cwd}': a blank or quote in the path");
    }
    Ok(format!(" {}=1 {}={cwd}", param::HOST_ROOT, param::CWD))
}

/// The host side of the read-only check: a directory with a victim file in
/// `shared/`, a secret in `unshared/` and symlinks that point at it.
pub struct Probe {
    dir: PathBuf,
    victim_before: fs::Metadata,
}

impl Probe {
    pub fn create(dir: &Path) -> Result<Self> {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        let dir = {
            fs::create_dir_all(dir.join("shared"))?;
            fs::canonicalize(dir)?
        };
        fs::create_dir_all(dir.join("unshared"))?;
        fs::write(dir.join("unshared/secret"), SECRET_CONTENT)?;
        let victim = dir.join("shared/victim");
        fs::write(&victim, VICTIM_CONTENT)?;
        symlink("../unshared/secret", dir.join("shared/escape"))?;
        let victim_before = fs::metadata(&victim)?;
        Ok(Probe { dir, victim_before })
    }

    /// The narrower share, whose parent holds the secret.
    pub fn share(&self) -> Share {
        Share {
            tag: PROBE_TAG,
            path: self.dir.join("shared"),
        }
    }

    /// The guest script: the repo's check with the probe directory filled in.
    pub fn script(&self, template: &Path, out: &Path) -> Result<PathBuf> {
        let body = fs::read_to_string(template)
            .with_context(|| format!("reading {}", template.display()))?;
        let body = body.strip_prefix("#!/bin/sh\n").unwrap_or(&body);
        let path = out.join("host-root-check.sh");
        fs::write(
            &path,
            format!(
                "#!/bin/sh\n{PROBE_DIR_VAR}='{}'\n{body}",
                self.dir.display()
            ),
        )?;
        Ok(path)
    }

    /// After the guest: the victim as it was, nothing new beside it.
    pub fn host_checks(&self) -> Vec<Check> {
        let victim = self.dir.join("shared/victim");
        let content = fs::read_to_string(&victim).unwrap_or_default();
        let after = fs::metadata(&victim).ok();
        let unchanged = after.as_ref().is_some_and(|a| {
            a.mode() == self.victim_before.mode()
                && a.mtime() == self.victim_before.mtime()
                && a.mtime_nsec() == self.victim_before.mtime_nsec()
                && a.ino() == self.victim_before.ino()
        });
        let mut strays: Vec<String> = fs::read_dir(self.dir.join("shared"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name != "victim" && name != "escape")
                    .collect()
            })
            .unwrap_or_default();
        strays.sort();
        vec![
            Check::new(
                "host root: the host file's content is unchanged",
                content == VICTIM_CONTENT,
                format!("it now holds {content:?}"),
            ),
            Check::new(
                "host root: the host file's inode, mode and mtime are unchanged",
                unchanged,
                format!("before {:?}, after {:?}", self.victim_before, after),
            ),
            Check::new(
                "host root: nothing was created beside it",
                strays.is_empty(),
                format!("found {}", strays.join(", ")),
            ),
        ]
    }
}

/// When the guest's shell ran its first command: seconds after QEMU started
/// that the run script's first line reached the host.
pub fn shell_ready(finished: &Finished, marker: &str) -> Option<f64> {
    finished
        .arrivals
        .iter()
        .find(|(_, line)| line == marker)
        .map(|(at, _)| *at)
}

/// `median (min–max)` of a list of seconds.
pub fn spread(times: &mut [f64]) -> String {
    if times.is_empty() {
        return "-".to_string();
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let median = if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    };
    format!(
        "median {median:.2} s (min {:.2}, max {:.2}, {n} boots)",
        times[0],
        times[n - 1]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Status;

    #[test]
    fn append_refuses_paths_the_kernel_would_split() {
        assert_eq!(
            " RIG_HOST_ROOT=1 RIG_CWD=/src/shrinkfs",
            append(Path::new("/src/shrinkfs")).unwrap()
        );
        assert!(append(Path::new("/my projects/shrinkfs")).is_err());
    }

    #[test]
    fn share_refuses_a_missing_root() {
        let dir = std::env::temp_dir().join(format!("rig-share-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(HOST_ROOT_TAG, share(&dir).unwrap().tag);
        fs::remove_dir_all(&dir).unwrap();
        assert!(share(&dir).is_err());
    }

    #[test]
    fn probe_notices_a_changed_victim_and_strays() {
        let dir = std::env::temp_dir().join(format!("rig-probe-{}", std::process::id()));
        let probe = Probe::create(&dir).unwrap();
        assert!(probe
            .host_checks()
            .iter()
            .all(|c| c.status == Status::Passed));
        fs::write(dir.join("shared/victim"), "changed\n").unwrap();
        fs::write(dir.join("shared/new"), "").unwrap();
        let failed: Vec<_> = probe
            .host_checks()
            .into_iter()
            .filter(|c| c.status == Status::Failed)
            .collect();
        assert_eq!(3, failed.len(), "content, mtime and the stray file");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn spread_is_median_min_max() {
        assert_eq!(
            "median 2.00 s (min 1.00, max 9.00, 3 boots)",
            spread(&mut [9.0, 1.0, 2.0])
        );
        assert_eq!(
            "median 1.50 s (min 1.00, max 2.00, 2 boots)",
            spread(&mut [2.0, 1.0])
        );
    }
}
