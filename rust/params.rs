// SPDX-License-Identifier: GPL-2.0

//! The module's parameters, which live in C (rust/params.c) since 6.12's
//! `module!` takes none: `race_delay_us` widens race windows,
//! `reap_interval_ms` makes the cross-superblock reaper periodic,
//! `evict_delay_ms` makes inode eviction (and so a dentry's kill) slow.

extern "C" {
    fn shrinkfs_race_window();
    fn shrinkfs_evict_delay();
    #[cfg_attr(not(shrinkfs_reaper), allow(dead_code))]
    fn shrinkfs_periodic_reaper_start(reap: extern "C" fn());
    fn shrinkfs_periodic_reaper_stop();
}

/// Sleeps for a random time up to `race_delay_us` (no time when it is 0).
pub(crate) fn race_window() {
    // SAFETY: Called only where the VFS allows sleeping: `->evict_inode`,
    // `->d_release` and the reaper, all in process context without locks.
    unsafe { shrinkfs_race_window() };
}

/// Sleeps `evict_delay_ms` milliseconds (not at all when it is 0).
pub(crate) fn evict_delay() {
    // SAFETY: Called from `->evict_inode`, in process context that may sleep.
    unsafe { shrinkfs_evict_delay() };
}

/// The periodic reaper: runs its pass every `reap_interval_ms` while it
/// lives (never while the parameter is 0).
pub(crate) struct PeriodicReaper(());

impl PeriodicReaper {
    /// Starts running `reap` in process context, one pass at a time.
    #[cfg_attr(not(shrinkfs_reaper), allow(dead_code))]
    pub(crate) fn start(reap: extern "C" fn()) -> Self {
        // SAFETY: `reap` is a function of this module, which outlives the
        // returned guard, and the guard stops the timer when dropped.
        unsafe { shrinkfs_periodic_reaper_start(reap) };
        Self(())
    }
}

impl Drop for PeriodicReaper {
    fn drop(&mut self) {
        // SAFETY: Stops what `start` started and waits for a pass in
        // progress, in the module's exit path, which may sleep.
        unsafe { shrinkfs_periodic_reaper_stop() };
    }
}
