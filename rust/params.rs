// SPDX-License-Identifier: GPL-2.0

//! The module's parameters, which live in C (rust/params.c) since 6.12's
//! `module!` takes none: `race_delay_us` widens race windows,
//! `reap_interval_ms` makes the cross-superblock reaper periodic,
//! `expiry_interval_ms` the disposal of expired dentries, `evict_delay_ms`
//! makes inode eviction (and so a dentry's kill) slow.

extern "C" {
    fn shrinkfs_race_window();
    fn shrinkfs_evict_delay();
    #[cfg_attr(not(any(shrinkfs_reaper, shrinkfs_expiry)), allow(dead_code))]
    fn shrinkfs_periodic_start(job: Job, pass: extern "C" fn());
    #[cfg_attr(not(any(shrinkfs_reaper, shrinkfs_expiry)), allow(dead_code))]
    fn shrinkfs_periodic_stop(job: Job);
}

/// `enum shrinkfs_periodic` of rust/params.h: the passes that may run
/// periodically, each with its interval parameter.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) enum Job {
    /// The cross-superblock reaper, every `reap_interval_ms`.
    #[cfg_attr(not(shrinkfs_reaper), allow(dead_code))]
    Reaper = 0,
    /// The disposal of expired dentries, every `expiry_interval_ms`.
    #[cfg_attr(not(shrinkfs_expiry), allow(dead_code))]
    Expiry = 1,
}

/// Sleeps for a random time up to `race_delay_us` (no time when it is 0).
pub(crate) fn race_window() {
    // SAFETY: Called only where the VFS allows sleeping: `->evict_inode`,
    // `->d_release` and the reaper, all in process context without locks.
    unsafe { shrinkfs_race_window() };
}

/// Sleeps `evict_delay_ms` milliseconds (not at all when it is 0; less if it is lowered meanwhile).
pub(crate) fn evict_delay() {
    // SAFETY: Called from `->evict_inode`, in process context that may sleep.
    unsafe { shrinkfs_evict_delay() };
}

/// A pass that runs every interval of its [`Job`] while this lives (never
/// while the interval parameter is 0).
pub(crate) struct Periodic(Job);

impl Periodic {
    /// Starts running `pass` in process context, one pass at a time.
    #[cfg_attr(not(any(shrinkfs_reaper, shrinkfs_expiry)), allow(dead_code))]
    pub(crate) fn start(job: Job, pass: extern "C" fn()) -> Self {
        // SAFETY: `pass` is a function of this module, which outlives the
        // returned guard, and the guard stops the job when dropped.
        unsafe { shrinkfs_periodic_start(job, pass) };
        Self(job)
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        // SAFETY: Stops what `start` started and waits for a pass in
        // progress, in the module's exit path, which may sleep.
        unsafe { shrinkfs_periodic_stop(self.0) };
    }
}
