//! One builder per cache entry: an exclusive lock on a file beside each
//! build dir, held while a rig looks for the build and builds it, so a
//! second rig asking for the same kernel waits and then finds it cached
//! instead of building into the same tree at once.

use std::ffi::OsString;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Held until dropped (the kernel releases a `flock` when its file closes,
/// also when the rig dies).
pub struct BuildLock {
    _file: File,
    /// Whether another builder held the lock when it was asked for.
    pub waited: bool,
}

/// `<dir>.lock`: beside the dir, not in it, as a build may delete its dir.
pub fn lock_path(dir: &Path) -> PathBuf {
    let mut name = OsString::from(dir.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

impl BuildLock {
    /// Takes the lock of `dir`, waiting (and saying so) while another
    /// builder has it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = lock_path(dir);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let waited = match file.try_lock() {
            Ok(()) => false,
            Err(TryLockError::WouldBlock) => {
                eprintln!(
                    "kernel: another rig is building {}; waiting for it",
                    dir.display()
                );
                file.lock()
                    .with_context(|| format!("locking {}", path.display()))?;
                true
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        };
        Ok(BuildLock {
            _file: file,
            waited,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn a_second_builder_waits_until_the_first_is_done() {
        let cache = std::env::temp_dir().join(format!("shrinkfs-lock-{}", std::process::id()));
        let dir = cache.join("patched-0123");
        let first = BuildLock::acquire(&dir).unwrap();
        assert!(!first.waited);
        let (done, finished) = mpsc::channel();
        let second = {
            let dir = dir.clone();
            thread::spawn(move || {
                let lock = BuildLock::acquire(&dir).unwrap();
                done.send(lock.waited).unwrap();
            })
        };
        let while_held = finished.recv_timeout(Duration::from_millis(300));
        drop(first);
        let after = finished.recv_timeout(Duration::from_secs(10));
        second.join().unwrap();
        let lock_file = lock_path(&dir);
        fs::remove_dir_all(&cache).unwrap();
        assert!(while_held.is_err(), "the second got the lock while held");
        assert_eq!(after, Ok(true));
        assert_eq!(lock_file, cache.join("patched-0123.lock"));
    }
}
