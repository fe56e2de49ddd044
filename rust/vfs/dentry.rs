// SPDX-License-Identifier: GPL-2.0

//! Dentries of a shrinkfs mount: the generation stamp each carries, and an
//! open directory as an ioctl sees it.
//!
//! C header: [`include/linux/dcache.h`](srctree/include/linux/dcache.h)

use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

use kernel::bindings;

use super::inode;

/// The directory generation a dentry of a shrinkfs mount was looked up in,
/// kept in its `d_fsdata`.
///
/// # Safety
///
/// `dentry` is a live dentry of a shrinkfs mount: nothing but this function
/// touches `d_fsdata` of those, and only atomically (it is read in RCU walk
/// mode while a lookup that splices the dentry back may restamp it).
pub(super) unsafe fn stamp<'a>(dentry: *mut bindings::dentry) -> &'a AtomicUsize {
    // SAFETY: `d_fsdata` is a pointer-sized, pointer-aligned field of a live
    // dentry that is only ever accessed through this atomic view (caller).
    unsafe { AtomicUsize::from_ptr(ptr::addr_of_mut!((*dentry).d_fsdata).cast()) }
}

/// The expiry deadline of a dentry of a mount with expiry, in jiffies, kept
/// in its `d_time`; [`RELEASED`] once `->d_release` took it out of the index.
///
/// # Safety
///
/// `dentry` is a live dentry of a shrinkfs mount: nothing but this function
/// touches `d_time` of those, and only atomically (it is read in RCU walk
/// mode and by the expiry pass while a lookup may set it).
#[cfg(shrinkfs_expiry)]
pub(super) unsafe fn deadline<'a>(dentry: *mut bindings::dentry) -> &'a AtomicUsize {
    // SAFETY: `d_time` is an `unsigned long` of a live dentry, pointer-sized
    // and aligned, only ever accessed through this atomic view (caller).
    unsafe { AtomicUsize::from_ptr(ptr::addr_of_mut!((*dentry).d_time).cast()) }
}

/// The deadline of a dentry whose `->d_release` has run: no expiry pass may
/// touch it after that. A real deadline never takes this value.
#[cfg(shrinkfs_expiry)]
pub(super) const RELEASED: usize = usize::MAX;

/// An open directory of a mount, as an ioctl sees it.
///
/// # Invariants
///
/// `dentry` is the dentry of an open file of a shrinkfs mount that stays
/// open for `'a`.
pub(crate) struct Directory<'a> {
    dentry: *mut bindings::dentry,
    _file: PhantomData<&'a bindings::file>,
}

impl Directory<'_> {
    /// The directory `file` is open on.
    ///
    /// # Safety
    ///
    /// `file` is an open directory of a shrinkfs mount, and stays open for
    /// `'a`.
    pub(super) unsafe fn of_file<'a>(file: *mut bindings::file) -> Directory<'a> {
        // INVARIANT: An open file pins its path (caller).
        Directory {
            // SAFETY: `file` is valid (caller).
            dentry: unsafe { (*file).f_path.dentry },
            _file: PhantomData,
        }
    }

    /// Makes every dentry cached in this directory stale: the next lookup
    /// through one fails `->d_revalidate`, and the VFS's `d_invalidate()`
    /// then prunes it and its subtree.
    pub(crate) fn bump_generation(&self) {
        // SAFETY: The open file pins its dentry (type invariant), and a
        // positive directory dentry keeps its inode, one of a shrinkfs mount.
        unsafe { inode::generation((*self.dentry).d_inode) }.fetch_add(1, Ordering::AcqRel);
    }

    /// `shrink_dcache_parent()`: kills every unused dentry below this one.
    pub(crate) fn shrink_subtree(&self) {
        // SAFETY: The open file pins its dentry (type invariant), and the
        // call may sleep, as an ioctl may.
        unsafe { bindings::shrink_dcache_parent(self.dentry) };
    }
}
