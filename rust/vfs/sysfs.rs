// SPDX-License-Identifier: GPL-2.0

//! sysfs directories: `/sys/fs/<type>/` for a registered type and
//! `/sys/fs/<type>/<major>:<minor>/stats` for each of its superblocks, named
//! by the device `stat(2)` reports for the mount (the convention of ext4,
//! f2fs and btrfs, whose directories are named by their device).
//!
//! C header: [`include/linux/kobject.h`](srctree/include/linux/kobject.h)

use core::ptr::NonNull;

use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::prelude::*;

use super::ffi::{self, ShowFn};

/// A directory under `/sys/fs/`, removed when dropped.
///
/// # Invariants
///
/// `kobj` is a kobject in sysfs that this value holds the only reference to
/// outside the kobject core.
pub(super) struct SysfsDir {
    kobj: NonNull<bindings::kobject>,
}

// SAFETY: A kobject's reference count and sysfs entry may be dropped from any
// thread; only the owner ever removes it.
unsafe impl Send for SysfsDir {}
// SAFETY: `&SysfsDir` only lends the pointer to `add_sb`, which takes its
// own reference under the kobject core's locks.
unsafe impl Sync for SysfsDir {}

impl SysfsDir {
    /// Creates `/sys/fs/<name>/`.
    pub(super) fn for_type(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a NUL-terminated string; the kobject core copies it.
        let kobj = unsafe { ffi::shrinkfs_vfs_sysfs_add_type(name.as_char_ptr()) };
        // INVARIANT: A new kobject whose one reference we now own.
        NonNull::new(kobj).map(|kobj| Self { kobj }).ok_or(ENOMEM)
    }

    /// Creates `<major>:<minor>/stats` for `sb` in this type's directory;
    /// reading `stats` calls `show`.
    ///
    /// # Safety
    ///
    /// `sb` is a superblock with its device number assigned, `show` may be
    /// called with it until the returned directory is dropped.
    pub(super) unsafe fn for_super(
        &self,
        sb: *mut bindings::super_block,
        show: ShowFn,
    ) -> Result<Self> {
        // SAFETY: `self.kobj` is live (type invariant) and `sb` valid (caller);
        // `show` is valid for `sb` until the directory is removed (caller).
        let kobj = unsafe { ffi::shrinkfs_vfs_sysfs_add_sb(self.kobj.as_ptr(), sb.cast(), show) };
        let kobj = from_err_ptr(kobj)?;
        // INVARIANT: `from_err_ptr` let only a valid kobject through, whose
        // one reference we now own.
        NonNull::new(kobj).map(|kobj| Self { kobj }).ok_or(ENOMEM)
    }
}

impl Drop for SysfsDir {
    fn drop(&mut self) {
        // SAFETY: We own the reference (type invariant); the call waits for
        // reads in progress, so none runs after this returns.
        unsafe { ffi::shrinkfs_vfs_sysfs_remove(self.kobj.as_ptr()) };
    }
}
